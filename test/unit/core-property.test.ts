/**
 * Property tests over random event sequences (offers, status updates including returns from the dead,
 * kills answered or not, time passing, restarts from stored state, master failovers, spec and goal
 * changes, operator intents). On every step the harness checks:
 *   - never two live tasks for one unit (the core never launches next to a live task, nor keeps two);
 *   - never a launch beyond an offer's resources, ports included (and the mini-Mesos accepts every op);
 *   - every launched task id has its record persisted earlier in the same action list or before;
 * and this file adds: the stored state equals the sum of persist actions, plans never throw, and each unit
 * is acted on by at most one plan.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTerminalState } from '../../src/mesos/types.js';
import { opArb, runScenario } from './core-scenario.js';

describe('core properties over random event sequences', () => {
  test('safety invariants hold for any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 150, size: 'large' }), fc.integer({ min: 1, max: 1_000_000 }), (ops, seed) => {
        runScenario(ops, seed);
      }),
      { numRuns: 300 },
    );
  });

  test('safety invariants hold with refinement-format offers and tight agents', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 150, size: 'large' }), fc.integer({ min: 1, max: 1_000_000 }), (ops, seed) => {
        runScenario(ops, seed, 1);
      }),
      { numRuns: 200 },
    );
  });

  test('liveness: once the cluster behaves, every running unit gets placed and the core settles', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 1_000_000 }), (ops, seed) => {
        const sim = runScenario(ops.filter((o) => o.t !== 'goal' && o.t !== 'pause'), seed);
        // Heal: answer kills, resolve unreachable tasks, run everything, give time for backoffs/escalations.
        for (let round = 0; round < 30; round++) {
          for (const [id, t] of sim.cluster.tasks) {
            if (t.state === 'TASK_UNREACHABLE') sim.status(id, 'TASK_LOST', { source: 'SOURCE_MASTER', uuid: undefined });
          }
          for (const id of new Set(sim.kills)) {
            const t = sim.cluster.tasks.get(id);
            if (t && !isTerminalState(t.state)) sim.status(id, 'TASK_KILLED');
          }
          sim.kills.length = 0;
          sim.advance(61_000);
          sim.answerReconciliation();
          sim.offerAll();
          for (const [id, t] of sim.cluster.tasks) if (t.state === 'TASK_STAGING') sim.status(id, 'TASK_RUNNING');
        }
        const views = sim.core.units(sim.desired, sim.now);
        for (const v of views) {
          if (v.goal === 'running' && v.issues.length === 0) assert.equal(v.state, 'running', `${v.name}: ${JSON.stringify(v.step)}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
