/**
 * Coverage guards over the OpenAPI document, so that a route is tested the day it is added, not when
 * someone remembers to write its test:
 *
 *  - unknown ids: every operation with a path parameter, given a value that names nothing (with a valid
 *    body where it takes one, so that the id is the only problem), answers 404 in the error shape with a
 *    message naming it, and writes nothing;
 *  - authentication: an unknown token on every non-public operation is 401 `invalid_token`, a read-only
 *    token on every admin operation is 403 even with a valid body, and neither writes anything;
 *  - the operator's trail: every admin operation that succeeds puts one `operator` entry on the timeline
 *    with the name of the token that made the change;
 *  - and every one of those answers (2xx, 401, 403, 404) is documented for its operation and validates
 *    against the documented schema.
 *
 * Every operation with a body needs a valid sample body below, and every admin operation is either run by
 * the trail test or listed with the test that covers it against a live Kafka cluster: a new route fails
 * here, with what to add, until it is covered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { addBrokers, createClusterSpec } from '../../src/kafka/cluster-model.js';
import { ALICE, apiFixture, BOB, READER, type ApiFixture } from '../helpers/api-fixture.js';

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  operationId: string;
  access: string;
  hasBody: boolean;
}

/** A valid body for every operation that takes one (validation must pass so that the id is what fails). */
const SAMPLE_BODIES: Readonly<Record<string, Json>> = {
  forceCompleteStep: { unit: 'app-web/0' },
  deployApp: { name: 'cov', instances: 2, cpus: 0.1, mem: 32, command: 'sleep 1000' },
  updateApp: { cpus: 0.1, mem: 48, command: 'sleep 1000' },
  scaleApp: { instances: 3 },
  addBrokers: { count: 1 },
  updateBroker: { options: { 'num.io.threads': '16' } },
  restartBrokers: { rolling: true },
  patchClusterConfig: { set: { 'log.retention.hours': '72' } },
  putClusterConfig: { overrides: { 'log.retention.hours': '48' } },
  createTopic: { name: 'cov', partitions: 1, replicationFactor: 1 },
  addTopicPartitions: { partitions: 2 },
  updateTopicConfig: { configs: { 'retention.ms': '60000' } },
};

/**
 * Operations whose answer needs a live Kafka cluster (the unit fixture runs none): where they are tested
 * with unknown names and on the operator trail instead.
 */
const NEEDS_KAFKA: Readonly<Record<string, string>> = {
  addBrokers: 'test/integration/cli-kafka.test.ts (broker add; "added broker(s)" on the timeline)',
  removeBroker: 'test/integration/kafka-broker-ops.test.ts (drain by reassignment, then unregister)',
  createTopic: 'test/integration/cli-kafka.test.ts (create; exit 4 when it exists)',
  getTopic: 'test/integration/cli-kafka.test.ts (exit 3 for an unknown topic)',
  deleteTopic: 'test/integration/cli-kafka.test.ts',
  addTopicPartitions: 'test/integration/cli-kafka.test.ts (exit 3 for an unknown topic)',
  updateTopicConfig: 'test/integration/cli-kafka.test.ts',
};

let f: ApiFixture;

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(f.openapi.paths)) {
    for (const [method, op] of Object.entries(item)) {
      out.push({ method: method.toUpperCase(), path, operationId: String(op['operationId']), access: String(op['x-kmf-access']), hasBody: op['requestBody'] !== undefined });
    }
  }
  return out;
}

/** The value of path parameter `param` of `path` that names something existing (app web, plan deploy, broker 3, instance 0). */
function existingValue(path: string, param: string): string {
  switch (param) {
    case 'name':
      return path.startsWith('/api/v1/plans') ? 'deploy' : path.startsWith('/api/v1/topics') ? 'cov' : 'web';
    case 'id':
      return '3';
    case 'index':
      return '0';
    default:
      return `existing-${param}`;
  }
}

function unknownValue(param: string): string {
  return param === 'id' ? '77' : param === 'index' ? '7' : param === 'file' ? 'no-such-file.tgz' : `no-such-${param}-x`;
}

