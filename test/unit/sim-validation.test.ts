import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Call, ExecutorInfo, FrameworkInfo, Resource, TaskInfo } from '../../src/mesos/types.js';
import {
  isValidUuidBytes,
  validateCreate,
  validateDestroy,
  validateFrameworkInfo,
  validateFrameworkUpdate,
  validateReserve,
  validateSchedulerCall,
  validateSuppressedRoles,
  validateTask,
  validateTaskGroup,
  validateUnreserve,
  type TaskValidationContext,
} from '../../src/sim/master/validation.js';

const uuid4 = Buffer.from('0c8e7f1a2b3d4e5f9a8b7c6d5e4f3a2b', 'hex');

void describe('scheduler::call::validate (400 Failed to validate scheduler::Call: …)', () => {
  const fid = { value: 'f' };
  const table: Array<[string, Call, string | undefined]> = [
    ['type unset', {}, "Expecting 'type' to be present"],
    ['SUBSCRIBE without subscribe', { type: 'SUBSCRIBE' }, "Expecting 'subscribe' to be present"],
    [
      'SUBSCRIBE ids differ',
      { type: 'SUBSCRIBE', framework_id: fid, subscribe: { framework_info: { user: 'u', name: 'n' } } },
      "'framework_id' differs from 'subscribe.framework_info.id'",
    ],
    [
      'SUBSCRIBE id only in framework_info',
      { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n', id: fid } } },
      "'framework_id' differs from 'subscribe.framework_info.id'",
    ],
    ['SUBSCRIBE fine', { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } } }, undefined],
    ['no framework_id', { type: 'TEARDOWN' }, "Expecting 'framework_id' to be present"],
    ['TEARDOWN', { type: 'TEARDOWN', framework_id: fid }, undefined],
    ['REVIVE needs no member', { type: 'REVIVE', framework_id: fid }, undefined],
    ['SUPPRESS needs no member', { type: 'SUPPRESS', framework_id: fid }, undefined],
    ['ACCEPT', { type: 'ACCEPT', framework_id: fid }, "Expecting 'accept' to be present"],
    ['DECLINE', { type: 'DECLINE', framework_id: fid }, "Expecting 'decline' to be present"],
    ['KILL', { type: 'KILL', framework_id: fid }, "Expecting 'kill' to be present"],
    ['SHUTDOWN', { type: 'SHUTDOWN', framework_id: fid }, "Expecting 'shutdown' to be present"],
    ['RECONCILE', { type: 'RECONCILE', framework_id: fid }, "Expecting 'reconcile' to be present"],
    ['MESSAGE', { type: 'MESSAGE', framework_id: fid }, "Expecting 'message' to be present"],
    ['REQUEST', { type: 'REQUEST', framework_id: fid }, "Expecting 'request' to be present"],
    ['ACCEPT_INVERSE_OFFERS', { type: 'ACCEPT_INVERSE_OFFERS', framework_id: fid }, "Expecting 'accept_inverse_offers' to be present"],
    ['DECLINE_INVERSE_OFFERS', { type: 'DECLINE_INVERSE_OFFERS', framework_id: fid }, "Expecting 'decline_inverse_offers' to be present"],
    ['RECONCILE_OPERATIONS', { type: 'RECONCILE_OPERATIONS', framework_id: fid }, "Expecting 'reconcile_operations' to be present"],
    ['ACKNOWLEDGE missing', { type: 'ACKNOWLEDGE', framework_id: fid }, "Expecting 'acknowledge' to be present"],
    [
      'ACKNOWLEDGE bad uuid',
      { type: 'ACKNOWLEDGE', framework_id: fid, acknowledge: { agent_id: fid, task_id: fid, uuid: Buffer.from('not-a-uuid') } },
      'Not a valid UUID',
    ],
    [
      'ACKNOWLEDGE version-0 uuid',
      { type: 'ACKNOWLEDGE', framework_id: fid, acknowledge: { agent_id: fid, task_id: fid, uuid: Buffer.alloc(16) } },
      'Not a valid UUID',
    ],
    ['ACKNOWLEDGE ok', { type: 'ACKNOWLEDGE', framework_id: fid, acknowledge: { agent_id: fid, task_id: fid, uuid: uuid4 } }, undefined],
    [
      'ACKNOWLEDGE_OPERATION_STATUS without agent',
      { type: 'ACKNOWLEDGE_OPERATION_STATUS', framework_id: fid, acknowledge_operation_status: { uuid: uuid4, operation_id: fid } },
      "Expecting 'agent_id' to be present",
    ],
    [
      'UPDATE_FRAMEWORK ids differ',
      { type: 'UPDATE_FRAMEWORK', framework_id: fid, update_framework: { framework_info: { user: 'u', name: 'n' } } },
      "'framework_id' differs from 'update_framework.framework_info.id'",
    ],
    ['UNKNOWN passes (501 later)', { type: 'UNKNOWN', framework_id: fid }, undefined],
  ];
  for (const [name, call, expected] of table) {
    void test(name, () => assert.equal(validateSchedulerCall(call), expected));
  }

  void test('uuid version nibble 1-5 only', () => {
    const v = (nibble: number): Buffer => {
      const b = Buffer.from(uuid4);
      b[6] = (nibble << 4) | 0x0e;
      return b;
    };
    assert.deepEqual([0, 1, 5, 6, 15].map((n) => isValidUuidBytes(v(n))), [false, true, true, false, false]);
  });
});

