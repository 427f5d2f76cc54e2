/**
 * Kafka on the sim, end to end, with real processes: a real ZooKeeper, the sim of `kmf mesos-sim` (through its
 * TypeScript API in this process: three agents on distinct loopback addresses, real sandboxes, fetcher and task
 * processes), the kmf scheduler in this process (the integration tests' short timings)
 * serving the Kafka tarball from its admin API, three real combined KRaft brokers (384 MB heaps, serial GC).
 *
 * Deploy: `POST /api/v1/brokers {"count": 3}` → all three registered. Each broker's time is split from real
 * timestamps:
 *   offer wait    POST → the sim master receiving the ACCEPT that launches the broker's task
 *   fetch         ACCEPT → TASK_RUNNING (the agent's fetcher downloads and extracts the tarball before the
 *                 command starts; timestamps of the task's status updates as the agent stamped them)
 *   JVM start     TASK_RUNNING → the "Kafka Server started" line in the task's stdout (its log4j timestamp);
 *                 it includes the `kafka-storage format` JVM (the "format" column: RUNNING → the format log's
 *                 last write)
 *   registration  "Kafka Server started" → the scheduler's readiness verdict (timeline entry `ready`: the node
 *                 is registered in the cluster metadata with its host and port, and a caught-up voter); the
 *                 readiness loop polls every second, which is most of this (a few ms below zero happen: the
 *                 node is registered and unfenced just before it logs "Kafka Server started")
 *
 * Kill: a topic with RF 3 (3 partitions, min.insync.replicas 2) gets 200 acks=all messages; broker 1's JVM is
 * SIGKILLed; total = kill → broker 1 back in the ISR of every partition (polled every 100 ms). Milestones on the
 * way: the TASK_FAILED update reaching the scheduler, the relaunch's ACCEPT at the master, TASK_RUNNING, the new
 * JVM's registration (refused as DUPLICATE_BROKER_REGISTRATION while the dead incarnation's broker session
 * lasts), "Kafka Server started", ready.
 * kmf's own share of "status update → ACCEPT" leaves out the time the master's allocator takes to send an
 * offer once kmf asked for one (REVIVE): own = (UPDATE arrives → REVIVE) + (OFFERS arrive → ACCEPT).
 * Arrival times of Mesos events at the scheduler come from its metrics (`kmf_mesos_events_total` is counted
 * as each event arrives, before it is queued); calls are timed where the sim master receives them.
 *
 * Each round (BENCH_ROUNDS, default 1) is a fresh sim, scheduler and Kafka cluster on one ZooKeeper (its own
 * chroot). Needs the runtime of `scripts/setup.sh` (Kafka tarball, JDK). Prints figures; never fails on them.
 *
 * Usage: node --import tsx bench/kafka-deploy.ts        (BENCH_ROUNDS=3 for three rounds)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { KafkaAdmin } from '../src/kafka/admin.js';
import { isrRecovered } from '../src/kafka/roll-safety.js';
import type { Call } from '../src/mesos/types.js';
import { RUNTIME_METRICS, type Metrics } from '../src/runtime/metrics.js';
import type { SimCluster } from '../src/sim/cluster.js';
import type { TimelineEntry } from '../src/runtime/timeline.js';
import { api, chroot, startInProcess, startSim, waitFor, waitReady, type SchedulerHandle } from '../test/helpers/scheduler-harness.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { quantile } from './lib/zk.js';

const { Kafka, logLevel } = kafkajs;
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? '1') || 1);
const BROKERS = 3;
const VICTIM = 1;
const TOPIC = 'bench';

interface BrokerView {
  id: number;
  state: string;
  ready: boolean;
  taskId?: string;
  agentId?: string;
}

/** What the bench sees happen, with wall-clock times (ms since the epoch). */
class Recorder {
  readonly accepts: Array<{ at: number; taskIds: string[] }> = [];
  readonly revives: number[] = [];
  readonly updates: number[] = [];
  readonly offers: number[] = [];
  readonly timeline: TimelineEntry[] = [];

