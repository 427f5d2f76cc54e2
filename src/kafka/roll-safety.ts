/**
 * Roll-safety gates: may broker N be stopped now, and has it caught up again after its restart?
 *
 * Before stopping a broker, every partition with a replica on it must keep at least min.insync.replicas
 * in-sync replicas without it, or producers with acks=all stall on that partition for as long as the broker is
 * down. A partition already under its min ISR blocks too when the broker holds one of its replicas (it is
 * probably catching up; restarting it would only delay the recovery). When the gate says no, it says why,
 * partition by partition, so a plan can show what it waits for.
 *
 * After the restart, the broker must be back in the ISR of every partition it holds before the roll moves on
 * (otherwise the next stop could take a partition below min ISR, or offline).
 *
 * min.insync.replicas is read per topic with one batched DescribeConfigs: the value Kafka returns is already
 * the effective one (the topic's override, else the broker default).
 */
import type { KafkaAdmin } from './admin.js';
import { ConfigResourceTypes } from './admin.js';
import { quorumMajority } from './quorum.js';
import { voterCaughtUp, type QuorumDescription } from './kraft-quorum.js';

export interface PartitionState {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export type StopReasonKind =
  /** Stopping the broker takes the ISR below min.insync.replicas. */
  | 'would-drop-below-min-isr'
  /** The ISR is already below min.insync.replicas and the broker holds a replica. */
  | 'below-min-isr'
  /** RF ≤ min.insync.replicas: no broker of this partition can ever stop without stalling acks=all producers. */
  | 'rf-not-above-min-isr';

export interface StopReason {
  kind: StopReasonKind;
  topic: string;
  partition: number;
  replicas: number[];
  isr: number[];
  minIsr: number;
  message: string;
}

export type StopVerdict = { ok: true; partitions: number } | { ok: false; reasons: StopReason[] };

export interface StopOptions {
  /**
   * Let a roll pass partitions whose replication factor is not above their min.insync.replicas (RF 1 topics,
   * or RF = min ISR). Such a partition blocks every roll forever otherwise; stopping its broker makes it
   * unwritable for acks=all (or offline at RF 1) while the broker is down. Default false: the plan waits and
   * says so, and the operator decides.
   */
  allowUnsatisfiable?: boolean;
  /** Show at most this many reasons (the verdict still counts all). Default 20. */
  maxReasons?: number;
}

/** Pure: the verdict for stopping `brokerId`, given every partition's state and each topic's min ISR. */
export function evaluateStop(
  partitions: readonly PartitionState[],
  minIsrOf: (topic: string) => number,
  brokerId: number,
  opts: StopOptions = {},
): StopVerdict {
  const reasons: StopReason[] = [];
  let held = 0;
  for (const p of partitions) {
    if (!p.replicas.includes(brokerId)) continue;
    held++;
    const minIsr = minIsrOf(p.topic);
    const inIsr = p.isr.includes(brokerId);
    const base = { topic: p.topic, partition: p.partition, replicas: [...p.replicas], isr: [...p.isr], minIsr };
    const name = `${p.topic}-${p.partition}`;
    if (inIsr && p.isr.length - 1 < minIsr) {
      if (p.replicas.length <= minIsr) {
        if (opts.allowUnsatisfiable) continue;
        reasons.push({
          ...base,
          kind: 'rf-not-above-min-isr',
          message: `${name}: replication factor ${p.replicas.length} is not above min.insync.replicas ${minIsr}, so stopping broker ${brokerId} always stalls acks=all producers${p.replicas.length === 1 ? ' (the partition goes offline)' : ''}; raise the replication factor, or allow it: PATCH /api/v1/cluster/config {"allowUnsatisfiableRolls": true}`,
        });
      } else {
        reasons.push({
          ...base,
          kind: 'would-drop-below-min-isr',
          message: `${name}: ISR [${p.isr.join(',')}] would shrink to ${p.isr.length - 1} without broker ${brokerId}, below min.insync.replicas ${minIsr}`,
        });
      }
    } else if (!inIsr && p.isr.length < minIsr) {
      reasons.push({
        ...base,
        kind: 'below-min-isr',
        message: `${name}: ISR [${p.isr.join(',')}] is already below min.insync.replicas ${minIsr} and broker ${brokerId} holds a replica that is catching up`,
      });
    }
  }
  if (reasons.length === 0) return { ok: true, partitions: held };
  return { ok: false, reasons: reasons.slice(0, opts.maxReasons ?? 20) };
}

export type IsrVerdict = { ok: true; partitions: number } | { ok: false; lagging: Array<{ topic: string; partition: number; isr: number[] }> };

/** Pure: is `brokerId` in the ISR of every partition it holds a replica of? */
export function evaluateIsrRecovered(partitions: readonly PartitionState[], brokerId: number): IsrVerdict {
  const lagging: Array<{ topic: string; partition: number; isr: number[] }> = [];
  let held = 0;
  for (const p of partitions) {
    if (!p.replicas.includes(brokerId)) continue;
    held++;
    if (!p.isr.includes(brokerId)) lagging.push({ topic: p.topic, partition: p.partition, isr: [...p.isr] });
  }
  return lagging.length === 0 ? { ok: true, partitions: held } : { ok: false, lagging };
}

/** Every partition of every topic (internal ones included), from one Metadata request. */
export async function fetchPartitionStates(admin: KafkaAdmin, topics?: readonly string[]): Promise<PartitionState[]> {
  const md = await admin.call('fetch topic metadata', (a) => a.fetchTopicMetadata(topics ? { topics: [...topics] } : undefined));
  const out: PartitionState[] = [];
  for (const t of md.topics) {
    for (const p of t.partitions) {
      out.push({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] });
    }
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Effective min.insync.replicas of each topic, in one DescribeConfigs request. */
export async function fetchMinIsr(admin: KafkaAdmin, topics: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (topics.length === 0) return out;
  const res = await admin.call('describe min.insync.replicas', (a) =>
    a.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas'] })),
    }),
  );
  for (const r of res.resources) {
    if (r.errorCode !== 0) continue;
    const e = r.configEntries.find((c) => c.configName === 'min.insync.replicas');
    const v = e ? Number(e.configValue) : NaN;
    if (Number.isInteger(v) && v >= 1) out.set(r.resourceName, v);
  }
  return out;
}

