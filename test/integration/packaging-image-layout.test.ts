/**
 * The kmf image's runtime stage, run without Docker (no engine on our machines): this test lays out in a
 * temporary directory exactly what the Dockerfile's runtime stage COPYs (read from the Dockerfile itself),
 * with the build stage's steps done the same way (`tsc` into dist/, `npm ci --omit=dev` for node_modules, the
 * runtime tarball and manifest from scripts/runtime.sh), then starts the image's ENTRYPOINT + CMD there with
 * the image's ENV, against a real ZooKeeper and `kmf mesos-sim`. It shows that the shipped files are enough
 * (no TypeScript sources, no dev dependencies), that the HEALTHCHECK command passes on a running
 * scheduler and fails without one, and that a second instance from the same layout is a hot standby that takes
 * over when the first gets the SIGTERM `docker stop` sends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import { copies, envOf, execForm, healthcheck, stageNamed, stages, type Stage } from '../helpers/dockerfile.js';
import { freePort } from '../helpers/ports.js';
import { spawnManaged, type ManagedProcess } from '../helpers/processes.js';
import { api, API_TOKEN, chroot, ROOT, startSim, waitFor, waitReady } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const dockerfile = stages(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const runtimeStage: Stage = stageNamed(dockerfile, 'runtime');

let work: string;
let app: string;
let zk: ZooKeeperServer | undefined;
let sim: SimCluster | undefined;
const started: ManagedProcess[] = [];

/** Runs a command to completion; resolves with its exit code and output. */
function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Where a `COPY --from=STAGE /app/…` source comes from here: dist/ from our tsc run, node_modules from our
 * production install; the build stage's .kmf/runtime is what scripts/runtime.sh (run by scripts/setup.sh, the
 * same script the build stage runs) assembled in the checkout.
 */
