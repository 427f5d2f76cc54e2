/**
 * The admin API over a real scheduler in this process, without processes or network: the real
 * SchedulerRuntime, LeaderTerm, core and SchedulerService on the in-memory state store, a one-member
 * election (leader, or a standby of a leader elsewhere), and the scripted stand-in for the Mesos
 * connection (test/helpers/fake-driver.ts): the runtime is "leading, not subscribed" until a test says
 * otherwise, which is how a scheduler looks while its master is unreachable. Requests go through
 * fastify's inject().
 */
import { buildApi, type ApiServer } from '../../src/api/server.js';
import type { ApiAuthConfig } from '../../src/api/auth.js';
import type { LeaderTerm } from '../../src/runtime/leader-term.js';
import { Metrics, describeRuntimeMetrics } from '../../src/runtime/metrics.js';
import { SchedulerRuntime, type Election } from '../../src/runtime/scheduler-runtime.js';
import { SchedulerService } from '../../src/runtime/scheduler-service.js';
import { Timeline } from '../../src/runtime/timeline.js';
import { FencedStateStore, type Fence } from '../../src/state/fenced-state-store.js';
import type { ElectionEvent, LeaderInfo } from '../../src/state/leader-election.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import { testLogger, type Logger } from '../../src/util/log.js';
import { FakeDriver } from './fake-driver.js';

export const ADMIN = 'unit-admin-token-0123456789';
export const READER = 'unit-read-token-0123456789';
export const ALICE = 'alice-admin-token-0123456789';
export const BOB = 'bob-read-token-0123456789abc';

/** A one-member election: leads at start, or follows `leader` (a member elsewhere). */
export class SoloElection implements Election {
  readonly memberId = 'member-self';
  private readonly listeners = new Set<(e: ElectionEvent) => void>();
  private leading = false;

  constructor(private readonly otherLeader?: LeaderInfo) {}

  on(listener: (e: ElectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): Promise<void> {
    if (this.otherLeader === undefined) {
      this.leading = true;
      this.emit({ type: 'elected', epoch: 1, znode: '/leader/member-self' });
    } else {
      this.emit({ type: 'following', znode: '/leader/member-self', predecessor: this.otherLeader.znode });
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.leading = false;
    return Promise.resolve();
  }

  currentLeader(): Promise<LeaderInfo | undefined> {
    if (this.otherLeader !== undefined) return Promise.resolve(this.otherLeader);
    return Promise.resolve({ memberId: this.memberId, address: 'http://127.0.0.1:8080', znode: '/leader/member-self', host: 'localhost', pid: process.pid, since: new Date(0).toISOString() });
  }

  fence(): Fence | undefined {
    return this.leading ? { epoch: 1, checks: [] } : undefined;
  }

  private emit(e: ElectionEvent): void {
    for (const l of this.listeners) l(e);
  }
}

export interface ApiFixture extends ApiServer {
  store: MemoryStateStore;
  runtime: SchedulerRuntime;
  service: SchedulerService;
  driver: FakeDriver;
  metrics: Metrics;
  timeline: Timeline;
  term(): LeaderTerm;
  /** Every znode with its data and version: equal snapshots = nothing was written. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  follower?: boolean;
  auth?: Partial<ApiAuthConfig>;
  bodyLimit?: number;
  /** The API's logger (default: a silent test logger). */
  apiLogger?: Logger;
}

export async function apiFixture(opts: FixtureOptions = {}): Promise<ApiFixture> {
  const store = new MemoryStateStore();
  const election = new SoloElection(
    opts.follower === true
      ? { memberId: 'member-other', address: 'http://leader.example:8080', znode: '/leader/member-other', host: 'leader.example', pid: 1, since: new Date(0).toISOString() }
      : undefined,
  );
  const driver = new FakeDriver('fw-api-test');
  const metrics = new Metrics();
  describeRuntimeMetrics(metrics);
  const timeline = new Timeline();
  const runtime = new SchedulerRuntime({
    store,
    fenced: new FencedStateStore(store, election),
    election,
    address: 'http://127.0.0.1:8080',
    driverFactory: () => driver,
    coreConfig: { role: 'kmf', frameworkName: 'kmf-test', reviveMinIntervalMs: 0 },
    logger: testLogger('runtime'),
    metrics,
    timeline,
    onFatal: (err) => {
      throw err instanceof Error ? err : new Error(String(err));
    },
  });
  await runtime.start();
  if (opts.follower !== true) {
    for (let i = 0; i < 200 && runtime.leaderTerm()?.isLoaded !== true; i++) await new Promise((r) => setTimeout(r, 5));
    if (runtime.leaderTerm()?.isLoaded !== true) throw new Error('the leader term did not load');
  }
  const service = new SchedulerService(runtime, 'kmf', { snapshotTtlMs: 0 });
  const api = await buildApi({
    service,
    metrics,
    auth: {
      adminToken: ADMIN,
      readToken: READER,
      tokens: [
        { name: 'alice', role: 'admin', token: ALICE },
        { name: 'bob', role: 'read', token: BOB },
      ],
      insecureNoAuth: false,
      ...opts.auth,
    },
    logger: opts.apiLogger ?? testLogger('api'),
    processMetrics: false,
    ...(opts.bodyLimit === undefined ? {} : { bodyLimit: opts.bodyLimit }),
  });
  return {
    ...api,
    store,
    runtime,
    service,
    driver,
    metrics,
    timeline,
    term() {
      const t = runtime.leaderTerm();
      if (t === undefined) throw new Error('not leading');
      return t;
    },
    async snapshot() {
      const tree = await store.readTree('/');
      return JSON.stringify([...tree].sort(([a], [b]) => a.localeCompare(b)).map(([p, v]) => [p, v.version, v.data.toString('base64')]));
    },
    async close() {
      await api.app.close();
      await runtime.shutdown();
    },
  };
}
