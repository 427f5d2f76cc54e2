/**
 * Kafka on Mesos, end to end: a real ZooKeeper, the sim with three agents (real processes, distinct loopback
 * addresses), a kmf scheduler in this process serving the Kafka tarball from its admin API.
 *  - POST /api/v1/brokers {"count": 3} → three combined KRaft nodes, each "running" only once registered;
 *  - a topic with RF 3 and min.insync.replicas 2 takes acks=all writes that read back exactly;
 *  - one broker's JVM SIGKILLed → relaunched on the same agent (same volume), registered again, back in the
 *    ISR, and every acknowledged message (before and after) reads back exactly.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import { isrRecovered } from '../../src/kafka/roll-safety.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { api, chroot, startInProcess, startSim, waitFor, waitReady, type SchedulerHandle } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

let zk: ZooKeeperServer;
let sim: SimCluster;
let scheduler: SchedulerHandle;
const clients: Array<{ disconnect(): Promise<void> }> = [];

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 3, resources: 'cpus:2;mem:4096;disk:8000;ports:[31000-31100]', agentAddresses: 'distinct' });
  // The agents share this host with ports from the same range: each broker binds to its agent's address.
  scheduler = await startInProcess(`${zk.connectString}${chroot('kafka')}`, sim.masterUrl, { kafkaBindHost: '{{host}}' });
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
  ready: boolean;
  taskId?: string;
  agentId?: string;
  host?: string;
  port?: number;
}

async function brokers(): Promise<Broker[]> {
  const r = await api(scheduler.apiUrl, 'GET', '/api/v1/brokers');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.brokers;
}

/** The JVM of a task: a process of the agent's process groups whose command line runs kafka.Kafka. */
function kafkaPid(agentId: string): number | undefined {
  const groups = new Set(sim.agentSummaries().find((a) => a.id === agentId)?.pids ?? []);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (!groups.has(pgid)) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

const TOPIC = 'orders';
const sent: string[] = [];

async function produce(bootstrap: string[], from: number, count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'kmf-test', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  clients.push(producer);
  await producer.connect();
  const values = Array.from({ length: count }, (_, i) => `m-${from + i}`);
  for (let i = 0; i < values.length; i += 10) {
    const batch = values.slice(i, i + 10);
    await producer.send({ topic: TOPIC, acks: -1, messages: batch.map((v) => ({ key: v, value: v })) });
    sent.push(...batch);
  }
  await producer.disconnect();
}

async function readAll(bootstrap: string[], expected: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'kmf-test', brokers: bootstrap, logLevel: logLevel.NOTHING });
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
  await waitFor(`${expected} messages read back (have ${got.length})`, () => (got.length >= expected ? true : undefined), 60_000);
  await consumer.disconnect();
  return got;
}

describe('Kafka cluster on the sim', { timeout: 240_000 }, () => {
  let bootstrap: string[] = [];

  test('three brokers deploy and register', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', { count: 3, cpus: 0.5, mem: 768, heap: 384, disk: 1000, jvmOpts: '-XX:+UseSerialGC' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.brokers.map((b: Broker) => b.id), [0, 1, 2]);
    const t0 = Date.now();
    const ready = await waitFor(
      'three brokers running and registered',
      async () => {
        const bs = await brokers();
        return bs.length === 3 && bs.every((b) => b.state === 'running' && b.ready) ? bs : undefined;
      },
      150_000,
      500,
    );
    console.log(`deploy: 3 brokers registered ${Date.now() - t0} ms after POST /api/v1/brokers`);
    assert.equal(new Set(ready.map((b) => b.agentId)).size, 3, 'one broker per agent');
    const one = await api(scheduler.apiUrl, 'GET', '/api/v1/brokers/1');
    assert.equal(one.body.id, 1);
    const ep = await api(scheduler.apiUrl, 'GET', '/api/v1/endpoints');
    bootstrap = ep.body.bootstrapServers;
    assert.equal(bootstrap.length, 3);
    for (const b of ready) assert.ok(bootstrap.includes(`${b.host}:${b.port}`), `${b.host}:${b.port} in ${bootstrap.join(',')}`);
  });

  test('a replicated topic takes acks=all writes that read back exactly', async () => {
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/topics', { name: TOPIC, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.replicationFactor, 3);
    const list = await api(scheduler.apiUrl, 'GET', '/api/v1/topics');
    assert.ok(list.body.topics.includes(TOPIC));
    await produce(bootstrap, 0, 200);
    const got = await readAll(bootstrap, sent.length);
    assert.deepEqual([...got].sort(), [...sent].sort());
  });

  test('a killed broker is relaunched on its agent, rejoins the ISR, and no acknowledged write is lost', async () => {
    const before = await brokers();
    const victim = before.find((b) => b.id === 1)!;
    const pid = kafkaPid(victim.agentId!);
    assert.ok(pid !== undefined, 'found the JVM of broker 1');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const back = await waitFor(
      'broker 1 relaunched and registered',
      async () => {
        const b = (await brokers()).find((x) => x.id === 1);
        return b !== undefined && b.taskId !== victim.taskId && b.state === 'running' && b.ready ? b : undefined;
      },
      120_000,
      300,
    );
    const registeredAt = Date.now();
    assert.equal(back.agentId, victim.agentId, 'same agent (its reservation and volume are there)');
    assert.equal(`${back.host}:${back.port}`, `${victim.host}:${victim.port}`, 'same address');
    const admin = new KafkaAdmin({ brokers: bootstrap, clientId: 'kmf-test' });
    clients.push({ disconnect: () => admin.close() });
    await waitFor('broker 1 back in every ISR', async () => ((await isrRecovered(admin, 1).catch(() => undefined))?.ok === true ? true : undefined), 60_000, 500);
    const isrAt = Date.now();
    await produce(bootstrap, 200, 100);
    const got = await readAll(bootstrap, sent.length);
    assert.deepEqual([...got].sort(), [...sent].sort());

    const entries = (await api(scheduler.apiUrl, 'GET', '/api/v1/timeline?limit=1000')).body.entries as Array<{ at: number; kind: string; message: string; unit?: string }>;
    const mine = entries.filter((e) => e.at >= killedAt && (e.unit === 'kafka/broker-1' || e.message.includes('broker-1')));
    console.log('timeline after the kill (ms since SIGKILL):');
    for (const e of mine) console.log(`  +${e.at - killedAt} ${e.kind}: ${e.message}`);
    console.log(`kill → registered ${registeredAt - killedAt} ms; kill → back in ISR ${isrAt - killedAt} ms`);
  });
});
