/**
 * The lag and autoscaler decision shown for a Streams app (GET /api/v1/apps/{name}) belong to the app as it is:
 * once the app is removed or no longer autoscaled, the last reading and decision are forgotten instead of being
 * shown forever (or to an app created again under the same name).
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

function record(autoscale: boolean): AppRecord {
  const v = validateApp(
    {
      name: 'wc',
      type: 'streams',
      artifact: 'x.jar',
      instances: 1,
      cpus: 0.1,
      mem: 256,
      ...(autoscale ? { autoscale: { min: 1, max: 4, targetLagPerInstance: 100, cooldownSeconds: 10, inputTopics: ['in'] } } : {}),
    },
    { frameworkRole: 'kmf' },
  );
  assert.ok(v.ok);
  return { spec: v.app, removing: false, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
}

const broker: UnitView = {
  name: 'kafka/broker-0',
  kind: 'kafka-broker',
  goal: 'running',
  state: 'running',
  generation: 1,
  failures: 0,
  version: 'v',
  issues: [],
  task: { taskId: 't', state: 'TASK_RUNNING', agentId: 'a', hostname: 'h', ports: { broker: 9092 }, ready: true, version: 'v' },
} as unknown as UnitView;

describe('streams status of apps that changed', () => {
  test('lag and decision are forgotten when the app stops being autoscaled, and when it is removed', async () => {
    const apps = new Map([['wc', record(true)]]);
    const reader: LagReader = { read: () => Promise.resolve({ total: 50, byTopic: { in: 50 }, partitions: 4 }), close: () => Promise.resolve() };
    const store = { get: (n: string) => apps.get(n), put: () => Promise.resolve() } as unknown as DesiredStore;
    const status = new StreamsStatus();
    const loop = new StreamsAutoscaler(
      { stillLeading: () => true, isLoaded: true, apps: () => apps, units: () => [broker], mutateDesired: (change) => change(store) },
      { status, metrics: new Metrics(), timeline: new Timeline(), log: testLogger('autoscaler'), lag: reader, clock: () => Date.UTC(2026, 0, 1, 1) },
    );
    await loop.round();
    assert.equal(status.view('wc', []).lag, 50);
    assert.ok(status.view('wc', []).autoscaler !== undefined);

    apps.set('wc', record(false));
    await loop.round();
    assert.deepEqual(status.view('wc', []), { instances: {} });

    apps.set('wc', record(true));
    await loop.round();
    assert.equal(status.view('wc', []).lag, 50);
    apps.delete('wc');
    await loop.round();
    assert.deepEqual(status.view('wc', []), { instances: {} });
  });
});
