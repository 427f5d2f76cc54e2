/**
 * Restart tests: the state the core returns (through persist actions) is serialized, a fresh core is
 * built from it, and work continues: nothing lost, no duplicate launch, clocks not reset.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agents, appSpec, brokerSpec, Cluster, launchedIn, ofType, opTypes, Sim } from './core-harness.js';

function deployed(n = 3, agentCount = 3): Sim {
  const sim = new Sim(new Cluster(agents(agentCount)), { units: Array.from({ length: n }, (_, i) => brokerSpec(i)) });
  sim.subscribe();
  sim.deployAll();
  sim.advance(60_000);
  return sim;
}

describe('restart from stored state', () => {
  test('the stored state is complete: a fresh core sees the same units and tasks', () => {
    const sim = deployed();
    sim.status(sim.taskOf('broker-1')!, 'TASK_FAILED');
    const before = sim.core.units(sim.desired, sim.now).map((u) => ({ ...u, step: u.step?.status }));
    assert.deepEqual(JSON.parse(JSON.stringify(sim.store)), JSON.parse(JSON.stringify(sim.core.stored)));
    sim.restart();
    const after = sim.core.units(sim.desired, sim.now).map((u) => ({ ...u, step: u.step?.status }));
    assert.deepEqual(after, before);
  });

  test('a crash between the record write and the ACCEPT: the task never existed, it is relaunched once', () => {
    const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1)] });
    sim.subscribe();
    const lost = sim.crashAfterPersist({ type: 'offers', offers: [sim.cluster.offer('S0'), sim.cluster.offer('S1')] });
    const intended = launchedIn(lost).map((l) => l.taskId);
    assert.equal(intended.length, 2);
    assert.ok(intended.every((id) => sim.store.tasks[id]?.state === 'TASK_STAGING'), 'intent was written first');
    assert.equal(sim.cluster.tasks.size, 0, 'but Mesos never heard of them');

    const sub = sim.subscribe();
    assert.deepEqual(ofType(sub, 'reconcile')[0]?.tasks.map((t) => t.taskId).sort(), [...intended].sort());
    sim.answerReconciliation();
    assert.ok(intended.every((id) => sim.store.tasks[id]?.state === 'TASK_GONE'));
    const acts = sim.offerAll();
    const relaunched = launchedIn(acts);
    assert.deepEqual(relaunched.map((l) => l.unit).sort(), ['broker-0', 'broker-1']);
    assert.ok(relaunched.every((l) => /__g2__/.test(l.taskId)), 'a new generation');
    assert.equal(sim.cluster.tasks.size, 2, 'exactly one task per unit ever reached Mesos');
    // The reservations of the lost ACCEPT never existed: fresh ones are made.
    assert.ok(opTypes(acts).includes('CREATE'));
  });

  test('a crash after the ACCEPT went out: reconciliation finds the tasks, nothing is launched twice', () => {
    const sim = new Sim(new Cluster(agents(3)), { units: [brokerSpec(0), brokerSpec(1)] });
    sim.subscribe();
    sim.offerAll();
    sim.restart();
    sim.subscribe();
    sim.answerReconciliation();
    const acts = sim.offerAll();
    assert.equal(launchedIn(acts).length, 0);
    for (const [id] of sim.cluster.tasks) sim.status(id, 'TASK_RUNNING');
    assert.equal(sim.plan('deploy').status, 'COMPLETE');
  });

  test('backoff survives a restart', () => {
    const sim = deployed();
    let id = sim.taskOf('broker-0')!;
    const agent = sim.cluster.tasks.get(id)!.agentId;
    sim.status(id, 'TASK_FAILED');
    sim.offer(agent);
    id = sim.taskOf('broker-0')!;
    sim.status(id, 'TASK_FAILED');
    const until = sim.store.units['broker-0']!.delayUntil!;
    assert.ok(until > sim.now);
    sim.restart();
    sim.subscribe();
    sim.answerReconciliation();
    assert.equal(launchedIn(sim.offer(agent)).length, 0, 'still backing off after the restart');
    sim.now = until;
    assert.deepEqual(launchedIn(sim.offer(agent)).map((l) => l.unit), ['broker-0']);
  });

  test('a rolling update continues after a restart: the pending kill is re-sent, no second unit is stopped', () => {
    const sim = deployed();
    const changed = [0, 1, 2].map((i) => brokerSpec(i, { task: { command: 'v2' } }));
    const first = ofType(sim.setDesired({ units: changed }), 'kill');
    assert.equal(first.length, 1);
    sim.restart();
    const sub = sim.subscribe();
    assert.deepEqual(ofType(sub, 'kill').map((k) => [k.taskId, k.reason]), [[first[0]!.taskId, 'update']]);
    sim.answerReconciliation();
    sim.status(first[0]!.taskId, 'TASK_KILLED');
    const acts = sim.offer(sim.cluster.tasks.get(first[0]!.taskId)!.agentId);
    const next = launchedIn(acts)[0]!;
    assert.equal(next.unit, first[0]!.taskId.split('__')[0]);
    const run = sim.status(next.taskId, 'TASK_RUNNING');
    assert.equal(ofType(run, 'kill').length, 1, 'then the next unit');
  });

  test('the permanent-failure clock keeps counting across two restarts', () => {
    const sim = deployed(3, 4);
    const id = sim.taskOf('broker-2')!;
    const start = sim.now;
    sim.status(id, 'TASK_UNREACHABLE', { source: 'SOURCE_MASTER', uuid: undefined });
    for (let i = 0; i < 2; i++) {
      sim.advance(9 * 60_000);
      sim.restart();
      sim.subscribe();
      sim.answerReconciliation();
    }
    assert.ok(sim.store.units['broker-2']?.reservation, 'not yet: 18 minutes');
    sim.now = start + 20 * 60_000;
    sim.send({ type: 'tick' });
    assert.equal(sim.store.units['broker-2']?.reservation, undefined, 'escalated at 20 minutes from the first failure');
    assert.equal(sim.store.units['broker-2']?.recovery, 'PERMANENT');
  });

  test('a reservation made ahead of launch survives a restart and is used', () => {
    const ctl = (i: number, peer: number) =>
      brokerSpec(i, { name: `controller-${i}`, kind: 'controller', task: { command: `kafka --peer {{unit:controller-${peer}:host}}` } });
    const sim = new Sim(new Cluster(agents(2)), { units: [ctl(0, 1), ctl(1, 0), appSpec('other', { phase: 'controller' })] });
    sim.subscribe();
    assert.deepEqual(opTypes(sim.offer('S0')).slice(0, 2), ['RESERVE', 'CREATE']);
    const rid = sim.store.units['controller-0']!.reservation!.rid;
    sim.restart();
    sim.subscribe();
    sim.answerReconciliation();
    sim.offer('S1');
    const acts = sim.offer('S0');
    assert.deepEqual(opTypes(acts), ['LAUNCH']);
    assert.equal(sim.core.stored.tasks[launchedIn(acts)[0]!.taskId]?.reservationId, rid);
  });
});
