/**
 * Launch throughput and memory of `kmf mesos-sim` with synthetic agents.
 *
 * 1. Throughput: starts `kmf mesos-sim --synthetic` with 1,000 agents in its own process; a minimal
 *    scheduler here (undici + the wire codecs) launches as many tasks as it can for a fixed time and
 *    acknowledges every update. A launch counts once its task was accepted, reported RUNNING and that
 *    update acknowledged. The sim's CPU time per launch is printed too: on a shared machine the wall-clock
 *    rate depends on what else runs, CPU per launch does not.
 * 2. Memory: a fresh sim with 1,000 agents gets exactly 10,000 running tasks; then its RSS is read
 *    (GET /sim/v1/metrics).
 *
 * Usage: node --import tsx bench/sim-launch.ts [--agents 1000] [--seconds 10] [--tasks-for-rss 10000]
 *        [--per-offer 10] [--running-delay-ms 20] [--max-pending 3000]
 * Prints figures; never fails on them. SIM_NODE_ARGS="--cpu-prof" (say) passes node flags to the sim process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, Pool, request } from 'undici';
import { decodeEvent, encodeCall } from '../src/mesos/codec.js';
import { RecordIODecoder } from '../src/mesos/recordio.js';
import type { Call, Offer, TaskStatus } from '../src/mesos/types.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    'tasks-for-rss': { type: 'string', default: '10000' },
    'per-offer': { type: 'string', default: '10' },
    'running-delay-ms': { type: 'string', default: '20' },
    'max-pending': { type: 'string', default: '3000' },
  },
});
const AGENTS = Number(values.agents);
const SECONDS = Number(values.seconds);
const RSS_TASKS = Number(values['tasks-for-rss']);
const PER_OFFER = Number(values['per-offer']);
const RUNNING_DELAY = Number(values['running-delay-ms']);
/** Launched tasks not yet RUNNING-and-acknowledged: a scheduler that floods the master only measures its queue. */
const MAX_PENDING = Number(values['max-pending']);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startSim(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env['SIM_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
        '--import',
        'tsx',
        path.join(root, 'src/cli/main.ts'),
        'mesos-sim',
        '--port',
        '0',
        '--agents',
        String(AGENTS),
        '--synthetic',
        '--synthetic-delay',
        String(RUNNING_DELAY),
        '--agent-addresses',
        'shared',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KMF_LOG_LEVEL: 'warn' } },
    );
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve({ child, url: line.trim() });
    });
    child.on('exit', (code) => reject(new Error(`mesos-sim exited with ${String(code)} before printing its URL`)));
    child.on('error', reject);
  });
}

async function stopSim(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** user+sys CPU seconds of a process, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A minimal scheduler: holds offers, launches batches while there is room, acknowledges everything. */
class BenchScheduler {
  readonly launchedAt = new Map<string, number>();
  readonly runningAt = new Map<string, number>();
  launched = 0;
  callErrors = 0;
  private limit = 0;
  private frameworkId = '';
  private streamId = '';
  private inFlight = 0;
  private held: Offer[] = [];
  private readonly calls: Pool;
  private readonly streamAgent = new Agent({ bodyTimeout: 0 });
  private stream: { destroy: () => void } | undefined;

  constructor(private readonly url: string) {
    this.calls = new Pool(url, { connections: 8, pipelining: 16 });
  }

  get running(): number {
    return this.runningAt.size;
  }

  async subscribe(): Promise<void> {
    const res = await request(`${this.url}/api/v1/scheduler`, {
      method: 'POST',
      dispatcher: this.streamAgent,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: encodeCall({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'bench', name: 'sim-launch', failover_timeout: 0 } } }, 'application/json'),
    });
    this.streamId = String(res.headers['mesos-stream-id']);
    this.stream = res.body;
    const decoder = new RecordIODecoder();
    let subscribed: () => void = () => undefined;
    const done = new Promise<void>((r) => (subscribed = r));
    res.body.on('data', (chunk: Buffer) => {
      for (const record of decoder.push(chunk)) {
        const event = decodeEvent(record, 'application/json');
        if (event.type === 'SUBSCRIBED') {
          this.frameworkId = event.subscribed.framework_id.value;
          subscribed();
        } else if (event.type === 'OFFERS') {
          this.held.push(...(event.offers.offers ?? []));
          this.launchFromHeld();
        } else if (event.type === 'UPDATE') {
          this.onUpdate(event.update.status);
        }
      }
    });
    res.body.on('error', () => undefined);
    await done;
  }

  /** Launch up to `total` tasks in all (as room and offers allow). */
  launchUpTo(total: number): void {
    this.limit = total;
    this.launchFromHeld();
  }

  stopLaunching(): void {
    this.limit = this.launched;
    const ids = this.held.splice(0).map((o) => o.id);
    // No filter: the agents come back on the next allocation.
    if (ids.length > 0) this.send({ type: 'DECLINE', decline: { offer_ids: ids, filters: { refuse_seconds: 0 } } });
  }

  private send(call: Call): void {
    this.inFlight++;
    this.calls
      .request({
        path: '/api/v1/scheduler',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'mesos-stream-id': this.streamId },
        body: encodeCall({ ...call, framework_id: { value: this.frameworkId } }, 'application/json'),
      })
      .then(async (res) => {
        await res.body.text();
        if (res.statusCode !== 202) this.callErrors++;
      })
      .catch(() => {
        this.callErrors++;
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  private launchFromHeld(): void {
    while (this.held.length > 0) {
      const left = this.limit - this.launched;
      const room = Math.min(PER_OFFER, left, MAX_PENDING - (this.launched - this.running));
      // Whole batches (one ACCEPT per PER_OFFER tasks), except for the last few of a target.
      if (room <= 0 || (room < PER_OFFER && room < left)) return;
      const offer = this.held.shift();
      if (offer === undefined) return;
      const now = Date.now();
      const infos = [];
      for (let i = 0; i < room; i++) {
        const id = `t${this.launched++}`;
        this.launchedAt.set(id, now);
        infos.push({
          name: id,
          task_id: { value: id },
          agent_id: offer.agent_id,
          resources: [
            { name: 'cpus', type: 'SCALAR' as const, scalar: { value: 0.01 } },
            { name: 'mem', type: 'SCALAR' as const, scalar: { value: 1 } },
          ],
          command: { value: 'synthetic' },
        });
      }
      this.send({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: infos } }], filters: { refuse_seconds: 0 } } });
    }
  }

  private onUpdate(status: TaskStatus): void {
    if (status.uuid !== undefined) {
      this.send({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id ?? { value: '' }, task_id: status.task_id, uuid: status.uuid } });
    }
    const id = status.task_id.value;
    if (status.state === 'TASK_RUNNING' && !this.runningAt.has(id)) {
      // Counted when its ACK is sent: the RUNNING round trip is what a launch costs.
      this.runningAt.set(id, Date.now());
      this.launchFromHeld();
    }
  }

  async idle(): Promise<void> {
    while (this.inFlight > 0) await sleep(20);
  }

  async close(): Promise<void> {
    this.send({ type: 'TEARDOWN' });
    await this.idle();
    this.stream?.destroy();
    await this.calls.close();
    await this.streamAgent.close().catch(() => undefined);
  }
}

