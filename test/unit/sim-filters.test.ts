import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource, TaskStatus } from '../../src/mesos/types.js';
import { FrameworkFilters, refuseDurationMs } from '../../src/sim/master/filters.js';
import { acceptsMediaType, negotiateEventContentType } from '../../src/sim/master/accept-header.js';
import { createMasterInfo, masterInfoZooKeeperJson, packIPv4 } from '../../src/sim/master/master-info.js';
import { StatusUpdateFaults } from '../../src/sim/master/faults.js';
import { reconcileTasks, type AgentStanding, type ReconcileView } from '../../src/sim/master/reconcile.js';
import type { MasterTask } from '../../src/sim/master/model.js';

const cpus = (v: number): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value: v }, allocation_info: { role: 'r' } });
const mem = (v: number): Resource => ({ name: 'mem', type: 'SCALAR', scalar: { value: v }, allocation_info: { role: 'r' } });

void describe('decline filters (item 120)', () => {
  void test('refuse_seconds: default 5 s, capped at a year, negative → 5 s, 0 → none, at least one allocation interval', () => {
    assert.equal(refuseDurationMs(undefined, 1000), 5000);
    assert.equal(refuseDurationMs({}, 1000), 5000);
    assert.equal(refuseDurationMs({ refuse_seconds: 0 }, 1000), undefined);
    assert.equal(refuseDurationMs({ refuse_seconds: -3 }, 1000), 5000);
    assert.equal(refuseDurationMs({ refuse_seconds: Number.NaN }, 1000), 5000);
    assert.equal(refuseDurationMs({ refuse_seconds: 1e12 }, 1000), 365 * 24 * 3600 * 1000);
    assert.equal(refuseDurationMs({ refuse_seconds: Number.POSITIVE_INFINITY }, 1000), 365 * 24 * 3600 * 1000);
    assert.equal(refuseDurationMs({ refuse_seconds: 0.1 }, 1000), 1000);
  });

  void test('a filter hides offers that are a subset of what was refused, per role and agent, until it expires', () => {
    const f = new FrameworkFilters();
    f.add('r', 'a1', [cpus(2), mem(100)], 5000, 0);
    assert.equal(f.filtered('r', 'a1', [cpus(1), mem(100)], 1000), true);
    assert.equal(f.filtered('r', 'a1', [cpus(3), mem(100)], 1000), false, 'more resources than refused are offered again');
    assert.equal(f.filtered('other', 'a1', [cpus(1)], 1000), false);
    assert.equal(f.filtered('r', 'a2', [cpus(1)], 1000), false);
    assert.equal(f.filtered('r', 'a1', [cpus(1)], 5001), false, 'expired');
    assert.equal(f.count(5001), 0);
  });

  void test('REVIVE clears the filters of the given roles only', () => {
    const f = new FrameworkFilters();
    f.add('a', 'x', [cpus(1)], 5000, 0);
    f.add('b', 'x', [cpus(1)], 5000, 0);
    f.clear(['a']);
    assert.equal(f.filtered('a', 'x', [cpus(1)], 1), false);
    assert.equal(f.filtered('b', 'x', [cpus(1)], 1), true);
    f.clear();
    assert.equal(f.count(1), 0);
  });
});

void describe('Accept negotiation (item 17)', () => {
  void test('missing Accept means JSON; JSON wins when both are acceptable', () => {
    assert.equal(negotiateEventContentType(undefined), 'application/json');
    assert.equal(negotiateEventContentType('application/x-protobuf, application/json'), 'application/json');
    assert.equal(negotiateEventContentType('*/*'), 'application/json');
    assert.equal(negotiateEventContentType('application/*'), 'application/json');
  });
  void test('protobuf only, q=0 and unrelated types', () => {
    assert.equal(negotiateEventContentType('application/x-protobuf'), 'application/x-protobuf');
    assert.equal(negotiateEventContentType('application/json;q=0, application/x-protobuf'), 'application/x-protobuf');
    assert.equal(negotiateEventContentType('text/html'), undefined);
    assert.equal(negotiateEventContentType('application/recordio'), undefined);
    assert.equal(acceptsMediaType('application/*;q=0, application/json', 'application/json'), true);
    assert.equal(acceptsMediaType('application/*;q=0, application/json', 'application/x-protobuf'), false);
  });
});

void describe('MasterInfo', () => {
  void test('ip is the IPv4 address in network order read as a little-endian uint32 (item 200)', () => {
    assert.equal(packIPv4('10.0.0.11'), 184549386);
    assert.equal(packIPv4('127.0.0.1'), 16777343);
    assert.equal(packIPv4('255.255.255.255'), 4294967295);
  });
  void test('capabilities end with the empty QUOTA_V2 object; the znode JSON is alphabetical with v0 names', () => {
    const info = createMasterInfo({ id: '6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10', hostname: 'm1.example.com', ip: '10.0.0.11', port: 5050 });
    assert.deepEqual(info.capabilities, [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, {}]);
    assert.equal(
      masterInfoZooKeeperJson(info),
      '{"address":{"hostname":"m1.example.com","ip":"10.0.0.11","port":5050},"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],"hostname":"m1.example.com","id":"6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10","ip":184549386,"pid":"master@10.0.0.11:5050","port":5050,"version":"1.11.0"}',
    );
  });
});

