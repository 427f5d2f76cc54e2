/**
 * TASK_FAILED → ACCEPT launching the replacement, with a fitting offer in hand, ZooKeeper write included.
 *
 * The leader runtime (LeaderTerm: serial queue, core, fenced state writer on a real ZooKeeper with a real
 * leader election) runs here against a scripted Mesos driver, so the figure is the scheduler's own
 * latency, not HTTP or the sim. Setup: an app of N instances, all RUNNING. Each round takes a different
 * instance, delivers its TASK_FAILED followed at once by an offer that fits (the offer is "in hand" when
 * the failure is handled), and measures the time from the TASK_FAILED event reaching the runtime to the
 * ACCEPT that relaunches the instance being issued. That path includes the core's decisions, the
 * persist (failure record, new task record: one fenced ZooKeeper transaction) and the ACKNOWLEDGE.
 *
 * With --burst N the failure arrives behind N status updates of other instances that each change a task
 * record (health flipped), all in the same batch: a failure in the middle of a burst, whose persist is
 * then several ZooKeeper transactions once it holds more than 1,000 records.
 *
 * With --offer-round N the failure arrives while the runtime is busy with a round of N offers that fit
 * nothing (and an update that changes a record, so that the round waits for ZooKeeper): the failure is
 * queued behind a slow decision, where the queue pauses.
 *
 * Usage: node --import tsx bench/scheduler-failover.ts [--instances 300] [--rounds 300] [--burst 0] [--offer-round 0]
 * Prints figures; never fails on them.
 */
import { parseArgs } from 'node:util';
import { Core } from '../src/core/core.js';
import { seededRng } from '../src/core/rng.js';
import type { Call } from '../src/mesos/types.js';
import { LeaderTerm } from '../src/runtime/leader-term.js';
import { Metrics, RUNTIME_METRICS } from '../src/runtime/metrics.js';
import { Timeline } from '../src/runtime/timeline.js';
import { testLogger } from '../src/util/log.js';
import { FakeDriver, offer, update } from '../test/helpers/fake-driver.js';
import { leaderStore, ms, quantile, startZooKeeper } from './lib/zk.js';

const { values } = parseArgs({
  options: { instances: { type: 'string', default: '300' }, rounds: { type: 'string', default: '300' }, burst: { type: 'string', default: '0' }, 'offer-round': { type: 'string', default: '0' } },
});
const INSTANCES = Number(values.instances);
const ROUNDS = Math.min(Number(values.rounds), INSTANCES);
const BURST = Math.min(Number(values.burst), INSTANCES - 1);
const OFFER_ROUND = Number(values['offer-round']);

const zk = await startZooKeeper();
const leader = await leaderStore(`${zk.connectString}/kmf-bench-failover`);

// Where the time of one round goes: the last decision's and the last ZooKeeper transaction's start and end
// (performance.now()), recorded by thin wrappers around Core.stepMany and the fenced store's multi.
const marks = { decideStart: 0, decideEnd: 0, writeStart: 0, writeEnd: 0, writeOps: 0, writeBytes: 0 };
const { stepMany } = Core.prototype as { stepMany: (this: Core, ...args: Parameters<Core['stepMany']>) => ReturnType<Core['stepMany']> };
Core.prototype.stepMany = function (this: Core, ...args: Parameters<Core['stepMany']>) {
  marks.decideStart = performance.now();
  try {
    return stepMany.apply(this, args);
  } finally {
    marks.decideEnd = performance.now();
  }
};
const multi = leader.fenced.multi.bind(leader.fenced);
/** Called when the next transaction starts (--offer-round: the failure is sent while one is in flight). */
let onNextWrite: (() => void) | undefined;
leader.fenced.multi = async (ops) => {
  const cb = onNextWrite;
  onNextWrite = undefined;
  cb?.();
  marks.writeStart = performance.now();
  marks.writeOps = ops.length;
  marks.writeBytes = ops.reduce((n, o) => n + o.path.length + (o.op === 'create' || o.op === 'set' ? o.data.length : 0), 0);
  try {
    return await multi(ops);
  } finally {
    marks.writeEnd = performance.now();
  }
};
const driver = new FakeDriver('fw-bench');
const metrics = new Metrics(4096);
const term = new LeaderTerm({
  store: leader.fenced,
  leadership: leader.election,
  epoch: leader.epoch,
  driverFactory: () => driver,
  coreConfig: { role: 'kmf', frameworkName: 'kmf-bench', reviveMinIntervalMs: 0 },
  logger: testLogger('bench'),
  metrics,
  timeline: new Timeline(),
  rng: seededRng(1),
  onFailed: (why, err) => {
    console.error('term failed:', why, err);
    process.exit(1);
  },
  onFatal: (err) => {
    console.error('fatal:', err);
    process.exit(1);
  },
});

