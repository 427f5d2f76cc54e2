/**
 * The sim master's scheduler endpoint, request by request: status codes, bodies and headers as a 1.11
 * master answers them (reference §A, §B, §D, §E), including the order in which the checks apply.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SimCluster } from '../../src/sim/cluster.js';
import { controlRoutes } from '../../src/sim/control-api.js';
import { decodeEvent, encodeCall } from '../../src/mesos/codec.js';
import { RecordIODecoder } from '../../src/mesos/recordio.js';
import type { Call } from '../../src/mesos/types.js';
import { testLogger } from '../../src/util/log.js';
import { DEFAULT_FRAMEWORK, rawRequest, TestScheduler } from './sim-master-harness.js';

let cluster: SimCluster;
let base: string;
let scheduler: TestScheduler;

const SUBSCRIBE: Call = { type: 'SUBSCRIBE', subscribe: { framework_info: DEFAULT_FRAMEWORK } };
const json = (call: Call): Buffer => encodeCall(call, 'application/json');
const TEXT_PLAIN = 'text/plain; charset=utf-8';

void before(async () => {
  cluster = await SimCluster.start({ logger: testLogger('sim-master-http'), port: 0, agents: 1, extraRoutes: controlRoutes });
  base = cluster.masterUrl;
  scheduler = await TestScheduler.subscribe(base, { ...DEFAULT_FRAMEWORK, failover_timeout: 3600 });
  await scheduler.next('SUBSCRIBED');
});

void after(async () => {
  await scheduler.close();
  await cluster.stop();
});

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  status: number;
  /** Exact body, or a pattern. */
  text: string | RegExp;
}

