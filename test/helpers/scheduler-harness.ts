/**
 * Helpers for the scheduler's integration tests: a real ZooKeeper, the sim (in this process, through its
 * TypeScript API), `kmf scheduler` either in-process (`startScheduler`) or as a real child process
 * (`node bin/kmf.js scheduler …`, for kill -9 and failover), an admin API client, and a watcher that
 * samples the sim's tasks and records any moment with two live tasks for one unit.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { isLiveState } from '../../src/core/state.js';
import type { TaskState } from '../../src/mesos/types.js';
import { startScheduler, type SchedulerConfig, type SchedulerHandle } from '../../src/runtime/scheduler-main.js';
import { SimCluster, type SimClusterOptions } from '../../src/sim/cluster.js';
import { testLogger } from '../../src/util/log.js';
import { freePortRange } from './ports.js';
import { spawnManaged, type ManagedProcess } from './processes.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const API_TOKEN = 'test-admin-token-0123456789';
export const READ_TOKEN = 'test-read-token-0123456789';
export const ROLE = 'kmf';

/** Short timings for tests (seconds for the CLI flags). */
export const FAST = {
  zkSessionTimeoutS: 2,
  permanentFailureTimeoutS: 4,
  unreachableLimitS: 2,
  backoffInitialS: 0.2,
  backoffMaxS: 1,
  reviveIntervalS: 0.2,
  launchTimeoutS: 60,
};

/**
 * The sim for a test. The `ports:[a-b]` of `resources` only gives the range's size: the agents get that many
 * consecutive ports that are free right now on every agent address, so tests never depend on a fixed range
 * being free (another test run, a sandbox, or an outgoing connection holding one).
 */
export async function startSim(opts: Partial<SimClusterOptions> = {}): Promise<SimCluster> {
  const agents = opts.agents ?? 3;
  const resources = await withFreePortRange(opts.resources ?? 'cpus:2;mem:2048;disk:4000;ports:[31000-31100]', agents);
  return SimCluster.start({
    logger: testLogger('sim'),
    port: 0,
    agents: 3,
    allocationIntervalMs: 200,
    heartbeatIntervalSeconds: 1,
    agentPingTimeoutMs: 1_000,
    statusUpdateRetry: { initialMs: 500, maxMs: 2_000 },
    ...opts,
    resources,
  });
}

/** `resources` with its port range moved to a free one of the same size (agent n binds 127.0.0.(n+2) on Linux). */
export async function withFreePortRange(resources: string, agents: number): Promise<string> {
  const m = /ports:\[(\d+)-(\d+)\]/.exec(resources);
  if (m === null) return resources;
  const count = Number(m[2]) - Number(m[1]) + 1;
  const hosts = ['127.0.0.1', ...(process.platform === 'linux' ? Array.from({ length: agents }, (_, i) => `127.0.0.${i + 2}`) : [])];
  const range = await freePortRange(count, hosts);
  return resources.replace(m[0], `ports:[${range.begin}-${range.end}]`);
}

/** A unique chroot per test so tests sharing a ZooKeeper never see each other's state. */
let chrootCounter = 0;
export function chroot(name: string): string {
  chrootCounter += 1;
  return `/kmf-test-${name}-${process.pid}-${chrootCounter}`;
}

export function inProcessConfig(zk: string, master: string, overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return {
    master,
    zk,
    api: { host: '127.0.0.1', port: 0 },
    framework: { name: 'kmf-test', role: ROLE, user: os.userInfo().username, failoverTimeoutSeconds: 3600 },
    zkSessionTimeoutMs: FAST.zkSessionTimeoutS * 1000,
    coreConfig: {
      permanentFailureAfterMs: FAST.permanentFailureTimeoutS * 1000,
      unreachableLimitMs: FAST.unreachableLimitS * 1000,
      reviveMinIntervalMs: FAST.reviveIntervalS * 1000,
      declineShortSeconds: 1,
      backoff: { firstMs: 0, initialMs: FAST.backoffInitialS * 1000, factor: 2, maxMs: FAST.backoffMaxS * 1000, jitter: 0.2 },
      reconcile: { initialMs: 500, factor: 2, maxMs: 2_000, maxDurationMs: 30_000, intervalMs: 60_000 },
    },
    auth: { adminToken: API_TOKEN, readToken: READ_TOKEN, insecureNoAuth: false },
    logger: testLogger('scheduler'),
    onFatal: (err) => {
      throw err instanceof Error ? err : new Error(String(err));
    },
    ...overrides,
  };
}

export function startInProcess(zk: string, master: string, overrides: Partial<SchedulerConfig> = {}): Promise<SchedulerHandle> {
  return startScheduler(inProcessConfig(zk, master, overrides));
}

export interface SchedulerProcess {
  readonly process: ManagedProcess;
  readonly apiUrl: string;
}

