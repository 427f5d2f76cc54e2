/**
 * The guard of controller moves: which controllers may not be replaced on a fresh disk (kraft-quorum.ts
 * controllerReplaceHolds), how the runtime turns a spec into its input (kafka-quorum-guard.ts), and how the
 * holds reach the core (DesiredStore replaceHolds, held until the first check).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { UnitView } from '../../src/core/plans.js';
import { createClusterSpec } from '../../src/kafka/cluster-model.js';
import { controllerReplaceHolds, type QuorumDescription, type QuorumReplica } from '../../src/kafka/kraft-quorum.js';
import { quorumMajority } from '../../src/kafka/quorum.js';
import { DesiredStore } from '../../src/runtime/desired-store.js';
import type { KafkaClusterRecord, KafkaRuntimeOptions } from '../../src/runtime/kafka-desired.js';
import { controllerUnits, initialReplaceHolds, KafkaQuorumGuard, REPLACE_NOT_CHECKED } from '../../src/runtime/kafka-quorum-guard.js';
import { MemoryStateStore } from '../../src/state/memory-state-store.js';
import { testLogger } from '../../src/util/log.js';

const NOW = 5_000_000;

function replica(id: number, caughtUpAt = NOW): QuorumReplica {
  return { replicaId: id, directoryId: `dir${id}`, logEndOffset: 10, lastFetchTimestamp: caughtUpAt, lastCaughtUpTimestamp: caughtUpAt };
}

function quorum(leaderId: number, voters: QuorumReplica[], observers: QuorumReplica[] = []): QuorumDescription {
  return { leaderId, leaderEpoch: 2, highWatermark: 10, voters, observers, nodes: [] };
}

const THREE = [0, 1, 2].map((nodeId) => ({ unit: `kafka/broker-${nodeId}`, nodeId }));
const DOWN = NOW - 60_000;

describe('controller replace holds', () => {
  test('a healthy quorum holds nothing', () => {
    assert.deepEqual(controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: quorum(0, [replica(0), replica(1), replica(2)]) }), {});
  });

  test('one controller lost, the two others caught up: it may move, but neither of the others may be replaced now', () => {
    const q = quorum(0, [replica(0), replica(1), replica(2, DOWN)]);
    const holds = controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: q });
    assert.equal(holds['kafka/broker-2'], undefined);
    assert.deepEqual(Object.keys(holds).sort(), ['kafka/broker-0', 'kafka/broker-1'], 'an operator replace of a running one would leave no majority');
    assert.match(holds['kafka/broker-0']!, /only 1 of them is caught up \(\[1\]\)/);
  });

  test('two of three lost: the survivor cannot commit a voter change, so neither lost one moves', () => {
    const q = quorum(0, [replica(0), replica(1, DOWN), replica(2, DOWN)]);
    const holds = controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: q });
    assert.deepEqual(Object.keys(holds).sort(), ['kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2']);
    assert.equal(
      holds['kafka/broker-1'],
      'moving controller 1 to a fresh disk needs a majority of the voter set (2 of 3) among the other voters to commit the voter change, but only 1 of them is caught up ([0]); it waits for its agent and disk to come back',
    );
  });

  test('no leader, or an unreadable quorum, holds every controller', () => {
    const noLeader = controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: quorum(-1, [replica(0), replica(1), replica(2)]) });
    assert.equal(Object.keys(noLeader).length, 3);
    assert.match(noLeader['kafka/broker-0']!, /no leader: controller 0 on a fresh disk could never join/);
    const unknown = controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: undefined, unknownReason: 'connection refused' });
    assert.match(unknown['kafka/broker-2']!, /cannot be read \(connection refused\): controller 2 is not moved/);
  });

  test('before the quorum ever formed nothing is held (no disk has anything to lose)', () => {
    assert.deepEqual(controllerReplaceHolds({ controllers: THREE, quorumFormed: false, quorum: undefined }), {});
  });

  test('while the moved controller is joining (its stale entry removed), the two others are enough', () => {
    const q = quorum(0, [replica(0), replica(2)], [replica(1)]);
    const holds = controllerReplaceHolds({ controllers: THREE, quorumFormed: true, quorum: q });
    assert.equal(holds['kafka/broker-1'], undefined);
    assert.deepEqual(Object.keys(holds).sort(), ['kafka/broker-0', 'kafka/broker-2'], 'the two voters left have no failure to spare');
  });

  test('a single controller never moves once the quorum formed', () => {
    const holds = controllerReplaceHolds({ controllers: [{ unit: 'kafka/broker-0', nodeId: 0 }], quorumFormed: true, quorum: quorum(-1, [replica(0, DOWN)]) });
    assert.ok(holds['kafka/broker-0'] !== undefined);
  });

  test('property: a controller is held exactly when the other caught-up voters are fewer than a majority of the voter set', () => {
    fc.assert(
      fc.property(fc.subarray([0, 1, 2, 3, 4], { minLength: 1 }), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), (ids, up) => {
        const leader = ids.find((id) => up[id] === true) ?? -1;
        const q = quorum(leader, ids.map((id) => replica(id, up[id] === true ? NOW : DOWN)));
        const controllers = ids.map((nodeId) => ({ unit: `c-${nodeId}`, nodeId }));
        const holds = controllerReplaceHolds({ controllers, quorumFormed: true, quorum: q });
        for (const c of controllers) {
          const others = ids.filter((id) => id !== c.nodeId && up[id] === true).length;
          const expectHeld = leader < 0 || others < quorumMajority(ids.length);
          assert.equal(holds[c.unit] !== undefined, expectHeld, `controller ${c.nodeId} of ${JSON.stringify(ids)} up ${JSON.stringify(up)}`);
        }
      }),
    );
  });
});

describe('the runtime side of the guard', () => {
  const now = new Date().toISOString();
  const combined: KafkaClusterRecord = { spec: createClusterSpec({ version: '4.4.0', brokers: 3 }), quorumFormed: true, createdAt: now, updatedAt: now };
  const dedicated: KafkaClusterRecord = { spec: createClusterSpec({ version: '4.4.0', brokers: 4 }), quorumFormed: true, createdAt: now, updatedAt: now };

  test('controller units: combined nodes are broker units, dedicated controllers their own', () => {
    assert.deepEqual(controllerUnits(combined.spec), THREE);
    assert.deepEqual(
      controllerUnits(dedicated.spec).map((c) => c.unit),
      dedicated.spec.controllers.nodes.map((c) => `kafka/controller-${c.nodeId}`),
    );
    assert.deepEqual(Object.keys(initialReplaceHolds(combined)), ['kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2']);
    assert.deepEqual(initialReplaceHolds({ ...combined, quorumFormed: false }), {});
    assert.deepEqual(initialReplaceHolds(undefined), {});
  });

  test('the guard hands the holds of the units that exist to the term', () => {
    let got: Readonly<Record<string, string>> | undefined;
    const guard = new KafkaQuorumGuard({ kafka: () => combined, setKafkaReplaceHolds: (h) => (got = h) }, testLogger('guard'));
    const view = (name: string): UnitView => ({ name, kind: 'kafka-broker', goal: 'running', state: 'running', plan: undefined, generation: 1, failures: 0, version: 'v', issues: [] });
    guard.evaluate([view('kafka/broker-0'), view('kafka/broker-1')], undefined, 'no Kafka node is running');
    assert.deepEqual(Object.keys(got ?? {}), ['kafka/broker-0', 'kafka/broker-1']);
    guard.evaluate([view('kafka/broker-0'), view('kafka/broker-1'), view('kafka/broker-2')], quorum(0, [replica(0), replica(1), replica(2)]));
    assert.deepEqual(got, {});
  });

  test('the desired state holds every controller until the first check, then carries the guard\'s holds', async () => {
    const options: KafkaRuntimeOptions = {
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
    const store = new DesiredStore(new MemoryStateStore(), new Map(), undefined, options);
    await store.ensureLayout();
    await store.putKafka({ ...combined, quorumFormed: false });
    assert.deepEqual(store.desired(new Map()).replaceHolds, {}, 'nothing to protect before the quorum formed');
    await store.putKafka(combined);
    const first = store.desired(new Map()).replaceHolds;
    assert.deepEqual(Object.keys(first).sort(), ['kafka/broker-0', 'kafka/broker-1', 'kafka/broker-2']);
    assert.equal(first['kafka/broker-1'], REPLACE_NOT_CHECKED);
    assert.equal(store.setKafkaReplaceHolds({ 'kafka/broker-2': 'no majority' }), true);
    assert.deepEqual(store.desired(new Map()).replaceHolds, { 'kafka/broker-2': 'no majority' });
    assert.equal(store.setKafkaReplaceHolds({ 'kafka/broker-2': 'no majority' }), false, 'the same holds are no change');
    assert.equal(store.setKafkaReplaceHolds({}), true);
    assert.deepEqual(store.desired(new Map()).replaceHolds, {});
    assert.equal(store.setKafkaStopHolds({ 'kafka/broker-0': 'busy' }), true);
    assert.deepEqual(store.desired(new Map()).replaceHolds, {}, 'stop holds leave the replace holds alone');
    assert.deepEqual(store.desired(new Map()).stopHolds, { 'kafka/broker-0': 'busy' });
  });
});
