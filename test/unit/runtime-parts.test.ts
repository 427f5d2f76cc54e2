/**
 * Small parts of the runtime and the API: app validation and unit specs, the serial queue, the wake timer,
 * the timeline ring, API tokens, metrics rendering.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadApiAuth } from '../../src/api/auth.js';
import { parseListenAddress } from '../../src/api/server.js';
import { validateUnit } from '../../src/model/validate.js';
import { appUnitSpec, parseAppUnit, validateApp } from '../../src/runtime/apps.js';
import { QueueClosedError, SerialQueue } from '../../src/runtime/event-queue.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { Timeline } from '../../src/runtime/timeline.js';
import { WakeTimer } from '../../src/runtime/wake-timer.js';
import { KmfError } from '../../src/util/errors.js';

const ctx = { frameworkRole: 'kmf' };

describe('apps', () => {
  test('a full app validates and becomes valid unit specs', () => {
    const v = validateApp(
      {
        name: 'web',
        instances: 3,
        cpus: 0.5,
        mem: 128,
        disk: 10,
        command: 'serve --port $PORT0 --admin {{port:admin}}',
        env: { MODE: 'prod' },
        ports: ['http', 'admin'],
        volume: { sizeMb: 100 },
        constraints: ['hostname:UNIQUE', ['rack', 'GROUP_BY', '2']],
        healthCheck: { type: 'HTTP', port: 'admin', path: '/health', intervalSeconds: 5 },
        strategy: 'serial',
        uris: ['http://example/x.tgz', { value: 'http://example/y', executable: true }],
        killGracePeriodSeconds: 20,
        labels: { team: 'a' },
      },
      ctx,
    );
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.app.volume?.containerPath, 'data');
    assert.deepEqual(v.app.constraints, [
      { field: 'hostname', operator: 'UNIQUE' },
      { field: 'rack', operator: 'GROUP_BY', value: '2' },
    ]);
    const spec = appUnitSpec(v.app, 2, 'running');
    assert.equal(spec.name, 'app-web/2');
    assert.equal(spec.group, 'app-web');
    assert.equal(spec.readiness, 'healthy');
    assert.equal(spec.task.env?.['PORT0'], '{{port:http}}');
    assert.equal(spec.task.env?.['PORT'], '{{port:http}}');
    assert.equal(spec.task.env?.['KMF_INSTANCE'], '2');
    assert.deepEqual(validateUnit(spec, new Set()), []);
    assert.deepEqual(parseAppUnit('app-web/2'), { app: 'web', index: 2 });
    assert.equal(parseAppUnit('broker-2'), undefined);
  });

  test('defaults: one instance, no ports; counting ports names them', () => {
    const v = validateApp({ name: 'a', cpus: 1, mem: 32, command: 'x', ports: 2 }, ctx);
    assert.ok(v.ok);
    assert.equal(v.app.instances, 1);
    assert.deepEqual(v.app.ports, ['port0', 'port1']);
  });

  test('every problem is reported', () => {
    const v = validateApp({ name: '-x', instances: 1.5, cpus: 0, mem: 'lots', command: 'x', healthCheck: { type: 'TCP' }, readiness: 'healthy', strategy: 'random', env: { 'BAD-NAME': 'v' }, constraints: ['hostname:NEAR'] }, ctx);
    assert.ok(!v.ok);
    const text = v.issues.join('\n');
    for (const re of [/name "-x"/, /instances must be an integer/, /cpus must be > 0/, /mem must be a number/, /health check needs a port/, /strategy must be/, /"BAD-NAME" is not a valid name/, /constraint "hostname:NEAR"/]) {
      assert.match(text, re);
    }
    assert.ok(!validateApp([], ctx).ok);
    const star = validateApp({ name: 'a', cpus: 1, mem: 32, command: 'x', volume: { sizeMb: 1 } }, { frameworkRole: '*' });
    assert.ok(!star.ok && star.issues.some((i) => i.includes('role other than')));
    const placeholder = validateApp({ name: 'a', cpus: 1, mem: 32, command: 'x {{port:nope}}' }, ctx);
    assert.ok(!placeholder.ok && placeholder.issues.some((i) => i.includes('no port named "nope"')));
  });
});

describe('serial queue', () => {
  test('events are batched, jobs run alone in order, nothing interleaves', async () => {
    const seen: string[] = [];
    let active = 0;
    const q = new SerialQueue<number>({
      handleBatch: async (batch) => {
        assert.equal(active++, 0);
        seen.push(`batch:${batch.join(',')}`);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
      onError: () => assert.fail('no error expected'),
    });
    q.push(1);
    q.push(2);
    const job = q.run(() => {
      assert.equal(active++, 0);
      seen.push('job');
      active--;
      return Promise.resolve(42);
    });
    q.push(3);
    assert.equal(await job, 42);
    await q.idle();
    assert.deepEqual(seen, ['batch:1,2', 'job', 'batch:3']);
  });

  test('a failing batch goes to onError and the queue goes on; close cancels waiting jobs', async () => {
    const errors: unknown[] = [];
    let release: () => void = () => undefined;
    const q = new SerialQueue<number>({
      handleBatch: async (batch) => {
        if (batch.includes(1)) throw new Error('boom');
        await new Promise<void>((r) => (release = r));
      },
      onError: (e) => errors.push(e),
    });
    q.push(1);
    await q.idle();
    assert.equal(errors.length, 1);
    q.push(2);
    await new Promise((r) => setImmediate(r));
    const waiting = q.run(() => Promise.resolve('never'));
    const closing = q.close();
    release();
    await closing;
    await assert.rejects(waiting, QueueClosedError);
    await assert.rejects(q.run(() => Promise.resolve(1)), QueueClosedError);
  });
});

describe('serial queue: the pause after a slow batch', () => {
  /** Turns of the event loop (setImmediate is left real; the queue's pause timer is mocked and never fires). */
  const turns = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };

  /** Every batch counts as slow (minPauseMs 0): with setTimeout mocked, a pause lasts until the test ticks. */
  function pausingQueue(onBatch: (batch: string[], q: SerialQueue<string>) => void): { q: SerialQueue<string>; batches: string[][] } {
    const batches: string[][] = [];
    const q: SerialQueue<string> = new SerialQueue<string>({
      handleBatch: (batch) => {
        batches.push(batch);
        onBatch(batch, q);
        return Promise.resolve();
      },
      onError: () => assert.fail('no error expected'),
      minPauseMs: 0,
      maxPauseMs: 60_000,
      urgent: (e) => e.startsWith('status'),
    });
    return { q, batches };
  }

  test('an ordinary event waits the pause out; an urgent one ends it and is decided with what came before it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { q, batches } = pausingQueue((batch, queue) => {
      if (batch.includes('offers-1')) queue.push('offers-2');
    });
    q.push('offers-1');
    await turns(10);
    assert.deepEqual(batches, [['offers-1']], 'offers-2 waits behind the pause');
    q.push('tick');
    await turns(10);
    assert.deepEqual(batches, [['offers-1']], 'so does a tick');
    q.push('status-1');
    await q.idle();
    assert.deepEqual(batches, [['offers-1'], ['offers-2', 'tick', 'status-1']]);
  });

  test('an urgent event already queued when the batch ends skips the pause; without one, the pause ends on time', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { q, batches } = pausingQueue((batch, queue) => {
      if (batch.includes('offers-1')) queue.push('status-1');
      if (batch.includes('status-1')) queue.push('offers-2');
    });
    q.push('offers-1');
    await turns(10);
    assert.deepEqual(batches, [['offers-1'], ['status-1']], 'status-1 went without a pause; offers-2 waits');
    t.mock.timers.tick(60_000);
    await q.idle();
    assert.deepEqual(batches, [['offers-1'], ['status-1'], ['offers-2']]);
  });

  test('closing during a pause ends it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { q, batches } = pausingQueue((batch, queue) => {
      if (batch.includes('offers-1')) queue.push('offers-2');
    });
    q.push('offers-1');
    await turns(10);
    await q.close();
    assert.deepEqual(batches, [['offers-1']]);
  });
});

