/**
 * No secret is ever logged by the admin API: not the tokens (good, wrong, read-only), not the
 * Authorization header, not request bodies (an app's environment may hold passwords), whether the request
 * succeeds, is refused (401, 403) or fails validation. The API logs at debug level here, so every line it
 * could write is seen; that it does log requests (with the caller's name) shows the check looks at the
 * real output.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import winston from 'winston';
import { ADMIN, ALICE, apiFixture, READER, type ApiFixture } from '../helpers/api-fixture.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    done();
  },
});
const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });

let f: ApiFixture;

before(async () => {
  f = await apiFixture({ apiLogger: logger });
});

after(async () => {
  await f?.close();
  logger.close();
});

const WRONG = 'wrong-but-secret-token-6f1e2d3c4b5a';
const PASSWORD = 'hunter2-very-secret-password';

describe('what the API logs', () => {
  test('requests are logged with who made them, never a token, a header or a body', async () => {
    const app = { name: 'secretive', cpus: 0.1, mem: 32, command: 'sleep 1000', env: { DB_PASSWORD: PASSWORD } };
    const requests: Array<{ method: 'GET' | 'POST' | 'PUT'; url: string; token: string; payload?: unknown; status: number }> = [
      { method: 'POST', url: '/api/v1/apps', token: ALICE, payload: app, status: 201 },
      { method: 'GET', url: '/api/v1/apps/secretive', token: ADMIN, status: 200 },
      { method: 'PUT', url: '/api/v1/apps/secretive', token: ADMIN, payload: { ...app, mem: 'lots' }, status: 400 },
      { method: 'POST', url: '/api/v1/apps', token: WRONG, payload: app, status: 401 },
      { method: 'POST', url: '/api/v1/apps/secretive/scale', token: READER, payload: { instances: 2 }, status: 403 },
      { method: 'POST', url: '/api/v1/apps', token: ADMIN, payload: `{"env": {"P": "${PASSWORD}"`, status: 400 },
    ];
    for (const r of requests) {
      const res = await f.app.inject({
        method: r.method,
        url: r.url,
        headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
        ...(r.payload === undefined ? {} : { payload: typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload) }),
      });
      assert.equal(res.statusCode, r.status, `${r.method} ${r.url}: ${res.body}`);
    }
    // Give winston's stream a turn to flush.
    await new Promise((r) => setImmediate(r));
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['message'] === 'api request');
    assert.ok(logged.some((l) => l['who'] === 'alice' && l['status'] === 201 && l['route'] === '/api/v1/apps'), JSON.stringify(logged));
    assert.ok(logged.some((l) => l['status'] === 401), 'refused requests are logged too');
    assert.ok(logged.some((l) => l['status'] === 403 && l['who'] === 'read-only'));
    const all = lines.join('\n');
    for (const secret of [ADMIN, ALICE, READER, WRONG, PASSWORD, 'Bearer', 'authorization']) {
      assert.ok(!all.toLowerCase().includes(secret.toLowerCase()), `"${secret}" appears in the log`);
    }
  });
});
