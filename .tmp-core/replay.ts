import { runScenario } from '../test/unit/core-scenario.ts';
import { Sim } from '../test/unit/core-harness.js';
const [ops, seed] = JSON.parse(process.argv[2]!);
const send = Sim.prototype.send;
Sim.prototype.send = function (this: Sim, e) { const r = send.call(this, e); if (process.env.V) console.log('>>', JSON.stringify(e).slice(0, 200), '\n  <<', JSON.stringify(r.filter(a => a.type !== 'wakeAt').map(a => a.type === 'event' ? `${a.kind}:${a.unit}:${a.message}` : a.type === 'accept' ? `accept ${a.agentId} ${a.operations.map(o=>o.type)} ${a.launched.map(l=>l.taskId)}` : a.type === 'kill' ? `kill ${a.taskId} ${a.reason}` : a.type))); return r; };
try { runScenario(ops, seed); console.log('ok'); } catch (e) { console.log(String((e as Error).message)); }
