/**
 * Self-healing, end to end: a real ZooKeeper, the sim (real task processes), a kmf scheduler in this
 * process. An app with a persistent volume (so each instance keeps a reservation on its agent):
 *  - its task's process is killed ⇒ relaunched on the same agent, in the same reservation;
 *  - its agent crashes and stays down ⇒ after the permanent-failure time it is replaced on another agent;
 *  - a spec that no agent can ever hold shows in the deploy plan as WAITING, with the reason.
 * Throughout, the sim never has two live tasks for one unit.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON, read the way tests read them */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
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
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let scheduler: SchedulerHandle;
let watcher: DuplicateWatcher;
const pids = pidDir();

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 3 });
  scheduler = await startInProcess(`${zk.connectString}${chroot('recovery')}`, sim.masterUrl);
  watcher = new DuplicateWatcher(sim);
  await waitReady(scheduler.apiUrl);
});

after(async () => {
  watcher?.stop();
  await scheduler?.shutdown();
  await sim?.stop();
  await zk?.stop();
  fs.rmSync(pids, { recursive: true, force: true });
});

describe('scheduler recovery', () => {
  const units = appUnits('web', 2);

  test('deploys an app with volumes', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/apps', {
      name: 'web',
      instances: 2,
      cpus: 0.1,
      mem: 32,
      command: sleeperCommand(pids),
      volume: { sizeMb: 10, containerPath: 'data' },
      constraints: ['hostname:UNIQUE'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.app.name, 'web');
    await waitFor('both instances RUNNING', () => converged(sim, units), 60_000);
    const app = await waitFor('the API to show both instances running', async () => {
      const r = await api(scheduler.apiUrl, 'GET', '/api/v1/apps/web');
      return r.body.app.status === 'running' ? r.body.app : undefined;
    });
    assert.equal(app.instances.length, 2);
    for (const i of app.instances) assert.match(i.taskId, /^app-web\.\d__g1__[0-9a-f]{8}$/);
  });

  test("a task's process killed ⇒ relaunched on the same agent", async () => {
    const before = converged(sim, units)!;
    const victim = before.get('app-web/0')!;
    const pid = await waitFor('the task to record its pid', () => taskPid(pids, victim.taskId));
    process.kill(pid, 'SIGKILL');
    const after = await waitFor(
      'a new task of app-web/0',
      () => {
        const c = converged(sim, units);
        const t = c?.get('app-web/0');
        return t !== undefined && t.taskId !== victim.taskId ? c : undefined;
      },
      60_000,
    );
    const relaunched = after.get('app-web/0')!;
    assert.equal(relaunched.agentId, victim.agentId, 'relaunched on the same agent (its reservation and volume are there)');
    assert.match(relaunched.taskId, /__g2__/);
    assert.equal(after.get('app-web/1')!.taskId, before.get('app-web/1')!.taskId, 'the other instance was not touched');
    const timeline = await api(scheduler.apiUrl, 'GET', '/api/v1/timeline?unit=app-web/0&limit=1000');
    assert.ok(
      timeline.body.entries.some((e: { kind: string }) => e.kind === 'failure'),
      `the failure is on the timeline: ${JSON.stringify(timeline.body.entries.map((e: { message: string }) => e.message))}`,
    );
  });

  test('an agent crashed ⇒ its instance is replaced elsewhere after the permanent-failure time', async () => {
    const before = converged(sim, units)!;
    const victim = before.get('app-web/1')!;
    const other = before.get('app-web/0')!;
    await sim.crashAgent(victim.agentId, { restart: false });
    // The master marks the agent unreachable after the ping timeout; the scheduler waits for the
    // permanent-failure timeout (its volume might come back), then gives up the reservation.
    const plan = await waitFor('recovery to show the unreachable instance', async () => {
      const r = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/recovery');
      const step = r.body.plan.phases.flatMap((p: { steps: unknown[] }) => p.steps).find((s: { unit: string }) => s.unit === 'app-web/1');
      return step !== undefined && step.status !== 'COMPLETE' ? step : undefined;
    });
    assert.equal(plan.recovery, 'TRANSIENT');
    const after = await waitFor(
      'app-web/1 running on another agent',
      () => {
        const c = converged(sim, units, { ignoreUnreachable: true });
        const t = c?.get('app-web/1');
        return t !== undefined && t.agentId !== victim.agentId ? c : undefined;
      },
      60_000,
    );
    const replaced = after.get('app-web/1')!;
    assert.notEqual(replaced.agentId, victim.agentId);
    assert.notEqual(replaced.agentId, other.agentId, 'hostname:UNIQUE still holds');
    assert.equal(after.get('app-web/0')!.taskId, other.taskId);
    const timeline = await api(scheduler.apiUrl, 'GET', '/api/v1/timeline?unit=app-web/1&limit=1000');
    assert.ok(timeline.body.entries.some((e: { kind: string }) => e.kind === 'escalated'), 'PERMANENT recovery is on the timeline');
  });

  test('a spec that can never be placed shows in its plan as waiting, with the reason', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/apps', { name: 'huge', instances: 1, cpus: 100, mem: 32, command: 'sleep 3600' });
    assert.equal(res.status, 201);
    const step = await waitFor('the deploy step of app-huge/0 to say why it waits', async () => {
      const r = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/deploy');
      const phase = r.body.plan.phases.find((p: { name: string }) => p.name === 'app-huge');
      const s = phase?.steps.find((x: { unit: string }) => x.unit === 'app-huge/0');
      return s?.status === 'WAITING' && typeof s.reason === 'string' && s.reason.includes('cpus') ? s : undefined;
    });
    assert.match(step.reason, /cpus: need 100, best offer has/);
    const app = await api(scheduler.apiUrl, 'GET', '/api/v1/apps/huge');
    assert.equal(app.body.app.status, 'waiting');
    assert.equal(app.body.app.instances[0].step.status, 'WAITING');
    assert.equal(liveByUnitCount(sim, 'app-huge/0'), 0);
  });

  test('never two live tasks for one unit', () => {
    watcher.stop();
    assert.ok(watcher.samples > 10);
    assert.deepEqual(watcher.violations, []);
  });
});

function liveByUnitCount(cluster: SimCluster, unit: string): number {
  return converged(cluster, [])?.size ?? [...(cluster.master()?.frameworkRecords() ?? [])].flatMap((f) => [...f.tasks.values()]).filter((t) => t.info.name === unit).length;
}
