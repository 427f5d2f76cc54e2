/**
 * Replacing a unit whose task runs and is ready stops that task, so the stop holds (the Kafka roll gate's
 * min.insync.replicas / ISR / quorum verdicts) must refuse it like a restart; a unit that is already down
 * can still be replaced.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agents, brokerSpec, Cluster, ofType, Sim } from './core-harness.js';

const HOLD = 'stopping broker 0 would leave t-0 with 1 in-sync replica (min.insync.replicas=2)';

function messages(acts: ReturnType<Sim['send']>): string[] {
  return ofType(acts, 'event').filter((e) => e.kind === 'intent').map((e) => e.message);
}

function deployed(): Sim {
  const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1), brokerSpec(2)] });
  sim.subscribe();
  sim.deployAll();
  sim.advance(60_000);
  return sim;
}

describe('replace intent and stop holds', () => {
  test('a held unit whose task runs and is ready is not replaced', () => {
    const sim = deployed();
    const units = [brokerSpec(0), brokerSpec(1), brokerSpec(2)];
    sim.setDesired({ units, stopHolds: { 'broker-0': HOLD } });
    const task = sim.taskOf('broker-0')!;
    const acts = sim.send({ type: 'intent', intent: { kind: 'replace', unit: 'broker-0' } });
    assert.equal(ofType(acts, 'kill').length, 0, 'the held broker is not killed');
    assert.deepEqual(messages(acts), [`replace refused: ${HOLD}`]);
    assert.equal(sim.taskOf('broker-0'), task);
    assert.notEqual(sim.store.units['broker-0']?.replaceRequested, true, 'no replacement is left pending either');
    assert.equal(ofType(sim.advance(30_000), 'kill').length, 0, 'nor later');
  });

  test('without a hold, or once the task is down, the replace goes ahead', () => {
    const sim = deployed();
    const units = [brokerSpec(0), brokerSpec(1), brokerSpec(2)];
    sim.setDesired({ units, stopHolds: { 'broker-1': HOLD } });
    const task0 = sim.taskOf('broker-0')!;
    const kills = ofType(sim.send({ type: 'intent', intent: { kind: 'replace', unit: 'broker-0' } }), 'kill');
    assert.deepEqual(kills.map((k) => k.taskId), [task0]);

    // broker-1 is held, but its task has failed: replacing it stops nothing.
    const task1 = sim.taskOf('broker-1')!;
    sim.status(task1, 'TASK_FAILED', { message: 'disk gone' });
    const acts = sim.send({ type: 'intent', intent: { kind: 'replace', unit: 'broker-1' } });
    assert.ok(messages(acts).includes('replace requested'), JSON.stringify(messages(acts)));
    assert.equal(sim.store.units['broker-1']?.recovery, 'PERMANENT', 'it is replaced on a fresh volume');
  });
});
