/**
 * The scheduler under offer load with a big state: 1,000 synthetic agents offering every second and
 * 10,000 running tasks. Figures: event-loop lag (perf_hooks.monitorEventLoopDelay: how long a timer or an
 * I/O callback — an API request, a Mesos answer — can be kept waiting), offers handled per second, and
 * the scheduler process's RSS.
 *
 * 1. `kmf mesos-sim --synthetic` with 1,000 agents (own process, allocation every second), a real
 *    ZooKeeper, and a kmf scheduler in a child process deploy 10 apps × 1,000 instances, then that scheduler
 *    stops gracefully. A full kmf scheduler in this process takes the 10,000 tasks over (as a standby would:
 *    load, subscribe, reconcile), so the figures are those of a leader in steady state, not of the process
 *    that went through the launch burst (its RSS is printed too: V8 keeps the heap it grew).
 * 2. One more app that no agent can hold stays wanted, so the scheduler keeps reviving and declines every
 *    offer with a 1 s filter: each agent's resources come back every allocation round (once a second).
 * 3. After a warm-up, the event-loop delay is sampled for `--seconds`; offers received and declined are
 *    counted; RSS is read at the end (after a GC if --expose-gc was given).
 *
 * Usage: node --import tsx bench/scheduler-scale.ts [--agents 1000] [--apps 10] [--per-app 1000] [--seconds 30]
 * BENCH_DEBUG=1 adds the counters, V8's heap spaces and the biggest resident anonymous mappings (where the
 * RSS is); BENCH_HEAP_SNAPSHOT=<file> writes a heap snapshot of the measured process at the end.
 * Prints figures; never fails on them.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { RUNTIME_METRICS } from '../src/runtime/metrics.js';
import { deployTasks, mb, startBenchScheduler, startSyntheticSim, waitUntil } from './lib/synthetic-cluster.js';
import { LAUNCHER_FLAGS } from './lib/launcher.js';
import { startZooKeeper } from './lib/zk.js';
import { spawnManaged } from '../test/helpers/processes.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    apps: { type: 'string', default: '10' },
    'per-app': { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    phase: { type: 'string' },
    zk: { type: 'string' },
    master: { type: 'string' },
  },
});
const AGENTS = Number(values.agents);
const APPS = Number(values.apps);
const PER_APP = Number(values['per-app']);
const SECONDS = Number(values.seconds);

const lagMs = (ns: number): string => Math.max(0, ns / 1e6 - 1).toFixed(1);

/** Anonymous (heap, malloc) vs file-backed (the node binary, libraries) resident memory, on Linux. */
function procStatus(): string | undefined {
  try {
    const text = readFileSync('/proc/self/status', 'utf8');
    const field = (key: string): string => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
      return m === null ? '?' : `${(Number(m[1]) / 1024).toFixed(0)} MB`;
    };
    return `anonymous ${field('RssAnon')}, file-backed ${field('RssFile')}`;
  } catch {
    return undefined;
  }
}

/** The biggest resident anonymous mappings (glibc's brk heap, malloc arenas, V8 reservations), to tell them apart. */
function anonMappings(): string {
  const maps: Array<{ name: string; size: number; rss: number }> = [];
  let current: { name: string; size: number; rss: number } | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[5] ?? '';
      current = name === '' || name === '[heap]' ? { name: name || head[3]!, size: parseInt(head[2]!, 16) - parseInt(head[1]!, 16), rss: 0 } : undefined;
      if (current !== undefined) maps.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && current !== undefined) current.rss = Number(rss[1]) * 1024;
  }
  maps.sort((a, b) => b.rss - a.rss);
  const total = maps.reduce((a, m) => a + m.rss, 0);
  return `${mb(total)} in ${maps.length}; biggest: ${maps
    .slice(0, 10)
    .map((m) => `${mb(m.rss)} of ${mb(m.size)} ${m.name}`)
    .join(', ')}`;
}

const CORE = { declineShortSeconds: 0, reviveMinIntervalMs: 1000 };

if (values.phase === 'deploy') {
  // Child process: deploy, then stop gracefully (no teardown) so the measuring process takes the tasks over.
  const s = await startBenchScheduler(values.zk!, values.master!, CORE);
  const deployMs = await deployTasks(s, APPS, PER_APP);
  const mem = process.memoryUsage();
  console.log(`deployed in ${(deployMs / 1000).toFixed(1)} s; RSS of the scheduler that deployed them: ${mb(mem.rss)} (V8 heap ${mb(mem.heapUsed)} used of ${mb(mem.heapTotal)})`);
  await s.shutdown();
  process.exit(0);
}

