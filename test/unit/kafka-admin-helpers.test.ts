import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { mapKafkaError } from '../../src/kafka/admin.js';
import { bootstrapServers, bootstrapString } from '../../src/kafka/bootstrap.js';
import { computeLag } from '../../src/kafka/lag.js';
import { topicNameIssues, topicSpecIssues } from '../../src/kafka/topics.js';
import { KmfError } from '../../src/util/errors.js';

/** kafkajs' error constructors take more than its type declarations say (protocol fields, a cause). */
const protocolError = (type: string, code: number, retriable: boolean): Error =>
  new kafkajs.KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable }));
const wrapped = (e: Error): Error => new (kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error)(e, { cause: e });

void describe('kafkajs error mapping', () => {
  void test('protocol error types map to stable codes through wrappers', () => {
    const exists = protocolError('TOPIC_ALREADY_EXISTS', 36, false);
    // kafkajs' retrier bails out with the original as the cause.
    const e = mapKafkaError(wrapped(exists), 'create topic x');
    assert.equal(e.code, 'kafka_topic_exists');
    assert.equal(e.retriable, false);
    assert.match(e.message, /^create topic x: /);
    const agg = new kafkajs.KafkaJSAggregateError('failed', [protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true)]);
    assert.equal(mapKafkaError(agg, 'op').code, 'kafka_unknown_topic');
  });

  void test('connection trouble and timeouts are retriable', () => {
    const conn = new kafkajs.KafkaJSNumberOfRetriesExceeded(new kafkajs.KafkaJSConnectionError('Connection error: ECONNREFUSED'), { retryCount: 3, retryTime: 100 });
    const e = mapKafkaError(conn, 'describe cluster');
    assert.deepEqual([e.code, e.retriable], ['kafka_unreachable', true]);
    const t = mapKafkaError(new kafkajs.KafkaJSRequestTimeoutError('Request timed out'), 'x');
    assert.deepEqual([t.code, t.retriable], ['kafka_timeout', true]);
  });

  void test('anything else is kafka_error; KmfErrors pass through', () => {
    assert.equal(mapKafkaError(new Error('boom'), 'x').code, 'kafka_error');
    const k = new KmfError('mine', 'm');
    assert.equal(mapKafkaError(k, 'x'), k);
  });
});

void describe('bootstrap servers', () => {
  void test('running brokers in id order; all known placements when none runs', () => {
    const placements = [
      { nodeId: 2, host: 'agent-3', port: 31002, running: true },
      { nodeId: 0, host: 'agent-1', port: 31000, running: true },
      { nodeId: 1, host: 'agent-2', port: 31001, running: false },
    ];
    assert.deepEqual(bootstrapServers(placements), ['agent-1:31000', 'agent-3:31002']);
    assert.equal(bootstrapString(placements.map((p) => ({ ...p, running: false }))), 'agent-1:31000,agent-2:31001,agent-3:31002');
    assert.deepEqual(bootstrapServers([{ nodeId: 0, host: 'fd00::1', port: 9092, running: true }]), ['[fd00::1]:9092']);
    assert.deepEqual(bootstrapServers([]), []);
  });
});

void describe('consumer lag', () => {
  void test('end minus committed; no commit counts the retained range', () => {
    const lag = computeLag(
      [{ topic: 'in', partitions: [{ partition: 0, offset: '40' }, { partition: 1, offset: '-1' }] }],
      new Map([
        [
          'in',
          [
            { partition: 1, low: '10', high: '25' },
            { partition: 0, low: '0', high: '100' },
          ],
        ],
      ]),
    );
    assert.deepEqual(lag, [
      { topic: 'in', partition: 0, committed: 40, start: 0, end: 100, lag: 60 },
      { topic: 'in', partition: 1, committed: null, start: 10, end: 25, lag: 15 },
    ]);
  });
});

void describe('topic validation', () => {
  void test('names and counts', () => {
    assert.deepEqual(topicNameIssues('orders.v1_x-y'), []);
    assert.match(topicNameIssues('bad name')[0] ?? '', /may only contain/);
    assert.match(topicNameIssues('x'.repeat(250))[0] ?? '', /longer than 249/);
    assert.deepEqual(topicNameIssues('..'), ['topic name ".." is not allowed']);
    const issues = topicSpecIssues({ name: 't', partitions: 0, replicationFactor: 1.5 });
    assert.equal(issues.length, 2);
  });
});
