/**
 * Tasks through the sim master with real processes (§J, §K): a scheduler made of undici and the codecs
 * launches shell commands and sees STARTING → RUNNING → FINISHED; validation errors; KILL; the one
 * unacknowledged update per task rule; reconciliation answers; LAUNCH_GROUP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';
import type { FrameworkInfo, Offer, TaskStatus } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';
import { DEFAULT_FRAMEWORK, followTask, launch, taskResources, TestScheduler } from './sim-master-harness.js';

let cluster: SimCluster;
let current: TestScheduler[] = [];
const PARTITION_AWARE: FrameworkInfo = { ...DEFAULT_FRAMEWORK, capabilities: [{ type: 'PARTITION_AWARE' }] };

async function subscribe(info: FrameworkInfo): Promise<TestScheduler> {
  const s = await TestScheduler.subscribe(cluster.masterUrl, info);
  current.push(s);
  await s.next('SUBSCRIBED');
  return s;
}

async function oneOffer(s: TestScheduler): Promise<Offer> {
  const [offer] = await s.offers();
  assert.ok(offer !== undefined);
  return offer;
}

void before(async () => {
  cluster = await SimCluster.start({
    logger: testLogger('sim-master-tasks'),
    port: 0,
    agents: 1,
    allocationIntervalMs: 100,
    statusUpdateRetry: { initialMs: 300, maxMs: 1000 },
  });
});

void afterEach(async () => {
  for (const s of current) {
    if (!s.closed) await s.call({ type: 'TEARDOWN' }).catch(() => undefined);
    await s.close();
  }
  current = [];
});

void after(async () => {
  await cluster.stop();
});

void describe('launching real tasks', () => {
  void test('STARTING → RUNNING → FINISHED, each acknowledged, with uuid, agent, executor and container status', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const offer = await oneOffer(s);
    assert.equal((await launch(s, offer, [{ id: 'sleeper', command: 'sleep 0.2' }])).status, 202);
    const updates = await followTask(s, 'sleeper', 'TASK_FINISHED');
    assert.deepEqual(updates.map((u) => u.state), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    for (const u of updates) {
      assert.equal(u.uuid?.length, 16);
      assert.equal(u.source, 'SOURCE_EXECUTOR');
      assert.equal(u.agent_id?.value, offer.agent_id.value);
      assert.equal(u.executor_id?.value, 'sleeper');
      assert.ok(u.container_status?.container_id !== undefined);
    }
  });

  void test('the same over protobuf: protobuf calls, protobuf events, acknowledged uuids', async () => {
    const s = await TestScheduler.subscribe(cluster.masterUrl, DEFAULT_FRAMEWORK, { contentType: 'application/x-protobuf', accept: 'application/x-protobuf' });
    current.push(s);
    assert.equal(s.responseHeaders['content-type'], 'application/x-protobuf');
    await s.next('SUBSCRIBED');
    const offer = await oneOffer(s);
    assert.equal((await launch(s, offer, [{ id: 'proto', command: 'echo protobuf' }])).status, 202);
    const states = (await followTask(s, 'proto', 'terminal')).map((u) => u.state);
    assert.deepEqual(states, ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  });

  void test('a failing command ends in TASK_FAILED with its exit status; echo finishes', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const offer = await oneOffer(s);
    await launch(s, offer, [
      { id: 'fails', command: 'exit 3' },
      { id: 'echoes', command: 'echo hello' },
    ]);
    const failed = (await followTask(s, 'fails', 'terminal')).pop();
    assert.equal(failed?.state, 'TASK_FAILED');
    assert.equal(failed?.message, 'Command exited with status 3');
    assert.equal((await followTask(s, 'echoes', 'terminal')).pop()?.state, 'TASK_FINISHED');
  });

  void test('validation failures are TASK_ERROR from the master, without uuid', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const offer = await oneOffer(s);
    await launch(s, offer, [
      { id: 'ok', command: 'sleep 5' },
      { id: 'ok', command: 'true' },
      { id: 'huge', command: 'true', cpus: 100 },
      { id: 'bad/id', command: 'true' },
      { id: 'nores', command: 'true', extra: { resources: [] } },
    ]);
    const dup = await s.update('ok', 'TASK_ERROR');
    assert.equal(dup.message, 'Task has duplicate ID: ok');
    assert.equal(dup.reason, 'REASON_TASK_INVALID');
    assert.equal(dup.source, 'SOURCE_MASTER');
    assert.equal(dup.uuid, undefined);
    assert.equal(dup.agent_id?.value, offer.agent_id.value);
    assert.match((await s.update('huge', 'TASK_ERROR')).message ?? '', /^Total resources cpus\(allocated: \*\):100; mem\(allocated: \*\):32 required by task and its executor is more than available /);
    assert.equal((await s.update('bad/id', 'TASK_ERROR')).message, "'bad/id' contains invalid characters");
    assert.equal((await s.update('nores', 'TASK_ERROR')).message, 'Task uses no resources');
    await s.call({ type: 'KILL', kill: { task_id: { value: 'ok' } } });
    assert.equal((await followTask(s, 'ok', 'terminal')).pop()?.state, 'TASK_KILLED');
  });

  void test('offers used twice or empty ACCEPTs: TASK_DROPPED for PARTITION_AWARE, TASK_LOST otherwise', async () => {
    for (const info of [PARTITION_AWARE, DEFAULT_FRAMEWORK]) {
      const s = await subscribe(info);
      const offer = await oneOffer(s);
      await launch(s, offer, [{ id: 'first', command: 'true' }], { refuse_seconds: 0 });
      await launch(s, offer, [{ id: 'second', command: 'true' }]);
      const second = await s.update('second');
      assert.equal(second.state, info === PARTITION_AWARE ? 'TASK_DROPPED' : 'TASK_LOST');
      assert.equal(second.reason, 'REASON_INVALID_OFFERS');
      assert.equal(second.message, `Task launched with invalid offers: Offer ${offer.id.value} is no longer valid`);
      await s.call({ type: 'ACCEPT', accept: { offer_ids: [], operations: [{ type: 'LAUNCH', launch: { task_infos: [{ name: 'x', task_id: { value: 'none' }, agent_id: offer.agent_id, resources: taskResources(), command: { value: 'true' } }] } }] } });
      assert.equal((await s.update('none')).message, 'Task launched with invalid offers: No offers specified');
      await followTask(s, 'first', 'terminal');
      await s.call({ type: 'TEARDOWN' });
    }
  });

  void test('LAUNCH_GROUP runs the group under a default executor', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const offer = await oneOffer(s);
    const executor = {
      type: 'DEFAULT' as const,
      executor_id: { value: 'group-exec' },
      resources: [...taskResources(0.1, 32), { name: 'disk', type: 'SCALAR' as const, scalar: { value: 10 } }],
    };
    await s.call({
      type: 'ACCEPT',
      accept: {
        offer_ids: [offer.id],
        operations: [
          {
            type: 'LAUNCH_GROUP',
            launch_group: {
              executor,
              task_group: {
                tasks: ['g1', 'g2'].map((id) => ({ name: id, task_id: { value: id }, agent_id: offer.agent_id, resources: taskResources(), command: { value: 'sleep 0.2' } })),
              },
            },
          },
        ],
      },
    });
    for (const id of ['g1', 'g2']) {
      const states = (await followTask(s, id, 'terminal')).map((u) => u.state);
      assert.equal(states.at(-1), 'TASK_FINISHED');
      assert.ok(states.includes('TASK_RUNNING'));
    }
  });
});

void describe('acknowledgements and kills', () => {
  void test('one unacknowledged update per task: without an ACK, STARTING is retried and RUNNING waits', async () => {
    const s = await subscribe(DEFAULT_FRAMEWORK);
    const offer = await oneOffer(s);
    await launch(s, offer, [{ id: 'patient', command: 'sleep 30' }]);
    const first = await s.update('patient', 'TASK_STARTING');
    const retry = await s.update('patient', undefined, 10_000);
    assert.equal(retry.state, 'TASK_STARTING', 'the same update again, not RUNNING');
    assert.ok(retry.uuid?.equals(first.uuid ?? Buffer.alloc(0)));
    await s.ack(retry);
    assert.equal((await s.update('patient')).state, 'TASK_RUNNING');
  });

  void test('KILL of a running task gives TASK_KILLED; KILL of an unknown task is answered by reconciliation', async () => {
    const s = await subscribe(PARTITION_AWARE);
    const offer = await oneOffer(s);
    await launch(s, offer, [
      { id: 'victim', command: 'sleep 30', extra: { kill_policy: { grace_period: { nanoseconds: '200000000' } } } },
    ]);
    await followTask(s, 'victim', 'TASK_RUNNING');
    assert.equal((await s.call({ type: 'KILL', kill: { task_id: { value: 'victim' } } })).status, 202);
    assert.equal((await followTask(s, 'victim', 'terminal')).pop()?.state, 'TASK_KILLED');

    await s.call({ type: 'KILL', kill: { task_id: { value: 'ghost' }, agent_id: offer.agent_id } });
    const ghost = await s.update('ghost');
    assert.deepEqual([ghost.state, ghost.reason, ghost.message], ['TASK_GONE', 'REASON_RECONCILIATION', 'Reconciliation: Task is unknown to the agent']);
    await s.call({ type: 'KILL', kill: { task_id: { value: 'phantom' } } });
    assert.equal((await s.update('phantom')).state, 'TASK_UNKNOWN');
  });
});

void describe('reconciliation', () => {
  void test('implicit: every live task; explicit: latest state, GONE once the terminal update was acknowledged', async () => {
    const s = await subscribe(PARTITION_AWARE);
    const offer = await oneOffer(s);
    await launch(s, offer, [
      { id: 'r1', command: 'sleep 30' },
      { id: 'r2', command: 'true' },
    ]);
    await followTask(s, 'r1', 'TASK_RUNNING');
    await followTask(s, 'r2', 'TASK_FINISHED');
    assert.equal((await s.call({ type: 'RECONCILE', reconcile: {} })).status, 202);
    const implicit: TaskStatus = await s.update('r1', 'TASK_RUNNING');
    assert.equal(implicit.reason, 'REASON_RECONCILIATION');
    assert.equal(implicit.message, 'Reconciliation: Latest task state');
    assert.equal(implicit.source, 'SOURCE_MASTER');
    assert.equal(implicit.uuid, undefined);

    await s.call({ type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'r2' }, agent_id: offer.agent_id }, { task_id: { value: 'r1' } }] } });
    const r2 = await s.update('r2');
    assert.equal(r2.state, 'TASK_GONE', 'a finished and acknowledged task is no longer known');
    assert.equal((await s.update('r1')).state, 'TASK_RUNNING');
    assert.equal(s.peek('UPDATE').some((e) => e.update.status.task_id.value === 'r2'), false, 'r2 was not in the implicit answer');
  });
});

/** A tiny custom executor speaking the v1 executor API in JSON: RUNNING on LAUNCH, echoes MESSAGEs, KILLED on SHUTDOWN. */
const EXECUTOR_SOURCE = String.raw`
import http from 'node:http';
import { randomUUID } from 'node:crypto';
const [host, port] = process.env.MESOS_AGENT_ENDPOINT.split(':');
const ids = { executor_id: { value: process.env.MESOS_EXECUTOR_ID }, framework_id: { value: process.env.MESOS_FRAMEWORK_ID } };
const tasks = new Set();
function post(call) {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify({ ...ids, ...call }));
    const req = http.request({ host, port, path: '/api/v1/executor', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
    req.end(body);
  });
}
const uuid = () => Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64');
const update = (taskId, state) => post({ type: 'UPDATE', update: { status: { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR', executor_id: ids.executor_id, uuid: uuid() } } });
const req = http.request({ host, port, path: '/api/v1/executor', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' } }, (res) => {
  let buf = Buffer.alloc(0);
  res.on('data', async (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl === -1) return;
      const len = Number(buf.subarray(0, nl).toString());
      if (buf.length < nl + 1 + len) return;
      const event = JSON.parse(buf.subarray(nl + 1, nl + 1 + len).toString());
      buf = buf.subarray(nl + 1 + len);
      if (event.type === 'LAUNCH') { tasks.add(event.launch.task.task_id.value); await update(event.launch.task.task_id.value, 'TASK_RUNNING'); }
      if (event.type === 'MESSAGE') {
        const text = Buffer.from(event.message.data, 'base64').toString();
        await post({ type: 'MESSAGE', message: { data: Buffer.from('echo:' + text).toString('base64') } });
      }
      if (event.type === 'SHUTDOWN') { for (const t of tasks) await update(t, 'TASK_KILLED'); setTimeout(() => process.exit(0), 200); }
    }
  });
});
req.end(JSON.stringify({ ...ids, type: 'SUBSCRIBE', subscribe: {} }));
`;