/**
 * May `brokerId` stop now? Reads partition states and min ISRs from the cluster. A topic whose min ISR could
 * not be read (deleted meanwhile) counts with Kafka's default of 1.
 */
export async function canStop(admin: KafkaAdmin, brokerId: number, opts: StopOptions = {}): Promise<StopVerdict> {
  const partitions = await fetchPartitionStates(admin);
  const topics = [...new Set(partitions.filter((p) => p.replicas.includes(brokerId)).map((p) => p.topic))];
  const minIsr = await fetchMinIsr(admin, topics);
  return evaluateStop(partitions, (t) => minIsr.get(t) ?? 1, brokerId, opts);
}

/** Is `brokerId` back in the ISR of all its partitions (and registered)? */
export async function isrRecovered(admin: KafkaAdmin, brokerId: number): Promise<IsrVerdict & { registered: boolean }> {
  const cluster = await admin.call('describe cluster', (a) => a.describeCluster());
  const registered = cluster.brokers.some((b) => b.nodeId === brokerId);
  const verdict = evaluateIsrRecovered(await fetchPartitionStates(admin), brokerId);
  if (!registered) return { ok: false, lagging: verdict.ok ? [] : verdict.lagging, registered };
  return { ...verdict, registered };
}

export type ControllerStopVerdict = { ok: true } | { ok: false; reason: string };

/**
 * May controller `nodeId` stop? Only if the voters that stay up and are caught up with the leader still form a
 * majority of the voter set: otherwise the quorum stalls (no leader election, no metadata commits) until the
 * controller is back.
 */
