/**
 * /openapi.json: a valid OpenAPI 3.1 document (checked by an independent validator), describing exactly
 * the routes fastify serves (no more, no fewer), and describing them truthfully: real responses of the
 * real scheduler validate against the documented schema of their status code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ADMIN, apiFixture, READER, type ApiFixture } from '../helpers/api-fixture.js';

let f: ApiFixture;

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

type Json = Record<string, unknown>;

const auth = { authorization: `Bearer ${ADMIN}` };

describe('OpenAPI document', () => {
  test('is served at /openapi.json and passes an OpenAPI 3.1 validator', async () => {
    const r = await f.app.inject({ url: '/openapi.json', headers: { authorization: `Bearer ${READER}` } });
    assert.equal(r.statusCode, 200);
    const doc = r.json<Json>();
    assert.equal(doc['openapi'], '3.1.0');
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
    // The document served is the one that matches the routes: every route fastify registered under
    // /api/v1 is an operation of the served document, and every operation of it is registered.
    const servedOps = new Set<string>();
    for (const [p, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
      for (const method of Object.keys(item)) servedOps.add(`${method.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
    const registered = new Set(f.registered.map((x) => `${x.method} ${x.url}`));
    const underV1 = (ops: Set<string>): string[] => [...ops].filter((o) => o.split(' ')[1]?.startsWith('/api/v1/')).sort();
    assert.deepEqual(underV1(servedOps), underV1(registered), 'routes under /api/v1 and operations of /openapi.json differ');
    assert.deepEqual([...servedOps].sort(), [...registered].sort(), 'every route (probes and artifacts too) is documented');
    assert.ok(underV1(registered).length >= 30, `${underV1(registered).length} routes under /api/v1`);
    // A broken document is refused by the same validator (the check can fail).
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, Json>> };
    const listApps = broken.paths['/api/v1/apps']?.['get'];
    assert.ok(listApps !== undefined);
    listApps['parameters'] = [{ name: 'x', in: 'nowhere' }];
    assert.equal((await new Validator().validate(broken)).valid, false);
  });

  test('every route fastify serves is in the document, and every documented operation is served', () => {
    const served = new Set(f.registered.map((r) => `${r.method} ${r.url}`));
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(f.openapi.paths)) {
      for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
    assert.deepEqual([...served].sort(), [...documented].sort());
    assert.ok(documented.size >= 20, `${documented.size} operations`);
    for (const op of documented) {
      const [method, url] = op.split(' ') as [string, string];
      assert.ok(f.app.hasRoute({ method: method, url }), op);
    }
  });

  test('each operation: id, summary, access, path parameters declared, errors in the one shape', () => {
    for (const [p, item] of Object.entries(f.openapi.paths)) {
      const pathParams = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        const where = `${method} ${p}`;
        assert.equal(typeof op['operationId'], 'string', where);
        assert.equal(typeof op['summary'], 'string', where);
        assert.ok(['public', 'read', 'admin'].includes(String(op['x-kmf-access'])), where);
        const params = (op['parameters'] ?? []) as Array<{ name: string; in: string; required: boolean }>;
        assert.deepEqual(params.filter((x) => x.in === 'path').map((x) => x.name).sort(), [...pathParams].sort(), where);
        const responses = op['responses'] as Record<string, Json>;
        if (op['x-kmf-access'] !== 'public') assert.ok(responses['401'] !== undefined, `${where} documents 401`);
        if (op['x-kmf-access'] === 'admin') assert.ok(responses['403'] !== undefined, `${where} documents 403`);
        if (op['requestBody'] !== undefined) {
          assert.ok(responses['400'] && responses['413'] && responses['415'], `${where} documents 400/413/415`);
          const schema = (op['requestBody'] as { content: Record<string, { schema: Json }> }).content['application/json']?.schema;
          assert.equal(schema?.['additionalProperties'], false, `${where}: unknown body fields are refused`);
        }
        for (const [status, r] of Object.entries(responses)) {
          // /ready answers 503 with its own body: "not ready" is its answer, not an error.
          if (Number(status) >= 400 && p !== '/ready') assert.deepEqual((r['content'] as Record<string, { schema: Json }>)['application/json']?.schema, { $ref: '#/components/schemas/Error' }, `${where} ${status}`);
        }
      }
    }
  });

  test('real answers validate against the documented response schemas', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    // The document itself is the schema root that component references resolve against.
    const root = 'https://kmf.invalid/openapi.json';
    ajv.addSchema({ $id: root, components: f.openapi.components }, root);
    const resolve = (s: Json): Json => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', `"${root}#/components/`)) as Json;
    const check = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, docPath: string, payload?: unknown): Promise<number> => {
      const r = await f.app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as Json }) });
      const op = f.openapi.paths[docPath]?.[method.toLowerCase()] as { responses: Record<string, { content?: Record<string, { schema: Json }> }> } | undefined;
      assert.ok(op !== undefined, `${method} ${docPath} is documented`);
      const doc = op.responses[String(r.statusCode)];
      assert.ok(doc !== undefined, `${method} ${url} answered ${r.statusCode}, which is not documented`);
      const schema = doc.content?.['application/json']?.schema;
      if (schema !== undefined) {
        const validate = ajv.compile(resolve(schema));
        assert.ok(validate(r.json()), `${method} ${url} ${r.statusCode}: ${ajv.errorsText(validate.errors)}\n${r.body.slice(0, 500)}`);
      }
      return r.statusCode;
    };
    const app = { name: 'docs', instances: 2, cpus: 0.1, mem: 32, command: 'sleep 100', ports: ['http'], healthCheck: { type: 'TCP' } };
    assert.equal(await check('POST', '/api/v1/apps', '/api/v1/apps', app), 201);
    assert.equal(await check('POST', '/api/v1/apps', '/api/v1/apps', app), 409);
    assert.equal(await check('POST', '/api/v1/apps', '/api/v1/apps', { ...app, nme: 1 }), 400);
    assert.equal(await check('GET', '/api/v1/apps', '/api/v1/apps'), 200);
    assert.equal(await check('GET', '/api/v1/apps/docs', '/api/v1/apps/{name}'), 200);
    assert.equal(await check('GET', '/api/v1/apps/none', '/api/v1/apps/{name}'), 404);
    assert.equal(await check('POST', '/api/v1/apps/docs/scale', '/api/v1/apps/{name}/scale', { instances: 3 }), 200);
    assert.equal(await check('PUT', '/api/v1/apps/docs', '/api/v1/apps/{name}', { ...app, mem: 48 }), 200);
    assert.equal(await check('POST', '/api/v1/apps/docs/restart', '/api/v1/apps/{name}/restart'), 200);
    assert.equal(await check('POST', '/api/v1/apps/docs/instances/1/restart', '/api/v1/apps/{name}/instances/{index}/restart'), 202);
    assert.equal(await check('GET', '/api/v1/status', '/api/v1/status'), 200);
    assert.equal(await check('GET', '/api/v1/units', '/api/v1/units'), 200);
    assert.equal(await check('GET', '/api/v1/plans', '/api/v1/plans'), 200);
    assert.equal(await check('GET', '/api/v1/plans/deploy', '/api/v1/plans/{name}'), 200);
    assert.equal(await check('POST', '/api/v1/plans/deploy/pause', '/api/v1/plans/{name}/pause'), 200);
    assert.equal(await check('POST', '/api/v1/plans/deploy/resume', '/api/v1/plans/{name}/resume'), 200);
    assert.equal(await check('POST', '/api/v1/plans/deploy/force-complete', '/api/v1/plans/{name}/force-complete', { unit: 'app-docs/0' }), 200);
    assert.equal(await check('POST', '/api/v1/plans/update/abort', '/api/v1/plans/{name}/abort'), 202);
    assert.equal(await check('GET', '/api/v1/events?limit=5', '/api/v1/events'), 200);
    assert.equal(await check('GET', '/api/v1/timeline?limit=5', '/api/v1/timeline'), 200);
    assert.equal(await check('GET', '/ready', '/ready'), 503);
    assert.equal(await check('GET', '/health', '/health'), 200);
    // Nothing was ever launched (no Mesos subscription): the app goes at once (204), else 202.
    assert.ok([202, 204].includes(await check('DELETE', '/api/v1/apps/docs', '/api/v1/apps/{name}')));
  });
});
