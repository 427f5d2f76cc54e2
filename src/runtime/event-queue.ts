/**
 * The runtime's one serial queue: core decisions never interleave, and an operator change never lands in
 * the middle of a decision. Two kinds of items:
 *  - events, handled in batches: consecutive events waiting in the queue are given to the batch handler
 *    together (the core steps once per event, but their state writes share one ZooKeeper round trip);
 *  - exclusive jobs (a desired-state change, persisting the framework id), run alone, in queue order.
 * The queue drains on the event loop, never re-entrantly; a failing batch or job goes to `onError`.
 *
 * After a slow batch the queue pauses (see `drain`) so that I/O gets its turn. An *urgent* event (the owner
 * says which: status updates, say) does not wait behind that pause: arriving during it, it ends it, and
 * already queued, it skips it. Order is unchanged either way: the next batch takes the queued events in
 * order, the urgent one with whatever came before it.
 */
export type QueueItem<E> = { kind: 'event'; event: E } | { kind: 'job'; run: () => Promise<void>; cancel: (why: Error) => void };

export class QueueClosedError extends Error {
  constructor() {
    super('the scheduler stopped leading before this change could be applied');
    this.name = 'QueueClosedError';
  }
}

export interface SerialQueueOptions<E> {
  handleBatch: (events: E[]) => Promise<void>;
  /** A batch handler threw: the owner decides (step down, crash). The queue goes on with the next item. */
  onError: (err: unknown) => void;
  maxBatch?: number;
  /** Batches that took at least this long are followed by a pause as long as they took (up to maxPauseMs). */
  minPauseMs?: number;
  maxPauseMs?: number;
  /** Events that end (or skip) the pause after a slow batch. */
  urgent?: (event: E) => boolean;
}

export class SerialQueue<E> {
  private readonly items: Array<QueueItem<E>> = [];
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly maxBatch: number;
  private readonly minPauseMs: number;
  private readonly maxPauseMs: number;
  /** Ends the pause in progress early (set only while pausing). */
  private endPause: (() => void) | undefined;

  constructor(private readonly opts: SerialQueueOptions<E>) {
    this.maxBatch = opts.maxBatch ?? 5000;
    this.minPauseMs = opts.minPauseMs ?? 5;
    this.maxPauseMs = opts.maxPauseMs ?? 100;
  }

  get length(): number {
    return this.items.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(event: E): void {
    if (this.closed) return;
    this.items.push({ kind: 'event', event });
    if (this.endPause !== undefined && this.isUrgent(event)) this.endPause();
    this.kick();
  }

  /** Runs `fn` alone, after everything queued before it; resolves or rejects with its outcome. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    return new Promise<T>((resolve, reject) => {
      this.items.push({
        kind: 'job',
        cancel: reject,
        run: async () => {
          try {
            resolve(await fn());
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
      });
      this.kick();
    });
  }

  /** Stops taking items, drops what has not started, and waits for the item in progress. */
  async close(): Promise<void> {
    this.closed = true;
    const dropped = this.items.splice(0);
    // Jobs waiting for their turn learn that it will not come.
    for (const item of dropped) if (item.kind === 'job') item.cancel(new QueueClosedError());
    this.endPause?.();
    await this.running;
  }

  /** Resolves when the queue is empty and idle (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private kick(): void {
    if (this.running !== undefined) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.items.length > 0 && !this.closed) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Yield once so that events arriving in the same tick are batched together.
    await new Promise<void>((r) => setImmediate(r));
    while (this.items.length > 0 && !this.closed) {
      const head = this.items[0]!;
      if (head.kind === 'job') {
        this.items.shift();
        await head.run();
        continue;
      }
      const batch: E[] = [];
      while (batch.length < this.maxBatch) {
        const next = this.items[0];
        if (next === undefined || next.kind !== 'event') break;
        this.items.shift();
        batch.push(next.event);
      }
      const started = performance.now();
      try {
        await this.opts.handleBatch(batch);
      } catch (err) {
        this.opts.onError(err);
      }
      // A decision blocks the event loop. When they are expensive (a big state) and events keep coming,
      // leave the loop at least as much time again for I/O before the next one: call answers (one call
      // per answer on the ordered calls connection), events arriving (which then share the next
      // decision), API requests. Decisions take at most about half the time, and batches grow with load.
      // An urgent event (a status update that may lead to a relaunch) is not held up by that pause.
      const busy = performance.now() - started;
      if (busy >= this.minPauseMs && this.items.length > 0 && !this.closed && !this.urgentQueued()) {
        await this.pause(Math.min(busy, this.maxPauseMs));
      }
    }
  }

  private isUrgent(event: E): boolean {
    return this.opts.urgent?.(event) === true;
  }

  private urgentQueued(): boolean {
    if (this.opts.urgent === undefined) return false;
    return this.items.some((item) => item.kind === 'event' && this.isUrgent(item.event));
  }

  /** Waits `ms`, or less if an urgent event arrives (or the queue closes) meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.endPause = undefined;
        resolve();
      }, ms);
      this.endPause = () => {
        this.endPause = undefined;
        clearTimeout(timer);
        // Resume after the I/O callbacks of this turn: events arriving with the urgent one join its batch.
        setImmediate(resolve);
      };
    });
  }
}
