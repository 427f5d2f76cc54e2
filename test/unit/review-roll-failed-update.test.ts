/**
 * A rolling update must not move on while a unit it restarted has not been ready since: when the new version
 * fails (the relaunch crashes, the recovery plan relaunches it again), the next unit of the phase keeps its
 * old, working task, so a bad version never takes more than maxUnavailable units down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DesiredInput, UnitSpec } from '../../src/model/units.js';
import { agents, appSpec, Cluster, launchedIn, ofType, Sim } from './core-harness.js';

function units(n: number, command: string): UnitSpec[] {
  return Array.from({ length: n }, (_, i) => appSpec(`app-wc/${i}`, { phase: 'app-wc', group: 'app-wc', task: { command } }));
}

function input(n: number, command: string): DesiredInput {
  return { units: units(n, command), phases: [{ name: 'app-wc', strategy: 'parallel' }] };
}

describe('rolling update of a version that fails', () => {
  test('the roll stops at the first unit whose new task fails, through its relaunches', () => {
    const sim = new Sim(new Cluster(agents(3)), input(3, 'v1'));
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    assert.equal(sim.plan('deploy').status, 'COMPLETE');

    const first = ofType(sim.setDesired(input(3, 'v2-broken')), 'kill');
    assert.equal(first.length, 1);
    const killedUnit = ['app-wc/0', 'app-wc/1', 'app-wc/2'].find((u) => sim.taskOf(u) === first[0]!.taskId)!;
    const kills: string[] = [];
    kills.push(...ofType(sim.status(first[0]!.taskId, 'TASK_KILLED'), 'kill').map((k) => k.taskId));
    // The new version starts, then fails; the recovery plan relaunches it, and it fails again, a few times.
    for (let attempt = 0; attempt < 4; attempt++) {
      let launched: Array<{ unit: string; taskId: string }> = [];
      for (let i = 0; i < 10 && launched.length === 0; i++) {
        kills.push(...ofType(sim.advance(30_000), 'kill').map((k) => k.taskId));
        launched = launchedIn(sim.offerAll());
      }
      assert.equal(launched.length, 1, `attempt ${attempt}: the failed unit is relaunched`);
      assert.equal(launched[0]!.unit, killedUnit);
      kills.push(...ofType(sim.status(launched[0]!.taskId, 'TASK_STARTING'), 'kill').map((k) => k.taskId));
      kills.push(...ofType(sim.status(launched[0]!.taskId, 'TASK_FAILED', { message: 'bad version' }), 'kill').map((k) => k.taskId));
    }
    kills.push(...ofType(sim.advance(60_000), 'kill').map((k) => k.taskId));
    assert.deepEqual(kills, [], 'no other unit is stopped while the restarted one has not been ready since');
  });
});
