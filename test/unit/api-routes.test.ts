/**
 * Every route of the admin API against the real scheduler service (in-memory store, real core, Mesos
 * connection scripted): bad input of every kind is a 4xx with the error shape and a message naming the
 * problem, and changes nothing (the whole state tree is compared); unknown ids are 404; conflicting
 * operations are 409 unless forced; a standby redirects changes to the leader; the timeline pages and
 * filters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Call } from '../../src/mesos/types.js';
import { ADMIN, apiFixture, READER, type ApiFixture } from '../helpers/api-fixture.js';
import { offer, update } from '../helpers/fake-driver.js';

type Json = Record<string, unknown>;
interface ErrorBody {
  error: string;
  message: string;
  details?: { issues?: string[] } & Json;
}

let f: ApiFixture;
const H = { authorization: `Bearer ${ADMIN}` };

async function call(method: string, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const r = await f.app.inject({
    method: method as 'GET',
    url,
    headers: { ...H, ...headers },
    ...(payload === undefined ? {} : typeof payload === 'string' ? { payload } : { payload: payload as Json }),
  });
  let body: Json = {};
  try {
    body = r.json<Json>();
  } catch {
    body = { text: r.body };
  }
  return { status: r.statusCode, body, headers: r.headers };
}

function assertError(r: { status: number; body: Json }, status: number, code?: string | RegExp): ErrorBody {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const b = r.body as unknown as ErrorBody;
  assert.equal(typeof b.error, 'string');
  assert.equal(typeof b.message, 'string');
  assert.ok(b.message.length > 10, b.message);
  if (code instanceof RegExp) assert.match(b.error, code);
  else if (code !== undefined) assert.equal(b.error, code);
  return b;
}

interface Op {
  method: string;
  path: string;
  url: string;
  op: Json;
}

function ops(): Op[] {
  const out: Op[] = [];
  for (const [p, item] of Object.entries(f.openapi.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const url = p.replace('{name}', p.startsWith('/api/v1/plans') ? 'deploy' : 'web').replace('{index}', '0').replace('{id}', '3');
      out.push({ method: method.toUpperCase(), path: p, url, op });
    }
  }
  return out;
}

function bodySchema(op: Json): { required: string[]; properties: Json } | undefined {
  const rb = op['requestBody'] as { content: Record<string, { schema: { required?: string[]; properties?: Json } }> } | undefined;
  const s = rb?.content['application/json']?.schema;
  return s === undefined ? undefined : { required: s.required ?? [], properties: s.properties ?? {} };
}

async function waitForEvent(re: RegExp): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const entries = (await call('GET', '/api/v1/events?kind=operator&limit=1000')).body['entries'] as Array<{ message: string }>;
    if (entries.some((e) => re.test(e.message))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`no operator event matching ${re}`);
}

/** Launches what the core wants on one big offer and reports every launched task RUNNING. */
async function runEverything(): Promise<string[]> {
  const term = f.term();
  if (!term.isSubscribed) {
    f.driver.subscribe();
    await term.idle();
  }
  const before = f.driver.callsOf('ACCEPT').length;
  f.driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-1', { cpus: 32, mem: 65536, disk: 100000 }, 'fw-api-test')] } });
  await term.idle();
  const launched = f.driver
    .callsOf('ACCEPT')
    .slice(before)
    .flatMap((c: Call) => (c.accept?.operations ?? []).flatMap((o) => (o.type === 'LAUNCH' ? (o.launch?.task_infos ?? []).map((t) => t.task_id.value) : [])));
  for (const id of launched) f.driver.emit(update(id, 'agent-1', 'TASK_RUNNING'));
  await term.idle();
  return launched;
}

before(async () => {
  f = await apiFixture({ bodyLimit: 16 * 1024 });
  // Something to refer to: app "web" exists with 2 instances.
  const r = await call('POST', '/api/v1/apps', { name: 'web', instances: 2, cpus: 0.1, mem: 32, command: 'sleep 1000' });
  assert.equal(r.status, 201);
});

after(async () => {
  await f?.close();
});

