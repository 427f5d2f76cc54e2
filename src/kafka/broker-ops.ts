/**
 * The broker lifecycle verbs as pure changes of a cluster spec: update one broker's resources and overrides,
 * stop / start, restart one broker or roll the whole cluster, and the checks of replace and scale-in. Each
 * returns the next spec, or throws a KmfError the admin API answers with: `kafka_cluster_invalid` (400) for
 * a change that makes an invalid spec, `conflict` (409) for an operation that cannot run now, `not_found`.
 * Nothing here does I/O; the runtime (src/runtime/kafka-service.ts) writes the result through the leader.
 */
import { KmfError } from '../util/errors.js';
import { planDrain, type DrainPlan, type PartitionAssignment } from './reassign.js';
import { clusterUpdateIssues, overrideIssues, type BrokerNode, type KafkaClusterSpec, type NodeResources } from './cluster-model.js';
import { quorumMajority } from './quorum.js';

export interface BrokerChange {
  resources?: Partial<NodeResources>;
  /** server.properties overrides to set on this broker. */
  setOverrides?: Record<string, string>;
  /** Per-broker overrides to drop (the cluster's value, if any, applies again). */
  removeOverrides?: string[];
}

/** What a broker is doing, as the lifecycle checks see it. */
export type BrokerPhase = 'running' | 'stopped' | 'draining' | 'removing';

export function findBroker(spec: KafkaClusterSpec, id: number): BrokerNode | undefined {
  return spec.brokers.nodes.find((b) => b.nodeId === id);
}

/** The broker, or not_found. */
export function requireBroker(spec: KafkaClusterSpec, id: number): BrokerNode {
  const b = findBroker(spec, id);
  if (b === undefined) throw new KmfError('not_found', `no broker ${id}`, { details: { broker: id } });
  return b;
}

export function brokerPhase(b: BrokerNode): BrokerPhase {
  if (b.goal === 'removed') return 'removing';
  if (b.draining === true) return 'draining';
  return b.goal;
}

/** Whether the broker also runs a KRaft controller (combined mode). */
export function isCombined(spec: KafkaClusterSpec, id: number): boolean {
  return spec.controllers.mode === 'combined' && spec.controllers.nodes.some((c) => c.nodeId === id);
}

function conflict(message: string, details: Record<string, unknown> = {}): KmfError {
  return new KmfError('conflict', message, { details });
}

/** 409 unless the broker is in one of `allowed` phases. */
function requirePhase(spec: KafkaClusterSpec, id: number, what: string, allowed: readonly BrokerPhase[]): BrokerNode {
  const b = requireBroker(spec, id);
  const phase = brokerPhase(b);
  if (allowed.includes(phase)) return b;
  const why: Record<BrokerPhase, string> = {
    running: `broker ${id} is running`,
    stopped: `broker ${id} is stopped: start it first (POST /api/v1/brokers/${id}/start)`,
    draining: `broker ${id} is being removed (its partitions are being moved away)`,
    removing: `broker ${id} is being removed`,
  };
  throw conflict(`cannot ${what}: ${why[phase]}`, { broker: id, state: phase });
}

function withBroker(spec: KafkaClusterSpec, id: number, change: (b: BrokerNode) => BrokerNode): KafkaClusterSpec {
  return { ...spec, brokers: { ...spec.brokers, nodes: spec.brokers.nodes.map((b) => (b.nodeId === id ? change(b) : b)) } };
}

function assertUpdate(prev: KafkaClusterSpec, next: KafkaClusterSpec, extra: string[] = []): KafkaClusterSpec {
  const issues = [...new Set([...extra, ...clusterUpdateIssues(prev, next)])];
  if (issues.length > 0) throw new KmfError('kafka_cluster_invalid', issues.join('; '), { details: { issues } });
  return next;
}

/**
 * One broker's resources and overrides. Resources are merged into the broker's own (then checked together with
 * the cluster's); overrides are set or removed by key. `changed` is false when the spec stays the same.
 */
