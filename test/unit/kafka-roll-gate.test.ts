/**
 * The roll gate's decisions (src/kafka/roll-safety.ts rollHolds), how the runtime turns units into its input
 * (src/runtime/kafka-roll-gate.ts), and how the holds reach the core (DesiredStore) and stop its update pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { UnitView } from '../../src/core/plans.js';
import { createClusterSpec, updateClusterConfig } from '../../src/kafka/cluster-model.js';
import { kafkaUnits } from '../../src/kafka/units.js';
import { prepareDesired } from '../../src/model/desired.js';
import type { QuorumDescription } from '../../src/kafka/kraft-quorum.js';
import { rollHolds, type PartitionState, type RollGateInput, type RollUnit } from '../../src/kafka/roll-safety.js';
import { DesiredStore, HOLDS_NOT_CHECKED } from '../../src/runtime/desired-store.js';
import type { KafkaRuntimeOptions } from '../../src/runtime/kafka-desired.js';
import { clusterMinIsr, KafkaRollGate, MinIsrCache, rollUnits } from '../../src/runtime/kafka-roll-gate.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import { testLogger } from '../../src/util/log.js';

function brokerUnit(id: number, stale = true, controller = false, ready = true): RollUnit {
  return { unit: `kafka/broker-${id}`, nodeId: id, broker: true, controller, dedicatedController: false, stale, ready };
}

function controllerUnit(id: number, stale = true): RollUnit {
  return { unit: `kafka/controller-${id}`, nodeId: id, broker: false, controller: true, dedicatedController: true, stale, ready: true };
}

function part(topic: string, partition: number, replicas: number[], isr: number[]): PartitionState {
  return { topic, partition, leader: isr[0] ?? -1, replicas, isr };
}

function quorum(voters: number[], leaderId: number, lagging: number[] = []): QuorumDescription {
  return {
    leaderId,
    leaderEpoch: 1,
    highWatermark: 100,
    voters: voters.map((v) => ({ replicaId: v, directoryId: 'AAAAAAAAAAAAAAAAAAAAAA', logEndOffset: 100, lastFetchTimestamp: 1_000, lastCaughtUpTimestamp: lagging.includes(v) ? 0 : 10_000 })),
    observers: [],
    nodes: [],
  };
}

function input(over: Partial<RollGateInput>): RollGateInput {
  return {
    units: [brokerUnit(0), brokerUnit(1), brokerUnit(2)],
    partitions: [],
    minIsr: new Map(),
    defaultMinIsr: 1,
    expectedBrokers: new Set([0, 1, 2]),
    quorum: undefined,
    ...over,
  };
}

const FULL = [part('orders', 0, [0, 1, 2], [0, 1, 2]), part('orders', 1, [1, 2, 0], [1, 2, 0]), part('orders', 2, [2, 0, 1], [2, 0, 1])];

describe('roll holds', () => {
  test('a healthy cluster holds nothing', () => {
    assert.deepEqual(rollHolds(input({ partitions: FULL, minIsr: new Map([['orders', 2]]) })), {});
  });

  test('unknown metadata holds every unit, saying why', () => {
    const holds = rollHolds(input({ partitions: undefined, unknownReason: 'connection refused' }));
    assert.deepEqual(Object.keys(holds).sort(), ['kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2']);
    for (const h of Object.values(holds)) assert.match(h, /partition metadata is unknown \(connection refused\)/);
  });

  test('a broker behind in the ISR holds every unit until it has caught up; the others would leave partitions at 1', () => {
    const partitions = [part('orders', 0, [0, 1, 2], [0, 2]), part('orders', 1, [1, 2, 0], [2, 0]), part('orders', 2, [2, 0, 1], [2, 0])];
    const holds = rollHolds(input({ partitions, minIsr: new Map([['orders', 2]]) }));
    assert.equal(Object.keys(holds).length, 3);
    for (const h of Object.values(holds)) assert.match(h, /waiting for the ISR to recover: orders-0 lacks broker 1 in its ISR \[0,2\]/);
    assert.match(holds['kafka/broker-2']!, /stopping broker 2 would leave orders-0 with 1 in-sync replica \(min\.insync\.replicas=2\)/);
    assert.match(holds['kafka/broker-0']!, /stopping broker 0 would leave orders-0 with 1 in-sync replica/);
  });

  test('while one node is not running and ready, every other node waits for it', () => {
    const units = [brokerUnit(0), brokerUnit(1, false, false, false), brokerUnit(2)];
    const holds = rollHolds(input({ units, partitions: FULL, minIsr: new Map([['orders', 2]]) }));
    assert.deepEqual(Object.keys(holds).sort(), ['kafka/broker-0', 'kafka/broker-2']);
    assert.match(holds['kafka/broker-0']!, /waiting for kafka\/broker-1 to be running and ready/);
  });

  test('the topic min.insync.replicas wins over the cluster default; without either Kafka\'s 1 applies', () => {
    const partitions = [part('events', 0, [0, 1], [0, 1])];
    const strict = rollHolds(input({ partitions, units: [brokerUnit(0)], defaultMinIsr: 2, expectedBrokers: new Set([0, 1]) }));
    assert.match(strict['kafka/broker-0']!, /replication factor 2, not above min\.insync\.replicas=2/);
    const relaxed = rollHolds(input({ partitions, units: [brokerUnit(0)], defaultMinIsr: 2, minIsr: new Map([['events', 1]]), expectedBrokers: new Set([0, 1]) }));
    assert.deepEqual(relaxed, {});
  });

  test('replicas on a broker that is not meant to run do not count as behind', () => {
    const partitions = [part('orders', 0, [0, 1, 3], [0, 1])];
    assert.deepEqual(rollHolds(input({ partitions, units: [brokerUnit(0), brokerUnit(1)], expectedBrokers: new Set([0, 1]), defaultMinIsr: 1 })), {});
  });

  test('brokers wait while a dedicated controller still has to roll; the active controller rolls last', () => {
    const units = [controllerUnit(3000), controllerUnit(3001), controllerUnit(3002), brokerUnit(0)];
    const holds = rollHolds(input({ units, partitions: [], expectedBrokers: new Set([0]), quorum: quorum([3000, 3001, 3002], 3001) }));
    assert.match(holds['kafka/broker-0']!, /brokers roll after the controllers \(kafka\/controller-3000, kafka\/controller-3001, kafka\/controller-3002 not rolled yet\)/);
    assert.match(holds['kafka/controller-3001']!, /node 3001 is the active controller: it rolls last \(kafka\/controller-3000, kafka\/controller-3002 first\)/);
    assert.equal(holds['kafka/controller-3000'], undefined);
    assert.equal(holds['kafka/controller-3002'], undefined);
    // Once the others have rolled, the active controller goes; then the brokers.
    const last = rollHolds(input({ units: [controllerUnit(3000, false), controllerUnit(3001), controllerUnit(3002, false), brokerUnit(0)], partitions: [], expectedBrokers: new Set([0]), quorum: quorum([3000, 3001, 3002], 3001) }));
    assert.equal(last['kafka/controller-3001'], undefined);
    assert.match(last['kafka/broker-0']!, /after the controllers \(kafka\/controller-3001 not rolled yet\)/);
  });

  test('with combined nodes the active controller\'s node rolls last', () => {
    const units = [brokerUnit(0, true, true), brokerUnit(1, true, true), brokerUnit(2, true, true)];
    const holds = rollHolds(input({ units, partitions: FULL, quorum: quorum([0, 1, 2], 0) }));
    assert.deepEqual(Object.keys(holds), ['kafka/broker-0']);
    assert.match(holds['kafka/broker-0']!, /active controller: it rolls last \(kafka\/broker-1, kafka\/broker-2 first\)/);
  });

  test('a controller whose stop would leave no caught-up majority waits; an unknown quorum holds controllers', () => {
    const units = [controllerUnit(3000), controllerUnit(3001), controllerUnit(3002)];
    const lagging = rollHolds(input({ units, partitions: [], quorum: quorum([3000, 3001, 3002], 3000, [3002]) }));
    assert.match(lagging['kafka/controller-3001']!, /fewer than the majority/);
    const unknown = rollHolds(input({ units, partitions: [], quorum: undefined }));
    for (const u of units) assert.match(unknown[u.unit]!, /quorum's state is unknown/);
  });

  test('property: a broker the gate lets stop keeps every partition it holds at or above its min ISR', () => {
    const arb = fc.array(
      fc.record({
        replicas: fc.shuffledSubarray([0, 1, 2, 3, 4], { minLength: 1, maxLength: 5 }),
        isrMask: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        minIsr: fc.integer({ min: 1, max: 3 }),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(arb, (ps) => {
        const partitions = ps.map((p, i) => part(`t${i}`, 0, p.replicas, p.replicas.filter((_, j) => p.isrMask[j] === true)));
        const minIsr = new Map(ps.map((p, i) => [`t${i}`, p.minIsr]));
        const units = [0, 1, 2, 3, 4].map((id) => brokerUnit(id));
        const holds = rollHolds(input({ units, partitions, minIsr, expectedBrokers: new Set([0, 1, 2, 3, 4]) }));
        for (const u of units) {
          if (holds[u.unit] !== undefined) continue;
          for (const p of partitions) {
            if (!p.replicas.includes(u.nodeId)) continue;
            // Nothing is behind (else everything is held), so the ISR is the full replica set.
            assert.deepEqual([...p.isr].sort(), [...p.replicas].sort());
            assert.ok(p.isr.length - 1 >= minIsr.get(p.topic)!, `broker ${u.nodeId} released with ${p.topic} at ISR ${p.isr.length}`);
          }
        }
      }),
    );
  });
});

describe('the runtime side of the gate', () => {
  const spec = createClusterSpec({ version: '4.4.0', brokers: 3 });

  function view(name: string, kind: string, version: string, taskVersion: string | undefined, plan: UnitView['plan']): UnitView {
    const v: UnitView = { name, kind, goal: 'running', state: 'running', plan, generation: 1, failures: 0, version, issues: [] };
    if (taskVersion !== undefined) v.task = { taskId: `${name}-t`, state: 'TASK_RUNNING', agentId: 'a', hostname: 'h', ports: {}, ready: true, version: taskVersion };
    return v;
  }

  test('units: combined nodes are brokers and controllers; stale means the update plan still has to restart it', () => {
    const units = rollUnits(spec, [
      view('kafka/broker-0', 'kafka-broker', 'v2', 'v1', 'update'),
      view('kafka/broker-1', 'kafka-broker', 'v2', 'v2', 'update'),
      view('kafka/broker-2', 'kafka-broker', 'v2', 'v2', undefined),
      view('app-x/0', 'app', 'v2', 'v1', 'update'),
    ]);
    assert.deepEqual(
      units.map((u) => [u.unit, u.nodeId, u.broker, u.controller, u.stale, u.ready]),
      [
        ['kafka/broker-0', 0, true, true, true, true],
        ['kafka/broker-1', 1, true, true, false, true],
        ['kafka/broker-2', 2, true, true, false, true],
      ],
    );
    assert.equal(clusterMinIsr(spec), 2, 'kmf\'s default for 3 brokers');
    assert.equal(clusterMinIsr({ ...spec, overrides: { 'min.insync.replicas': '1' } }), 1);
  });

  test('without a running broker the gate holds every unit', async () => {
    let got: Readonly<Record<string, string>> | undefined;
    const gate = new KafkaRollGate({ kafka: () => ({ spec, quorumFormed: true, createdAt: '', updatedAt: '' }), setKafkaStopHolds: (h) => (got = h) }, testLogger('gate'));
    await gate.evaluate([view('kafka/broker-0', 'kafka-broker', 'v2', 'v1', 'update')], undefined, undefined);
    assert.match(got?.['kafka/broker-0'] ?? '', /metadata is unknown \(no broker is running\)/);
  });
});

describe('holds in the desired state', () => {
  const OPTIONS: KafkaRuntimeOptions = {
    version: '4.4.0',
    volumes: true,
    tarballName: 'kafka-4.4.0.tgz',
    tarballPath: '/nonexistent/kafka-4.4.0.tgz',
    unitOptions: () => ({
      distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
      tarballUrl: 'kmf-artifact:kafka-4.4.0.tgz',
      role: 'kmf',
    }),
  };

  test('every Kafka unit is held until the first check; later holds replace them without preparing again', async () => {
    const store = new DesiredStore(new MemoryStateStore(), new Map(), undefined, OPTIONS);
    await store.ensureLayout();
    const now = new Date().toISOString();
    await store.putKafka({ spec: createClusterSpec({ version: '4.4.0', brokers: 3 }), quorumFormed: false, createdAt: now, updatedAt: now });
    const first = store.desired(new Map());
    assert.deepEqual(Object.keys(first.stopHolds).sort(), ['kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2']);
    assert.equal(first.stopHolds['kafka/broker-0'], HOLDS_NOT_CHECKED);
    assert.equal(store.desired(new Map()), first, 'cached while nothing changes');

    assert.equal(store.setKafkaStopHolds({ 'kafka/broker-2': 'busy' }), true);
    const second = store.desired(new Map());
    assert.deepEqual(second.stopHolds, { 'kafka/broker-2': 'busy' });
    assert.equal(second.units, first.units, 'the prepared units are reused');
    assert.equal(store.setKafkaStopHolds({ 'kafka/broker-2': 'busy' }), false, 'the same holds are no change');
    assert.equal(store.desired(new Map()), second);
    assert.equal(store.setKafkaStopHolds({}), true);
    assert.deepEqual(store.desired(new Map()).stopHolds, {});
  });
});

describe('the min.insync.replicas cache of the gate', () => {
  function loader(): { load: (topics: readonly string[]) => Promise<Map<string, number>>; calls: string[][] } {
    const calls: string[][] = [];
    return {
      calls,
      load: (topics) => {
        calls.push([...topics]);
        return Promise.resolve(new Map(topics.map((t) => [t, calls.length])));
      },
    };
  }

  test('reused while the topic set is the same and the values are younger than the refresh time', async () => {
    let now = 1_000;
    const cache = new MinIsrCache(30_000, () => now);
    const l = loader();
    assert.deepEqual([...(await cache.get(['a', 'b'], l.load))], [['a', 1], ['b', 1]]);
    now += 29_999;
    assert.deepEqual([...(await cache.get(['b', 'a', 'a'], l.load))], [['a', 1], ['b', 1]], 'same set in another order');
    assert.equal(l.calls.length, 1);
    now += 1;
    assert.deepEqual([...(await cache.get(['a', 'b'], l.load))], [['a', 2], ['b', 2]], 'read again after the refresh time');
    assert.equal(l.calls.length, 2);
  });

  test('a new or deleted topic is read again at once', async () => {
    const cache = new MinIsrCache(30_000, () => 0);
    const l = loader();
    await cache.get(['a'], l.load);
    assert.deepEqual([...(await cache.get(['a', 'new'], l.load))], [['a', 2], ['new', 2]]);
    assert.deepEqual([...(await cache.get(['new'], l.load))], [['new', 3]]);
    assert.equal(l.calls.length, 3);
  });

  test('a failed read is not cached', async () => {
    const cache = new MinIsrCache(30_000, () => 0);
    await assert.rejects(cache.get(['a'], () => Promise.reject(new Error('broker gone'))), /broker gone/);
    const l = loader();
    assert.deepEqual([...(await cache.get(['a'], l.load))], [['a', 1]]);
  });

  test('property: the loader is called exactly when the set changed or the refresh time passed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.subarray(['a', 'b', 'c']), fc.integer({ min: 0, max: 20_000 })), { maxLength: 30 }), async (steps) => {
        let now = 0;
        const cache = new MinIsrCache(30_000, () => now);
        const l = loader();
        let last: { key: string; at: number } | undefined;
        for (const [topics, advance] of steps) {
          now += advance;
          const key = [...topics].sort().join(',');
          const expectLoad = last === undefined || last.key !== key || now - last.at >= 30_000;
          const before = l.calls.length;
          await cache.get(topics, l.load);
          assert.equal(l.calls.length - before, expectLoad ? 1 : 0);
          if (expectLoad) last = { key, at: now };
        }
      }),
    );
  });
});

describe('partitions that can never stay writable during a stop (RF ≤ min.insync.replicas)', () => {
  const single = { units: [brokerUnit(0)], expectedBrokers: new Set([0]), partitions: [part('solo', 0, [0], [0])], minIsr: new Map([['solo', 1]]) };

  test('hold the roll by default, saying how to allow it', () => {
    const holds = rollHolds(input(single));
    assert.match(holds['kafka/broker-0'] ?? '', /replication factor 1, not above min\.insync\.replicas=1.*allowUnsatisfiableRolls/);
  });

  test('pass once the cluster allows it', () => {
    assert.deepEqual(rollHolds(input({ ...single, allowUnsatisfiable: true })), {});
  });

  test('allowing it is a cluster config change that restarts nothing, and can be taken back', () => {
    const spec = createClusterSpec({ version: '4.4.0', brokers: 1 });
    const on = updateClusterConfig(spec, { allowUnsatisfiableRolls: true });
    assert.deepEqual(on.changes, ['allowUnsatisfiableRolls=true']);
    assert.equal(on.spec.rollPolicy?.allowUnsatisfiable, true);
    const opts: KafkaRuntimeOptions['unitOptions'] = () => ({
      distribution: { topDir: 'kafka-4.4.0', serverStart: 'bin/kafka-server-start', storageTool: 'bin/kafka-storage' },
      tarballUrl: 'kmf-artifact:kafka-4.4.0.tgz',
    });
    const versions = (s: typeof spec): string[] => prepareDesired(kafkaUnits(s, opts())).ordered.map((u) => u.version);
    assert.deepEqual(versions(on.spec), versions(spec), 'no unit changes');
    assert.deepEqual(updateClusterConfig(on.spec, { allowUnsatisfiableRolls: true }).changes, [], 'the same value is no change');
    const off = updateClusterConfig(on.spec, { allowUnsatisfiableRolls: false });
    assert.deepEqual(off.changes, ['allowUnsatisfiableRolls=false']);
    assert.equal(off.spec.rollPolicy?.allowUnsatisfiable, false);
  });
});