void describe('status update fault rules', () => {
  const status = (taskId: string, state: TaskStatus['state']): TaskStatus => ({ task_id: { value: taskId }, state });
  void test('matching by task and state, limited counts, first rule wins', () => {
    const faults = new StatusUpdateFaults();
    faults.add({ action: 'drop', taskId: 't1', state: 'TASK_RUNNING', count: 1 });
    faults.add({ action: 'duplicate', agentId: 'a' });
    assert.equal(faults.decide('a', status('t1', 'TASK_RUNNING')).action, 'drop');
    assert.equal(faults.decide('a', status('t1', 'TASK_RUNNING')).action, 'duplicate');
    assert.equal(faults.decide('b', status('t1', 'TASK_RUNNING')).action, 'deliver');
    assert.deepEqual(faults.list().map((r) => [r.action, r.applied, r.remaining]), [['drop', 1, 0], ['duplicate', 1, null]]);
    faults.clear();
    assert.equal(faults.decide('a', status('t2', 'TASK_RUNNING')).action, 'deliver');
  });
  void test('delays need a duration', () => {
    const faults = new StatusUpdateFaults();
    assert.throws(() => faults.add({ action: 'delay' }), /delayMs/);
    const id = faults.add({ action: 'delay', delayMs: 50 });
    assert.deepEqual(faults.decide('a', status('t', 'TASK_FINISHED')), { action: 'delay', delayMs: 50 });
    assert.equal(faults.remove(id), true);
  });
});

void describe('reconciliation answers (§K)', () => {
  const known: MasterTask = {
    info: { name: 't', task_id: { value: 'known' }, agent_id: { value: 'a1' } },
    frameworkId: 'f',
    agentId: 'a1',
    state: 'TASK_FINISHED',
    statusUpdateState: 'TASK_RUNNING',
    statuses: [{ task_id: { value: 'known' }, state: 'TASK_RUNNING', healthy: true }],
    role: '*',
  };
  const standing: Record<string, AgentStanding> = { a1: 'registered', a2: 'unreachable', a3: 'gone', a4: 'recovering' };
  const view = (partitionAware: boolean, recovering = false): ReconcileView => ({
    partitionAware,
    task: (id) => (id === 'known' ? known : undefined),
    tasks: () => [known],
    agentStanding: (id) => standing[id] ?? 'unknown',
    unreachableTime: (id) => (id === 'a2' ? { nanoseconds: '1700000000000000000' } : undefined),
    anyAgentRecovering: () => recovering,
  });
  const ask = (taskId: string, agentId?: string): { task_id: { value: string }; agent_id?: { value: string } } =>
    agentId === undefined ? { task_id: { value: taskId } } : { task_id: { value: taskId }, agent_id: { value: agentId } };

  void test('implicit: every known task with the state of its last forwarded update', () => {
    const [s] = reconcileTasks(view(true), []);
    assert.equal(s?.state, 'TASK_RUNNING');
    assert.equal(s?.reason, 'REASON_RECONCILIATION');
    assert.equal(s?.source, 'SOURCE_MASTER');
    assert.equal(s?.message, 'Reconciliation: Latest task state');
    assert.equal(s?.healthy, true);
    assert.equal(s?.uuid, undefined);
  });

  void test('explicit, PARTITION_AWARE', () => {
    const out = reconcileTasks(view(true), [ask('known'), ask('x', 'a1'), ask('x', 'a2'), ask('x', 'a3'), ask('x', 'a9'), ask('x'), ask('x', 'a4')]);
    assert.deepEqual(
      out.map((s) => [s.state, s.message]),
      [
        ['TASK_RUNNING', 'Reconciliation: Latest task state'],
        ['TASK_GONE', 'Reconciliation: Task is unknown to the agent'],
        ['TASK_UNREACHABLE', 'Reconciliation: Task is unreachable'],
        ['TASK_GONE_BY_OPERATOR', 'Reconciliation: Task is gone'],
        ['TASK_UNKNOWN', 'Reconciliation: Task is unknown'],
        ['TASK_UNKNOWN', 'Reconciliation: Task is unknown'],
      ],
    );
    assert.deepEqual(out[2]?.unreachable_time, { nanoseconds: '1700000000000000000' });
    assert.equal(out[5]?.agent_id, undefined);
  });

  void test('explicit without PARTITION_AWARE: LOST instead; no answer while agents recover', () => {
    const out = reconcileTasks(view(false), [ask('x', 'a1'), ask('x', 'a2'), ask('x', 'a3'), ask('x', 'a9')]);
    assert.deepEqual(out.map((s) => s.state), ['TASK_LOST', 'TASK_LOST', 'TASK_LOST', 'TASK_LOST']);
    assert.deepEqual(reconcileTasks(view(true, true), [ask('x')]), []);
  });
});