export function updateBroker(spec: KafkaClusterSpec, id: number, change: BrokerChange): { spec: KafkaClusterSpec; changed: boolean } {
  const b = requirePhase(spec, id, `update broker ${id}`, ['running', 'stopped']);
  const issues: string[] = [];
  const set = change.setOverrides ?? {};
  const remove = change.removeOverrides ?? [];
  issues.push(...overrideIssues(set, `broker ${id} overrides`));
  for (const k of remove) {
    if (k in set) issues.push(`${k} is both set and removed`);
    else if (b.overrides?.[k] === undefined) {
      const from = spec.overrides[k] === undefined ? '' : ' (it is a cluster-wide override: change it on the cluster)';
      issues.push(`broker ${id} has no override ${k} to remove${from}`);
    }
  }
  // The merged resources are checked with the cluster's by clusterIssues (heap within mem, …).
  const resources = { ...b.resources, ...change.resources };
  const overrides = { ...b.overrides, ...set };
  for (const k of remove) delete overrides[k];
  const node: BrokerNode = { ...b };
  if (Object.keys(resources).length > 0) node.resources = resources;
  else delete node.resources;
  if (Object.keys(overrides).length > 0) node.overrides = overrides;
  else delete node.overrides;
  const next = assertUpdate(spec, withBroker(spec, id, () => node), issues);
  return { spec: next, changed: JSON.stringify(node) !== JSON.stringify(b) };
}

/**
 * Stop (keeps the reservation and data) or start a broker. Stopping a combined node must leave a majority of
 * the controller quorum running.
 */
export function setBrokerGoal(spec: KafkaClusterSpec, id: number, goal: 'running' | 'stopped'): { spec: KafkaClusterSpec; changed: boolean } {
  const b = requirePhase(spec, id, `${goal === 'running' ? 'start' : 'stop'} broker ${id}`, ['running', 'stopped']);
  if (b.goal === goal) return { spec, changed: false };
  if (goal === 'stopped' && isCombined(spec, id)) {
    const voters = spec.controllers.nodes.length;
    const up = spec.controllers.nodes.filter((c) => c.nodeId !== id && findBroker(spec, c.nodeId)?.goal === 'running').length;
    if (up < quorumMajority(voters)) {
      throw conflict(
        `cannot stop broker ${id}: it is also a KRaft controller (combined mode), and with it stopped only ${up} of ${voters} controllers would run; the metadata quorum needs ${quorumMajority(voters)}`,
        { broker: id, controllersRunning: up, voters },
      );
    }
  }
  return { spec: assertUpdate(spec, withBroker(spec, id, (n) => ({ ...n, goal }))), changed: true };
}

/** Restart one running broker: its restart counter goes up, so the update plan restarts it (roll-safety gated). */
export function restartBroker(spec: KafkaClusterSpec, id: number): KafkaClusterSpec {
  requirePhase(spec, id, `restart broker ${id}`, ['running']);
  return assertUpdate(spec, withBroker(spec, id, (n) => ({ ...n, restartGeneration: (n.restartGeneration ?? 0) + 1 })));
}

/** Rolling restart of every node: the cluster's counter goes up, the update plan restarts the nodes one at a time. */
export function restartCluster(spec: KafkaClusterSpec): KafkaClusterSpec {
  const busy = spec.brokers.nodes.filter((b) => brokerPhase(b) === 'draining' || brokerPhase(b) === 'removing').map((b) => b.nodeId);
  if (busy.length > 0) {
    throw conflict(`cannot restart the cluster while broker(s) ${busy.join(', ')} are being removed: wait for the removal to finish`, { brokers: busy });
  }
  return assertUpdate(spec, { ...spec, restartGeneration: (spec.restartGeneration ?? 0) + 1 });
}

/**
 * Why the broker cannot be replaced on a fresh disk, if it cannot. A combined node is also a controller: a
 * fresh disk is safe only in a dynamic quorum of three or more (it rejoins with a new directory id).
 */
