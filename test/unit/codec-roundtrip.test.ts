/**
 * Round trips of every scheduler Call and Event type through both content types, the binary
 * decoder's proto2 behaviour, and a property test that the client's fast JSON path decodes exactly
 * what the strict (master-side) parser does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import {
  CodecError,
  decodeCall,
  decodeEvent,
  decodeMessage,
  encodeCall,
  encodeEvent,
  encodeMessage,
  type ContentType,
} from '../../src/mesos/codec.js';
import { protoType } from '../../src/mesos/proto.js';
import type { Call, Event, Resource, TaskInfo } from '../../src/mesos/types.js';
import { buildOffer } from '../../bench/fixtures/offers.js';

const JSON_CT: ContentType = 'application/json';
const PB: ContentType = 'application/x-protobuf';
const CTS = [JSON_CT, PB] as const;
const FID = { value: 'f-0000' };
const AGENT = { value: 'm-S1' };
const UUID = Buffer.from('5f2c8a1e9b4d4c7e8a6f0d3b2e1c4a59', 'hex');

const cpus = (v: number, role = 'kafka'): Resource => ({ name: 'cpus', type: 'SCALAR', scalar: { value: v }, allocation_info: { role } });
const volume: Resource = {
  name: 'disk',
  type: 'SCALAR',
  scalar: { value: 1024 },
  reservations: [{ type: 'DYNAMIC', role: 'kafka', principal: 'kmf', labels: { labels: [{ key: 'broker', value: '1' }] } }],
  disk: { persistence: { id: 'broker-1', principal: 'kmf' }, volume: { mode: 'RW', container_path: 'data' } },
};

const task: TaskInfo = {
  name: 'broker-1',
  task_id: { value: 'broker-1.0' },
  agent_id: AGENT,
  resources: [cpus(2), volume],
  command: {
    uris: [{ value: 'http://127.0.0.1:9/kafka.tgz', extract: true, cache: false, output_file: 'kafka.tgz' }],
    environment: { variables: [{ name: 'KAFKA_HEAP_OPTS', type: 'VALUE', value: '-Xmx1g' }] },
    shell: true,
    value: 'exec ./kafka/bin/kafka-server-start.sh server.properties',
  },
  container: { type: 'MESOS', volumes: [{ mode: 'RW', container_path: 'logs', host_path: '/var/log/kmf' }] },
  health_check: { type: 'TCP', tcp: { port: 9092 }, delay_seconds: 30, grace_period_seconds: 60 },
  kill_policy: { grace_period: { nanoseconds: '120000000000' } },
  data: Buffer.from([0, 1, 2, 255]),
  labels: { labels: [{ key: 'kmf.role', value: 'broker' }] },
  max_completion_time: { nanoseconds: '86400000000000' },
  limits: { cpus: { value: Infinity }, mem: { value: 2048 } },
};

/** Every Call type, with the sub-messages a scheduler (kmf or third-party) puts in them. */
const CALLS: Record<string, Call> = {
  SUBSCRIBE: {
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: 'kmf',
        name: 'kmf',
        failover_timeout: 604800,
        checkpoint: true,
        roles: ['kafka', 'streams'],
        principal: 'kmf',
        capabilities: [{ type: 'MULTI_ROLE' }, { type: 'PARTITION_AWARE' }, { type: 'RESERVATION_REFINEMENT' }],
        labels: { labels: [{ key: 'owner', value: 'data-platform' }] },
      },
      suppressed_roles: ['streams'],
      ...{
        offer_constraints: {
          role_constraints: {
            kafka: {
              groups: [
                {
                  attribute_constraints: [
                    { selector: { attribute_name: 'rack' }, predicate: { not_equals_string: { value: 'r9' } } },
                    { selector: { pseudoattribute_type: 'HOSTNAME' }, predicate: { exists: {} } },
                  ],
                },
              ],
            },
          },
        },
      },
    },
  },
  TEARDOWN: { framework_id: FID, type: 'TEARDOWN' },
  ACCEPT: {
    framework_id: FID,
    type: 'ACCEPT',
    accept: {
      offer_ids: [{ value: 'm-O1' }, { value: 'm-O2' }],
      operations: [
        { type: 'RESERVE', reserve: { resources: [volume] } },
        { type: 'CREATE', create: { volumes: [volume] } },
        { type: 'LAUNCH', launch: { task_infos: [task] } },
        {
          type: 'LAUNCH_GROUP',
          launch_group: {
            executor: { type: 'DEFAULT', executor_id: { value: 'streams-exec' }, framework_id: FID, resources: [cpus(0.1)] },
            task_group: { tasks: [{ ...task, name: 'app-1', task_id: { value: 'app-1.0' } }] },
          },
        },
        { type: 'UNRESERVE', unreserve: { resources: [volume] } },
        { type: 'DESTROY', destroy: { volumes: [volume] } },
      ],
      filters: { refuse_seconds: 5 },
    },
  },
  DECLINE: { framework_id: FID, type: 'DECLINE', decline: { offer_ids: [{ value: 'm-O3' }], filters: { refuse_seconds: 3600 } } },
  ACCEPT_INVERSE_OFFERS: { framework_id: FID, type: 'ACCEPT_INVERSE_OFFERS', accept_inverse_offers: { inverse_offer_ids: [{ value: 'i1' }] } },
  DECLINE_INVERSE_OFFERS: {
    framework_id: FID,
    type: 'DECLINE_INVERSE_OFFERS',
    decline_inverse_offers: { inverse_offer_ids: [{ value: 'i1' }], filters: { refuse_seconds: 1 } },
  },
  REVIVE: { framework_id: FID, type: 'REVIVE', revive: { roles: ['kafka'] } },
  SUPPRESS: { framework_id: FID, type: 'SUPPRESS', suppress: { roles: ['kafka', 'streams'] } },
  KILL: { framework_id: FID, type: 'KILL', kill: { task_id: { value: 'broker-1.0' }, agent_id: AGENT, kill_policy: { grace_period: { nanoseconds: '5000000000' } } } },
  SHUTDOWN: { framework_id: FID, type: 'SHUTDOWN', shutdown: { executor_id: { value: 'streams-exec' }, agent_id: AGENT } },
  ACKNOWLEDGE: { framework_id: FID, type: 'ACKNOWLEDGE', acknowledge: { agent_id: AGENT, task_id: { value: 't' }, uuid: UUID } },
  ACKNOWLEDGE_OPERATION_STATUS: {
    framework_id: FID,
    type: 'ACKNOWLEDGE_OPERATION_STATUS',
    acknowledge_operation_status: { agent_id: AGENT, resource_provider_id: { value: 'rp' }, uuid: UUID, operation_id: { value: 'op-1' } },
  },
  RECONCILE: { framework_id: FID, type: 'RECONCILE', reconcile: { tasks: [{ task_id: { value: 'a' }, agent_id: AGENT }, { task_id: { value: 'b' } }] } },
  RECONCILE_OPERATIONS: { framework_id: FID, type: 'RECONCILE_OPERATIONS', reconcile_operations: { operations: [{ operation_id: { value: 'op-1' } }] } },
  MESSAGE: { framework_id: FID, type: 'MESSAGE', message: { agent_id: AGENT, executor_id: { value: 'e' }, data: Buffer.from('hello ✓') } },
  REQUEST: { framework_id: FID, type: 'REQUEST', request: { requests: [{ agent_id: AGENT, resources: [cpus(1)] }] } },
  UPDATE_FRAMEWORK: {
    framework_id: FID,
    type: 'UPDATE_FRAMEWORK',
    update_framework: { framework_info: { user: 'kmf', name: 'kmf', id: FID, roles: ['kafka'] }, suppressed_roles: ['kafka'] },
  },
};

