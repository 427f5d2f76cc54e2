/**
 * The scheduler's timeline: the core's timeline events (launches, failures, escalations, kills,
 * reconciliation …) plus the runtime's own (leadership, subscription), in a fixed-size ring buffer.
 * Every entry gets a sequence number that only grows, so the admin API can page with `after=<seq>`.
 * It lives in memory only: a new leader starts a new timeline (the durable facts are in ZooKeeper).
 */
import type { TimelineKind } from '../core/actions.js';

/** `operator`: a change made through the admin API (with `who`); `decline`: offers declined, with why. */
export type RuntimeTimelineKind = 'leadership' | 'subscription' | 'desired' | 'operator' | 'decline';

export const RUNTIME_TIMELINE_KINDS: readonly RuntimeTimelineKind[] = ['leadership', 'subscription', 'desired', 'operator', 'decline'];

/** Filters of `Timeline.page` (they apply before the limit). */
export interface TimelineQuery {
  after?: number;
  limit?: number;
  unit?: string;
  /** Only these kinds. */
  kinds?: readonly string[];
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** Only entries made by this operator. */
  who?: string;
  /** The newest `limit` matching entries (still oldest first) instead of the oldest after `after`. */
  newest?: boolean;
}

export interface TimelineEntry {
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  kind: TimelineKind | RuntimeTimelineKind;
  message: string;
  unit?: string;
  taskId?: string;
  /** Operator actions: who made the change (the API token's name). */
  who?: string;
}

export class Timeline {
  private readonly ring: Array<TimelineEntry | undefined>;
  private nextSeq = 1;

  constructor(readonly capacity = 10_000) {
    this.ring = new Array<TimelineEntry | undefined>(capacity);
  }

  private readonly listeners = new Set<(e: TimelineEntry) => void>();

  add(entry: Omit<TimelineEntry, 'seq'>): TimelineEntry {
    const e: TimelineEntry = { seq: this.nextSeq++, ...entry };
    this.ring[(e.seq - 1) % this.capacity] = e;
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Calls `listener` with every new entry; returns the unsubscribe function. */
  onEntry(listener: (e: TimelineEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sequence number of the newest entry (0 when empty). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Oldest sequence number still held. */
  get firstSeq(): number {
    return Math.max(1, this.nextSeq - this.capacity);
  }

  /**
   * Entries with seq > `after`, oldest first, at most `limit`. Filters apply before the limit.
   * `truncated` says that entries after `after` were already overwritten.
   */
  page(opts: TimelineQuery = {}): { entries: TimelineEntry[]; truncated: boolean; lastSeq: number } {
    const after = Math.max(0, opts.after ?? 0);
    const limit = Math.max(1, Math.min(opts.limit ?? 100, 1000));
    const first = Math.max(after + 1, this.firstSeq);
    const entries: TimelineEntry[] = [];
    const matches = (e: TimelineEntry): boolean =>
      (opts.unit === undefined || e.unit === opts.unit) &&
      (opts.kinds === undefined || opts.kinds.includes(e.kind)) &&
      (opts.since === undefined || e.at >= opts.since) &&
      (opts.who === undefined || e.who === opts.who);
    if (opts.newest === true) {
      for (let seq = this.lastSeq; seq >= first && entries.length < limit; seq--) {
        const e = this.ring[(seq - 1) % this.capacity];
        if (e !== undefined && e.seq === seq && matches(e)) entries.push(e);
      }
      entries.reverse();
    } else {
      for (let seq = first; seq <= this.lastSeq && entries.length < limit; seq++) {
        const e = this.ring[(seq - 1) % this.capacity];
        if (e !== undefined && e.seq === seq && matches(e)) entries.push(e);
      }
    }
    return { entries, truncated: after + 1 < this.firstSeq && this.lastSeq > 0, lastSeq: this.lastSeq };
  }

  /** The newest `n` entries, newest last. */
  tail(n: number): TimelineEntry[] {
    return this.page({ after: Math.max(0, this.lastSeq - n), limit: n }).entries;
  }
}
