/**
 * The codec against the canonical wire examples (mesos-http-api.md §S): decoding them yields the
 * right fields, and re-encoding reproduces the exact bytes, RecordIO length prefixes included. The
 * byte-for-byte comparison is what proves declaration order, master defaults and `15.0` doubles.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCall,
  decodeEvent,
  decodeMessage,
  encodeCall,
  encodeEvent,
  encodeMessage,
  type ContentType,
} from '../../src/mesos/codec.js';
import { encodeRecord, RecordIODecoder } from '../../src/mesos/recordio.js';
import type { Call, Event } from '../../src/mesos/types.js';
import {
  S_ACCEPT,
  S_ACKNOWLEDGE,
  S_ERROR,
  S_EXEC_ACKNOWLEDGED,
  S_EXEC_SUBSCRIBE,
  S_EXEC_UPDATE,
  S_FAILURE,
  S_OFFERS,
  S_RESCIND,
  S_RESUBSCRIBE,
  S_SUBSCRIBE,
  S_SUBSCRIBED,
  S_UPDATE_RECONCILIATION,
  S_UPDATE_RUNNING,
  S_UPDATE_STARTING,
  S_UPDATE_TASK_ERROR,
} from './codec-wire-examples.js';

const JSON_CT: ContentType = 'application/json';
const PB: ContentType = 'application/x-protobuf';
const MASTER = '6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10';
const HEARTBEAT = '{"type":"HEARTBEAT"}';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const event = (s: string): Event => decodeEvent(bytes(s), JSON_CT);

function narrow<T extends Event['type']>(ev: Event, type: T): Extract<Event, { type: T }> {
  assert.equal(ev.type, type);
  return ev as Extract<Event, { type: T }>;
}

/** Re-encode an event as the master would, and as protobuf and back, and compare. */
function assertEventRoundTrips(text: string): void {
  const ev = event(text);
  assert.equal(encodeEvent(ev, JSON_CT).toString('utf8'), text, 'JSON re-encoding differs');
  const viaPb = decodeEvent(encodeEvent(ev, PB), PB);
  assert.deepEqual(viaPb, ev, 'protobuf round trip differs');
  assert.equal(encodeEvent(viaPb, JSON_CT).toString('utf8'), text, 'JSON after protobuf differs');
  // The strict (master-side) parser and the client fast path agree.
  assert.deepEqual(decodeMessage<Event>('mesos.v1.scheduler.Event', bytes(text), JSON_CT), ev);
}

function assertCallRoundTrips(text: string): Call {
  const call = decodeCall(bytes(text), JSON_CT);
  assert.equal(encodeCall(call, JSON_CT).toString('utf8'), text, 'JSON re-encoding differs');
  assert.deepEqual(decodeCall(encodeCall(call, PB), PB), call, 'protobuf round trip differs');
  return call;
}

void describe('§S.1 SUBSCRIBE', () => {
  void test('decodes to the framework info and re-encodes byte for byte', () => {
    const call = assertCallRoundTrips(S_SUBSCRIBE);
    assert.equal(call.type, 'SUBSCRIBE');
    assert.equal(call.framework_id, undefined);
    const fi = call.subscribe?.framework_info;
    assert.ok(fi);
    assert.equal(fi.user, 'nobody');
    assert.equal(fi.name, 'ts-scheduler');
    assert.equal(fi.failover_timeout, 604800);
    assert.equal(fi.checkpoint, true);
    assert.deepEqual(fi.roles, ['dev']);
    assert.equal(fi.role, undefined, 'the deprecated role default is not materialised');
    assert.deepEqual(fi.capabilities, [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }]);
  });

  void test('re-subscription carries the id in both places', () => {
    const call = assertCallRoundTrips(S_RESUBSCRIBE);
    assert.deepEqual(call.framework_id, { value: `${MASTER}-0000` });
    assert.deepEqual(call.subscribe?.framework_info.id, { value: `${MASTER}-0000` });
  });
});