void describe('custom executors', () => {
  void test('MESSAGE both ways, executor_ids in offers, SHUTDOWN, then FAILURE with the exit status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmf-sim-executor-'));
    const script = join(dir, 'executor.mjs');
    writeFileSync(script, EXECUTOR_SOURCE);
    try {
      const s = await subscribe(DEFAULT_FRAMEWORK);
      const offer = await oneOffer(s);
      const executor = { executor_id: { value: 'exec-1' }, command: { value: `${process.execPath} ${script}` }, resources: taskResources(0.1, 32) };
      await launch(s, offer, [{ id: 'custom', command: '', extra: { command: undefined, executor } }], { refuse_seconds: 0 });
      const running = await s.update('custom', 'TASK_RUNNING', 30_000);
      assert.equal(running.executor_id?.value, 'exec-1');
      await s.ack(running);

      assert.equal((await s.call({ type: 'MESSAGE', message: { agent_id: offer.agent_id, executor_id: { value: 'exec-1' }, data: Buffer.from('ping') } })).status, 202);
      const reply = await s.next('MESSAGE');
      assert.equal(reply.message.data.toString(), 'echo:ping');
      assert.equal(reply.message.executor_id.value, 'exec-1');
      assert.equal(reply.message.agent_id.value, offer.agent_id.value);

      const again = await s.next('OFFERS', (e) => (e.offers.offers ?? []).some((o) => o.agent_id.value === offer.agent_id.value));
      const sameAgent = (again.offers.offers ?? []).find((o) => o.agent_id.value === offer.agent_id.value);
      assert.deepEqual(sameAgent?.executor_ids, [{ value: 'exec-1' }]);

      await s.call({ type: 'SHUTDOWN', shutdown: { executor_id: { value: 'exec-1' }, agent_id: offer.agent_id } });
      const killed = await s.update('custom', 'TASK_KILLED', 30_000);
      await s.ack(killed);
      const failure = await s.next('FAILURE', (e) => e.failure.executor_id?.value === 'exec-1', 30_000);
      assert.equal(failure.failure.agent_id?.value, offer.agent_id.value);
      assert.equal(failure.failure.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
