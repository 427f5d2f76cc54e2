import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { QuorumDescription, QuorumReplica } from '../../src/kafka/kraft-quorum.js';
import { evaluateControllerReadiness, evaluateBrokerReadiness, quorumHasFormed } from '../../src/kafka/readiness.js';
import { evaluateControllerStop, evaluateIsrRecovered, evaluateStop, type PartitionState } from '../../src/kafka/roll-safety.js';

const p = (topic: string, partition: number, replicas: number[], isr: number[]): PartitionState => ({ topic, partition, leader: isr[0] ?? -1, replicas, isr });
const minIsr =
  (m: Record<string, number>, dflt = 1) =>
  (t: string): number =>
    m[t] ?? dflt;

void describe('canStop (evaluateStop)', () => {
  void test('a full ISR above min ISR may lose one broker', () => {
    const parts = [p('orders', 0, [1, 2, 3], [1, 2, 3]), p('orders', 1, [2, 3, 4], [2, 3, 4])];
    assert.deepEqual(evaluateStop(parts, minIsr({ orders: 2 }), 1), { ok: true, partitions: 1 });
    assert.deepEqual(evaluateStop(parts, minIsr({ orders: 2 }), 9), { ok: true, partitions: 0 });
  });

  void test('an ISR at min ISR blocks the brokers in it, and says which partition and why', () => {
    const parts = [p('orders', 0, [1, 2, 3], [1, 2])];
    const v = evaluateStop(parts, minIsr({ orders: 2 }), 2);
    assert.equal(v.ok, false);
    if (v.ok) return;
    assert.deepEqual(
      v.reasons.map(({ kind, topic, partition, isr, minIsr: m }) => ({ kind, topic, partition, isr, minIsr: m })),
      [{ kind: 'would-drop-below-min-isr', topic: 'orders', partition: 0, isr: [1, 2], minIsr: 2 }],
    );
    assert.match(v.reasons[0]!.message, /orders-0: ISR \[1,2\] would shrink to 1 without broker 2, below min.insync.replicas 2/);
  });

  void test('a broker outside a healthy ISR may stop; outside an ISR already below min ISR it may not', () => {
    assert.equal(evaluateStop([p('t', 0, [1, 2, 3], [1, 2])], minIsr({ t: 2 }), 3).ok, true);
    const v = evaluateStop([p('t', 0, [1, 2, 3], [1])], minIsr({ t: 2 }), 3);
    assert.equal(v.ok ? 'ok' : v.reasons[0]?.kind, 'below-min-isr');
  });

  void test('RF not above min ISR blocks with its own reason unless explicitly allowed', () => {
    const parts = [p('rf1', 0, [1], [1]), p('rf2', 0, [1, 2], [1, 2])];
    const v = evaluateStop(parts, minIsr({ rf2: 2 }), 1);
    assert.equal(v.ok, false);
    if (!v.ok) {
      assert.deepEqual(v.reasons.map((r) => [r.topic, r.kind]), [['rf1', 'rf-not-above-min-isr'], ['rf2', 'rf-not-above-min-isr']]);
      assert.match(v.reasons[0]!.message, /partition goes offline/);
    }
    assert.deepEqual(evaluateStop(parts, minIsr({ rf2: 2 }), 1, { allowUnsatisfiable: true }), { ok: true, partitions: 2 });
  });

  void test('reasons are capped but the gate still says no', () => {
    const parts = Array.from({ length: 50 }, (_, i) => p('t', i, [1, 2], [1, 2]));
    const v = evaluateStop(parts, minIsr({ t: 2 }), 1, { maxReasons: 5 });
    assert.equal(v.ok ? -1 : v.reasons.length, 5);
  });
});

void describe('isrRecovered (evaluateIsrRecovered)', () => {
  void test('lists the partitions the broker is not back in', () => {
    const parts = [p('a', 0, [1, 2], [1, 2]), p('a', 1, [2, 3], [3]), p('b', 0, [4], [4])];
    assert.deepEqual(evaluateIsrRecovered(parts, 2), { ok: false, lagging: [{ topic: 'a', partition: 1, isr: [3] }] });
    assert.deepEqual(evaluateIsrRecovered(parts, 1), { ok: true, partitions: 1 });
  });
});

function replica(id: number, caughtUp: number): QuorumReplica {
  return { replicaId: id, directoryId: `dir${id}`, logEndOffset: 100, lastFetchTimestamp: caughtUp, lastCaughtUpTimestamp: caughtUp };
}

function quorum(leaderId: number, voters: QuorumReplica[], observers: QuorumReplica[] = []): QuorumDescription {
  return { leaderId, leaderEpoch: 3, highWatermark: 100, voters, observers, nodes: [] };
}

void describe('controller gates', () => {
  const now = 1_000_000;
  void test('a voter caught up with the leader is ready; an observer or a lagging voter is not', () => {
    const q = quorum(1, [replica(1, now), replica(2, now - 500), replica(3, now - 60_000)], [replica(4, now)]);
    assert.deepEqual(evaluateControllerReadiness(q, 1), { ready: true });
    assert.deepEqual(evaluateControllerReadiness(q, 2), { ready: true });
    assert.match(JSON.stringify(evaluateControllerReadiness(q, 3)), /not caught up with leader 1/);
    assert.match(JSON.stringify(evaluateControllerReadiness(q, 4)), /not a voter.*observer/);
    assert.match(JSON.stringify(evaluateControllerReadiness(quorum(-1, [replica(1, now)]), 1)), /no leader/);
  });

  void test('a controller may stop only if the caught-up rest is a majority', () => {
    const healthy = quorum(1, [replica(1, now), replica(2, now), replica(3, now)]);
    assert.deepEqual(evaluateControllerStop(healthy, 2), { ok: true });
    const oneBehind = quorum(1, [replica(1, now), replica(2, now), replica(3, now - 60_000)]);
    assert.deepEqual(evaluateControllerStop(oneBehind, 3), { ok: true });
    const v = evaluateControllerStop(oneBehind, 2);
    assert.equal(v.ok, false);
    assert.match(v.ok ? '' : v.reason, /would leave 1 caught-up voter\(s\) of 3, fewer than the majority of 2 \(not caught up: 3\)/);
  });

  void test('the quorum has formed once a leader committed something', () => {
    assert.equal(quorumHasFormed(quorum(1, [replica(1, now)])), true);
    assert.equal(quorumHasFormed(quorum(-1, [replica(1, now)])), false);
  });
});

void describe('broker readiness', () => {
  const reg = [
    { nodeId: 0, host: 'agent-1', port: 31000 },
    { nodeId: 2, host: 'agent-3', port: 31002 },
  ];
  void test('registered at the expected endpoint', () => {
    assert.deepEqual(evaluateBrokerReadiness(reg, 0, { host: 'agent-1', port: 31000 }), { ready: true });
    assert.deepEqual(evaluateBrokerReadiness(reg, 1), { ready: false, reason: 'broker 1 is not registered in the cluster metadata (registered: 0, 2)' });
    assert.match(JSON.stringify(evaluateBrokerReadiness(reg, 2, { host: 'agent-3', port: 31999 })), /advertises agent-3:31002, expected agent-3:31999/);
  });
});