/** Every Event type. Fields with an explicit [default] are set, so JSON round trips are exact. */
const EVENTS: Record<string, Event> = {
  SUBSCRIBED: {
    type: 'SUBSCRIBED',
    subscribed: {
      framework_id: FID,
      heartbeat_interval_seconds: 15,
      master_info: { id: 'm', ip: 184549386, port: 5050, hostname: 'm1', address: { ip: '10.0.0.11', port: 5050 }, capabilities: [{ type: 'AGENT_UPDATE' }, {}] },
    },
  },
  OFFERS: { type: 'OFFERS', offers: { offers: [buildOffer(0), buildOffer(1)] } },
  INVERSE_OFFERS: {
    type: 'INVERSE_OFFERS',
    inverse_offers: {
      inverse_offers: [
        { id: { value: 'i1' }, framework_id: FID, agent_id: AGENT, unavailability: { start: { nanoseconds: '1700000000000000001' }, duration: { nanoseconds: '-1' } } },
      ],
    },
  },
  RESCIND: { type: 'RESCIND', rescind: { offer_id: { value: 'm-O1' } } },
  RESCIND_INVERSE_OFFER: { type: 'RESCIND_INVERSE_OFFER', rescind_inverse_offer: { inverse_offer_id: { value: 'i1' } } },
  UPDATE: {
    type: 'UPDATE',
    update: {
      status: {
        task_id: { value: 'broker-1.0' },
        state: 'TASK_UNREACHABLE',
        message: 'agent partitioned — “quoted”',
        source: 'SOURCE_MASTER',
        reason: 'REASON_AGENT_REMOVED',
        data: Buffer.alloc(0),
        agent_id: AGENT,
        executor_id: { value: 'broker-1.0' },
        timestamp: 1700000123.120981,
        uuid: UUID,
        healthy: false,
        labels: { labels: [{ key: 'k' }] },
        container_status: { container_id: { value: 'c', parent: { value: 'p' } }, network_infos: [{ ip_addresses: [{ protocol: 'IPv6', ip_address: '::1' }] }], executor_pid: 1 },
        unreachable_time: { nanoseconds: '1700000123456789012' },
        limitation: { resources: [cpus(1)] },
      },
    },
  },
  UPDATE_OPERATION_STATUS: {
    type: 'UPDATE_OPERATION_STATUS',
    update_operation_status: {
      status: { operation_id: { value: 'op-1' }, state: 'OPERATION_FINISHED', converted_resources: [volume], uuid: { value: UUID }, agent_id: AGENT },
    },
  },
  MESSAGE: { type: 'MESSAGE', message: { agent_id: AGENT, executor_id: { value: 'e' }, data: Buffer.from([1, 2, 3]) } },
  FAILURE: { type: 'FAILURE', failure: { agent_id: AGENT, executor_id: { value: 'e' }, status: 256 } },
  ERROR: { type: 'ERROR', error: { message: 'Framework failed over' } },
  HEARTBEAT: { type: 'HEARTBEAT' },
};

