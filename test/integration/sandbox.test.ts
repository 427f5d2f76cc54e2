/**
 * `kmf sandbox` end to end, as a user runs it: `bin/kmf.js sandbox --dir <tmp>` as a real child process.
 *  - cold start: waits for `ready`, reads the printed bootstrap servers, produces lines to `words-in` with kafkajs
 *    and reads the example app's exactly-once word counts back from `word-counts`; `kmf sandbox produce|consume`
 *    (the printed way to try it) round-trip records too;
 *  - SIGINT (Ctrl-C): exit 0, every process it started (pids.json) gone, with its process group, and no process
 *    left with the sandbox directory in its command line or as its working directory (the Kafka and app JVMs);
 *  - warm start in the same directory: the scheduler resumes its framework, the brokers come back with their data
 *    (the counts continue from where they were); a second sandbox on the directory is refused; the same clean stop;
 *  - --fresh wipes the directory; a Ctrl-C in the middle of the deployment stops everything started so far; with
 *    --json every output line is a JSON event.
 * The time from the command to `ready` is logged for both runs (no assertion on it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ROOT } from '../helpers/scheduler-harness.js';
import { spawnManaged, type ManagedProcess } from '../helpers/processes.js';

const { Kafka, logLevel } = kafkajs;
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';

const READY_TIMEOUT_MS = 360_000;

let dir: string;
const running: ManagedProcess[] = [];

before(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-sandbox-test-')));
});

after(async () => {
  // Normally every sandbox has stopped already; after a failure, stop it the way a user would (its tasks are not
  // in its process group), then kill whatever is left.
  for (const p of running) {
    if (p.running()) {
      p.signal('SIGINT');
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    await p.kill();
  }
  for (const line of processesOfDir()) {
    try {
      process.kill(Number(line.split(':')[0]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Started {
  proc: ManagedProcess;
  bootstrap: string[];
  apiUrl: string;
  mesosUrl: string;
  readyMs: number;
}

function spawnSandbox(label: string, extraArgs: string[] = []): ManagedProcess {
  const proc = spawnManaged({
    name: `kmf-sandbox-${label}`,
    command: process.execPath,
    args: [path.join(ROOT, 'bin', 'kmf.js'), 'sandbox', '--dir', dir, ...extraArgs],
    cwd: ROOT,
  });
  running.push(proc);
  return proc;
}

async function startSandbox(label: string): Promise<Started> {
  const t0 = Date.now();
  const proc = spawnSandbox(label);
  await proc.waitForLine(/^ready$/, READY_TIMEOUT_MS);
  const readyMs = Date.now() - t0;
  const value = async (label: string): Promise<string> => {
    const line = await proc.waitForLine(new RegExp(`^${label}: \\S+`), 10_000);
    return line.slice(label.length + 2).split(/\s+/)[0] ?? '';
  };
  const bootstrap = (await value('bootstrap servers')).split(',');
  const apiUrl = await value('admin API');
  const mesosUrl = await value('Mesos master');
  await proc.waitForLine(/^admin API token: \S+/, 10_000);
  console.log(`${label}: command → ready in ${(readyMs / 1000).toFixed(1)} s (bootstrap ${bootstrap.join(',')})`);
  return { proc, bootstrap, apiUrl, mesosUrl, readyMs };
}

async function produce(bootstrap: string[], lines: readonly string[]): Promise<void> {
  const producer = new Kafka({ clientId: 'sandbox-test', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10 } }).producer();
  await producer.connect();
  try {
    await producer.send({ topic: 'words-in', acks: -1, messages: lines.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
}

/** Reads `word-counts` (committed records only) until each word's latest count is the expected one. */
async function readCounts(bootstrap: string[], expected: ReadonlyMap<string, number>, timeoutMs = 120_000): Promise<Map<string, string>> {
  const consumer = new Kafka({ clientId: 'sandbox-test', brokers: bootstrap, logLevel: logLevel.NOTHING }).consumer({
    groupId: `sandbox-test-${Date.now()}`,
    readUncommitted: false,
  });
  const latest = new Map<string, string>();
  const done = (): boolean => [...expected].every(([w, n]) => latest.get(w) === String(n));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'word-counts', fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const diff = [...expected].map(([w, n]) => `${w}: want ${n}, have ${latest.get(w) ?? '-'}`);
        reject(new Error(`word counts not reached in ${timeoutMs} ms: ${diff.join('; ')}`));
      }, timeoutMs);
      consumer
        .run({
          eachMessage: ({ message }) => {
            const word = message.key?.toString('utf8');
            if (word !== undefined && expected.has(word)) latest.set(word, message.value?.toString('utf8') ?? '');
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return latest;
}

/** `bin/kmf.js ARGS` with `input` on stdin; resolves with its exit code and output. */
function runKmf(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'kmf.js'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process whose command line names the sandbox directory or whose working directory is inside it. */
function processesOfDir(): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd === '') continue;
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${e}/cwd`);
      } catch {
        // not ours
      }
      if (cmd.includes(`${dir}/`) || cwd.startsWith(dir)) out.push(`${e}: ${cmd.slice(0, 160)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * SIGINT as a Ctrl-C would send; then nothing the sandbox started may be left. `jvms`: how many JVMs (ZooKeeper
 * excluded: its command line names only its config) run from the directory before the stop.
 */
async function stopAndCheck(proc: ManagedProcess, jvms: number): Promise<void> {
  const pids = JSON.parse(fs.readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { sandbox: number; children: Array<{ name: string; pid: number }> };
  assert.equal(pids.sandbox, proc.pid);
  assert.deepEqual(
    pids.children.map((c) => c.name),
    ['kmf-sandbox-zookeeper', 'kmf-sandbox-mesos-sim', 'kmf-sandbox-scheduler'],
  );
  const javaBefore = processesOfDir().filter((p) => p.includes('java') && !p.includes('ZooKeeperServerMain'));
  assert.ok(javaBefore.length >= jvms, `${jvms} JVMs run from the sandbox directory:\n${javaBefore.join('\n')}`);
  proc.signal('SIGINT');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, `exit after SIGINT:\n${proc.tail(30)}`);
  assert.match(proc.tail(10), /stopped; nothing left running/);
  for (const c of pids.children) {
    assert.equal(alive(c.pid), false, `${c.name} (pid ${c.pid}) is gone`);
    assert.equal(alive(-c.pid), false, `${c.name}'s process group ${c.pid} is gone`);
  }
  assert.deepEqual(processesOfDir(), [], 'no process left running from the sandbox directory');
  assert.equal(fs.existsSync(path.join(dir, 'sandbox.pid')), false, 'the directory lock is released');
}

function countsOf(lines: readonly string[], into = new Map<string, number>()): Map<string, number> {
  for (const line of lines) for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w !== '') into.set(w, (into.get(w) ?? 0) + 1);
  return into;
}

describe('kmf sandbox', { timeout: 1_200_000 }, () => {
  const tag = `t${process.pid}`;
  const lines = [`alpha ${tag} beta`, `Alpha, ${tag}-gamma`, `beta alpha`, `end${tag}`];
  const expected = countsOf(lines);

  // One test, phases in order: the warm start needs the directory the cold start left.
  test('cold start, warm start and --fresh in one directory, each stopped by Ctrl-C', { timeout: 1_200_000 }, async (t) => {
    await t.test('cold start: ready, Kafka and the example app work through the printed bootstrap servers, Ctrl-C leaves nothing behind', async () => {
      const s = await startSandbox('cold');
      assert.equal(s.bootstrap.length, 3, 'three brokers');
      assert.match(s.apiUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(s.mesosUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(fs.statSync(path.join(dir, 'api-token')).mode & 0o777, 0o600, 'the token file is private');
      await produce(s.bootstrap, lines);
      const got = await readCounts(s.bootstrap, expected);
      assert.equal(got.get('alpha'), '3');

      // The printed way to try it: `kmf sandbox produce` / `consume` (they find the sandbox through --dir).
      const produced = await runKmf(['sandbox', 'produce', 'words-in', '--dir', dir], 'cli one\ncli two\n');
      assert.equal(produced.code, 0, produced.stderr);
      assert.match(produced.stderr, /sent 2 record\(s\) to words-in/);
      const consumed = await runKmf(['sandbox', 'consume', 'words-in', '--dir', dir, '--max-messages', String(lines.length + 2)], '');
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.deepEqual(consumed.stdout.trimEnd().split('\n').sort(), [...lines, 'cli one', 'cli two'].sort());
      await stopAndCheck(s.proc, 4);
    });

    await t.test('warm start resumes: same brokers, their data and the app state kept', async () => {
      const s = await startSandbox('warm');
      assert.equal(s.bootstrap.length, 3);
      assert.match(s.proc.tail(200), /resuming the sandbox/);
      // The same words again: the counts continue from the first run's (Kafka's logs and the app's changelog survived).
      await produce(s.bootstrap, lines);
      const twice = new Map([...expected].map(([w, n]) => [w, 2 * n]));
      const got = await readCounts(s.bootstrap, twice);
      assert.equal(got.get('alpha'), '6');
      // One sandbox per directory.
      const second = spawnSandbox('second');
      const refused = await second.exited;
      assert.equal(refused.code, 1);
      assert.match(second.tail(5), /a kmf sandbox already runs in/);
      await stopAndCheck(s.proc, 4);
    });

    await t.test('--fresh starts over; Ctrl-C while the brokers deploy stops what was started, nothing left behind (--json)', async () => {
      const proc = spawnSandbox('fresh', ['--fresh', '--json']);
      await proc.waitForLine(/--fresh: wiping/, 30_000);
      await proc.waitForLine(/new sandbox in/, 60_000);
      await proc.waitForLine(/deploying 3 brokers/, READY_TIMEOUT_MS);
      await proc.waitForLine(/broker \d: task running/, 120_000);
      await stopAndCheck(proc, 1);
      const events = proc
        .tail(400)
        .split('\n')
        .map((line) => JSON.parse(line) as { event: string; message?: string });
      assert.ok(events.every((e) => e.event === 'progress' || e.event === 'warning'), 'never ready, every line a JSON event');
      assert.ok(events.some((e) => e.message === 'stopped; nothing left running'));
    });
  });
});