void describe('FrameworkInfo validation (ERROR event on SUBSCRIBE)', () => {
  const base: FrameworkInfo = { user: 'u', name: 'n' };
  void test('role fields must match the MULTI_ROLE capability', () => {
    assert.equal(
      validateFrameworkInfo({ ...base, role: 'a', capabilities: [{ type: 'MULTI_ROLE' }] }),
      "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable",
    );
    assert.equal(validateFrameworkInfo({ ...base, roles: ['a'] }), "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
  });
  void test('duplicate and invalid roles', () => {
    assert.equal(
      validateFrameworkInfo({ ...base, roles: ['a', 'b', 'a'], capabilities: [{ type: 'MULTI_ROLE' }] }),
      "'FrameworkInfo.roles' contains duplicate items: { a }",
    );
    assert.match(validateFrameworkInfo({ ...base, roles: ['/x'], capabilities: [{ type: 'MULTI_ROLE' }] }) ?? '', /contains invalid role/);
    assert.match(validateFrameworkInfo({ ...base, role: '-x' }) ?? '', /'FrameworkInfo.role' is not a valid role/);
  });
  void test('ids and failover timeouts', () => {
    assert.equal(validateFrameworkInfo({ ...base, id: { value: 'a/b' } }), "'a/b' contains invalid characters");
    assert.equal(validateFrameworkInfo({ ...base, failover_timeout: 1e20 }), 'The framework failover_timeout (100000000000000000000) is invalid');
    assert.equal(validateFrameworkInfo({ ...base, failover_timeout: 604800 }), undefined);
  });
  void test('updates: principal, user and checkpoint cannot change', () => {
    assert.equal(validateFrameworkUpdate(base, { ...base, principal: 'p' }), "Changing framework's principal is not allowed.");
    assert.equal(
      validateFrameworkUpdate(base, { ...base, user: 'v' }),
      "Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'u' to 'v'",
    );
    assert.equal(
      validateFrameworkUpdate(base, { ...base, checkpoint: true }),
      "Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from 'false' to 'true'",
    );
    assert.equal(validateFrameworkUpdate(base, { ...base, name: 'renamed', failover_timeout: 5 }), undefined);
  });
  void test('suppressed roles must be framework roles', () => {
    assert.equal(validateSuppressedRoles({ ...base, role: 'a' }, ['a']), undefined);
    assert.equal(validateSuppressedRoles({ ...base, role: 'a' }, ['b', 'c']), 'Suppressed roles { b, c } are not contained in the set of roles');
  });
});

const alloc = { allocation_info: { role: 'dev' } };
const cpus = (v: number, extra: Partial<Resource> = alloc): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value: v }, ...extra });
const mem = (v: number, extra: Partial<Resource> = alloc): Resource => ({ name: 'mem', type: 'SCALAR', scalar: { value: v }, ...extra });
const disk = (v: number, extra: Partial<Resource> = alloc): Resource => ({ name: 'disk', type: 'SCALAR', scalar: { value: v }, ...extra });
const port = (p: number): Resource => ({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: p, end: p }] }, ...alloc });

