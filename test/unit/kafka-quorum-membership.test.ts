/**
 * Where a controller stands in a KIP-853 voter set (kraft-quorum.ts controllerMembership), and what that
 * means for its readiness: a controller that moved to a fresh disk is ready only once its new directory id
 * votes, not while the entry of its old disk is still there.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { controllerMembership, describeMembership, unexpectedVoters, type QuorumDescription, type QuorumReplica } from '../../src/kafka/kraft-quorum.js';
import { evaluateControllerReadiness } from '../../src/kafka/readiness.js';

const NOW = 1_000_000;

function replica(id: number, dir: string, caughtUpAt = NOW): QuorumReplica {
  return { replicaId: id, directoryId: dir, logEndOffset: 100, lastFetchTimestamp: caughtUpAt, lastCaughtUpTimestamp: caughtUpAt };
}

function quorum(voters: QuorumReplica[], observers: QuorumReplica[] = [], leaderId = 0): QuorumDescription {
  return { leaderId, leaderEpoch: 4, highWatermark: 500, voters, observers, nodes: [] };
}

describe('controller membership during a move', () => {
  // The steps Kafka 4.4 went through when node 1 moved (test/integration/kafka-controller-move.test.ts).
  const before = quorum([replica(0, 'A0'), replica(1, 'A1'), replica(2, 'A2')]);
  const fetching = quorum([replica(0, 'A0'), replica(1, 'A1', NOW - 30_000), replica(2, 'A2')], [replica(1, 'B1'), replica(7, 'broker')]);
  const removed = quorum([replica(0, 'A0'), replica(2, 'A2')], [replica(1, 'B1')]);
  const added = quorum([replica(0, 'A0'), replica(1, 'B1'), replica(2, 'A2')]);

  test('voter → stale voter → joining → voter under the new directory id', () => {
    assert.deepEqual(controllerMembership(before, 1), { kind: 'voter', directoryId: 'A1', caughtUp: true });
    assert.deepEqual(controllerMembership(fetching, 1), { kind: 'stale-voter', staleDirectoryId: 'A1', directoryId: 'B1' });
    assert.deepEqual(controllerMembership(removed, 1), { kind: 'joining', directoryId: 'B1' });
    assert.deepEqual(controllerMembership(added, 1), { kind: 'voter', directoryId: 'B1', caughtUp: true });
    assert.deepEqual(controllerMembership(removed, 5), { kind: 'absent' });
    assert.deepEqual(controllerMembership(quorum([replica(0, 'A0'), replica(1, 'A1', NOW - 30_000)]), 1), { kind: 'voter', directoryId: 'A1', caughtUp: false });
  });

  test('readiness follows: only the new voter is ready, with a reason at every step before', () => {
    assert.match(JSON.stringify(evaluateControllerReadiness(fetching, 1)), /joining: 1: stale voter A1 \(its new disk B1 fetches as an observer\)/);
    assert.match(JSON.stringify(evaluateControllerReadiness(removed, 1)), /not a voter of the metadata quorum yet/);
    assert.deepEqual(evaluateControllerReadiness(added, 1), { ready: true });
  });

  test('a stale entry that still looks caught up (the leader has not aged it yet) is not ready either', () => {
    const fresh = quorum([replica(0, 'A0'), replica(1, 'A1'), replica(2, 'A2')], [replica(1, 'B1')]);
    assert.equal(evaluateControllerReadiness(fresh, 1).ready, false);
  });

  test('after the move, the old disk lingering among the observers (Kafka keeps a removed voter there for 5 minutes) does not make the new voter stale', () => {
    // Observed with Kafka 4.4: the new directory id votes and fetches; the removed old one is an observer frozen
    // at the log end offset and fetch time it had when its node died.
    const done = quorum([replica(0, 'A0'), replica(1, 'B1'), replica(2, 'A2')], [{ ...replica(1, 'A1', NOW - 120_000), logEndOffset: 38 }]);
    assert.deepEqual(controllerMembership(done, 1), { kind: 'voter', directoryId: 'B1', caughtUp: true });
    assert.deepEqual(evaluateControllerReadiness(done, 1), { ready: true });
    // Between the remove and the add both disks are observers: the one fetching is the node.
    const between = quorum([replica(0, 'A0'), replica(2, 'A2')], [replica(1, 'A1', NOW - 120_000), replica(1, 'B1')]);
    assert.deepEqual(controllerMembership(between, 1), { kind: 'joining', directoryId: 'B1' });
    // Before the remove, the old voter entry stopped fetching at the crash while the new disk fetches: stale.
    const stale = quorum([replica(0, 'A0'), replica(1, 'A1', NOW - 5_000), replica(2, 'A2')], [replica(1, 'B1')]);
    assert.deepEqual(controllerMembership(stale, 1), { kind: 'stale-voter', staleDirectoryId: 'A1', directoryId: 'B1' });
    // An old voter entry that never fetched from this leader (-1) is stale as soon as the new disk fetches.
    const never = quorum([replica(0, 'A0'), replica(1, 'A1', -1), replica(2, 'A2')], [replica(1, 'B1')]);
    assert.equal(controllerMembership(never, 1).kind, 'stale-voter');
  });

  test('descriptions and unexpected voters', () => {
    assert.equal(describeMembership(1, controllerMembership(removed, 1)), '1: joining as B1 (observer, not a voter yet)');
    assert.equal(describeMembership(1, controllerMembership(fetching, 1)), '1: stale voter A1 (its new disk B1 fetches as an observer)');
    assert.equal(describeMembership(3, { kind: 'absent' }), '3: not in the quorum');
    assert.deepEqual(unexpectedVoters(added, new Set([0, 1, 2])), []);
    assert.deepEqual(unexpectedVoters(added, new Set([0, 2])), [1]);
  });

  test('property: a node is stale only with a voter entry and an observer of another directory; joining only without a voter entry', () => {
    const key = fc.record({ id: fc.integer({ min: 0, max: 3 }), dir: fc.constantFrom('A', 'B', 'C') });
    fc.assert(
      fc.property(fc.uniqueArray(key, { selector: (k) => k.id, maxLength: 4 }), fc.array(key, { maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (voters, observers, id) => {
        const q = quorum(
          voters.map((v) => replica(v.id, v.dir)),
          observers.map((o) => replica(o.id, o.dir)),
          voters[0]?.id ?? -1,
        );
        const m = controllerMembership(q, id);
        const voter = voters.find((v) => v.id === id);
        const otherObserver = observers.some((o) => o.id === id && o.dir !== voter?.dir);
        switch (m.kind) {
          case 'voter':
            assert.ok(voter !== undefined && !otherObserver && m.directoryId === voter.dir);
            break;
          case 'stale-voter':
            assert.ok(voter !== undefined && otherObserver && m.staleDirectoryId === voter.dir && m.directoryId !== voter.dir);
            break;
          case 'joining':
            assert.ok(voter === undefined && otherObserver);
            break;
          case 'absent':
            assert.ok(voter === undefined && !otherObserver);
            break;
        }
        if (m.kind !== 'voter') assert.equal(evaluateControllerReadiness(q, id).ready, false);
      }),
    );
  });
});