/** A URL of `path` whose parameters name things that exist, except `unknown`, which names nothing. */
function urlOf(path: string, unknown?: string): string {
  return path.replace(/\{([^}]+)\}/g, (_m, p: string) => (p === unknown ? unknownValue(p) : existingValue(path, p)));
}

function existing(path: string): string {
  return urlOf(path);
}

/** URLs of `path` where one parameter names nothing, each with the value that should appear in the message. */
function unknowns(path: string): Array<{ url: string; value: string }> {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '').map((p) => ({ url: urlOf(path, p), value: unknownValue(p) }));
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
const ROOT_ID = 'https://kmf.invalid/openapi.json';
const validators = new Map<string, ValidateFunction | null>();

/** The answer is documented for the operation, and its body validates against the documented schema. */
function conforms(o: Operation, r: { status: number; body: Json }): void {
  const key = `${o.operationId} ${r.status}`;
  let validate = validators.get(key);
  if (validate === undefined) {
    const op = f.openapi.paths[o.path]?.[o.method.toLowerCase()] as { responses: Record<string, { content?: Record<string, { schema: Json }> }> } | undefined;
    const doc = op?.responses[String(r.status)];
    assert.ok(doc !== undefined, `${o.operationId} answered ${r.status}, which its document does not list`);
    const schema = doc.content?.['application/json']?.schema;
    // References resolve against the document's components (registered under ROOT_ID).
    validate = schema === undefined ? null : ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${ROOT_ID}#/components/`)) as Json);
    validators.set(key, validate);
  }
  if (validate !== null) assert.ok(validate(r.body), `${o.operationId} ${r.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(r.body).slice(0, 400)}`);
}

function op(operationId: string): Operation {
  const o = operations().find((x) => x.operationId === operationId);
  assert.ok(o !== undefined, `no operation ${operationId}`);
  return o;
}

async function call(method: string, url: string, token: string, payload?: Json): Promise<{ status: number; body: Json; headers: Record<string, unknown> }> {
  const r = await f.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload }) });
  return { status: r.statusCode, body: r.body === '' ? {} : (JSON.parse(r.body.startsWith('{') ? r.body : '{}') as Json), headers: r.headers };
}

before(async () => {
  f = await apiFixture();
  ajv.addSchema({ $id: ROOT_ID, components: f.openapi.components }, ROOT_ID);
  // Things to name: app web (2 instances) and a Kafka cluster of 3 combined nodes (0-2) and broker 3,
  // written as `POST /api/v1/brokers` would (no Kafka processes: the fixture runs none).
  const app = await call('POST', '/api/v1/apps', ALICE, { name: 'web', instances: 2, cpus: 0.1, mem: 32, command: 'sleep 1000' });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  await f.term().mutateDesired(async (store) => {
    const now = new Date().toISOString();
    await store.putKafka({ spec: addBrokers(createClusterSpec({ version: '4.4.0', brokers: 3 }), 1).spec, quorumFormed: true, createdAt: now, updatedAt: now });
  });
});

after(async () => {
  await f?.close();
});

describe('every operation is covered', () => {
  test('every operation with a body has a valid sample body, and only those', () => {
    const withBody = operations().filter((o) => o.hasBody).map((o) => o.operationId).sort();
    const missing = withBody.filter((id) => SAMPLE_BODIES[id] === undefined);
    assert.deepEqual(missing, [], `add a valid sample body to SAMPLE_BODIES for: ${missing.join(', ')}`);
    assert.deepEqual(Object.keys(SAMPLE_BODIES).sort(), withBody, 'SAMPLE_BODIES names an operation that takes no body (or no longer exists)');
    for (const id of Object.keys(NEEDS_KAFKA)) assert.ok(operations().some((o) => o.operationId === id), `NEEDS_KAFKA names ${id}, which does not exist`);
  });

  test('the sample bodies pass validation (whatever the operation then answers, it is not a 400)', async () => {
    const before = await f.snapshot();
    for (const o of operations().filter((x) => x.hasBody && NEEDS_KAFKA[x.operationId] !== undefined)) {
      const r = await call(o.method, existing(o.path), ALICE, SAMPLE_BODIES[o.operationId]);
      assert.notEqual(r.status, 400, `${o.operationId}: ${JSON.stringify(r.body)}`);
      assert.ok(r.status < 500 || r.body['error'] === 'kafka_unavailable', `${o.operationId}: ${r.status} ${JSON.stringify(r.body)}`);
      conforms(o, r);
    }
    assert.equal(await f.snapshot(), before);
  });
});

