import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  commandLaunchSpec,
  durationNs,
  executorEnvironment,
  formatStoutDuration,
  nsToTimerMs,
} from '../../src/sim/agent/sandbox-env.js';
import { describeWaitStatus, succeeded, waitStatusOf } from '../../src/sim/agent/exit-status.js';

void describe('executor environment (reference item 185)', () => {
  const base = {
    frameworkId: 'fw-0001',
    executorId: 'task-1',
    directory: '/w/slaves/S0/frameworks/fw-0001/executors/task-1/runs/c1',
    agentId: 'M-S0',
    agentIp: '127.0.0.1',
    agentPort: 40123,
  };

  void test('sets every MESOS_* variable with the exact values of a 1.11 agent', () => {
    const env = executorEnvironment({ ...base, checkpoint: false });
    assert.deepEqual(env, {
      MESOS_FRAMEWORK_ID: 'fw-0001',
      MESOS_EXECUTOR_ID: 'task-1',
      MESOS_DIRECTORY: base.directory,
      MESOS_SANDBOX: base.directory,
      MESOS_SLAVE_ID: 'M-S0',
      MESOS_SLAVE_PID: 'slave(1)@127.0.0.1:40123',
      MESOS_AGENT_ENDPOINT: '127.0.0.1:40123',
      MESOS_CHECKPOINT: '0',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      LIBPROCESS_PORT: '0',
    });
  });

  void test('checkpointing frameworks also get the recovery timeout and subscription backoff', () => {
    const env = executorEnvironment({ ...base, checkpoint: true });
    assert.equal(env['MESOS_CHECKPOINT'], '1');
    assert.equal(env['MESOS_RECOVERY_TIMEOUT'], '15mins');
    assert.equal(env['MESOS_SUBSCRIPTION_BACKOFF_MAX'], '2secs');
  });

  void test('ExecutorInfo.shutdown_grace_period overrides the default', () => {
    const env = executorEnvironment({ ...base, checkpoint: false, shutdownGracePeriod: { nanoseconds: '30000000000' } });
    assert.equal(env['MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD'], '30secs');
  });

  void test('layering: agent environment < MESOS_* < CommandInfo.environment', () => {
    const env = executorEnvironment({
      ...base,
      checkpoint: false,
      base: { PATH: '/usr/bin', MESOS_SANDBOX: '/stale', HOME: '/root', UNSET: undefined },
      command: {
        environment: {
          variables: [
            { name: 'PORT0', value: '31000' },
            { name: 'HOME', value: '/home/task' },
            { name: 'EMPTY' },
            { name: 'SECRET_THING', type: 'SECRET' },
          ],
        },
      },
    });
    assert.equal(env['PATH'], '/usr/bin');
    assert.equal(env['MESOS_SANDBOX'], base.directory);
    assert.equal(env['PORT0'], '31000');
    assert.equal(env['HOME'], '/home/task');
    assert.equal(env['EMPTY'], '');
    assert.equal('SECRET_THING' in env, false);
    assert.equal('UNSET' in env, false);
  });
});

void describe('stout durations', () => {
  void test('formats like stout', () => {
    assert.equal(formatStoutDuration(5_000_000_000n), '5secs');
    assert.equal(formatStoutDuration(15n * 60n * 1_000_000_000n), '15mins');
    assert.equal(formatStoutDuration(1_500_000_000n), '1.5secs');
    assert.equal(formatStoutDuration(250_000_000n), '250ms');
    assert.equal(formatStoutDuration(0n), '0ns');
    assert.equal(formatStoutDuration(2n * 3_600_000_000_000n), '2hrs');
    assert.equal(formatStoutDuration(7n * 86_400_000_000_000n), '1weeks');
    assert.equal(formatStoutDuration(1_500n), '1.5us');
  });

  void test('parses DurationInfo and converts to timer milliseconds', () => {
    assert.equal(durationNs({ nanoseconds: '3000000000' }), 3_000_000_000n);
    assert.equal(durationNs(undefined), undefined);
    assert.equal(durationNs({ nanoseconds: 'x' }), undefined);
    assert.equal(nsToTimerMs(3_000_000_000n), 3000);
    assert.equal(nsToTimerMs(-5n), 0);
    assert.equal(nsToTimerMs(10n ** 20n), 2_147_483_647);
  });
});

void describe('command launch', () => {
  void test('shell=true (default) runs /bin/sh -c value', () => {
    assert.deepEqual(commandLaunchSpec({ value: 'echo hi && exit 3' }), { file: '/bin/sh', args: ['-c', 'echo hi && exit 3'], argv0: 'sh' });
    assert.deepEqual(commandLaunchSpec({ value: 'true', shell: true }).args, ['-c', 'true']);
  });

  void test('shell=false execs value with arguments as the whole argv', () => {
    assert.deepEqual(commandLaunchSpec({ shell: false, value: '/bin/echo', arguments: ['echo', 'a', 'b'] }), {
      file: '/bin/echo',
      args: ['a', 'b'],
      argv0: 'echo',
    });
    assert.deepEqual(commandLaunchSpec({ shell: false, value: '/bin/true' }), { file: '/bin/true', args: [] });
  });

  void test('a command without value is refused', () => {
    assert.throws(() => commandLaunchSpec({}), /Shell command is not specified/);
    assert.throws(() => commandLaunchSpec({ shell: false }), /Executable of the command is not specified/);
  });
});

void describe('wait statuses', () => {
  void test('encode and describe like WSTRINGIFY', () => {
    assert.equal(describeWaitStatus(waitStatusOf(0, null)), 'exited with status 0');
    assert.equal(describeWaitStatus(waitStatusOf(3, null)), 'exited with status 3');
    assert.equal(describeWaitStatus(waitStatusOf(null, 'SIGTERM')), 'terminated with signal Terminated');
    assert.equal(describeWaitStatus(waitStatusOf(null, 'SIGKILL')), 'terminated with signal Killed');
    assert.equal(waitStatusOf(1, null), 256);
    assert.equal(waitStatusOf(null, 'SIGKILL'), 9);
    assert.equal(succeeded(waitStatusOf(0, null)), true);
    assert.equal(succeeded(waitStatusOf(null, 'SIGTERM')), false);
    assert.equal(describeWaitStatus(waitStatusOf(null, null)), 'exited with status 127');
  });
});
