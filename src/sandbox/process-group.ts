/**
 * The sandbox's child processes (ZooKeeper, `kmf mesos-sim`, `kmf scheduler`, the runtime installer). Each runs in
 * a process group of its own, so a Ctrl-C in the terminal reaches only `kmf sandbox`, which then stops them in
 * order. A watchdog inside each group kills the group if `kmf sandbox` dies without stopping it (even by
 * SIGKILL): the child's stdin is a pipe from us, a background `cat` reads it, and at EOF it runs `kill -KILL 0`.
 * All output goes to a log file; lines can also be watched (the "ready" line a child prints on stdout).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { KmfError } from '../util/errors.js';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SandboxChild {
  readonly name: string;
  /** The command's pid, which is also its process group id. */
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  running(): boolean;
  /** The last lines of output, for error messages. */
  tail(lines?: number): string;
  /** Calls `listener` with each future line of stdout and stderr. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  /** The first stdout line (past or future) matching `pattern`; rejects on exit, timeout or abort. */
  waitForStdout(pattern: RegExp, timeoutMs: number, signal?: AbortSignal): Promise<string>;
  /**
   * SIGTERM to the command only (so the watchdog does not cut its graceful shutdown short), SIGKILL to the
   * whole group after `graceMs`; resolves once no process of the group is left.
   */
  stop(graceMs: number): Promise<ChildExit>;
  /** SIGKILL to the group, synchronously (last resort, e.g. a second Ctrl-C). */
  killNow(): void;
}

export interface SpawnGroupOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

// $0 is the name shown by ps; "$@" the real command. fd 3 keeps our stdin pipe for the watchdog, because a
// background list's stdin is /dev/null unless redirected explicitly. `exec` makes the command the group leader.
const WATCHDOG = 'exec 3<&0; (cat <&3 >/dev/null 2>&1; kill -KILL 0) >/dev/null 2>&1 & exec "$@" 3<&- </dev/null';

export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) {
      killGroup(pgid, 'SIGKILL');
      if (Date.now() > deadline + 5_000) throw new KmfError('sandbox_stop_failed', `process group ${pgid} does not go away`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function spawnGroup(opts: SpawnGroupOptions): SandboxChild {
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  log.on('error', () => undefined);
  log.write(`---- ${new Date().toISOString()} ${opts.command} ${opts.args.join(' ')}\n`);
  const child = spawn('sh', ['-c', WATCHDOG, opts.name, opts.command, ...opts.args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const pid = child.pid;
  if (pid === undefined) throw new KmfError('sandbox_spawn_failed', `could not start ${opts.name} (${opts.command})`);
  // EPIPE on the watchdog pipe only means the group is gone.
  child.stdin?.on('error', () => undefined);

  const lines: string[] = [];
  const stdoutLines: string[] = [];
  const listeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = [];
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    lines.push(line);
    if (lines.length > 300) lines.shift();
    if (stream === 'stdout') {
      stdoutLines.push(line);
      if (stdoutLines.length > 300) stdoutLines.shift();
    }
    log.write(line + '\n');
    for (const l of listeners) l(line, stream);
  };
  if (child.stdout !== null) readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine('stdout'));
  if (child.stderr !== null) readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', onLine('stderr'));

  let exit: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Closing our end of the pipe makes the watchdog kill whatever is left of the group.
      child.stdin?.destroy();
      resolve(exit);
    });
  });
  child.once('close', () => log.end());

  const handle: SandboxChild = {
    name: opts.name,
    pid,
    exited,
    running: () => exit === undefined,
    tail: (n = 40) => lines.slice(-n).join('\n'),
    onLine: (listener) => {
      listeners.push(listener);
    },
    waitForStdout: (pattern, timeoutMs, signal) =>
      new Promise<string>((resolve, reject) => {
        const seen = stdoutLines.find((l) => pattern.test(l));
        if (seen !== undefined) {
          resolve(seen);
          return;
        }
        let done = false;
        const finish = (fn: () => void): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const onAbort = (): void => finish(() => reject(new KmfError('sandbox_aborted', 'stopped')));
        const timer = setTimeout(
          () => finish(() => reject(new KmfError('sandbox_timeout', `${opts.name} did not start within ${Math.round(timeoutMs / 1000)} s; its log: ${opts.logFile}`))),
          timeoutMs,
        );
        signal?.addEventListener('abort', onAbort);
        if (signal?.aborted === true) onAbort();
        listeners.push((line, stream) => {
          if (stream === 'stdout' && pattern.test(line)) finish(() => resolve(line));
        });
        void exited.then((e) =>
          finish(() =>
            reject(
              new KmfError(
                'sandbox_child_exited',
                `${opts.name} exited (code ${String(e.code)}, signal ${String(e.signal)}) while starting; its log: ${opts.logFile}\n${handle.tail(15)}`,
              ),
            ),
          ),
        );
      }),
    stop: async (graceMs) => {
      if (exit === undefined) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await waitGroupGone(pid, 5_000);
      return exited;
    },
    killNow: () => killGroup(pid, 'SIGKILL'),
  };
  return handle;
}