describe('query flags', () => {
  test('force and newest are documented as exactly the words accepted; others are refused', async () => {
    const words = ['true', '1', 'yes', 'on', 'false', '0', 'no', 'off'];
    let flags = 0;
    for (const [path, item] of Object.entries(f.openapi.paths)) {
      for (const [method, o] of Object.entries(item)) {
        for (const p of (o['parameters'] ?? []) as Array<{ name: string; in: string; schema: Json }>) {
          if (p.in !== 'query' || !['force', 'newest'].includes(p.name)) continue;
          flags++;
          assert.deepEqual([...(p.schema['enum'] as string[])].sort(), [...words].sort(), `${method} ${path} ${p.name}`);
        }
      }
    }
    assert.ok(flags >= 8, `${flags} flags`);
    for (const w of words) assert.equal((await call('GET', `/api/v1/events?newest=${w}&limit=1`, READER)).status, 200, w);
    const before = await f.snapshot();
    for (const w of ['maybe', 'TRUE', '']) {
      const r = await call('POST', `/api/v1/brokers/3/restart?force=${w}`, ALICE);
      assert.equal(r.status, 400, `force=${w}: ${JSON.stringify(r.body)}`);
      assert.match(String(r.body['message']), /query parameter "force" must be one of .*"true".*"false"/);
    }
    assert.equal(await f.snapshot(), before);
  });
});

describe('unknown ids', () => {
  test('every operation with a path parameter: 404 naming what does not exist, nothing written', async () => {
    const before = await f.snapshot();
    let checked = 0;
    for (const o of operations().filter((x) => x.path.includes('{'))) {
      // Topics are looked up in Kafka itself; the fixture runs none (see NEEDS_KAFKA).
      if (o.path.startsWith('/api/v1/topics/')) {
        assert.ok(NEEDS_KAFKA[o.operationId] !== undefined, `${o.operationId} is a topic operation: list it in NEEDS_KAFKA`);
        continue;
      }
      for (const { url, value } of unknowns(o.path)) {
        const r = await call(o.method, url, ALICE, o.hasBody ? SAMPLE_BODIES[o.operationId] : undefined);
        const where = `${o.method} ${url}`;
        assert.equal(r.status, 404, `${where}: ${JSON.stringify(r.body)}`);
        assert.match(String(r.body['error']), /not_found$/, where);
        assert.ok(String(r.body['message']).includes(value), `${where}: the message names ${value}: ${String(r.body['message'])}`);
        conforms(o, r);
        checked++;
      }
    }
    assert.ok(checked >= 18, `${checked} unknown ids checked`);
    assert.equal(await f.snapshot(), before);
  });
});

describe('ids named in a body', () => {
  test('force-complete of a unit the plan has no step for: 404 naming it, nothing written, nothing on the timeline', async () => {
    const before = await f.snapshot();
    const operatorEntries = f.timeline.page({ kinds: ['operator'], limit: 1000 }).entries.length;
    for (const plan of ['deploy', 'recovery', 'update']) {
      const r = await call('POST', `/api/v1/plans/${plan}/force-complete`, ALICE, { unit: 'app-nope/0' });
      assert.equal(r.status, 404, JSON.stringify(r.body));
      assert.equal(r.body['error'], 'not_found');
      assert.match(String(r.body['message']), new RegExp(`^the ${plan} plan has no step for unit "app-nope/0"`));
      conforms(op('forceCompleteStep'), r);
    }
    assert.equal(await f.snapshot(), before);
    assert.equal(f.timeline.page({ kinds: ['operator'], limit: 1000 }).entries.length, operatorEntries);
  });
});

