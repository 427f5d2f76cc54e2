/**
 * The broker lifecycle verbs end to end: a real ZooKeeper, the sim with four agents (distinct loopback
 * addresses), a kmf scheduler in this process, real Kafka brokers launched by it, and the real `kmf` binary.
 *  - 3 combined brokers, then a 4th added with `kmf broker add`; `kmf controller list` shows the quorum;
 *  - a topic with RF 3 and data; `DELETE /api/v1/brokers/3` (+ `kmf broker remove 3 --wait`): its replicas
 *    move to the others, every message still reads back, its task is gone, its reservation and volume are
 *    released, and Kafka no longer has it registered;
 *  - restart one broker (and an update refused while that roll runs), update one broker's overrides, replace
 *    one (same id, fresh volume, back in every ISR), stop and start one (same agent), a rolling restart;
 *  - every change on the timeline with who made it; refused verbs exit with the documented codes;
 *  - a removal accepted right before the scheduler stops is carried out by the next leader (the draining
 *    intent is in ZooKeeper).
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import { isrRecovered } from '../../src/kafka/roll-safety.js';
import { describeTopic } from '../../src/kafka/topics.js';
import { unregisterBroker } from '../../src/kafka/unregister-broker.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { api, API_TOKEN, chroot, liveByUnit, ROOT, startInProcess, startSim, waitFor, waitReady, type SchedulerHandle } from '../helpers/scheduler-harness.js';
import { freePort } from '../helpers/ports.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;

let zk: ZooKeeperServer;
let sim: SimCluster;
let scheduler: SchedulerHandle;
let zkUrl: string;
/** A fixed API port: a restarted scheduler serves the Kafka tarball at the same URL (no template change). */
let apiPort: number;
const clients: Array<{ disconnect(): Promise<void> }> = [];

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 4, resources: 'cpus:2;mem:4096;disk:8000;ports:[31000-31100]', agentAddresses: 'distinct' });
  zkUrl = `${zk.connectString}${chroot('kafka-ops')}`;
  apiPort = await freePort();
  scheduler = await startInProcess(zkUrl, sim.masterUrl, { kafkaBindHost: '{{host}}', api: { host: '127.0.0.1', port: apiPort } });
  await waitReady(scheduler.apiUrl);
});

after(async () => {
  for (const c of clients) await c.disconnect().catch(() => undefined);
  await scheduler?.shutdown();
  await sim?.stop();
  await zk?.stop();
});

interface Broker {
  id: number;
  state: string;
  goal: string;
  ready: boolean;
  taskId?: string;
  agentId?: string;
  host?: string;
  port?: number;
  overrides?: Record<string, string>;
  removal?: { partitionsLeft?: number };
}

function kmf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KMF_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kmf.js'), ...args],
      { env: { ...clean, KMF_API_URL: scheduler.apiUrl, KMF_API_TOKEN: API_TOKEN }, cwd: ROOT, timeout: 300_000, maxBuffer: 10 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr }),
    );
  });
}

function json<T>(r: { code: number; stdout: string; stderr: string }): T {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function brokers(): Promise<Broker[]> {
  const r = await api(scheduler.apiUrl, 'GET', '/api/v1/brokers');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.brokers;
}

async function broker(id: number): Promise<Broker> {
  const b = (await brokers()).find((x) => x.id === id);
  assert.ok(b !== undefined, `broker ${id} listed`);
  return b;
}

async function bootstrap(): Promise<string[]> {
  return (await api(scheduler.apiUrl, 'GET', '/api/v1/endpoints')).body.bootstrapServers;
}

async function unit(name: string): Promise<{ state: string; reservation?: { volumeId?: string; hostname: string } } | undefined> {
  const r = await api(scheduler.apiUrl, 'GET', '/api/v1/units');
  return (r.body.units as Array<{ name: string; state: string; reservation?: { volumeId?: string; hostname: string } }>).find((u) => u.name === name);
}

async function withAdmin<T>(fn: (a: KafkaAdmin) => Promise<T>): Promise<T> {
  const admin = new KafkaAdmin({ brokers: await bootstrap(), clientId: 'kmf-test' });
  try {
    return await fn(admin);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function backInEveryIsr(id: number): Promise<void> {
  await waitFor(`broker ${id} back in every ISR`, () => withAdmin(async (a) => ((await isrRecovered(a, id).catch(() => undefined))?.ok === true ? true : undefined)), 120_000, 1_000);
}

const TOPIC = 'ledger';
const sent: string[] = [];

async function produce(from: number, count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'kmf-test', brokers: await bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  clients.push(producer);
  await producer.connect();
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) => `m-${from + i + j}`);
    await producer.send({ topic: TOPIC, acks: -1, messages: batch.map((v) => ({ key: v, value: v })) });
    sent.push(...batch);
  }
  await producer.disconnect();
}

