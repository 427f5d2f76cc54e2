/**
 * kmf's Kafka-side modules against a real 3-node KRaft cluster (combined nodes, static voters, started by
 * test/helpers/kafka-runtime.ts): readiness, the roll-safety gates, topics, a scale-in drain and consumer lag.
 * One cluster serves every case; each case creates and deletes its own topics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import { describeQuorumFromAny } from '../../src/kafka/kraft-quorum.js';
import { consumerGroupLag } from '../../src/kafka/lag.js';
import { brokerReadiness, controllerReadiness } from '../../src/kafka/readiness.js';
import { drainBroker, partitionsOnBroker, planDrain } from '../../src/kafka/reassign.js';
import { canStop, evaluateControllerStop, fetchPartitionStates, isrRecovered } from '../../src/kafka/roll-safety.js';
import { addPartitions, createTopic, deleteTopic, describeTopic, listTopics, updateTopicConfigs } from '../../src/kafka/topics.js';
import { unregisterBroker } from '../../src/kafka/unregister-broker.js';
import { KmfError } from '../../src/util/errors.js';
import { startKafka, type KafkaCluster } from '../helpers/kafka-runtime.js';

const WAIT_MS = 90_000;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms ${last}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function isKmf(code: string): (e: unknown) => boolean {
  return (e) => e instanceof KmfError && e.code === code;
}

void describe('Kafka admin modules on a real 3-node cluster', () => {
  let cluster: KafkaCluster;
  let admin: KafkaAdmin;

  before(async () => {
    cluster = await startKafka({
      nodes: 3,
      // min ISR 2 only where a test asks for it; internal topics at RF 2 so that one broker can be drained.
      properties: {
        'min.insync.replicas': 1,
        'offsets.topic.replication.factor': 2,
        'transaction.state.log.replication.factor': 2,
        'transaction.state.log.min.isr': 1,
      },
    });
    admin = new KafkaAdmin({ brokers: cluster.brokers, clientId: 'kmf-admin-test', callTimeoutMs: 20_000, retries: 2 });
  });

  after(async () => {
    await admin?.close();
    await cluster?.stop();
  });

  void test('every broker is ready at the endpoint it advertises; every controller is a caught-up voter', async (t) => {
    t.diagnostic(`cluster start → 3 brokers registered: ${cluster.timings.startToReadyMs} ms (format ${cluster.timings.formatMs} ms)`);
    for (const node of cluster.nodes) {
      assert.deepEqual(await brokerReadiness(admin, node.nodeId, { host: '127.0.0.1', port: node.port }), { ready: true });
      const r = await eventually(`controller ${node.nodeId} ready`, async () => {
        const c = await controllerReadiness(cluster.brokers, node.nodeId);
        return c.ready ? c : undefined;
      });
      assert.deepEqual(r, { ready: true });
    }
    assert.match(JSON.stringify(await brokerReadiness(admin, 42)), /broker 42 is not registered/);
  });

  void test('topics: create, list, describe, add partitions, update configs, delete', async () => {
    const name = 'kmf-crud';
    await createTopic(admin, { name, partitions: 2, replicationFactor: 3, configs: { 'retention.ms': '3600000', 'cleanup.policy': 'delete' } });
    try {
      await assert.rejects(createTopic(admin, { name, partitions: 1, replicationFactor: 1 }), isKmf('kafka_topic_exists'));
      assert.ok((await listTopics(admin)).includes(name));
      assert.ok(!(await listTopics(admin)).some((n) => n.startsWith('__')), 'internal topics hidden by default');

      let d = await describeTopic(admin, name);
      assert.equal(d.partitions.length, 2);
      assert.equal(d.replicationFactor, 3);
      for (const p of d.partitions) {
        assert.deepEqual([...p.replicas].sort(), [1, 2, 3]);
        assert.ok(p.replicas.includes(p.leader));
        assert.equal(p.offline, false);
      }
      assert.deepEqual(d.configs['retention.ms'], { value: '3600000', source: 'topic', readOnly: false, sensitive: false });
      assert.equal(d.configs['segment.bytes']?.source, 'default');

      await addPartitions(admin, name, 5);
      // Metadata reaches every broker a moment later; whichever answers, shrinking is refused.
      d = await eventually('5 partitions everywhere', async () => {
        const x = await describeTopic(admin, name);
        return x.partitions.length === 5 ? x : undefined;
      });
      await assert.rejects(addPartitions(admin, name, 3), isKmf('kafka_invalid_request'));

      const overrides = await updateTopicConfigs(admin, name, { 'retention.ms': null, 'max.message.bytes': '2000000' });
      assert.deepEqual(overrides, { 'cleanup.policy': 'delete', 'max.message.bytes': '2000000' });
      d = await eventually('configs applied', async () => {
        const x = await describeTopic(admin, name);
        return x.configs['max.message.bytes']?.value === '2000000' ? x : undefined;
      });
      assert.equal(d.configs['retention.ms']?.source, 'default', 'removed override falls back to the default');
      assert.equal(d.configs['cleanup.policy']?.source, 'topic', 'other overrides kept');
      await assert.rejects(updateTopicConfigs(admin, name, { 'no.such.config': '1' }), (e: unknown) => e instanceof KmfError && e.code === 'kafka_invalid_request');
    } finally {
      await deleteTopic(admin, name);
    }
    await eventually('topic gone', async () => ((await listTopics(admin)).includes(name) ? undefined : true));
    await assert.rejects(describeTopic(admin, name), isKmf('kafka_unknown_topic'));
    await assert.rejects(deleteTopic(admin, name), isKmf('kafka_unknown_topic'));
    await assert.rejects(createTopic(admin, { name: 'bad name', partitions: 1, replicationFactor: 1 }), isKmf('kafka_invalid_request'));
  });

  void test('roll safety: a stopped broker blocks stopping another; after its restart it rejoins the ISR', async (t) => {
    const name = 'kmf-guarded';
    await createTopic(admin, { name, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    const [, node2, node3] = cluster.nodes;
    try {
      assert.deepEqual(await canStop(admin, 1), { ok: true, partitions: (await fetchPartitionStates(admin)).filter((p) => p.replicas.includes(1)).length });

      await node3!.stop();
      const verdict = await eventually('stopping broker 2 is refused', async () => {
        const v = await canStop(admin, 2);
        return v.ok ? undefined : v;
      });
      assert.equal(verdict.ok, false);
      if (!verdict.ok) {
        const guarded = verdict.reasons.filter((r) => r.topic === name);
        assert.equal(guarded.length, 3, JSON.stringify(verdict.reasons));
        for (const r of guarded) {
          assert.equal(r.kind, 'would-drop-below-min-isr');
          assert.equal(r.minIsr, 2);
          assert.deepEqual([...r.isr].sort(), [1, 2]);
          assert.match(r.message, new RegExp(`${name}-${r.partition}: ISR \\[[12],[12]\\] would shrink to 1 without broker 2, below min.insync.replicas 2`));
        }
      }
      const down = await isrRecovered(admin, 3);
      assert.equal(down.ok, false);
      assert.equal(down.registered, false);

      // The controller side: with voter 3 down, stopping voter 1 would leave one of three.
      const q = await eventually('voter 3 seen as lagging', async () => {
        const d = await describeQuorumFromAny(cluster.brokers.filter((b) => !b.endsWith(`:${node3!.port}`)));
        return evaluateControllerStop(d, 1).ok ? undefined : d;
      });
      assert.match(JSON.stringify(evaluateControllerStop(q, 1)), /fewer than the majority of 2/);
      assert.equal((await controllerReadiness(cluster.brokers, 3)).ready, false);

      // What a scale-in does once the broker is gone for good: drop its registration. Idempotent (whether the
      // stopped broker's registration is still there depends on how it left); a broker that comes back
      // registers anew.
      const live = cluster.brokers.filter((b) => !b.endsWith(`:${node3!.port}`));
      const first = await unregisterBroker(live, 3);
      t.diagnostic(`unregister of the stopped broker: ${first.wasRegistered ? 'was registered' : 'already gone'}`);
      assert.deepEqual(await unregisterBroker(live, 3), { wasRegistered: false });

      await node3!.restart();
      const back = await eventually('broker 3 back in every ISR', async () => {
        const v = await isrRecovered(admin, 3);
        return v.ok ? v : undefined;
      });
      assert.equal(back.registered, true);
      assert.ok(back.ok && back.partitions >= 3);
      assert.equal((await canStop(admin, node2!.nodeId)).ok, true);
    } finally {
      if (!node3!.running()) await node3!.restart();
      await deleteTopic(admin, name);
    }
  });

  void test('scale-in drain: every replica leaves the broker, each partition keeps its replication factor', async () => {
    const name = 'kmf-drain';
    await createTopic(admin, { name, partitions: 6, replicationFactor: 2 });
    try {
      await eventually('no RF-3 topic left from other cases', async () => {
        const plan = planDrain(await fetchPartitionStates(admin), 3, [1, 2, 3]);
        return plan.ok ? true : undefined;
      });
      // Idempotent: a retried batch (e.g. after a leader move on the busy machine) must not be written
      // twice, or the offset count below would see duplicates instead of losses.
      const producer = admin.kafkaClient.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await producer.send({ topic: name, acks: -1, messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      await producer.disconnect();

      const { moved } = await drainBroker(admin, 3, [1, 2, 3], { pollMs: 500, timeoutMs: WAIT_MS });
      assert.ok(moved >= 1);
      assert.deepEqual(await partitionsOnBroker(admin, 3), []);
      const d = await describeTopic(admin, name);
      for (const p of d.partitions) {
        assert.equal(p.replicas.length, 2);
        assert.equal(new Set(p.replicas).size, 2);
        assert.ok(!p.replicas.includes(3));
      }
      const offsets = await admin.call('offsets', (a) => a.fetchTopicOffsets(name));
      assert.equal(offsets.reduce((s, o) => s + Number(o.high), 0), 60, 'no record lost in the moves');
    } finally {
      await deleteTopic(admin, name);
    }
  });

  void test('consumer lag per partition from committed offsets', async () => {
    const name = 'kmf-lag';
    const groupId = 'kmf-lag-group';
    await createTopic(admin, { name, partitions: 2, replicationFactor: 2 });
    try {
      const producer = admin.kafkaClient.producer();
      await producer.connect();
      await producer.send({
        topic: name,
        acks: -1,
        messages: [...Array.from({ length: 7 }, (_, i) => ({ partition: 0, value: `a${i}` })), ...Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `b${i}` }))],
      });
      await producer.disconnect();
      await admin.call('set offsets', (a) => a.setOffsets({ groupId, topic: name, partitions: [{ partition: 0, offset: '3' }] }));

      const lag = await consumerGroupLag(admin, groupId, [name]);
      assert.deepEqual(lag.partitions, [
        { topic: name, partition: 0, committed: 3, start: 0, end: 7, lag: 4 },
        { topic: name, partition: 1, committed: null, start: 0, end: 4, lag: 4 },
      ]);
      assert.equal(lag.total, 8);
      assert.deepEqual(lag.byTopic, { [name]: 8 });
      const all = await consumerGroupLag(admin, groupId);
      assert.deepEqual(all.byTopic, { [name]: 8 });
    } finally {
      await admin.call('delete group', (a) => a.deleteGroups([groupId])).catch(() => undefined);
      await deleteTopic(admin, name);
    }
  });
});
