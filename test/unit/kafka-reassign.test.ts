import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { planDrain, type PartitionAssignment } from '../../src/kafka/reassign.js';

/** A cluster: broker ids, and partitions with distinct replicas drawn from them. */
const clusterArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 2, maxLength: 8 })
  .chain((brokers) =>
    fc.record({
      brokers: fc.constant(brokers),
      drained: fc.constantFrom(...brokers),
      partitions: fc.array(
        fc.record({
          topic: fc.constantFrom('a', 'b', 'orders', '__consumer_offsets'),
          replicas: fc.shuffledSubarray(brokers, { minLength: 1, maxLength: Math.min(brokers.length, 4) }),
        }),
        { maxLength: 60 },
      ),
    }),
  )
  .map(({ brokers, drained, partitions }) => {
    const counters = new Map<string, number>();
    const assignments: PartitionAssignment[] = partitions.map((p) => {
      const n = counters.get(p.topic) ?? 0;
      counters.set(p.topic, n + 1);
      return { topic: p.topic, partition: n, replicas: p.replicas };
    });
    return { brokers, drained, assignments };
  });

void describe('planDrain', () => {
  void test('property: every moved partition keeps its RF, leaves the drained broker, has no duplicate replica', () => {
    fc.assert(
      fc.property(clusterArb, ({ brokers, drained, assignments }) => {
        const plan = planDrain(assignments, drained, brokers);
        const remaining = brokers.filter((b) => b !== drained);
        const tooBig = assignments.filter((a) => a.replicas.includes(drained) && a.replicas.length > remaining.length);
        if (tooBig.length > 0) {
          assert.equal(plan.ok, false);
          if (!plan.ok) assert.deepEqual(new Set(plan.partitions.map((x) => `${x.topic}-${x.partition}`)), new Set(tooBig.map((x) => `${x.topic}-${x.partition}`)));
          return;
        }
        assert.equal(plan.ok, true);
        if (!plan.ok) return;
        const before = new Map(assignments.map((a) => [`${a.topic}-${a.partition}`, a.replicas]));
        const moved = new Set<string>();
        for (const m of plan.moves) {
          const key = `${m.topic}-${m.partition}`;
          const old = before.get(key)!;
          moved.add(key);
          assert.equal(m.replicas.length, old.length, 'RF kept');
          assert.ok(!m.replicas.includes(drained), 'no replica on the drained broker');
          assert.equal(new Set(m.replicas).size, m.replicas.length, 'no duplicate replicas');
          for (const r of m.replicas) assert.ok(remaining.includes(r), 'only remaining brokers');
          // Only the drained replica changes; the others keep their position (leadership stays put).
          old.forEach((r, i) => {
            if (r !== drained) assert.equal(m.replicas[i], r);
          });
        }
        // Exactly the partitions that touched the drained broker move.
        for (const a of assignments) assert.equal(moved.has(`${a.topic}-${a.partition}`), a.replicas.includes(drained));
      }),
    );
  });

  void test('spreads the drained replicas evenly over the remaining brokers', () => {
    // 12 single-replica partitions on broker 9, 3 empty brokers: 4 each.
    const assignments = Array.from({ length: 12 }, (_, i) => ({ topic: 't', partition: i, replicas: [9] }));
    const plan = planDrain(assignments, 9, [1, 2, 3, 9]);
    assert.equal(plan.ok, true);
    if (!plan.ok) return;
    const load = new Map<number, number>();
    for (const m of plan.moves) for (const r of m.replicas) load.set(r, (load.get(r) ?? 0) + 1);
    assert.deepEqual([...load.entries()].sort(), [[1, 4], [2, 4], [3, 4]]);
  });

  void test('prefers the least-loaded broker (existing load counts)', () => {
    const assignments: PartitionAssignment[] = [
      { topic: 't', partition: 0, replicas: [1, 2] },
      { topic: 't', partition: 1, replicas: [1, 2] },
      { topic: 't', partition: 2, replicas: [4, 9] },
    ];
    const plan = planDrain(assignments, 9, [1, 2, 3, 4]);
    assert.deepEqual(plan, { ok: true, moves: [{ topic: 't', partition: 2, replicas: [4, 3] }] });
  });

  void test('refuses when a partition needs more brokers than remain, naming it', () => {
    const plan = planDrain([{ topic: 't', partition: 0, replicas: [1, 2, 3] }], 3, [1, 2, 3]);
    assert.equal(plan.ok, false);
    if (!plan.ok) {
      assert.deepEqual(plan.partitions, [{ topic: 't', partition: 0, replicationFactor: 3 }]);
      assert.match(plan.reason, /more replicas than the 2 broker\(s\) that would remain/);
    }
  });
});
