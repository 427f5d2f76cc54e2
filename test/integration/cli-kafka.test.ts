/**
 * The Kafka verbs of `kmf` against a real Kafka broker run by kmf: ZooKeeper, the sim (one agent with an
 * address of its own), a `kmf scheduler` process, and the real `kmf` binary: `broker add --wait`,
 * `broker list/show`, `endpoints`, `topic create/partitions/config/show/list/delete`, with the exit codes
 * for refused changes and unknown names, and the changes on the timeline.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SimCluster } from '../../src/sim/cluster.js';
import { API_TOKEN, chroot, ROOT, spawnScheduler, startSim, waitReady, type SchedulerProcess } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
let sim: SimCluster;
let sched: SchedulerProcess;

function kmf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kmf.js'), ...args],
      { env: { ...clean, KMF_API_URL: sched.apiUrl, KMF_API_TOKEN: API_TOKEN }, cwd: ROOT, timeout: 300_000, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr }),
    );
  });
}

function json<T>(r: { code: number; stdout: string; stderr: string }): T {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Topic {
  name: string;
  replicationFactor: number;
  partitions: Array<{ partition: number; leader: number }>;
  configs: Record<string, { value: string | null; source: string }>;
}

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 1, resources: 'cpus:2;mem:4096;disk:8000;ports:[31000-31100]', agentAddresses: 'distinct' });
  sched = await spawnScheduler('kafka-cli-scheduler', `${zk.connectString}${chroot('kafka-cli')}`, sim.masterUrl, ['--kafka-bind-host', '{{host}}']);
  await waitReady(sched.apiUrl);
});

after(async () => {
  await sched?.process.stop();
  await sim?.stop();
  await zk?.stop();
});

describe('kmf broker, topic and endpoints against a real broker', { timeout: 400_000 }, () => {
  test('broker add --wait, list, show, endpoints', async () => {
    const added = json<{ brokers: Array<{ id: number; state: string; ready: boolean; host: string; port: number }> }>(
      await kmf(['broker', 'add', '1', '--cpus', '0.5', '--mem', '768', '--heap', '384', '--disk', '1000', '--jvm-opts=-XX:+UseSerialGC', '--wait', '--json']),
    );
    assert.equal(added.brokers.length, 1);
    const b = added.brokers[0]!;
    assert.deepEqual([b.id, b.state, b.ready], [0, 'running', true]);
    const list = await kmf(['broker', 'list']);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^ID +STATE +READY +ROLES +ADDRESS/m);
    assert.match(list.stdout, new RegExp(`^0 +running +yes +broker,controller +${b.host.replace(/\./g, '\\.')}:${b.port} `, 'm'));
    assert.equal((await kmf(['broker', 'show', '7'])).code, 3);
    const ep = await kmf(['endpoints']);
    assert.equal(ep.stdout.trim(), `${b.host}:${b.port}`);
  });

  test('topic create, partitions, config, show, list, delete', async () => {
    const created = json<Topic>(await kmf(['topic', 'create', 'events', '--partitions', '1', '--replication-factor', '1', '--config', 'retention.ms=3600000', '--json']));
    assert.equal(created.partitions.length, 1);
    assert.equal(created.configs['retention.ms']?.value, '3600000');
    assert.equal((await kmf(['topic', 'create', 'events', '--partitions', '1', '--replication-factor', '1'])).code, 4, 'the topic exists');

    const grown = json<Topic>(await kmf(['topic', 'partitions', 'events', '3', '--json']));
    assert.equal(grown.partitions.length, 3);
    const shrink = await kmf(['topic', 'partitions', 'events', '2']);
    assert.equal(shrink.code, 2);
    assert.match(shrink.stderr, /has 3 partitions; the new count must be higher/);

    const changed = json<Topic>(await kmf(['topic', 'config', 'events', '--set', 'cleanup.policy=compact', '--unset', 'retention.ms', '--json']));
    assert.deepEqual([changed.configs['cleanup.policy']?.value, changed.configs['cleanup.policy']?.source], ['compact', 'topic']);
    assert.notEqual(changed.configs['retention.ms']?.source, 'topic', 'the override is gone');
    assert.equal((await kmf(['topic', 'config', 'events'])).code, 2, 'nothing to change');
    assert.equal((await kmf(['topic', 'config', 'events', '--set', 'Bad Name=1'])).code, 2);

    const shown = await kmf(['topic', 'show', 'events']);
    assert.match(shown.stdout, /^topic events: 3 partition\(s\), replication factor 1/m);
    assert.match(shown.stdout, /^cleanup\.policy +compact$/m);
    assert.ok(json<{ topics: string[] }>(await kmf(['topic', 'list', '--json'])).topics.includes('events'));

    assert.equal((await kmf(['topic', 'delete', 'events'])).code, 0);
    assert.equal((await kmf(['topic', 'show', 'events'])).code, 3);
    assert.equal((await kmf(['topic', 'partitions', 'nope', '2'])).code, 3);

    const ops = json<{ entries: Array<{ who: string; message: string }> }>(await kmf(['events', '--kind', 'operator', '--json'])).entries.map((e) => `${e.who}: ${e.message}`);
    for (const re of [/^admin: added broker\(s\) 0/, /^admin: created topic events/, /^admin: grew topic events to 3 partitions/, /^admin: changed configs of topic events: cleanup\.policy=compact, retention\.ms reset/, /^admin: deleted topic events/]) {
      assert.ok(ops.some((o) => re.test(o)), `${re} in ${JSON.stringify(ops)}`);
    }
  });
});