void describe('Call round trips', () => {
  for (const [name, c] of Object.entries(CALLS)) {
    for (const ct of CTS) {
      void test(`${name} via ${ct}`, () => {
        const body = encodeCall(c, ct);
        assert.deepEqual(decodeCall(body, ct), c);
      });
    }
  }

  void test('the Call catalogue covers every Call.Type except UNKNOWN', () => {
    const names = Object.keys(protoType('mesos.v1.scheduler.Call').lookupEnum('Type').values).filter((n) => n !== 'UNKNOWN');
    assert.deepEqual(Object.keys(CALLS).sort(), names.sort());
  });
});

void describe('Event round trips', () => {
  for (const [name, ev] of Object.entries(EVENTS)) {
    for (const ct of CTS) {
      void test(`${name} via ${ct}`, () => {
        const body = encodeEvent(ev, ct);
        assert.deepEqual(decodeEvent(body, ct), ev);
        // The strict parser reads the same thing the fast path does.
        assert.deepEqual(decodeMessage('mesos.v1.scheduler.Event', body, ct), ev);
      });
    }
    void test(`${name}: the JSON text is stable across a protobuf hop`, () => {
      const json = encodeEvent(ev, JSON_CT);
      const again = encodeEvent(decodeEvent(encodeEvent(decodeEvent(json, JSON_CT), PB), PB), JSON_CT);
      assert.equal(again.toString(), json.toString());
    });
  }

  void test('the Event catalogue covers every Event.Type except UNKNOWN', () => {
    const names = Object.keys(protoType('mesos.v1.scheduler.Event').lookupEnum('Type').values).filter((n) => n !== 'UNKNOWN');
    assert.deepEqual(Object.keys(EVENTS).sort(), names.sort());
  });

  void test('int64 nanoseconds beyond 2^53 survive both codecs exactly', () => {
    for (const ct of CTS) {
      const ev = decodeEvent(encodeEvent(EVENTS['UPDATE']!, ct), ct);
      assert.equal(ev.type === 'UPDATE' ? ev.update.status.unreachable_time?.nanoseconds : undefined, '1700000123456789012');
    }
    const json = encodeEvent(EVENTS['UPDATE']!, JSON_CT).toString();
    assert.ok(json.includes('"unreachable_time":{"nanoseconds":1700000123456789012}'), 'written as a JSON number');
  });
});

