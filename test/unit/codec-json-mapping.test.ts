/**
 * The JSON mapping rules of the master (mesos-http-api.md items 20-35) and the exact 400 texts a
 * 1.11 master answers for bodies it cannot use.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { CodecError, decodeCall, decodeEvent, encodeCall, encodeEvent, type ContentType } from '../../src/mesos/codec.js';
import { decodeBase64Stout, formatDouble, jsonString, quoteLongNanoseconds } from '../../src/mesos/json-mapping.js';
import { protoType } from '../../src/mesos/proto.js';
import type { Call, Event } from '../../src/mesos/types.js';

const JSON_CT: ContentType = 'application/json';
const PB: ContentType = 'application/x-protobuf';
const FID = '{"value":"f-0000"}';

function call(text: string): Call {
  return decodeCall(Buffer.from(text), JSON_CT);
}

function rejection(text: string | Buffer, ct: ContentType = JSON_CT): CodecError {
  try {
    decodeCall(typeof text === 'string' ? Buffer.from(text) : text, ct);
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected a CodecError, got ${String(err)}`);
    return err;
  }
  assert.fail('the body was accepted');
}

const CONVERT = 'Failed to convert JSON into Call protobuf: ';

void describe('master 400 texts for bad JSON calls', () => {
  void test('a bare-string id', () => {
    const err = rejection('{"framework_id":"f-0000","type":"TEARDOWN"}');
    assert.equal(err.message, `${CONVERT}Not expecting a JSON string for field 'framework_id'`);
    assert.equal(err.kind, 'json-mapping');
    assert.equal(err.retriable, false);
  });

  void test('an enum given as a JSON number', () => {
    assert.equal(rejection('{"type":3}').message, `${CONVERT}Not expecting a JSON number for field 'type'`);
  });

  void test('an unknown name in an optional enum leaves the field unset (the master then says type is missing)', () => {
    const c = call(`{"framework_id":${FID},"type":"ACCEPT_EVERYTHING"}`);
    assert.equal(c.type, undefined);
    assert.deepEqual(c, { framework_id: { value: 'f-0000' } });
  });

  void test('an unknown name in a required enum is an error', () => {
    const body = `{"framework_id":${FID},"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALARISH","scalar":{"value":1}}]}]}}]}}`;
    assert.equal(rejection(body).message, `${CONVERT}Failed to find enum for 'SCALARISH'`);
  });

  void test('missing required fields are listed with their paths, in protobuf order', () => {
    assert.equal(
      rejection('{"type":"SUBSCRIBE","subscribe":{"framework_info":{}}}').message,
      `${CONVERT}Missing required fields: subscribe.framework_info.user, subscribe.framework_info.name`,
    );
    const body = `{"framework_id":${FID},"type":"ACCEPT","accept":{"offer_ids":[{}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"task_id":{"value":"t"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{}}]}]}}]}}`;
    assert.equal(
      rejection(body).message,
      `${CONVERT}Missing required fields: accept.offer_ids[0].value, accept.operations[0].launch.task_infos[0].name, ` +
        'accept.operations[0].launch.task_infos[0].agent_id, accept.operations[0].launch.task_infos[0].resources[0].scalar.value',
    );
  });

  void test('members are checked in sorted key order, so the first wrong key alphabetically is reported', () => {
    assert.equal(rejection('{"type":7,"framework_id":"x"}').message, `${CONVERT}Not expecting a JSON string for field 'framework_id'`);
  });

  void test('invalid JSON', () => {
    const err = rejection('{"type":"TEARDOWN",');
    assert.equal(err.kind, 'json-syntax');
    assert.match(err.message, /^Failed to parse body into JSON: /);
    assert.match(rejection('').message, /^Failed to parse body into JSON: /);
  });

  void test('JSON that is not an object', () => {
    assert.equal(rejection('[]').message, `${CONVERT}Expecting a JSON object`);
    assert.equal(rejection('"SUBSCRIBE"').message, `${CONVERT}Expecting a JSON object`);
  });

  void test('wrong JSON kinds for a field', () => {
    assert.equal(rejection('{"type":["TEARDOWN"]}').message, `${CONVERT}Not expecting a JSON array for field 'type'`);
    assert.equal(rejection('{"type":{}}').message, `${CONVERT}Not expecting a JSON object for field 'type'`);
    assert.equal(rejection('{"type":true}').message, `${CONVERT}Not expecting a JSON boolean for field 'type'`);
    assert.equal(
      rejection(`{"framework_id":${FID},"type":"DECLINE","decline":{"filters":{"refuse_seconds":"soon"}}}`).message,
      `${CONVERT}Failed to parse 'soon' as a JSON number for field 'refuse_seconds': syntax error at line 1 near: soon`,
    );
  });

  void test('the documented limits form (a bare "Infinity") is refused; the Value.Scalar form is accepted', () => {
    const task = (limits: string): string =>
      `{"framework_id":${FID},"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":${limits}}]}}]}}`;
    assert.equal(rejection(task('{"cpus":"Infinity","mem":512.0}')).message, `${CONVERT}Not expecting a JSON string for field 'value'`);
    const c = call(task('{"cpus":{"value":"Infinity"},"mem":{"value":512.0}}'));
    const ti = c.accept?.operations?.[0]?.launch?.task_infos?.[0] as unknown as { limits: Record<string, { value: number }> };
    assert.deepEqual(ti.limits, { cpus: { value: Infinity }, mem: { value: 512 } });
  });

  void test('protobuf bodies that do not parse, including proto2 required-field failures', () => {
    assert.equal(rejection(Buffer.from([0xff, 0xff, 0xff]), PB).message, 'Failed to parse body into Call protobuf');
    // A SUBSCRIBE whose FrameworkInfo lacks `user` (required), hand-encoded.
    const Call = protoType('mesos.v1.scheduler.Call');
    const w = protobuf.Writer.create();
    w.uint32((2 << 3) | 0).int32(1); // type = SUBSCRIBE
    const fi = protobuf.Writer.create().uint32((2 << 3) | 2).string('only-name').finish(); // FrameworkInfo.name
    const sub = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(fi).finish(); // Subscribe.framework_info
    w.uint32((3 << 3) | 2).bytes(sub);
    const body = Buffer.from(w.finish());
    assert.equal(Call.decode.length >= 1, true);
    const err = rejection(body, PB);
    assert.equal(err.message, 'Failed to parse body into Call protobuf');
    assert.equal(err.kind, 'protobuf');
  });
});

void describe('JSON mapping rules (accepted input)', () => {
  void test('snake_case names; unknown keys ignored; null means absent', () => {
    const c = call(`{"framework_id":${FID},"type":"REVIVE","revive":{"roles":["a"],"role":"ignored"},"frameworkId":{"value":"x"},"kill":null}`);
    assert.deepEqual(c, { framework_id: { value: 'f-0000' }, type: 'REVIVE', revive: { roles: ['a'] } });
  });

  void test('numbers as numeric strings; doubles as "Infinity"; int64 as strings or numbers', () => {
    const c = call(`{"framework_id":${FID},"type":"DECLINE","decline":{"filters":{"refuse_seconds":"5"}}}`);
    assert.deepEqual(c.decline?.filters, { refuse_seconds: 5 });
    const inf = call(`{"framework_id":${FID},"type":"DECLINE","decline":{"filters":{"refuse_seconds":"-Infinity"}}}`);
    assert.equal(inf.decline?.filters?.refuse_seconds, -Infinity);
    const kill = call(
      `{"framework_id":${FID},"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"30000000000"}}}}`,
    );
    assert.deepEqual(kill.kill?.kill_policy, { grace_period: { nanoseconds: '30000000000' } });
  });

  void test('int64 nanoseconds keep every digit, quoted or not', () => {
    for (const n of ['9007199254740993', '"9007199254740993"', '-9223372036854775808']) {
      const c = call(`{"framework_id":${FID},"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":${n}}}}}`);
      assert.equal(c.kill?.kill_policy?.grace_period?.nanoseconds, n.replaceAll('"', ''));
    }
  });

  void test('bytes: standard base64; padding optional; whitespace ignored; url-safe rejected', () => {
    const ack = (uuid: string): Call =>
      call(`{"framework_id":${FID},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":${JSON.stringify(uuid)}}}`);
    const expected = Buffer.from('XyyKHptNTH6Kbw07LhxKWQ==', 'base64');
    assert.ok(ack('XyyKHptNTH6Kbw07LhxKWQ==').acknowledge?.uuid.equals(expected));
    assert.ok(ack('XyyKHptNTH6Kbw07LhxKWQ').acknowledge?.uuid.equals(expected));
    assert.ok(ack('XyyK HptN\nTH6K bw07 LhxK WQ==').acknowledge?.uuid.equals(expected));
    const urlSafe = Buffer.from([0xfb, 0xff]).toString('base64url');
    assert.equal(
      rejection(`{"framework_id":${FID},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"${urlSafe}"}}`).message,
      `${CONVERT}Failed to base64 decode bytes field 'uuid': Invalid character '-'`,
    );
  });

  void test('a repeated field accepts a single non-array value, as stout does', () => {
    const c = call(`{"framework_id":${FID},"type":"SUPPRESS","suppress":{"roles":"dev"}}`);
    assert.deepEqual(c.suppress, { roles: ['dev'] });
  });

  void test('booleans as "true"/"false" strings', () => {
    const c = call('{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","checkpoint":"true"}}}');
    assert.equal(c.subscribe?.framework_info.checkpoint, true);
  });
});

void describe('JSON writing (master serializer)', () => {
  void test('doubles keep a fractional part like rapidjson', () => {
    assert.equal(formatDouble(15), '15.0');
    assert.equal(formatDouble(0.5), '0.5');
    assert.equal(formatDouble(1700000123.120981), '1700000123.120981');
    assert.equal(formatDouble(1e21), '1e21');
    assert.equal(formatDouble(1.5e-7), '1.5e-7');
    assert.equal(formatDouble(123e18), '123000000000000000000.0');
    assert.equal(formatDouble(0), '0.0');
    assert.equal(formatDouble(-0), '-0.0');
  });

  void test('strings escape like rapidjson (upper-case hex, literal backslash-u untouched)', () => {
    assert.equal(jsonString('a\u001fb"\\'), '"a\\u001Fb\\"\\\\"');
    assert.equal(jsonString('\\u001f'), '"\\\\u001f"');
    assert.equal(jsonString('héllo ✓'), '"héllo ✓"');
  });

  void test('fields in declaration order, not field-number order; repeated only when non-empty', () => {
    const ev: Event = {
      type: 'UPDATE',
      update: {
        status: {
          // Given in a scrambled order: the writer uses the .proto order.
          uuid: Buffer.from([1, 2, 3]),
          timestamp: 1,
          state: 'TASK_FAILED',
          task_id: { value: 't' },
          message: 'boom',
          labels: { labels: [] },
        },
      },
    };
    assert.equal(
      encodeEvent(ev, JSON_CT).toString(),
      '{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_FAILED","message":"boom","timestamp":1.0,"uuid":"AQID","labels":{}}}}',
    );
  });

  void test('calls carry only what is set; deprecated defaults are never invented', () => {
    const c: Call = { type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'u', name: 'n' } } };
    assert.equal(encodeCall(c, JSON_CT).toString(), '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}');
    const asMaster = encodeEvent(
      { type: 'OFFERS', offers: { offers: [{ id: { value: 'o' }, framework_id: { value: 'f' }, agent_id: { value: 'a' }, hostname: 'h', resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] }] } },
      JSON_CT,
    ).toString();
    assert.ok(!asMaster.includes('"role"'), 'Resource.role has a deprecated default and must not appear');
  });

  void test('encoding refuses messages missing required fields', () => {
    assert.throws(
      () => encodeCall({ type: 'KILL', framework_id: { value: 'f' }, kill: {} as never }, JSON_CT),
      (err: unknown) => err instanceof CodecError && err.kind === 'encode' && err.message.endsWith('Missing required fields: kill.task_id'),
    );
  });
});

void describe('helpers', () => {
  void test('decodeBase64Stout stops at the first "=" and ignores whitespace', () => {
    assert.deepEqual(decodeBase64Stout('QUJD=garbage'), Buffer.from('ABC'));
    assert.deepEqual(decodeBase64Stout(' QU\tJD '), Buffer.from('ABC'));
    assert.throws(() => decodeBase64Stout('QU_D'), /Invalid character '_'/);
  });

  void test('quoteLongNanoseconds quotes only long integers of nanoseconds members', () => {
    assert.equal(quoteLongNanoseconds('{"nanoseconds":1700000123456789012}'), '{"nanoseconds":"1700000123456789012"}');
    assert.equal(quoteLongNanoseconds('{"a":1, "nanoseconds" : -1700000123456789012 }'), '{"a":1, "nanoseconds" : "-1700000123456789012" }');
    assert.equal(quoteLongNanoseconds('{"nanoseconds":5}'), '{"nanoseconds":5}');
    assert.equal(quoteLongNanoseconds('{"nanoseconds":1700000123456789012.5}'), '{"nanoseconds":1700000123456789012.5}');
    // Inside a string value the key's quotes are escaped: never touched.
    const inString = JSON.stringify({ message: '{"nanoseconds":1700000123456789012}' });
    assert.equal(quoteLongNanoseconds(inString), inString);
  });

  void test('decodeEvent maps an unknown event type to UNKNOWN and refuses a missing member', () => {
    assert.deepEqual(decodeEvent(Buffer.from('{"type":"SOMETHING_NEW","something_new":{}}'), JSON_CT), { type: 'UNKNOWN' });
    assert.deepEqual(decodeEvent(Buffer.from('{}'), JSON_CT), { type: 'UNKNOWN' });
    assert.throws(() => decodeEvent(Buffer.from('{"type":"UPDATE"}'), JSON_CT), CodecError);
    const Event = protoType('mesos.v1.scheduler.Event');
    const unknownType = Buffer.from(protobuf.Writer.create().uint32(8).int32(99).finish());
    assert.equal(Event.name, 'Event');
    assert.deepEqual(decodeEvent(unknownType, PB), { type: 'UNKNOWN' });
  });
});
