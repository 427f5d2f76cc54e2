/**
 * Rolling updates with maxUnavailable (PhaseSpec.maxUnavailable, set from an app's spec): the core's update
 * pass restarts up to that many units of the phase at once, never more, and still one phase at a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DesiredInput, UnitSpec } from '../../src/model/units.js';
import { agents, appSpec, Cluster, launchedIn, ofType, Sim } from './core-harness.js';

function units(n: number, command: string, phase = 'app-wc'): UnitSpec[] {
  return Array.from({ length: n }, (_, i) => appSpec(`${phase}/${i}`, { phase, group: phase, task: { command } }));
}

function input(n: number, command: string, maxUnavailable?: number): DesiredInput {
  return { units: units(n, command), phases: [{ name: 'app-wc', strategy: 'parallel', ...(maxUnavailable === undefined ? {} : { maxUnavailable }) }] };
}

function deployed(n: number, maxUnavailable?: number): Sim {
  const sim = new Sim(new Cluster(agents(3)), input(n, 'v1', maxUnavailable));
  sim.subscribe();
  sim.deployAll();
  sim.advance(60_000);
  assert.equal(sim.plan('deploy').status, 'COMPLETE');
  return sim;
}

/** Units whose live task the update plan has killed but which are not back yet. */
function liveKills(sim: Sim, killed: readonly string[]): string[] {
  return killed.filter((id) => sim.cluster.tasks.get(id)?.state === 'TASK_RUNNING');
}

/** Runs a roll to the end, answering kills and relaunches; returns the most units ever down at once. */
function rollToEnd(sim: Sim, first: string[]): number {
  let pending = [...first];
  let most = pending.length;
  for (let round = 0; round < 50 && pending.length > 0; round++) {
    const killedNow = pending;
    pending = [];
    for (const id of killedNow) pending.push(...ofType(sim.status(id, 'TASK_KILLED'), 'kill').map((k) => k.taskId));
    for (let i = 0; i < 5; i++) {
      const launched = launchedIn(sim.offerAll());
      for (const l of launched) pending.push(...ofType(sim.status(l.taskId, 'TASK_RUNNING'), 'kill').map((k) => k.taskId));
      if (launched.length === 0) break;
    }
    most = Math.max(most, pending.length);
  }
  return most;
}

void describe('rolling update with maxUnavailable', () => {
  void test('without maxUnavailable one unit at a time, as before', () => {
    const sim = deployed(4);
    const kills = ofType(sim.setDesired(input(4, 'v2')), 'kill');
    assert.equal(kills.length, 1);
    assert.equal(rollToEnd(sim, kills.map((k) => k.taskId)), 1);
    assert.equal(sim.plan('update').status, 'COMPLETE');
  });

  void test('maxUnavailable 2 stops two at once, then keeps two in flight until every unit runs the new version', () => {
    const sim = deployed(5, 2);
    const kills = ofType(sim.setDesired(input(5, 'v2', 2)), 'kill');
    assert.equal(kills.length, 2);
    assert.deepEqual(liveKills(sim, kills.map((k) => k.taskId)).length, 2, 'both still running until Mesos says killed');
    // A tick changes nothing: two are in flight already.
    assert.equal(ofType(sim.advance(1_000), 'kill').length, 0);
    const most = rollToEnd(sim, kills.map((k) => k.taskId));
    assert.ok(most <= 2, `at most 2 in flight, saw ${most}`);
    assert.equal(sim.plan('update').status, 'COMPLETE');
    for (let i = 0; i < 5; i++) {
      const unit = `app-wc/${i}`;
      const live = Object.values(sim.store.tasks).filter((t) => t.unit === unit && sim.cluster.tasks.get(t.taskId)?.state === 'TASK_RUNNING');
      assert.equal(live.length, 1, unit);
      assert.equal(live[0]!.specVersion, sim.desired.units.get(unit)!.version, `${unit} runs the new version`);
    }
  });

  void test('maxUnavailable larger than the app restarts every unit at once', () => {
    const sim = deployed(3, 10);
    assert.equal(ofType(sim.setDesired(input(3, 'v2', 10)), 'kill').length, 3);
  });

  void test('a stop hold still holds a unit back; the others use the room', () => {
    const sim = deployed(3, 2);
    const next = input(3, 'v2', 2);
    next.stopHolds = { 'app-wc/0': 'held for the test' };
    const kills = ofType(sim.setDesired(next), 'kill');
    assert.equal(kills.length, 2);
    assert.ok(kills.every((k) => !k.taskId.startsWith('app-wc/0')), 'the held unit is not stopped');
  });
});