void describe('binary decoding follows proto2', () => {
  const Event = protoType('mesos.v1.scheduler.Event');

  void test('an unknown value of an optional enum is dropped; of a required enum the parse fails', () => {
    const status = (state: number, source: number): Uint8Array => {
      const w = protobuf.Writer.create();
      w.uint32((1 << 3) | 2).bytes(protobuf.Writer.create().uint32(10).string('t').finish()); // task_id
      w.uint32((2 << 3) | 0).int32(state);
      w.uint32((9 << 3) | 0).int32(source);
      return w.finish();
    };
    const event = (st: Uint8Array): Buffer => {
      const update = protobuf.Writer.create().uint32(10).bytes(st).finish();
      return Buffer.from(protobuf.Writer.create().uint32(8).int32(4).uint32((5 << 3) | 2).bytes(update).finish());
    };
    const ok = decodeEvent(event(status(1, 77)), PB);
    assert.deepEqual(ok, { type: 'UPDATE', update: { status: { task_id: { value: 't' }, state: 'TASK_RUNNING' } } });
    assert.throws(
      () => decodeEvent(event(status(99, 2)), PB),
      (err: unknown) => err instanceof CodecError && err.message === 'Failed to parse body into Event protobuf',
    );
  });

  void test('unknown fields are skipped, packed and unpacked repeated scalars both decode', () => {
    const hc = protoType('mesos.v1.HealthCheck.HTTPCheckInfo');
    const unpacked = protobuf.Writer.create().uint32(8).uint32(80).uint32(32).uint32(200).uint32(32).uint32(204);
    unpacked.uint32((99 << 3) | 2).string('unknown field');
    const packed = protobuf.Writer.create().uint32(8).uint32(80).uint32((4 << 3) | 2).fork().uint32(200).uint32(204).ldelim();
    for (const w of [unpacked, packed]) {
      assert.deepEqual(decodeMessage(hc.fullName.slice(1), Buffer.from(w.finish()), PB), { port: 80, statuses: [200, 204] });
    }
  });

  void test('property: varint/fixed64 edge values survive the binary codec', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.maxSafeNat(),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.double({ noNaN: true }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (status, begin, nanos, ts, text) => {
          const events: Event[] = [
            { type: 'FAILURE', failure: { agent_id: { value: text }, status } },
            {
              type: 'UPDATE',
              update: { status: { task_id: { value: text }, state: 'TASK_LOST', timestamp: ts, unreachable_time: { nanoseconds: nanos.toString() } } },
            },
            {
              type: 'OFFERS',
              offers: {
                offers: [
                  {
                    id: { value: 'o' },
                    framework_id: FID,
                    agent_id: AGENT,
                    hostname: text,
                    resources: [{ name: 'ports', type: 'RANGES', ranges: { range: [{ begin, end: begin }] } }],
                  },
                ],
              },
            },
          ];
          for (const ev of events) assert.deepEqual(decodeEvent(encodeEvent(ev, PB), PB), ev);
        },
      ),
      { numRuns: 300 },
    );
  });

  void test('a truncated body is refused', () => {
    const body = encodeEvent(EVENTS['OFFERS']!, PB);
    assert.throws(() => decodeEvent(body.subarray(0, body.length - 3), PB), CodecError);
  });

  void test('bytes are copied out of the record', () => {
    const body = encodeEvent(EVENTS['MESSAGE']!, PB);
    const ev = decodeEvent(body, PB);
    body.fill(0);
    assert.deepEqual(ev.type === 'MESSAGE' ? [...ev.message.data] : [], [1, 2, 3]);
  });

  void test('protobufjs reads what kmf writes (cross-check against an independent decoder)', () => {
    const body = encodeEvent(EVENTS['OFFERS']!, PB);
    const viaPbjs = Event.toObject(Event.decode(body), { enums: String, longs: String }) as { offers: { offers: unknown[] } };
    assert.equal(viaPbjs.offers.offers.length, 2);
  });
});

