/**
 * Drives a SimAgent directly through its TypeScript API: a recording uplink (optionally acknowledging
 * every update like a scheduler would), a temp work dir, task builders and liveness checks.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandInfo, FrameworkInfo, TaskInfo, TaskState, TaskStatus } from '../../src/mesos/types.js';
import { SimAgent, type SimAgentOptions, type SimAgentUplink } from '../../src/sim/agent/agent.js';
import { testLogger } from '../../src/util/log.js';

export interface RecordedUpdate {
  frameworkId: string;
  status: TaskStatus;
  latestState: TaskState | undefined;
}

export class RecordingUplink implements SimAgentUplink {
  readonly updates: RecordedUpdate[] = [];
  readonly exits: Array<{ frameworkId: string; executorId: string; waitStatus: number }> = [];
  readonly messages: Array<{ frameworkId: string; executorId: string; data: Buffer }> = [];
  agent: SimAgent | undefined;
  /** Acknowledge every update as it arrives (a well-behaved scheduler). */
  autoAck = true;
  private waiters: Array<() => void> = [];

  statusUpdate(frameworkId: string, status: TaskStatus, latestState?: TaskState): void {
    this.updates.push({ frameworkId, status, latestState });
    if (this.autoAck && status.uuid !== undefined) {
      const uuid = status.uuid;
      setImmediate(() => this.agent?.acknowledge(frameworkId, status.task_id.value, uuid));
    }
    this.wake();
  }

  executorMessage(frameworkId: string, executorId: string, data: Buffer): void {
    this.messages.push({ frameworkId, executorId, data });
    this.wake();
  }

  executorExited(frameworkId: string, executorId: string, waitStatus: number): void {
    this.exits.push({ frameworkId, executorId, waitStatus });
    this.wake();
  }

  /** Distinct updates of a task (retries collapsed), in arrival order. */
  updatesOf(taskId: string): TaskStatus[] {
    const seen = new Set<string>();
    const out: TaskStatus[] = [];
    for (const u of this.updates) {
      if (u.status.task_id.value !== taskId) continue;
      const k = u.status.uuid?.toString('hex') ?? '';
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(u.status);
    }
    return out;
  }

  statesOf(taskId: string): TaskState[] {
    return this.updatesOf(taskId).map((s) => s.state);
  }

  /** Wait until `pred` holds (re-checked after every uplink call); fails after `timeoutMs`. */
  async waitFor<T>(what: string, pred: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; updates so far: ${JSON.stringify(this.updates.map((u) => [u.status.task_id.value, u.status.state, u.status.message]))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for a terminal (or any of `states`) update of the task. */
  waitForState(taskId: string, states: TaskState[], timeoutMs?: number): Promise<TaskStatus> {
    return this.waitFor(`${taskId} in ${states.join('|')}`, () => this.updatesOf(taskId).find((s) => states.includes(s.state)), timeoutMs);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export const TERMINAL: TaskState[] = ['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED'];

export function framework(id = 'fw-0000', extra: Partial<FrameworkInfo> = {}): FrameworkInfo {
  return { user: 'nobody', name: 'sim-agent-test', id: { value: id }, ...extra };
}

export function commandTask(taskId: string, command: CommandInfo, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'M-S0' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 } },
    ],
    command,
    ...extra,
  };
}

export interface Harness {
  agent: SimAgent;
  uplink: RecordingUplink;
  workDir: string;
  cleanup(): Promise<void>;
}

export async function startAgent(opts: Partial<SimAgentOptions> = {}): Promise<Harness> {
  const workDir = mkdtempSync(join(tmpdir(), 'kmf-sim-agent-'));
  const uplink = new RecordingUplink();
  const agent = new SimAgent(
    {
      id: 'M-S0',
      hostname: '127.0.0.1',
      ip: '127.0.0.1',
      port: 0,
      workDir,
      resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 4 } }],
      attributes: [],
      logger: testLogger('sim-agent'),
      stopGraceMs: 500,
      ...opts,
    },
    uplink,
  );
  uplink.agent = agent;
  await agent.start();
  return {
    agent,
    uplink,
    workDir,
    cleanup: async () => {
      await agent.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** True while `pid` names a live, non-zombie process (a zombie is dead, merely not reaped by its parent). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Read the sandbox-relative file a task wrote (tasks report where they run through MESOS_SANDBOX). */
export function readEnvDump(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(path, 'utf8').split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}