  /** Times the calls the sim master receives (ACCEPT with the task ids it launches, REVIVE). */
  watchMaster(sim: SimCluster): void {
    const master = sim.master();
    if (master === undefined) throw new Error('the sim has no leading master');
    const handle = master.handleCall.bind(master);
    master.handleCall = (call: Call) => {
      const at = Date.now();
      if (call.type === 'ACCEPT') {
        const taskIds = (call.accept?.operations ?? []).flatMap((op) => (op.type === 'LAUNCH' ? (op.launch?.task_infos ?? []).map((t) => t.task_id.value) : []));
        if (taskIds.length > 0) this.accepts.push({ at, taskIds });
      } else if (call.type === 'REVIVE') this.revives.push(at);
      return handle(call);
    };
  }

  /** Times Mesos events as they reach the scheduler (the runtime counts each one on arrival). */
  watchScheduler(s: SchedulerHandle): void {
    const metrics: Metrics = s.metrics;
    const inc = metrics.inc.bind(metrics);
    metrics.inc = (name, labels, by) => {
      if (name === RUNTIME_METRICS.mesosEvents && labels?.['type'] === 'UPDATE') this.updates.push(Date.now());
      if (name === RUNTIME_METRICS.mesosEvents && labels?.['type'] === 'OFFERS') this.offers.push(Date.now());
      inc(name, labels, by);
    };
    s.timeline.onEntry((e) => this.timeline.push(e));
  }

  acceptOf(taskId: string): number | undefined {
    return this.accepts.find((a) => a.taskIds.includes(taskId))?.at;
  }

  readyOf(taskId: string): number | undefined {
    return this.timeline.find((e) => e.taskId === taskId && e.kind === 'task-status' && e.message === 'ready')?.at;
  }
}

/** Status timestamps (ms) of a task as the sim master holds them, by state (the first of each). */
function statusTimes(sim: SimCluster, taskId: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of sim.master()?.frameworkRecords() ?? []) {
    const t = f.tasks.get(taskId);
    if (t === undefined) continue;
    for (const s of t.statuses) if (s.timestamp !== undefined && !out.has(s.state)) out.set(s.state, s.timestamp * 1000);
  }
  return out;
}

/** The task's sandbox: <workDir>/agent-N/slaves/<agent>/frameworks/<fw>/executors/<taskId>/runs/latest. */
function sandboxOf(workDir: string, taskId: string): string | undefined {
  for (const agentDir of fs.readdirSync(workDir)) {
    const slaves = path.join(workDir, agentDir, 'slaves');
    if (!fs.existsSync(slaves)) continue;
    for (const agent of fs.readdirSync(slaves)) {
      const fws = path.join(slaves, agent, 'frameworks');
      if (!fs.existsSync(fws)) continue;
      for (const fw of fs.readdirSync(fws)) {
        const dir = path.join(fws, fw, 'executors', taskId, 'runs', 'latest');
        if (fs.existsSync(dir)) return dir;
      }
    }
  }
  return undefined;
}

/** The log4j timestamp (the JVM's local time zone, which is this process's) of the first stdout line matching. */
function logLineAt(sandbox: string, line: RegExp): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(sandbox, 'stdout'), 'utf8');
  } catch {
    return undefined;
  }
  for (const l of text.split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})\] /.exec(l);
    if (m !== null && line.test(l)) return new Date(`${m[1]}T${m[2]}.${m[3]}`).getTime();
  }
  return undefined;
}

const serverStartedAt = (sandbox: string): number | undefined => logLineAt(sandbox, /INFO .*Kafka Server started/);

