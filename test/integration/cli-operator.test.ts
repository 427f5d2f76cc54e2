/**
 * The `kmf` operator verbs, as an operator or a script runs them: the real `kmf` binary (node bin/kmf.js)
 * against a real `kmf scheduler` process, on a real `kmf mesos-sim` process and a real ZooKeeper. Tables for
 * people, --json for scripts, --wait following plans, and the documented exit codes (0 ok, 2 bad input,
 * 3 not found, 4 conflict, 5 unavailable, 6 auth, 7 wait failed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnManaged, type ManagedProcess } from '../helpers/processes.js';
import { API_TOKEN, chroot, READ_TOKEN, ROOT, spawnScheduler, waitReady, withFreePortRange, type SchedulerProcess } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: ManagedProcess;
let sched: SchedulerProcess;
let zkSpec: string;
let masterOfSim: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kmf ARGS` with a clean environment plus the API URL and token (unless overridden). */
function kmf(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  const full: NodeJS.ProcessEnv = { ...clean, KMF_API_URL: sched.apiUrl, KMF_API_TOKEN: API_TOKEN };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'kmf.js'), ...args], { env: full, cwd: ROOT, timeout: 120_000, maxBuffer: 10 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function json<T>(r: Run): T {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

before(async () => {
  zk = await startZooKeeper();
  sim = spawnManaged({
    name: 'mesos-sim',
    command: process.execPath,
    args: [
      path.join(ROOT, 'bin', 'kmf.js'),
      'mesos-sim',
      '--port',
      '0',
      '--agents',
      '2',
      '--resources',
      await withFreePortRange('cpus:2;mem:2048;disk:4000;ports:[31000-31100]', 2),
      '--allocation-interval',
      '0.2',
      '--heartbeat-interval',
      '1',
    ],
    env: { ...process.env, KMF_LOG_LEVEL: 'warn' },
    cwd: ROOT,
  });
  const masterUrl = (await sim.waitForLine(/^http:\/\/\S+$/, 60_000)).trim();
  zkSpec = `${zk.connectString}${chroot('cli')}`;
  masterOfSim = masterUrl;
  sched = await spawnScheduler('cli-scheduler', zkSpec, masterUrl);
  await waitReady(sched.apiUrl);
});

after(async () => {
  await sched?.process.stop();
  await sim?.stop();
  await zk?.stop();
});

describe('kmf operator verbs against a running scheduler', () => {
  test('kmf status: a table for people, JSON for scripts', async () => {
    const people = await kmf(['status']);
    assert.equal(people.code, 0, people.stderr);
    assert.match(people.stdout, /^leader: +http:\/\/127\.0\.0\.1:\d+/m);
    assert.match(people.stdout, /^mesos: +subscribed/m);
    assert.match(people.stdout, /^PLAN +STATUS +PAUSED$/m);
    const s = json<{ leader: { address: string }; mesos: { subscribed: boolean }; frameworkId: string }>(await kmf(['status', '--json']));
    assert.equal(s.leader.address, sched.apiUrl);
    assert.equal(s.mesos.subscribed, true);
    assert.match(s.frameworkId, /\S/);
  });

  test('app deploy --wait, list, scale --wait, plan show --wait, events, remove --wait', async () => {
    const deployed = json<{ app: { status: string; instances: Array<{ taskId?: string; state: string }> } }>(
      await kmf(['app', 'deploy', '--name', 'web', '--instances', '2', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600', '--port', 'http', '--wait', '--json']),
    );
    assert.equal(deployed.app.status, 'running');
    assert.equal(deployed.app.instances.length, 2);
    assert.ok(deployed.app.instances.every((i) => i.state === 'running' && i.taskId !== undefined));

    const list = await kmf(['app', 'list']);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^NAME +STATUS +RUNNING/m);
    assert.match(list.stdout, /^web +running +2\/2 /m);
    assert.deepEqual(json<{ apps: Array<{ name: string }> }>(await kmf(['app', 'list', '--json'])).apps.map((a) => a.name), ['web']);

    const scaled = await kmf(['app', 'scale', 'web', '3', '--wait']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stderr, /app web: /, 'progress on stderr');
    assert.match(scaled.stdout, /^app web: running/m);
    const shown = json<{ app: { instances: Array<{ state: string; hostname: string }> } }>(await kmf(['app', 'show', 'web', '--json']));
    assert.equal(shown.app.instances.filter((i) => i.state === 'running').length, 3);

    const plan = json<{ plan: { status: string; phases: Array<{ name: string }> } }>(await kmf(['plan', 'show', 'deploy', '--wait', '--json']));
    assert.equal(plan.plan.status, 'COMPLETE');
    assert.ok(plan.plan.phases.some((p) => p.name === 'app-web'));
    const planTable = await kmf(['plan', 'show', 'deploy']);
    assert.match(planTable.stdout, /^app-web +app-web\/2 +COMPLETE/m);

    // A change on top of the current spec (no file): only the flag given changes.
    const updated = json<{ app: { status: string; spec: { mem: number; instances: number; ports: string[] } } }>(await kmf(['app', 'update', 'web', '--mem', '48', '--wait', '--json']));
    assert.equal(updated.app.status, 'running');
    assert.deepEqual([updated.app.spec.mem, updated.app.spec.instances, updated.app.spec.ports], [48, 3, ['http']]);

    const restarted = await kmf(['app', 'restart', 'web', '--wait', '--json']);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(JSON.parse(restarted.stdout).app.status, 'running');

    const events = json<{ entries: Array<{ kind: string; who?: string; message: string }> }>(await kmf(['events', '--kind', 'operator', '--json']));
    assert.deepEqual(
      events.entries.map((e) => [e.who, e.message.split(':')[0]]),
      [
        ['admin', 'deployed app web'],
        ['admin', 'scaled app web from 2 to 3 instance(s)'],
        ['admin', 'updated app web'],
        ['admin', 'rolling restart of app web (3 instance(s))'],
      ],
    );
    const launches = await kmf(['events', '--kind', 'launch', '--unit', 'app-web/0']);
    assert.match(launches.stdout, /^TIME +KIND +UNIT +WHO +MESSAGE$/m);
    assert.match(launches.stdout, / launch +app-web\/0 /);

    const removed = await kmf(['app', 'remove', 'web', '--wait']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /app web removed/);
    assert.equal((await kmf(['app', 'show', 'web'])).code, 3);
  });

  test('a standby answers reads itself and passes changes to the leader (kmf follows the 307)', async () => {
    const standby = await spawnScheduler('cli-standby', zkSpec, masterOfSim);
    try {
      const st = json<{ instance: { role: string }; source: string; leader: { address: string } }>(await kmf(['status', '--json', '--api', standby.apiUrl]));
      assert.equal(st.instance.role, 'follower');
      assert.equal(st.source, 'zookeeper');
      assert.equal(st.leader.address, sched.apiUrl);
      const deployed = await kmf(['app', 'deploy', '--name', 'via-standby', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600', '--api', standby.apiUrl, '--wait']);
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stdout, /^app via-standby: running/m);
      assert.equal((await kmf(['app', 'remove', 'via-standby', '--wait', '--api', standby.apiUrl])).code, 0);
    } finally {
      await standby.process.stop();
    }
  });

  test('exit codes: bad input 2, not found 3, conflict 4, unavailable 5, auth 6, failed wait 7', async () => {
    const usage = await kmf(['app', 'scale', 'web', 'many']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /whole number/);
    const invalid = await kmf(['app', 'deploy', '--name', 'Bad_Name', '--cpus', '1', '--mem', '32', '--command', 'true']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /invalid_app \(400\)/);
    assert.match(invalid.stderr, /name "Bad_Name" must be lower-case/);
    const invalidJson = await kmf(['app', 'deploy', '--name', 'x', '--cpus', '1', '--mem', '32', '--command', 'true', '--json', '--role', '*', '--instances', '1', '--env', 'A=1', '--port', 'p', '--constraint', 'nonsense']);
    assert.equal(invalidJson.code, 2);
    assert.equal(JSON.parse(invalidJson.stderr).error, 'invalid_app', 'errors are JSON on stderr with --json');

    const missing = await kmf(['app', 'show', 'no-such-app']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no app named "no-such-app"/);

    assert.equal((await kmf(['app', 'deploy', '--name', 'twice', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600'])).code, 0);
    const conflict = await kmf(['app', 'deploy', '--name', 'twice', '--cpus', '0.1', '--mem', '32', '--command', 'exec sleep 3600']);
    assert.equal(conflict.code, 4);
    assert.match(conflict.stderr, /app_exists \(409\)/);

    const down = await kmf(['status', '--api', 'http://127.0.0.1:1']);
    assert.equal(down.code, 5);
    assert.match(down.stderr, /cannot reach the kmf API/);

    const noToken = await kmf(['app', 'list'], { KMF_API_TOKEN: undefined });
    assert.equal(noToken.code, 6);
    assert.match(noToken.stderr, /unauthorized \(401\): missing token/);
    const wrong = await kmf(['status', '--token', 'certainly-not-the-token']);
    assert.equal(wrong.code, 6);
    const readOnly = await kmf(['app', 'scale', 'twice', '2'], { KMF_API_TOKEN: READ_TOKEN });
    assert.equal(readOnly.code, 6);
    assert.match(readOnly.stderr, /forbidden \(403\).*read-only/);
    assert.equal((await kmf(['app', 'list'], { KMF_API_TOKEN: READ_TOKEN })).code, 0, 'reads work with the read-only token');

    // An app no agent can hold: the deploy plan waits with the reason, and --wait gives up with exit 7.
    assert.equal((await kmf(['app', 'deploy', '--name', 'huge', '--cpus', '64', '--mem', '32', '--command', 'true'])).code, 0);
    const gaveUp = await kmf(['plan', 'show', 'deploy', '--wait', '--wait-timeout', '3']);
    assert.equal(gaveUp.code, 7);
    assert.match(gaveUp.stderr, /gave up waiting for the deploy plan after 3 s: .*app-huge\/0 WAITING: .*cpus: need 64/);
    assert.equal((await kmf(['app', 'remove', 'huge', '--wait'])).code, 0);
    assert.equal((await kmf(['app', 'remove', 'twice', '--wait'])).code, 0);
  });
});
