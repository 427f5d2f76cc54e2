import { SchedulerClient, type ConnectionChange, type SchedulerClientOptions } from '../../src/mesos/client.js';
import type { Event, FrameworkInfo } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';

/**
 * Test-side wiring around a SchedulerClient: records every event and connection change, lets a test wait for
 * the first matching one recorded after a mark, and stops the client at the end.
 */

/** Upper bound for any wait: a hung test fails with a message instead of hanging the run. Not a timing assertion. */
const WAIT_LIMIT_MS = 15_000;

export function testFrameworkInfo(): FrameworkInfo {
  return {
    user: 'kmf',
    name: 'kmf-test',
    failover_timeout: 604800,
    checkpoint: true,
    roles: ['kafka'],
    capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }],
  };
}

/** Tiny backoff and timeouts so retry paths run in milliseconds. */
export const FAST: Partial<SchedulerClientOptions> = {
  backoff: { initialMs: 5, maxMs: 40, factor: 2, jitter: 0.5 },
  callTimeoutMs: 10_000,
  subscribeTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
};

export class ClientHarness {
  readonly events: Event[] = [];
  readonly changes: ConnectionChange[] = [];
  readonly client: SchedulerClient;
  private readonly waiters = new Set<() => void>();

  constructor(opts: Partial<SchedulerClientOptions> & Pick<SchedulerClientOptions, 'master'>) {
    this.client = new SchedulerClient({ frameworkInfo: testFrameworkInfo(), logger: testLogger('mesos-client'), ...FAST, ...opts });
    this.client.onEvent((e) => {
      this.events.push(e);
      this.wake();
    });
    this.client.onConnection((c) => {
      this.changes.push(c);
      this.wake();
    });
  }

  start(): this {
    this.client.start();
    return this;
  }

  /** First connection change of `type` (matching `pred`) at index >= from. */
  change<T extends ConnectionChange['type']>(
    type: T,
    from = 0,
    pred: (c: Extract<ConnectionChange, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ConnectionChange, { type: T }>> {
    return this.until(`connection change '${type}'`, () => {
      for (let i = from; i < this.changes.length; i++) {
        const c = this.changes[i];
        if (c !== undefined && c.type === type && pred(c as Extract<ConnectionChange, { type: T }>)) return c as Extract<ConnectionChange, { type: T }>;
      }
      return undefined;
    });
  }

  /** First event of `type` at index >= from. */
  event<T extends Event['type']>(type: T, from = 0): Promise<Extract<Event, { type: T }>> {
    return this.until(`event '${type}'`, () => {
      for (let i = from; i < this.events.length; i++) {
        const e = this.events[i];
        if (e !== undefined && e.type === type) return e as Extract<Event, { type: T }>;
      }
      return undefined;
    });
  }

  /** Resolves once `check` returns something other than undefined (re-checked after every event/change). */
  until<R>(what: string, check: () => R | undefined): Promise<R> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(probe);
        reject(new Error(`gave up waiting for ${what}; changes so far: ${this.changes.map(describe).join(' | ')}`));
      }, WAIT_LIMIT_MS);
      const probe = (): void => {
        const r = check();
        if (r === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(probe);
        resolve(r);
      };
      this.waiters.add(probe);
    });
  }

  async stop(): Promise<void> {
    await this.client.stop();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

function describe(c: ConnectionChange): string {
  switch (c.type) {
    case 'subscribing':
      return `subscribing ${c.masterUrl}`;
    case 'subscribed':
      return `subscribed ${c.masterUrl}`;
    case 'disconnected':
      return `disconnected ${c.error.code} (${c.reason}) retry in ${c.retryInMs}`;
    case 'fatal':
      return `fatal ${c.error.code} (${c.error.message})`;
    case 'stopped':
      return 'stopped';
  }
}
