/**
 * A throwaway kmf for scripts/fuzz-api.sh: a real ZooKeeper, `kmf mesos-sim --synthetic` (tasks are not
 * processes, so fuzzed app commands are never executed) and a real `kmf scheduler` process with fresh
 * random tokens. Prints one line `ready URL ADMIN_TOKEN_FILE` once the scheduler leads and is subscribed,
 * then serves until SIGTERM/SIGINT or until stdin closes, and stops everything it started.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnManaged } from './processes.js';
import { chroot, ROOT, waitReady } from './scheduler-harness.js';
import { startZooKeeper } from './zookeeper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-fuzz-'));
const admin = crypto.randomBytes(24).toString('hex');
const read = crypto.randomBytes(24).toString('hex');
const tokenFile = path.join(dir, 'admin-token');
fs.writeFileSync(tokenFile, `${admin}\n`, { mode: 0o600 });

const zk = await startZooKeeper();
const kmf = path.join(ROOT, 'bin', 'kmf.js');
const sim = spawnManaged({
  name: 'mesos-sim',
  command: process.execPath,
  args: [kmf, 'mesos-sim', '--port', '0', '--agents', '3', '--synthetic', '--synthetic-delay', '50', '--allocation-interval', '0.5', '--heartbeat-interval', '5'],
  env: { ...process.env, KMF_LOG_LEVEL: 'warn' },
  cwd: ROOT,
  logFile: path.join(dir, 'mesos-sim.log'),
});
const master = (await sim.waitForLine(/^http:\/\/\S+$/, 60_000)).trim();
const scheduler = spawnManaged({
  name: 'kmf-scheduler',
  command: process.execPath,
  args: [kmf, 'scheduler', '--master', master, '--zk', `${zk.connectString}${chroot('fuzz')}`, '--api', '127.0.0.1:0', '--framework-name', 'kmf-fuzz', '--role', 'kmf',
    // The fuzzer deploys apps of up to 10,000 instances each: on a small shared machine decisions get slow,
    // and a 10 s ZooKeeper session would expire under that load (a failover, then 503s, is not what is tested).
    '--zk-session-timeout', '30'],
  env: { ...process.env, KMF_API_TOKEN: admin, KMF_API_READ_TOKEN: read, KMF_LOG_LEVEL: 'warn' },
  cwd: ROOT,
  logFile: path.join(dir, 'scheduler.log'),
});
const url = /^kmf scheduler api (\S+)$/.exec(await scheduler.waitForLine(/^kmf scheduler api \S+$/, 60_000))?.[1] ?? '';
await waitReady(url);
process.stdout.write(`ready ${url} ${tokenFile} ${dir}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const crashed = !scheduler.running();
  await scheduler.stop();
  await sim.stop();
  await zk.stop();
  fs.rmSync(tokenFile, { force: true });
  process.exit(crashed ? 3 : 0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
// The scheduler must survive the fuzzing: if it exits, say so (the script fails the run).
void scheduler.exited.then((e) => {
  if (!stopping) process.stderr.write(`kmf scheduler exited during the run (code ${String(e.code)}, signal ${String(e.signal)}); log: ${dir}/scheduler.log\n`);
});
