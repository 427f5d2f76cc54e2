import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  addBrokers,
  clusterIssues,
  clusterNodes,
  clusterUpdateIssues,
  createClusterSpec,
  replicationDefaults,
  supportsDynamicQuorum,
  type KafkaClusterSpec,
} from '../../src/kafka/cluster-model.js';
import { KmfError } from '../../src/util/errors.js';
import { allocateBrokerIds, CONTROLLER_ID_BASE, isKafkaUuid, randomKafkaUuid } from '../../src/kafka/node-ids.js';

function seeded(seed: number): (n: number) => Buffer {
  let x = seed;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      b[i] = x & 0xff;
    }
    return b;
  };
}

function withIssue(spec: KafkaClusterSpec, pattern: RegExp): void {
  const issues = clusterIssues(spec);
  assert.ok(
    issues.some((i) => pattern.test(i)),
    `expected an issue matching ${String(pattern)}, got: ${JSON.stringify(issues)}`,
  );
}

void describe('Kafka ids', () => {
  void test('random Kafka Uuids are 22 URL-safe base64 characters, never "-"-led, and valid', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomKafkaUuid();
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      assert.ok(!id.startsWith('-'));
      assert.ok(isKafkaUuid(id));
    }
  });

  void test('reserved and malformed ids are rejected', () => {
    assert.equal(isKafkaUuid('AAAAAAAAAAAAAAAAAAAAAA'), false, 'zero uuid');
    assert.equal(isKafkaUuid('AAAAAAAAAAAAAAAAAAAAAQ'), false, 'one uuid');
    assert.equal(isKafkaUuid('short'), false);
    assert.equal(isKafkaUuid('-bcdefghijklmnopqrstuA'), false);
    assert.equal(isKafkaUuid('Tc18it-F-6WBAjmE9OWkAg'), true);
    assert.equal(isKafkaUuid('Tc18it-F-6WBAjmE9OWkAh'), false, 'non-canonical last character');
  });

  void test('broker ids count up, skip ids in use and the controller range, and are never reused', () => {
    assert.deepEqual(allocateBrokerIds([], 0, 3), { ids: [0, 1, 2], nextBrokerId: 3 });
    assert.deepEqual(allocateBrokerIds([3], 3, 2), { ids: [4, 5], nextBrokerId: 6 });
    const near = allocateBrokerIds([], CONTROLLER_ID_BASE - 1, 2);
    assert.deepEqual(near.ids, [CONTROLLER_ID_BASE - 1, CONTROLLER_ID_BASE + 100]);
  });

  void test('property: allocated ids are fresh, distinct and below the new nextBrokerId', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(1200)), fc.nat(1200), fc.integer({ min: 1, max: 20 }), (used, next, count) => {
        const r = allocateBrokerIds(used, next, count);
        assert.equal(r.ids.length, count);
        assert.equal(new Set(r.ids).size, count);
        for (const id of r.ids) {
          assert.ok(!used.includes(id));
          assert.ok(id >= next && id < r.nextBrokerId);
          assert.ok(id < CONTROLLER_ID_BASE || id >= CONTROLLER_ID_BASE + 100);
        }
      }),
    );
  });
});