void describe('§S.2 SUBSCRIBED + HEARTBEAT records', () => {
  const stream = `442\n${S_SUBSCRIBED}20\n${HEARTBEAT}`;

  void test('the record lengths are the byte counts 442 and 20', () => {
    assert.equal(Buffer.byteLength(S_SUBSCRIBED), 442);
    assert.equal(Buffer.byteLength(HEARTBEAT), 20);
  });

  void test('decodes from the stream bytes', () => {
    const dec = new RecordIODecoder();
    const records = dec.push(bytes(stream));
    dec.end();
    assert.equal(records.length, 2);
    const sub = narrow(decodeEvent(records[0]!, JSON_CT), 'SUBSCRIBED').subscribed;
    assert.deepEqual(sub.framework_id, { value: `${MASTER}-0000` });
    assert.equal(sub.heartbeat_interval_seconds, 15);
    const mi = sub.master_info;
    assert.ok(mi);
    assert.equal(mi.id, MASTER);
    assert.equal(mi.ip, 184549386);
    assert.equal(mi.port, 5050);
    assert.equal(mi.version, '1.11.0');
    assert.deepEqual(mi.address, { hostname: 'm1.example.com', ip: '10.0.0.11', port: 5050 });
    // QUOTA_V2 is unknown to the 1.11 v1 enum: an empty capability.
    assert.deepEqual(mi.capabilities, [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, {}]);
    assert.deepEqual(decodeEvent(records[1]!, JSON_CT), { type: 'HEARTBEAT' });
  });

  void test('re-encoding with RecordIO framing reproduces the stream exactly', () => {
    const dec = new RecordIODecoder();
    const events = dec.push(bytes(stream)).map((r) => decodeEvent(r, JSON_CT));
    const again = Buffer.concat(events.map((e) => encodeRecord(encodeEvent(e, JSON_CT))));
    assert.equal(again.toString('utf8'), stream);
    assertEventRoundTrips(S_SUBSCRIBED);
    assertEventRoundTrips(HEARTBEAT);
  });

});

void describe('§S.3 OFFERS', () => {
  void test('record length 914; fields decode; exact re-encoding', () => {
    assert.equal(Buffer.byteLength(S_OFFERS), 914);
    assertEventRoundTrips(S_OFFERS);
    assert.equal(encodeRecord(bytes(S_OFFERS)).subarray(0, 4).toString(), '914\n');
    const offers = narrow(event(S_OFFERS), 'OFFERS').offers.offers ?? [];
    assert.equal(offers.length, 1);
    const o = offers[0]!;
    assert.deepEqual(o.id, { value: `${MASTER}-O0` });
    assert.deepEqual(o.agent_id, { value: `${MASTER}-S0` });
    assert.equal(o.hostname, 'a1.example.com');
    assert.deepEqual(o.url, { scheme: 'http', address: { hostname: 'a1.example.com', ip: '10.0.0.21', port: 5051 }, path: '/slave(1)' });
    assert.deepEqual(
      o.resources?.map((r) => [r.name, r.type, r.scalar?.value ?? r.ranges?.range, r.role, r.allocation_info?.role]),
      [
        ['cpus', 'SCALAR', 4, '*', 'dev'],
        ['mem', 'SCALAR', 15024, '*', 'dev'],
        ['disk', 'SCALAR', 94000, '*', 'dev'],
        ['ports', 'RANGES', [{ begin: 31000, end: 32000 }], '*', 'dev'],
      ],
    );
    assert.deepEqual(o.attributes, [{ name: 'rack', type: 'TEXT', text: { value: 'r1' } }]);
    assert.deepEqual(o.allocation_info, { role: 'dev' });
  });
});