void describe('client fast path == strict parser', () => {
  const ENUM_SOURCES = ['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR', 'SOURCE_FROM_THE_FUTURE'];
  const REASONS = ['REASON_RECONCILIATION', 'REASON_AGENT_REMOVED', 'REASON_NOT_IN_1_11'];
  const STATES = ['TASK_RUNNING', 'TASK_FINISHED', 'TASK_GONE_BY_OPERATOR', 'TASK_NOT_A_STATE'];

  void test('property: random UPDATE/OFFERS JSON decodes identically (or fails identically)', () => {
    const statusArb = fc.record(
      {
        task_id: fc.record({ value: fc.string({ minLength: 1, maxLength: 8 }) }),
        state: fc.constantFrom(...STATES),
        message: fc.string({ unit: 'grapheme', maxLength: 20 }),
        source: fc.constantFrom(...ENUM_SOURCES),
        reason: fc.constantFrom(...REASONS),
        timestamp: fc.double({ noNaN: true, noDefaultInfinity: true }),
        uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a).toString('base64')),
        unreachable_time: fc.record({ nanoseconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) }),
        // A master never writes an empty repeated field, so neither do these documents.
        labels: fc.record({ labels: fc.array(fc.record({ key: fc.string(), value: fc.string() }, { requiredKeys: ['key'] }), { minLength: 1, maxLength: 3 }) }),
      },
      { requiredKeys: ['task_id', 'state'] },
    );
    const offerArb = fc.nat({ max: 1000 }).map((i) => ({ ...buildOffer(i) }));
    const eventArb = fc.oneof(
      statusArb.map((status) => ({ type: 'UPDATE', update: { status } })),
      fc.array(offerArb, { maxLength: 3 }).map((offers) => ({ type: 'OFFERS', offers: { offers } })),
    );
    fc.assert(
      fc.property(eventArb, (ev) => {
        // Hand-written JSON (nanoseconds as bare integers, offers via the master encoder).
        const text =
          ev.type === 'OFFERS'
            ? encodeEvent(ev as Event, JSON_CT).toString()
            : JSON.stringify(ev, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v.toString()}@@` : v)).replace(/"@@(-?\d+)@@"/g, '$1');
        const body = Buffer.from(text);
        let strict: unknown;
        let strictErr: string | undefined;
        try {
          strict = decodeMessage('mesos.v1.scheduler.Event', body, JSON_CT);
        } catch (err) {
          strictErr = (err as Error).message;
        }
        let fast: unknown;
        let fastErr: string | undefined;
        try {
          fast = decodeEvent(body, JSON_CT);
        } catch (err) {
          fastErr = (err as Error).message;
        }
        assert.equal(fastErr, strictErr);
        if (strictErr === undefined) assert.deepEqual(fast, strict);
      }),
      { numRuns: 200 },
    );
  });
});

void describe('encodeMessage', () => {
  void test('refuses non-objects and unknown types', () => {
    assert.throws(() => encodeMessage('mesos.v1.scheduler.Call', 'x', JSON_CT), CodecError);
    assert.throws(() => encodeMessage('mesos.v1.NoSuchThing', {}, JSON_CT), CodecError);
    assert.throws(() => encodeCall(CALLS['TEARDOWN']!, 'text/plain' as ContentType), CodecError);
  });
});
