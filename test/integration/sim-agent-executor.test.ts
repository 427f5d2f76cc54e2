/**
 * SimAgent and custom executors: a real executor process (sim-agent-fixture-executor.ts) speaking the
 * executor HTTP API; the API's status codes; registration timeout; and synthetic mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { encodeMessage } from '../../src/mesos/codec.js';
import type { ExecutorInfo, TaskInfo } from '../../src/mesos/types.js';
import type { ExecutorCall } from '../../src/sim/agent/executor-messages.js';
import { commandTask, framework, startAgent, TERMINAL, type Harness } from '../helpers/sim-agent-harness.js';

const FIXTURE = fileURLToPath(new URL('./sim-agent-fixture-executor.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

function executorInfo(id: string, command: ExecutorInfo['command']): ExecutorInfo {
  return { type: 'CUSTOM', executor_id: { value: id }, framework_id: { value: 'fw-0000' }, command, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } }] };
}

const nodeExecutor = (id: string): ExecutorInfo =>
  executorInfo(id, { shell: false, value: process.execPath, arguments: ['node', '--import', TSX, FIXTURE] });

function taskFor(id: string, executor: ExecutorInfo, data?: string): TaskInfo {
  const { command: _none, ...rest } = commandTask(id, {});
  return { ...rest, executor, ...(data === undefined ? {} : { data: Buffer.from(data) }) };
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>, method = 'POST'): Promise<{ code: number; text: string; headers: Record<string, unknown> }> {
  const res = await request(url, { method: method as 'POST', headers, body: method === 'GET' ? null : body });
  return { code: res.statusCode, text: await res.body.text(), headers: res.headers };
}

const call = (c: ExecutorCall): Buffer => encodeMessage('mesos.v1.executor.Call', c, 'application/json');

void describe('SimAgent custom executor', () => {
  let h: Harness;
  void before(async () => {
    h = await startAgent();
  });
  void after(async () => {
    await h.cleanup();
  });

  void test('the executor subscribes, gets LAUNCH, KILL and MESSAGE; its exit fails the tasks it left', async () => {
    const exec = nodeExecutor('exec-1');
    h.agent.launchTasks(framework(), [taskFor('ce-1', exec, 'payload-1')]);
    const running = await h.uplink.waitForState('ce-1', ['TASK_RUNNING']);
    assert.equal(running.source, 'SOURCE_EXECUTOR');
    assert.equal(running.executor_id?.value, 'exec-1');
    assert.equal(running.agent_id?.value, 'M-S0');
    assert.equal(running.data?.toString(), 'payload-1');
    assert.ok((running.container_status?.executor_pid ?? 0) > 0);

    // A second task for the running executor is delivered straight away.
    h.agent.launchTasks(framework(), [taskFor('ce-2', exec)]);
    await h.uplink.waitForState('ce-2', ['TASK_RUNNING']);

    h.agent.frameworkMessage('fw-0000', 'exec-1', Buffer.from('ping'));
    const msg = await h.uplink.waitFor('echoed message', () => h.uplink.messages.find((m) => m.executorId === 'exec-1'));
    assert.equal(msg.data.toString(), 'echo:ping');

    h.agent.killTask('fw-0000', 'ce-1');
    assert.equal((await h.uplink.waitForState('ce-1', TERMINAL)).state, 'TASK_KILLED');
    // The executor exits after its TASK_KILLED is acknowledged; ce-2 is left behind.
    const left = await h.uplink.waitForState('ce-2', TERMINAL);
    assert.equal(left.state, 'TASK_FAILED');
    assert.equal(left.source, 'SOURCE_AGENT');
    assert.equal(left.reason, 'REASON_EXECUTOR_TERMINATED');
    assert.equal(left.message, 'Executor terminated');
    const exit = await h.uplink.waitFor('executor exit', () => h.uplink.exits.find((e) => e.executorId === 'exec-1'));
    assert.equal(exit.waitStatus, 0);

    const sandbox = join(h.workDir, 'slaves', 'M-S0', 'frameworks', 'fw-0000', 'executors', 'exec-1', 'runs', 'latest');
    const events = readFileSync(join(sandbox, 'events.log'), 'utf8').split('\n');
    assert.equal(events[0], 'subscribe 200 application/x-protobuf stream-id:undefined');
    assert.equal(events[1], 'SUBSCRIBED');
    assert.match(events[2] ?? '', /^container [0-9a-f-]{36} agent M-S0$/);
    for (const e of ['LAUNCH', 'UPDATE TASK_RUNNING -> 202', 'ACKNOWLEDGED', 'MESSAGE', 'KILL', 'UPDATE TASK_KILLED -> 202']) {
      assert.ok(events.includes(e), `events.log has ${e}: ${events.join(' | ')}`);
    }
  });

  void test('SHUTDOWN reaches a subscribed executor; the tasks it leaves fail', async () => {
    h.agent.launchTasks(framework(), [taskFor('sd-1', nodeExecutor('exec-sd'))]);
    await h.uplink.waitForState('sd-1', ['TASK_RUNNING']);
    h.agent.shutdownExecutor('fw-0000', 'exec-sd');
    const s = await h.uplink.waitForState('sd-1', TERMINAL);
    assert.deepEqual([s.state, s.source, s.reason], ['TASK_FAILED', 'SOURCE_AGENT', 'REASON_EXECUTOR_TERMINATED']);
    const exit = await h.uplink.waitFor('executor exit', () => h.uplink.exits.find((e) => e.executorId === 'exec-sd'));
    assert.equal(exit.waitStatus, 0, 'the executor exited by itself on SHUTDOWN');
    const sandbox = join(h.workDir, 'slaves', 'M-S0', 'frameworks', 'fw-0000', 'executors', 'exec-sd', 'runs', 'latest');
    assert.ok(readFileSync(join(sandbox, 'events.log'), 'utf8').split('\n').includes('SHUTDOWN'));
  });

  void test('executor API status codes follow the agent check order', async () => {
    const { port } = h.agent.endpoint;
    const url = `http://127.0.0.1:${port}/api/v1/executor`;
    const json = { 'content-type': 'application/json' };
    const ids = { framework_id: { value: 'fw-0000' }, executor_id: { value: 'idle-exec' } };

    // An executor that never subscribes stays "registering".
    h.agent.launchTasks(framework(), [taskFor('idle-1', executorInfo('idle-exec', { value: 'sleep 100' }))]);
    await h.uplink.waitFor('idle executor process', () => h.agent.processIds().length > 0);

    const get = await post(url, '', {}, 'GET');
    assert.equal(get.code, 405);
    assert.equal(get.headers['allow'], 'POST');
    assert.equal((await post(url, '{}', {})).text, "Expecting 'Content-Type' to be present");
    const badType = await post(url, '{}', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(badType.code, 415);
    assert.equal(badType.text, 'Expecting \'Content-Type\' of application/json or application/x-protobuf');
    const badJson = await post(url, '{', json);
    assert.equal(badJson.code, 400);
    assert.match(badJson.text, /^Failed to parse body into JSON/);
    const noFw = await post(url, call({ framework_id: { value: 'nope' }, executor_id: { value: 'x' }, type: 'SUBSCRIBE', subscribe: {} }), json);
    assert.deepEqual([noFw.code, noFw.text], [400, 'Framework cannot be found']);
    const noExec = await post(`http://127.0.0.1:${port}/slave(1)/api/v1/executor`, call({ ...ids, executor_id: { value: 'x' }, type: 'SUBSCRIBE', subscribe: {} }), json);
    assert.deepEqual([noExec.code, noExec.text], [400, 'Executor cannot be found']);
    const hb = await post(url, call({ framework_id: { value: 'any' }, executor_id: { value: 'any' }, type: 'HEARTBEAT' }), json);
    assert.equal(hb.code, 202);
    const uuid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    const status = { task_id: { value: 'idle-1' }, state: 'TASK_RUNNING' as const, source: 'SOURCE_EXECUTOR' as const, uuid };
    const notSubscribed = await post(url, call({ ...ids, type: 'UPDATE', update: { status } }), json);
    assert.deepEqual([notSubscribed.code, notSubscribed.text], [403, 'Executor is not subscribed']);
    const badUuid = await post(url, call({ ...ids, type: 'UPDATE', update: { status: { ...status, uuid: Buffer.from('not-a-uuid') } } }), json);
    assert.deepEqual([badUuid.code, badUuid.text], [400, 'Failed to validate Executor::Call: Not a valid UUID']);
    const notAcceptable = await post(url, call({ ...ids, type: 'SUBSCRIBE', subscribe: {} }), { ...json, accept: 'text/html' });
    assert.equal(notAcceptable.code, 406);

    // Shutting down an executor that never subscribed kills it at once.
    h.agent.shutdownExecutor('fw-0000', 'idle-exec');
    const s = await h.uplink.waitForState('idle-1', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.reason, 'REASON_EXECUTOR_TERMINATED');
    const exit = await h.uplink.waitFor('idle executor exit', () => h.uplink.exits.find((e) => e.executorId === 'idle-exec'));
    assert.equal(exit.waitStatus, 9, 'SIGKILL');
  });
});

void describe('SimAgent executor registration', () => {
  let h: Harness;
  void before(async () => {
    h = await startAgent({ timings: { executorRegistrationTimeoutMs: 400 } });
  });
  void after(async () => {
    await h.cleanup();
  });

  void test('an executor that does not subscribe in time is destroyed and its tasks fail', async () => {
    h.agent.launchTasks(framework(), [taskFor('late-1', executorInfo('late-exec', { value: 'sleep 100' }))]);
    const s = await h.uplink.waitForState('late-1', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.source, 'SOURCE_AGENT');
    assert.equal(s.reason, 'REASON_EXECUTOR_REGISTRATION_TIMEOUT');
    assert.equal(s.message, 'Executor did not register within 400ms');
    await h.uplink.waitFor('executor exit', () => h.uplink.exits.find((e) => e.executorId === 'late-exec'));
  });

  void test('killing a task queued for an unregistered executor answers TASK_KILLED from the agent', async () => {
    h.agent.launchTasks(framework(), [taskFor('queued-1', executorInfo('queued-exec', { value: 'sleep 100' }))]);
    h.agent.killTask('fw-0000', 'queued-1');
    const s = await h.uplink.waitForState('queued-1', TERMINAL);
    assert.equal(s.state, 'TASK_KILLED');
    assert.equal(s.source, 'SOURCE_AGENT');
    assert.equal(s.reason, 'REASON_TASK_KILLED_DURING_LAUNCH');
    assert.deepEqual(h.uplink.statesOf('queued-1'), ['TASK_KILLED']);
  });
});

void describe('SimAgent synthetic mode', () => {
  void test('thousands of tasks without processes: RUNNING after the delay, KILLED on kill', async () => {
    const h = await startAgent({ synthetic: { runningDelayMs: 50 }, port: 0 });
    try {
      assert.equal(h.agent.endpoint.port, 5051, 'a synthetic agent serves nothing and reports a nominal port');
      const fw = framework('fw-syn', { capabilities: [{ type: 'TASK_KILLING_STATE' }] });
      const tasks = Array.from({ length: 2000 }, (_, i) => commandTask(`syn-${i}`, { value: 'sleep 100' }));
      h.agent.launchTasks(fw, tasks);
      await h.uplink.waitFor('all RUNNING', () => h.agent.runningTasks().filter((t) => t.state === 'TASK_RUNNING').length === 2000);
      assert.deepEqual(h.agent.processIds(), []);
      assert.deepEqual(h.uplink.statesOf('syn-7'), ['TASK_STARTING', 'TASK_RUNNING']);

      h.agent.killTask('fw-syn', 'syn-7');
      await h.uplink.waitForState('syn-7', ['TASK_KILLED']);
      assert.deepEqual(h.uplink.statesOf('syn-7'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
      await h.uplink.waitFor('killed task forgotten after its ACK', () => h.agent.latestState('fw-syn', 'syn-7') === undefined);

      // A kill racing the launch: the task never becomes RUNNING.
      h.agent.launchTasks(fw, [commandTask('syn-race', { value: 'x' })]);
      h.agent.killTask('fw-syn', 'syn-race');
      await h.uplink.waitForState('syn-race', ['TASK_KILLED']);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(h.uplink.statesOf('syn-race').includes('TASK_RUNNING'), false);

      h.agent.shutdownFramework('fw-syn');
      assert.deepEqual(h.agent.runningTasks(), []);
    } finally {
      await h.cleanup();
    }
  });
});