const zk = await startZooKeeper();
const sim = await startSyntheticSim(AGENTS);
try {
  const zkSpec = `${zk.connectString}/kmf-bench-scale`;
  console.log(`deploying ${APPS * PER_APP} tasks on ${AGENTS} synthetic agents (in a separate scheduler process) …`);
  const deployer = spawnManaged({
    name: 'deployer',
    command: process.execPath,
    args: [...LAUNCHER_FLAGS, '--import', 'tsx', fileURLToPath(import.meta.url), '--phase', 'deploy', '--zk', zkSpec, '--master', sim.url, '--apps', String(APPS), '--per-app', String(PER_APP)],
  });
  deployer.onLine((l) => {
    if (!l.startsWith('{')) console.log(l);
  });
  const exit = await deployer.exited;
  if (exit.code !== 0) throw new Error(`deploy failed:\n${deployer.tail()}`);

  // This process takes over the 10,000 running tasks, as a standby would, and is measured under offer load.
  const s = await startBenchScheduler(zkSpec, sim.url, CORE);
  await waitUntil('the takeover to reconcile', () => s.timeline.page({ limit: 1000 }).entries.some((e) => e.message.startsWith('explicit reconciliation complete')), 120_000, 200);
  (globalThis as { gc?: () => void }).gc?.();
  const afterTakeover = process.memoryUsage();
  console.log(`took over ${s.runtime.leaderTerm()?.status().tasks ?? 0} tasks; RSS ${mb(afterTakeover.rss)} (V8 heap ${mb(afterTakeover.heapUsed)} used of ${mb(afterTakeover.heapTotal)})`);
  // Declines without a filter while something is wanted: every agent offers again each allocation round.
  await s.service.deployApp({ name: 'never-fits', instances: 1, cpus: 1000, mem: 32, command: 'sleep 3600' });
  const offerEvents = (): number => s.metrics.counter(RUNTIME_METRICS.mesosEvents, { type: 'OFFERS' });
  const offers = (): number => s.metrics.counter(RUNTIME_METRICS.offersReceived);
  const declined = (): number => s.metrics.counter(RUNTIME_METRICS.offersDeclined);
  const declineCalls = (): number => s.metrics.counter(RUNTIME_METRICS.actions, { type: 'decline' });
  await waitUntil('offers to flow', () => offerEvents() > 3, 60_000, 200);
  await new Promise((r) => setTimeout(r, 5_000));

  // The histogram records the interval between 1 ms timer ticks; the lag is what exceeds the 1 ms.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const events0 = offerEvents();
  const offers0 = offers();
  const declined0 = declined();
  const calls0 = declineCalls();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  lag.enable();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  lag.disable();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  const step = (q: number): string => (((s.metrics.quantile(RUNTIME_METRICS.stepSeconds, q) ?? NaN) * 1000).toFixed(1));
  const term = s.runtime.leaderTerm();
  console.log(`${AGENTS} agents offering every second, ${term?.status().tasks ?? 0} task records taken over from the deploying instance, ${SECONDS} s sampled:`);
  console.log(
    `  event-loop lag: p50 ${lagMs(lag.percentile(50))} ms  p99 ${lagMs(lag.percentile(99))} ms  p99.9 ${lagMs(lag.percentile(99.9))} ms  max ${lagMs(lag.max)} ms   (target: p99 < 50 ms)`,
  );
  console.log(
    `  offers received ${((offers() - offers0) / wall).toFixed(0)}/s in ${((offerEvents() - events0) / wall).toFixed(1)} OFFERS events/s; declined ${((declined() - declined0) / wall).toFixed(0)}/s in ${((declineCalls() - calls0) / wall).toFixed(1)} DECLINE calls/s`,
  );
  console.log(`  decision time (last 1,024): p50 ${step(0.5)} ms  p99 ${step(0.99)} ms; scheduler CPU ${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(0)}% of a core`);
  console.log(
    `  RSS ${mb(mem.rss)} (V8 heap used ${mb(mem.heapUsed)} of ${mb(mem.heapTotal)}, external ${mb(mem.external)}, array buffers ${mb(mem.arrayBuffers)})   (target: RSS < 250 MB with 10,000 tasks)`,
  );
  const status = procStatus();
  if (status !== undefined) console.log(`  of the RSS: ${status}`);
  if (process.env['BENCH_DEBUG'] !== undefined) {
    console.log(JSON.stringify(s.metrics.snapshot().counters, null, 1));
    console.log(`  resident anonymous mappings: ${anonMappings()}`);
    for (const sp of v8.getHeapSpaceStatistics()) console.log(`  ${sp.space_name}: used ${mb(sp.space_used_size)} of ${mb(sp.space_size)} (physical ${mb(sp.physical_space_size)})`);
  }
  const snapshot = process.env['BENCH_HEAP_SNAPSHOT'];
  if (snapshot !== undefined) console.log(`  heap snapshot written to ${v8.writeHeapSnapshot(snapshot)}`);
  await s.shutdown();
} finally {
  await sim.process.stop(10_000);
  await zk.stop();
}