async function readAll(): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'kmf-test', brokers: await bootstrap(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}` });
  clients.push(consumer);
  const got: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      got.push(message.value?.toString('utf8') ?? '');
      return Promise.resolve();
    },
  });
  await waitFor(`${sent.length} messages read back (have ${got.length})`, () => (got.length >= sent.length ? true : undefined), 90_000);
  await consumer.disconnect();
  return got;
}

async function assertEveryMessage(): Promise<void> {
  const got = await readAll();
  assert.deepEqual([...got].sort(), [...sent].sort());
}

async function waitRunning(id: number, other: (b: Broker) => boolean = () => true): Promise<Broker> {
  return waitFor(
    `broker ${id} running and ready`,
    async () => {
      const b = (await brokers()).find((x) => x.id === id);
      return b !== undefined && b.state === 'running' && b.ready && other(b) ? b : undefined;
    },
    150_000,
    500,
  );
}

describe('broker lifecycle on real Kafka', { timeout: 900_000 }, () => {
  test('three brokers deploy; a fourth is added with the CLI; controllers are listed', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', { count: 3, cpus: 0.5, mem: 640, heap: 320, disk: 1000, jvmOpts: '-XX:+UseSerialGC' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    for (const id of [0, 1, 2]) await waitRunning(id);
    const added = json<{ brokers: Broker[] }>(await kmf(['broker', 'add', '1', '--wait', '--json']));
    assert.equal(added.brokers.find((b) => b.id === 3)?.ready, true, JSON.stringify(added));
    const all = await brokers();
    assert.equal(new Set(all.map((b) => b.agentId)).size, 4, 'one broker per agent');

    const ctl = json<{ controllers: Array<{ id: number; kind: string; voter?: boolean; leader?: boolean; host?: string }>; quorum: { reachable: boolean; leaderId?: number } }>(
      await kmf(['controller', 'list', '--json']),
    );
    assert.deepEqual(ctl.controllers.map((c) => [c.id, c.kind, c.voter]), [[0, 'combined', true], [1, 'combined', true], [2, 'combined', true]]);
    assert.equal(ctl.quorum.reachable, true);
    assert.equal(ctl.controllers.filter((c) => c.leader === true).length, 1);
    assert.equal(ctl.controllers.find((c) => c.leader === true)?.id, ctl.quorum.leaderId);
    const table = await kmf(['controller', 'list']);
    assert.match(table.stdout, /^ID +KIND +STATE +ADDRESS +TASK +VOTER +LEADER/m);
  });

  test('a topic with RF 3 spread over the four brokers takes acks=all writes', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/topics', { name: TOPIC, partitions: 4, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await produce(0, 200);
    await assertEveryMessage();
    const t = await withAdmin((a) => describeTopic(a, TOPIC));
    assert.ok(t.partitions.some((p) => p.replicas.includes(3)), 'broker 3 holds replicas to move');
  });

  test('removing a combined node is refused; removing broker 3 drains it, stops it, releases it and unregisters it', async () => {
    const refused = await kmf(['broker', 'remove', '0']);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /also a KRaft controller/);

    const victim = await broker(3);
    const del = await api(scheduler.apiUrl, 'DELETE', '/api/v1/brokers/3');
    assert.equal(del.status, 202, JSON.stringify(del.body));
    assert.equal(del.body.broker.state, 'draining');
    // Seen while waiting: the drain's progress on the broker view (how far it gets depends on timing).
    const seen: string[] = [];
    const watcher = (async () => {
      for (;;) {
        const r = await api(scheduler.apiUrl, 'GET', '/api/v1/brokers/3');
        if (r.status === 404) return;
        seen.push(`${r.body.state}${r.body.removal?.partitionsLeft === undefined ? '' : `:${r.body.removal.partitionsLeft}`}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const removed = json<{ removed: number }>(await kmf(['broker', 'remove', '3', '--wait', '--json']));
    assert.deepEqual(removed, { removed: 3 });
    await watcher;
    console.log(`broker 3 removal, states seen: ${[...new Set(seen)].join(' → ')}`);
    assert.ok(seen.every((s) => /^(draining|removing)/.test(s)), seen.join(','));

    assert.equal((await api(scheduler.apiUrl, 'GET', '/api/v1/brokers/3')).status, 404);
    assert.deepEqual((await brokers()).map((b) => b.id), [0, 1, 2]);
    // Every partition keeps RF 3, none on broker 3, full ISR.
    const t = await withAdmin((a) => describeTopic(a, TOPIC));
    for (const p of t.partitions) {
      assert.equal(p.replicas.length, 3);
      assert.ok(!p.replicas.includes(3), `${TOPIC}-${p.partition} ${p.replicas.join(',')}`);
    }
    await assertEveryMessage();
    // The task is gone, and the agent gave its reservation and volume back.
    assert.equal((liveByUnit(sim).get('kafka/broker-3') ?? []).length, 0);
    assert.equal(await unit('kafka/broker-3'), undefined);
    const reservedOf = (agentId: string | undefined): string[] =>
      (sim.master()?.agentRecords().find((a) => a.id === agentId)?.total ?? [])
        .filter((r) => (r.reservations ?? []).some((x) => x.type === 'DYNAMIC') || r.disk?.persistence !== undefined)
        .map((r) => `${r.name}${r.disk?.persistence === undefined ? '' : ` volume ${r.disk.persistence.id}`}`);
    await waitFor(`the reservation of broker 3 on ${victim.agentId} released`, () => (reservedOf(victim.agentId).length === 0 ? true : undefined), 60_000, 500).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}; still reserved: ${reservedOf(victim.agentId).join(', ')}`);
    });
    // Kafka no longer has broker 3 registered: unregistering it again finds nothing.
    assert.deepEqual(await unregisterBroker(await bootstrap(), 3), { wasRegistered: false });
    const drained = (await api(scheduler.apiUrl, 'GET', '/api/v1/timeline?kind=desired&limit=1000')).body.entries as Array<{ message: string }>;
    assert.ok(drained.some((e) => /^draining broker 3: moving the replicas of [1-9]\d* partition\(s\) to broker\(s\) 0, 1, 2$/.test(e.message)), JSON.stringify(drained));
    assert.ok(drained.some((e) => /^broker 3 removed: .* unregistered from the cluster metadata$/.test(e.message)), JSON.stringify(drained));
  });

  test('restart one broker: a new task on the same agent; an update while that roll runs is refused', async () => {
    const b1 = await broker(1);
    const r = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers/1/restart');
    assert.equal(r.status, 202, JSON.stringify(r.body));
    // The roll runs until broker 1's new JVM is registered: a change on top of it is 409 (exit 4), and writes nothing.
    const busy = await kmf(['broker', 'update', '2', '--option', 'num.io.threads=4']);
    assert.equal(busy.code, 4, busy.stderr);
    assert.match(busy.stderr, /being rolled/);
    const back = await waitRunning(1, (b) => b.taskId !== b1.taskId);
    assert.equal(back.agentId, b1.agentId);
    await backInEveryIsr(1);
    assert.equal((await broker(2)).overrides?.['num.io.threads'], undefined);
  });

  test('update one broker with the CLI: its override is set and it restarts', async () => {
    const b2 = await broker(2);
    const out = json<Broker>(await kmf(['broker', 'update', '2', '--option', 'num.io.threads=4', '--wait', '--json']));
    assert.equal(out.overrides?.['num.io.threads'], '4');
    const back = await waitRunning(2, (b) => b.taskId !== b2.taskId);
    assert.equal(back.agentId, b2.agentId);
    await backInEveryIsr(2);
    const removed = json<Broker>(await kmf(['broker', 'update', '2', '--remove-option', 'num.io.threads', '--wait', '--json']));
    assert.equal(removed.overrides?.['num.io.threads'], undefined);
    await waitRunning(2);
    await backInEveryIsr(2);
  });

  test('replace one broker: same id on a fresh volume, back in every ISR, nothing lost', async () => {
    const before = await broker(2);
    const volBefore = (await unit('kafka/broker-2'))?.reservation?.volumeId;
    assert.ok(volBefore !== undefined);
    const out = json<Broker>(await kmf(['broker', 'replace', '2', '--wait', '--json']));
    assert.equal(out.id, 2);
    assert.notEqual(out.taskId, before.taskId);
    const volAfter = (await unit('kafka/broker-2'))?.reservation?.volumeId;
    assert.ok(volAfter !== undefined && volAfter !== volBefore, `a fresh volume (${volBefore} → ${volAfter})`);
    await backInEveryIsr(2);
    await produce(200, 50);
    await assertEveryMessage();
  });

  test('stop and start one broker: the reservation stays, it comes back on its agent', async () => {
    const b0 = await broker(0);
    const stopped = json<Broker>(await kmf(['broker', 'stop', '0', '--wait', '--json']));
    assert.equal(stopped.state, 'stopped');
    assert.equal((liveByUnit(sim).get('kafka/broker-0') ?? []).length, 0);
    assert.ok((await unit('kafka/broker-0'))?.reservation !== undefined, 'the reservation is kept');
    assert.equal((await kmf(['broker', 'restart', '0'])).code, 4, 'a stopped broker is started, not restarted');
    const started = json<Broker>(await kmf(['broker', 'start', '0', '--wait', '--json']));
    assert.equal(started.state, 'running');
    assert.equal(started.agentId, b0.agentId);
    await backInEveryIsr(0);
  });

  test('a rolling restart with the CLI restarts every node, one at a time', async () => {
    const before = new Map((await brokers()).map((b) => [b.id, b.taskId]));
    assert.equal((await kmf(['broker', 'restart'])).code, 2, 'an id or --rolling is required');
    const out = json<Broker[] | { brokers: Broker[] }>(await kmf(['broker', 'restart', '--rolling', '--wait', '--json']));
    const after = 'brokers' in out ? out.brokers : out;
    for (const b of after) assert.notEqual(b.taskId, before.get(b.id), `broker ${b.id} restarted`);
    for (const id of [0, 1, 2]) await backInEveryIsr(id);
    await assertEveryMessage();

    const ops = (await api(scheduler.apiUrl, 'GET', '/api/v1/events?kind=operator&limit=1000')).body.entries as Array<{ who: string; message: string }>;
    const lines = ops.map((e) => `${e.who}: ${e.message}`);
    for (const re of [
      /^admin: removing broker 3: draining its partitions$/,
      /^admin: restarted broker 1$/,
      /^admin: updated broker 2: num\.io\.threads=4$/,
      /^admin: updated broker 2: num\.io\.threads removed$/,
      /^admin: replaced broker 2 \(fresh disk\)$/,
      /^admin: stopped broker 0$/,
      /^admin: started broker 0$/,
      /^admin: rolling restart of the Kafka cluster \(3 broker\(s\)\)$/,
    ]) {
      assert.ok(lines.some((l) => re.test(l)), `${re} in ${JSON.stringify(lines)}`);
    }
  });

  test('a removal accepted just before the scheduler stops is carried out by the next leader', async () => {
    const add = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', { count: 1 });
    assert.equal(add.status, 202, JSON.stringify(add.body));
    assert.deepEqual(add.body.brokers.map((b: Broker) => b.id), [4], 'ids are never reused: 3 is gone for good');
    await waitRunning(4);
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/topics', { name: 'audit', partitions: 4, replicationFactor: 3 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.ok((await withAdmin((a) => describeTopic(a, 'audit'))).partitions.some((p) => p.replicas.includes(4)), 'broker 4 holds replicas');

    const del = await api(scheduler.apiUrl, 'DELETE', '/api/v1/brokers/4');
    assert.equal(del.status, 202, JSON.stringify(del.body));
    // The leader goes away at once; the draining intent is in ZooKeeper, so the next leader finishes the job.
    await scheduler.shutdown();
    scheduler = await startInProcess(zkUrl, sim.masterUrl, { kafkaBindHost: '{{host}}', api: { host: '127.0.0.1', port: apiPort } });
    await waitReady(scheduler.apiUrl);
    await waitFor('broker 4 removed by the new leader', async () => ((await api(scheduler.apiUrl, 'GET', '/api/v1/brokers/4')).status === 404 ? true : undefined), 240_000, 1_000);
    for (const p of (await withAdmin((a) => describeTopic(a, 'audit'))).partitions) {
      assert.equal(p.replicas.length, 3);
      assert.ok(!p.replicas.includes(4), `audit-${p.partition} ${p.replicas.join(',')}`);
    }
    assert.deepEqual(await unregisterBroker(await bootstrap(), 4), { wasRegistered: false });
    assert.equal((liveByUnit(sim).get('kafka/broker-4') ?? []).length, 0);
    const entries = (await api(scheduler.apiUrl, 'GET', '/api/v1/timeline?kind=desired&limit=1000')).body.entries as Array<{ message: string }>;
    assert.ok(entries.some((e) => /^broker 4 removed: /.test(e.message)), JSON.stringify(entries));
    await assertEveryMessage();
  });
});