function cases(): Case[] {
  const fid = scheduler.frameworkId;
  const withStream = { 'content-type': 'application/json', 'mesos-stream-id': scheduler.streamId };
  return [
    { name: '405 for GET, with Allow: POST', method: 'GET', status: 405, text: "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'." },
    { name: '405 before the content type is looked at', method: 'PUT', headers: { 'content-type': 'text/xml' }, body: 'x', status: 405, text: /received 'PUT'/ },
    { name: 'missing Content-Type', body: json(SUBSCRIBE), status: 400, text: "Expecting 'Content-Type' to be present" },
    { name: 'Content-Type compared exactly', headers: { 'content-type': 'application/json; charset=utf-8' }, body: json(SUBSCRIBE), status: 415, text: "Expecting 'Content-Type' of application/json or application/x-protobuf" },
    { name: 'Content-Type checked before the body', headers: { 'content-type': 'text/plain' }, body: '{not json', status: 415, text: /Expecting 'Content-Type' of/ },
    { name: 'invalid JSON', headers: { 'content-type': 'application/json' }, body: '{"type":', status: 400, text: /^Failed to parse body into JSON: / },
    { name: 'JSON that is not a Call', headers: { 'content-type': 'application/json' }, body: '{"type":"TEARDOWN","framework_id":"x"}', status: 400, text: /^Failed to convert JSON into Call protobuf: / },
    { name: 'bad protobuf', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from([0xff, 0xff, 0xff]), status: 400, text: 'Failed to parse body into Call protobuf' },
    { name: 'unknown type name leaves type unset', headers: { 'content-type': 'application/json' }, body: '{"type":"NOPE"}', status: 400, text: "Failed to validate scheduler::Call: Expecting 'type' to be present" },
    { name: 'SUBSCRIBE without subscribe', headers: { 'content-type': 'application/json' }, body: '{"type":"SUBSCRIBE"}', status: 400, text: "Failed to validate scheduler::Call: Expecting 'subscribe' to be present" },
    {
      name: 'SUBSCRIBE with differing ids',
      headers: { 'content-type': 'application/json' },
      body: json({ ...SUBSCRIBE, framework_id: { value: 'x' } }),
      status: 400,
      text: "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'",
    },
    { name: 'SUBSCRIBE nobody can read (406)', headers: { 'content-type': 'application/json', accept: 'text/html' }, body: json(SUBSCRIBE), status: 406, text: "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'" },
    {
      name: 'Accept is checked before the SUBSCRIBE stream id',
      headers: { 'content-type': 'application/json', accept: 'text/html', 'mesos-stream-id': 'x' },
      body: json(SUBSCRIBE),
      status: 406,
      text: /Expecting 'Accept'/,
    },
    { name: 'SUBSCRIBE with a stream id', headers: { 'content-type': 'application/json', 'mesos-stream-id': 'x' }, body: json(SUBSCRIBE), status: 400, text: "Subscribe calls should not include the 'Mesos-Stream-Id' header" },
    { name: 'no framework_id', headers: { 'content-type': 'application/json' }, body: '{"type":"TEARDOWN"}', status: 400, text: "Failed to validate scheduler::Call: Expecting 'framework_id' to be present" },
    { name: 'ACCEPT without accept', headers: withStream, body: json({ type: 'ACCEPT', framework_id: { value: fid } }), status: 400, text: "Failed to validate scheduler::Call: Expecting 'accept' to be present" },
    {
      name: 'ACKNOWLEDGE with a text uuid',
      headers: withStream,
      body: `{"framework_id":{"value":"${fid}"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"${Buffer.from('d40f3f3e-6b5c-4e53-9e34-8f1a0b7c6d5e\n').toString('base64')}"}}`,
      status: 400,
      text: 'Failed to validate scheduler::Call: Not a valid UUID',
    },
    { name: 'unknown framework', headers: { 'content-type': 'application/json' }, body: json({ type: 'TEARDOWN', framework_id: { value: 'nope' } }), status: 400, text: 'Framework cannot be found' },
    { name: 'unknown framework is checked before the stream id', headers: { 'content-type': 'application/json', 'mesos-stream-id': 'x' }, body: json({ type: 'REVIVE', framework_id: { value: 'nope' } }), status: 400, text: 'Framework cannot be found' },
    { name: 'missing stream id', headers: { 'content-type': 'application/json' }, body: json({ type: 'REVIVE', framework_id: { value: fid } }), status: 400, text: "All non-subscribe calls should include the 'Mesos-Stream-Id' header" },
    {
      name: 'stale stream id',
      headers: { 'content-type': 'application/json', 'mesos-stream-id': 'stale' },
      body: json({ type: 'REVIVE', framework_id: { value: fid } }),
      status: 400,
      text: `The stream ID 'stale' included in this request didn't match the stream ID currently associated with framework ID ${fid}`,
    },
    { name: 'a valid call is 202 with an empty body', headers: withStream, body: json({ type: 'REVIVE', framework_id: { value: fid } }), status: 202, text: '' },
    { name: 'protobuf calls work the same', headers: { ...withStream, 'content-type': 'application/x-protobuf' }, body: encodeCall({ type: 'SUPPRESS', framework_id: { value: fid } }, 'application/x-protobuf'), status: 202, text: '' },
    { name: 'DECLINE of unknown offers is still 202', headers: withStream, body: json({ type: 'DECLINE', framework_id: { value: fid }, decline: { offer_ids: [{ value: 'nope' }] } }), status: 202, text: '' },
    { name: 'UNKNOWN is 501 after every other check', headers: withStream, body: json({ type: 'UNKNOWN', framework_id: { value: fid } }), status: 501, text: '' },
    { name: 'the /master prefix routes to the same handler', path: '/master/api/v1/scheduler', headers: withStream, body: json({ type: 'REVIVE', framework_id: { value: fid } }), status: 202, text: '' },
  ];
}

void describe('scheduler endpoint: status codes and bodies', () => {
  void test('each request gets the master answer', async () => {
    for (const c of cases()) {
      const res = await rawRequest(`${base}${c.path ?? '/api/v1/scheduler'}`, {
        method: c.method ?? 'POST',
        ...(c.headers === undefined ? {} : { headers: c.headers }),
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      assert.equal(res.status, c.status, `${c.name}: status (body ${res.body})`);
      if (typeof c.text === 'string') assert.equal(res.body, c.text, c.name);
      else assert.match(res.body, c.text, c.name);
      if (c.status >= 400) assert.equal(res.headers['content-type'], TEXT_PLAIN, `${c.name}: error content type`);
      if (c.status === 405) assert.equal(res.headers['allow'], 'POST');
    }
  });

  void test('UPDATE_FRAMEWORK is synchronous: 200, or 400 with the reason', async () => {
    const info = { ...DEFAULT_FRAMEWORK, id: { value: scheduler.frameworkId }, failover_timeout: 3600 };
    const ok = await scheduler.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...info, name: 'renamed' } } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, '');
    const bad = await scheduler.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: { ...info, user: 'root' } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body, "FrameworkInfo update is not valid: Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'nobody' to 'root'");
  });
});

