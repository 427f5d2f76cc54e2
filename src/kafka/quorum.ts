/**
 * KRaft controller quorum planning (pure): the quorum settings every node gets, how each node's storage is
 * formatted, the order of a roll, and what happens when a controller has to move to another agent.
 *
 * Endpoints are strings or numbers so the same functions serve two callers: the scheduler, which renders them
 * with placeholders (`{{unit:kafka/controller-1000:host}}`) that the core resolves at launch, and tests or tools
 * that pass concrete hosts and ports.
 *
 * Dynamic quorum (the default from Kafka 4.2, KIP-853):
 *  - every node gets `controller.quorum.bootstrap.servers` = all controller endpoints; controllers also get
 *    `controller.quorum.auto.join.enable=true`;
 *  - the initial controllers format with `--initial-controllers id@host:port:directoryId,…` (directory ids
 *    chosen by kmf, identical value on every controller), until the quorum has formed once;
 *  - from then on a controller on a fresh disk (a move, a replacement) formats with `--no-initial-controllers`
 *    and joins by itself: it fetches the log as an observer, removes its stale voter entry (same id, old
 *    directory id) and, one controller.quorum.fetch.timeout.ms later, adds itself with its new directory id and
 *    endpoint (Kafka 4.4 KafkaRaftClient.pollFollowerAsObserver; kmf sends no voter change itself, it would
 *    only race this). Between the two the voter set is one short. Nothing else restarts: other nodes
 *    learn voter endpoints from the metadata log, and the bootstrap list is only used to find the quorum when
 *    a node starts (it is refreshed whenever a node is next launched).
 * Static quorum (`controller.quorum.voters`): the voter set is id@host:port on every node. Formatting takes no
 * quorum flag. A moved controller changes its endpoint, so every other node must restart with the new voter
 * list (controllers first, then brokers), and a controller that restarts on an empty disk rejoins under its old
 * id with none of its old log, which Raft only tolerates while the rest of the quorum holds the data.
 */
import type { ClusterNode, KafkaClusterSpec } from './cluster-model.js';

export interface ControllerEndpoint {
  nodeId: number;
  directoryId: string;
  host: string;
  port: number | string;
}

/** Votes needed to elect a leader or commit: a strict majority. */
export function quorumMajority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** How many controllers may be down with the quorum still working. */
export function quorumFaultTolerance(voters: number): number {
  return voters - quorumMajority(voters);
}

function byId(endpoints: readonly ControllerEndpoint[]): ControllerEndpoint[] {
  return [...endpoints].sort((a, b) => a.nodeId - b.nodeId);
}

/** `controller.quorum.voters`: `id@host:port,…` */
export function votersString(endpoints: readonly ControllerEndpoint[]): string {
  return byId(endpoints)
    .map((e) => `${e.nodeId}@${e.host}:${e.port}`)
    .join(',');
}

/** `controller.quorum.bootstrap.servers`: `host:port,…` */
export function bootstrapServersString(endpoints: readonly ControllerEndpoint[]): string {
  return byId(endpoints)
    .map((e) => `${e.host}:${e.port}`)
    .join(',');
}

/** `kafka-storage format --initial-controllers`: `id@host:port:directoryId,…` */
export function initialControllersString(endpoints: readonly ControllerEndpoint[]): string {
  return byId(endpoints)
    .map((e) => `${e.nodeId}@${e.host}:${e.port}:${e.directoryId}`)
    .join(',');
}

/** The quorum part of a node's server.properties. */
export function quorumProperties(spec: KafkaClusterSpec, node: ClusterNode, endpoints: readonly ControllerEndpoint[]): Record<string, string> {
  switch (spec.controllers.quorum) {
    case 'static':
      return { 'controller.quorum.voters': votersString(endpoints) };
    case 'dynamic': {
      const props: Record<string, string> = { 'controller.quorum.bootstrap.servers': bootstrapServersString(endpoints) };
      if (node.roles.includes('controller')) props['controller.quorum.auto.join.enable'] = 'true';
      return props;
    }
  }
}

/**
 * How `kafka-storage format` prepares a node's empty disk (a formatted disk is left alone: --ignore-formatted).
 *  - `plain`: brokers, and every node of a static quorum;
 *  - `initial-controllers`: an initial controller of a dynamic quorum that has not formed yet;
 *  - `join`: a controller of a dynamic quorum that already formed (`--no-initial-controllers`).
 */
export type StorageFormat = { kind: 'plain' } | { kind: 'initial-controllers'; initialControllers: string } | { kind: 'join' };

