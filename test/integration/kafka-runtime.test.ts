import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type Consumer, type KafkaMessage } from 'kafkajs';
import { kafkaRuntime, startKafka, type KafkaCluster } from '../helpers/kafka-runtime.js';

// kafkajs is CommonJS and Node's named-export detection misses some of its exports (ConfigResourceTypes).
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
type Kafka = InstanceType<typeof Kafka>;

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

function client(cluster: KafkaCluster, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...cluster.brokers], logLevel: logLevel.NOTHING });
}

/** Consumes `topic` from the beginning until `count` messages arrived; returns them in partition order. */
async function consumeN(consumer: Consumer, topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length}/${count} messages from ${topic}`)), timeoutMs);
    void consumer
      .run({
        eachMessage: ({ message }) => {
          got.push(message);
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      })
      .catch(reject);
  });
  return got;
}

void test('kafkaRuntime() points at the assembled distribution and tarball', () => {
  const rt = kafkaRuntime();
  assert.match(rt.version, /^4\.\d+\.\d+$/);
  assert.ok(fs.existsSync(`${rt.home}/bin/kafka-server-start`));
  assert.ok(fs.existsSync(`${rt.home}/bin/kafka-storage`));
  assert.ok(fs.existsSync(`${rt.home}/libs/kafka_2.13-${rt.version}.jar`));
  assert.ok(fs.statSync(rt.tarball).size > 1_000_000);
});

void test('the tarball is self-contained: extracted elsewhere, its scripts run with only a JRE', () => {
  const rt = kafkaRuntime();
  const sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-sandbox-'));
  try {
    // What the Mesos fetcher does with a .tgz URI: extract it into the sandbox.
    execFileSync('tar', ['-xzf', rt.tarball, '-C', sandbox]);
    const home = path.join(sandbox, `kafka-${rt.version}`);
    const id = execFileSync(path.join(home, 'bin', 'kafka-storage'), ['random-uuid'], {
      env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx64m', KAFKA_JVM_PERFORMANCE_OPTS: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1' },
      encoding: 'utf8',
    }).trim();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
  } finally {
    fs.rmSync(sandbox, { recursive: true, force: true });
  }
});

void describe('single-node KRaft Kafka (real broker) with kafkajs', () => {
  let cluster: KafkaCluster;
  before(async () => {
    cluster = await startKafka({ nodes: 1 });
  });
  after(async () => {
    await cluster.stop();
  });

  void test('describeCluster shows the one broker', async () => {
    const admin = client(cluster, 'describe').admin();
    await admin.connect();
    try {
      const desc = await admin.describeCluster();
      assert.equal(desc.brokers.length, 1);
      assert.equal(desc.brokers[0]!.nodeId, 1);
      assert.equal(desc.brokers[0]!.port, cluster.nodes[0]!.port);
      assert.equal(desc.clusterId, cluster.clusterId);
    } finally {
      await admin.disconnect();
    }
  });

  void test('createTopics applies topic configs', async () => {
    const admin = client(cluster, 'topics').admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: 'configured',
            numPartitions: 3,
            replicationFactor: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'retention.ms', value: '3600000' },
            ],
          },
        ],
      });
      assert.equal(created, true);
      const meta = await admin.fetchTopicMetadata({ topics: ['configured'] });
      assert.equal(meta.topics[0]!.partitions.length, 3);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configNames: ['cleanup.policy', 'retention.ms'] }],
      });
      const entries = new Map(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      assert.equal(entries.get('cleanup.policy'), 'compact');
      assert.equal(entries.get('retention.ms'), '3600000');
    } finally {
      await admin.disconnect();
    }
  });

  void test('produce with acks=-1, then consume the same records', async () => {
    const kafka = client(cluster, 'plain');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'plain', numPartitions: 1 }] });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const result = await producer.send({ topic: 'plain', acks: -1, messages: sent });
    await producer.disconnect();
    assert.equal(result[0]!.errorCode, 0);

    const consumer = kafka.consumer({ groupId: 'plain-reader' });
    try {
      const got = await consumeN(consumer, 'plain', sent.length);
      assert.deepEqual(
        got.map((m) => [m.key?.toString(), m.value?.toString()]),
        sent.map((m) => [m.key, m.value]),
      );
    } finally {
      await consumer.disconnect();
    }
  });

  void test('transactional producer: committed records are read by a read_committed consumer, aborted ones are not', async () => {
    const kafka = client(cluster, 'tx');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'tx-out', numPartitions: 2 }] });
    await admin.disconnect();

    const producer = kafka.producer({ transactionalId: 'kmf-test-tx', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic: 'tx-out', messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
      await committed.commit();

      const aborted = await producer.transaction();
      await aborted.send({ topic: 'tx-out', messages: [{ key: 'a', value: 'aborted-1' }, { key: 'b', value: 'aborted-2' }] });
      await aborted.abort();

      const last = await producer.transaction();
      await last.send({ topic: 'tx-out', messages: [{ key: 'a', value: 'committed-3' }] });
      await last.commit();
    } finally {
      await producer.disconnect();
    }

    // read_committed (kafkajs' default, readUncommitted: false): only the committed transactions' records.
    const committedReader = kafka.consumer({ groupId: 'tx-reader-committed', readUncommitted: false });
    try {
      const got = await consumeN(committedReader, 'tx-out', 3);
      assert.deepEqual(got.map((m) => m.value?.toString()).sort(), ['committed-1', 'committed-2', 'committed-3']);
    } finally {
      await committedReader.disconnect();
    }
    // read_uncommitted sees the aborted records too: proves the abort really wrote (and hid) them.
    const uncommittedReader = kafka.consumer({ groupId: 'tx-reader-uncommitted', readUncommitted: true });
    try {
      const got = await consumeN(uncommittedReader, 'tx-out', 5);
      assert.deepEqual(got.map((m) => m.value?.toString()).sort(), ['aborted-1', 'aborted-2', 'committed-1', 'committed-2', 'committed-3']);
    } finally {
      await uncommittedReader.disconnect();
    }
  });

  void test('a second producer with the same transactional.id fences the first', async () => {
    const kafka = client(cluster, 'fence');
    const first = kafka.producer({ transactionalId: 'kmf-test-fence', idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
    const second = kafka.producer({ transactionalId: 'kmf-test-fence', idempotent: true, maxInFlightRequests: 1 });
    await first.connect();
    try {
      const tx1 = await first.transaction();
      await tx1.send({ topic: 'plain', messages: [{ value: 'from-first' }] });
      await second.connect();
      const tx2 = await second.transaction();
      await tx2.send({ topic: 'plain', messages: [{ value: 'from-second' }] });
      await tx2.commit();
      await assert.rejects(tx1.commit(), /fenced|epoch|ProducerFenced|INVALID_PRODUCER_EPOCH/i);
    } finally {
      await first.disconnect();
      await second.disconnect();
    }
  });
});

void describe('three-node KRaft Kafka (static voters)', () => {
  let cluster: KafkaCluster;
  before(async () => {
    cluster = await startKafka({ nodes: 3 });
  });
  after(async () => {
    await cluster.stop();
  });

  void test('all three brokers register; an RF=3 topic keeps accepting acks=-1 writes with one node down', async () => {
    const kafka = client(cluster, 'three');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const desc = await admin.describeCluster();
      assert.deepEqual(desc.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] });
      const meta = await admin.fetchTopicMetadata({ topics: ['replicated'] });
      assert.equal(meta.topics[0]!.partitions[0]!.replicas.length, 3);
    } finally {
      await admin.disconnect();
    }

    // min.insync.replicas=2: losing one of three nodes still allows acks=-1 writes.
    await cluster.nodes[2]!.kill();
    const producer = kafka.producer({ retry: { retries: 10 } });
    await producer.connect();
    try {
      const res = await producer.send({ topic: 'replicated', acks: -1, messages: [{ value: 'still-writable' }] });
      assert.equal(res[0]!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
  });
});
