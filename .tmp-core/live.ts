import { isTerminalState } from '../src/mesos/types.js';
import { runScenario } from '../test/unit/core-scenario.ts';
const [ops, seed] = JSON.parse(process.argv[2]!);
const sim = runScenario(ops, seed);
for (let round = 0; round < 30; round++) {
  for (const [id, t] of sim.cluster.tasks) if (t.state === 'TASK_UNREACHABLE') sim.status(id, 'TASK_LOST', { source: 'SOURCE_MASTER', uuid: undefined });
  for (const id of new Set(sim.kills)) { const t = sim.cluster.tasks.get(id); if (t && !isTerminalState(t.state)) sim.status(id, 'TASK_KILLED'); }
  sim.kills.length = 0;
  sim.advance(61_000);
  sim.answerReconciliation();
  sim.offerAll();
  for (const [id, t] of sim.cluster.tasks) if (t.state === 'TASK_STAGING') sim.status(id, 'TASK_RUNNING');
}
for (const v of sim.core.units(sim.desired, sim.now)) console.log(v.name, v.state, JSON.stringify(v.step));
console.log(JSON.stringify(sim.history.slice(-2).map(h => h.filter(a => a.type !== 'event')), null, 0).slice(0, 3000));
