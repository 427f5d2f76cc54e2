import fc from 'fast-check';
import { runScenario } from '/work/ma../test/unit/core-scenario.ts';
import { Sim } from '/work/main/test/unit/core-harness.js';
const orig = Sim.prototype.answerReconciliation;
let guard = 0;
Sim.prototype.send = ((send) => function (this: Sim, e: any) { if (++guard > 20000) throw new Error('LOOP ' + JSON.stringify(e).slice(0, 300)); return send.call(this, e); })(Sim.prototype.send);
import { opArb } from '/work/ma../test/unit/core-scenario.ts';
const samples = fc.sample(fc.tuple(fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 1000000 })), { numRuns: 300, seed: 42 });
for (const [ops, seed] of samples) {
  guard = 0;
  try { runScenario(ops, seed); } catch (e) { const m = String((e as Error).message); if (m.startsWith('LOOP')) { console.log(m); console.log(JSON.stringify([ops, seed])); break; } }
}
console.log('done');
