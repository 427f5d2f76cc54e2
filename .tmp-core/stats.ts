import fc from 'fast-check';
import { runScenario, opArb } from '../test/unit/core-scenario.ts';
const samples = fc.sample(fc.tuple(fc.array(opArb, { minLength: 5, maxLength: 150, size: 'large' }), fc.integer({ min: 1, max: 1000000 })), { numRuns: 300, seed: 7 });
const counts: Record<string, number> = {};
for (const [ops, seed] of samples) {
  const sim = runScenario(ops, seed);
  for (const acts of sim.history) for (const a of acts) {
    const k = a.type === 'event' ? `event:${a.kind}` : a.type === 'accept' ? `accept:${a.operations.map(o => o.type).join('+')}` : a.type;
    counts[k] = (counts[k] ?? 0) + 1;
  }
}
console.log(counts);
