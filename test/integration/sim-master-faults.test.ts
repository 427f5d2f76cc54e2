/**
 * Agent loss and flaky delivery (§L): partitions (UNREACHABLE, then back or GONE), crashes (LOST or GONE
 * per capability), and dropped or duplicated status updates, driven through the control API.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';
import { controlRoutes } from '../../src/sim/control-api.js';
import type { FrameworkInfo, Offer } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';
import { DEFAULT_FRAMEWORK, eventually, followTask, launch, rawRequest, TestScheduler } from './sim-master-harness.js';

let cluster: SimCluster;
let current: TestScheduler[] = [];

const AWARE: FrameworkInfo = { ...DEFAULT_FRAMEWORK, checkpoint: true, failover_timeout: 600, capabilities: [{ type: 'PARTITION_AWARE' }] };
const PLAIN: FrameworkInfo = { ...DEFAULT_FRAMEWORK, failover_timeout: 600 };

async function subscribe(info: FrameworkInfo): Promise<TestScheduler> {
  const s = await TestScheduler.subscribe(cluster.masterUrl, info);
  current.push(s);
  await s.next('SUBSCRIBED');
  return s;
}

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await rawRequest(`${cluster.masterUrl}/sim/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** A fresh agent for one test, and a running task of `s` on it. */
async function runningTaskOnNewAgent(s: TestScheduler, taskId: string): Promise<{ agentId: string; offer: Offer }> {
  const created = await control('POST', 'agents', { resources: 'cpus:1;mem:256' });
  assert.equal(created.status, 201);
  const agentId = String(created.json['id']);
  let offer: Offer | undefined;
  await eventually(async () => {
    for (const o of await s.offers()) {
      if (o.agent_id.value === agentId) offer = o;
      else await s.call({ type: 'DECLINE', decline: { offer_ids: [o.id], filters: { refuse_seconds: 60 } } });
    }
    return offer !== undefined;
  }, 10_000, 'an offer from the new agent');
  assert.ok(offer !== undefined);
  await launch(s, offer, [{ id: taskId, command: 'sleep 60' }]);
  await followTask(s, taskId, 'TASK_RUNNING');
  return { agentId, offer };
}

void before(async () => {
  cluster = await SimCluster.start({
    logger: testLogger('sim-master-faults'),
    port: 0,
    agents: 0,
    allocationIntervalMs: 100,
    statusUpdateRetry: { initialMs: 300, maxMs: 1000 },
    extraRoutes: controlRoutes,
  });
});

void afterEach(async () => {
  for (const s of current) {
    if (!s.closed) await s.call({ type: 'TEARDOWN' }).catch(() => undefined);
    await s.close();
  }
  current = [];
  await control('DELETE', 'faults/status-updates');
});

void after(async () => {
  await cluster.stop();
});

void describe('partitions', () => {
  void test('PARTITION_AWARE: TASK_UNREACHABLE with unreachable_time, FAILURE, reconciliation; back after heal', async () => {
    const s = await subscribe(AWARE);
    const { agentId } = await runningTaskOnNewAgent(s, 'p1');
    assert.equal((await control('POST', `agents/${agentId}/partition`)).status, 200);
    const unreachable = await s.update('p1');
    assert.equal(unreachable.state, 'TASK_UNREACHABLE');
    assert.equal(unreachable.reason, 'REASON_AGENT_REMOVED');
    assert.equal(unreachable.source, 'SOURCE_MASTER');
    assert.match(unreachable.unreachable_time?.nanoseconds ?? '', /^\d{19}$/);
    assert.equal(unreachable.uuid, undefined);
    assert.deepEqual((await s.next('FAILURE')).failure, { agent_id: { value: agentId } });

    await s.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'p1' }, agent_id: { value: agentId } }] } });
    const answer = await s.update('p1');
    assert.deepEqual([answer.state, answer.message], ['TASK_UNREACHABLE', 'Reconciliation: Task is unreachable']);
    assert.deepEqual(answer.unreachable_time, unreachable.unreachable_time);

    assert.equal((await control('POST', `agents/${agentId}/heal`)).status, 200);
    const back = await s.update('p1');
    assert.deepEqual([back.state, back.reason, back.source], ['TASK_RUNNING', 'REASON_AGENT_REREGISTERED', 'SOURCE_MASTER']);
    // The task is live again: a KILL reaches it.
    await s.call({ type: 'KILL', kill: { task_id: { value: 'p1' } } });
    assert.equal((await followTask(s, 'p1', 'terminal')).pop()?.state, 'TASK_KILLED');
    await control('DELETE', `agents/${agentId}`);
  });

  void test('without PARTITION_AWARE the same partition is TASK_LOST; marking the agent gone ends it', async () => {
    const s = await subscribe(PLAIN);
    const { agentId } = await runningTaskOnNewAgent(s, 'p2');
    await control('POST', `agents/${agentId}/partition`);
    const lost = await s.update('p2');
    assert.deepEqual([lost.state, lost.reason], ['TASK_LOST', 'REASON_AGENT_REMOVED']);
    assert.equal((await control('POST', `agents/${agentId}/gone`)).status, 200);
    const gone = await s.update('p2');
    assert.deepEqual([gone.state, gone.message], ['TASK_LOST', 'Agent has been marked gone']);
    await s.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'p2' }, agent_id: { value: agentId } }] } });
    assert.equal((await s.update('p2')).message, 'Reconciliation: Task is gone');
  });

  void test('PARTITION_AWARE: an unreachable agent marked gone gives TASK_GONE_BY_OPERATOR', async () => {
    const s = await subscribe(AWARE);
    const { agentId } = await runningTaskOnNewAgent(s, 'p3');
    await control('POST', `agents/${agentId}/partition`);
    assert.equal((await s.update('p3')).state, 'TASK_UNREACHABLE');
    await control('POST', `agents/${agentId}/gone`);
    const gone = await s.update('p3');
    assert.deepEqual([gone.state, gone.reason], ['TASK_GONE_BY_OPERATOR', 'REASON_AGENT_REMOVED_BY_OPERATOR']);
  });
});

