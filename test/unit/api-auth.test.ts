/**
 * Admin API authentication over every route of the document: no token, a malformed header, an unknown
 * token → 401 with WWW-Authenticate; a read-only token on a change → 403; probes need none; the caller's
 * name goes on the timeline; nothing is written by a refused request. Token loading: env, files, the
 * tokens file, and the mistakes it refuses.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authenticate, loadApiAuth, parseTokensFile, TokenTable } from '../../src/api/auth.js';
import { KmfError } from '../../src/util/errors.js';
import { ADMIN, ALICE, apiFixture, BOB, READER, type ApiFixture } from '../helpers/api-fixture.js';

let f: ApiFixture;

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

/** A concrete URL for an operation path: existing-looking values for its parameters. */
function concrete(p: string): string {
  return p.replace('{name}', p.startsWith('/api/v1/plans') ? 'deploy' : 'web').replace('{index}', '0').replace('{id}', '3');
}

function operations(): Array<{ method: string; url: string; access: string; operationId: string }> {
  const out: Array<{ method: string; url: string; access: string; operationId: string }> = [];
  for (const [p, item] of Object.entries(f.openapi.paths)) {
    for (const [method, op] of Object.entries(item)) {
      out.push({ method: method.toUpperCase(), url: concrete(p), access: String(op['x-kmf-access']), operationId: String(op['operationId']) });
    }
  }
  return out;
}