function formatEndedAt(sandbox: string): number | undefined {
  try {
    return fs.statSync(path.join(sandbox, 'kafka-storage-format.log')).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The JVM of a broker: a process of its agent's process groups whose command line runs kafka.Kafka. */
function kafkaPid(sim: SimCluster, agentId: string): number | undefined {
  const groups = new Set(sim.agentSummaries().find((a) => a.id === agentId)?.pids ?? []);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (groups.has(pgid) && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

async function brokers(s: SchedulerHandle): Promise<BrokerView[]> {
  const r = await api(s.apiUrl, 'GET', '/api/v1/brokers');
  if (r.status !== 200) throw new Error(`GET /api/v1/brokers: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { brokers: BrokerView[] }).brokers;
}

async function produce(bootstrap: string[], count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'kmf-bench', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < count; i += 20) {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 20 }, (_, j) => ({ key: `k-${i + j}`, value: `m-${i + j}` })) });
    }
  } finally {
    await producer.disconnect();
  }
}

interface DeployRow {
  id: number;
  offerWait: number;
  fetch: number;
  jvmStart: number;
  format: number;
  registration: number;
  total: number;
}

interface KillRow {
  total: number;
  toUpdate: number;
  toAccept: number;
  toRunning: number;
  toStarted: number;
  /** Kill → the relaunched broker's "Successfully registered broker" line. */
  toRegistered: number;
  /** Kill → its first registration refused as DUPLICATE_BROKER_REGISTRATION (NaN if none). */
  toFirstRefusal: number;
  toReady: number;
  updateToAccept: number;
  kmfOwn: number;
  allocator: number;
  /** UPDATE arrival → the step that handles the failure starts (the runtime's queue). */
  queued: number;
  /** That step → the step that decides the relaunch starts (the same step when an offer was in hand). */
  decided: number;
  /** The relaunch decision → ACCEPT at the master (the fenced ZooKeeper write first, then the HTTP call). */
  persisted: number;
  /** Whether the ISR was seen without the victim (else it came back before the controller fenced it). */
  shrunk: boolean;
}

const need = (v: number | undefined, what: string): number => {
  if (v === undefined) throw new Error(`no timestamp for ${what}`);
  return v;
};

async function round(zkConnect: string, n: number): Promise<{ deploy: DeployRow[]; deployTotal: number; kill: KillRow }> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-bench-kafka-'));
  // The sim and the helpers kill their process groups when this process exits or is signalled; the work
  // dir (sandboxes, Kafka data) goes with them.
  const removeWorkDir = (): void => fs.rmSync(workDir, { recursive: true, force: true });
  process.on('exit', removeWorkDir);
  let sim: SimCluster | undefined;
  let scheduler: SchedulerHandle | undefined;
  let admin: KafkaAdmin | undefined;
  try {
    sim = await startSim({ agents: 3, resources: 'cpus:2;mem:4096;disk:8000;ports:[31000-31100]', agentAddresses: 'distinct', workDir });
    scheduler = await startInProcess(`${zkConnect}${chroot(`bench-${n}`)}`, sim.masterUrl, { kafkaBindHost: '{{host}}' });
    await waitReady(scheduler.apiUrl);
    const rec = new Recorder();
    rec.watchMaster(sim);
    rec.watchScheduler(scheduler);
    const s = scheduler;
    const simNow = sim;

    // ---- deploy ----
    const posted = Date.now();
    const res = await api(s.apiUrl, 'POST', '/api/v1/brokers', { count: BROKERS, cpus: 0.5, mem: 768, heap: 384, disk: 1000, jvmOpts: '-XX:+UseSerialGC' });
    if (res.status !== 202) throw new Error(`POST /api/v1/brokers: ${res.status} ${JSON.stringify(res.body)}`);
    const ready = await waitFor(
      'three brokers running and registered',
      async () => {
        const bs = await brokers(s);
        return bs.length === BROKERS && bs.every((b) => b.state === 'running' && b.ready) ? bs : undefined;
      },
      300_000,
      100,
    );
    // The API shows a task ready as soon as the core decided it; the timeline entry follows once the decision
    // is persisted and its actions run.
    await waitFor('the readiness entries on the timeline', () => (ready.every((b) => b.taskId !== undefined && rec.readyOf(b.taskId) !== undefined) ? true : undefined), 10_000, 20);
    const deploy = ready.map((b): DeployRow => {
      const taskId = b.taskId;
      if (taskId === undefined) throw new Error(`broker ${b.id} has no task id`);
      const sandbox = sandboxOf(workDir, taskId);
      if (sandbox === undefined) throw new Error(`no sandbox for broker ${b.id}'s task ${taskId}`);
      const accept = need(rec.acceptOf(taskId), `broker ${b.id}'s ACCEPT`);
      const running = need(statusTimes(simNow, taskId).get('TASK_RUNNING'), `broker ${b.id}'s TASK_RUNNING`);
      const started = need(serverStartedAt(sandbox), `broker ${b.id}'s "Kafka Server started"`);
      const readyAt = need(rec.readyOf(taskId), `broker ${b.id}'s readiness`);
      return {
        id: b.id,
        offerWait: accept - posted,
        fetch: running - accept,
        jvmStart: started - running,
        format: (formatEndedAt(sandbox) ?? NaN) - running,
        registration: readyAt - started,
        total: readyAt - posted,
      };
    });

    // ---- kill one broker's JVM ----
    const ep = await api(s.apiUrl, 'GET', '/api/v1/endpoints');
    const bootstrap = (ep.body as { bootstrapServers: string[] }).bootstrapServers;
    const topic = await api(s.apiUrl, 'POST', '/api/v1/topics', { name: TOPIC, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    if (topic.status !== 201) throw new Error(`POST /api/v1/topics: ${topic.status} ${JSON.stringify(topic.body)}`);
    await produce(bootstrap, 200);
    admin = new KafkaAdmin({ brokers: bootstrap, clientId: 'kmf-bench' });
    const adminNow = admin;
    await waitFor('every replica in sync before the kill', async () => ((await isrRecovered(adminNow, VICTIM)).ok ? true : undefined), 60_000, 200);
    const victim = ready.find((b) => b.id === VICTIM)!;
    const pid = need(kafkaPid(simNow, victim.agentId!), `broker ${VICTIM}'s JVM pid`);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    // Right after the kill the dead broker still counts as registered and in sync (until its session times
    // out or its relaunch registers): "back" means the relaunched incarnation is in every ISR.
    let shrunk = false;
    const back = await waitFor(
      'the relaunched broker back in the ISR of every partition',
      async () => {
        const v = await isrRecovered(adminNow, VICTIM).catch(() => undefined);
        if (v !== undefined && !v.ok) shrunk = true;
        if (v?.ok !== true) return undefined;
        const t = (await brokers(s)).find((b) => b.id === VICTIM)?.taskId;
        if (t === undefined || t === victim.taskId) return undefined;
        // In sync counts once the new incarnation is there: the ISR was seen without it, or its JVM has started.
        const sandbox = sandboxOf(workDir, t);
        return shrunk || (sandbox !== undefined && serverStartedAt(sandbox) !== undefined) ? t : undefined;
      },
      300_000,
      100,
    );
    const inIsr = Date.now();
    const update = need(rec.updates.find((t) => t >= killed), 'the TASK_FAILED update');
    const accept = need(rec.acceptOf(back), 'the relaunch ACCEPT');
    // The offer the relaunch was made on: the last OFFERS event before the ACCEPT; the REVIVE that asked for it.
    const offer = need(rec.offers.filter((t) => t >= update && t <= accept).at(-1), 'the offer of the relaunch');
    const revive = rec.revives.find((t) => t >= update && t <= offer);
    // The core's steps: `at` of a timeline entry is the start of the decision that made it.
    const failureStep = need(rec.timeline.find((e) => e.taskId === victim.taskId && e.kind === 'failure')?.at, 'the failure entry');
    const launchStep = need(rec.timeline.find((e) => e.taskId === back && e.kind === 'launch')?.at, 'the relaunch entry');
    const running = need(statusTimes(simNow, back).get('TASK_RUNNING'), 'the relaunch TASK_RUNNING');
    const readyAt = await waitFor('the relaunch readiness on the timeline', () => rec.readyOf(back), 30_000, 20);
    const backSandbox = sandboxOf(workDir, back);
    if (backSandbox === undefined) throw new Error(`no sandbox for the relaunched task ${back}`);
    const started = need(serverStartedAt(backSandbox), 'the relaunch "Kafka Server started"');
    // The controller refuses a new incarnation while the dead one's broker session lasts; the broker retries.
    const registered = need(logLineAt(backSandbox, /Successfully registered broker/), 'the relaunch "Successfully registered broker"');
    const refused = logLineAt(backSandbox, /DUPLICATE_BROKER_REGISTRATION/);
    const kill: KillRow = {
      total: inIsr - killed,
      toUpdate: update - killed,
      toAccept: accept - killed,
      toRunning: running - killed,
      toStarted: started - killed,
      toRegistered: registered - killed,
      toFirstRefusal: refused === undefined ? NaN : refused - killed,
      toReady: readyAt - killed,
      updateToAccept: accept - update,
      kmfOwn: (revive === undefined ? 0 : revive - update) + (accept - offer),
      allocator: offer - (revive ?? update),
      queued: failureStep - update,
      decided: launchStep - failureStep,
      persisted: accept - launchStep,
      shrunk,
    };
    // All ready: the last readiness entry (timestamps, not the 100 ms poll of the API above).
    return { deploy, deployTotal: Math.max(...deploy.map((d) => d.total)), kill };
  } finally {
    await admin?.close().catch(() => undefined);
    await scheduler?.shutdown().catch((err: unknown) => console.error('scheduler shutdown:', err));
    await sim?.stop().catch((err: unknown) => console.error('sim stop:', err));
    removeWorkDir();
    process.off('exit', removeWorkDir);
  }
}

const sec = (v: number): string => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : '–');
const msec = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : '–');
const pad = (s: string, w: number): string => s.padStart(w);

function spread(values: number[], fmt: (v: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${fmt(sorted[0] ?? NaN)}  median ${fmt(quantile(sorted, 0.5))}  max ${fmt(sorted.at(-1) ?? NaN)}`;
}

console.log(`kafka-deploy: ${BROKERS} combined KRaft brokers (384 MB heap, serial GC) on the sim, ${ROUNDS} round(s); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} cores`);
const zk = await startZooKeeper();
const deployRows: DeployRow[] = [];
const deployTotals: number[] = [];
const killRows: KillRow[] = [];
try {
  for (let n = 1; n <= ROUNDS; n++) {
    const r = await round(zk.connectString, n);
    deployRows.push(...r.deploy);
    deployTotals.push(r.deployTotal);
    killRows.push(r.kill);
    console.log(`\nround ${n}: POST /api/v1/brokers → all ${BROKERS} ready ${sec(r.deployTotal)}`);
    const cols = ['broker', 'offer wait', 'fetch', 'JVM start', '(format)', 'registration', 'total'];
    console.log(`  ${cols.map((c) => pad(c, 12)).join(' ')}`);
    for (const b of r.deploy) {
      console.log(`  ${[String(b.id), sec(b.offerWait), sec(b.fetch), sec(b.jvmStart), sec(b.format), sec(b.registration), sec(b.total)].map((c) => pad(c, 12)).join(' ')}`);
    }
    const k = r.kill;
    console.log(
      `  broker ${VICTIM} SIGKILLed → back in every ISR ${sec(k.total)}  (TASK_FAILED at scheduler +${msec(k.toUpdate)}, ACCEPT +${msec(k.toAccept)}, ` +
        `RUNNING +${msec(k.toRunning)}, Kafka Server started +${msec(k.toStarted)}, ready +${msec(k.toReady)}${k.shrunk ? '' : '; the ISR was never seen shrunk'})`,
    );
    console.log(`  TASK_FAILED → relaunch ACCEPT ${msec(k.updateToAccept)}: kmf's own ${msec(k.kmfOwn)}, waiting for the allocator's offer ${msec(k.allocator)}`);
    console.log(
      `    relaunched JVM: first registration attempt refused (DUPLICATE_BROKER_REGISTRATION) +${msec(k.toFirstRefusal)}, registered +${msec(k.toRegistered)}`,
    );
    console.log(`    queued ${msec(k.queued)}, failure step → relaunch decision ${msec(k.decided)}, decision → ACCEPT (persist + call) ${msec(k.persisted)}`);
  }
} finally {
  await zk.stop();
}

console.log(`\nover ${ROUNDS} round(s) (${deployRows.length} broker deploys):`);
console.log(`  deploy total (POST → all ready)   ${spread(deployTotals, sec)}`);
for (const [key, label] of [
  ['offerWait', 'offer wait (POST → ACCEPT)'],
  ['fetch', 'fetch (ACCEPT → RUNNING)'],
  ['jvmStart', 'JVM start (RUNNING → started)'],
  ['format', '  of which storage format'],
  ['registration', 'registration (→ ready)'],
  ['total', 'per broker (POST → ready)'],
] as const) {
  console.log(`  ${label.padEnd(34)} ${spread(deployRows.map((r) => r[key]), sec)}`);
}
console.log(`  kill → back in every ISR           ${spread(killRows.map((r) => r.total), sec)}`);
console.log(`  kill → relaunch registered         ${spread(killRows.map((r) => r.toRegistered), sec)}`);
console.log(`  TASK_FAILED → relaunch ACCEPT      ${spread(killRows.map((r) => r.updateToAccept), msec)}`);
console.log(`  of which kmf's own                 ${spread(killRows.map((r) => r.kmfOwn), msec)}   (target < 100 ms)`);
console.log(`  of which the allocator's offer     ${spread(killRows.map((r) => r.allocator), msec)}`);
console.log(`  decision → ACCEPT (persist + call) ${spread(killRows.map((r) => r.persisted), msec)}`);
console.log(`load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