describe('authentication on every operation', () => {
  test('an unknown token is 401 invalid_token; a read-only token on a change is 403, even with a valid body', async () => {
    const before = await f.snapshot();
    for (const o of operations().filter((x) => x.access !== 'public')) {
      const payload = o.hasBody ? SAMPLE_BODIES[o.operationId] : undefined;
      const where = `${o.method} ${o.path}`;
      const wrong = await call(o.method, existing(o.path), 'wrong-token-0123456789abcdef', payload);
      assert.equal(wrong.status, 401, where);
      assert.equal(wrong.body['error'], 'unauthorized', where);
      assert.match(String(wrong.body['message']), /not valid for this scheduler/, where);
      assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/, where);
      conforms(o, wrong);
      if (o.access !== 'admin') continue;
      for (const token of [READER, BOB]) {
        const r = await call(o.method, existing(o.path), token, payload);
        assert.equal(r.status, 403, where);
        assert.equal(r.body['error'], 'forbidden', where);
        assert.match(String(r.body['message']), /read-only.*needs an admin token/, where);
        conforms(o, r);
      }
    }
    assert.equal(await f.snapshot(), before);
  });
});

describe('a standby', () => {
  test('never accepts a change: 307 to the leader (or 404/503 where it cannot even name the target), nothing written or recorded', async () => {
    const standby = await apiFixture({ follower: true });
    try {
      const before = await standby.snapshot();
      let redirected = 0;
      for (const o of operations().filter((x) => x.access === 'admin')) {
        const r = await standby.app.inject({
          method: o.method as 'POST',
          url: existing(o.path),
          headers: { authorization: `Bearer ${ALICE}` },
          ...(o.hasBody ? { payload: SAMPLE_BODIES[o.operationId] } : {}),
        });
        assert.ok([307, 404, 503].includes(r.statusCode), `${o.operationId} on a standby: ${r.statusCode} ${r.body}`);
        if (r.statusCode === 307) {
          redirected++;
          assert.equal(r.headers['location'], `http://leader.example:8080${existing(o.path)}`, o.operationId);
        }
      }
      assert.ok(redirected >= 15, `${redirected} operations redirected`);
      // An abort with nothing to give up changes nothing, and is still the leader's to answer.
      const abort = await standby.app.inject({ method: 'POST', url: '/api/v1/plans/update/abort', headers: { authorization: `Bearer ${ALICE}` } });
      assert.equal(abort.statusCode, 307, abort.body);
      assert.equal(await standby.snapshot(), before);
      assert.deepEqual(standby.timeline.page({ kinds: ['operator'] }).entries, []);
    } finally {
      await standby.close();
    }
  });
});

