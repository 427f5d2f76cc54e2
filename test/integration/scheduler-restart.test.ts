/**
 * The scheduler killed with SIGKILL in the middle of a deploy, then started again: it loads its state from
 * ZooKeeper, re-subscribes with the stored framework id, reconciles, and finishes the deploy — with no
 * duplicate (never two live tasks for one unit, on the sim, sampled throughout) and no orphan (every live
 * task of the framework is the current task of a wanted unit). The scheduler runs as a real child process
 * (`node bin/kmf.js scheduler`), so the kill is a real one.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON, read the way tests read them */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import { ZooKeeperStateStore } from '../../src/state/zookeeper-state-store.js';
import {
  api,
  appUnits,
  chroot,
  converged,
  DuplicateWatcher,
  liveSimTasks,
  simTasks,
  spawnScheduler,
  startSim,
  waitFor,
  waitReady,
  type SchedulerProcess,
} from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
const procs: SchedulerProcess[] = [];

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 3, resources: 'cpus:4;mem:4096;disk:4000;ports:[31000-31100]' });
});

after(async () => {
  for (const p of procs) await p.process.stop(5_000);
  await sim?.stop();
  await zk?.stop();
});

test('kill -9 mid-deploy, restart: the deploy resumes with no duplicates and no orphans', async () => {
  const zkSpec = `${zk.connectString}${chroot('restart')}`;
  const first = await spawnScheduler('scheduler-1', zkSpec, sim.masterUrl);
  procs.push(first);
  await waitReady(first.apiUrl);
  const watcher = new DuplicateWatcher(sim, 20);
  const N = 10;
  const units = appUnits('batch', N);
  // Serial deploy, each instance ready only once its health check passed: the deploy takes a while, so
  // the kill lands in the middle of it.
  const res = await api(first.apiUrl, 'POST', '/api/v1/apps', {
    name: 'batch',
    instances: N,
    cpus: 0.1,
    mem: 32,
    command: 'exec sleep 3600',
    strategy: 'serial',
    healthCheck: { type: 'COMMAND', command: 'true', delaySeconds: 0.3, intervalSeconds: 0.3, gracePeriodSeconds: 5 },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));

  await waitFor('a few instances launched', () => (liveSimTasks(sim).length >= 3 ? true : undefined), 60_000, 10);
  await first.process.kill();
  const atKill = liveSimTasks(sim);
  assert.ok(atKill.length < N, `the kill came mid-deploy (${atKill.length} of ${N} launched)`);
  const frameworks = new Set(simTasks(sim).map((t) => t.frameworkId));
  assert.equal(frameworks.size, 1);

  const second = await spawnScheduler('scheduler-2', zkSpec, sim.masterUrl);
  procs.push(second);
  await waitReady(second.apiUrl);
  const done = await waitFor('all instances running', () => converged(sim, units), 120_000);
  assert.equal(done.size, N);
  for (const t of atKill) {
    if (t.state === 'TASK_RUNNING') {
      assert.equal(done.get(t.unit)?.taskId, t.taskId, `${t.unit} kept its task across the restart (adopted, not relaunched)`);
    }
  }
  // Same framework (re-subscribed with the stored id), one task per unit, nothing else alive.
  assert.deepEqual(new Set(liveSimTasks(sim).map((t) => t.frameworkId)), frameworks);
  assert.equal(liveSimTasks(sim).length, N);
  const status = await api(second.apiUrl, 'GET', '/api/v1/status');
  assert.equal(status.body.frameworkId, [...frameworks][0]);
  assert.equal(status.body.instance.role, 'leader');
  const plan = await waitFor('the deploy plan to be complete', async () => {
    const r = await api(second.apiUrl, 'GET', '/api/v1/plans/deploy');
    return r.body.plan.status === 'COMPLETE' ? r.body.plan : undefined;
  });
  assert.equal(plan.phases[0].steps.length, N);

  // ZooKeeper holds exactly one task record per unit: nothing left over from the interrupted deploy.
  const store = await ZooKeeperStateStore.connect(zkSpec);
  try {
    const tasks = await store.list('/state/tasks');
    assert.equal(tasks.length, N, tasks.join(', '));
  } finally {
    await store.close();
  }

  watcher.stop();
  assert.ok(watcher.samples > 10);
  assert.deepEqual(watcher.violations, []);
});
