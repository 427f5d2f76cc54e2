/**
 * Third-party Mesos scheduler libraries against the sim: pymesos and mesoshttp (PyPI, installed by
 * scripts/compat/setup.sh into .kmf/compat/venv) drive small frameworks of ours in scripts/compat/ that
 * launch, acknowledge, kill and tear down each library's normal way. Each program checks the wire details
 * it sees and prints one `KMF-COMPAT-RESULT {json}` line; this test asserts on that summary, so a
 * disagreement between a library and the sim fails here with the program's own description of it.
 * docs/compatibility.md explains each scenario.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimCluster } from '../../src/sim/cluster.js';
import { testLogger } from '../../src/util/log.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = join(ROOT, '.kmf', 'compat', 'venv', 'bin', 'python');
const PYMESOS = join(ROOT, 'scripts', 'compat', 'pymesos_scheduler.py');
const MESOSHTTP = join(ROOT, 'scripts', 'compat', 'mesoshttp_scheduler.py');
const RESULT_PREFIX = 'KMF-COMPAT-RESULT ';
const PHASE_PREFIX = 'KMF-COMPAT-PHASE ';
/** Upper bound for one program run; it gives up by itself earlier (--timeout) and reports why. */
const RUN_LIMIT_MS = 150_000;

interface TaskOutcome {
  expected: string;
  states: string[];
}