async function throughput(): Promise<void> {
  const startedAt = Date.now();
  const { child, url } = await startSim();
  const bootMs = Date.now() - startedAt;
  try {
    const s = new BenchScheduler(url);
    await s.subscribe();
    const simCpuStart = cpuSeconds(child.pid);
    const benchCpuStart = process.cpuUsage();
    const windowStart = Date.now();
    s.launchUpTo(Number.MAX_SAFE_INTEGER);
    await sleep(SECONDS * 1000);
    const windowEnd = Date.now();
    s.stopLaunching();
    const launched = s.launched;
    const drainDeadline = Date.now() + 20_000;
    while (s.running < launched && Date.now() < drainDeadline) await sleep(50);
    await s.idle();
    const simCpu = (cpuSeconds(child.pid) ?? 0) - (simCpuStart ?? 0);
    const benchUsage = process.cpuUsage(benchCpuStart);
    const benchCpu = (benchUsage.user + benchUsage.system) / 1e6;

    let inWindow = 0;
    const latencies: number[] = [];
    for (const [id, at] of s.runningAt) {
      if (at <= windowEnd) inWindow++;
      latencies.push(at - (s.launchedAt.get(id) ?? at));
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const seconds = (windowEnd - windowStart) / 1000;
    console.log(`sim-launch: ${AGENTS} synthetic agents up in ${(bootMs / 1000).toFixed(1)} s (process start included)`);
    console.log(
      `sim-launch: ${inWindow} tasks accepted → RUNNING → acknowledged in ${seconds.toFixed(1)} s = ${Math.round(inWindow / seconds)} launches/s` +
        ` (launched ${launched}; launch → RUNNING ack p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; failed calls ${s.callErrors})`,
    );
    if (simCpuStart !== undefined) {
      console.log(
        `sim-launch: CPU per launched task: sim ${((simCpu * 1000) / Math.max(1, s.running)).toFixed(3)} ms, scheduler ${((benchCpu * 1000) / Math.max(1, s.running)).toFixed(3)} ms` +
          ` (one core of sim CPU sustains ~${Math.round(s.running / Math.max(0.001, simCpu))} launches/s); load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} cores`,
      );
    }
    await s.close();
  } finally {
    await stopSim(child);
  }
}

async function memory(): Promise<void> {
  const { child, url } = await startSim();
  try {
    const s = new BenchScheduler(url);
    await s.subscribe();
    s.launchUpTo(RSS_TASKS);
    const deadline = Date.now() + 120_000;
    while (s.running < RSS_TASKS && Date.now() < deadline) await sleep(100);
    s.stopLaunching();
    await s.idle();
    await sleep(1000);
    const res = await request(`${url}/sim/v1/metrics`);
    const metrics = (await res.body.json()) as { rssBytes: number; heapUsedBytes: number; agents: number; tasks: number };
    console.log(
      `sim-launch: master RSS ${(metrics.rssBytes / 1024 / 1024).toFixed(1)} MB (heap ${(metrics.heapUsedBytes / 1024 / 1024).toFixed(1)} MB) with ${metrics.agents} agents and ${metrics.tasks} running tasks`,
    );
    await s.close();
  } finally {
    await stopSim(child);
  }
}

async function main(): Promise<void> {
  await throughput();
  if (RSS_TASKS > 0) await memory();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
