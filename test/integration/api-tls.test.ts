/**
 * The admin API over TLS: `kmf scheduler --api-tls-cert/--api-tls-key` serves HTTPS and advertises an
 * https:// URL; the `kmf` verbs reach it with --ca-file and refuse a certificate they cannot verify; plain
 * HTTP gets nowhere; a certificate without its key is refused before anything starts. The certificate
 * authority and the server certificate are made with openssl for this run.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import type { SimCluster } from '../../src/sim/cluster.js';
import { API_TOKEN, chroot, ROOT, spawnScheduler, startSim, waitFor, type SchedulerProcess } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let sched: SchedulerProcess;
let dir: string;
let caFile: string;

function makePki(): { cert: string; key: string; ca: string } {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-api-tls-'));
  const f = (n: string): string => path.join(dir, n);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=kmf api test CA');
  openssl('req', ...ec, '-keyout', f('api.key'), '-out', f('api.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', f('api.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('api.crt'), '-days', '2', '-extfile', f('san.ext'));
  return { cert: f('api.crt'), key: f('api.key'), ca: f('ca.crt') };
}

function kmf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'kmf.js'), ...args], { env: { ...clean, KMF_API_URL: sched.apiUrl, KMF_API_TOKEN: API_TOKEN }, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr });
    });
  });
}

before(async () => {
  const pki = makePki();
  caFile = pki.ca;
  zk = await startZooKeeper();
  sim = await startSim({ agents: 1 });
  sched = await spawnScheduler('tls-scheduler', `${zk.connectString}${chroot('tls')}`, sim.masterUrl, ['--api-tls-cert', pki.cert, '--api-tls-key', pki.key]);
  const agent = new Agent({ connect: { ca: fs.readFileSync(caFile) } });
  try {
    await waitFor('the TLS scheduler to be ready', async () => {
      const r = await request(new URL('/ready', sched.apiUrl), { dispatcher: agent });
      await r.body.dump();
      return r.statusCode === 200 || undefined;
    });
  } finally {
    await agent.close();
  }
});

after(async () => {
  await sched?.process.stop();
  await sim?.stop();
  await zk?.stop();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

test('HTTPS with the certificate; kmf trusts it with --ca-file and refuses it without', async () => {
  assert.match(sched.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ok = await kmf(['status', '--json', '--ca-file', caFile]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).leader.address, sched.apiUrl, 'the leader advertises its https URL');
  const untrusted = await kmf(['status']);
  assert.equal(untrusted.code, 5);
  assert.match(untrusted.stderr, /cannot reach the kmf API .*certificate/i);
  const plain = await kmf(['status', '--api', sched.apiUrl.replace('https:', 'http:')]);
  assert.equal(plain.code, 5, 'plain HTTP to the TLS port gets no answer');
});

test('a certificate without its key is refused before anything starts', () => {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kmf.js'), 'scheduler', '--master', 'http://127.0.0.1:1', '--zk', '127.0.0.1:1/kmf', '--api-tls-cert', path.join(dir, 'api.crt')], {
    env: { ...clean, KMF_API_TOKEN: API_TOKEN },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--api-tls-cert and --api-tls-key go together/);
});
