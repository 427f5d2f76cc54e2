/**
 * Restart with 10,000 task records: how long a new leader takes to load the state, and to finish the
 * explicit reconciliation of every task with the master.
 *
 * 1. `kmf mesos-sim --synthetic` with 1,000 agents (own process), a real ZooKeeper, and a kmf scheduler
 *    here deploys 10 apps × 1,000 instances: 10,000 running tasks, 10,000 task records in ZooKeeper.
 * 2. That scheduler stops (gracefully: the subscription closes WITHOUT teardown; the tasks keep running).
 * 3. A raw `readTree` of /state from a fresh session is timed (the load's I/O part alone).
 * 4. A new scheduler instance starts on the same ZooKeeper: it is elected, loads the state (figure: load
 *    time = read + decode + building the core), subscribes with the stored framework id and reconciles
 *    every task explicitly (figure: SUBSCRIBED → "explicit reconciliation complete", i.e. every one of the
 *    10,000 tasks answered by the master and handled).
 *
 * Usage: node --import tsx bench/scheduler-restart.ts [--agents 1000] [--apps 10] [--per-app 1000]
 * Prints figures; never fails on them.
 */
import { parseArgs } from 'node:util';
import { RUNTIME_METRICS } from '../src/runtime/metrics.js';
import { ZooKeeperStateStore } from '../src/state/zookeeper-state-store.js';
import { deployTasks, startBenchScheduler, startSyntheticSim, waitUntil } from './lib/synthetic-cluster.js';
import { startZooKeeper } from './lib/zk.js';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '1000' }, apps: { type: 'string', default: '10' }, 'per-app': { type: 'string', default: '1000' } },
});
const AGENTS = Number(values.agents);
const APPS = Number(values.apps);
const PER_APP = Number(values['per-app']);
const TOTAL = APPS * PER_APP;

const zk = await startZooKeeper();
const sim = await startSyntheticSim(AGENTS);
const zkSpec = `${zk.connectString}/kmf-bench-restart`;
const core = { declineLongSeconds: 30 };
try {
  console.log(`deploying ${TOTAL} tasks on ${AGENTS} synthetic agents …`);
  const first = await startBenchScheduler(zkSpec, sim.url, core);
  const deployMs = await deployTasks(first, APPS, PER_APP);
  console.log(`deployed ${TOTAL} tasks in ${(deployMs / 1000).toFixed(1)} s`);
  await first.shutdown();

  const raw = await ZooKeeperStateStore.connect(zkSpec);
  const t0 = performance.now();
  const tree = await raw.readTree('/state');
  const readMs = performance.now() - t0;
  await raw.close();

  const second = await startBenchScheduler(zkSpec, sim.url, core);
  const term = (): ReturnType<typeof second.runtime.leaderTerm> => second.runtime.leaderTerm();
  await waitUntil('the new leader to load its state', () => term()?.isLoaded === true, 60_000, 20);
  const loadS = second.metrics.quantile(RUNTIME_METRICS.stateLoadSeconds, 1) ?? NaN;
  const entryAt = (re: RegExp): number | undefined => second.timeline.page({ limit: 1000 }).entries.find((e) => re.test(e.message))?.at;
  await waitUntil('explicit reconciliation to complete', () => entryAt(/^explicit reconciliation complete/) !== undefined, 300_000, 50);
  const subscribedAt = entryAt(/^subscribed to /)!;
  const doneAt = entryAt(/^explicit reconciliation complete/)!;
  const running = term()!.units().filter((u) => u.state === 'running').length;
  console.log(`restart with ${Object.keys(Object.fromEntries(tree)).filter((p) => p.startsWith('/state/tasks/')).length} task records (${tree.size} znodes under /state):`);
  console.log(`  readTree of /state from a fresh session: ${(readMs / 1000).toFixed(2)} s`);
  console.log(`  state loaded (read + decode + core built): ${loadS.toFixed(2)} s   (target < 2 s)`);
  console.log(`  explicit reconciliation of all tasks, SUBSCRIBED → done: ${((doneAt - subscribedAt) / 1000).toFixed(2)} s   (target < 10 s)`);
  console.log(`  instances running after the restart: ${running} of ${TOTAL} (none relaunched: ${second.metrics.counter(RUNTIME_METRICS.actions, { type: 'accept' })} ACCEPTs)`);
  await second.shutdown();
} finally {
  await sim.process.stop(10_000);
  await zk.stop();
}