test('wake timer: the latest time replaces the previous one; undefined clears', async () => {
  let fired = 0;
  const t = new WakeTimer(() => fired++);
  t.set(Date.now() + 10_000);
  t.set(Date.now() + 5);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(fired, 1);
  t.set(Date.now() + 5);
  t.set(undefined);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(fired, 1);
  assert.equal(t.due, undefined);
});

test('timeline: pages by sequence, filters by unit, tells when entries were overwritten', () => {
  const tl = new Timeline(5);
  for (let i = 0; i < 8; i++) tl.add({ at: i, kind: 'launch', message: `m${i}`, unit: i % 2 === 0 ? 'even' : 'odd' });
  assert.equal(tl.lastSeq, 8);
  const all = tl.page({ after: 0, limit: 100 });
  assert.deepEqual(
    all.entries.map((e) => e.seq),
    [4, 5, 6, 7, 8],
  );
  assert.equal(all.truncated, true);
  assert.deepEqual(
    tl.page({ after: 5, limit: 2 }).entries.map((e) => e.seq),
    [6, 7],
  );
  assert.equal(tl.page({ after: 5 }).truncated, false);
  assert.deepEqual(
    tl.page({ unit: 'even' }).entries.map((e) => e.message),
    ['m4', 'm6'],
  );
});

describe('API configuration', () => {
  test('refuses to start without a token unless told to run open', () => {
    assert.throws(() => loadApiAuth({}, false), (e: unknown) => e instanceof KmfError && /KMF_API_TOKEN/.test(e.message) && /--insecure-no-auth/.test(e.message));
    assert.equal(loadApiAuth({}, true).insecureNoAuth, true);
    assert.throws(() => loadApiAuth({ KMF_API_TOKEN: 'short' }, false), /at least 16/);
    // A configured token wins over --insecure-no-auth.
    assert.equal(loadApiAuth({ KMF_API_TOKEN: 'a'.repeat(20) }, true).insecureNoAuth, false);
  });

  test('listen addresses', () => {
    assert.deepEqual(parseListenAddress('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.throws(() => parseListenAddress('8080'), /HOST:PORT/);
    assert.throws(() => parseListenAddress('h:70000'), /HOST:PORT/);
  });
});

test('metrics: counters, gauges and summaries in Prometheus text', () => {
  const m = new Metrics(10);
  m.describe('kmf_x_total', 'Xs');
  m.inc('kmf_x_total', { type: 'a' });
  m.inc('kmf_x_total', { type: 'a' }, 2);
  m.set('kmf_g', 5);
  for (let i = 1; i <= 20; i++) m.observe('kmf_s_seconds', i);
  assert.equal(m.counter('kmf_x_total', { type: 'a' }), 3);
  assert.equal(m.quantile('kmf_s_seconds', 0.5), 15, 'quantiles over the last 10 observations');
  const text = m.renderPrometheus();
  assert.match(text, /# HELP kmf_x_total Xs\n# TYPE kmf_x_total counter\nkmf_x_total\{type="a"\} 3/);
  assert.match(text, /kmf_g 5/);
  assert.match(text, /kmf_s_seconds\{quantile="0.99"\} 20/);
  assert.match(text, /kmf_s_seconds_count 20/);
});
