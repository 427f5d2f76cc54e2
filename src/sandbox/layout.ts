/**
 * What a sandbox directory holds (default `.kmf/sandbox`). Everything a second `kmf sandbox` needs to resume
 * lives here: ZooKeeper's data (the scheduler's state: framework id, brokers, apps), the sim agents' work dirs
 * (reservations, persistent volumes, so the brokers come back with their data), the ports and the API token.
 *
 *   sandbox.json   ports and the agents' port range, chosen on the first run and reused when still free
 *   api-token      the admin API token (mode 0600)
 *   sandbox.pid    pid of the `kmf sandbox` that runs here (one per directory)
 *   pids.json      the process groups it started (for `kmf sandbox` itself and for tests)
 *   zookeeper/     zoo.cfg and data/
 *   mesos/         the sim agents' work dirs (task sandboxes, volumes, checkpoints)
 *   logs/          zookeeper.log, mesos-sim.log, scheduler.log (JSON lines)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, KmfError } from '../util/errors.js';

export interface SandboxLayout {
  readonly dir: string;
  readonly stateFile: string;
  readonly tokenFile: string;
  readonly pidFile: string;
  readonly pidsFile: string;
  readonly zkDir: string;
  readonly mesosDir: string;
  readonly logsDir: string;
}

export function sandboxLayout(dir: string): SandboxLayout {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    stateFile: path.join(abs, 'sandbox.json'),
    tokenFile: path.join(abs, 'api-token'),
    pidFile: path.join(abs, 'sandbox.pid'),
    pidsFile: path.join(abs, 'pids.json'),
    zkDir: path.join(abs, 'zookeeper'),
    mesosDir: path.join(abs, 'mesos'),
    logsDir: path.join(abs, 'logs'),
  };
}

export interface SandboxState {
  readonly version: 1;
  readonly createdAt: string;
  readonly ports: { readonly zookeeper: number; readonly mesos: number; readonly api: number };
  /** The agents' `ports` resource; fixed for the directory's life (the brokers' reservations hold ports in it). */
  readonly agentPorts: { readonly begin: number; readonly end: number };
}

export function readState(layout: SandboxLayout): SandboxState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(layout.stateFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<SandboxState>;
    if (v.version !== 1 || v.ports === undefined || v.agentPorts === undefined) throw new Error('unknown format');
    return v as SandboxState;
  } catch (err) {
    throw new KmfError('sandbox_state_invalid', `${layout.stateFile} is not a sandbox state file (${errorMessage(err)}); start over with --fresh`);
  }
}

export function writeState(layout: SandboxLayout, state: SandboxState): void {
  writeFileAtomic(layout.stateFile, JSON.stringify(state, null, 2) + '\n', 0o644);
}

/** The admin token of this sandbox: created once (random, 0600), then reused so clients keep working. */
export function loadOrCreateToken(layout: SandboxLayout): string {
  try {
    const existing = fs.readFileSync(layout.tokenFile, 'utf8').trim();
    if (existing !== '') {
      fs.chmodSync(layout.tokenFile, 0o600);
      return existing;
    }
  } catch {
    // none yet
  }
  const token = crypto.randomBytes(24).toString('base64url');
  writeFileAtomic(layout.tokenFile, token + '\n', 0o600);
  return token;
}

export interface PidRecord {
  readonly name: string;
  /** Also the process group id: every child leads its own group. */
  readonly pid: number;
}

export interface PidsFile {
  /** The `kmf sandbox` process. */
  readonly sandbox: number;
  readonly children: PidRecord[];
}

export function writePids(layout: SandboxLayout, pids: PidsFile): void {
  writeFileAtomic(layout.pidsFile, JSON.stringify(pids, null, 2) + '\n', 0o644);
}

export function readPids(layout: SandboxLayout): PidsFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(layout.pidsFile, 'utf8')) as PidsFile;
  } catch {
    return undefined;
  }
}

function writeFileAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
