import fc from 'fast-check';
import { opArb, runScenario } from '../test/unit/core-scenario.js';
const n = Number(process.argv[2] ?? 2000);
try {
  fc.assert(fc.property(fc.array(opArb, { minLength: 5, maxLength: 200, size: 'large' }), fc.integer({ min: 1, max: 1_000_000 }), (ops, seed) => { runScenario(ops, seed); }), { numRuns: n });
  console.log('ok', n);
} catch (e) { console.log(String((e as Error).message).split('\n').slice(0, 4).join('\n')); }