describe('admin API auth matrix', () => {
  test('every non-public operation answers 401 without a token, with WWW-Authenticate and a message', async () => {
    const before = await f.snapshot();
    let checked = 0;
    for (const op of operations()) {
      const r = await f.app.inject({ method: op.method as 'GET', url: op.url, ...(op.method === 'GET' ? {} : { payload: { anything: 1 } }) });
      if (op.access === 'public') {
        assert.notEqual(r.statusCode, 401, `${op.operationId} is public`);
        continue;
      }
      checked++;
      assert.equal(r.statusCode, 401, `${op.method} ${op.url}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="kmf"');
      const body = r.json<{ error: string; message: string }>();
      assert.equal(body.error, 'unauthorized');
      assert.match(body.message, /Authorization: Bearer/);
    }
    assert.ok(checked >= 15, `only ${checked} operations checked`);
    assert.equal(await f.snapshot(), before);
  });

  test('an unknown token or a malformed header is 401 (invalid_token), never 403 or 400', async () => {
    for (const authorization of ['Bearer not-a-known-token-at-all', 'Basic YWRtaW46YWRtaW4=', `Bearer ${ADMIN} extra`, 'Bearer', `bearer ${ADMIN.slice(0, -1)}`]) {
      const r = await f.app.inject({ method: 'POST', url: '/api/v1/apps', headers: { authorization }, payload: { name: 'x' } });
      assert.equal(r.statusCode, 401, authorization);
      assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
      assert.match(r.json<{ message: string }>().message, /token|Authorization/);
    }
  });

  test('read-only tokens read everything and change nothing (403 naming the token)', async () => {
    const before = await f.snapshot();
    for (const [token, name] of [
      [READER, 'read-only'],
      [BOB, 'bob'],
    ] as const) {
      for (const op of operations()) {
        const r = await f.app.inject({ method: op.method as 'GET', url: op.url, headers: { authorization: `Bearer ${token}` }, ...(op.method === 'GET' ? {} : { payload: {} }) });
        if (op.access === 'admin') {
          assert.equal(r.statusCode, 403, `${op.method} ${op.url}`);
          const body = r.json<{ error: string; message: string; details: { caller: string } }>();
          assert.equal(body.error, 'forbidden');
          assert.match(body.message, /read-only/);
          assert.equal(body.details.caller, name);
        } else {
          assert.ok(r.statusCode !== 401 && r.statusCode !== 403, `${op.method} ${op.url} → ${r.statusCode}`);
        }
      }
    }
    assert.equal(await f.snapshot(), before);
  });

  test('probes need no token; unknown routes need one (a stranger learns nothing)', async () => {
    assert.equal((await f.app.inject({ url: '/health' })).statusCode, 200);
    const ready = await f.app.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 503, 'leading but not subscribed to Mesos');
    assert.match(ready.json<{ reason: string }>().reason, /not subscribed/);
    assert.equal((await f.app.inject({ url: '/api/v1/secret-place' })).statusCode, 401);
    const known = await f.app.inject({ url: '/api/v1/secret-place', headers: { authorization: `Bearer ${READER}` } });
    assert.equal(known.statusCode, 404);
    assert.match(known.json<{ message: string }>().message, /openapi\.json/);
  });

  test('changes are recorded on the timeline with the name of the token that made them', async () => {
    const deploy = await f.app.inject({
      method: 'POST',
      url: '/api/v1/apps',
      headers: { authorization: `Bearer ${ALICE}` },
      payload: { name: 'audited', cpus: 0.1, mem: 32, command: 'sleep 100' },
    });
    assert.equal(deploy.statusCode, 201);
    const pause = await f.app.inject({ method: 'POST', url: '/api/v1/plans/deploy/pause', headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(pause.statusCode, 200);
    const page = await f.app.inject({ url: '/api/v1/events?kind=operator', headers: { authorization: `Bearer ${BOB}` } });
    const entries = page.json<{ entries: Array<{ who: string; message: string; kind: string }> }>().entries;
    assert.deepEqual(
      entries.map((e) => [e.kind, e.who, e.message.split(':')[0]]),
      [
        ['operator', 'alice', 'deployed app audited'],
        ['operator', 'admin', 'paused the deploy plan'],
      ],
    );
    const byAlice = await f.app.inject({ url: '/api/v1/events?who=alice', headers: { authorization: `Bearer ${BOB}` } });
    assert.equal(byAlice.json<{ entries: unknown[] }>().entries.length, 1);
    // A refused attempt is not a change: it is logged, not put on the timeline.
    const refused = await f.app.inject({ method: 'POST', url: '/api/v1/plans/deploy/resume', headers: { authorization: `Bearer ${BOB}` } });
    assert.equal(refused.statusCode, 403);
    const again = await f.app.inject({ url: '/api/v1/events?kind=operator', headers: { authorization: `Bearer ${BOB}` } });
    assert.equal(again.json<{ entries: unknown[] }>().entries.length, 2);
    await f.app.inject({ method: 'POST', url: '/api/v1/plans/deploy/resume', headers: { authorization: `Bearer ${ADMIN}` } });
  });

  test('--insecure-no-auth: every request is an admin named anonymous', async () => {
    const open = await apiFixture({ auth: { adminToken: undefined, readToken: undefined, tokens: [], insecureNoAuth: true } });
    try {
      const r = await open.app.inject({ method: 'POST', url: '/api/v1/plans/update/pause' });
      assert.equal(r.statusCode, 200);
      const ev = await open.app.inject({ url: '/api/v1/events?kind=operator' });
      assert.equal(ev.json<{ entries: Array<{ who: string }> }>().entries[0]?.who, 'anonymous');
    } finally {
      await open.close();
    }
  });
});

describe('loading tokens', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-auth-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  test('environment, *_FILE variables and the tokens file', () => {
    const cfg = loadApiAuth(
      {
        KMF_API_TOKEN_FILE: file('admin', '\n  admin-token-from-file-000\n'),
        KMF_API_READ_TOKEN: 'read-token-from-env-0000',
        KMF_API_TOKENS_FILE: file('tokens', '# role name token\nadmin carol carol-token-0000000000\nread  dave  dave-token-00000000000 # ci\n\n'),
      },
      false,
    );
    const table = new TokenTable(cfg);
    assert.deepEqual(table.lookup('admin-token-from-file-000'), { name: 'admin', role: 'admin' });
    assert.deepEqual(table.lookup('read-token-from-env-0000'), { name: 'read-only', role: 'read' });
    assert.deepEqual(table.lookup('carol-token-0000000000'), { name: 'carol', role: 'admin' });
    assert.deepEqual(table.lookup('dave-token-00000000000'), { name: 'dave', role: 'read' });
    assert.equal(table.lookup('dave-token-0000000000'), undefined, 'a prefix is not the token');
    assert.deepEqual(authenticate(table, 'bearer   carol-token-0000000000 '), { ok: true, caller: { name: 'carol', role: 'admin' } });
    // An admin from the tokens file alone is enough to start.
    assert.equal(loadApiAuth({ KMF_API_TOKENS_FILE: file('only', 'admin ops ops-token-000000000000') }, false).insecureNoAuth, false);
  });

  test('mistakes are refused with what to do, never echoing a token', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{}, /needs a token: set KMF_API_TOKEN .* or pass --insecure-no-auth/],
      [{ KMF_API_TOKEN: 'short' }, /KMF_API_TOKEN is too short: use at least 16/],
      [{ KMF_API_TOKEN: 'same-token-0123456789', KMF_API_READ_TOKEN: 'same-token-0123456789' }, /must be different/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKEN_FILE: '/x' }, /either KMF_API_TOKEN or KMF_API_TOKEN_FILE/],
      [{ KMF_API_TOKEN_FILE: path.join(dir, 'missing') }, /cannot read KMF_API_TOKEN_FILE/],
      [{ KMF_API_TOKEN_FILE: file('empty', '\n\n') }, /is empty/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t1', 'root carol carol-token-0000000000') }, /line 1: the role must be admin or read/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t2', 'admin carol\n') }, /line 1: expected "ROLE NAME TOKEN"/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t3', '\nread eve tiny') }, /line 2: the token of eve is too short/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t4', 'read x a-token-0123456789xx') }, /must be different/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t5', 'read admin b-token-0123456789xx') }, /cannot use the name "admin"/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t6', 'read x b-token-0123456789xx\nread x c-token-0123456789xx') }, /its own name/],
      [{ KMF_API_TOKEN: 'a-token-0123456789xx', KMF_API_TOKENS_FILE: file('t7', 'read bad/name b-token-0123456789xx') }, /the name must be/],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => loadApiAuth(env, false),
        (err: unknown) => {
          assert.ok(err instanceof KmfError);
          assert.equal(err.code, 'invalid_config');
          assert.match(err.message, re);
          assert.doesNotMatch(err.message, /token-0123456789|carol-token|b-token/, 'no token in the message');
          return true;
        },
      );
    }
  });

  test('parseTokensFile ignores comments and blank lines', () => {
    assert.deepEqual(parseTokensFile('# nothing\n\n   \n', 'f'), []);
  });
});
