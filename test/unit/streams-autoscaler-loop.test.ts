/**
 * The autoscaler loop around the pure decision: which apps it looks at, what it reads, when it pauses, what it
 * writes and what it puts in the timeline (fake lag reader, in-memory term).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UnitView } from '../../src/core/plans.js';
import { validateApp, type AppRecord } from '../../src/runtime/apps.js';
import type { DesiredStore } from '../../src/runtime/desired-store.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { StreamsAutoscaler, type LagReader } from '../../src/runtime/streams-autoscaler.js';
import { StreamsStatus } from '../../src/runtime/streams-status.js';
import { Timeline } from '../../src/runtime/timeline.js';
import { testLogger } from '../../src/util/log.js';

function record(instances: number, updatedAt: string): AppRecord {
  const v = validateApp(
    { name: 'wc', type: 'streams', artifact: 'x.jar', instances, cpus: 0.1, mem: 256, autoscale: { min: 1, max: 4, targetLagPerInstance: 100, cooldownSeconds: 10, inputTopics: ['in'] } },
    { frameworkRole: 'kmf' },
  );
  assert.ok(v.ok);
  return { spec: v.app, removing: false, createdAt: updatedAt, updatedAt };
}

const broker = (plan: UnitView['plan']): UnitView =>
  ({ name: 'kafka/broker-0', kind: 'kafka-broker', goal: 'running', state: 'running', plan, generation: 1, failures: 0, version: 'v', issues: [], task: { taskId: 't', state: 'TASK_RUNNING', agentId: 'a', hostname: 'h', ports: { broker: 9092 }, ready: true, version: 'v' } });

function setup(lag: number | Error, opts: { brokerPlan?: UnitView['plan'] } = {}) {
  let now = Date.UTC(2026, 0, 1);
  const apps = new Map([['wc', record(1, new Date(now - 3_600_000).toISOString())]]);
  const reads: Array<{ servers: readonly string[]; group: string; topics: readonly string[] }> = [];
  const reader: LagReader = {
    read: (servers, group, topics) => {
      reads.push({ servers, group, topics });
      return lag instanceof Error ? Promise.reject(lag) : Promise.resolve({ total: lag, byTopic: { in: lag }, partitions: 4 });
    },
    close: () => Promise.resolve(),
  };
  const store = {
    get: (n: string) => apps.get(n),
    put: (rec: AppRecord) => {
      apps.set(rec.spec.name, rec);
      return Promise.resolve();
    },
  } as unknown as DesiredStore;
  const timeline = new Timeline();
  const metrics = new Metrics();
  const status = new StreamsStatus();
  const loop = new StreamsAutoscaler(
    {
      stillLeading: () => true,
      isLoaded: true,
      apps: () => apps,
      units: () => [broker(opts.brokerPlan)],
      mutateDesired: (change) => change(store),
    },
    { status, metrics, timeline, log: testLogger('autoscaler'), lag: reader, clock: () => now },
  );
  return { apps, reads, timeline, metrics, status, loop, advance: (ms: number) => (now += ms) };
}

void describe('streams autoscaler loop', () => {
  void test('reads the group lag on the input topics from the running brokers and scales up, with the numbers in the timeline', async () => {
    const s = setup(1_000);
    await s.loop.round();
    assert.deepEqual(s.reads, [{ servers: ['h:9092'], group: 'wc', topics: ['in'] }]);
    assert.equal(s.apps.get('wc')?.spec.instances, 4);
    const msgs = s.timeline.page({}).entries.map((e) => e.message);
    assert.deepEqual(msgs, ['autoscaler, app wc: scale up to 4: lag 1000, target 100/instance, 1 running, bounds 1..4, 4 partition(s)']);
    assert.equal(s.metrics.gauge('kmf_streams_lag', { app: 'wc' }), 1000);
    assert.equal(s.status.view('wc', []).lag, 1000);
  });

  void test('a hold is recorded once, not every round', async () => {
    const s = setup(50);
    await s.loop.round();
    await s.loop.round();
    s.advance(3_000);
    await s.loop.round();
    assert.equal(s.apps.get('wc')?.spec.instances, 1);
    assert.equal(s.timeline.page({}).entries.length, 1);
    assert.match(s.timeline.page({}).entries[0]!.message, /steady at 1/);
  });

  void test('paused while the brokers roll: no lag read, no change', async () => {
    const s = setup(1_000, { brokerPlan: 'update' });
    await s.loop.round();
    assert.equal(s.reads.length, 0);
    assert.equal(s.apps.get('wc')?.spec.instances, 1);
    assert.match(s.timeline.page({}).entries[0]!.message, /paused: the Kafka brokers are being rolled/);
  });

  void test('an unreadable lag holds and shows why', async () => {
    const s = setup(new Error('coordinator not available'));
    await s.loop.round();
    assert.equal(s.apps.get('wc')?.spec.instances, 1);
    assert.equal(s.status.view('wc', []).lagError, 'coordinator not available');
    assert.match(s.timeline.page({}).entries[0]!.message, /lag unknown/);
  });
});
