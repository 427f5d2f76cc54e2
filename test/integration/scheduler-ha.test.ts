/**
 * Hot standbys: two `kmf scheduler` processes on the same ZooKeeper chroot.
 *  - exactly one leads (subscribed, ready); the other follows, serves reads from ZooKeeper and answers
 *    writes with 307 to the leader;
 *  - the leader killed with SIGKILL ⇒ the standby takes over within seconds, re-subscribes with the same
 *    framework id, reconciles and adopts the running tasks (no relaunch), and the cluster converges on
 *    a change made through it;
 *  - SIGTERM to a leader: it exits 0, and a standby takes over at once.
 * The sim never has two live tasks for one unit.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON, read the way tests read them */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import {
  api,
  appUnits,
  chroot,
  converged,
  DuplicateWatcher,
  liveSimTasks,
  READ_TOKEN,
  spawnScheduler,
  startSim,
  waitFor,
  waitReady,
  type SchedulerProcess,
} from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let zkSpec: string;
let watcher: DuplicateWatcher;
const procs: SchedulerProcess[] = [];

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 3 });
  zkSpec = `${zk.connectString}${chroot('ha')}`;
  watcher = new DuplicateWatcher(sim);
});

after(async () => {
  watcher?.stop();
  for (const p of procs) await p.process.stop(5_000);
  await sim?.stop();
  await zk?.stop();
});

async function roleOf(p: SchedulerProcess): Promise<string> {
  return (await api(p.apiUrl, 'GET', '/api/v1/status', undefined, READ_TOKEN)).body.instance.role;
}

describe('scheduler high availability', () => {
  let a: SchedulerProcess;
  let b: SchedulerProcess;
  let frameworkId: string;
  const units = appUnits('svc', 3);

  test('two schedulers ⇒ one leader; the follower redirects writes and serves reads', async () => {
    a = await spawnScheduler('scheduler-a', zkSpec, sim.masterUrl);
    procs.push(a);
    await waitReady(a.apiUrl);
    b = await spawnScheduler('scheduler-b', zkSpec, sim.masterUrl);
    procs.push(b);
    await waitFor('b to follow', async () => ((await roleOf(b)) === 'follower' ? true : undefined));
    assert.equal(await roleOf(a), 'leader');
    assert.equal((await api(a.apiUrl, 'GET', '/ready', undefined, null)).status, 200);
    const notReady = await api(b.apiUrl, 'GET', '/ready', undefined, null);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.role, 'follower');

    const statusB = await api(b.apiUrl, 'GET', '/api/v1/status');
    assert.equal(statusB.body.leader.address, a.apiUrl);
    assert.equal(statusB.body.mesos.subscribed, false);
    const statusA = await api(a.apiUrl, 'GET', '/api/v1/status');
    assert.equal(statusA.body.mesos.subscribed, true);
    frameworkId = statusA.body.frameworkId;
    assert.ok(frameworkId);
    // Only one framework ever subscribed.
    assert.equal(sim.master()?.frameworkRecords().length, 1);

    const app = { name: 'svc', instances: 3, cpus: 0.1, mem: 32, command: 'exec sleep 3600' };
    const redirected = await api(b.apiUrl, 'POST', '/api/v1/apps', app);
    assert.equal(redirected.status, 307);
    assert.equal(redirected.headers['location'], `${a.apiUrl}/api/v1/apps`);
    assert.equal(redirected.body.error, 'not_leader');
    assert.equal((await api(b.apiUrl, 'GET', '/api/v1/apps')).body.apps.length, 0, 'the redirected write changed nothing');

    const created = await api(a.apiUrl, 'POST', '/api/v1/apps', app);
    assert.equal(created.status, 201);
    await waitFor('svc running', () => converged(sim, units));
    // The follower reads what the leader wrote to ZooKeeper.
    const fromB = await waitFor('the follower to see the app running', async () => {
      const r = await api(b.apiUrl, 'GET', '/api/v1/apps/svc', undefined, READ_TOKEN);
      return r.status === 200 && r.body.app.instances.filter((i: { state: string }) => i.state === 'running').length === 3 ? r.body : undefined;
    });
    assert.equal(fromB.source, 'zookeeper');
  });

  test('the leader killed ⇒ the standby takes over and the cluster converges', async () => {
    const before = converged(sim, units)!;
    await a.process.kill();
    await waitReady(b.apiUrl, 30_000);
    const status = await api(b.apiUrl, 'GET', '/api/v1/status');
    assert.equal(status.body.instance.role, 'leader');
    assert.equal(status.body.frameworkId, frameworkId, 're-subscribed with the stored framework id');
    assert.equal(status.body.epoch, 2);
    assert.equal(sim.master()?.frameworkRecords().length, 1, 'still one framework');
    // Reconciliation ran and the running tasks were adopted, not relaunched.
    await waitFor('reconciliation to complete', async () => {
      const r = await api(b.apiUrl, 'GET', '/api/v1/timeline?limit=1000');
      return r.body.entries.some((e: { message: string }) => e.message.startsWith('explicit reconciliation complete')) ? true : undefined;
    });
    const after = converged(sim, units)!;
    for (const u of units) assert.equal(after.get(u)?.taskId, before.get(u)?.taskId);

    const scaled = await api(b.apiUrl, 'POST', '/api/v1/apps/svc/scale', { instances: 5 });
    assert.equal(scaled.status, 200);
    const five = await waitFor('svc scaled to 5', () => converged(sim, appUnits('svc', 5)));
    assert.equal(five.size, 5);
    assert.equal(liveSimTasks(sim).length, 5);
  });

  test('SIGTERM: the leader exits 0 and a standby takes over at once', async () => {
    const c = await spawnScheduler('scheduler-c', zkSpec, sim.masterUrl);
    procs.push(c);
    await waitFor('c to follow', async () => ((await roleOf(c)) === 'follower' ? true : undefined));
    const before = converged(sim, appUnits('svc', 5))!;
    b.process.signal('SIGTERM');
    const exit = await b.process.exited;
    assert.equal(exit.code, 0);
    await waitReady(c.apiUrl, 30_000);
    assert.equal((await api(c.apiUrl, 'GET', '/api/v1/status')).body.frameworkId, frameworkId);
    // The graceful stop did not tear the framework down: the tasks kept running.
    const after = converged(sim, appUnits('svc', 5))!;
    for (const [u, t] of before) assert.equal(after.get(u)?.taskId, t.taskId);
  });

  test('never two live tasks for one unit', () => {
    watcher.stop();
    assert.ok(watcher.samples > 10);
    assert.deepEqual(watcher.violations, []);
  });
});
