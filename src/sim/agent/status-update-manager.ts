/**
 * The agent's task status update manager (reference item 145): per task, updates are forwarded strictly in
 * order, at most one unacknowledged at a time; the outstanding one is re-forwarded after `initialMs`,
 * doubling up to `maxMs`, until the scheduler acknowledges its uuid; only then is the next queued update
 * forwarded. A stream ends when its terminal update is acknowledged.
 *
 * Scale: one timer per manager, not per task. The timer is armed for the earliest retry due; when it fires
 * it scans the streams (retries are rare and at least `initialMs` apart, so the scan is cheap even with
 * thousands of tasks). An ACK never touches the timer: a spurious wake-up finds nothing due.
 */
import type { TaskState, TaskStatus } from '../../mesos/types.js';
import { isTerminalState } from '../../mesos/types.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Retries must never keep a test or the simulator alive on their own.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** Mesos 1.11: STATUS_UPDATE_RETRY_INTERVAL_MIN 10 s, _MAX 10 min. */
export const DEFAULT_STATUS_UPDATE_RETRY: RetryPolicy = { initialMs: 10_000, maxMs: 600_000 };

export type ForwardFn = (frameworkId: string, status: TaskStatus, latestState: TaskState) => void;

interface Stream {
  readonly frameworkId: string;
  readonly taskId: string;
  /** pending[0] is the one forwarded and awaiting its ACK. */
  readonly pending: TaskStatus[];
  /** uuids already received on this stream (duplicate detection, like Mesos' `received` set). */
  readonly received: Set<string>;
  latestState: TaskState;
  retryDelayMs: number;
  nextRetryAt: number;
}

export type UpdateResult = 'forwarded' | 'queued' | 'duplicate';

export type AckResult =
  | { ok: true; status: TaskStatus; terminal: boolean; next: TaskStatus | undefined }
  | { ok: false; reason: 'unknown-stream' | 'no-pending' | 'uuid-mismatch' };

function key(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

function uuidKey(uuid: Buffer | undefined): string {
  return uuid === undefined ? '' : uuid.toString('hex');
}

export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;
  private readonly forward: ForwardFn;
  private timer: unknown = undefined;
  private timerDueAt = Infinity;
  private stopped = false;

  constructor(opts: { forward: ForwardFn; retry?: RetryPolicy; clock?: Clock }) {
    this.forward = opts.forward;
    this.retry = opts.retry ?? DEFAULT_STATUS_UPDATE_RETRY;
    this.clock = opts.clock ?? systemClock;
    if (!(this.retry.initialMs > 0) || !(this.retry.maxMs >= this.retry.initialMs)) {
      throw new RangeError(`invalid status update retry policy ${JSON.stringify(this.retry)}`);
    }
  }

  /**
   * Accept an update (it must carry a uuid). Forwards it at once if nothing is outstanding for the task,
   * otherwise queues it behind the outstanding one.
   */
  update(frameworkId: string, status: TaskStatus): UpdateResult {
    const k = key(frameworkId, status.task_id.value);
    let stream = this.streams.get(k);
    if (stream === undefined) {
      stream = {
        frameworkId,
        taskId: status.task_id.value,
        pending: [],
        received: new Set(),
        latestState: status.state,
        retryDelayMs: this.retry.initialMs,
        nextRetryAt: Infinity,
      };
      this.streams.set(k, stream);
    }
    const u = uuidKey(status.uuid);
    if (stream.received.has(u)) return 'duplicate';
    stream.received.add(u);
    stream.latestState = status.state;
    stream.pending.push(status);
    if (stream.pending.length > 1) return 'queued';
    this.sendHead(stream);
    return 'forwarded';
  }

  /** The scheduler acknowledged `uuid` for the task: pop it and forward the next queued update, if any. */
  acknowledge(frameworkId: string, taskId: string, uuid: Buffer): AckResult {
    const stream = this.streams.get(key(frameworkId, taskId));
    if (stream === undefined) return { ok: false, reason: 'unknown-stream' };
    const head = stream.pending[0];
    if (head === undefined) return { ok: false, reason: 'no-pending' };
    if (head.uuid === undefined || !head.uuid.equals(uuid)) return { ok: false, reason: 'uuid-mismatch' };
    stream.pending.shift();
    const terminal = isTerminalState(head.state);
    if (terminal) {
      // Mesos closes the stream once its terminal update is acknowledged; anything queued behind it
      // (which a well-behaved executor never produces) goes with it.
      this.streams.delete(key(frameworkId, taskId));
      return { ok: true, status: head, terminal, next: undefined };
    }
    stream.retryDelayMs = this.retry.initialMs;
    stream.nextRetryAt = Infinity;
    const next = stream.pending[0];
    if (next !== undefined) this.sendHead(stream);
    return { ok: true, status: head, terminal, next };
  }

  /** The update currently awaiting an ACK for the task, if any. */
  outstanding(frameworkId: string, taskId: string): TaskStatus | undefined {
    return this.streams.get(key(frameworkId, taskId))?.pending[0];
  }

  /** Updates not yet forwarded even once (behind the outstanding one). */
  queuedCount(frameworkId: string, taskId: string): number {
    const s = this.streams.get(key(frameworkId, taskId));
    return s === undefined ? 0 : Math.max(0, s.pending.length - 1);
  }

  latestState(frameworkId: string, taskId: string): TaskState | undefined {
    return this.streams.get(key(frameworkId, taskId))?.latestState;
  }

  hasStream(frameworkId: string, taskId: string): boolean {
    return this.streams.has(key(frameworkId, taskId));
  }

  /** Forget a framework's streams (framework removed: nobody will acknowledge them). */
  cleanupFramework(frameworkId: string): void {
    for (const [k, s] of this.streams) {
      if (s.frameworkId === frameworkId) this.streams.delete(k);
    }
  }

  /** Stop forwarding and retrying forever (agent crash/stop). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Infinity;
  }

  private sendHead(stream: Stream): void {
    const head = stream.pending[0];
    if (head === undefined || this.stopped) return;
    stream.nextRetryAt = this.clock.now() + stream.retryDelayMs;
    this.arm(stream.nextRetryAt);
    this.forward(stream.frameworkId, head, stream.latestState);
  }

  private arm(dueAt: number): void {
    if (this.stopped || dueAt >= this.timerDueAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerDueAt = dueAt;
    this.timer = this.clock.setTimeout(() => this.onTimer(), Math.max(0, dueAt - this.clock.now()));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    let earliest = Infinity;
    const due: Stream[] = [];
    for (const s of this.streams.values()) {
      if (s.pending.length === 0) continue;
      if (s.nextRetryAt <= now) due.push(s);
      else if (s.nextRetryAt < earliest) earliest = s.nextRetryAt;
    }
    for (const s of due) {
      const head = s.pending[0];
      if (head === undefined) continue;
      s.retryDelayMs = Math.min(s.retryDelayMs * 2, this.retry.maxMs);
      s.nextRetryAt = now + s.retryDelayMs;
      if (s.nextRetryAt < earliest) earliest = s.nextRetryAt;
      this.forward(s.frameworkId, head, s.latestState);
    }
    if (earliest < Infinity) this.arm(earliest);
  }
}
