import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeDescribeQuorumResponse, encodeDescribeQuorumRequest, voterCaughtUp, type QuorumDescription } from '../../src/kafka/kraft-quorum.js';
import { decodeUnregisterBrokerResponse, encodeUnregisterBrokerRequest } from '../../src/kafka/unregister-broker.js';
import { splitHostPort } from '../../src/kafka/kafka-wire.js';
import { KmfError } from '../../src/util/errors.js';

/** A test-side writer of Kafka's flexible-version primitives. */
class W {
  private parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  uint16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  uvarint(n: number): this {
    const bytes: number[] = [];
    let v = n;
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  str(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = Buffer.from(s, 'utf8');
    this.uvarint(b.length + 1);
    this.parts.push(b);
    return this;
  }
  uuid(s: string): this {
    this.parts.push(Buffer.from(s, 'base64url'));
    return this;
  }
  tags(extra?: Buffer): this {
    if (!extra) return this.uvarint(0);
    this.uvarint(1).uvarint(0).uvarint(extra.length);
    this.parts.push(extra);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function encodeResponse(cid: number, q: QuorumDescription, opts: { errorCode?: number; partitionError?: number; withUnknownTags?: boolean } = {}): Buffer {
  const w = new W().int32(cid).tags(opts.withUnknownTags ? Buffer.from([1, 2, 3]) : undefined);
  w.int16(opts.errorCode ?? 0).str(opts.errorCode ? 'top-level trouble' : null);
  w.uvarint(2).str('__cluster_metadata');
  w.uvarint(2).int32(0).int16(opts.partitionError ?? 0).str(null).int32(q.leaderId).int32(q.leaderEpoch).int64(q.highWatermark);
  for (const list of [q.voters, q.observers]) {
    w.uvarint(list.length + 1);
    for (const r of list) w.int32(r.replicaId).uuid(r.directoryId).int64(r.logEndOffset).int64(r.lastFetchTimestamp).int64(r.lastCaughtUpTimestamp).tags();
  }
  w.tags(); // partition
  w.tags(); // topic
  w.uvarint(q.nodes.length + 1);
  for (const n of q.nodes) {
    w.int32(n.nodeId).uvarint(n.listeners.length + 1);
    for (const l of n.listeners) w.str(l.name).str(l.host).uint16(l.port).tags();
    w.tags();
  }
  w.tags(opts.withUnknownTags ? Buffer.from([9]) : undefined);
  return w.done();
}

const sample: QuorumDescription = {
  leaderId: 1000,
  leaderEpoch: 7,
  highWatermark: 123456789012,
  voters: [
    { replicaId: 1000, directoryId: 'Tc18it-F-6WBAjmE9OWkAg', logEndOffset: 123456789012, lastFetchTimestamp: -1, lastCaughtUpTimestamp: 1_700_000_000_000 },
    { replicaId: 1001, directoryId: 'jzcg6lsgvWXubsndy5n8OQ', logEndOffset: 123456789000, lastFetchTimestamp: 1_699_999_999_900, lastCaughtUpTimestamp: 1_699_999_999_000 },
  ],
  observers: [{ replicaId: 3, directoryId: 'W41mXqJ_u68wGAHP9-d_Fw', logEndOffset: 5, lastFetchTimestamp: 1, lastCaughtUpTimestamp: 1 }],
  nodes: [
    { nodeId: 1000, listeners: [{ name: 'CONTROLLER', host: 'agent-1.example.com', port: 31000 }] },
    { nodeId: 1001, listeners: [{ name: 'CONTROLLER', host: 'agent-2.example.com', port: 65535 }] },
  ],
};

void describe('DescribeQuorum wire format', () => {
  void test('request: size, header v2 (api 55 v2, correlation id, int16 client id, tags), one topic with partition 0', () => {
    const buf = encodeDescribeQuorumRequest(42, 'kmf');
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 0x2a]), // size 42
      Buffer.from([0, 55, 0, 2, 0, 0, 0, 42, 0, 3]),
      Buffer.from('kmf'),
      Buffer.from([0]), // header tags
      Buffer.from([2, 19]),
      Buffer.from('__cluster_metadata'),
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]),
    ]);
    assert.deepEqual(buf, expected);
    assert.equal(buf.readInt32BE(0), buf.length - 4);
  });

  void test('response: decodes leader, voters with directory ids, observers and endpoints, skipping unknown tags', () => {
    assert.deepEqual(decodeDescribeQuorumResponse(encodeResponse(9, sample, { withUnknownTags: true }), 9), sample);
  });

  void test('property: any quorum description round-trips', () => {
    const replicaArb = fc.record({
      replicaId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      directoryId: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url')),
      logEndOffset: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
      lastFetchTimestamp: fc.integer({ min: -1, max: 2 ** 45 }),
      lastCaughtUpTimestamp: fc.integer({ min: -1, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(
        fc.record({
          leaderId: fc.integer({ min: -1, max: 5000 }),
          leaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
          highWatermark: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
          voters: fc.array(replicaArb, { maxLength: 5 }),
          observers: fc.array(replicaArb, { maxLength: 200 }),
          nodes: fc.array(
            fc.record({
              nodeId: fc.nat(5000),
              listeners: fc.array(fc.record({ name: fc.string({ maxLength: 20 }), host: fc.string({ maxLength: 300 }), port: fc.integer({ min: 0, max: 65535 }) }), { maxLength: 3 }),
            }),
            { maxLength: 5 },
          ),
        }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (generated, cid) => {
          const q = JSON.parse(JSON.stringify(generated)) as QuorumDescription; // plain objects, like the decoder's
          assert.deepEqual(decodeDescribeQuorumResponse(encodeResponse(cid, q), cid), q);
        },
      ),
    );
  });

  void test('errors: top-level and partition error codes, wrong correlation id, truncation', () => {
    assert.throws(
      () => decodeDescribeQuorumResponse(encodeResponse(1, sample, { errorCode: 41 }), 1),
      (e: unknown) => e instanceof KmfError && e.code === 'kafka_quorum_error' && e.retriable && /NOT_CONTROLLER: top-level trouble/.test(e.message),
    );
    assert.throws(
      () => decodeDescribeQuorumResponse(encodeResponse(1, sample, { partitionError: 3 }), 1),
      (e: unknown) => e instanceof KmfError && /UNKNOWN_TOPIC_OR_PARTITION/.test(e.message) && !e.retriable,
    );
    assert.throws(() => decodeDescribeQuorumResponse(encodeResponse(1, sample), 2), /correlation id 1, expected 2/);
    const full = encodeResponse(1, sample);
    for (const cut of [3, 10, 40, full.length - 1]) {
      assert.throws(() => decodeDescribeQuorumResponse(full.subarray(0, cut), 1), /truncated/);
    }
  });

  void test('caught up: within the fetch timeout of the leader, on the leader clock', () => {
    assert.equal(voterCaughtUp(sample, 1000), true);
    assert.equal(voterCaughtUp(sample, 1001), true);
    assert.equal(voterCaughtUp(sample, 1001, 500), false);
    assert.equal(voterCaughtUp(sample, 3), false, 'observers are not voters');
  });
});

void describe('UnregisterBroker wire format', () => {
  void test('request: api 64 v0 with the broker id and empty tags', () => {
    const buf = encodeUnregisterBrokerRequest(5, 'kmf', 3);
    assert.deepEqual(buf, Buffer.concat([Buffer.from([0, 0, 0, 19, 0, 64, 0, 0, 0, 0, 0, 5, 0, 3]), Buffer.from('kmf'), Buffer.from([0, 0, 0, 0, 3, 0])]));
  });

  void test('response: ok, not registered (idempotent), and other errors', () => {
    const resp = (code: number, msg: string | null): Buffer => new W().int32(5).tags().int32(0).int16(code).str(msg).tags().done();
    assert.deepEqual(decodeUnregisterBrokerResponse(resp(0, null), 5), { wasRegistered: true });
    assert.deepEqual(decodeUnregisterBrokerResponse(resp(102, 'Broker ID 3 is not currently registered'), 5), { wasRegistered: false });
    assert.throws(
      () => decodeUnregisterBrokerResponse(resp(42, 'still alive'), 5),
      (e: unknown) => e instanceof KmfError && e.code === 'kafka_unregister_failed' && /INVALID_REQUEST: still alive/.test(e.message),
    );
  });

  void test('host:port parsing, IPv6 in brackets', () => {
    assert.deepEqual(splitHostPort('agent-1:9092'), { host: 'agent-1', port: 9092 });
    assert.deepEqual(splitHostPort('[fd00::1]:9092'), { host: 'fd00::1', port: 9092 });
    assert.equal(splitHostPort('nope'), undefined);
    assert.equal(splitHostPort('h:99999'), undefined);
  });
});