void describe('§S.4 ACCEPT with LAUNCH', () => {
  void test('decodes the task and re-encodes byte for byte', () => {
    const call = assertCallRoundTrips(S_ACCEPT);
    assert.equal(call.type, 'ACCEPT');
    assert.deepEqual(call.accept?.offer_ids, [{ value: `${MASTER}-O0` }]);
    assert.deepEqual(call.accept?.filters, { refuse_seconds: 5 });
    const op = call.accept?.operations?.[0];
    assert.equal(op?.type, 'LAUNCH');
    const task = op?.launch?.task_infos?.[0];
    assert.ok(task);
    assert.equal(task.name, 'web-1');
    assert.deepEqual(task.task_id, { value: 'web-1' });
    assert.deepEqual(task.resources?.[2]?.ranges, { range: [{ begin: 31000, end: 31000 }] });
    assert.deepEqual(task.command?.uris, [{ value: 'http://artifacts.example.com/site.tar.gz', extract: true, cache: false }]);
    assert.deepEqual(task.command?.environment, { variables: [{ name: 'PORT0', value: '31000' }] });
    assert.equal(task.command?.shell, true);
    assert.equal(task.command?.value, 'cd site && exec python3 -m http.server "$PORT0"');
  });

  void test('as an event payload the master would add the Environment.Variable type default', () => {
    const call = decodeCall(bytes(S_ACCEPT), JSON_CT);
    const master = encodeMessage('mesos.v1.scheduler.Call', call, JSON_CT, { defaults: true }).toString();
    assert.ok(master.includes('{"name":"PORT0","type":"VALUE","value":"31000"}'), master);
    assert.ok(!master.includes('"role":"*","role"'));
  });
});

void describe('§S.5 UPDATE events', () => {
  void test('record lengths 465 and 464; exact re-encoding', () => {
    assert.equal(Buffer.byteLength(S_UPDATE_STARTING), 465);
    assert.equal(Buffer.byteLength(S_UPDATE_RUNNING), 464);
    for (const text of [S_UPDATE_STARTING, S_UPDATE_RUNNING, S_UPDATE_TASK_ERROR, S_UPDATE_RECONCILIATION]) {
      assertEventRoundTrips(text);
    }
  });

  void test('uuid is 16 raw bytes; container status and the IPv4 default decode', () => {
    const st = narrow(event(S_UPDATE_RUNNING), 'UPDATE').update.status;
    assert.equal(st.state, 'TASK_RUNNING');
    assert.equal(st.source, 'SOURCE_EXECUTOR');
    assert.deepEqual(st.executor_id, { value: 'web-1' });
    assert.equal(st.timestamp, 1700000123.456789);
    assert.ok(Buffer.isBuffer(st.uuid));
    assert.equal(st.uuid.length, 16);
    assert.equal(st.uuid.toString('hex'), '5f2c8a1e9b4d4c7e8a6f0d3b2e1c4a59');
    assert.equal((st.uuid[6]! >> 4) & 0xf, 4, 'a version-4 UUID');
    assert.deepEqual(st.container_status, {
      container_id: { value: 'b7d0a3f4-9c1e-4f61-8a2d-5e6f7a8b9c0d' },
      network_infos: [{ ip_addresses: [{ protocol: 'IPv4', ip_address: '10.0.0.21' }] }],
      executor_pid: 23417,
    });
  });

  void test('an unset field with an explicit default is written by the event encoder (IPv4)', () => {
    const ev = event(S_UPDATE_RUNNING);
    const st = narrow(ev, 'UPDATE').update.status;
    const withoutProtocol = {
      ...st,
      container_status: {
        ...st.container_status,
        network_infos: [{ ip_addresses: [{ ip_address: '10.0.0.21' }] }],
      },
    };
    const text = encodeEvent({ type: 'UPDATE', update: { status: withoutProtocol } }, JSON_CT).toString();
    assert.equal(text, S_UPDATE_RUNNING);
  });

  void test('master-generated updates have no uuid', () => {
    const err = narrow(event(S_UPDATE_TASK_ERROR), 'UPDATE').update.status;
    assert.equal(err.state, 'TASK_ERROR');
    assert.equal(err.reason, 'REASON_TASK_INVALID');
    assert.equal(err.uuid, undefined);
    const rec = narrow(event(S_UPDATE_RECONCILIATION), 'UPDATE').update.status;
    assert.equal(rec.state, 'TASK_UNKNOWN');
    assert.equal(rec.reason, 'REASON_RECONCILIATION');
    assert.equal(rec.timestamp, 1700000200.25);
  });
});

