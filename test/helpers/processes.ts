import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

/**
 * Real processes for integration tests (ZooKeeper, Kafka, Streams apps) that cannot outlive the test:
 *  - each runs in its own process group (detached), and stop()/kill() signal the whole group;
 *  - a watchdog inside that group kills it when the test process dies in any way, SIGKILL included: the child's
 *    stdin is a pipe from us, a background `cat` reads it, and when it reads EOF (our end closed because we died)
 *    it runs `kill -KILL 0` on its own group;
 *  - a process 'exit' hook kills every group still alive, for the orderly-exit paths.
 */
export interface ManagedProcess {
  readonly pid: number;
  readonly name: string;
  /** Resolves when the main process exits (never rejects). */
  readonly exited: Promise<ProcessExit>;
  running(): boolean;
  /** The last lines of stdout+stderr, for error messages. */
  tail(lines?: number): string;
  /** Resolves with the first line (past or future) matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Calls `listener` for each future line of stdout+stderr. */
  onLine(listener: (line: string) => void): void;
  /** Sends a signal to the main process only (e.g. SIGTERM to test a graceful shutdown path). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the main process has exited. */
  stop(graceMs?: number): Promise<ProcessExit>;
  /** SIGKILL to the group (a crash); resolves once the main process has exited. */
  kill(): Promise<ProcessExit>;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Also append all output to this file. */
  readonly logFile?: string;
  /** Echo output to our stderr (debugging: KMF_TEST_PROC_LOG=1). */
  readonly echo?: boolean;
}

const live = new Set<ManagedProcess>();
const cleanups = new Set<() => void>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const p of live) killGroupSync(p.pid, 'SIGKILL');
    for (const fn of cleanups) {
      try {
        fn();
      } catch {
        // best effort at exit
      }
    }
  });
  // A signal ends the process without 'exit' handlers: turn it into an exit (so temp dirs go too), unless
  // someone else handles that signal.
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [sig, code] of signals) {
    process.on(sig, () => {
      if (process.listenerCount(sig) === 1) process.exit(code);
    });
  }
}

/** Runs `fn` (synchronous) when the test process exits, unless the returned function unregisters it first. */
export function registerExitCleanup(fn: () => void): () => void {
  installExitHook();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

function killGroupSync(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: already gone.
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no process of the group is left (the watchdog may outlive the main process by a moment). */
async function groupGone(pgid: number): Promise<void> {
  for (let i = 0; groupAlive(pgid); i++) {
    if (i === 20) killGroupSync(pgid, 'SIGKILL');
    if (i > 200) throw new Error(`process group ${pgid} does not go away`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// $0 is the process name; "$@" the real command. fd 3 keeps our stdin pipe for the watchdog, because a
// background list's stdin is /dev/null unless redirected explicitly.
const WATCHDOG = 'exec 3<&0; (cat <&3 >/dev/null 2>&1; kill -KILL 0) >/dev/null 2>&1 & exec "$@" 3<&- </dev/null';

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installExitHook();
  const child: ChildProcess = spawn('sh', ['-c', WATCHDOG, opts.name, opts.command, ...opts.args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${opts.name} (${opts.command})`);

  const lines: string[] = [];
  const MAX_LINES = 400;
  const listeners: ((line: string) => void)[] = [];
  const log = opts.logFile === undefined ? undefined : fs.createWriteStream(opts.logFile, { flags: 'a' });
  const echo = opts.echo ?? process.env['KMF_TEST_PROC_LOG'] !== undefined;
  const onLine = (line: string): void => {
    lines.push(line);
    if (lines.length > MAX_LINES) lines.shift();
    log?.write(line + '\n');
    if (echo) process.stderr.write(`[${opts.name}] ${line}\n`);
    for (const l of listeners) l(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
  }

  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(handle);
      // Closing our end of the watchdog pipe makes it kill whatever is left of the group.
      child.stdin?.destroy();
      resolve(exit);
    });
  });
  // Swallow EPIPE on the watchdog pipe: it only means the group is gone.
  child.stdin?.on('error', () => undefined);
  // Closing the log only after all output has been read: 'close' fires when stdio streams are done.
  child.once('close', () => log?.end());

  const handle: ManagedProcess = {
    pid,
    name: opts.name,
    exited,
    running: () => exit === undefined,
    tail: (n = 60) => lines.slice(-n).join('\n'),
    onLine: (listener) => {
      listeners.push(listener);
    },
    waitForLine: (pattern, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen !== undefined) {
          resolve(seen);
          return;
        }
        let done = false;
        const finish = (fn: () => void): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          fn();
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${opts.name}: no line matching ${String(pattern)} within ${timeoutMs} ms\n${handle.tail()}`))),
          timeoutMs,
        );
        listeners.push((line) => {
          if (pattern.test(line)) finish(() => resolve(line));
        });
        void exited.then((e) =>
          finish(() => reject(new Error(`${opts.name} exited (code ${String(e.code)}, signal ${String(e.signal)}) before a line matching ${String(pattern)}\n${handle.tail()}`))),
        );
      }),
    signal: (sig) => {
      if (exit === undefined) {
        try {
          process.kill(pid, sig);
        } catch {
          // already gone
        }
      }
    },
    stop: async (graceMs = 10_000) => {
      if (exit === undefined) {
        killGroupSync(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroupSync(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      await groupGone(pid);
      return exited;
    },
    kill: async () => {
      killGroupSync(pid, 'SIGKILL');
      await exited;
      await groupGone(pid);
      return exited;
    },
  };
  live.add(handle);
  return handle;
}
