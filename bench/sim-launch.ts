/**
 * Launch throughput and memory of `kmf mesos-sim` with synthetic agents.
 *
 * Starts `kmf mesos-sim --synthetic` with 1,000 agents in its own process, then a minimal scheduler here
 * (undici + the wire codecs) launches as many tasks as it can for a fixed time, acknowledging every
 * update. A launch counts once its task was accepted, reported RUNNING and that update acknowledged.
 * Then it tops the cluster up to 10,000 running tasks and reads the sim process's RSS.
 *
 * Usage: node --import tsx bench/sim-launch.ts [--agents 1000] [--seconds 10] [--tasks-for-rss 10000]
 *        [--per-offer 10] [--running-delay-ms 20] [--max-pending 3000]
 * Prints figures; never fails on them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
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

interface TaskTimes {
  launchedAt: number;
  runningAckedAt?: number;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const { child, url } = await startSim();
  const bootMs = Date.now() - startedAt;
  const calls = new Pool(url, { connections: 8, pipelining: 16 });
  const streamAgent = new Agent({ bodyTimeout: 0 });
  const tasks = new Map<string, TaskTimes>();
  let frameworkId = '';
  let streamId = '';
  let nextTask = 0;
  let launching = true;
  let launchLimit = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let windowStart = 0;
  let inFlight = 0;
  let callErrors = 0;
  let runningCount = 0;
  let subscribed: () => void = () => undefined;
  const subscribedP = new Promise<void>((r) => (subscribed = r));

  const send = (call: Call): void => {
    inFlight++;
    calls
      .request({
        path: '/api/v1/scheduler',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'mesos-stream-id': streamId },
        body: encodeCall({ ...call, framework_id: { value: frameworkId } }, 'application/json'),
      })
      .then(async (res) => {
        await res.body.text();
        if (res.statusCode !== 202) callErrors++;
      })
      .catch(() => {
        callErrors++;
      })
      .finally(() => {
        inFlight--;
      });
  };

  // Offers are held and used as room frees up (a real scheduler does the same), so the launch rate is
  // not tied to the allocation interval.
  const held: Offer[] = [];
  const launchFromHeld = (): void => {
    while (launching && held.length > 0) {
      const room = Math.min(PER_OFFER, launchLimit - nextTask, MAX_PENDING - (nextTask - runningCount));
      // Launch in whole batches (one ACCEPT per PER_OFFER tasks), except for the last few of a target.
      if (room <= 0 || (room < PER_OFFER && room < launchLimit - nextTask)) return;
      const offer = held.shift();
      if (offer === undefined) return;
      const now = Date.now();
      const infos = [];
      for (let i = 0; i < room; i++) {
        const id = `t${nextTask++}`;
        tasks.set(id, { launchedAt: now });
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
      send({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: infos } }], filters: { refuse_seconds: 0 } } });
    }
  };
  const declineHeld = (): void => {
    const ids = held.splice(0).map((o) => o.id);
    // No filter: the agents come back on the next allocation.
    if (ids.length > 0) send({ type: 'DECLINE', decline: { offer_ids: ids, filters: { refuse_seconds: 0 } } });
  };
  const onOffers = (offers: Offer[]): void => {
    held.push(...offers);
    if (launching) launchFromHeld();
    else declineHeld();
  };

  const onUpdate = (status: TaskStatus): void => {
    if (status.uuid !== undefined) {
      send({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id ?? { value: '' }, task_id: status.task_id, uuid: status.uuid } });
    }
    if (status.state === 'TASK_RUNNING') {
      const t = tasks.get(status.task_id.value);
      if (t !== undefined && t.runningAckedAt === undefined) {
        // Counted when the ACK is sent; the RUNNING round trip is what a launch costs.
        t.runningAckedAt = Date.now();
        runningCount++;
        launchFromHeld();
      }
    }
  };

  const subscribe = await request(`${url}/api/v1/scheduler`, {
    method: 'POST',
    dispatcher: streamAgent,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: encodeCall({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'bench', name: 'sim-launch', failover_timeout: 0 } } }, 'application/json'),
  });
  streamId = String(subscribe.headers['mesos-stream-id']);
  const decoder = new RecordIODecoder();
  subscribe.body.on('data', (chunk: Buffer) => {
    for (const record of decoder.push(chunk)) {
      const event = decodeEvent(record, 'application/json');
      switch (event.type) {
        case 'SUBSCRIBED':
          frameworkId = event.subscribed.framework_id.value;
          subscribed();
          break;
        case 'OFFERS':
          onOffers(event.offers.offers ?? []);
          break;
        case 'UPDATE':
          onUpdate(event.update.status);
          break;
        default:
          break;
      }
    }
  });
  subscribe.body.on('error', () => undefined);
  await subscribedP;

  // Phase 1: launch for a fixed time.
  const simCpuStart = cpuSeconds(child.pid);
  const benchCpuStart = process.cpuUsage();
  windowStart = Date.now();
  windowEnd = windowStart + SECONDS * 1000;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  launching = false;
  declineHeld();
  const launchedInWindow = nextTask;
  // Let launched tasks finish their round trip.
  const drainDeadline = Date.now() + 15_000;
  while (runningCount < launchedInWindow && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 50));
  const simCpu = (cpuSeconds(child.pid) ?? 0) - (simCpuStart ?? 0);
  const benchCpuUsage = process.cpuUsage(benchCpuStart);
  const benchCpu = (benchCpuUsage.user + benchCpuUsage.system) / 1e6;
  const completedInWindow = [...tasks.values()].filter((t) => t.runningAckedAt !== undefined && t.runningAckedAt <= windowEnd).length;
  const latencies = [...tasks.values()]
    .filter((t) => t.runningAckedAt !== undefined)
    .map((t) => (t.runningAckedAt ?? 0) - t.launchedAt)
    .sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;

  // Phase 2: top up to the RSS target.
  if (nextTask < RSS_TASKS) {
    launchLimit = RSS_TASKS;
    launching = true;
    const deadline = Date.now() + 60_000;
    while (runningCount < RSS_TASKS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    launching = false;
    declineHeld();
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 1000));
  const metricsRes = await request(`${url}/sim/v1/metrics`);
  const metrics = (await metricsRes.body.json()) as { rssBytes: number; heapUsedBytes: number; agents: number; tasks: number };

  console.log(`sim-launch: ${AGENTS} synthetic agents up in ${(bootMs / 1000).toFixed(1)} s (process start included)`);
  console.log(
    `sim-launch: ${completedInWindow} tasks accepted → RUNNING → acknowledged in ${SECONDS} s = ${Math.round(completedInWindow / SECONDS)} launches/s` +
      ` (launched ${launchedInWindow}; launch→RUNNING ack p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; call errors ${callErrors})`,
  );
  if (simCpuStart !== undefined) {
    console.log(
      `sim-launch: CPU per launched task: sim ${((simCpu * 1000) / Math.max(1, runningCount)).toFixed(3)} ms, scheduler ${((benchCpu * 1000) / Math.max(1, runningCount)).toFixed(3)} ms` +
        ` (one core of sim CPU sustains ~${Math.round(runningCount / Math.max(0.001, simCpu))} launches/s); load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${cpus().length} cores`,
    );
  }
  console.log(
    `sim-launch: master RSS ${(metrics.rssBytes / 1024 / 1024).toFixed(1)} MB (heap ${(metrics.heapUsedBytes / 1024 / 1024).toFixed(1)} MB) with ${metrics.agents} agents and ${metrics.tasks} tasks`,
  );

  send({ type: 'TEARDOWN' });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  subscribe.body.destroy();
  await calls.close();
  await streamAgent.close().catch(() => undefined);
  await stopSim(child);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