void describe('partition blips', () => {
  void test('a partition healed before its unreachable delay goes unnoticed by the framework', async () => {
    const s = await subscribe(AWARE);
    const { agentId } = await runningTaskOnNewAgent(s, 'blip');
    assert.equal((await control('POST', `agents/${agentId}/partition`, { unreachableAfterMs: 60_000 })).status, 200);
    assert.equal((await control('POST', `agents/${agentId}/heal`)).status, 200);
    await s.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'blip' }, agent_id: { value: agentId } }] } });
    const answer = await s.update('blip');
    assert.deepEqual([answer.state, answer.reason], ['TASK_RUNNING', 'REASON_RECONCILIATION']);
    assert.equal(s.events.some((e) => e.type === 'FAILURE'), false);
    await control('DELETE', `agents/${agentId}`);
  });
});

void describe('crashes', () => {
  void test('a crashed agent restarts: the task processes are dead, tasks are GONE (PARTITION_AWARE) or LOST', async () => {
    const aware = await subscribe(AWARE);
    const { agentId } = await runningTaskOnNewAgent(aware, 'c-aware');
    // Subscribed only now, so that it cannot take the new agent's first offer.
    const plain = await subscribe(PLAIN);
    // The plain framework gets its own offer on the same agent.
    let offer: Offer | undefined;
    await eventually(async () => {
      offer = (await plain.offers()).find((o) => o.agent_id.value === agentId);
      return offer !== undefined;
    }, 10_000, 'an offer for the second framework');
    assert.ok(offer !== undefined);
    await launch(plain, offer, [{ id: 'c-plain', command: 'sleep 60' }]);
    await followTask(plain, 'c-plain', 'TASK_RUNNING');
    const pids = cluster.agentSummaries().find((a) => a.id === agentId)?.pids ?? [];
    assert.ok(pids.length >= 2);

    assert.equal((await control('POST', `agents/${agentId}/crash`, { restart: true })).status, 200);
    const lost = await plain.update('c-plain');
    assert.deepEqual([lost.state, lost.reason], ['TASK_LOST', 'REASON_AGENT_DISCONNECTED']);
    const gone = await aware.update('c-aware');
    assert.deepEqual([gone.state, gone.reason, gone.source], ['TASK_GONE', 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', 'SOURCE_AGENT']);
    await aware.ack(gone);
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), 'the task process died with the agent');
    }
    await control('DELETE', `agents/${agentId}`);
  });

  void test('a crashed agent that stays down is marked unreachable', async () => {
    const s = await subscribe(AWARE);
    const { agentId } = await runningTaskOnNewAgent(s, 'c-down');
    await control('POST', `agents/${agentId}/crash`, { restart: false });
    await control('POST', `agents/${agentId}/unreachable`);
    assert.equal((await s.update('c-down')).state, 'TASK_UNREACHABLE');
    await control('POST', `agents/${agentId}/gone`);
  });
});

void describe('status update faults', () => {
  void test('a dropped update comes back through the agent retry; a duplicated one arrives twice with the same uuid', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const created = await control('POST', 'agents', { resources: 'cpus:1;mem:256' });
    const agentId = String(created.json['id']);
    let offer: Offer | undefined;
    await eventually(async () => {
      offer = (await s.offers()).find((o) => o.agent_id.value === agentId);
      return offer !== undefined;
    }, 10_000, 'an offer');
    assert.ok(offer !== undefined);
    assert.equal((await control('POST', 'faults/status-updates', { action: 'drop', taskId: 'f1', state: 'TASK_RUNNING', count: 1 })).status, 201);
    assert.equal((await control('POST', 'faults/status-updates', { action: 'duplicate', taskId: 'f1', state: 'TASK_FINISHED', count: 1 })).status, 201);
    await launch(s, offer, [{ id: 'f1', command: 'sleep 0.3' }]);
    await s.ack(await s.update('f1', 'TASK_STARTING'));
    const running = await s.update('f1', 'TASK_RUNNING', 15_000);
    await s.ack(running);
    const finished = await s.update('f1', 'TASK_FINISHED');
    const again = await s.update('f1', 'TASK_FINISHED');
    assert.ok(again.uuid?.equals(finished.uuid ?? Buffer.alloc(0)));
    await s.ack(finished);
    const faults = await control('GET', 'cluster');
    const rules = faults.json['faults'] as Array<{ action: string; applied: number }>;
    assert.deepEqual(rules.map((r) => [r.action, r.applied]), [['drop', 1], ['duplicate', 1]]);
    await control('DELETE', `agents/${agentId}`);
  });

  void test('control API errors are JSON', async () => {
    const unknown = await control('POST', 'agents/nope/crash');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json['error']), /unknown agent/);
    const bad = await control('POST', 'faults/status-updates', { action: 'explode' });
    assert.equal(bad.status, 400);
  });
});
