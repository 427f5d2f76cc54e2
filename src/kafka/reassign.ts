/**
 * Scale-in drain: move every replica off a broker by partition reassignment, keeping each partition's
 * replication factor, before the broker is stopped and its reservation and volume released.
 *
 * Planning is pure (`planDrain`): each replica on the drained broker is replaced, at the same position in the
 * replica list, by the remaining broker with the fewest replicas that does not already hold the partition
 * (ties: fewest preferred leaderships when the position is the preferred leader's, then lowest id). Partitions
 * that do not touch the drained broker are left alone: a drain moves only what it must.
 *
 * Applying uses AlterPartitionReassignments / ListPartitionReassignments (v0 in kafkajs 2.2.4, served by Kafka
 * 4.x): Kafka adds the new replicas, lets them catch up, then removes the old one, so the partition stays
 * available throughout.
 */
import { KmfError } from '../util/errors.js';
import { sleep } from '../util/backoff.js';
import type { Logger } from '../util/log.js';
import type { KafkaAdmin } from './admin.js';
import { fetchPartitionStates } from './roll-safety.js';

export interface PartitionAssignment {
  topic: string;
  partition: number;
  replicas: number[];
}

export type DrainPlan =
  | { ok: true; moves: PartitionAssignment[] }
  | { ok: false; reason: string; partitions: Array<{ topic: string; partition: number; replicationFactor: number }> };

/**
 * New replica lists for the partitions that have a replica on `drained`, spread over `targets` (the brokers
 * that stay; `drained` is ignored if listed).
 */
export function planDrain(assignments: readonly PartitionAssignment[], drained: number, targets: readonly number[]): DrainPlan {
  const remaining = [...new Set(targets)].filter((b) => b !== drained).sort((a, b) => a - b);
  const load = new Map<number, number>(remaining.map((b) => [b, 0]));
  const leaders = new Map<number, number>(remaining.map((b) => [b, 0]));
  for (const a of assignments) {
    a.replicas.forEach((r, i) => {
      if (load.has(r)) load.set(r, (load.get(r) ?? 0) + 1);
      if (i === 0 && leaders.has(r)) leaders.set(r, (leaders.get(r) ?? 0) + 1);
    });
  }
  const affected = [...assignments]
    .filter((a) => a.replicas.includes(drained))
    .sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
  const impossible = affected.filter((a) => new Set(a.replicas).size > remaining.length);
  if (impossible.length > 0) {
    return {
      ok: false,
      reason: `${impossible.length} partition(s) have more replicas than the ${remaining.length} broker(s) that would remain; lower their replication factor or add brokers first`,
      partitions: impossible.map((a) => ({ topic: a.topic, partition: a.partition, replicationFactor: a.replicas.length })),
    };
  }
  const moves: PartitionAssignment[] = [];
  for (const a of affected) {
    const replicas = [...a.replicas];
    for (let i = 0; i < replicas.length; i++) {
      if (replicas[i] !== drained) continue;
      const candidates = remaining.filter((b) => !replicas.includes(b));
      const pick = candidates.reduce<number | undefined>((best, b) => {
        if (best === undefined) return b;
        const dl = (load.get(b) ?? 0) - (load.get(best) ?? 0);
        if (dl !== 0) return dl < 0 ? b : best;
        if (i === 0) {
          const dL = (leaders.get(b) ?? 0) - (leaders.get(best) ?? 0);
          if (dL !== 0) return dL < 0 ? b : best;
        }
        return best;
      }, undefined);
      if (pick === undefined) {
        return {
          ok: false,
          reason: `no broker can take partition ${a.topic}-${a.partition}'s replica`,
          partitions: [{ topic: a.topic, partition: a.partition, replicationFactor: a.replicas.length }],
        };
      }
      replicas[i] = pick;
      load.set(pick, (load.get(pick) ?? 0) + 1);
      if (i === 0) leaders.set(pick, (leaders.get(pick) ?? 0) + 1);
    }
    moves.push({ topic: a.topic, partition: a.partition, replicas });
  }
  return { ok: true, moves };
}

/** Submits reassignments (grouped per topic, one request). */
export async function applyReassignments(admin: KafkaAdmin, moves: readonly PartitionAssignment[], timeoutMs = 30_000): Promise<void> {
  if (moves.length === 0) return;
  const byTopic = new Map<string, Array<{ partition: number; replicas: number[] }>>();
  for (const m of moves) {
    const list = byTopic.get(m.topic) ?? [];
    list.push({ partition: m.partition, replicas: [...m.replicas] });
    byTopic.set(m.topic, list);
  }
  await admin.call(
    'alter partition reassignments',
    (a) =>
      a.alterPartitionReassignments({
        timeout: timeoutMs,
        topics: [...byTopic.entries()].map(([topic, partitionAssignment]) => ({ topic, partitionAssignment })),
      }),
    timeoutMs + 5_000,
  );
}

/** Reassignments still in progress, as `topic-partition` strings. */
export async function reassignmentsInProgress(admin: KafkaAdmin): Promise<string[]> {
  const res = await admin.call('list partition reassignments', (a) => a.listPartitionReassignments({}));
  return res.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p.partitionIndex}`)).sort();
}

/** Partitions that still have a replica on `brokerId`. */
export async function partitionsOnBroker(admin: KafkaAdmin, brokerId: number): Promise<PartitionAssignment[]> {
  const states = await fetchPartitionStates(admin);
  return states.filter((p) => p.replicas.includes(brokerId)).map((p) => ({ topic: p.topic, partition: p.partition, replicas: p.replicas }));
}

export interface DrainOptions {
  pollMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * Drains `brokerId` onto `targets` and waits until no partition has a replica on it. Idempotent: a drain
 * interrupted halfway is finished by calling it again (the plan starts from the current assignment).
 */
export async function drainBroker(
  admin: KafkaAdmin,
  brokerId: number,
  targets: readonly number[],
  opts: DrainOptions = {},
): Promise<{ moved: number }> {
  const pollMs = opts.pollMs ?? 1_000;
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  const states = await fetchPartitionStates(admin);
  const plan = planDrain(states, brokerId, targets);
  if (!plan.ok) throw new KmfError('kafka_drain_impossible', plan.reason, { details: { partitions: plan.partitions } });
  opts.logger?.info('draining broker', { brokerId, partitions: plan.moves.length, targets });
  await applyReassignments(admin, plan.moves);
  let leftovers = 0;
  for (;;) {
    const inProgress = await reassignmentsInProgress(admin);
    const left = inProgress.length === 0 ? await partitionsOnBroker(admin, brokerId) : [];
    if (inProgress.length === 0 && left.length === 0) return { moved: plan.moves.length };
    leftovers = inProgress.length === 0 ? leftovers + 1 : 0;
    // Replicas still on the broker with nothing in progress: new partitions created meanwhile, or a broker
    // whose metadata lags a finished move. Only a view that persists over a few polls gets planned again.
    if (leftovers >= 3) {
      leftovers = 0;
      const again = planDrain(await fetchPartitionStates(admin), brokerId, targets);
      if (!again.ok) throw new KmfError('kafka_drain_impossible', again.reason, { details: { partitions: again.partitions } });
      await applyReassignments(admin, again.moves);
    }
    if (Date.now() > deadline) {
      throw new KmfError('kafka_timeout', `broker ${brokerId} still holds replicas (${inProgress.length} reassignment(s) in progress)`, { retriable: true });
    }
    await sleep(pollMs, opts.signal);
  }
}