function context(existing: Record<string, 'live' | 'unreachable'> = {}, executors: Record<string, ExecutorInfo> = {}): TaskValidationContext {
  return {
    frameworkId: 'f',
    agentId: 'a',
    existingTask: (id) => existing[id],
    existingExecutor: (id) => executors[id],
  };
}

function task(overrides: Partial<TaskInfo> = {}): TaskInfo {
  return { name: 't', task_id: { value: 't1' }, agent_id: { value: 'a' }, resources: [cpus(1), mem(64)], command: { value: 'true' }, ...overrides };
}

void describe('task validation (TASK_ERROR messages)', () => {
  const available = [cpus(2), mem(128), { name: 'ports', type: 'RANGES' as const, ranges: { range: [{ begin: 31000, end: 31010 }] }, ...alloc }];
  const table: Array<[string, TaskInfo, TaskValidationContext, string | undefined]> = [
    ['valid', task(), context(), undefined],
    ['empty id', task({ task_id: { value: '' } }), context(), 'ID must not be empty'],
    ['slash in id', task({ task_id: { value: 'a/b' } }), context(), "'a/b' contains invalid characters"],
    ['dot id', task({ task_id: { value: '..' } }), context(), "'..' is disallowed"],
    ['duplicate', task(), context({ t1: 'live' }), 'Task has duplicate ID: t1'],
    ['reuses unreachable', task(), context({ t1: 'unreachable' }), 'Task reuses the ID of an unreachable task: t1'],
    ['other agent', task({ agent_id: { value: 'b' } }), context(), 'Task uses invalid agent b while agent a is expected'],
    [
      'negative grace',
      task({ kill_policy: { grace_period: { nanoseconds: '-1' } } }),
      context(),
      "Task's 'kill_policy.grace_period' must be non-negative",
    ],
    ['no resources', task({ resources: [] }), context(), 'Task uses no resources'],
    ['both command and executor', task({ executor: { executor_id: { value: 'e' }, command: { value: 'x' } } }), context(), 'Task should have at least one (but not both) of CommandInfo or ExecutorInfo present'],
    [
      'more than offered',
      task({ resources: [cpus(3), mem(64)] }),
      context(),
      'Total resources cpus(allocated: dev):3; mem(allocated: dev):64 required by task and its executor is more than available cpus(allocated: dev):2; mem(allocated: dev):128; ports(allocated: dev):[31000-31010]',
    ],
    ['a port outside the offer', task({ resources: [cpus(1), port(32000)] }), context(), undefined],
    [
      'mixed allocation roles',
      task({ resources: [cpus(1), mem(1, { allocation_info: { role: 'ops' } })] }),
      context(),
      "Invalid task resources: The resources have multiple allocation roles ('ops' and 'dev') but only one allocation role is allowed",
    ],
    [
      'env var without value',
      task({ command: { value: 'x', environment: { variables: [{ name: 'A' }] } } }),
      context(),
      "Task's `CommandInfo` is invalid: Environment variable 'A' of type 'VALUE' must have a value set",
    ],
  ];
  for (const [name, t, ctx, expected] of table) {
    void test(name, () => {
      const got = validateTask(t, ctx, available);
      if (name === 'a port outside the offer') assert.match(got ?? '', /is more than available/);
      else assert.equal(got, expected);
    });
  }

  void test('custom executor: framework id, type and resources counted once per new executor', () => {
    const executor: ExecutorInfo = { executor_id: { value: 'e' }, framework_id: { value: 'f' }, command: { value: 'run' }, resources: [cpus(1), mem(64)] };
    const t = task({ command: undefined, executor });
    assert.equal(validateTask(t, context(), available), undefined);
    assert.match(validateTask(task({ command: undefined, executor, resources: [cpus(1.5), mem(64)] }), context(), available) ?? '', /more than available/);
    // An executor already running on the agent does not need its resources again.
    assert.equal(validateTask(task({ command: undefined, executor, resources: [cpus(1.5), mem(64)] }), context({}, { e: executor }), available), undefined);
    assert.equal(
      validateTask(task({ command: undefined, executor: { ...executor, framework_id: { value: 'g' } } }), context(), available),
      'ExecutorInfo has an invalid FrameworkID (Actual: g vs Expected: f)',
    );
    assert.equal(validateTask(task({ command: undefined, executor: { ...executor, type: 'DEFAULT', command: undefined } }), context(), available), "'ExecutorInfo.type' must be 'CUSTOM'");
  });

  void test('task group: executor minimums and per-task errors', () => {
    const executor: ExecutorInfo = { type: 'DEFAULT', executor_id: { value: 'e' }, framework_id: { value: 'f' }, resources: [cpus(0.1), mem(32), disk(10)] };
    const groupAvailable = [cpus(3), mem(256), disk(100)];
    const t1 = task({ command: { value: 'a' }, executor });
    const t2 = task({ task_id: { value: 't2' }, command: { value: 'b' }, executor });
    assert.equal(validateTaskGroup([t1, t2], executor, context(), groupAvailable), undefined);
    assert.equal(validateTaskGroup([t1, { ...t2, task_id: { value: 't1' } }], executor, context(), groupAvailable), "Task 't1' is invalid: Task has duplicate ID: t1");
    const withExecutor = (e: ExecutorInfo): TaskInfo[] => [task({ command: { value: 'a' }, executor: e })];
    const tiny = { ...executor, resources: [cpus(0.001), mem(32), disk(1)] };
    assert.equal(validateTaskGroup(withExecutor(tiny), tiny, context(), groupAvailable), "Executor 'e' uses less CPUs (0.001) than the minimum required (0.01)");
    const diskless = { ...executor, resources: [cpus(0.1), mem(32)] };
    assert.equal(validateTaskGroup(withExecutor(diskless), diskless, context(), groupAvailable), "Executor 'e' uses no disk");
    const untyped = { ...executor };
    delete untyped.type;
    assert.equal(validateTaskGroup(withExecutor(untyped), untyped, context(), groupAvailable), "'ExecutorInfo.type' must be set");
    assert.equal(validateTaskGroup([t1], tiny, context(), groupAvailable), "The `ExecutorInfo` of task 't1' is different from executor 'e'");
  });
});

