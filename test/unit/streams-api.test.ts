/**
 * Streams app specs through the admin API (inject, in-memory state, fake Mesos driver): a bad spec is answered
 * 4xx with its reason and changes nothing; a good one becomes "streams" units; the artifact server serves jars.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN, apiFixture, type ApiFixture } from '../helpers/api-fixture.js';

// The artifact registry is built once per process, on first use: point it at a directory of our own first.
const artifactDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-artifacts-'));
fs.writeFileSync(path.join(artifactDir, 'demo-app.jar'), 'not really a jar');
process.env['KMF_ARTIFACTS_DIR'] = artifactDir;

type Json = Record<string, unknown>;
let f: ApiFixture;
const H = { authorization: `Bearer ${ADMIN}` };

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: Json): Promise<{ status: number; body: Json; raw: string }> {
  const r = await f.app.inject({ method, url, headers: H, ...(payload === undefined ? {} : { payload }) });
  let body: Json = {};
  try {
    body = r.json<Json>();
  } catch {
    body = {};
  }
  return { status: r.statusCode, body, raw: r.body };
}

const GOOD: Json = {
  name: 'wc',
  type: 'streams',
  applicationId: 'wordcount',
  artifact: 'demo-app.jar',
  mainClass: 'io.kmf.examples.WordCount',
  instances: 2,
  cpus: 0.5,
  mem: 512,
  heap: 256,
  env: { IN_TOPIC: 'words-in' },
  streamsConfig: { 'commit.interval.ms': '100' },
  maxUnavailable: 2,
  autoscale: { min: 1, max: 4, targetLagPerInstance: 100, cooldownSeconds: 5, inputTopics: ['words-in'] },
};

before(async () => {
  f = await apiFixture();
});
after(async () => {
  await f.close();
  fs.rmSync(artifactDir, { recursive: true, force: true });
});

void describe('streams app specs through the API', () => {
  const bad: Array<[string, Json, RegExp]> = [
    ['an artifact nobody serves', { ...GOOD, artifact: 'nope-1.0.jar' }, /artifact "nope-1\.0\.jar" is not served by kmf.*demo-app\.jar/],
    ['neither artifact nor command', { ...GOOD, artifact: undefined, mainClass: undefined, heap: undefined }, /needs an "artifact"/],
    ['both artifact and command', { ...GOOD, command: 'java -jar x.jar' }, /either "artifact" or "command"/],
    ['a bad constraint', { ...GOOD, constraints: ['hostname:SOMETIMES'] }, /unknown operator "SOMETIMES"/],
    ['a constraint without an operator', { ...GOOD, constraints: ['hostname'] }, /FIELD:OPERATOR/],
    ['more instances than autoscale.max', { ...GOOD, instances: 5 }, /instances \(5\) is more than autoscale\.max \(4\)/],
    ['autoscale.min above max', { ...GOOD, autoscale: { min: 5, max: 4, targetLagPerInstance: 10, inputTopics: ['t'] } }, /autoscale\.min \(5\) must be <= autoscale\.max \(4\)/],
    ['more instances than a streams app may have', { ...GOOD, autoscale: undefined, instances: 5000 }, /instances must be at most 1000/],
    ['a managed streams setting', { ...GOOD, streamsConfig: { 'group.instance.id': 'x' } }, /group\.instance\.id.*is set by kmf/],
    ['a heap that leaves no room', { ...GOOD, heap: 500 }, /must leave at least 128 MB/],
    ['a state volume on the "*" role', { ...GOOD, role: '*', stateVolume: 100 }, /stateVolume needs a Mesos role/],
    ['streams fields on a command app', { name: 'cmd', cpus: 0.1, mem: 32, command: 'true', streamsConfig: { a: 'b' } }, /streamsConfig is a field of streams apps/],
    ['an unknown type', { ...GOOD, type: 'lambda' }, /type/],
  ];
  for (const [what, spec, why] of bad) {
    void test(`refused with 400, nothing written or launched: ${what}`, async () => {
      const before = await f.snapshot();
      const r = await call('POST', '/api/v1/apps', JSON.parse(JSON.stringify(spec)) as Json);
      assert.equal(r.status, 400, r.raw);
      const issues = ((r.body['details'] as Json | undefined)?.['issues'] as string[] | undefined) ?? [];
      assert.ok(issues.some((i) => why.test(i)), `${why} in ${JSON.stringify(issues)}`);
      assert.equal(await f.snapshot(), before, 'nothing was written');
      assert.equal(f.term().units().length, 0, 'no unit exists');
      assert.deepEqual((await call('GET', '/api/v1/apps')).body['apps'], [], 'no app exists');
    });
  }

  void test('a good spec deploys streams units with a stable identity, and the app shows its streams view', async () => {
    const r = await call('POST', '/api/v1/apps', GOOD);
    assert.equal(r.status, 201, r.raw);
    const app = r.body['app'] as Json;
    const spec = app['spec'] as Json;
    assert.equal(spec['type'], 'streams');
    assert.equal(spec['applicationId'], 'wordcount');
    const units = f.term().units().filter((u) => u.name.startsWith('app-wc/'));
    assert.deepEqual(units.map((u) => [u.name, u.kind]).sort(), [['app-wc/0', 'streams'], ['app-wc/1', 'streams']]);
    const shown = await call('GET', '/api/v1/apps/wc');
    assert.equal(shown.status, 200);
    assert.deepEqual((shown.body['app'] as Json)['streams'], { instances: {} });
  });

  void test('scaling past autoscale.max is refused; within it works', async () => {
    const r = await call('POST', '/api/v1/apps/wc/scale', { instances: 9 });
    assert.equal(r.status, 400, r.raw);
    assert.match(r.body['message'] as string, /more than autoscale\.max/);
    const ok = await call('POST', '/api/v1/apps/wc/scale', { instances: 3 });
    assert.equal(ok.status, 200, ok.raw);
    assert.equal(((ok.body['app'] as Json)['spec'] as Json)['instances'], 3);
  });

  void test('an update naming an unknown artifact is refused and the spec stays', async () => {
    const r = await call('PUT', '/api/v1/apps/wc?force=true', { ...GOOD, name: undefined, artifact: 'gone.jar' });
    assert.equal(r.status, 400, r.raw);
    const shown = await call('GET', '/api/v1/apps/wc');
    assert.equal(((shown.body['app'] as Json)['spec'] as Json)['artifact'], 'demo-app.jar');
  });

  void test('the artifact server serves the registered jar, public, and 404s anything else', async () => {
    const r = await f.app.inject({ method: 'GET', url: '/artifacts/demo-app.jar' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, 'not really a jar');
    assert.equal(r.headers['content-type'], 'application/java-archive');
    assert.equal((await f.app.inject({ method: 'GET', url: '/artifacts/other.jar' })).statusCode, 404);
    assert.equal((await f.app.inject({ method: 'GET', url: '/artifacts/..%2Fetc%2Fpasswd' })).statusCode, 404);
  });
});