function sourceOf(from: string | undefined, src: string, build: string, deps: string): string {
  if (from === undefined) return path.join(ROOT, src);
  const rel = src.replace(/^\/app\//, '');
  assert.notEqual(rel, src, `COPY --from=${from} ${src}: expected a path under /app`);
  if (from === 'deps') return path.join(deps, rel);
  if (from === 'build') return rel.startsWith('dist/') ? path.join(build, rel) : path.join(ROOT, rel);
  throw new Error(`COPY --from=${from}: unknown stage`);
}

/** Expands a trailing `*` glob in the last path segment (COPY … kafka-*.tgz). */
function expand(file: string): string[] {
  const base = path.basename(file);
  if (!base.includes('*')) return [file];
  const re = new RegExp(`^${base.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return fs.readdirSync(path.dirname(file)).filter((f) => re.test(f)).map((f) => path.join(path.dirname(file), f));
}

function layOut(build: string, deps: string): void {
  for (const step of copies(runtimeStage)) {
    for (const src of step.sources) {
      const matches = expand(sourceOf(step.from, src, build, deps));
      assert.ok(matches.length > 0, `COPY ${step.from ?? 'context'}:${src} matches nothing`);
      for (const m of matches) {
        const dest = step.dest.endsWith('/') || matches.length > 1 || src.includes('*') ? path.join(app, step.dest, path.basename(m)) : path.join(app, step.dest);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.cpSync(m, dest, { recursive: true, dereference: false });
      }
    }
  }
}

/** The image's ENTRYPOINT + CMD, with `node` being this Node, in the image's WORKDIR, with the image's ENV. */
function startFromImage(name: string, env: Record<string, string>): ManagedProcess {
  const [node, ...entry] = execForm(runtimeStage, 'ENTRYPOINT');
  assert.equal(node, 'node');
  const imageEnv = Object.fromEntries(envOf(runtimeStage));
  const proc = spawnManaged({
    name,
    command: process.execPath,
    args: [...entry, ...execForm(runtimeStage, 'CMD')],
    cwd: app,
    // A clean environment like a container's: PATH, HOME, the image's ENV, then the container's settings.
    env: { PATH: '/usr/bin:/bin', HOME: work, ...imageEnv, ...env },
  });
  started.push(proc);
  return proc;
}

/** Runs the image's HEALTHCHECK command with the container's environment; resolves with its exit code. */
async function healthcheckExit(env: Record<string, string>): Promise<number | null> {
  const [node, ...args] = healthcheck(runtimeStage).argv;
  assert.equal(node, 'node');
  return (await run(process.execPath, args, { cwd: app, env: { PATH: '/usr/bin:/bin', ...env } })).code;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-image-'));
  app = path.join(work, 'app');
  const build = path.join(work, 'build');
  const deps = path.join(work, 'deps');
  fs.mkdirSync(app);
  fs.mkdirSync(deps);
  // The build stage's `npm run build` is `tsc -p tsconfig.json`; only the output directory differs here.
  const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--outDir', path.join(build, 'dist')], { cwd: ROOT });
  assert.equal(tsc.code, 0, tsc.output);
  // The deps stage: production dependencies only, from the lockfile (the npm cache makes this quick).
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(deps, 'package.json'));
  fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(deps, 'package-lock.json'));
  const npm = await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: deps });
  assert.equal(npm.code, 0, npm.output);
  layOut(build, deps);
  zk = await startZooKeeper();
  sim = await startSim({ agents: 1 });
});

after(async () => {
  for (const p of started) await p.stop(5_000);
  await sim?.stop();
  await zk?.stop();
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

describe('the image runtime stage, laid out from the Dockerfile and run without Docker', () => {
  test('holds only the shipped files: no TypeScript sources, no dev dependencies', () => {
    assert.deepEqual(fs.readdirSync(app).sort(), ['.kmf', 'bin', 'dist', 'node_modules', 'package.json', 'proto']);
    assert.deepEqual(fs.readdirSync(path.join(app, 'dist')), ['src']);
    assert.ok(fs.existsSync(path.join(app, 'dist', 'src', 'cli', 'main.js')));
    const modules = fs.readdirSync(path.join(app, 'node_modules'));
    for (const dev of ['typescript', 'typescript-eslint', 'eslint', 'fast-check', 'dclint', 'dockerfile-utils']) assert.ok(!modules.includes(dev), `${dev} is a dev dependency`);
    const manifest = JSON.parse(fs.readFileSync(path.join(app, '.kmf', 'runtime', 'manifest.json'), 'utf8')) as { kafka: { tarball: string } };
    assert.ok(fs.existsSync(path.join(app, '.kmf', 'runtime', path.basename(manifest.kafka.tarball))), 'the tarball the manifest names is shipped');
  });

  test('the image command starts a scheduler that subscribes, passes the HEALTHCHECK, and has a hot standby', async () => {
    assert.ok(zk && sim);
    const zkSpec = `${zk.connectString}${chroot('image')}`;
    const common = { KMF_MASTER: sim.masterUrl, KMF_ZK: zkSpec, KMF_API_TOKEN: API_TOKEN, KMF_USER: os.userInfo().username, KMF_LOG_LEVEL: 'info' };
    // Loopback only here; the image's 0.0.0.0 default is what a container needs.
    const portA = await freePort();
    const envA = { ...common, KMF_API: `127.0.0.1:${portA}` };
    const a = startFromImage('kmf-image-a', envA);
    await a.waitForLine(/^kmf scheduler api /, 60_000);
    const urlA = `http://127.0.0.1:${portA}`;
    await waitReady(urlA);
    assert.equal(await healthcheckExit(envA), 0, 'HEALTHCHECK on the leader');

    const portB = await freePort();
    const envB = { ...common, KMF_API: `127.0.0.1:${portB}` };
    const b = startFromImage('kmf-image-b', envB);
    await b.waitForLine(/^kmf scheduler api /, 60_000);
    const urlB = `http://127.0.0.1:${portB}`;
    // Right after start it reports `starting`, then `follower` once it has joined the election.
    await waitFor('the second instance to follow', async () => {
      const health = await api(urlB, 'GET', '/health', undefined, null);
      assert.equal(health.status, 200);
      return health.body.role === 'follower' ? true : undefined;
    });
    assert.equal((await api(urlB, 'GET', '/ready', undefined, null)).status, 503);
    assert.equal(await healthcheckExit(envB), 0, 'HEALTHCHECK on the standby (Marathon and Docker must not restart it)');

    // `docker stop` sends SIGTERM to the container's process; the standby then leads.
    a.signal('SIGTERM');
    const exit = await a.exited;
    assert.equal(exit.code, 0, a.tail(30));
    await waitReady(urlB);
    assert.equal(await healthcheckExit(envA), 1, 'HEALTHCHECK fails once the process is gone');
    await waitFor('the standby to report itself leader', async () => ((await api(urlB, 'GET', '/health', undefined, null)).body.role === 'leader' ? true : undefined));
  });
});