void describe('offer operation validation', () => {
  const fw: FrameworkInfo = { user: 'u', name: 'n', id: { value: 'f' }, roles: ['dev'], capabilities: [{ type: 'MULTI_ROLE' }] };
  const reserved = (extra: Partial<Resource> = {}): Resource => cpus(1, { ...alloc, reservations: [{ type: 'DYNAMIC', role: 'dev', principal: 'p' }], ...extra });

  void test('RESERVE', () => {
    assert.equal(validateReserve([reserved()], fw), undefined);
    assert.match(validateReserve([cpus(1)], fw) ?? '', /is not dynamically reserved/);
    assert.match(
      validateReserve([reserved({ allocation_info: { role: 'ops' } })], fw) ?? '',
      /allocated to role 'ops'/,
    );
    assert.match(validateReserve([reserved({ reservations: [{ type: 'DYNAMIC', role: 'ops' }], allocation_info: { role: 'ops' } })], fw) ?? '', /the framework only has roles/);
  });

  void test('UNRESERVE refuses persistent volumes', () => {
    const volume = disk(10, { ...alloc, reservations: [{ type: 'DYNAMIC', role: 'dev' }], disk: { persistence: { id: 'v' }, volume: { container_path: 'd', mode: 'RW' } } });
    assert.match(validateUnreserve([volume]) ?? '', /cannot be unreserved directly/);
    assert.equal(validateUnreserve([reserved()]), undefined);
  });

  void test('CREATE and DESTROY', () => {
    const volume = disk(10, { ...alloc, reservations: [{ type: 'DYNAMIC', role: 'dev' }], disk: { persistence: { id: 'v' }, volume: { container_path: 'd', mode: 'RW' } } });
    assert.equal(validateCreate([volume], [], fw), undefined);
    assert.match(validateCreate([disk(10, { ...alloc, disk: { persistence: { id: 'v' }, volume: { container_path: 'd', mode: 'RW' } } })], [], fw) ?? '', /unreserved resources/);
    const plainVolume = { ...volume };
    delete plainVolume.allocation_info;
    assert.equal(validateCreate([volume], [plainVolume], fw), "Persistence ID 'v' is not unique");
    assert.equal(validateDestroy([volume], [], []), 'Persistent volumes not found');
    assert.equal(validateDestroy([volume], [plainVolume], [plainVolume]), 'Persistent volumes in use');
    assert.equal(validateDestroy([volume], [plainVolume], []), undefined);
  });
});