function launched(c: Call): Array<{ taskId: string; agentId: string }> {
  return (c.accept?.operations ?? []).flatMap((o) =>
    o.type === 'LAUNCH' ? (o.launch?.task_infos ?? []).map((t) => ({ taskId: t.task_id.value, agentId: t.agent_id.value })) : [],
  );
}

try {
  await term.start();
  driver.subscribe();
  await term.idle();
  const now = new Date().toISOString();
  await term.mutateDesired((d) =>
    d.put({ spec: { name: 'svc', instances: INSTANCES, cpus: 0.1, mem: 32, command: 'sleep 3600' }, removing: false, createdAt: now, updatedAt: now }),
  );
  // Deploy: enough offers for everyone, then RUNNING for every launch.
  const agents = Math.ceil(INSTANCES / 30);
  driver.emit({ type: 'OFFERS', offers: { offers: Array.from({ length: agents }, (_, i) => offer(`agent-${i}`, { cpus: 4, mem: 8192 })) } });
  await term.idle();
  const running = new Map<string, { taskId: string; agentId: string }>();
  for (const c of driver.callsOf('ACCEPT')) for (const l of launched(c)) running.set(l.taskId, l);
  for (const t of running.values()) driver.emit(update(t.taskId, t.agentId, 'TASK_RUNNING'));
  await term.idle();
  const units = term.units().filter((u) => u.state === 'running');
  /** Each unit's current task (a round replaces its victim's). */
  const current = new Map(units.map((u) => [u.name, { taskId: u.task!.taskId, agentId: u.task!.agentId }]));
  if (units.length !== INSTANCES) throw new Error(`only ${units.length} of ${INSTANCES} instances running`);

  const latencies: number[] = [];
  /** Per round: queued (event → decision starts), decide, encode (decision → transaction sent), ZooKeeper, issue (→ ACCEPT). */
  const parts: Array<{ total: number; queued: number; decide: number; encode: number; zk: number; issue: number }> = [];
  /** The transaction the ACCEPT waited for: its ops (without the fence's checks) and bytes of paths and data. */
  const sizes: Array<{ ops: number; bytes: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const u = units[r]!;
    const victim = u.task!;
    let t0 = 0;
    // The marks as they were when the ACCEPT went out (later transactions of the same persist move them).
    const accepted = new Promise<{ at: number; m: typeof marks }>((resolve) => {
      const listener = (c: Call): void => {
        if (c.type === 'ACCEPT' && launched(c).some((l) => l.taskId.startsWith(`${u.name.replace('/', '.')}__`))) {
          driver.callListeners.splice(driver.callListeners.indexOf(listener), 1);
          resolve({ at: performance.now(), m: { ...marks } });
        }
      };
      driver.callListeners.push(listener);
    });
    // Other instances' updates that each change a record (health flipped), delivered just before the failure.
    const burst = Array.from({ length: BURST }, (_, i) => current.get(units[(r + 1 + i) % units.length]!.name)!);
    if (OFFER_ROUND > 0) {
      const other = current.get(units[(r + 1) % units.length]!.name)!;
      await new Promise<void>((resolve) => {
        onNextWrite = resolve;
        driver.emit({ type: 'OFFERS', offers: { offers: Array.from({ length: OFFER_ROUND }, (_, i) => offer(`idle-${i}`, { cpus: 0.01, mem: 1 })) } });
        driver.emit(update(other.taskId, other.agentId, 'TASK_RUNNING', { healthy: r % 2 === 0 }));
      });
    }
    t0 = performance.now();
    for (const t of burst) driver.emit(update(t.taskId, t.agentId, 'TASK_RUNNING', { healthy: r % 2 === 0 }));
    driver.emit(update(victim.taskId, victim.agentId, 'TASK_FAILED', { message: 'bench' }));
    driver.emit({ type: 'OFFERS', offers: { offers: [offer(victim.agentId, { cpus: 1, mem: 1024 })] } });
    const { at: acceptAt, m } = await accepted;
    const total = acceptAt - t0;
    latencies.push(total);
    sizes.push({ ops: m.writeOps, bytes: m.writeBytes });
    parts.push({
      total,
      queued: m.decideStart - t0,
      decide: m.decideEnd - m.decideStart,
      encode: m.writeStart - m.decideEnd,
      zk: m.writeEnd - m.writeStart,
      issue: acceptAt - m.writeEnd,
    });
    await term.idle();
    // Let the replacement run, so the next round starts from a quiet state.
    const last = driver.callsOf('ACCEPT').at(-1)!;
    for (const l of launched(last)) {
      current.set(u.name, l);
      driver.emit(update(l.taskId, l.agentId, 'TASK_RUNNING'));
    }
    await term.idle();
  }
  latencies.sort((a, b) => a - b);
  const writes = metrics.snapshot().summaries[RUNTIME_METRICS.stateWriteSeconds];
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const behind = (BURST > 0 ? `, behind a burst of ${BURST} updates` : '') + (OFFER_ROUND > 0 ? `, during a round of ${OFFER_ROUND} offers` : '');
  console.log(`TASK_FAILED → ACCEPT (offer in hand, fenced ZooKeeper write included), ${INSTANCES} units, ${latencies.length} rounds${behind}:`);
  console.log(`  p50 ${ms(quantile(latencies, 0.5))}  p99 ${ms(quantile(latencies, 0.99))}  max ${ms(latencies.at(-1)!)}  mean ${ms(mean)}   (target: p99 < 10 ms)`);
  const keys = ['queued', 'decide', 'encode', 'zk', 'issue'] as const;
  const part = (k: (typeof keys)[number], q: number): string => quantile(parts.map((p) => p[k]).sort((a, b) => a - b), q).toFixed(2);
  console.log(`  made of (p50 / p99 ms): ${keys.map((k) => `${k} ${part(k, 0.5)} / ${part(k, 0.99)}`).join('; ')}`);
  const slowest = [...parts].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(parts.length / 100)));
  const avg = (k: (typeof keys)[number]): string => (slowest.reduce((a, p) => a + p[k], 0) / slowest.length).toFixed(2);
  console.log(`  the slowest 1% (${slowest.length} rounds), mean ms: ${keys.map((k) => `${k} ${avg(k)}`).join('; ')}`);
  const median = (xs: number[]): number => quantile(xs.sort((a, b) => a - b), 0.5);
  console.log(`  the transaction before the ACCEPT (median): ${median(sizes.map((x) => x.ops))} ops, ${median(sizes.map((x) => x.bytes))} bytes`);
  if (writes !== undefined) {
    console.log(`  persist (ZooKeeper multi, fenced) over the last ${Math.min(writes.count, 4096)}: p50 ${ms((writes.p50 ?? NaN) * 1000)}  p99 ${ms((writes.p99 ?? NaN) * 1000)}`);
  }
} finally {
  await term.stop('bench done');
  await leader.close();
  await zk.stop();
}
