/**
 * The admin API against a real scheduler (in-process), the sim and ZooKeeper: tokens, error shapes, bad
 * input changing nothing, the app lifecycle (create, scale up and down, update, remove) and plan controls.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON, read the way tests read them */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import { ZooKeeperStateStore } from '../../src/state/zookeeper-state-store.js';
import {
  api,
  appUnits,
  chroot,
  converged,
  liveSimTasks,
  READ_TOKEN,
  startInProcess,
  startSim,
  waitFor,
  waitReady,
  type SchedulerHandle,
} from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let s: SchedulerHandle;
let zkSpec: string;

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 2 });
  zkSpec = `${zk.connectString}${chroot('api')}`;
  s = await startInProcess(zkSpec, sim.masterUrl);
  await waitReady(s.apiUrl);
});

after(async () => {
  await s?.shutdown();
  await sim?.stop();
  await zk?.stop();
});

async function appZnodes(): Promise<string[]> {
  const store = await ZooKeeperStateStore.connect(zkSpec);
  try {
    return await store.list('/desired/apps');
  } finally {
    await store.close();
  }
}

describe('admin API', () => {
  test('tokens: none → 401, unknown → 401, read-only on a write → 403; probes need none', async () => {
    const none = await api(s.apiUrl, 'GET', '/api/v1/status', undefined, null);
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'unauthorized');
    assert.match(none.body.message, /Authorization: Bearer/);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="kmf"');
    const wrong = await api(s.apiUrl, 'GET', '/api/v1/status', undefined, 'not-the-token-at-all');
    assert.equal(wrong.status, 401);
    const read = await api(s.apiUrl, 'GET', '/api/v1/apps', undefined, READ_TOKEN);
    assert.equal(read.status, 200);
    const write = await api(s.apiUrl, 'POST', '/api/v1/apps', { name: 'x', cpus: 0.1, mem: 32, command: 'true' }, READ_TOKEN);
    assert.equal(write.status, 403);
    assert.equal(write.body.error, 'forbidden');
    assert.match(write.body.message, /read-only/);
    assert.equal((await api(s.apiUrl, 'GET', '/health', undefined, null)).status, 200);
    assert.equal((await api(s.apiUrl, 'GET', '/ready', undefined, null)).status, 200);
    assert.deepEqual(await appZnodes(), []);
  });

  test('bad input → 400 with every problem, and nothing is written', async () => {
    const bad = await api(s.apiUrl, 'POST', '/api/v1/apps', { name: 'Bad_Name', cpus: -1, command: '', ports: ['http', 'http'], cpu: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_app');
    const issues: string[] = bad.body.details.issues;
    for (const re of [/name "Bad_Name"/, /cpus must be > 0/, /mem is required/, /command is required/, /"http" is listed twice/, /unknown field "cpu" \(did you mean "cpus"\?\)/]) {
      assert.ok(issues.some((i) => re.test(i)), `${re} in ${JSON.stringify(issues)}`);
    }
    const notJson = await api(s.apiUrl, 'POST', '/api/v1/apps', undefined);
    assert.equal(notJson.status, 400);
    const volumeStar = await api(s.apiUrl, 'POST', '/api/v1/apps', { name: 'v', cpus: 0.1, mem: 32, command: 'true', role: '*', volume: { sizeMb: 10 } });
    assert.equal(volumeStar.status, 400);
    assert.match(volumeStar.body.message, /role other than "\*"/);
    assert.equal((await api(s.apiUrl, 'GET', '/api/v1/apps/nope')).status, 404);
    assert.equal((await api(s.apiUrl, 'GET', '/api/v1/plans/nope')).status, 404);
    assert.equal((await api(s.apiUrl, 'GET', '/api/v1/nothing-here')).body.error, 'not_found');
    assert.equal((await api(s.apiUrl, 'POST', '/api/v1/apps/nope/scale', { instances: 2 })).status, 404);
    assert.deepEqual(await appZnodes(), []);
  });

  test('app lifecycle: create, 409 on a second create, scale up and down, update, remove', async () => {
    const spec = { name: 'life', instances: 2, cpus: 0.1, mem: 32, command: 'exec sleep 3600', ports: 1 };
    const created = await api(s.apiUrl, 'POST', '/api/v1/apps', spec);
    assert.equal(created.status, 201);
    assert.equal(created.headers['location'], '/api/v1/apps/life');
    assert.deepEqual(created.body.app.spec.ports, ['port0']);
    const again = await api(s.apiUrl, 'POST', '/api/v1/apps', spec);
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'app_exists');
    await waitFor('2 instances', () => converged(sim, appUnits('life', 2)));

    const badScale = await api(s.apiUrl, 'POST', '/api/v1/apps/life/scale', { instances: -1 });
    assert.equal(badScale.status, 400);
    assert.equal((await api(s.apiUrl, 'POST', '/api/v1/apps/life/scale', { instances: 3 })).status, 200);
    await waitFor('3 instances', () => converged(sim, appUnits('life', 3)));
    const down = await api(s.apiUrl, 'POST', '/api/v1/apps/life/scale', { instances: 1 });
    assert.equal(down.status, 200);
    const one = await waitFor('1 instance', () => converged(sim, appUnits('life', 1)));
    const kept = one.get('app-life/0')!.taskId;
    const view = await waitFor('the API to forget the stopped instances', async () => {
      const r = await api(s.apiUrl, 'GET', '/api/v1/apps/life');
      return r.body.app.instances.length === 1 && r.body.app.status === 'running' ? r.body.app : undefined;
    });
    assert.equal(view.instances[0].taskId, kept);

    const updated = await api(s.apiUrl, 'PUT', '/api/v1/apps/life', { ...spec, instances: 1, env: { GREETING: 'hello' } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    await waitFor('the instance restarted at the new version', () => {
      const c = converged(sim, appUnits('life', 1));
      return c !== undefined && c.get('app-life/0')!.taskId !== kept ? c : undefined;
    });
    const mismatch = await api(s.apiUrl, 'PUT', '/api/v1/apps/life', { ...spec, name: 'other' });
    assert.equal(mismatch.status, 400);

    const removing = await api(s.apiUrl, 'DELETE', '/api/v1/apps/life');
    assert.ok(removing.status === 202 || removing.status === 204);
    await waitFor('the app to be gone', async () => ((await api(s.apiUrl, 'GET', '/api/v1/apps/life')).status === 404 ? true : undefined));
    assert.equal(liveSimTasks(sim).filter((t) => t.unit.startsWith('app-life/')).length, 0);
    assert.deepEqual(await appZnodes(), []);
  });

  test('plan controls: pause and resume the deploy plan', async () => {
    const paused = await api(s.apiUrl, 'POST', '/api/v1/plans/deploy/pause');
    assert.equal(paused.status, 200);
    assert.equal(paused.body.plan.paused, true);
    assert.equal((await api(s.apiUrl, 'POST', '/api/v1/apps', { name: 'later', instances: 1, cpus: 0.1, mem: 32, command: 'exec sleep 3600' })).status, 201);
    const waiting = await waitFor('the step to wait for the paused plan', async () => {
      const r = await api(s.apiUrl, 'GET', '/api/v1/plans/deploy');
      const step = r.body.plan.phases.find((p: { name: string }) => p.name === 'app-later')?.steps[0];
      return step?.status === 'WAITING' ? step : undefined;
    });
    assert.match(waiting.reason, /paused/);
    assert.equal(liveSimTasks(sim).filter((t) => t.unit === 'app-later/0').length, 0);
    assert.equal((await api(s.apiUrl, 'POST', '/api/v1/plans/deploy/resume')).body.plan.paused, false);
    await waitFor('the app to deploy once resumed', () => converged(sim, appUnits('later', 1)));
    assert.equal((await api(s.apiUrl, 'POST', '/api/v1/plans/nope/pause')).status, 404);
  });

  test('metrics and timeline', async () => {
    const m = await api(s.apiUrl, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.body), /kmf_state_writes_total \d+/);
    assert.match(String(m.body), /kmf_leader 1/);
    const page1 = await api(s.apiUrl, 'GET', '/api/v1/timeline?limit=5');
    assert.equal(page1.body.entries.length, 5);
    const last = page1.body.entries[4].seq;
    const page2 = await api(s.apiUrl, 'GET', `/api/v1/timeline?after=${last}&limit=5`);
    assert.equal(page2.body.entries[0].seq, last + 1);
    assert.equal((await api(s.apiUrl, 'GET', '/api/v1/timeline?limit=x')).status, 400);
  });
});