/** `node bin/kmf.js scheduler …` with the test timings; resolves once its API listens. */
export async function spawnScheduler(name: string, zk: string, master: string, extraArgs: string[] = []): Promise<SchedulerProcess> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-sched-'));
  const proc = spawnManaged({
    name,
    command: process.execPath,
    args: [
      path.join(ROOT, 'bin', 'kmf.js'),
      'scheduler',
      '--master',
      master,
      '--zk',
      zk,
      '--api',
      '127.0.0.1:0',
      '--framework-name',
      'kmf-test',
      '--role',
      ROLE,
      '--failover-timeout',
      '3600',
      '--zk-session-timeout',
      String(FAST.zkSessionTimeoutS),
      '--permanent-failure-timeout',
      String(FAST.permanentFailureTimeoutS),
      '--unreachable-limit',
      String(FAST.unreachableLimitS),
      '--backoff-initial',
      String(FAST.backoffInitialS),
      '--backoff-max',
      String(FAST.backoffMaxS),
      '--revive-interval',
      String(FAST.reviveIntervalS),
      '--core-config',
      JSON.stringify({ declineShortSeconds: 1, reconcile: { initialMs: 500, factor: 2, maxMs: 2000, maxDurationMs: 30000, intervalMs: 60000 } }),
      ...extraArgs,
    ],
    env: { ...process.env, KMF_API_TOKEN: API_TOKEN, KMF_API_READ_TOKEN: READ_TOKEN, KMF_LOG_LEVEL: process.env['KMF_TEST_LOG'] ?? 'info' },
    cwd: ROOT,
    logFile: path.join(logDir, `${name}.log`),
  });
  const line = await proc.waitForLine(/^kmf scheduler api (\S+)$/, 60_000);
  const url = /^kmf scheduler api (\S+)$/.exec(line)?.[1];
  assert.ok(url !== undefined);
  return { process: proc, apiUrl: url };
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, read freely by tests
  body: any;
}

export async function api(base: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', p: string, body?: unknown, token: string | null = API_TOKEN): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(new URL(p, base), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers, body: parsed };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr === undefined ? '' : `: ${lastErr instanceof Error ? lastErr.message : JSON.stringify(lastErr)}`}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the instance at `base` leads and is subscribed to Mesos (GET /ready answers 200). */
export async function waitReady(base: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${base} to be ready`, async () => (await api(base, 'GET', '/ready', undefined, null)).status === 200 || undefined, timeoutMs);
}

export interface SimTask {
  taskId: string;
  unit: string;
  agentId: string;
  state: TaskState;
  frameworkId: string;
}

/** Every task the sim's leading master knows, of every framework (live, unreachable, not yet acknowledged). */
export function simTasks(cluster: SimCluster): SimTask[] {
  const out: SimTask[] = [];
  for (const f of cluster.master()?.frameworkRecords() ?? []) {
    for (const t of [...f.tasks.values(), ...f.unreachableTasks.values()]) {
      out.push({ taskId: t.info.task_id.value, unit: t.info.name, agentId: t.agentId, state: t.state, frameworkId: f.id });
    }
  }
  return out;
}

export function liveSimTasks(cluster: SimCluster): SimTask[] {
  return simTasks(cluster).filter((t) => isLiveState(t.state));
}

/** Live tasks per unit. */
export function liveByUnit(cluster: SimCluster): Map<string, SimTask[]> {
  const m = new Map<string, SimTask[]>();
  for (const t of liveSimTasks(cluster)) m.set(t.unit, [...(m.get(t.unit) ?? []), t]);
  return m;
}

/**
 * Samples the sim every `intervalMs` and remembers every moment a unit had two live tasks (UNREACHABLE
 * tasks of a unit already replaced are excluded: they are not running anywhere the master can see).
 */
export class DuplicateWatcher {
  readonly violations: string[] = [];
  private timer: NodeJS.Timeout;
  samples = 0;

  constructor(
    private readonly cluster: SimCluster,
    intervalMs = 50,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    this.samples++;
    for (const [unit, tasks] of liveByUnit(this.cluster)) {
      const running = tasks.filter((t) => t.state !== 'TASK_UNREACHABLE');
      if (running.length > 1) this.violations.push(`${new Date().toISOString()} ${unit}: ${running.map((t) => `${t.taskId}@${t.agentId}:${t.state}`).join(', ')}`);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/**
 * The cluster has converged on the apps: each wanted unit has exactly one live task, RUNNING; no other live
 * task of the framework exists (no orphans). Returns the unit → task map, or undefined if not yet.
 */
export function converged(cluster: SimCluster, wantedUnits: readonly string[], opts: { ignoreUnreachable?: boolean } = {}): Map<string, SimTask> | undefined {
  const byUnit = liveByUnit(cluster);
  if (opts.ignoreUnreachable === true) {
    // Tasks on an agent that is gone: the master keeps them as UNREACHABLE; they run nowhere.
    for (const [u, tasks] of byUnit) {
      const reachable = tasks.filter((t) => t.state !== 'TASK_UNREACHABLE');
      if (reachable.length === 0) byUnit.delete(u);
      else byUnit.set(u, reachable);
    }
  }
  const out = new Map<string, SimTask>();
  for (const u of wantedUnits) {
    const tasks = byUnit.get(u) ?? [];
    if (tasks.length !== 1 || tasks[0]!.state !== 'TASK_RUNNING') return undefined;
    out.set(u, tasks[0]!);
  }
  for (const u of byUnit.keys()) if (!wantedUnits.includes(u)) return undefined;
  return out;
}

export function appUnits(app: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `app-${app}/${i}`);
}

/** A directory where tasks write their pid (`$KMF_TASK_ID.pid`), so a test can kill one task's process. */
export function pidDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-pids-'));
}

/** A long-running app command that records its pid. */
export function sleeperCommand(dir: string): string {
  return `echo $$ > ${dir}/$KMF_TASK_ID.pid; exec sleep 3600`;
}

export function taskPid(dir: string, taskId: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(path.join(dir, `${taskId}.pid`), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export type { SchedulerHandle };
