/**
 * A big synthetic setup for the scheduler benchmarks: `kmf mesos-sim --synthetic` with many agents in its
 * own process (so its CPU and memory do not colour the scheduler's figures), a real ZooKeeper, and a full
 * `kmf scheduler` instance (runtime, API, real Mesos client) in this process.
 */
import os from 'node:os';
import path from 'node:path';
import { startScheduler, type SchedulerHandle } from '../../src/runtime/scheduler-main.js';
import type { CoreConfig } from '../../src/core/config.js';
import { testLogger } from '../../src/util/log.js';
import { spawnManaged, type ManagedProcess } from '../../test/helpers/processes.js';
import { LAUNCHER_FLAGS, repoRoot } from './launcher.js';

const root = repoRoot();

export interface SimProcess {
  url: string;
  process: ManagedProcess;
}

export async function startSyntheticSim(agents: number, opts: { allocationIntervalS?: number; resources?: string } = {}): Promise<SimProcess> {
  const proc = spawnManaged({
    name: 'mesos-sim',
    command: process.execPath,
    args: [
      ...LAUNCHER_FLAGS,
      '--import',
      'tsx',
      path.join(root, 'src/cli/main.ts'),
      'mesos-sim',
      '--port',
      '0',
      '--agents',
      String(agents),
      '--synthetic',
      '--synthetic-delay',
      '100',
      '--allocation-interval',
      String(opts.allocationIntervalS ?? 1),
      '--heartbeat-interval',
      '15',
      '--agent-addresses',
      'shared',
      '--resources',
      opts.resources ?? 'cpus:4;mem:8192;disk:20000;ports:[31000-32000]',
    ],
    env: { ...process.env, KMF_LOG_LEVEL: 'warn' },
  });
  const line = await proc.waitForLine(/^http:\/\/\S+$/, 120_000);
  return { url: line.trim(), process: proc };
}

export async function startBenchScheduler(zkSpec: string, master: string, core: Partial<CoreConfig> = {}): Promise<SchedulerHandle> {
  return startScheduler({
    master,
    zk: zkSpec,
    api: { host: '127.0.0.1', port: 0 },
    framework: { name: 'kmf-bench', role: 'kmf', user: os.userInfo().username, failoverTimeoutSeconds: 3600 },
    zkSessionTimeoutMs: 10_000,
    coreConfig: core,
    auth: { adminToken: undefined, readToken: undefined, insecureNoAuth: true },
    logger: testLogger('bench-scheduler'),
    onFatal: (err) => {
      console.error('fatal:', err);
      process.exit(1);
    },
  });
}

export async function waitUntil(what: string, fn: () => boolean, timeoutMs: number, intervalMs = 500): Promise<number> {
  const started = performance.now();
  while (!fn()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return performance.now() - started;
}

/** Deploys `apps` apps of `perApp` tiny instances and waits until every instance runs. */
export async function deployTasks(s: SchedulerHandle, apps: number, perApp: number, timeoutMs = 600_000): Promise<number> {
  await waitUntil('the scheduler to lead and subscribe', () => s.service.ready().ready, 60_000, 50);
  const started = performance.now();
  for (let i = 0; i < apps; i++) {
    await s.service.deployApp({ name: `load-${i}`, instances: perApp, cpus: 0.1, mem: 32, command: 'sleep 3600' });
  }
  const total = apps * perApp;
  let last = 0;
  await waitUntil(
    `${total} running instances`,
    () => {
      const term = s.runtime.leaderTerm();
      const running = term === undefined ? 0 : term.units().filter((u) => u.state === 'running').length;
      if (running - last >= 2000 || (running === total && last !== total)) {
        console.log(`  … ${running} of ${total} running after ${((performance.now() - started) / 1000).toFixed(1)} s`);
        last = running;
      }
      return running >= total;
    },
    timeoutMs,
    1000,
  );
  return performance.now() - started;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