/** The raw bytes of a SUBSCRIBE response (no client-side decoding of the events). */
function rawSubscribe(accept?: string): Promise<{ res: http.IncomingMessage; bytes: () => Buffer; close: () => void }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${base}/api/v1/scheduler`);
    const chunks: Buffer[] = [];
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...(accept === undefined ? {} : { accept }) } },
      (res) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => undefined);
        resolve({ res, bytes: () => Buffer.concat(chunks), close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end(json(SUBSCRIBE));
  });
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe('SUBSCRIBE response on the wire (§S.2)', () => {
  void test('200, chunked, no Content-Length, JSON event type, stream id; SUBSCRIBED then HEARTBEAT', async () => {
    const sub = await rawSubscribe();
    try {
      assert.equal(sub.res.statusCode, 200);
      assert.equal(sub.res.headers['content-type'], 'application/json');
      assert.equal(sub.res.headers['transfer-encoding'], 'chunked');
      assert.equal(sub.res.headers['content-length'], undefined);
      assert.match(String(sub.res.headers['mesos-stream-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      await until(() => sub.bytes().includes('{"type":"HEARTBEAT"}'));
      const text = sub.bytes().toString('utf8');
      const [lengthLine] = text.split('\n', 1);
      const length = Number(lengthLine);
      const first = sub.bytes().subarray(Buffer.byteLength(`${lengthLine}\n`), Buffer.byteLength(`${lengthLine}\n`) + length).toString('utf8');
      assert.match(first, /^\{"type":"SUBSCRIBED","subscribed":\{"framework_id":\{"value":"[^"]+-\d{4}"\},"heartbeat_interval_seconds":15\.0,"master_info":\{"id":"/);
      assert.ok(first.endsWith(',"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{}]}}}'), first);
      assert.ok(first.includes('"ip":16777343,'), 'packed 127.0.0.1');
      assert.ok(first.includes('"version":"1.11.0"'));
      const rest = sub.bytes().subarray(Buffer.byteLength(`${lengthLine}\n`) + length).toString('utf8');
      assert.ok(rest.startsWith('20\n{"type":"HEARTBEAT"}'), rest);
    } finally {
      sub.close();
    }
  });

  void test('Accept: application/x-protobuf gives protobuf events', async () => {
    const sub = await rawSubscribe('application/x-protobuf');
    try {
      assert.equal(sub.res.headers['content-type'], 'application/x-protobuf');
      const decoder = new RecordIODecoder();
      await until(() => sub.bytes().length > 10);
      await new Promise((r) => setTimeout(r, 100));
      const [first] = decoder.push(sub.bytes());
      assert.ok(first !== undefined);
      const event = decodeEvent(first, 'application/x-protobuf');
      assert.equal(event.type, 'SUBSCRIBED');
    } finally {
      sub.close();
    }
  });

  void test('a FrameworkInfo error arrives as an ERROR event in a 200 stream', async () => {
    const bad = await TestScheduler.subscribe(base, { ...DEFAULT_FRAMEWORK, roles: ['a'] });
    assert.equal(bad.status, 200);
    const error = await bad.next('ERROR');
    assert.equal(error.error.message, "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
    await bad.ended_();
    await bad.close();
  });
});

void describe('other endpoints', () => {
  void test('GET /version', async () => {
    const res = await rawRequest(`${base}/version`, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { version: string }).version, '1.11.0');
  });

  void test('GET /master/state lists frameworks and agents', async () => {
    const res = await rawRequest(`${base}/master/state`, { method: 'GET' });
    assert.equal(res.status, 200);
    const state = JSON.parse(res.body) as { frameworks: Array<{ id: string }>; slaves: Array<{ id: string; resources: { cpus: number; ports: string } }>; version: string };
    assert.equal(state.version, '1.11.0');
    assert.ok(state.frameworks.some((f) => f.id === scheduler.frameworkId));
    assert.equal(state.slaves.length, 1);
    assert.equal(state.slaves[0]?.resources.cpus, 4);
    assert.equal(state.slaves[0]?.resources.ports, '[31000-32000]');
  });

  void test('a disconnected framework gets 403 until it re-subscribes', async () => {
    const s = await TestScheduler.subscribe(base, { ...DEFAULT_FRAMEWORK, failover_timeout: 3600 });
    await s.next('SUBSCRIBED');
    const { frameworkId, streamId } = s;
    await s.close();
    await until(() => cluster.master()?.lookupFramework(frameworkId).kind === 'disconnected');
    const res = await rawRequest(`${base}/api/v1/scheduler`, {
      headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
      body: json({ type: 'REVIVE', framework_id: { value: frameworkId } }),
    });
    assert.equal(res.status, 403);
    assert.equal(res.body, 'Framework is not subscribed');
  });
});
