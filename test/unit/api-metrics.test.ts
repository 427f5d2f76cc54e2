/**
 * GET /metrics: well-formed Prometheus text, and the figures operators alert on move with what the
 * scheduler does: offers received / declined / used, launch latency (a histogram), tasks by state, plan
 * progress, the Mesos connection state, ZooKeeper write latency, reconciliation time, API requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Call } from '../../src/mesos/types.js';
import { ADMIN, apiFixture, type ApiFixture } from '../helpers/api-fixture.js';
import { offer, update } from '../helpers/fake-driver.js';

let f: ApiFixture;

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the exposition format strictly: one TYPE per family, before its samples; every line well-formed. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seenFamilies = new Set<string>();
  let current = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      assert.ok(!types.has(name), `two TYPE lines for ${name}`);
      types.set(name, kind);
      current = name;
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    assert.ok(!line.startsWith('#'), `unexpected comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `malformed sample line: ${line}`);
    const name = m[1] ?? '';
    const family = types.get(name) !== undefined ? name : name.replace(/_(bucket|sum|count|total)$/, '');
    assert.ok(family === current || name.startsWith(current), `sample ${name} outside its family (${current})`);
    if (family !== current) assert.ok(!seenFamilies.has(family));
    seenFamilies.add(current);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    samples.push({ name, labels, value: Number(m[4]) });
  }
  return { samples, types };
}

async function scrape(): Promise<{ samples: Sample[]; types: Map<string, string>; value: (name: string, labels?: Record<string, string>) => number | undefined }> {
  const r = await f.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const parsed = parse(r.body);
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { ...parsed, value };
}

describe('/metrics', () => {
  test('before anything happens: counters at zero, not subscribed, plans complete', async () => {
    const m = await scrape();
    for (const c of ['kmf_offers_received_total', 'kmf_offers_declined_total', 'kmf_offers_used_total']) {
      assert.equal(m.types.get(c), 'counter');
      assert.equal(m.value(c), 0, c);
    }
    assert.equal(m.value('kmf_mesos_connection_state', { state: 'subscribing' }), 1);
    assert.equal(m.value('kmf_mesos_connection_state', { state: 'subscribed' }), 0);
    assert.equal(m.value('kmf_plan_progress_ratio', { plan: 'deploy' }), 1);
    assert.equal(m.value('kmf_leader'), 1);
  });

  test('a deployment moves offers, launch latency, tasks by state, plan progress and ZooKeeper latency', async () => {
    const term = f.term();
    const created = await f.app.inject({
      method: 'POST',
      url: '/api/v1/apps',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'm', instances: 2, cpus: 1, mem: 64, command: 'sleep 1000' },
    });
    assert.equal(created.statusCode, 201);
    f.driver.subscribe();
    await term.idle();
    const pending = await scrape();
    assert.equal(pending.value('kmf_plan_progress_ratio', { plan: 'deploy' }), 0);
    assert.equal(pending.value('kmf_plan_steps', { plan: 'deploy', status: 'PENDING' }), 2);
    assert.equal(pending.value('kmf_mesos_connection_state', { state: 'subscribed' }), 1);

    // One offer that fits both instances, one that is too small for anything.
    f.driver.emit({ type: 'OFFERS', offers: { offers: [offer('a1', { cpus: 4, mem: 1024 }, 'fw-api-test'), offer('a2', { cpus: 0.1, mem: 16 }, 'fw-api-test')] } });
    await term.idle();
    const launched = f.driver
      .callsOf('ACCEPT')
      .flatMap((c: Call) => (c.accept?.operations ?? []).flatMap((o) => (o.type === 'LAUNCH' ? (o.launch?.task_infos ?? []).map((t) => t.task_id.value) : [])));
    assert.equal(launched.length, 2);
    const staging = await scrape();
    assert.equal(staging.value('kmf_offers_received_total'), 2);
    assert.equal(staging.value('kmf_offers_used_total'), 1);
    assert.equal(staging.value('kmf_offers_declined_total'), 1);
    assert.equal(staging.value('kmf_tasks', { state: 'TASK_STAGING' }), 2);

    for (const id of launched) f.driver.emit(update(id, 'a1', 'TASK_RUNNING'));
    await term.idle();
    const running = await scrape();
    assert.equal(running.types.get('kmf_task_launch_seconds'), 'histogram');
    assert.equal(running.value('kmf_task_launch_seconds_count'), 2);
    assert.equal(running.value('kmf_task_launch_seconds_bucket', { le: '+Inf' }), 2);
    assert.equal(running.value('kmf_tasks', { state: 'TASK_RUNNING' }), 2);
    assert.equal(running.value('kmf_units_by_state', { state: 'running', kind: 'app' }), 2);
    assert.equal(running.value('kmf_plan_progress_ratio', { plan: 'deploy' }), 1);
    assert.equal(running.types.get('kmf_state_write_seconds'), 'histogram');
    assert.ok((running.value('kmf_state_write_seconds_count') ?? 0) > 0, 'ZooKeeper writes were timed');
    assert.ok((running.value('kmf_api_requests_total', { method: 'POST', route: '/api/v1/apps', status: '201' }) ?? 0) >= 1);
  });

  test('a reconciliation round is timed from its first explicit RECONCILE to the implicit one', async () => {
    const term = f.term();
    const before = (await scrape()).value('kmf_reconciliation_seconds_count') ?? 0;
    // A new subscription starts a round: every live task is reconciled explicitly.
    f.driver.disconnect();
    await term.idle();
    f.driver.subscribe();
    await term.idle();
    const explicit = f.driver.callsOf('RECONCILE').at(-1);
    const asked = (explicit?.reconcile?.tasks ?? []).map((t) => t.task_id.value);
    assert.ok(asked.length === 2, `explicit reconcile of ${asked.length} task(s)`);
    for (const id of asked) f.driver.emit({ type: 'UPDATE', update: { status: { task_id: { value: id }, agent_id: { value: 'a1' }, state: 'TASK_RUNNING', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION' } } });
    await term.idle();
    f.driver.emit({ type: 'HEARTBEAT' });
    await term.idle();
    // The round ends at the next decision once every task answered.
    await f.app.inject({ method: 'POST', url: '/api/v1/plans/deploy/pause', headers: { authorization: `Bearer ${ADMIN}` } });
    await f.app.inject({ method: 'POST', url: '/api/v1/plans/deploy/resume', headers: { authorization: `Bearer ${ADMIN}` } });
    const after = await scrape();
    assert.equal(after.value('kmf_reconciliation_seconds_count'), before + 1);
  });
});