describe('bad input on every route: 4xx, a message, nothing changed', () => {
  test('bodies of the wrong type, unknown fields, missing fields, not JSON, too large', async () => {
    const before = await f.snapshot();
    let withBody = 0;
    for (const o of ops().filter((x) => x.op['requestBody'] !== undefined)) {
      withBody++;
      const where = `${o.method} ${o.url}`;
      for (const wrong of [[], 'text', 42, null, true]) {
        const b = assertError(await call(o.method, o.url, JSON.stringify(wrong), { 'content-type': 'application/json' }), 400);
        assert.match(b.message, /body|required/, `${where} ${JSON.stringify(wrong)}`);
      }
      const unknown = assertError(await call(o.method, o.url, { zzzUnknownField: 1 }), 400);
      assert.ok(unknown.details?.issues?.some((i) => /unknown field "zzzUnknownField"/.test(i)), `${where}: ${JSON.stringify(unknown.details)}`);
      const schema = bodySchema(o.op);
      assert.ok(schema !== undefined);
      const missing = assertError(await call(o.method, o.url, {}), 400);
      for (const field of schema.required) assert.ok(missing.details?.issues?.some((i) => i.startsWith(`${field} `)), `${where}: ${field} missing not reported in ${JSON.stringify(missing.details)}`);
      // Every property given the wrong type is named.
      const wrongTypes: Json = {};
      for (const k of Object.keys(schema.properties)) wrongTypes[k] = { not: { this: true } };
      const typed = assertError(await call(o.method, o.url, wrongTypes), 400);
      for (const k of Object.keys(schema.properties)) assert.ok(typed.details?.issues?.some((i) => i.startsWith(k)), `${where}: wrong ${k} not reported`);
      assertError(await call(o.method, o.url, '{"unterminated": ', { 'content-type': 'application/json' }), 400, 'invalid_json');
      assertError(await call(o.method, o.url, '', { 'content-type': 'application/json' }), 400, 'invalid_json');
      assertError(await call(o.method, o.url, 'name=web', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      const big = assertError(await call(o.method, o.url, { command: 'x'.repeat(17 * 1024) }), 413, 'payload_too_large');
      assert.match(big.message, /16 KiB/);
      assertError(await call(o.method, o.url, '{"__proto__": {"x": 1}}', { 'content-type': 'application/json' }), 400);
    }
    assert.ok(withBody >= 4, `${withBody} operations with a body`);
    assert.equal(await f.snapshot(), before);
  });

  test('operations without a body refuse one; unknown query parameters are named', async () => {
    const before = await f.snapshot();
    for (const o of ops()) {
      if (o.op['requestBody'] === undefined && o.method !== 'GET') {
        const b = assertError(await call(o.method, o.url, { surprise: true }), 400);
        assert.match(b.message, /takes no request body/);
      }
      const q = assertError(await call(o.method, `${o.url}?bogusParam=1`, o.op['requestBody'] === undefined ? undefined : {}), 400);
      assert.ok(q.details?.issues?.some((i) => /unknown query parameter "bogusParam"/.test(i)), `${o.method} ${o.url}: ${JSON.stringify(q.details)}`);
    }
    assert.equal(await f.snapshot(), before);
  });

  test('unknown and malformed ids are 404 with the name in the message', async () => {
    const before = await f.snapshot();
    // Apps and plans (the Kafka resources answer from the cluster: test/integration/kafka-cluster.test.ts).
    for (const o of ops().filter((x) => x.path.includes('{') && /^\/api\/v1\/(apps|plans)\//.test(x.path))) {
      const payload = o.path.endsWith('/scale') ? { instances: 1 } : o.path.endsWith('/force-complete') ? { unit: 'app-web/0' } : o.method === 'PUT' ? { cpus: 1, mem: 1, command: 'x' } : undefined;
      const missingApp = o.url.replace('/apps/web', '/apps/no-such-app').replace('/plans/deploy', '/plans/no-such-plan');
      const b = assertError(await call(o.method, missingApp, payload), 404, 'not_found');
      assert.match(b.message, /no-such-(app|plan)/, `${o.method} ${missingApp}`);
      if (o.path.includes('/apps/')) assertError(await call(o.method, o.url.replace('/apps/web', '/apps/Not_A_Name'), payload), 404, 'not_found');
      const huge = o.url.replace(o.path.startsWith('/api/v1/plans') ? '/plans/deploy' : '/apps/web', o.path.startsWith('/api/v1/plans') ? `/plans/${'x'.repeat(1001)}` : `/apps/${'x'.repeat(1001)}`);
      assertError(await call(o.method, huge, payload), 404, 'not_found');
      assertError(await call(o.method, o.url.replace(/\/(web|deploy)/, '/%E0%A4%A'), payload), 400, 'bad_request');
      if (o.path.includes('{index}')) {
        assertError(await call(o.method, o.url.replace('/instances/0', '/instances/7'), payload), 404, 'not_found');
        assertError(await call(o.method, o.url.replace('/instances/0', '/instances/x'), payload), 404, 'not_found');
      }
    }
    assert.equal(await f.snapshot(), before);
  });

  test('app bodies: every problem at once, with a hint for a misspelt field', async () => {
    const before = await f.snapshot();
    const b = assertError(
      await call('POST', '/api/v1/apps', { name: 'Bad_Name', cpus: -1, command: '', ports: ['http', 'http'], cpu: 1, instances: 1.5, env: { 'not a name': 'x' }, readiness: 'soon' }),
      400,
      'invalid_app',
    );
    const issues = b.details?.issues ?? [];
    for (const re of [/^name "Bad_Name" must be lower-case/, /^cpus must be > 0$/, /^mem is required/, /^command is required/, /"http" is listed twice/, /unknown field "cpu" \(did you mean "cpus"\?\)/, /^instances must be/, /^env\.not a name is not a valid key/, /^readiness must be one of "running", "healthy"/]) {
      assert.ok(issues.some((i) => re.test(i)), `${re} in ${JSON.stringify(issues)}`);
    }
    // Rules JSON Schema cannot express are checked by the scheduler and answered the same way.
    const semantic = assertError(await call('POST', '/api/v1/apps', { name: 'vol', cpus: 0.1, mem: 32, command: 'true', role: '*', volume: { sizeMb: 10 } }), 400, 'invalid_app');
    assert.match(semantic.message, /role other than "\*"/);
    const mismatch = assertError(await call('PUT', '/api/v1/apps/web', { name: 'other', cpus: 0.1, mem: 32, command: 'true' }), 400, 'invalid_app');
    assert.match(mismatch.message, /URL names "web"/);
    assertError(await call('POST', '/api/v1/apps/web/scale', { instances: -1 }), 400, 'invalid_request');
    assertError(await call('POST', '/api/v1/apps/web/scale', { instances: 10_001 }), 400, 'invalid_request');
    assertError(await call('POST', '/api/v1/apps/web/scale', { instances: '3' }), 400, 'invalid_request');
    assertError(await call('POST', '/api/v1/plans/deploy/force-complete', { unit: '' }), 400);
    assert.equal(await f.snapshot(), before);
  });

  test('query values of the wrong form', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=x', 'limit=1.5', 'after=-1', 'kind=nope', 'since=yesterday', 'newest=maybe', 'limit=1&limit=2']) {
      const b = assertError(await call('GET', `/api/v1/events?${q}`), 400, 'invalid_request');
      assert.match(b.message, /query parameter "(limit|after|kind|since|newest)"/, q);
    }
    assertError(await call('PUT', '/api/v1/apps/web?force=perhaps', { cpus: 0.1, mem: 32, command: 'true' }), 400);
  });
});

describe('state-changing routes', () => {
  test('deploy twice is 409 app_exists; scale; rolling update conflicts are 409 unless forced', async () => {
    const again = assertError(await call('POST', '/api/v1/apps', { name: 'web', cpus: 0.1, mem: 32, command: 'sleep 1000' }), 409, 'app_exists');
    assert.match(again.message, /PUT \/api\/v1\/apps\/web/);
    const running = await runEverything();
    assert.equal(running.length, 2);
    const app = (await call('GET', '/api/v1/apps/web')).body['app'] as { status: string; instances: Array<{ taskId: string }> };
    assert.equal(app.status, 'running');

    // A spec change starts a roll: the first instance is being stopped and the answer of its KILL never comes.
    const upd = await call('PUT', '/api/v1/apps/web', { instances: 2, cpus: 0.1, mem: 48, command: 'sleep 1000' });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    await f.term().idle();
    const before = await f.snapshot();
    const busy = assertError(await call('PUT', '/api/v1/apps/web', { instances: 2, cpus: 0.1, mem: 64, command: 'sleep 1000' }), 409, 'conflict');
    assert.match(busy.message, /force=true/);
    assert.ok(Array.isArray(busy.details?.['steps']));
    assertError(await call('POST', '/api/v1/apps/web/restart'), 409, 'conflict');
    assert.equal(await f.snapshot(), before, 'a refused change writes nothing');
    const forced = await call('PUT', '/api/v1/apps/web?force=true', { instances: 2, cpus: 0.1, mem: 64, command: 'sleep 1000' });
    assert.equal(forced.status, 200);
    assert.equal((forced.body['app'] as { spec: { mem: number } }).spec.mem, 64);

    // Abort gives up the roll: the remaining steps complete (in the background) without restarting anything more.
    const kills = f.driver.callsOf('KILL').length;
    const aborted = await call('POST', '/api/v1/plans/update/abort');
    assert.equal(aborted.status, 202);
    const given = aborted.body['aborting'] as string[];
    assert.ok(given.length > 0 && given.every((u) => u.startsWith('app-web/')), JSON.stringify(given));
    await waitForEvent(/^abort of the update plan done: \d+ step\(s\) given up$/);
    const plan = (await call('GET', '/api/v1/plans/update')).body['plan'] as { status: string; paused: boolean };
    assert.equal(plan.status, 'COMPLETE');
    assert.equal(plan.paused, false, 'abort leaves the plan as it found it');
    assert.equal(f.driver.callsOf('KILL').length, kills, 'nothing more was restarted');
    const ev = (await call('GET', '/api/v1/events?kind=operator&who=admin&newest=true&limit=2')).body['entries'] as Array<{ message: string }>;
    assert.match(ev[0]?.message ?? '', /^aborting the update plan: giving up app-web\//);
    // Nothing left to give up: still an answer, and no background work.
    assert.equal((await call('POST', '/api/v1/plans/update/abort')).status, 202);
  });

  test('a second abort while one runs is 409', async () => {
    assert.equal((await call('POST', '/api/v1/apps', { name: 'many', instances: 300, cpus: 0.001, mem: 1, command: 'sleep 1000' })).status, 201);
    await f.term().idle();
    const first = await call('POST', '/api/v1/plans/deploy/abort');
    assert.equal(first.status, 202);
    assert.ok((first.body['aborting'] as string[]).length >= 300);
    const second = assertError(await call('POST', '/api/v1/plans/deploy/abort'), 409, 'conflict');
    assert.match(second.message, /still running/);
    await waitForEvent(/^abort of the deploy plan done/);
    assert.equal(((await call('GET', '/api/v1/plans/deploy')).body['plan'] as { status: string }).status, 'COMPLETE');
    assert.ok([202, 204].includes((await call('DELETE', '/api/v1/apps/many')).status));
  });

  test('removing: further changes are 409 app_removing', async () => {
    assert.equal((await call('POST', '/api/v1/apps', { name: 'gone', instances: 1, cpus: 0.1, mem: 32, command: 'sleep 1000' })).status, 201);
    await runEverything();
    const del = await call('DELETE', '/api/v1/apps/gone');
    assert.equal(del.status, 202);
    assertError(await call('POST', '/api/v1/apps/gone/scale', { instances: 3 }), 409, 'app_removing');
    assertError(await call('POST', '/api/v1/apps', { name: 'gone', cpus: 0.1, mem: 32, command: 'true' }), 409, 'app_removing');
    assert.equal((await call('DELETE', '/api/v1/apps/gone')).status, 202, 'removing twice is fine');
  });

  test('instance restart and replace; plan pause and resume', async () => {
    assert.equal((await call('POST', '/api/v1/apps/web/instances/1/restart')).status, 202);
    assert.equal((await call('POST', '/api/v1/apps/web/instances/1/replace')).status, 202);
    const paused = await call('POST', '/api/v1/plans/recovery/pause');
    assert.equal((paused.body['plan'] as { paused: boolean }).paused, true);
    assert.equal(((await call('GET', '/api/v1/status')).body['plans'] as Array<{ name: string; paused: boolean }>).find((p) => p.name === 'recovery')?.paused, true);
    const resumed = await call('POST', '/api/v1/plans/recovery/resume');
    assert.equal((resumed.body['plan'] as { paused: boolean }).paused, false);
  });
});

describe('timeline', () => {
  test('pages with after/next, filters by kind, unit, who and since, newest first page', async () => {
    const all = await call('GET', '/api/v1/events?limit=1000');
    const entries = all.body['entries'] as Array<{ seq: number; kind: string; unit?: string; at: number }>;
    assert.ok(entries.length > 10);
    const seqs = entries.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    // Paging by 3 sees every entry exactly once.
    const paged: number[] = [];
    let after = 0;
    for (let i = 0; i < 1000; i++) {
      const p = await call('GET', `/api/v1/events?after=${after}&limit=3`);
      const got = (p.body['entries'] as Array<{ seq: number }>).map((e) => e.seq);
      paged.push(...got);
      after = p.body['next'] as number;
      if (got.length < 3) break;
    }
    assert.deepEqual(paged.slice(0, seqs.length), seqs);
    const kinds = new Set(entries.map((e) => e.kind));
    assert.ok(kinds.has('launch') && kinds.has('operator') && kinds.has('leadership'), [...kinds].join(','));
    const launches = (await call('GET', '/api/v1/events?kind=launch,kill&limit=1000')).body['entries'] as Array<{ kind: string }>;
    assert.ok(launches.length > 0 && launches.every((e) => e.kind === 'launch' || e.kind === 'kill'));
    const unit = entries.find((e) => e.unit !== undefined)?.unit ?? '';
    const byUnit = (await call('GET', `/api/v1/events?unit=${encodeURIComponent(unit)}&limit=1000`)).body['entries'] as Array<{ unit: string }>;
    assert.ok(byUnit.length > 0 && byUnit.every((e) => e.unit === unit));
    const last = entries.at(-1);
    assert.ok(last !== undefined);
    const since = (await call('GET', `/api/v1/events?since=${new Date(last.at).toISOString()}&limit=1000`)).body['entries'] as Array<{ at: number }>;
    assert.ok(since.length >= 1 && since.every((e) => e.at >= last.at));
    const newest = (await call('GET', '/api/v1/events?newest=true&limit=2')).body['entries'] as Array<{ seq: number }>;
    assert.deepEqual(newest.map((e) => e.seq), seqs.slice(-2));
    // The first name of the operation answers the same.
    assert.deepEqual((await call('GET', '/api/v1/timeline?limit=1000')).body['entries'], (await call('GET', '/api/v1/events?limit=1000')).body['entries']);
  });

  test('declines with their reasons are on the timeline, once per change of reasons', async () => {
    assert.equal((await call('POST', '/api/v1/apps', { name: 'huge', cpus: 64, mem: 32, command: 'sleep 1000' })).status, 201);
    await f.term().idle();
    for (let i = 0; i < 3; i++) {
      f.driver.emit({ type: 'OFFERS', offers: { offers: [offer('agent-2', { cpus: 4, mem: 1024 }, 'fw-api-test')] } });
      await f.term().idle();
    }
    const declines = (await call('GET', '/api/v1/events?kind=decline&limit=1000')).body['entries'] as Array<{ message: string }>;
    const huge = declines.filter((d) => /app-huge\/0.*cpus: need 64/.test(d.message));
    assert.equal(huge.length, 1, JSON.stringify(declines));
  });
});

describe('a standby', () => {
  test('answers reads from ZooKeeper and redirects changes to the leader (307), changing nothing', async () => {
    const s = await apiFixture({ follower: true });
    try {
      const before = await s.snapshot();
      const st = await s.app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${READER}` } });
      assert.equal(st.statusCode, 200);
      assert.equal(st.json<{ source: string }>().source, 'zookeeper');
      assert.equal(st.headers['x-kmf-role'], 'follower');
      const w = await s.app.inject({ method: 'POST', url: '/api/v1/apps', headers: H, payload: { name: 'x', cpus: 0.1, mem: 32, command: 'true' } });
      assert.equal(w.statusCode, 307);
      assert.equal(w.headers['location'], 'http://leader.example:8080/api/v1/apps');
      assert.equal(w.json<ErrorBody>().error, 'not_leader');
      // Validation comes first: a bad request is a 400 wherever it is sent.
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/apps', headers: H, payload: { name: 1 } })).statusCode, 400);
      assert.equal((await s.app.inject({ url: '/ready' })).statusCode, 503);
      assert.equal(await s.snapshot(), before);
    } finally {
      await s.close();
    }
  });
});
