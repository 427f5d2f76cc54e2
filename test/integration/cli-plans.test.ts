/**
 * The plan controls and views of `kmf`, as an operator uses them when something waits: the real `kmf`
 * binary against a real `kmf scheduler` process on the sim and a real ZooKeeper. One app the agent can hold
 * and one it cannot (its deploy step waits, with the reason); then `plan list`, `plan show`, `units`,
 * `plan pause` / `resume`, `plan force-complete`, `plan abort --wait`, in tables and in JSON, the exit codes
 * of wrong names and of a read-only token, and each change on the timeline with who made it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import { API_TOKEN, chroot, READ_TOKEN, ROOT, spawnScheduler, startSim, waitReady, type SchedulerProcess } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let sched: SchedulerProcess;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface Step {
  unit: string;
  status: string;
  reason?: string;
}

interface Plan {
  name: string;
  status: string;
  paused: boolean;
  phases: Array<{ name: string; steps: Step[] }>;
}

function kmf(args: string[], token = API_TOKEN): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kmf.js'), ...args],
      { env: { ...clean, KMF_API_URL: sched.apiUrl, KMF_API_TOKEN: token }, cwd: ROOT, timeout: 120_000, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr }),
    );
  });
}

function json<T>(r: Run): T {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function step(plan: Plan, unit: string): Step | undefined {
  return plan.phases.flatMap((p) => p.steps).find((s) => s.unit === unit);
}

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 2, resources: 'cpus:1;mem:512;disk:1000;ports:[31000-31010]' });
  sched = await spawnScheduler('cli-plans-scheduler', `${zk.connectString}${chroot('cli-plans')}`, sim.masterUrl);
  await waitReady(sched.apiUrl);
});

after(async () => {
  await sched?.process.stop();
  await sim?.stop();
  await zk?.stop();
});

describe('kmf plan, units and events when a deployment waits', { timeout: 300_000 }, () => {
  test('a waiting step shows why; list, show and units in tables and JSON', async () => {
    assert.equal((await kmf(['app', 'deploy', '--name', 'small', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600', '--wait'])).code, 0);
    assert.equal((await kmf(['app', 'deploy', '--name', 'huge', '--cpus', '8', '--mem', '32', '--command', 'exec sleep 3600'])).code, 0);
    // The step waits with the reason the offers did not fit.
    let plan: Plan | undefined;
    for (let i = 0; i < 100; i++) {
      plan = json<{ plan: Plan }>(await kmf(['plan', 'show', 'deploy', '--json'])).plan;
      if (/cpus: need 8/.test(step(plan, 'app-huge/0')?.reason ?? '')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(plan !== undefined);
    assert.equal(step(plan, 'app-small/0')?.status, 'COMPLETE');
    assert.match(step(plan, 'app-huge/0')?.reason ?? '', /cpus: need 8/);

    const shown = await kmf(['plan', 'show', 'deploy']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^deploy: \w+, 1\/2 steps complete$/m);
    assert.match(shown.stdout, /^PHASE +STEP +STATUS +DETAIL$/m);
    assert.match(shown.stdout, /^app-huge +app-huge\/0 +\w+ +.*cpus: need 8/m);

    // --wait shows the progress on stderr, with what the first open step waits for, until it gives up (exit 7).
    const waited = await kmf(['plan', 'show', 'deploy', '--wait', '--wait-timeout', '2']);
    assert.equal(waited.code, 7, waited.stderr);
    assert.match(waited.stderr, /^deploy: \w+, 1\/2 steps complete; app-huge\/0 \w+: .*cpus: need 8/m);
    assert.match(waited.stderr, /gave up waiting for the deploy plan after 2 s/);

    const list = await kmf(['plan', 'list']);
    assert.match(list.stdout, /^PLAN +STATUS +PAUSED +STEPS$/m);
    assert.match(list.stdout, /^deploy +\w+ +no +1\/2 complete$/m);
    const plans = json<{ plans: Plan[] }>(await kmf(['plan', 'list', '--json'])).plans;
    assert.deepEqual(plans.map((p) => p.name).sort(), ['deploy', 'recovery', 'update']);

    const units = await kmf(['units']);
    assert.match(units.stdout, /^UNIT +KIND +STATE +TASK +HOST +PLAN +STEP$/m);
    assert.match(units.stdout, /^app-small\/0 +app +running +RUNNING /m);
    const unitsJson = json<{ units: Array<{ name: string; task?: { state: string } }> }>(await kmf(['units', '--json'])).units;
    assert.equal(unitsJson.find((u) => u.name === 'app-small/0')?.task?.state, 'TASK_RUNNING');
    assert.equal(unitsJson.find((u) => u.name === 'app-huge/0')?.task, undefined);
  });

  test('pause and resume; force-complete a step; abort --wait; wrong names and read-only tokens refused', async () => {
    const paused = json<{ plan: Plan }>(await kmf(['plan', 'pause', 'deploy', '--json'])).plan;
    assert.equal(paused.paused, true);
    assert.match((await kmf(['plan', 'show', 'deploy'])).stdout, /^deploy: \w+ \(paused\)/m);
    const readOnly = await kmf(['plan', 'resume', 'deploy'], READ_TOKEN);
    assert.equal(readOnly.code, 6);
    assert.match(readOnly.stderr, /forbidden \(403\)/);
    assert.equal(json<{ plan: Plan }>(await kmf(['plan', 'show', 'deploy', '--json'])).plan.paused, true, 'the refused resume changed nothing');
    const resumed = await kmf(['plan', 'resume', 'deploy']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stdout, /\(paused\)/);

    const usage = await kmf(['plan', 'pause', 'nightly']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /deploy, recovery, update/);
    const unknownUnit = await kmf(['plan', 'force-complete', 'deploy', 'app-nope/0']);
    assert.equal(unknownUnit.code, 3, unknownUnit.stderr);
    assert.match(unknownUnit.stderr, /the deploy plan has no step for unit "app-nope\/0"/);

    const forced = json<{ plan: Plan }>(await kmf(['plan', 'force-complete', 'deploy', 'app-huge/0', '--json'])).plan;
    assert.equal(step(forced, 'app-huge/0')?.status, 'COMPLETE');
    const done = await kmf(['plan', 'show', 'deploy', '--wait']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /^deploy: COMPLETE, 2\/2 steps complete$/m);
    assert.match(done.stdout, /^app-huge +app-huge\/0 +COMPLETE/m);

    // Nothing left to give up now: abort says so and --wait returns at once.
    const aborted = await kmf(['plan', 'abort', 'deploy', '--wait']);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.match(aborted.stdout, /^nothing was left to do$/m);
    assert.match(aborted.stdout, /^deploy: COMPLETE, 2\/2 steps complete$/m);

    const ops = json<{ entries: Array<{ who?: string; message: string }> }>(await kmf(['events', '--kind', 'operator', '--who', 'admin', '--json'])).entries.map((e) => `${e.who ?? '-'}: ${e.message}`);
    for (const re of [/^admin: paused the deploy plan$/, /^admin: resumed the deploy plan$/, /^admin: force-completed the deploy step of app-huge\/0$/, /^admin: aborted the deploy plan/]) {
      assert.ok(ops.some((o) => re.test(o)), `${re} in ${JSON.stringify(ops)}`);
    }
    assert.ok(!ops.some((o) => /^read-only:/.test(o)), 'a refused change is not on the timeline');
    const people = await kmf(['events', '--kind', 'operator', '--limit', '3']);
    assert.match(people.stdout, /^TIME +KIND +UNIT +WHO +MESSAGE$/m);
    assert.equal(people.stdout.trim().split('\n').length, 4, 'a header and the 3 newest');
    for (const app of ['huge', 'small']) assert.equal((await kmf(['app', 'remove', app, '--wait'])).code, 0);
  });

  test('one instance: restart in place (--instance, --wait), then replace', async () => {
    type UnitTask = { name: string; task?: { taskId: string; state: string; agentId: string } };
    const taskOf = async (): Promise<UnitTask['task']> => json<{ units: UnitTask[] }>(await kmf(['units', '--json'])).units.find((u) => u.name === 'app-one/0')?.task;
    assert.equal((await kmf(['app', 'deploy', '--name', 'one', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600', '--wait'])).code, 0);
    const first = await taskOf();
    assert.equal(first?.state, 'TASK_RUNNING');

    const restarted = await kmf(['app', 'restart', 'one', '--instance', '0', '--wait', '--json']);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal((JSON.parse(restarted.stdout) as { app: { status: string } }).app.status, 'running');
    const second = await taskOf();
    assert.notEqual(second?.taskId, first?.taskId, 'a new task');
    assert.equal(second?.agentId, first?.agentId, 'in place: the same agent');

    assert.equal((await kmf(['app', 'replace', 'one', '0', '--json'])).code, 0);
    let third: UnitTask['task'];
    for (let i = 0; i < 300; i++) {
      third = await taskOf();
      if (third !== undefined && third.taskId !== second?.taskId && third.state === 'TASK_RUNNING') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(third?.state, 'TASK_RUNNING');
    assert.notEqual(third?.taskId, second?.taskId, 'a new task (an instance without a volume holds no agent: it may land anywhere)');

    const ops = json<{ entries: Array<{ who?: string; message: string; unit?: string }> }>(await kmf(['events', '--kind', 'operator', '--json'])).entries.filter((e) => /app one|app-one/.test(e.message));
    assert.ok(ops.length >= 3 && ops.every((e) => e.who === 'admin'), JSON.stringify(ops));
    assert.equal((await kmf(['app', 'remove', 'one', '--wait'])).code, 0);
  });
});