export function evaluateControllerStop(q: QuorumDescription, nodeId: number, maxLagMs?: number): ControllerStopVerdict {
  if (q.leaderId < 0) return { ok: false, reason: 'the metadata quorum has no leader right now' };
  const voters = q.voters.map((v) => v.replicaId);
  if (!voters.includes(nodeId)) return { ok: true };
  const need = quorumMajority(voters.length);
  const healthy = voters.filter((id) => id !== nodeId && voterCaughtUp(q, id, maxLagMs));
  if (healthy.length >= need) return { ok: true };
  const lagging = voters.filter((id) => id !== nodeId && !healthy.includes(id));
  return {
    ok: false,
    reason: `stopping controller ${nodeId} would leave ${healthy.length} caught-up voter(s) of ${voters.length}, fewer than the majority of ${need} (not caught up: ${lagging.join(', ') || 'none'})`,
  };
}

// ---- roll holds: which Kafka units a rolling update may not stop right now, and why ----------------------

/** One Kafka unit as the roll gate sees it. */
export interface RollUnit {
  unit: string;
  nodeId: number;
  /** Runs the broker role (brokers and combined nodes). */
  broker: boolean;
  /** Runs the controller role (dedicated controllers and combined nodes). */
  controller: boolean;
  /** A dedicated controller task (no broker role). */
  dedicatedController: boolean;
  /** Its live task runs an older spec version: the rolling update still has to restart it. */
  stale: boolean;
  /** Its task is running and ready (registered / a caught-up voter). */
  ready: boolean;
}

export interface RollGateInput {
  units: readonly RollUnit[];
  /** Every partition of the cluster, or undefined when the cluster's metadata could not be read. */
  partitions: readonly PartitionState[] | undefined;
  /** Why the metadata is unknown (shown in the holds). */
  unknownReason?: string;
  /** Effective min.insync.replicas per topic (DescribeConfigs); topics missing here use `defaultMinIsr`. */
  minIsr: ReadonlyMap<string, number>;
  /** The cluster's min.insync.replicas (its override, else kmf's default, else Kafka's 1). */
  defaultMinIsr: number;
  /** Brokers that are meant to run (goal running): replicas on other brokers do not count as "behind". */
  expectedBrokers: ReadonlySet<number>;
  /** The metadata quorum, or undefined when it could not be read. */
  quorum: QuorumDescription | undefined;
  /** See StopOptions.allowUnsatisfiable. */
  allowUnsatisfiable?: boolean;
}

const MAX_LISTED = 3;

