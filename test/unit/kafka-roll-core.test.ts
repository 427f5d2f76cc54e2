/**
 * The core's side of a Kafka roll: one unit down at a time, also for a unit with a recent failure (which the
 * recovery plan owns while it is down), so the roll never takes two brokers down at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agents, brokerSpec, Cluster, launchedIn, ofType, Sim } from './core-harness.js';

describe('rolling update and units with a recent failure', () => {
  test('a unit stopped by the roll keeps the roll waiting until it is ready again, even inside its failure episode', () => {
    const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    // broker-0 crashes and comes back: it has a failure on record until it has been stable for a while.
    const crashed = sim.taskOf('broker-0')!;
    const agent = sim.cluster.tasks.get(crashed)!.agentId;
    sim.status(crashed, 'TASK_FAILED', { message: 'killed' });
    sim.advance(5_000);
    const relaunched = launchedIn(sim.offer(agent))[0]!.taskId;
    sim.status(relaunched, 'TASK_RUNNING');
    assert.equal(sim.store.units['broker-0']?.failures, 1, 'the failure is still inside its stability window');

    const changed = [0, 1, 2].map((i) => brokerSpec(i, { task: { command: 'new-command' } }));
    const first = ofType(sim.setDesired({ units: changed }), 'kill');
    assert.deepEqual(first.map((k) => k.taskId), [relaunched], 'broker-0 rolls first');
    // While broker-0 is down for the roll, no other broker is stopped: not when the kill is confirmed, not
    // while it waits for an offer, not while its new task starts.
    assert.equal(ofType(sim.status(relaunched, 'TASK_KILLED'), 'kill').length, 0, 'nothing else stops when broker-0 is down');
    assert.equal(ofType(sim.advance(2_000), 'kill').length, 0);
    const next = launchedIn(sim.offer(agent))[0]!.taskId;
    assert.equal(ofType(sim.advance(1_000), 'kill').length, 0, 'nothing else stops while broker-0 starts');
    const after = ofType(sim.status(next, 'TASK_RUNNING'), 'kill');
    assert.equal(after.length, 1, 'once broker-0 runs (ready) again, the next one goes');
    assert.ok(after[0]!.taskId.startsWith('broker-1__'));
  });
});