interface CompatResult {
  ok: boolean;
  library: string;
  version: string;
  scenario: string;
  framework_id: string | null;
  master_version: string | null;
  tasks: Record<string, TaskOutcome>;
  reconciliation: Record<string, string[]>;
  teardown_ok: boolean | null;
  first_framework_listing?: string | null;
  masters?: string[];
  messages?: string[];
  problems: string[];
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/**
 * Runs a compat program in its own process group, so that nothing it starts can outlive the test.
 * `onPhase` is called for each `KMF-COMPAT-PHASE <name>` line the program prints (it waits for us there).
 */
function runProgram(program: string, args: string[], onPhase?: (phase: string) => void): Promise<Finished> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(PYTHON, [program, '--timeout', '90', ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(PHASE_PREFIX)) onPhase?.(line.slice(PHASE_PREFIX.length).trim());
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const limit = setTimeout(() => killGroup(child), RUN_LIMIT_MS);
    child.once('error', (err) => {
      clearTimeout(limit);
      running.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      running.delete(child);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function parseResult(run: Finished): CompatResult {
  const line = run.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  assert.ok(line !== undefined, `no ${RESULT_PREFIX.trim()} line (exit ${run.code}, signal ${run.signal}); stderr:\n${run.stderr.slice(-4000)}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as CompatResult;
}

/** Exit 0 and no problem found; on failure the message carries the program's findings and log tail. */
function assertClean(run: Finished, result: CompatResult): void {
  assert.deepEqual(result.problems, [], `${result.library} disagrees with the sim:\n${result.problems.join('\n')}\n--- log tail:\n${run.stderr.slice(-3000)}`);
  assert.equal(result.ok, true);
  assert.equal(run.code, 0, `exit ${run.code}; stderr tail:\n${run.stderr.slice(-3000)}`);
}

/** A promise that never rejects: resolves to the error, or undefined (handled at once, awaited later). */
function settle(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}

let cluster: SimCluster;

before(async () => {
  // Idempotent and immediate once the venv exists; builds it (from PyPI) on a fresh machine.
  const setup = spawnSync('bash', [join(ROOT, 'scripts', 'compat', 'setup.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(setup.status, 0, `scripts/compat/setup.sh failed:\n${setup.stdout}\n${setup.stderr}`);
  assert.ok(existsSync(PYTHON), `${PYTHON} missing after setup`);
  cluster = await SimCluster.start({
    logger: testLogger('compat-thirdparty'),
    port: 0,
    masters: 2,
    agents: 2,
    resources: 'cpus:4;mem:8192;disk:20000;ports:[31000-32000]',
    allocationIntervalMs: 200,
    // mesoshttp sees an event only once the next one starts (it splits the stream on newlines), so a
    // short heartbeat keeps it moving; pymesos ignores heartbeats.
    heartbeatIntervalSeconds: 1,
  });
});

after(async () => {
  for (const child of running) killGroup(child);
  await cluster.stop();
});

void describe('pymesos 0.3.15 against kmf mesos-sim', () => {
  void test('launches, acknowledges, fails, kills and tears down command tasks', async () => {
    const run = await runProgram(PYMESOS, ['--master', cluster.masterUrl, '--scenario', 'basic', '--tasks', '4']);
    const result = parseResult(run);
    assertClean(run, result);

    assert.equal(result.library, 'pymesos');
    assert.equal(result.master_version, '1.11.0');
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(result.tasks[`hello-${i}`]?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    }
    assert.deepEqual(result.tasks['fail-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
    assert.deepEqual(result.tasks['long-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    assert.deepEqual(result.reconciliation['kmf-compat-never-launched'], ['TASK_UNKNOWN']);
    assert.equal(result.teardown_ok, true);

    // Independent of the program's own view: the master has the framework as completed, its tasks ended.
    const master = cluster.master();
    assert.ok(master !== undefined);
    const state = (await (await fetch(`${cluster.masterUrl}/master/state`)).json()) as {
      frameworks: Array<{ id: string }>;
      completed_frameworks: Array<{ id: string; completed_tasks: Array<{ id: string; state: string }> }>;
    };
    assert.ok(!state.frameworks.some((f) => f.id === result.framework_id));
    const completed = state.completed_frameworks.find((f) => f.id === result.framework_id);
    assert.ok(completed !== undefined, 'framework not among completed_frameworks');
    const finalStates = Object.fromEntries(completed.completed_tasks.map((t) => [t.id, t.state]));
    assert.equal(finalStates['hello-0'], 'TASK_FINISHED');
    assert.equal(finalStates['fail-0'], 'TASK_FAILED');
    assert.equal(finalStates['long-0'], 'TASK_KILLED');
  });

  void test('follows the 307 of a non-leading master to the leader', async () => {
    const follower = cluster.masterUrls().find((u) => u !== cluster.masterUrl);
    assert.ok(follower !== undefined, 'the cluster has a second master');
    const run = await runProgram(PYMESOS, ['--master', follower, '--scenario', 'basic', '--tasks', '1']);
    const result = parseResult(run);
    assertClean(run, result);
    assert.deepEqual(result.tasks['hello-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    assert.match(run.stderr, /redirect to new master/i, 'pymesos should have been redirected');
  });

  void test('re-subscribes after a scheduler failover and finds its running task by reconciliation', async () => {
    const run = await runProgram(PYMESOS, ['--master', cluster.masterUrl, '--scenario', 'failover']);
    const result = parseResult(run);
    assertClean(run, result);
    assert.equal(result.first_framework_listing, 'active');
    assert.ok(result.reconciliation['long-0']?.includes('TASK_RUNNING'));
    assert.deepEqual(result.tasks['long-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    assert.equal(result.teardown_ok, true);
  });

  void test('follows a leader change (stream cut, 307 to the new leader) and re-registers', async () => {
    const changes: Array<Promise<unknown>> = [];
    const run = await runProgram(PYMESOS, ['--master', cluster.masterUrl, '--scenario', 'master-failover'], (phase) => {
      if (phase === 'running') changes.push(settle(cluster.changeLeader()));
    });
    assert.equal(changes.length, 1, 'the program reached the running phase once');
    const [changeError] = await Promise.all(changes);
    assert.equal(changeError, undefined, `leader change failed: ${String(changeError)}`);
    const result = parseResult(run);
    assertClean(run, result);
    assert.equal(result.masters?.length, 2);
    assert.notEqual(result.masters?.[0], result.masters?.[1], 're-registered with the new leader');
    assert.deepEqual(result.reconciliation['long-0'], ['TASK_RUNNING']);
    assert.equal(result.tasks['long-0']?.states.at(-1), 'TASK_KILLED');
    assert.equal(result.teardown_ok, true);
  });

  void test('custom executors written with pymesos run tasks and exchange framework messages', async () => {
    const run = await runProgram(PYMESOS, ['--master', cluster.masterUrl, '--scenario', 'executor']);
    const result = parseResult(run);
    assertClean(run, result);
    assert.deepEqual(result.tasks['exec-quick']?.states, ['TASK_RUNNING', 'TASK_FINISHED']);
    // Its executor's call connection is idle for several seconds before the final update.
    assert.deepEqual(result.tasks['exec-idle']?.states, ['TASK_RUNNING', 'TASK_FINISHED']);
    assert.deepEqual(result.tasks['exec-fail']?.states, ['TASK_RUNNING', 'TASK_FAILED']);
    assert.deepEqual(result.tasks['long-0']?.states, ['TASK_RUNNING', 'TASK_KILLED']);
    for (const task of ['exec-quick', 'exec-idle', 'exec-fail', 'long-0']) {
      assert.ok(result.messages?.includes(`started:${task}`), `executor -> scheduler message of ${task}`);
    }
    assert.ok(result.messages?.some((m) => m.startsWith('pong:')), 'scheduler -> executor -> scheduler message round trip');
    assert.equal(result.teardown_ok, true);
  });
});

void describe('mesoshttp 0.4.2 against kmf mesos-sim', () => {
  void test('a legacy single-role framework launches, acknowledges, kills, reconciles and tears down', async () => {
    const run = await runProgram(MESOSHTTP, ['--master', cluster.masterUrl, '--tasks', '2']);
    const result = parseResult(run);
    assertClean(run, result);
    assert.equal(result.library, 'mesoshttp');
    assert.equal(result.master_version, '1.11.0');
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(result.tasks[`hello-${i}`]?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    }
    assert.deepEqual(result.tasks['fail-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
    assert.deepEqual(result.tasks['long-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    assert.deepEqual(result.reconciliation['kmf-compat-unknown-to-agent'], ['TASK_GONE']);
    assert.equal(result.teardown_ok, true);
  });
});

void describe('pymesos 0.3.15 finding the sim masters through ZooKeeper', () => {
  let zk: ZooKeeperServer;
  let zkCluster: SimCluster;
  let zkUrl = '';

  before(async () => {
    zk = await startZooKeeper();
    zkUrl = `zk://${zk.connectString}/mesos`;
    zkCluster = await SimCluster.start({ logger: testLogger('compat-thirdparty-zk'), port: 0, masters: 2, agents: 1, zk: zkUrl, allocationIntervalMs: 200 });
  });

  after(async () => {
    for (const child of running) killGroup(child);
    await zkCluster.stop();
    await zk.stop();
  });

  void test('reads the leader from the json.info_ znodes and runs tasks', async () => {
    const run = await runProgram(PYMESOS, ['--master', zkUrl, '--scenario', 'basic', '--tasks', '1']);
    const result = parseResult(run);
    assertClean(run, result);
    assert.deepEqual(result.tasks['hello-0']?.states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    assert.equal(result.teardown_ok, true);
  });

  void test('follows a ZooKeeper leader change and re-registers', async () => {
    const changes: Array<Promise<unknown>> = [];
    const run = await runProgram(PYMESOS, ['--master', zkUrl, '--scenario', 'master-failover'], (phase) => {
      if (phase === 'running') changes.push(settle(zkCluster.changeLeader()));
    });
    assert.equal(changes.length, 1, 'the program reached the running phase once');
    const [changeError] = await Promise.all(changes);
    assert.equal(changeError, undefined, `leader change failed: ${String(changeError)}`);
    const result = parseResult(run);
    assertClean(run, result);
    assert.notEqual(result.masters?.[0], result.masters?.[1], 're-registered with the new leader');
    assert.deepEqual(result.reconciliation['long-0'], ['TASK_RUNNING']);
    assert.equal(result.teardown_ok, true);
  });
});