describe('the operator trail', () => {
  /** Successful changes, in an order in which each one succeeds (each one must change something). */
  const SCRIPT: ReadonlyArray<{ operationId: string; method: string; url: string; status: number[] }> = [
    { operationId: 'deployApp', method: 'POST', url: '/api/v1/apps', status: [201] },
    { operationId: 'scaleApp', method: 'POST', url: '/api/v1/apps/cov/scale', status: [200] },
    { operationId: 'updateApp', method: 'PUT', url: '/api/v1/apps/cov', status: [200] },
    { operationId: 'restartApp', method: 'POST', url: '/api/v1/apps/cov/restart?force=true', status: [200] },
    { operationId: 'restartAppInstance', method: 'POST', url: '/api/v1/apps/cov/instances/0/restart', status: [202] },
    { operationId: 'replaceAppInstance', method: 'POST', url: '/api/v1/apps/cov/instances/0/replace', status: [202] },
    { operationId: 'pausePlan', method: 'POST', url: '/api/v1/plans/deploy/pause', status: [200] },
    { operationId: 'resumePlan', method: 'POST', url: '/api/v1/plans/deploy/resume', status: [200] },
    { operationId: 'forceCompleteStep', method: 'POST', url: '/api/v1/plans/deploy/force-complete', status: [200] },
    { operationId: 'abortPlan', method: 'POST', url: '/api/v1/plans/deploy/abort', status: [202] },
    { operationId: 'removeApp', method: 'DELETE', url: '/api/v1/apps/cov', status: [202, 204] },
    { operationId: 'updateBroker', method: 'PATCH', url: '/api/v1/brokers/3', status: [200] },
    { operationId: 'stopBroker', method: 'POST', url: '/api/v1/brokers/0/stop', status: [202] },
    { operationId: 'startBroker', method: 'POST', url: '/api/v1/brokers/0/start', status: [202] },
    { operationId: 'restartBroker', method: 'POST', url: '/api/v1/brokers/2/restart', status: [202] },
    { operationId: 'restartBrokers', method: 'POST', url: '/api/v1/brokers/restart?force=true', status: [202] },
    { operationId: 'replaceBroker', method: 'POST', url: '/api/v1/brokers/3/replace?force=true', status: [202] },
    { operationId: 'patchClusterConfig', method: 'PATCH', url: '/api/v1/cluster/config?force=true', status: [200] },
    { operationId: 'putClusterConfig', method: 'PUT', url: '/api/v1/cluster/config?force=true', status: [200] },
  ];

  test('every admin operation is in the script or covered against a live Kafka cluster', () => {
    const admin = operations().filter((o) => o.access === 'admin').map((o) => o.operationId);
    const covered = new Set([...SCRIPT.map((s) => s.operationId), ...Object.keys(NEEDS_KAFKA)]);
    const missing = admin.filter((id) => !covered.has(id));
    assert.deepEqual(missing, [], `add to SCRIPT (or NEEDS_KAFKA, with where it is tested): ${missing.join(', ')}`);
    for (const s of SCRIPT) {
      const o = operations().find((x) => x.operationId === s.operationId);
      assert.ok(o !== undefined && o.method === s.method && o.access === 'admin', `${s.operationId} is an admin ${s.method} operation`);
    }
  });

  test('each successful change answers as documented and puts one operator entry with who made it on the timeline', async () => {
    for (const s of SCRIPT) {
      const o = operations().find((x) => x.operationId === s.operationId);
      assert.ok(o !== undefined, s.operationId);
      const lastSeq = f.timeline.lastSeq;
      const r = await call(s.method, s.url, ALICE, o.hasBody ? SAMPLE_BODIES[s.operationId] : undefined);
      assert.ok(s.status.includes(r.status), `${s.operationId} ${s.url}: ${r.status} ${JSON.stringify(r.body)}`);
      conforms(o, r);
      const page = await call('GET', `/api/v1/events?kind=operator&after=${lastSeq}&limit=1000`, BOB);
      const entries = page.body['entries'] as Array<{ who?: string; message: string; kind: string; at: number }>;
      assert.equal(entries.length, 1, `${s.operationId}: ${JSON.stringify(entries)}`);
      const e = entries[0];
      assert.equal(e?.who, 'alice', s.operationId);
      assert.ok((e?.message.length ?? 0) > 10, `${s.operationId}: ${e?.message}`);
      // Background work of an abort reports its end as a second entry, also with who asked.
      if (s.operationId === 'abortPlan') {
        for (let i = 0; i < 500 && f.timeline.page({ kinds: ['operator'], after: lastSeq }).entries.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
        const done = f.timeline.page({ kinds: ['operator'], after: lastSeq }).entries[1];
        assert.equal(done?.who, 'alice');
        assert.match(done?.message ?? '', /^abort of the deploy plan (done|stopped)/);
      }
    }
    const byAlice = (await call('GET', '/api/v1/events?who=alice&limit=1000', BOB)).body['entries'] as Array<{ kind: string }>;
    assert.ok(byAlice.length >= SCRIPT.length && byAlice.every((e) => e.kind === 'operator'));
  });
});
