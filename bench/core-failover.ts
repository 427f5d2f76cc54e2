/**
 * Micro-benchmark of the core's share of failover: with 1,000 units steady (each with a reservation and a
 * persistent volume, 10 per agent on 100 agents), feed TASK_FAILED for one unit, then the offer Mesos
 * makes with that unit's reserved resources, and time each decision until the ACCEPT that relaunches it.
 * Prints p50/p99/max in milliseconds. The ZooKeeper write and the HTTP call are the runtime's share and
 * are not included. Run: node --import tsx bench/core-failover.ts [iterations] [units]   (units: 1,000 by default, 10 per agent)
 */
import type { Offer, Resource } from '../src/mesos/types.js';
import { prepareDesired } from '../src/model/desired.js';
import type { UnitSpec } from '../src/model/units.js';
import type { Action } from '../src/core/actions.js';
import { Core } from '../src/core/core.js';
import { reconcile } from '../src/core/reconcile.js';
import { seededRng } from '../src/core/rng.js';

const UNITS = Number(process.argv[3] ?? 1000);
const AGENTS = Math.ceil(UNITS / 10);
const iterations = Math.min(UNITS, Number(process.argv[2] ?? 1000));

const specs: UnitSpec[] = Array.from({ length: UNITS }, (_, i) => ({
  name: `broker-${i}`,
  kind: 'broker',
  goal: 'running',
  resources: { cpus: 0.1, memMb: 256 },
  ports: [{ name: 'broker' }],
  volume: { sizeMb: 100, containerPath: 'data' },
  constraints: [{ field: 'hostname', operator: 'MAX_PER', value: String(UNITS / AGENTS) }],
  task: { command: 'kafka --listeners PLAINTEXT://{{host}}:{{port:broker}} --log-dirs {{volume}}', killGracePeriodSeconds: 30 },
}));
const desired = prepareDesired({ units: specs });
const rng = seededRng(42);
const core = new Core(rng, { role: 'kafka', frameworkName: 'kmf-bench', principal: 'kmf' });
let now = Date.UTC(2026, 0, 1);
let offerSeq = 0;

function agentOffer(agent: number, resources: Resource[]): Offer {
  return {
    id: { value: `O${offerSeq++}` },
    framework_id: { value: 'fw' },
    agent_id: { value: `S${agent}` },
    hostname: `a${agent}`,
    resources,
    allocation_info: { role: 'kafka' },
  };
}

const unreserved = (name: string, value: number): Resource => ({ name, type: 'SCALAR', scalar: { value }, role: '*', allocation_info: { role: 'kafka' } });

// Deploy: every agent offers room for 10 units; everything reaches RUNNING.
core.step({ type: 'subscribed', frameworkId: 'fw' }, desired, now);
const taskResources = new Map<string, Resource[]>();
const taskAgent = new Map<string, string>();
const offers = Array.from({ length: AGENTS }, (_, a) =>
  agentOffer(a, [unreserved('cpus', 2), unreserved('mem', 4096), unreserved('disk', 2000), { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31099 }] }, role: '*', allocation_info: { role: 'kafka' } }]),
);
const deploy = core.step({ type: 'offers', offers }, desired, now);
for (const a of deploy) {
  if (a.type !== 'accept') continue;
  for (const op of a.operations) {
    for (const t of op.launch?.task_infos ?? []) {
      taskResources.set(t.task_id.value, t.resources ?? []);
      taskAgent.set(t.task_id.value, t.agent_id.value);
    }
  }
}
if (taskResources.size !== UNITS) throw new Error(`deployed ${taskResources.size} of ${UNITS}`);
for (const [taskId, agentId] of taskAgent) {
  core.step({ type: 'status', status: { task_id: { value: taskId }, state: 'TASK_RUNNING', agent_id: { value: agentId } } }, desired, now);
}
// Let reconciliation settle (answer it) so the measured decisions are the steady-state path.
for (const [taskId, agentId] of taskAgent) {
  core.step({ type: 'status', status: { task_id: { value: taskId }, state: 'TASK_RUNNING', agent_id: { value: agentId }, source: 'SOURCE_MASTER' } }, desired, now);
}

const failedMs: number[] = [];
const offerMs: number[] = [];
const totalMs: number[] = [];
const pureMs: number[] = [];
const order = [...taskAgent.keys()].sort(() => rng.next() - 0.5).slice(0, iterations);
const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6;
const hasAccept = (acts: Action[], unit: string): boolean => acts.some((x) => x.type === 'accept' && x.launched.some((l) => l.unit === unit));

for (const taskId of order) {
  now += 1000;
  const agentId = taskAgent.get(taskId)!;
  const unit = taskId.split('__')[0]!;
  const t0 = process.hrtime.bigint();
  core.step({ type: 'status', status: { task_id: { value: taskId }, state: 'TASK_FAILED', agent_id: { value: agentId }, uuid: Buffer.alloc(16) } }, desired, now);
  const t1 = process.hrtime.bigint();
  const offer = agentOffer(Number(agentId.slice(1)), taskResources.get(taskId)!);
  // The pure function alone, on the same input (its result is discarded).
  const p0 = process.hrtime.bigint();
  const pure = reconcile({ desired, state: core.state, offers: [offer], now, config: core.config, rng: seededRng(1) });
  const p1 = process.hrtime.bigint();
  if (!hasAccept(pure.actions, unit)) throw new Error(`pure reconcile did not relaunch ${unit}`);
  const t2 = process.hrtime.bigint();
  const acts = core.step({ type: 'offers', offers: [offer] }, desired, now);
  const t3 = process.hrtime.bigint();
  if (!hasAccept(acts, unit)) throw new Error(`no ACCEPT relaunching ${unit}: ${JSON.stringify(acts.map((x) => x.type))}`);
  failedMs.push(ms(t0, t1));
  offerMs.push(ms(t2, t3));
  totalMs.push(ms(t0, t1) + ms(t2, t3));
  pureMs.push(ms(p0, p1));
  for (const a of acts) {
    if (a.type !== 'accept') continue;
    for (const op of a.operations) {
      for (const t of op.launch?.task_infos ?? []) {
        taskResources.set(t.task_id.value, t.resources ?? []);
        taskAgent.set(t.task_id.value, t.agent_id.value);
        core.step({ type: 'status', status: { task_id: t.task_id, state: 'TASK_RUNNING', agent_id: t.agent_id } }, desired, now);
      }
    }
  }
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const row = (label: string, v: number[]): string =>
  `${label.padEnd(44)} p50 ${pct(v, 50).toFixed(3)} ms   p99 ${pct(v, 99).toFixed(3)} ms   max ${Math.max(...v).toFixed(3)} ms`;
console.log(`core failover, ${UNITS} steady units on ${AGENTS} agents, ${order.length} failovers (node ${process.version})`);
console.log(row('step(TASK_FAILED) -> persist + revive', failedMs));
console.log(row('step(OFFERS) -> persist + ACCEPT', offerMs));
console.log(row('TASK_FAILED -> ACCEPT (sum of both)', totalMs));
console.log(row('reconcile() pure, offer in hand', pureMs));
