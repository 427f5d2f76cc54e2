/**
 * The core's share of one failover as the state grows: N app instances (10 apps of N/10), all RUNNING
 * and reconciled, then rounds of "TASK_FAILED of one instance + an offer that fits, one decision" (as the
 * runtime batches them). Figures: wall time and CPU time of that decision. Every decision still looks at
 * every unit and task record (time checks, the task index, the unit and update passes), so this grows
 * with N; the ZooKeeper write and the calls are the runtime's share (bench/scheduler-failover.ts).
 * Then, as in bench/scheduler-scale.ts, one more app that no agent can hold stays wanted and OFFERS events
 * of `--offers` offers (one per agent) are decided and declined: the decision a big offer round costs.
 *
 * Usage: node --import tsx bench/core-failover-scale.ts [--units 10000] [--rounds 200] [--offers 1000]
 * Prints figures; never fails on them.
 */
import { parseArgs } from 'node:util';
import { Core } from '../src/core/core.js';
import type { CoreEvent } from '../src/core/events.js';
import { seededRng } from '../src/core/rng.js';
import { emptyStored } from '../src/core/state.js';
import type { Offer } from '../src/mesos/types.js';
import { prepareDesired } from '../src/model/desired.js';
import { appsDesiredInput, type AppRecord } from '../src/runtime/apps.js';
import { quantile } from './lib/zk.js';

const { values } = parseArgs({ options: { units: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '200' }, offers: { type: 'string', default: '1000' } } });
const UNITS = Number(values.units);
const ROUNDS = Math.min(Number(values.rounds), UNITS);
const APPS = 10;

const apps = new Map<string, AppRecord>();
for (let a = 0; a < APPS; a++) {
  const name = `load-${a}`;
  const spec: AppRecord['spec'] = { name, instances: Math.ceil(UNITS / APPS), cpus: 0.1, mem: 32, command: 'sleep 3600' };
  apps.set(name, { spec, removing: false, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, a)).toISOString(), updatedAt: '' });
}
const desired = prepareDesired(appsDesiredInput(apps, []));

// The stored state of a deployed cluster: one RUNNING task per unit, 1,000 agents.
const started = Date.UTC(2026, 0, 1);
const stored = emptyStored();
let n = 0;
for (const u of desired.ordered) {
  const name = u.spec.name;
  const taskId = `${name.replace('/', '.')}__g1__${(n++).toString(16).padStart(8, '0')}`;
  const agent = `agent-${n % 1000}`;
  stored.units[name] = { name, generation: 1, failures: 0, everReady: true, replacements: 0 };
  stored.tasks[taskId] = {
    taskId,
    unit: name,
    generation: 1,
    agentId: agent,
    hostname: `${agent}.example`,
    attributes: {},
    state: 'TASK_RUNNING',
    launchedAt: started,
    updatedAt: started,
    runningSince: started,
    specVersion: u.version,
    ports: {},
    launchReason: 'deploy',
    ready: true,
  };
}
const core = new Core(seededRng(1), { role: 'kmf', frameworkName: 'kmf-bench', reviveMinIntervalMs: 0 }, stored);
let now = started + 1000;
core.stepMany([{ type: 'subscribed', frameworkId: 'fw' }], desired, now);
// Answer the explicit reconciliation, so the rounds run in steady state.
core.stepMany(
  Object.values(stored.tasks).map((t): CoreEvent => ({ type: 'status', status: { task_id: { value: t.taskId }, agent_id: { value: t.agentId }, state: 'TASK_RUNNING', source: 'SOURCE_MASTER' } })),
  desired,
  now,
);

let offerSeq = 0;
const offer = (agent: string): Offer => ({
  id: { value: `offer-${offerSeq++}` },
  framework_id: { value: 'fw' },
  agent_id: { value: agent },
  hostname: `${agent}.example`,
  resources: [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 1024 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31100 }] } },
  ],
});

const wall: number[] = [];
const cpu: number[] = [];
const names = [...core.state.units.keys()];
for (let r = 0; r < ROUNDS; r++) {
  now += 1000;
  const unit = names[Math.floor((r * names.length) / ROUNDS)]!;
  const task = [...core.state.tasks.values()].find((t) => t.unit === unit && t.state === 'TASK_RUNNING');
  if (task === undefined) throw new Error(`no running task of ${unit}`);
  const events: CoreEvent[] = [
    { type: 'status', status: { task_id: { value: task.taskId }, agent_id: { value: task.agentId }, state: 'TASK_FAILED', uuid: Buffer.alloc(16, 1) } },
    { type: 'offers', offers: [offer(task.agentId)] },
  ];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const actions = core.stepMany(events, desired, now);
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  const accept = actions.find((a) => a.type === 'accept');
  const relaunched = accept?.type === 'accept' ? accept.launched[0]?.taskId : undefined;
  if (relaunched === undefined) throw new Error(`${unit} was not relaunched: ${actions.map((a) => a.type).join(', ')}`);
  core.stepMany([{ type: 'status', status: { task_id: { value: relaunched }, agent_id: { value: task.agentId }, state: 'TASK_RUNNING' } }], desired, now);
}
wall.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const f = (xs: number[], q: number): string => quantile(xs, q).toFixed(2);
console.log(`core decision for TASK_FAILED + a fitting offer, ${core.state.units.size} units / ${core.state.tasks.size} task records, ${ROUNDS} rounds:`);
console.log(`  wall p10 ${f(wall, 0.1)} ms  p50 ${f(wall, 0.5)} ms  p99 ${f(wall, 0.99)} ms;  CPU (process, GC threads included) p10 ${f(cpu, 0.1)} ms  p50 ${f(cpu, 0.5)} ms`);

// An offer round with one unit that fits nowhere: every offer is matched, rejected and declined.
apps.set('never-fits', {
  spec: { name: 'never-fits', instances: 1, cpus: 1000, mem: 32, command: 'sleep 3600' },
  removing: false,
  createdAt: new Date(Date.UTC(2026, 0, 2)).toISOString(),
  updatedAt: '',
});
const wanting = prepareDesired(appsDesiredInput(apps, [...core.state.units.keys()]));
const OFFERS = Number(values.offers);
const roundWall: number[] = [];
const roundCpu: number[] = [];
for (let r = 0; r < 30; r++) {
  now += 1000;
  const offers = Array.from({ length: OFFERS }, (_, i) => offer(`agent-${i}`));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const actions = core.stepMany([{ type: 'offers', offers }], wanting, now);
  roundWall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  roundCpu.push((c.user + c.system) / 1000);
  if (!actions.some((a) => a.type === 'decline')) throw new Error('the offers were not declined');
}
roundWall.sort((a, b) => a - b);
roundCpu.sort((a, b) => a - b);
console.log(`core decision for one OFFERS event of ${OFFERS} offers (all declined), same state, 30 rounds:`);
console.log(`  wall p10 ${f(roundWall, 0.1)} ms  p50 ${f(roundWall, 0.5)} ms;  CPU p10 ${f(roundCpu, 0.1)} ms  p50 ${f(roundCpu, 0.5)} ms`);