/**
 * @param quorumFormed whether the quorum has ever been seen working (persisted by the scheduler, never reset).
 * Re-formatting an initial controller with --initial-controllers after that would make it believe it is a voter
 * of a brand-new quorum; --no-initial-controllers makes it join the existing one instead.
 */
export function storageFormat(
  spec: KafkaClusterSpec,
  node: ClusterNode,
  endpoints: readonly ControllerEndpoint[],
  quorumFormed: boolean,
): StorageFormat {
  if (!node.roles.includes('controller')) return { kind: 'plain' };
  switch (spec.controllers.quorum) {
    case 'static':
      return { kind: 'plain' };
    case 'dynamic':
      if (quorumFormed) return { kind: 'join' };
      return { kind: 'initial-controllers', initialControllers: initialControllersString(endpoints) };
  }
}

/** The `kafka-storage format` flags of a StorageFormat (after `format -t ID -c FILE --ignore-formatted`). */
export function storageFormatArgs(format: StorageFormat): string[] {
  switch (format.kind) {
    case 'plain':
      return [];
    case 'initial-controllers':
      return ['--initial-controllers', format.initialControllers];
    case 'join':
      return ['--no-initial-controllers'];
  }
}

/**
 * Roll order (Strimzi's KafkaRoller order, which keeps the metadata quorum led by a node that is not about to
 * restart): dedicated controllers first, followers before the active controller; then brokers by id; in combined
 * mode, the non-leader nodes first and the quorum leader last. `leaderId` is the current quorum leader if known.
 */
export function rollOrder(nodes: readonly ClusterNode[], leaderId?: number): number[] {
  const rank = (n: ClusterNode): number => {
    const leaderLast = n.nodeId === leaderId ? 1 : 0;
    switch (n.kind) {
      case 'controller':
        return 0 + leaderLast;
      case 'broker':
        return 2;
      case 'combined':
        return 2 + leaderLast;
    }
  };
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.nodeId - b.nodeId).map((n) => n.nodeId);
}

/** What it takes to move controller `nodeId` to another agent (its endpoint and disk change). */
export type ControllerMovePlan =
  | { ok: false; reason: string }
  | {
      ok: true;
      /** How the moved controller formats its new disk. */
      format: StorageFormat;
      /** Voters (besides the moved one) that must be up for the quorum to accept the change. */
      othersNeeded: number;
      /** Nodes to restart afterwards, in order, each waiting for the previous to be ready. */
      restart: number[];
      steps: string[];
    };

export function planControllerMove(spec: KafkaClusterSpec, nodes: readonly ClusterNode[], nodeId: number, leaderId?: number): ControllerMovePlan {
  const voters = spec.controllers.nodes.length;
  if (!spec.controllers.nodes.some((c) => c.nodeId === nodeId)) return { ok: false, reason: `node ${nodeId} is not a controller` };
  if (voters === 1) {
    return {
      ok: false,
      reason:
        'a single-controller quorum keeps the only copy of the cluster metadata on that controller: it can only restart on its own disk (same agent and volume); run 3 controllers to survive losing an agent',
    };
  }
  const othersNeeded = quorumMajority(voters);
  switch (spec.controllers.quorum) {
    case 'dynamic':
      return {
        ok: true,
        format: { kind: 'join' },
        othersNeeded: Math.min(othersNeeded, voters - 1),
        restart: [],
        steps: [
          `check that ${Math.min(othersNeeded, voters - 1)} of the other ${voters - 1} controllers are up (the quorum commits the voter change)`,
          `launch controller ${nodeId} on the new agent with a fresh disk, formatted with --no-initial-controllers`,
          `it joins by itself (controller.quorum.auto.join.enable): removes its old voter entry, then (a fetch timeout later) adds itself with its new directory id and endpoint; in between the quorum has ${voters - 1} voters`,
          `wait until it is a voter again under its new directory id and caught up (its readiness); no other node restarts (the bootstrap list is refreshed at each node's next launch)`,
        ],
      };
    case 'static': {
      const others = nodes.filter((n) => n.nodeId !== nodeId && n.goal === 'running');
      const restart = rollOrder(others, leaderId);
      return {
        ok: true,
        format: { kind: 'plain' },
        othersNeeded: Math.min(othersNeeded, voters - 1),
        restart,
        steps: [
          `check that ${Math.min(othersNeeded, voters - 1)} of the other ${voters - 1} controllers are up and hold the metadata (the moved controller starts empty)`,
          `launch controller ${nodeId} on the new agent with the new voter list; it catches up from the leader`,
          `restart every other node with the new controller.quorum.voters, one at a time, in roll order (${restart.join(', ')}), each behind the roll-safety gate`,
        ],
      };
    }
  }
}
