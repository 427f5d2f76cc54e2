/**
 * What the sandbox needs before it starts anything: Java 17+ (ZooKeeper, Kafka and the Streams app run on it)
 * and the runtime under `.kmf/runtime` (Kafka and ZooKeeper from Maven Central, the wordcount example jar).
 * A missing runtime is installed with scripts/runtime.sh, which needs Maven; its progress lines are shown.
 * The npm packages are there already: this code runs on them (scripts/sandbox.sh installs them on a fresh clone).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KmfError } from '../util/errors.js';
import { readRuntimeManifest, repoRoot, type RuntimeManifest } from '../util/runtime-manifest.js';
import { spawnGroup } from './process-group.js';

export class PrerequisiteError extends KmfError {
  constructor(message: string) {
    super('sandbox_prerequisite', message);
    this.name = 'PrerequisiteError';
  }
}

function which(cmd: string): string | undefined {
  const r = spawnSync('/bin/sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const out = (r.stdout ?? '').trim();
  return r.status === 0 && out !== '' ? out : undefined;
}

/** The major version `java -version` reports (`"17.0.15"` → 17, `"1.8.0_402"` → 8), or undefined. */
export function javaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (m === null) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

export function checkJava(javaBin = 'java'): string {
  const bin = javaBin.includes('/') ? (fs.existsSync(javaBin) ? javaBin : undefined) : which(javaBin);
  const fix = 'install a Java 17 JDK (e.g. `sudo apt-get install openjdk-17-jdk-headless`, or `brew install openjdk@17`) and run the sandbox again';
  if (bin === undefined) throw new PrerequisiteError(`java was not found: Kafka, ZooKeeper and the example Streams app run on Java 17+; ${fix}`);
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const major = javaMajor(`${r.stderr}${r.stdout}`);
  if (major === undefined || major < 17) {
    throw new PrerequisiteError(`${bin} is Java ${major ?? '(unknown version)'}; kmf needs Java 17 or newer: ${fix}`);
  }
  return bin;
}

/** The runtime manifest, when every file it names is there. */
export function installedRuntime(): RuntimeManifest | undefined {
  let m: RuntimeManifest;
  try {
    m = readRuntimeManifest();
  } catch {
    return undefined;
  }
  const files = [m.kafka.tarball, m.kafka.home, m.zookeeper.lib, m.wordcount.jar, m.javaBin];
  return files.every((f) => fs.existsSync(f)) ? m : undefined;
}

/**
 * Runs scripts/runtime.sh (Maven Central → .kmf/runtime, builds the wordcount jar), reporting each of its lines.
 * It is idempotent and takes a lock, so an interrupted run simply starts over next time.
 */
/** Maven is needed only to install the runtime. */
export function checkMaven(): void {
  if (which('mvn') === undefined) {
    throw new PrerequisiteError(
      'mvn was not found: the first run fetches Kafka and ZooKeeper from Maven Central with Maven 3.8+ and builds the example app; ' +
        'install it (e.g. `sudo apt-get install maven`, or `brew install maven`) and run the sandbox again',
    );
  }
}

export async function installRuntime(report: (line: string) => void, logFile: string, signal: AbortSignal): Promise<RuntimeManifest> {
  checkMaven();
  const script = path.join(repoRoot(), 'scripts', 'runtime.sh');
  const child = spawnGroup({ name: 'kmf-sandbox-runtime', command: 'bash', args: [script], logFile, cwd: repoRoot() });
  child.onLine((line) => {
    const text = line.replace(/^runtime: /, '').trim();
    if (text !== '') report(text);
  });
  const onAbort = (): void => void child.stop(2_000);
  signal.addEventListener('abort', onAbort, { once: true });
  const exit = await child.exited;
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted) throw new KmfError('sandbox_aborted', 'stopped');
  if (exit.code !== 0) {
    throw new KmfError('sandbox_runtime_failed', `scripts/runtime.sh failed (exit ${String(exit.code ?? exit.signal)}); its output is in ${logFile}:\n${child.tail(15)}`);
  }
  const m = installedRuntime();
  if (m === undefined) throw new KmfError('sandbox_runtime_failed', `scripts/runtime.sh finished but the runtime is incomplete; see ${logFile}`);
  return m;
}

function canBind(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Each sim agent has a loopback address of its own (so brokers on different agents can take the same port).
 * Linux answers all of 127/8; macOS answers 127.0.0.1 only unless aliases are added.
 */
export async function checkLoopbackAddresses(hosts: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const h of hosts) if (!(await canBind(h))) missing.push(h);
  if (missing.length === 0) return;
  const fix =
    process.platform === 'darwin'
      ? missing.map((h) => `sudo ifconfig lo0 alias ${h} up`).join('; ')
      : `add them to the loopback interface (e.g. ${missing.map((h) => `sudo ip addr add ${h}/8 dev lo`).join('; ')})`;
  throw new PrerequisiteError(`the sandbox's agents listen on ${hosts.join(', ')}, but ${missing.join(', ')} cannot be bound on this machine: ${fix}`);
}