void describe('§S.6 ACKNOWLEDGE', () => {
  void test('echoes the uuid bytes of the TASK_RUNNING update; exact re-encoding', () => {
    const call = assertCallRoundTrips(S_ACKNOWLEDGE);
    const st = narrow(event(S_UPDATE_RUNNING), 'UPDATE').update.status;
    assert.equal(call.type, 'ACKNOWLEDGE');
    assert.deepEqual(call.acknowledge?.agent_id, st.agent_id);
    assert.deepEqual(call.acknowledge?.task_id, st.task_id);
    assert.ok(call.acknowledge?.uuid.equals(st.uuid!));
    // Built from the update the way a scheduler does it, the call is the §S.6 text.
    const built: Call = {
      framework_id: { value: `${MASTER}-0000` },
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: st.agent_id!, task_id: st.task_id, uuid: st.uuid! },
    };
    assert.equal(encodeCall(built, JSON_CT).toString(), S_ACKNOWLEDGE);
  });
});

void describe('§S.7 other records', () => {
  void test('ERROR (60), RESCIND (93), FAILURE (93)', () => {
    assert.equal(Buffer.byteLength(S_ERROR), 60);
    assert.equal(Buffer.byteLength(S_RESCIND), 93);
    assert.equal(Buffer.byteLength(S_FAILURE), 93);
    for (const text of [S_ERROR, S_RESCIND, S_FAILURE]) assertEventRoundTrips(text);
    assert.deepEqual(narrow(event(S_ERROR), 'ERROR').error, { message: 'Framework failed over' });
    assert.deepEqual(narrow(event(S_RESCIND), 'RESCIND').rescind.offer_id, { value: `${MASTER}-O0` });
    assert.deepEqual(narrow(event(S_FAILURE), 'FAILURE').failure, { agent_id: { value: `${MASTER}-S0` } });
  });

  void test('executor SUBSCRIBE and UPDATE calls', () => {
    for (const text of [S_EXEC_SUBSCRIBE, S_EXEC_UPDATE]) {
      const call: Record<string, unknown> = decodeMessage('mesos.v1.executor.Call', bytes(text), JSON_CT);
      assert.equal(encodeMessage('mesos.v1.executor.Call', call, JSON_CT).toString(), text);
      const pb = encodeMessage('mesos.v1.executor.Call', call, PB);
      assert.deepEqual(decodeMessage<unknown>('mesos.v1.executor.Call', pb, PB), call);
    }
    const sub = decodeMessage<Record<string, unknown>>('mesos.v1.executor.Call', bytes(S_EXEC_SUBSCRIBE), JSON_CT);
    assert.deepEqual(sub, {
      executor_id: { value: 'my-exec-1' },
      framework_id: { value: `${MASTER}-0000` },
      type: 'SUBSCRIBE',
      subscribe: {},
    });
    const upd = decodeMessage<{ update: { status: { uuid: Buffer; state: string } } }>(
      'mesos.v1.executor.Call',
      bytes(S_EXEC_UPDATE),
      JSON_CT,
    );
    assert.equal(upd.update.status.state, 'TASK_RUNNING');
    assert.equal(upd.update.status.uuid.length, 16);
  });

  void test('executor ACKNOWLEDGED event: length 102, exact re-encoding', () => {
    assert.equal(Buffer.byteLength(S_EXEC_ACKNOWLEDGED), 102);
    const ev = decodeMessage<Record<string, unknown>>('mesos.v1.executor.Event', bytes(S_EXEC_ACKNOWLEDGED), JSON_CT);
    const framed = encodeRecord(encodeMessage('mesos.v1.executor.Event', ev, JSON_CT));
    assert.equal(framed.toString(), `102\n${S_EXEC_ACKNOWLEDGED}`);
    assert.deepEqual(decodeMessage<unknown>('mesos.v1.executor.Event', encodeMessage('mesos.v1.executor.Event', ev, PB), PB), ev);
  });
});
