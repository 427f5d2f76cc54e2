/**
 * The leader's ZooKeeper session expires (test/helpers/zk-sessions.ts ends it on the server): the leader
 * steps down — closes its Mesos subscription, drops its state — and writes nothing more; the standby is
 * elected, re-subscribes with the same framework id, and heals the cluster. Both schedulers run in this
 * process so that the test can reach the leader's ZooKeeper client and watch every transaction it sends.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import type { StateOp, StateOpResult } from '../../src/state/state-store.js';
import { KmfError } from '../../src/util/errors.js';
import {
  api,
  appUnits,
  chroot,
  converged,
  DuplicateWatcher,
  pidDir,
  sleeperCommand,
  startInProcess,
  startSim,
  taskPid,
  waitFor,
  waitReady,
  type SchedulerHandle,
} from '../helpers/scheduler-harness.js';
import { expireSession } from '../helpers/zk-sessions.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
const handles: SchedulerHandle[] = [];
const pids = pidDir();

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 2 });
});

after(async () => {
  for (const h of handles) await h.shutdown();
  await sim?.stop();
  await zk?.stop();
  fs.rmSync(pids, { recursive: true, force: true });
});

test('ZooKeeper session expired ⇒ the leader steps down and writes nothing more', async () => {
  const zkSpec = `${zk.connectString}${chroot('expiry')}`;
  const x = await startInProcess(zkSpec, sim.masterUrl, { memberId: 'x' });
  handles.push(x);
  await waitReady(x.apiUrl);
  const y = await startInProcess(zkSpec, sim.masterUrl, { memberId: 'y' });
  handles.push(y);
  await waitFor('y to follow', () => (y.runtime.role === 'follower' ? true : undefined));
  const watcher = new DuplicateWatcher(sim);

  const units = appUnits('app', 2);
  const created = await api(x.apiUrl, 'POST', '/api/v1/apps', { name: 'app', instances: 2, cpus: 0.1, mem: 32, command: sleeperCommand(pids) });
  assert.equal(created.status, 201);
  const before = await waitFor('app running', () => converged(sim, units));
  const frameworkId = (await api(x.apiUrl, 'GET', '/api/v1/status')).body.frameworkId;

  // Record every transaction x sends from now on, with its outcome.
  const sent: Array<{ at: number; ok: boolean; ops: StateOp[] }> = [];
  const store = x.store;
  const multi = store.multi.bind(store);
  store.multi = async (ops: readonly StateOp[]): Promise<StateOpResult[]> => {
    try {
      const r = await multi(ops);
      sent.push({ at: Date.now(), ok: true, ops: [...ops] });
      return r;
    } catch (err) {
      sent.push({ at: Date.now(), ok: false, ops: [...ops] });
      throw err;
    }
  };
  let deposedAt: number | undefined;
  x.election.on((e) => {
    if ((e.type === 'suspended' || e.type === 'deposed') && deposedAt === undefined) deposedAt = Date.now();
  });

  const oldFence = x.election.fence();
  assert.ok(oldFence !== undefined);
  await expireSession(zk.connectString, x.store.session.rawClient());
  await waitFor('x to step down', () => (x.runtime.role !== 'leader' && x.runtime.leaderTerm() === undefined ? true : undefined), 30_000);
  await waitReady(y.apiUrl, 30_000);
  assert.ok(deposedAt !== undefined);

  // Work for the new leader, and a reason for x to write if it still thought it led: a task dies.
  const victim = before.get('app-app/0')!;
  const pid = await waitFor('pid of a task', () => taskPid(pids, victim.taskId));
  process.kill(pid, 'SIGKILL');
  const healed = await waitFor('the new leader to relaunch it', () => {
    const c = converged(sim, units);
    return c !== undefined && c.get('app-app/0')?.taskId !== victim.taskId ? c : undefined;
  });
  assert.equal(healed.size, 2);

  const ys = (await api(y.apiUrl, 'GET', '/api/v1/status')).body;
  assert.equal(ys.instance.role, 'leader');
  assert.equal(ys.frameworkId, frameworkId);
  assert.equal(ys.epoch, 2);
  assert.equal(x.runtime.role, 'follower', 'x rejoined the election as a follower');
  assert.equal((await api(x.apiUrl, 'GET', '/ready', undefined, null)).status, 503);
  // x's writes after it lost leadership: none succeeded (it stopped writing; any attempt would be fenced).
  const late = sent.filter((s) => s.ok && s.at >= deposedAt!);
  assert.deepEqual(late, [], 'no write by x landed after it lost its session');
  // Even a write carrying x's old fence fails on the server (the epoch moved on, x's member znode is gone).
  await assert.rejects(
    store.multi([...oldFence.checks, { op: 'create', path: '/probe', data: Buffer.from('x') }]),
    (err: unknown) => err instanceof KmfError && err.code === 'conflict' && typeof err.details?.['index'] === 'number' && err.details['index'] < oldFence.checks.length,
  );
  assert.equal(await store.get('/probe'), undefined);
  // A write through x's API is refused and redirected to the new leader.
  const refused = await api(x.apiUrl, 'POST', '/api/v1/apps/app/scale', { instances: 3 });
  assert.equal(refused.status, 307);
  assert.equal(refused.headers['location'], `${y.apiUrl}/api/v1/apps/app/scale`);

  watcher.stop();
  assert.deepEqual(watcher.violations, []);
});
