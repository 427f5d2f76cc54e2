/**
 * SimAgent containers: the fetcher (tarball over HTTP, executable, output_file, zip, gz, file://, cache,
 * failures), persistent volumes across task restarts, and LAUNCH_GROUP through the default executor.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutorInfo, Resource } from '../../src/mesos/types.js';
import { commandTask, framework, readEnvDump, startAgent, TERMINAL, type Harness } from '../helpers/sim-agent-harness.js';

void describe('SimAgent fetcher', () => {
  let h: Harness;
  let files: string;
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();

  void before(async () => {
    h = await startAgent();
    files = mkdtempSync(join(tmpdir(), 'kmf-sim-fetch-'));
    // app.tar.gz holds app/hello.txt and app/bin/run.sh; built with the system tar like any artifact.
    const src = join(files, 'src');
    mkdirSync(join(src, 'app', 'bin'), { recursive: true });
    writeFileSync(join(src, 'app', 'hello.txt'), 'hello from the tarball\n');
    writeFileSync(join(src, 'app', 'bin', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    execFileSync('tar', ['-C', src, '-czf', join(files, 'app.tar.gz'), 'app']);
    execFileSync('zip', ['-q', '-r', join(files, 'z.zip'), 'app'], { cwd: src });
    writeFileSync(join(files, 'tool.sh'), '#!/bin/sh\necho tool "$@"\n');
    writeFileSync(join(files, 'conf.properties'), 'broker.id=1\n');
    writeFileSync(join(files, 'plain.txt'), 'gunzipped\n');
    execFileSync('gzip', ['-k', join(files, 'plain.txt')]);
    server = createServer((req, res) => {
      const name = (req.url ?? '/').slice(1).split('?')[0] ?? '';
      hits.set(name, (hits.get(name) ?? 0) + 1);
      if (name === 'moved.tar.gz') {
        res.writeHead(302, { Location: '/app.tar.gz' });
        res.end();
        return;
      }
      const path = join(files, name);
      if (name === '' || name.includes('..') || !existsSync(path)) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200);
      res.end(readFileSync(path));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  void after(async () => {
    await h.cleanup();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(files, { recursive: true, force: true });
  });

  void test('http tarball is extracted (and kept), executable is chmod 755, output_file lands in a sub-directory', async () => {
    h.agent.launchTasks(framework(), [
      commandTask('fetch-1', {
        uris: [
          { value: `${base}/app.tar.gz` },
          { value: `${base}/tool.sh`, executable: true },
          { value: `${base}/conf.properties`, output_file: 'config/server.properties' },
          { value: `${base}/moved.tar.gz`, extract: false },
          { value: `${base}/plain.txt.gz` },
        ],
        value: [
          'set -e',
          'test "$(cat app/hello.txt)" = "hello from the tarball"',
          'test "$(app/bin/run.sh)" = ran',
          'test -f app.tar.gz',
          'test "$(./tool.sh x)" = "tool x"',
          'test "$(stat -c %a tool.sh)" = 755',
          'test "$(cat config/server.properties)" = broker.id=1',
          'test -f moved.tar.gz',
          'test "$(cat plain.txt)" = gunzipped',
        ].join('\n'),
      }),
    ]);
    const s = await h.uplink.waitForState('fetch-1', TERMINAL);
    assert.equal(s.state, 'TASK_FINISHED', s.message);
  });

  void test('zip archives and file:// URIs', async () => {
    h.agent.launchTasks(framework(), [
      commandTask('fetch-zip', {
        uris: [{ value: `${base}/z.zip` }, { value: `file://${join(files, 'conf.properties')}` }, { value: join(files, 'tool.sh'), output_file: 'bin/t.sh' }],
        value: 'set -e; test "$(cat app/hello.txt)" = "hello from the tarball"; test -f conf.properties; test -f bin/t.sh',
      }),
    ]);
    const s = await h.uplink.waitForState('fetch-zip', TERMINAL);
    assert.equal(s.state, 'TASK_FINISHED', s.message);
  });

  void test('cache: true downloads once per agent and extracts from the cache', async () => {
    hits.delete('app.tar.gz');
    const uri = { value: `${base}/app.tar.gz?v=cache`, cache: true, output_file: 'app.tar.gz' };
    h.agent.launchTasks(framework(), [commandTask('cache-1', { uris: [uri], value: 'test -f app/hello.txt && test ! -e app.tar.gz' })]);
    assert.equal((await h.uplink.waitForState('cache-1', TERMINAL)).state, 'TASK_FINISHED');
    h.agent.launchTasks(framework(), [commandTask('cache-2', { uris: [uri], value: 'test -f app/hello.txt' })]);
    assert.equal((await h.uplink.waitForState('cache-2', TERMINAL)).state, 'TASK_FINISHED');
    assert.equal(hits.get('app.tar.gz'), 1);
  });

  void test('a failed fetch is TASK_FAILED from the agent with REASON_CONTAINER_LAUNCH_FAILED, no STARTING', async () => {
    h.agent.launchTasks(framework(), [
      commandTask('fetch-404', { uris: [{ value: `${base}/missing.tgz` }], value: 'true' }),
      commandTask('fetch-abs', { uris: [{ value: `${base}/tool.sh`, output_file: '/tmp/evil' }], value: 'true' }),
    ]);
    for (const id of ['fetch-404', 'fetch-abs']) {
      const s = await h.uplink.waitForState(id, TERMINAL);
      assert.equal(s.state, 'TASK_FAILED');
      assert.equal(s.source, 'SOURCE_AGENT');
      assert.equal(s.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
      assert.match(s.message ?? '', /^Failed to launch container: Failed to fetch all URIs/);
      assert.deepEqual(h.uplink.statesOf(id), ['TASK_FAILED']);
    }
    assert.match(h.uplink.updatesOf('fetch-404')[0]?.message ?? '', /HTTP return code 404/);
  });
});

void describe('SimAgent persistent volumes', () => {
  let h: Harness;
  void before(async () => {
    h = await startAgent();
  });
  void after(async () => {
    await h.cleanup();
  });

  const volume: Resource = {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: 64 },
    reservations: [{ type: 'DYNAMIC', role: 'kafka', principal: 'kmf' }],
    disk: { persistence: { id: 'broker-0-data' }, volume: { container_path: 'data', mode: 'RW' } },
  };

  void test('a volume outlives the task that wrote it and is gone after DESTROY', async () => {
    const path = h.agent.createVolume('kafka', 'broker-0-data');
    assert.equal(path, join(h.workDir, 'volumes', 'roles', 'kafka', 'broker-0-data'));
    const fw = framework('fw-vol', { roles: ['kafka'] });

    h.agent.launchTasks(fw, [commandTask('writer', { value: 'echo kept > data/state.txt' }, { resources: [volume] })]);
    assert.equal((await h.uplink.waitForState('writer', TERMINAL)).state, 'TASK_FINISHED');
    assert.equal(readFileSync(join(path, 'state.txt'), 'utf8'), 'kept\n');

    // A new task (new sandbox) on the same volume reads what the first one wrote.
    h.agent.launchTasks(fw, [commandTask('reader', { value: 'test "$(cat data/state.txt)" = kept' }, { resources: [volume] })]);
    assert.equal((await h.uplink.waitForState('reader', TERMINAL)).state, 'TASK_FINISHED');

    h.agent.destroyVolume('kafka', 'broker-0-data');
    assert.equal(existsSync(path), false);
  });

  void test('an absolute container_path fails the launch', async () => {
    const abs: Resource = { ...volume, disk: { persistence: { id: 'v-abs' }, volume: { container_path: '/var/lib/data', mode: 'RW' } } };
    h.agent.launchTasks(framework(), [commandTask('abs-vol', { value: 'true' }, { resources: [abs] })]);
    const s = await h.uplink.waitForState('abs-vol', TERMINAL);
    assert.equal(s.state, 'TASK_FAILED');
    assert.equal(s.reason, 'REASON_CONTAINER_LAUNCH_FAILED');
  });
});

void describe('SimAgent default executor (LAUNCH_GROUP)', () => {
  let h: Harness;
  void before(async () => {
    h = await startAgent();
  });
  void after(async () => {
    await h.cleanup();
  });

  const executor: ExecutorInfo = {
    type: 'DEFAULT',
    executor_id: { value: 'group-exec' },
    resources: [
      { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: 'apps' } },
      { name: 'mem', type: 'SCALAR', scalar: { value: 32 }, allocation_info: { role: 'apps' } },
    ],
  };

  void test('each task runs in its nested sandbox; when one fails the rest of the group is killed', async () => {
    const cpus: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 0.1 }, allocation_info: { role: 'apps' } };
    h.agent.launchGroup(framework(), executor, [
      commandTask('g-sleeper', { value: 'cat /proc/self/environ > env.dump; sleep 100' }, { resources: [cpus] }),
      commandTask('g-failer', { value: 'sleep 0.3; exit 2' }, { resources: [cpus] }),
    ]);
    const failed = await h.uplink.waitForState('g-failer', TERMINAL);
    assert.equal(failed.state, 'TASK_FAILED');
    assert.equal(failed.message, 'Command exited with status 2');
    const killed = await h.uplink.waitForState('g-sleeper', TERMINAL);
    assert.equal(killed.state, 'TASK_KILLED');
    assert.deepEqual(h.uplink.statesOf('g-sleeper'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    for (const s of h.uplink.updatesOf('g-sleeper')) {
      assert.equal(s.executor_id?.value, 'group-exec');
      assert.equal(s.source, 'SOURCE_EXECUTOR');
    }
    const exit = await h.uplink.waitFor('executor exit', () => h.uplink.exits.find((e) => e.executorId === 'group-exec'));
    assert.equal(exit.waitStatus, 0);

    const execDir = join(h.workDir, 'slaves', 'M-S0', 'frameworks', 'fw-0000', 'executors', 'group-exec', 'runs', 'latest');
    const env = readEnvDump(join(execDir, 'tasks', 'g-sleeper', 'env.dump'));
    assert.match(env['MESOS_SANDBOX'] ?? '', /\/executors\/group-exec\/runs\/[^/]+\/containers\/[^/]+$/);
    assert.equal(env['MESOS_CONTAINER_IP'], '127.0.0.1');
    assert.equal(env['MESOS_ALLOCATION_ROLE'], 'apps');
  });

  void test('a group whose tasks all finish ends the executor with status 0', async () => {
    h.agent.launchGroup(framework(), { ...executor, executor_id: { value: 'group-2' } }, [
      commandTask('g2-a', { value: 'exit 0' }),
      commandTask('g2-b', { value: 'exit 0' }),
    ]);
    assert.equal((await h.uplink.waitForState('g2-a', TERMINAL)).state, 'TASK_FINISHED');
    assert.equal((await h.uplink.waitForState('g2-b', TERMINAL)).state, 'TASK_FINISHED');
    const exit = await h.uplink.waitFor('executor exit', () => h.uplink.exits.find((e) => e.executorId === 'group-2'));
    assert.equal(exit.waitStatus, 0);
  });
});
