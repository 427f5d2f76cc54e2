/**
 * Processes of a sandbox directory, as the operating system sees them: the one-sandbox-per-directory lock
 * (`sandbox.pid`), and the sweep that finds what the sandbox started and is still running (a Kafka JVM of a
 * task whose agent was killed hard, or the remains of a `kmf sandbox` that was SIGKILLed) so that a stop leaves
 * nothing behind. The sweep reads /proc (Linux); elsewhere it finds nothing and the process groups are all
 * there is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KmfError } from '../util/errors.js';
import type { SandboxLayout } from './layout.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/**
 * Takes the directory for this process. Throws if another `kmf sandbox` runs there; a stale file (its process
 * gone) is taken over. Returns the release function.
 */
export function lockSandbox(layout: SandboxLayout): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(layout.pidFile, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(layout.pidFile, 'utf8').trim() === String(process.pid)) fs.rmSync(layout.pidFile, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = Number(fs.readFileSync(layout.pidFile, 'utf8').trim());
    const cmd = Number.isInteger(other) && other > 0 ? cmdline(other) : undefined;
    // A recycled pid that is not a sandbox does not hold the lock (no /proc: trust the pid alone).
    const holds = Number.isInteger(other) && other > 0 && other !== process.pid && alive(other) && (cmd === undefined ? !fs.existsSync('/proc') : cmd.includes('sandbox'));
    if (holds) {
      throw new KmfError(
        'sandbox_running',
        `a kmf sandbox already runs in ${layout.dir} (pid ${other}); stop it with Ctrl-C in its terminal or \`kill -INT ${other}\`, or use another --dir`,
      );
    }
    fs.rmSync(layout.pidFile, { force: true });
  }
  throw new KmfError('sandbox_lock', `could not take ${layout.pidFile}`);
}

/**
 * Pids of processes the sandbox started that may outlive their process group: task processes (their working
 * directory is a task sandbox under `<dir>/mesos/`) and JVMs whose command line names a path in the directory
 * (brokers, the app, ZooKeeper). Nothing else: someone's `tail -f <dir>/logs/…` is left alone. Never this
 * process or its parent.
 */
export function processesUnder(dir: string): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  const tasks = path.join(dir, 'mesos') + path.sep;
  const mine = new Set([process.pid, process.ppid]);
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (mine.has(pid)) continue;
    const cmd = cmdline(pid);
    if (cmd === undefined || cmd === '') continue; // kernel threads and zombies
    let cwd = '';
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`) + path.sep;
    } catch {
      // not ours to inspect
    }
    const argv0 = cmd.split(' ')[0] ?? '';
    const isJava = path.basename(argv0) === 'java';
    if (cwd.startsWith(tasks) || (isJava && cmd.includes(prefix))) out.push(pid);
  }
  return out;
}

/** SIGKILLs every process `processesUnder(dir)` finds (and their groups), waiting until they are gone. */
export async function killProcessesUnder(dir: string): Promise<number[]> {
  const found = processesUnder(dir);
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 5_000;
  while (found.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return found;
}
