/**
 * What the Streams integration tests share: a real ZooKeeper, the sim (one agent: every task on one host, so
 * no two tasks can be offered the same port), a kmf scheduler in this process with one real Kafka broker it
 * deployed itself, the example wordcount app's spec, a producer, and a read_committed reader of the output
 * topic that keeps every value it saw per word.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import kafkajs from 'kafkajs';
import type { SimCluster } from '../../src/sim/cluster.js';
import { api, API_TOKEN, chroot, ROOT, startInProcess, startSim, waitFor, waitReady, type SchedulerHandle } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

export interface StreamsEnv {
  zk: ZooKeeperServer;
  sim: SimCluster;
  scheduler: SchedulerHandle;
  bootstrap: string[];
  stop(): Promise<void>;
}

/** ZooKeeper, the sim, a scheduler, and one broker (small heap, one-partition internal topics). */
export async function startStreamsEnv(name: string): Promise<StreamsEnv> {
  const zk = await startZooKeeper();
  const stops: Array<() => Promise<void>> = [() => zk.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const sim = await startSim({ agents: 1, resources: 'cpus:16;mem:16384;disk:20000;ports:[36100-36199]' });
    stops.push(() => sim.stop());
    const scheduler = await startInProcess(`${zk.connectString}${chroot(name)}`, sim.masterUrl);
    stops.push(() => scheduler.shutdown());
    await waitReady(scheduler.apiUrl);
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', {
      count: 1,
      cpus: 0.5,
      mem: 768,
      heap: 320,
      disk: 1000,
      jvmOpts: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1',
      options: { 'offsets.topic.num.partitions': '1', 'transaction.state.log.num.partitions': '1', 'group.initial.rebalance.delay.ms': '0' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(
      'the broker running and registered',
      async () => {
        const bs = (await api(scheduler.apiUrl, 'GET', '/api/v1/brokers')).body.brokers as Array<{ state: string; ready: boolean }>;
        return bs.length === 1 && bs.every((b) => b.state === 'running' && b.ready) ? true : undefined;
      },
      150_000,
      500,
    );
    const bootstrap = (await api(scheduler.apiUrl, 'GET', '/api/v1/endpoints')).body.bootstrapServers as string[];
    assert.ok(bootstrap.length > 0);
    return { zk, sim, scheduler, bootstrap, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function createTopics(env: StreamsEnv, topics: Array<{ name: string; partitions: number }>): Promise<void> {
  for (const t of topics) {
    const r = await api(env.scheduler.apiUrl, 'POST', '/api/v1/topics', { name: t.name, partitions: t.partitions, replicationFactor: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}

/** The example app as a streams app spec (JVM sized for a 2-core machine shared with others). */
export function wordcountSpec(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: 'streams',
    applicationId: `${name}-app`,
    artifact: 'wordcount-1.0.jar',
    mainClass: 'io.kmf.examples.WordCount',
    instances: 2,
    cpus: 0.5,
    mem: 512,
    heap: 192,
    jvmOpts: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ActiveProcessorCount=1',
    env: { IN_TOPIC: 'words-in', OUT_TOPIC: 'word-counts', REPLICATION_FACTOR: '1' },
    streamsConfig: { 'commit.interval.ms': '100', 'session.timeout.ms': '10000' },
    killGracePeriodSeconds: 20,
    ...over,
  };
}

// ---- data --------------------------------------------------------------------------------------------------

const VOCABULARY = ['kafka', 'mesos', 'zookeeper', 'stream', 'état', 'count', 'exactly', 'once', 'x1', '42', 'alpha', 'beta', 'gamma', 'delta'];

/** Deterministic lines of 1 to 6 words, mixed case and separators. */
export function makeLines(n: number, seed: number): string[] {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s;
  };
  return Array.from({ length: n }, () => {
    const len = 1 + (next() % 6);
    const words = Array.from({ length: len }, () => VOCABULARY[next() % VOCABULARY.length]!);
    return (next() % 3 === 0 ? words.map((w) => w.toUpperCase()) : words).join(next() % 2 === 0 ? ' ' : ', ');
  });
}

/** The app's split: lower-case, split on everything that is not a letter or a digit. */
export function countWords(lines: readonly string[], into = new Map<string, number>()): Map<string, number> {
  for (const line of lines) {
    for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w !== '') into.set(w, (into.get(w) ?? 0) + 1);
  }
  return into;
}

export class Producer {
  private readonly producer;
  private seq = 0;
  readonly sent: string[] = [];

  constructor(bootstrap: string[]) {
    this.producer = new Kafka({ clientId: 'streams-test-producer', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 20 } }).producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Sends lines (keys spread them over the partitions), acks=all. */
  async send(lines: readonly string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += 200) {
      const batch = lines.slice(i, i + 200);
      await this.producer.send({ topic: 'words-in', acks: -1, messages: batch.map((value) => ({ key: String(this.seq++), value })) });
      this.sent.push(...batch);
    }
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Reads word-counts with read_committed from the beginning, keeping every value per word and arrival times. */
export class OutputReader {
  readonly latest = new Map<string, string>();
  readonly history = new Map<string, string[]>();
  /** Per output partition, the arrival times (ms) of its records. */
  readonly arrivals = new Map<number, number[]>();
  private readonly consumer;

  constructor(bootstrap: string[], groupId: string) {
    this.consumer = new Kafka({ clientId: 'streams-test-reader', brokers: bootstrap, logLevel: logLevel.NOTHING }).consumer({ groupId, readUncommitted: false });
  }

  async start(topic = 'word-counts'): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: ({ partition, message }) => {
        const word = message.key?.toString('utf8') ?? '';
        const value = message.value?.toString('utf8') ?? '';
        this.latest.set(word, value);
        this.history.set(word, [...(this.history.get(word) ?? []), value]);
        this.arrivals.set(partition, [...(this.arrivals.get(partition) ?? []), Date.now()]);
        return Promise.resolve();
      },
    });
  }

  /** The first arrival after `t` in every partition that has received anything, or undefined if one has none yet. */
  firstArrivalsAfter(t: number): Map<number, number> | undefined {
    const out = new Map<number, number>();
    for (const [p, times] of this.arrivals) {
      const first = times.find((x) => x > t);
      if (first === undefined) return undefined;
      out.set(p, first);
    }
    return out;
  }

  /**
   * When output flowed again after a disruption at `t`: per partition, the arrival that ends the longest pause
   * in its arrivals from shortly before `t` on; the latest of those over the partitions. (The reader itself
   * lags a little, so a pause is looked for rather than the first record after `t`.)
   */
  resumedAfter(t: number): number | undefined {
    let latest: number | undefined;
    for (const times of this.arrivals.values()) {
      const before = times.filter((x) => x <= t - 2_000).at(-1);
      const window = [...(before === undefined ? [] : [before]), ...times.filter((x) => x > t - 2_000)];
      if (window.length < 2) return undefined;
      let best = { gap: -1, end: window[1]! };
      for (let i = 1; i < window.length; i++) {
        const gap = window[i]! - window[i - 1]!;
        if (gap > best.gap) best = { gap, end: window[i]! };
      }
      latest = Math.max(latest ?? 0, best.end);
    }
    return latest;
  }

  /** Differences between what was read and `expected` (empty: exact). */
  diff(expected: ReadonlyMap<string, number>): string[] {
    const out: string[] = [];
    for (const [w, n] of expected) if (this.latest.get(w) !== String(n)) out.push(`${w}: want ${n}, have ${this.latest.get(w) ?? '-'}`);
    for (const w of this.latest.keys()) if (!expected.has(w)) out.push(`${w}: not expected`);
    return out;
  }

  /** Every word's values strictly increase: a record processed twice would repeat or step back a count. */
  notMonotonic(): string[] {
    const out: string[] = [];
    for (const [w, values] of this.history) {
      const nums = values.map(Number);
      for (let i = 1; i < nums.length; i++) {
        if (!(nums[i]! > nums[i - 1]!)) {
          out.push(`${w}: ${values.slice(Math.max(0, i - 3), i + 2).join(' → ')}`);
          break;
        }
      }
    }
    return out;
  }

  /** Waits until the latest counts equal `expected`, then that nothing else arrives for `quietMs`. */
  async waitExact(expected: ReadonlyMap<string, number>, timeoutMs: number, quietMs = 3_000): Promise<void> {
    await waitFor(`the exact counts (${this.diff(expected).slice(0, 5).join('; ')})`, () => (this.diff(expected).length === 0 ? true : undefined), timeoutMs, 250);
    await new Promise((r) => setTimeout(r, quietMs));
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

// ---- the app through the API -------------------------------------------------------------------------------

export interface InstanceInfo {
  index: number;
  unit: string;
  state: string;
  taskId?: string;
  taskState?: string;
  ready?: boolean;
}

export async function appView(env: StreamsEnv, name: string): Promise<{ spec: Record<string, unknown>; instances: InstanceInfo[]; status: string; streams?: Record<string, unknown> }> {
  const r = await api(env.scheduler.apiUrl, 'GET', `/api/v1/apps/${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.app;
}

/** Waits until exactly `n` instances run, each ready (its Streams state RUNNING). */
export async function waitInstancesReady(env: StreamsEnv, name: string, n: number, timeoutMs: number, extra: (i: InstanceInfo[]) => boolean = () => true): Promise<InstanceInfo[]> {
  return waitFor(
    `${n} ready instance(s) of ${name}`,
    async () => {
      const v = await appView(env, name);
      const live = v.instances.filter((i) => i.taskState === 'TASK_RUNNING');
      return v.instances.length === n && live.length === n && live.every((i) => i.ready === true && i.state === 'running') && extra(v.instances) ? v.instances : undefined;
    },
    timeoutMs,
    500,
  );
}

/** The JVM of instance `index` of app `name`: a process of the sim agent whose environment names it. */
export function instancePid(env: StreamsEnv, name: string, index: number): number | undefined {
  const groups = new Set(env.sim.agentSummaries().flatMap((a) => a.pids));
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (!groups.has(pgid)) continue;
      if (!fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('io.kmf.examples.WordCount')) continue;
      const vars = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (vars.includes(`KMF_APP=${name}`) && vars.includes(`KMF_INSTANCE=${index}`)) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

export async function timelineSince(env: StreamsEnv, since: number): Promise<Array<{ at: number; kind: string; message: string; unit?: string }>> {
  const out: Array<{ at: number; kind: string; message: string; unit?: string }> = [];
  for (let after = 0; ; ) {
    const r = await api(env.scheduler.apiUrl, 'GET', `/api/v1/events?limit=1000&since=${since}&after=${after}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = r.body.entries as Array<{ seq: number; at: number; kind: string; message: string; unit?: string }>;
    out.push(...page);
    if (page.length < 1000) return out;
    after = page.at(-1)!.seq;
  }
}

/** Runs the real `kmf` CLI against the scheduler; resolves with its exit code and output. */
export function kmf(env: StreamsEnv, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kmf.js'), ...args],
      { env: { ...clean, KMF_API_URL: env.scheduler.apiUrl, KMF_API_TOKEN: API_TOKEN }, cwd: ROOT, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