export function replaceIssue(spec: KafkaClusterSpec, id: number): string | undefined {
  requirePhase(spec, id, `replace broker ${id}`, ['running']);
  if (!isCombined(spec, id)) return undefined;
  if (spec.controllers.quorum !== 'dynamic') {
    return `broker ${id} is also a controller of a static quorum: static voters cannot tell an empty replacement from the original, so its disk is not replaced`;
  }
  if (spec.controllers.nodes.length < 3) {
    return `broker ${id} is the only KRaft controller: it holds the only copy of the cluster metadata, so its disk is not replaced`;
  }
  return undefined;
}

/** Brokers a drain may move replicas to: running, not being removed, not `drained`. */
export function drainTargets(spec: KafkaClusterSpec, drained: number): number[] {
  return spec.brokers.nodes.filter((b) => b.nodeId !== drained && brokerPhase(b) === 'running').map((b) => b.nodeId).sort((a, b) => a - b);
}

/**
 * The spec checks of a scale-in (409 reasons): not a combined node, not the last broker, not while another
 * removal runs, and the brokers left must satisfy the internal topics' replication factors.
 */
export function removalIssues(spec: KafkaClusterSpec, id: number): string[] {
  const b = requireBroker(spec, id);
  const phase = brokerPhase(b);
  if (phase === 'draining' || phase === 'removing') return [];
  const out: string[] = [];
  if (isCombined(spec, id)) {
    out.push(`broker ${id} is also a KRaft controller (combined mode): removing it would shrink the metadata quorum, which kmf does not do; remove a broker that is not a controller`);
  }
  const others = spec.brokers.nodes.filter((x) => x.nodeId !== id && x.goal !== 'removed');
  if (others.length === 0) out.push(`broker ${id} is the last broker of the cluster`);
  const busy = spec.brokers.nodes.filter((x) => x.nodeId !== id && (brokerPhase(x) === 'draining' || brokerPhase(x) === 'removing')).map((x) => x.nodeId);
  if (busy.length > 0) out.push(`broker(s) ${busy.join(', ')} are being removed: one removal at a time`);
  if (out.length === 0) {
    const next = withBroker(spec, id, (n) => ({ ...n, goal: 'removed' }));
    for (const issue of clusterUpdateIssues(spec, next)) out.push(issue);
  }
  return out;
}

/** The replicas of the cluster's partitions against the brokers that would remain: a plan, or why not. */
export function planRemoval(spec: KafkaClusterSpec, id: number, partitions: readonly PartitionAssignment[]): DrainPlan {
  return planDrain(partitions, id, drainTargets(spec, id));
}

/** Marks the broker for removal (the drain loop takes it from there). 409 with every reason otherwise. */
export function startRemoval(spec: KafkaClusterSpec, id: number): { spec: KafkaClusterSpec; changed: boolean } {
  const b = requireBroker(spec, id);
  const phase = brokerPhase(b);
  if (phase === 'draining' || phase === 'removing') return { spec, changed: false };
  const issues = removalIssues(spec, id);
  if (issues.length > 0) throw conflict(`cannot remove broker ${id}: ${issues.join('; ')}`, { broker: id, issues });
  return { spec: assertUpdate(spec, withBroker(spec, id, (n) => ({ ...n, draining: true }))), changed: true };
}

/** The drain is over: the broker's goal becomes `removed` (the core stops it and frees its reservation). */
export function finishDrain(spec: KafkaClusterSpec, id: number): KafkaClusterSpec {
  const b = findBroker(spec, id);
  if (b?.draining !== true || b.goal === 'removed') return spec;
  return assertUpdate(
    spec,
    withBroker(spec, id, (n) => {
      const next: BrokerNode = { ...n, goal: 'removed' };
      delete next.draining;
      return next;
    }),
  );
}

/** The broker is stopped, released and unregistered: it leaves the spec (its id is never handed out again). */
export function forgetBroker(spec: KafkaClusterSpec, id: number): KafkaClusterSpec {
  const b = findBroker(spec, id);
  if (b?.goal !== 'removed') return spec;
  return assertUpdate(spec, { ...spec, brokers: { ...spec.brokers, nodes: spec.brokers.nodes.filter((n) => n.nodeId !== id) } });
}