void describe('createClusterSpec', () => {
  void test('small clusters run combined nodes; defaults follow the broker count', () => {
    const one = createClusterSpec({ version: '4.4.0', brokers: 1 }, seeded(1));
    assert.equal(one.controllers.mode, 'combined');
    assert.deepEqual(one.controllers.nodes.map((n) => n.nodeId), [0]);
    assert.equal(one.defaults['offsets.topic.replication.factor'], '1');
    assert.equal(one.defaults['min.insync.replicas'], '1');

    const three = createClusterSpec({ version: '4.4.0', brokers: 3 }, seeded(2));
    assert.equal(three.controllers.mode, 'combined');
    assert.deepEqual(three.controllers.nodes.map((n) => n.nodeId), [0, 1, 2]);
    assert.equal(three.controllers.quorum, 'dynamic');
    assert.deepEqual(clusterNodes(three).map((n) => n.kind), ['combined', 'combined', 'combined']);
    assert.equal(three.defaults['transaction.state.log.min.isr'], '2');
  });

  void test('larger clusters get 3 dedicated controllers at 1000+', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 6 }, seeded(3));
    assert.equal(s.controllers.mode, 'dedicated');
    assert.deepEqual(s.controllers.nodes.map((n) => n.nodeId), [1000, 1001, 1002]);
    assert.deepEqual(s.brokers.nodes.map((n) => n.nodeId), [0, 1, 2, 3, 4, 5]);
    const nodes = clusterNodes(s);
    assert.deepEqual(nodes.slice(0, 3).map((n) => n.roles), [['controller'], ['controller'], ['controller']]);
    assert.deepEqual(nodes[3]?.roles, ['broker']);
    assert.equal(s.defaults['default.replication.factor'], '3');
  });

  void test('Kafka before 4.2 gets a static quorum; a dynamic one is refused with the reason', () => {
    assert.equal(createClusterSpec({ version: '4.1.1', brokers: 3 }).controllers.quorum, 'static');
    assert.equal(supportsDynamicQuorum('4.2.0'), true);
    assert.throws(
      () => createClusterSpec({ version: '4.1.0', brokers: 3, controllers: { quorum: 'dynamic' } }),
      (e: unknown) => e instanceof KmfError && e.code === 'kafka_cluster_invalid' && /needs Kafka 4.2/.test(e.message),
    );
  });

  void test('clear errors for impossible layouts', () => {
    assert.throws(() => createClusterSpec({ version: '4.4.0', brokers: 2, controllers: { mode: 'combined', count: 3 } }), /3 controllers need at least 3 brokers/);
    assert.throws(() => createClusterSpec({ version: '4.4.0', brokers: 4, controllers: { count: 2 } }), /1, 3 or 5 controllers/);
    assert.throws(() => createClusterSpec({ version: '3.9.1', brokers: 1 }), /kmf runs Kafka 4.x/);
    assert.throws(() => createClusterSpec({ version: '4.4.0', brokers: 0 }), /brokers must be a whole number >= 1/);
  });

  void test('an override of a key kmf owns is rejected, naming the key and why', () => {
    for (const key of ['listeners', 'advertised.listeners', 'node.id', 'process.roles', 'controller.quorum.voters', 'controller.quorum.bootstrap.servers', 'log.dirs']) {
      assert.throws(
        () => createClusterSpec({ version: '4.4.0', brokers: 1, overrides: { [key]: 'x' } }),
        (e: unknown) => e instanceof KmfError && e.message.includes(`${key} cannot be overridden`),
      );
    }
    const s = createClusterSpec({ version: '4.4.0', brokers: 3 });
    s.brokers.nodes[1]!.overrides = { 'advertised.listeners': 'PLAINTEXT://localhost:9092' };
    withIssue(s, /broker 1 overrides: advertised.listeners cannot be overridden: kmf advertises the agent's host/);
  });

  void test('override values must be single lines; keys must look like property keys', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 1 });
    s.overrides = { 'log.retention.hours': '1\nlisteners=EVIL://0.0.0.0:1' };
    withIssue(s, /the value of log.retention.hours must be a single line/);
    s.overrides = { 'bad key': '1' };
    withIssue(s, /"bad key" is not a server.properties key/);
  });

  void test('heap must leave room for the JVM and be set through heapMb', () => {
    assert.throws(
      () => createClusterSpec({ version: '4.4.0', brokers: 1, brokerResources: { memMb: 1024, heapMb: 1000 } }),
      /heapMb \(1000\) must leave at least 256 MB of memMb \(1024\)/,
    );
    assert.throws(() => createClusterSpec({ version: '4.4.0', brokers: 1, brokerResources: { jvmOpts: '-Xmx4g -XX:+UseZGC' } }), /must not set -Xms\/-Xmx: use heapMb/);
  });

  void test('internal-topic replication above the broker count is refused (groups would never work)', () => {
    assert.throws(
      () => createClusterSpec({ version: '4.4.0', brokers: 1, overrides: { 'offsets.topic.replication.factor': '3' } }),
      /offsets.topic.replication.factor=3 needs at least 3 brokers; the cluster has 1/,
    );
  });

  void test('combined controllers cannot be removed; dedicated ids cannot collide with brokers', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 3 });
    s.brokers.nodes[0]!.goal = 'removed';
    withIssue(s, /broker 0 is also a controller \(combined mode\); it cannot be removed/);
    const d = createClusterSpec({ version: '4.4.0', brokers: 4 });
    d.brokers.nodes.push({ nodeId: 1000, goal: 'running' });
    withIssue(d, /node id 1000 is both a dedicated controller and a broker/);
  });

  void test('addBrokers hands out new ids, never reusing a removed one', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 4 });
    s.brokers.nodes[3]!.goal = 'removed';
    const { spec, added } = addBrokers(s, 2);
    assert.deepEqual(added, [4, 5]);
    assert.equal(spec.brokers.nextBrokerId, 6);
    assert.deepEqual(clusterIssues(spec), []);
  });

  void test('identities and quorum layout cannot change; downgrades are refused', () => {
    const a = createClusterSpec({ version: '4.4.0', brokers: 3 });
    const b: KafkaClusterSpec = structuredClone(a);
    b.clusterId = randomKafkaUuid();
    b.controllers.quorum = 'static';
    b.version = '4.3.0';
    b.brokers.nodes = b.brokers.nodes.filter((n) => n.nodeId !== 2);
    const issues = clusterUpdateIssues(a, b);
    for (const p of [/clusterId cannot change/, /controllers.quorum cannot change/, /downgrades are not supported/, /broker 2 must be removed/]) {
      assert.ok(issues.some((i) => p.test(i)), `missing ${String(p)} in ${JSON.stringify(issues)}`);
    }
    const c: KafkaClusterSpec = structuredClone(a);
    c.version = '4.5.0';
    c.overrides = { 'log.retention.hours': '24' };
    assert.deepEqual(clusterUpdateIssues(a, c), []);
  });

  void test('replication defaults: RF min(3, n); min ISR 2 only with RF 3', () => {
    assert.equal(replicationDefaults(2)['default.replication.factor'], '2');
    assert.equal(replicationDefaults(2)['min.insync.replicas'], '1');
    assert.equal(replicationDefaults(9)['offsets.topic.replication.factor'], '3');
    assert.equal(replicationDefaults(9)['min.insync.replicas'], '2');
  });

  void test('the spec is plain JSON', () => {
    const s = createClusterSpec({ version: '4.4.0', brokers: 5, overrides: { 'num.partitions': '6' } });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});
