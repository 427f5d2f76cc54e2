/**
 * Every process the simulated agent starts (task commands, custom executors, health-check commands, fetch
 * helpers such as `tar`) is spawned here, in its own process group (`detached: true` makes the child a
 * session and group leader, so pgid === pid). Signals always go to the whole group (`kill(-pgid)`), which is
 * how the Mesos POSIX launcher treats a container: a shell's children die with it.
 *
 * Two levels of bookkeeping:
 *   - a per-agent registry, so crash()/stop() of one agent kills exactly that agent's processes;
 *   - a module-wide set of live groups plus `exit`/signal hooks on the Node process, so that no process
 *     outlives the simulator or a test file even when nobody calls stop().
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const liveGroups = new Set<number>();
let hooksInstalled = false;

function killGroupQuietly(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is already gone; EPERM cannot happen for our own children.
    return false;
  }
}

/** SIGKILL every group any registry in this Node process still tracks. Synchronous: safe in an `exit` hook. */
export function killAllProcessGroupsNow(): void {
  for (const pgid of liveGroups) killGroupQuietly(pgid, 'SIGKILL');
  liveGroups.clear();
}

function installProcessHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllProcessGroupsNow);
  // A signal that ends the Node process does not run `exit` hooks, so catch the usual ones too. When
  // nobody else listens for the signal, the default action (death) is what would happen: kill the groups,
  // restore the default and re-raise, so the process still dies the way the sender intended. When someone
  // else listens (e.g. the simulator's CLI), they own the shutdown — an orderly stop() that gives tasks
  // their SIGTERM grace — and the `exit` hook catches anything left.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(sig) > 1) return;
      killAllProcessGroupsNow();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export interface TrackedProcess {
  readonly child: ChildProcess;
  /** Process group id (= pid of the leader). */
  readonly pgid: number;
  /** Resolves with the raw exit (code or signal) when the group leader exits. Never rejects. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class ProcessGroupRegistry {
  private readonly groups = new Map<number, TrackedProcess>();

  constructor() {
    installProcessHooks();
  }

  /**
   * Spawn `file args` as the leader of a new process group. Throws synchronously only for invalid
   * arguments; a failed exec (ENOENT …) is reported as `child.on('error')` and an exit with code null.
   */
  spawn(file: string, args: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
    const child = spawn(file, args, { ...opts, detached: true });
    const pid = child.pid;
    let resolveExit!: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      resolveExit = resolve;
    });
    if (pid === undefined) {
      // The exec failed before a pid existed (e.g. ENOENT); `error` fires on the next tick.
      child.once('error', () => resolveExit({ code: null, signal: null }));
      return { child, pgid: -1, exited };
    }
    const tracked: TrackedProcess = { child, pgid: pid, exited };
    this.groups.set(pid, tracked);
    liveGroups.add(pid);
    child.once('exit', (code, signal) => {
      // The leader is gone; whatever it left behind in its group goes with it (what destroying a container
      // does), and the group is forgotten.
      killGroupQuietly(pid, 'SIGKILL');
      this.groups.delete(pid);
      liveGroups.delete(pid);
      resolveExit({ code, signal });
    });
    // Without a listener an `error` (e.g. EPERM on kill) would crash the simulator.
    child.on('error', () => undefined);
    return tracked;
  }

  /** Signal one group. Returns false when the group no longer exists. */
  signal(pgid: number, signal: NodeJS.Signals): boolean {
    if (pgid <= 0) return false;
    return killGroupQuietly(pgid, signal);
  }

  /** Number of live groups this registry tracks. */
  get size(): number {
    return this.groups.size;
  }

  pids(): number[] {
    return [...this.groups.keys()];
  }

  /** SIGKILL every group of this registry right now (crash semantics). */
  killAllNow(): void {
    for (const pgid of this.groups.keys()) killGroupQuietly(pgid, 'SIGKILL');
  }

  /**
   * Orderly: SIGTERM every group, SIGKILL what is left after `graceMs`, resolve when every leader has
   * exited. Groups started while this runs are killed too.
   */
  async terminateAll(graceMs: number): Promise<void> {
    const all = (): TrackedProcess[] => [...this.groups.values()];
    for (const p of all()) killGroupQuietly(p.pgid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const done = Promise.all(all().map((p) => p.exited)).then(() => 'done' as const);
    const first = await Promise.race([done, timedOut]);
    if (timer !== undefined) clearTimeout(timer);
    if (first === 'timeout' || this.groups.size > 0) {
      while (this.groups.size > 0) {
        const rest = all();
        for (const p of rest) killGroupQuietly(p.pgid, 'SIGKILL');
        await Promise.all(rest.map((p) => p.exited));
      }
    }
  }

  /** Wait until every current leader has exited (after killAllNow()). */
  async waitAll(): Promise<void> {
    while (this.groups.size > 0) {
      await Promise.all([...this.groups.values()].map((p) => p.exited));
    }
  }
}

/** Run a short helper command (tar, unzip, gunzip) in its own tracked group; collect stderr for errors. */
export async function runTracked(
  registry: ProcessGroupRegistry,
  file: string,
  args: readonly string[],
  opts: { cwd?: string; stdout?: number | 'ignore'; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; spawnError?: Error }> {
  let spawnError: Error | undefined;
  const p = registry.spawn(file, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
  });
  p.child.once('error', (err) => {
    spawnError = err;
  });
  const chunks: Buffer[] = [];
  let size = 0;
  p.child.stderr?.on('data', (c: Buffer) => {
    // Keep the first 8 KiB: enough for an error message, bounded for a chatty tool.
    if (size < 8192) chunks.push(c);
    size += c.length;
  });
  const res = await p.exited;
  const stderr = Buffer.concat(chunks).toString('utf8').slice(0, 8192).trim();
  return spawnError === undefined ? { ...res, stderr } : { ...res, stderr, spawnError };
}
