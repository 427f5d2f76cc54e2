/**
 * Consumer-group lag per partition: the end offset minus the group's committed offset. The Streams autoscaler
 * reads it to size an app (and caps instances at the input partition count).
 *
 * End offsets come from ListOffsets at the latest position as kafkajs asks for it (read_committed isolation, so
 * the end of a partition with an open transaction is its last stable offset: records a read_committed consumer
 * cannot see yet are not counted as lag).
 */
import type { KafkaAdmin } from './admin.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset; null when it has committed nothing for the partition. */
  committed: number | null;
  /** Earliest retained offset. */
  start: number;
  /** End offset (last stable offset). */
  end: number;
  /**
   * end − committed; without a commit, the whole retained range (end − start), which is what a consumer starting
   * from the earliest offset has to read.
   */
  lag: number;
}

export interface GroupLag {
  groupId: string;
  partitions: PartitionLag[];
  total: number;
  byTopic: Record<string, number>;
}

/** Pure: lag entries from committed offsets and topic offsets (kafkajs' string offsets, "-1" = none). */
export function computeLag(
  committed: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; offset: string }> }>,
  offsets: ReadonlyMap<string, ReadonlyArray<{ partition: number; low: string; high: string }>>,
): PartitionLag[] {
  const out: PartitionLag[] = [];
  for (const t of committed) {
    const ends = offsets.get(t.topic) ?? [];
    for (const e of ends) {
      const c = t.partitions.find((p) => p.partition === e.partition);
      const committedOffset = c !== undefined && Number(c.offset) >= 0 ? Number(c.offset) : null;
      const start = Number(e.low);
      const end = Number(e.high);
      const lag = committedOffset === null ? Math.max(0, end - start) : Math.max(0, end - committedOffset);
      out.push({ topic: t.topic, partition: e.partition, committed: committedOffset, start, end, lag });
    }
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * Lag of `groupId` on `topics` (default: every topic the group has committed offsets for). Partitions of those
 * topics without a commit count in full (see PartitionLag.lag).
 */
export async function consumerGroupLag(admin: KafkaAdmin, groupId: string, topics?: readonly string[]): Promise<GroupLag> {
  const committed = await admin.call(`fetch offsets of group ${groupId}`, (a) =>
    a.fetchOffsets(topics === undefined ? { groupId } : { groupId, topics: [...topics] }),
  );
  const offsets = new Map<string, Array<{ partition: number; low: string; high: string }>>();
  for (const t of committed) {
    const o = await admin.call(`fetch offsets of topic ${t.topic}`, (a) => a.fetchTopicOffsets(t.topic));
    offsets.set(
      t.topic,
      o.map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
    );
  }
  const partitions = computeLag(committed, offsets);
  const byTopic: Record<string, number> = {};
  for (const p of partitions) byTopic[p.topic] = (byTopic[p.topic] ?? 0) + p.lag;
  return { groupId, partitions, total: partitions.reduce((s, p) => s + p.lag, 0), byTopic };
}
