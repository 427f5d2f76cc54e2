/**
 * A rolling update must not move on while a unit it restarted has not been ready since: when the new version
 * fails (the relaunch crashes, the recovery plan relaunches it again), the next unit of the phase keeps its
 * old, working task, so a bad version never takes more than maxUnavailable units down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DesiredInput, UnitSpec } from '../../src/model/units.js';
import { agents, appSpec, Cluster, launchedIn, ofType, Sim } from './core-harness.js';

function units(n: number, command: string, phase = 'app-wc'): UnitSpec[] {
  return Array.from({ length: n }, (_, i) => appSpec(`${phase}/${i}`, { phase, group: phase, task: { command } }));
}

function input(n: number, command: string): DesiredInput {
  return { units: units(n, command), phases: [{ name: 'app-wc', strategy: 'parallel' }] };
}

function twoApps(a: string, b: string): DesiredInput {
  return {
    units: [...units(2, a, 'app-a'), ...units(2, b, 'app-b')],
    phases: [
      { name: 'app-a', strategy: 'parallel', independent: true },
      { name: 'app-b', strategy: 'parallel', independent: true },
    ],
  };
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

  test("a unit down in one app does not hold back another app's roll", () => {
    const sim = new Sim(new Cluster(agents(3)), twoApps('v1', 'v1'));
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    // app-a/0 crashes and cannot be relaunched yet (backoff): app-a has a unit down.
    sim.status(sim.taskOf('app-a/0')!, 'TASK_FAILED', { message: 'crash' });
    const b0 = sim.taskOf('app-b/0')!;
    const b1 = sim.taskOf('app-b/1')!;
    // Both apps change: app-a's healthy unit must wait (its phase has a unit down), app-b's roll goes on.
    const kills = ofType(sim.setDesired(twoApps('v2', 'v2')), 'kill').map((k) => k.taskId);
    assert.equal(kills.length, 1, 'one unit at a time, of app-b');
    assert.ok(kills[0] === b0 || kills[0] === b1, JSON.stringify(kills));
  });

  test('a unit down in the phase being rolled holds the roll until it is back', () => {
    const sim = new Sim(new Cluster(agents(3)), input(3, 'v1'));
    sim.subscribe();
    sim.deployAll();
    sim.advance(60_000);
    const crashed = sim.taskOf('app-wc/2')!;
    sim.status(crashed, 'TASK_FAILED', { message: 'crash' });
    assert.deepEqual(ofType(sim.setDesired(input(3, 'v2')), 'kill'), [], 'nothing else stops while app-wc/2 is down');
    // app-wc/2 comes back (with the new version): the roll goes on with the others.
    let relaunched: Array<{ unit: string; taskId: string }> = [];
    for (let i = 0; i < 10 && relaunched.length === 0; i++) {
      sim.advance(30_000);
      relaunched = launchedIn(sim.offerAll());
    }
    assert.equal(relaunched[0]?.unit, 'app-wc/2');
    const next = ofType(sim.status(relaunched[0].taskId, 'TASK_RUNNING'), 'kill');
    assert.equal(next.length, 1, 'once it runs again, the roll restarts the next unit');
  });
});
