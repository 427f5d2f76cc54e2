/**
 * A minimal custom executor used by sim-agent-executor.test.ts, written like a real one: it finds the agent
 * through MESOS_AGENT_ENDPOINT, SUBSCRIBEs (JSON calls, protobuf event stream), and
 *   - LAUNCH: UPDATE TASK_RUNNING (data = the task's data);
 *   - KILL: UPDATE TASK_KILLED, then exits once the agent has ACKNOWLEDGED it;
 *   - MESSAGE: echoes the data back as an executor MESSAGE;
 *   - SHUTDOWN: exits at once.
 * Every event type it receives is appended to `events.log` in its sandbox, so the test can check the stream.
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { decodeMessage, encodeMessage } from '../../src/mesos/codec.js';
import { RecordIODecoder } from '../../src/mesos/recordio.js';
import type { TaskState } from '../../src/mesos/types.js';
import type { ExecutorCall, ExecutorEvent } from '../../src/sim/agent/executor-messages.js';

const endpoint = process.env['MESOS_AGENT_ENDPOINT'];
const frameworkId = process.env['MESOS_FRAMEWORK_ID'] ?? '';
const executorId = process.env['MESOS_EXECUTOR_ID'] ?? '';
if (endpoint === undefined) throw new Error('MESOS_AGENT_ENDPOINT is not set');
const url = `http://${endpoint}/api/v1/executor`;
const ids = { framework_id: { value: frameworkId }, executor_id: { value: executorId } };
let exitAfterAckOf: string | undefined;

async function call(c: ExecutorCall): Promise<number> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: encodeMessage('mesos.v1.executor.Call', c, 'application/json'),
  });
  await res.body.dump();
  return res.statusCode;
}

function uuid(): Buffer {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
}

async function update(taskId: string, state: TaskState, data?: Buffer): Promise<Buffer> {
  const id = uuid();
  const code = await call({
    ...ids,
    type: 'UPDATE',
    update: {
      status: { task_id: { value: taskId }, state, source: 'SOURCE_EXECUTOR', executor_id: ids.executor_id, uuid: id, ...(data === undefined ? {} : { data }) },
    },
  });
  appendFileSync('events.log', `UPDATE ${state} -> ${code}\n`);
  return id;
}

async function onEvent(ev: ExecutorEvent): Promise<void> {
  appendFileSync('events.log', `${ev.type}\n`);
  switch (ev.type) {
    case 'SUBSCRIBED':
      appendFileSync('events.log', `container ${ev.subscribed.container_id?.value ?? ''} agent ${ev.subscribed.agent_info.id?.value ?? ''}\n`);
      return;
    case 'LAUNCH':
      await update(ev.launch.task.task_id.value, 'TASK_RUNNING', ev.launch.task.data);
      return;
    case 'KILL': {
      const id = await update(ev.kill.task_id.value, 'TASK_KILLED');
      exitAfterAckOf = id.toString('hex');
      return;
    }
    case 'ACKNOWLEDGED':
      if (ev.acknowledged.uuid.toString('hex') === exitAfterAckOf) process.exit(0);
      return;
    case 'MESSAGE':
      await call({ ...ids, type: 'MESSAGE', message: { data: Buffer.concat([Buffer.from('echo:'), ev.message.data]) } });
      return;
    case 'SHUTDOWN':
      process.exit(0);
      return;
    case 'LAUNCH_GROUP':
    case 'ERROR':
    case 'HEARTBEAT':
      return;
  }
}

const res = await request(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/x-protobuf' },
  body: encodeMessage('mesos.v1.executor.Call', { ...ids, type: 'SUBSCRIBE', subscribe: {} }, 'application/json'),
});
appendFileSync('events.log', `subscribe ${res.statusCode} ${String(res.headers['content-type'])} stream-id:${String(res.headers['mesos-stream-id'])}\n`);
const decoder = new RecordIODecoder();
for await (const chunk of res.body) {
  for (const record of decoder.push(chunk as Buffer)) {
    await onEvent(decodeMessage<ExecutorEvent>('mesos.v1.executor.Event', record, 'application/x-protobuf'));
  }
}
// The agent closed the stream: a non-checkpointing executor exits (reference item 187).
process.exit(0);