function listSome(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown} (and ${items.length - MAX_LISTED} more)` : shown;
}

function replicas(n: number): string {
  return `${n} in-sync replica${n === 1 ? '' : 's'}`;
}

/** The reason for one partition, in the words a plan shows. */
export function describeStopReason(r: StopReason, brokerId: number): string {
  const name = `${r.topic}-${r.partition}`;
  switch (r.kind) {
    case 'would-drop-below-min-isr':
      return `stopping broker ${brokerId} would leave ${name} with ${replicas(r.isr.length - 1)} (min.insync.replicas=${r.minIsr})`;
    case 'below-min-isr':
      return `${name} has ${replicas(r.isr.length)}, below min.insync.replicas=${r.minIsr}, and broker ${brokerId} holds a replica that is catching up`;
    case 'rf-not-above-min-isr':
      return `${name} has replication factor ${r.replicas.length}, not above min.insync.replicas=${r.minIsr}: stopping broker ${brokerId} would stall acks=all producers (raise the replication factor, or let rolls do it: PATCH /api/v1/cluster/config {"allowUnsatisfiableRolls": true})`;
  }
}

/**
 * Pure: the stop holds of a rolling update (unit → reason), recomputed from the cluster's state at every
 * readiness round. A unit is held when
 *   - the cluster's metadata is unknown (an unreachable cluster holds the roll, never releases it);
 *   - another node of the cluster is not running and ready (restarting, crashed, waiting for its agent):
 *     one node down at a time, whatever the partition metadata says yet;
 *   - a partition is under-replicated on a broker that should run: the previous restart has not caught up
 *     (every unit waits, so the roll moves on only once the ISR has recovered);
 *   - (broker role) stopping it would take a partition below its min.insync.replicas;
 *   - (controller role) stopping it would leave fewer caught-up voters than a majority, or the quorum
 *     state is unknown;
 *   - ordering, as Kafka recommends: brokers wait while a dedicated controller still has to roll; the active
 *     controller waits while another unit of its tier (dedicated controllers; or, with combined nodes, any
 *     node) still has to roll, so leadership moves once, to an already rolled node.
 * Units that are not stale get the same holds: an operator restart is a stop like any other.
 */
export function rollHolds(input: RollGateInput): Record<string, string> {
  const holds: Record<string, string> = {};
  if (input.partitions === undefined) {
    const why = `the cluster's partition metadata is unknown${input.unknownReason === undefined ? '' : ` (${input.unknownReason})`}; the roll waits until it can be read`;
    for (const u of input.units) holds[u.unit] = why;
    return holds;
  }
  const partitions = input.partitions;
  const minIsrOf = (topic: string): number => input.minIsr.get(topic) ?? input.defaultMinIsr;

  const behind = partitions.filter((p) => p.replicas.some((r) => input.expectedBrokers.has(r) && !p.isr.includes(r)));
  const recovering =
    behind.length === 0
      ? undefined
      : `waiting for the ISR to recover: ${listSome(
          behind.map((p) => {
            const missing = p.replicas.filter((r) => input.expectedBrokers.has(r) && !p.isr.includes(r));
            return `${p.topic}-${p.partition} lacks broker${missing.length === 1 ? '' : 's'} ${missing.join(',')} in its ISR [${p.isr.join(',')}]`;
          }),
        )}`;

  const staleDedicated = input.units.filter((u) => u.stale && u.dedicatedController);
  const activeId = input.quorum !== undefined && input.quorum.leaderId >= 0 ? input.quorum.leaderId : undefined;

  const down = input.units.filter((u) => !u.ready);
  for (const u of input.units) {
    const reasons: string[] = [];
    const others = down.filter((o) => o.unit !== u.unit);
    if (others.length > 0) reasons.push(`waiting for ${others.map((o) => o.unit).join(', ')} to be running and ready`);
    if (recovering !== undefined) reasons.push(recovering);
    if (u.broker) {
      const verdict = evaluateStop(partitions, minIsrOf, u.nodeId, { allowUnsatisfiable: input.allowUnsatisfiable ?? false, maxReasons: 1_000 });
      if (!verdict.ok) reasons.push(listSome(verdict.reasons.map((r) => describeStopReason(r, u.nodeId))));
    }
    if (u.controller) {
      if (input.quorum === undefined) reasons.push(`the metadata quorum's state is unknown, so stopping controller ${u.nodeId} is not known to be safe`);
      else {
        const c = evaluateControllerStop(input.quorum, u.nodeId);
        if (!c.ok) reasons.push(c.reason);
      }
    }
    if (u.stale && !u.dedicatedController && staleDedicated.length > 0) {
      reasons.push(`brokers roll after the controllers (${staleDedicated.map((c) => c.unit).join(', ')} not rolled yet)`);
    }
    if (u.stale && u.controller && activeId === u.nodeId) {
      const tier = input.units.filter((o) => o.unit !== u.unit && o.stale && (u.dedicatedController ? o.dedicatedController : !staleDedicated.includes(o)));
      if (tier.length > 0) reasons.push(`node ${u.nodeId} is the active controller: it rolls last (${tier.map((o) => o.unit).join(', ')} first)`);
    }
    if (reasons.length > 0) holds[u.unit] = reasons.join('; ');
  }
  return holds;
}
