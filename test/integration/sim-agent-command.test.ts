/**
 * SimAgent running real command tasks: environment and sandbox, the command executor's update sequence,
 * reliable delivery (one unacknowledged update per task), kill with grace period, health checks, crash.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { commandTask, framework, isAlive, readEnvDump, startAgent, TERMINAL, type Harness } from '../helpers/sim-agent-harness.js';

function sandboxOf(h: Harness, frameworkId: string, executorId: string): string {
  return join(h.workDir, 'slaves', 'M-S0', 'frameworks', frameworkId, 'executors', executorId, 'runs', 'latest');
}

async function waitForFile(dir: string, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(dir, name))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name} in ${dir}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe('SimAgent command tasks', () => {
  let h: Harness;

  void before(async () => {
    h = await startAgent({ statusUpdateRetry: { initialMs: 300, maxMs: 1200 } });
  });
  void after(async () => {
    await h.cleanup();
  });

  void test('a command task runs in its sandbox with the agent environment and finishes', async () => {
    const fw = framework('fw-env', { checkpoint: true });
    h.agent.launchTasks(fw, [
      commandTask('env-1', {
        value: 'cat /proc/self/environ > env.dump; pwd -P > cwd.txt; echo out; echo err >&2',
        environment: { variables: [{ name: 'PORT0', value: '31001' }] },
      }),
    ]);
    const done = await h.uplink.waitForState('env-1', TERMINAL);
    assert.equal(done.state, 'TASK_FINISHED');
    assert.equal(done.message, 'Command exited with status 0');
    assert.deepEqual(h.uplink.statesOf('env-1'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

    for (const s of h.uplink.updatesOf('env-1')) {
      assert.equal(s.source, 'SOURCE_EXECUTOR');
      assert.equal(s.executor_id?.value, 'env-1');
      assert.equal(s.agent_id?.value, 'M-S0');
      assert.equal(s.uuid?.length, 16);
      assert.equal(typeof s.timestamp, 'number');
      assert.deepEqual(s.container_status?.network_infos, [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '127.0.0.1' }] }]);
      assert.ok(s.container_status?.container_id?.value);
    }
    const running = h.uplink.updatesOf('env-1')[1];
    assert.ok((running?.container_status?.executor_pid ?? 0) > 0);

    const sandbox = join(h.workDir, 'slaves', 'M-S0', 'frameworks', 'fw-env', 'executors', 'env-1', 'runs', 'latest');
    const env = readEnvDump(join(sandbox, 'env.dump'));
    const real = realpathSync(sandbox);
    assert.equal(readFileSync(join(sandbox, 'cwd.txt'), 'utf8').trim(), real);
    assert.equal(env['MESOS_SANDBOX'] && realpathSync(env['MESOS_SANDBOX']), real);
    assert.equal(env['MESOS_DIRECTORY'], env['MESOS_SANDBOX']);
    assert.equal(env['MESOS_FRAMEWORK_ID'], 'fw-env');
    assert.equal(env['MESOS_EXECUTOR_ID'], 'env-1');
    assert.equal(env['MESOS_SLAVE_ID'], 'M-S0');
    const { port } = h.agent.endpoint;
    assert.equal(env['MESOS_AGENT_ENDPOINT'], `127.0.0.1:${port}`);
    assert.equal(env['MESOS_SLAVE_PID'], `slave(1)@127.0.0.1:${port}`);
    assert.equal(env['MESOS_CHECKPOINT'], '1');
    assert.equal(env['MESOS_RECOVERY_TIMEOUT'], '15mins');
    assert.equal(env['MESOS_SUBSCRIPTION_BACKOFF_MAX'], '2secs');
    assert.equal(env['MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD'], '5secs');
    assert.equal(env['MESOS_HTTP_COMMAND_EXECUTOR'], '0');
    assert.equal(env['LIBPROCESS_PORT'], '0');
    assert.equal(env['PORT0'], '31001');
    assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'out\n');
    assert.equal(readFileSync(join(sandbox, 'stderr'), 'utf8'), 'err\n');
    await h.uplink.waitFor('terminal ACK clears the task', () => h.agent.latestState('fw-env', 'env-1') === undefined);
  });

  void test('shell=false runs value with arguments as argv', async () => {
    h.agent.launchTasks(framework(), [commandTask('argv-1', { shell: false, value: '/bin/sh', arguments: ['sh', '-c', 'exit 0', 'ignored'] })]);
    assert.equal((await h.uplink.waitForState('argv-1', TERMINAL)).state, 'TASK_FINISHED');
  });

  void test('a program that cannot be executed fails like a shell would (status 127)', async () => {
    h.agent.launchTasks(framework(), [commandTask('noexec-1', { shell: false, value: '/nonexistent/bin/tool', arguments: ['tool'] })]);
    const s = await h.uplink.waitForState('noexec-1', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.message, 'Command exited with status 127');
  });

  void test('a non-zero exit is TASK_FAILED with the exit status', async () => {
    h.agent.launchTasks(framework(), [commandTask('fail-1', { value: 'exit 7' })]);
    const s = await h.uplink.waitForState('fail-1', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.message, 'Command exited with status 7');
    assert.equal(s.source, 'SOURCE_EXECUTOR');
  });

  void test('one unacknowledged update at a time: retries, and the next update only after the ACK', async () => {
    h.uplink.autoAck = false;
    try {
      h.agent.launchTasks(framework(), [commandTask('ack-1', { value: 'exit 0' })]);
      // The task finishes almost at once, yet only TASK_STARTING may be forwarded, again and again.
      await h.uplink.waitFor('two retries of TASK_STARTING', () => h.uplink.updates.filter((u) => u.status.task_id.value === 'ack-1').length >= 3);
      const forwarded = h.uplink.updates.filter((u) => u.status.task_id.value === 'ack-1');
      assert.ok(forwarded.every((u) => u.status.state === 'TASK_STARTING'));
      const uuid = forwarded[0]!.status.uuid!;
      assert.ok(forwarded.every((u) => u.status.uuid!.equals(uuid)), 'retries resend the same update');
      await h.uplink.waitFor('the task has exited', () => h.agent.latestState('fw-0000', 'ack-1') === 'TASK_FINISHED');
      assert.equal(forwarded.at(-1)?.latestState !== undefined, true);

      h.agent.acknowledge('fw-0000', 'ack-1', uuid);
      const running = await h.uplink.waitForState('ack-1', ['TASK_RUNNING']);
      assert.deepEqual(h.uplink.statesOf('ack-1'), ['TASK_STARTING', 'TASK_RUNNING']);
      h.agent.acknowledge('fw-0000', 'ack-1', running.uuid!);
      const fin = await h.uplink.waitForState('ack-1', ['TASK_FINISHED']);
      assert.equal(h.uplink.updates.filter((u) => u.status.task_id.value === 'ack-1').at(-1)?.latestState, 'TASK_FINISHED');
      h.agent.acknowledge('fw-0000', 'ack-1', fin.uuid!);
      assert.deepEqual(h.agent.runningTasks().filter((t) => t.taskId === 'ack-1'), []);
    } finally {
      h.uplink.autoAck = true;
    }
  });

  void test('kill: a task that exits on SIGTERM within the grace period is TASK_KILLED', async () => {
    const fw = framework('fw-killing', { capabilities: [{ type: 'TASK_KILLING_STATE' }] });
    h.agent.launchTasks(fw, [
      commandTask('term-1', { value: "trap 'exit 3' TERM; touch trapped; while true; do sleep 0.1; done" }, { kill_policy: { grace_period: { nanoseconds: '30000000000' } } }),
    ]);
    await h.uplink.waitForState('term-1', ['TASK_RUNNING']);
    await waitForFile(sandboxOf(h, 'fw-killing', 'term-1'), 'trapped');
    h.agent.killTask('fw-killing', 'term-1');
    const s = await h.uplink.waitForState('term-1', TERMINAL);
    assert.equal(s.state, 'TASK_KILLED');
    assert.equal(s.message, 'Command exited with status 3');
    assert.deepEqual(h.uplink.statesOf('term-1'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
  });

  void test('kill: a task that ignores SIGTERM is SIGKILLed after the grace period (no TASK_KILLING without the capability)', async () => {
    h.agent.launchTasks(framework(), [commandTask('stubborn-1', { value: "trap '' TERM; touch trapped; while true; do sleep 0.1; done" })]);
    const running = await h.uplink.waitForState('stubborn-1', ['TASK_RUNNING']);
    const pid = running.container_status?.executor_pid;
    assert.ok(pid !== undefined && isAlive(pid));
    // Kill only once the shell has installed its trap: before that a SIGTERM simply ends it.
    await waitForFile(sandboxOf(h, 'fw-0000', 'stubborn-1'), 'trapped');
    h.agent.killTask('fw-0000', 'stubborn-1', { grace_period: { nanoseconds: '700000000' } });
    const s = await h.uplink.waitForState('stubborn-1', TERMINAL);
    assert.equal(s.state, 'TASK_KILLED');
    assert.equal(s.message, 'Command terminated with signal Killed');
    assert.deepEqual(h.uplink.statesOf('stubborn-1'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    assert.equal(isAlive(pid), false);
  });

  void test('kill of an unknown task answers TASK_LOST (TASK_DROPPED if partition-aware) from the agent', async () => {
    h.agent.launchTasks(framework('fw-pa', { capabilities: [{ type: 'PARTITION_AWARE' }] }), []);
    h.agent.killTask('fw-pa', 'never-launched');
    const s = await h.uplink.waitForState('never-launched', TERMINAL);
    assert.equal(s.state, 'TASK_DROPPED');
    assert.equal(s.source, 'SOURCE_AGENT');
    assert.equal(s.reason, 'REASON_EXECUTOR_TERMINATED');
  });

  void test('failing COMMAND health check: healthy=false updates, then the task is killed', async () => {
    h.agent.launchTasks(framework(), [
      commandTask(
        'unhealthy-1',
        { value: 'sleep 100' },
        {
          health_check: {
            type: 'COMMAND',
            command: { value: 'test -f healthy-marker' },
            delay_seconds: 0,
            interval_seconds: 0.2,
            grace_period_seconds: 0,
            consecutive_failures: 2,
            timeout_seconds: 5,
          },
        },
      ),
    ]);
    const s = await h.uplink.waitForState('unhealthy-1', TERMINAL);
    assert.equal(s.state, 'TASK_KILLED');
    assert.equal(s.healthy, false);
    const health = h.uplink.updatesOf('unhealthy-1').filter((u) => u.reason === 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
    assert.deepEqual(
      health.map((u) => [u.state, u.healthy]),
      [
        ['TASK_RUNNING', false],
        ['TASK_RUNNING', false],
      ],
    );
  });

  void test('passing TCP and failing HTTP health checks report healthy true / false', async () => {
    // One server for both checks: TCP only connects; HTTP gets a 503.
    const server: Server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.resume(); // read (and drop) the request, or the close of the client would never be seen
      sock.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const check = { delay_seconds: 0, interval_seconds: 0.2, grace_period_seconds: 0, consecutive_failures: 100, timeout_seconds: 5 };
      h.agent.launchTasks(framework(), [
        commandTask('tcp-ok', { value: 'sleep 100' }, { health_check: { ...check, type: 'TCP', tcp: { port } } }),
        commandTask('http-bad', { value: 'sleep 100' }, { health_check: { ...check, type: 'HTTP', http: { port, path: '/health' } } }),
      ]);
      const ok = await h.uplink.waitFor('tcp healthy', () => h.uplink.updatesOf('tcp-ok').find((u) => u.healthy === true));
      assert.equal(ok.reason, 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED');
      const bad = await h.uplink.waitFor('http unhealthy', () => h.uplink.updatesOf('http-bad').find((u) => u.healthy === false));
      assert.equal(bad.state, 'TASK_RUNNING');
      h.agent.killTask('fw-0000', 'tcp-ok');
      h.agent.killTask('fw-0000', 'http-bad');
      assert.equal((await h.uplink.waitForState('tcp-ok', TERMINAL)).state, 'TASK_KILLED');
      assert.equal((await h.uplink.waitForState('http-bad', TERMINAL)).state, 'TASK_KILLED');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  void test('max_completion_time kills the task: TASK_FAILED, REASON_MAX_COMPLETION_TIME_REACHED', async () => {
    h.agent.launchTasks(framework(), [commandTask('slow-1', { value: 'sleep 100' }, { max_completion_time: { nanoseconds: '300000000' } })]);
    const s = await h.uplink.waitForState('slow-1', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.reason, 'REASON_MAX_COMPLETION_TIME_REACHED');
  });

  void test('framework shutdown kills its tasks and reports nothing more for it', async () => {
    h.agent.launchTasks(framework('fw-gone'), [commandTask('td-1', { value: 'sleep 100' })]);
    const running = await h.uplink.waitForState('td-1', ['TASK_RUNNING']);
    const pid = running.container_status!.executor_pid!;
    const before = h.uplink.updatesOf('td-1').length;
    h.agent.shutdownFramework('fw-gone');
    assert.deepEqual(h.agent.runningTasks().filter((t) => t.frameworkId === 'fw-gone'), []);
    await h.uplink.waitFor('task process gone', () => !isAlive(pid));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.uplink.updatesOf('td-1').length, before);
  });

  void test('agent-generated statuses can be injected into the reliable pipeline', async () => {
    h.uplink.autoAck = false;
    try {
      h.agent.reportTaskStatus('fw-0000', { task_id: { value: 'gone-1' }, state: 'TASK_GONE', reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', message: 'Executor did not reregister within 2secs' });
      const s = await h.uplink.waitForState('gone-1', ['TASK_GONE']);
      assert.equal(s.source, 'SOURCE_AGENT');
      assert.equal(s.agent_id?.value, 'M-S0');
      const uuid = s.uuid;
      assert.ok(uuid !== undefined && uuid.length === 16);
      assert.deepEqual(h.agent.runningTasks().filter((t) => t.taskId === 'gone-1'), [{ frameworkId: 'fw-0000', taskId: 'gone-1', state: 'TASK_GONE' }]);
      h.agent.acknowledge('fw-0000', 'gone-1', uuid);
      assert.equal(h.agent.latestState('fw-0000', 'gone-1'), undefined);
    } finally {
      h.uplink.autoAck = true;
    }
  });

  void test('shutting down a command executor kills its task', async () => {
    h.agent.launchTasks(framework(), [commandTask('shut-1', { value: 'sleep 100' })]);
    await h.uplink.waitForState('shut-1', ['TASK_RUNNING']);
    h.agent.shutdownExecutor('fw-0000', 'shut-1');
    assert.equal((await h.uplink.waitForState('shut-1', TERMINAL)).state, 'TASK_KILLED');
    assert.equal(h.uplink.exits.some((e) => e.executorId === 'shut-1'), false, 'no FAILURE for command executors');
  });
});

void describe('SimAgent crash', () => {
  void test('crash() leaves no process alive and reports nothing more', async () => {
    const h = await startAgent();
    try {
      h.agent.launchTasks(framework(), [
        commandTask('c-1', { value: 'sleep 300 & echo $! > bg.pid; wait' }),
        commandTask('c-2', { value: "trap '' TERM; sleep 300" }),
      ]);
      const r1 = await h.uplink.waitForState('c-1', ['TASK_RUNNING']);
      const r2 = await h.uplink.waitForState('c-2', ['TASK_RUNNING']);
      const sandbox = join(h.workDir, 'slaves', 'M-S0', 'frameworks', 'fw-0000', 'executors', 'c-1', 'runs', 'latest');
      await h.uplink.waitFor('background pid file', () => existsSync(join(sandbox, 'bg.pid')) && readFileSync(join(sandbox, 'bg.pid'), 'utf8').trim() !== '');
      const pids = [r1.container_status!.executor_pid!, r2.container_status!.executor_pid!, Number(readFileSync(join(sandbox, 'bg.pid'), 'utf8').trim()), ...h.agent.processIds()];
      assert.ok(pids.every((p) => Number.isInteger(p) && p > 0 && isAlive(p)));
      const before = h.uplink.updates.length;
      await h.agent.crash();
      await h.uplink.waitFor('every process gone', () => pids.every((p) => !isAlive(p)));
      assert.deepEqual(h.agent.processIds(), []);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(h.uplink.updates.length, before, 'a crashed agent sends nothing');
    } finally {
      await h.cleanup();
    }
  });
});
