/**
 * The Kafka acceptance test: no acknowledged message is lost while a cluster run by kmf is hurt and rolled.
 *
 * A real ZooKeeper, the sim with four agents (real processes, distinct loopback addresses), `kmf scheduler`
 * as a child process (so it can be SIGKILLed), three combined KRaft nodes with small heaps. A topic with RF 3
 * and min.insync.replicas 2 takes numbered messages from an idempotent acks=all producer the whole time,
 * which records every acknowledged one, while:
 *   1. a broker's JVM is SIGKILLed: relaunched in place, back in the ISR;
 *   2. another broker's agent crashes for good: the broker is replaced on the fourth agent with a fresh disk
 *      (same node id; its controller rejoins the quorum) and catches up to the ISR;
 *   3. a cluster config change rolls every broker through the API, and the scheduler is SIGKILLed and
 *      started again in the middle of that roll.
 * Then every acknowledged message must read back exactly once, in full, and during the planned roll no
 * partition of the topic may have been seen below min.insync.replicas.
 * Timings are logged (deploy to ready, kill → back in ISR), never asserted.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import kafkajs from 'kafkajs';
import { ConfigResourceTypes, KafkaAdmin } from '../../src/kafka/admin.js';
import { fetchPartitionStates, isrRecovered } from '../../src/kafka/roll-safety.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { api, API_TOKEN, chroot, type ApiResponse, spawnScheduler, startSim, waitFor, waitReady, type SchedulerProcess } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'orders';
const PARTITIONS = 3;
/** What happened when, for the diagnostics of a missing message. */
const events: Array<{ at: number; what: string }> = [];
const ROLLED_KEY = 'log.retention.hours';
const ROLLED_VALUE = '170';

let zk: ZooKeeperServer;
let sim: SimCluster;
let zkUrl: string;
let scheduler: SchedulerProcess;
const closers: Array<() => Promise<void>> = [];

function log(text: string): void {
  events.push({ at: Date.now(), what: text.length > 200 ? `${text.slice(0, 200)}…` : text });
  console.log(`[kafka-acceptance] ${text}`);
}

before(async () => {
  zk = await startZooKeeper();
  // Agent n of every sim has the address 127.0.0.(n+2); startSim gives the agents a currently free port range,
  // which keeps these brokers' listeners apart from those of another Kafka test running at the same time.
  sim = await startSim({ agents: 4, resources: 'cpus:2;mem:4096;disk:8000;ports:[32100-32199]', agentAddresses: 'distinct' });
  zkUrl = `${zk.connectString}${chroot('kafka-acceptance')}`;
  scheduler = await startScheduler('scheduler-1');
});

after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await scheduler?.process.stop(5_000).catch(() => undefined);
  await sim?.stop();
  await zk?.stop();
});

/** `kmf scheduler` as a child process; the agents share this host, so each broker binds to its agent's address. */
async function startScheduler(name: string): Promise<SchedulerProcess> {
  const s = await spawnScheduler(name, zkUrl, sim.masterUrl, ['--kafka-bind-host', '{{host}}']);
  await waitReady(s.apiUrl);
  return s;
}

async function patch(path: string, body: unknown): Promise<Pick<ApiResponse, 'status' | 'body'>> {
  const res = await request(new URL(path, scheduler.apiUrl), {
    method: 'PATCH',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  return { status: res.statusCode, body: parsed };
}

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

async function bootstrap(): Promise<string[]> {
  const r = await api(scheduler.apiUrl, 'GET', '/api/v1/endpoints');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.bootstrapServers;
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

function newAdmin(servers: string[]): KafkaAdmin {
  const admin = new KafkaAdmin({ brokers: servers, clientId: 'kmf-acceptance', connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, callTimeoutMs: 8_000 });
  closers.push(() => admin.close());
  return admin;
}

/** Waits until every broker is in the ISR of every partition it holds; returns when. */
async function waitIsrRecovered(ids: readonly number[], what: string): Promise<number> {
  await waitFor(
    what,
    async () => {
      const admin = newAdmin(await bootstrap());
      try {
        for (const id of ids) if ((await isrRecovered(admin, id)).ok !== true) return undefined;
        return true;
      } finally {
        await admin.close().catch(() => undefined);
      }
    },
    180_000,
    500,
  );
  return Date.now();
}

/**
 * An idempotent acks=all producer sending numbered messages until stopped. Every message of an acknowledged
 * send is recorded; a send that failed may or may not have been written, so its numbers are never reused.
 */
class ContinuousProducer {
  readonly acked: string[] = [];
  /** Where and when each acknowledged message was written (partition and offset from the produce answer). */
  readonly ackInfo = new Map<string, { at: number; partition: number; offset: string }>();
  readonly uncertain = new Set<string>();
  failures = 0;
  /** Messages of a resolved send whose partition the answer did not cover. */
  notCovered = 0;
  private next = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  start(servers: string[]): void {
    this.loop = this.run(servers);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(servers: string[]): Promise<void> {
    const kafka = new Kafka({ clientId: 'kmf-acceptance-producer', brokers: servers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3_000 } });
    let producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let consecutive = 0;
    while (!this.stopped) {
      const batch = Array.from({ length: 5 }, () => this.next++);
      try {
        // Explicit partitions, so the offsets in the answer say where each message went.
        const messages = batch.map((n) => ({ key: `m-${n}`, value: `m-${n}`, partition: n % PARTITIONS }));
        const meta = await producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages });
        const at = Date.now();
        // A message is acknowledged when the answer covers its partition. kafkajs resolves a send without
        // sending the messages of a partition whose leader its metadata does not know (during an election):
        // those were never written and count as unacknowledged.
        for (const x of messages) {
          const m = meta.find((r) => r.partition === x.partition && r.errorCode === 0);
          if (m === undefined) {
            this.uncertain.add(x.value);
            this.notCovered++;
            continue;
          }
          const i = messages.filter((y) => y.partition === x.partition).indexOf(x);
          this.ackInfo.set(x.value, { at, partition: x.partition, offset: (BigInt(m.baseOffset ?? '-1') + BigInt(i)).toString() });
          this.acked.push(x.value);
        }
        consecutive = 0;
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        for (const n of batch) this.uncertain.add(`m-${n}`);
        this.failures++;
        consecutive++;
        await new Promise((r) => setTimeout(r, 500));
        if (consecutive >= 3) {
          // A producer whose sequence state went bad after a broker failure: start a fresh one.
          await producer.disconnect().catch(() => undefined);
          producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
          await producer.connect().catch(() => undefined);
          consecutive = 0;
        }
      }
    }
    await producer.disconnect().catch(() => undefined);
  }
}

interface Consumed {
  value: string;
  partition: number;
  offset: string;
}

/** Reads the topic from the beginning until every message of `mustSee` has been seen (or a minute passed). */
async function readAll(servers: string[], mustSee: readonly string[]): Promise<Consumed[]> {
  const kafka = new Kafka({ clientId: 'kmf-acceptance-reader', brokers: servers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}` });
  closers.push(() => consumer.disconnect());
  const got: Consumed[] = [];
  const seen = new Set<string>();
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const v = message.value?.toString('utf8') ?? '';
      got.push({ value: v, partition, offset: message.offset });
      seen.add(v);
      return Promise.resolve();
    },
  });
  await waitFor('every acknowledged message read back', () => (mustSee.every((v) => seen.has(v)) ? true : undefined), 60_000, 500).catch(() => undefined);
  // Anything written after the last acknowledged message (an unacknowledged send) arrives in the same fetches.
  await new Promise((r) => setTimeout(r, 2_000));
  await consumer.disconnect();
  return got;
}

describe('Kafka acceptance: no acknowledged message lost through kill, agent loss, a roll and a scheduler restart', { timeout: 1_200_000 }, () => {
  test('everything', { timeout: 1_200_000 }, async () => {
    // ---- deploy ------------------------------------------------------------------------------------------
    const t0 = Date.now();
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', { count: 3, cpus: 0.5, mem: 768, heap: 320, disk: 1000, jvmOpts: '-XX:+UseSerialGC' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const deployed = await waitFor(
      'three brokers running and registered',
      async () => {
        const bs = await brokers();
        return bs.length === 3 && bs.every((b) => b.state === 'running' && b.ready) ? bs : undefined;
      },
      240_000,
      500,
    );
    log(`timing: 3-broker deploy to ready ${Date.now() - t0} ms`);
    assert.equal(new Set(deployed.map((b) => b.agentId)).size, 3, 'one broker per agent');

    const created = await api(scheduler.apiUrl, 'POST', '/api/v1/topics', { name: TOPIC, partitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const producer = new ContinuousProducer();
    producer.start(await bootstrap());
    closers.push(() => producer.stop());
    await waitFor('the producer gets acknowledgements', () => (producer.acked.length >= 50 ? true : undefined), 60_000);

    // ---- 1. SIGKILL a broker's JVM -------------------------------------------------------------------
    const victim = deployed.find((b) => b.id === 1)!;
    const pid = kafkaPid(victim.agentId!);
    assert.ok(pid !== undefined, 'found the JVM of broker 1');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    log(`SIGKILLed the JVM of broker 1 (pid ${pid})`);
    const relaunched = await waitFor(
      'broker 1 relaunched and registered',
      async () => {
        const b = (await brokers()).find((x) => x.id === 1);
        return b !== undefined && b.taskId !== victim.taskId && b.state === 'running' && b.ready ? b : undefined;
      },
      180_000,
      300,
    );
    const registeredAt = Date.now();
    assert.equal(relaunched.agentId, victim.agentId, 'relaunched on its agent (its reservation and volume are there)');
    const isrAt = await waitIsrRecovered([1], 'broker 1 back in every ISR');
    log(`timing: SIGKILL → registered ${registeredAt - killedAt} ms; SIGKILL → back in ISR ${isrAt - killedAt} ms`);
    const acksAfterKill = producer.acked.length;

    // ---- 2. crash the agent of another broker for good ------------------------------------------------
    const lost = (await brokers()).find((b) => b.id === 2)!;
    const usedAgents = new Set((await brokers()).map((b) => b.agentId));
    const spare = sim.agentSummaries().find((a) => !usedAgents.has(a.id));
    assert.ok(spare !== undefined, 'a fourth agent is free');
    const crashedAt = Date.now();
    await sim.crashAgent(lost.agentId!, { restart: false });
    log(`crashed agent ${lost.agentId} of broker 2 for good`);
    const replaced = await waitFor(
      'broker 2 replaced on the spare agent',
      async () => {
        const b = (await brokers()).find((x) => x.id === 2);
        return b !== undefined && b.agentId === spare.id && b.state === 'running' && b.ready ? b : undefined;
      },
      240_000,
      500,
    );
    const replacedAt = Date.now();
    const replacedIsrAt = await waitIsrRecovered([0, 1, 2], 'the replaced broker 2 caught up to every ISR');
    log(`timing: agent crash → broker 2 registered on ${replaced.host ?? spare.hostname} ${replacedAt - crashedAt} ms; → back in ISR ${replacedIsrAt - crashedAt} ms`);
    await waitFor('the producer acknowledged again after the agent loss', () => (producer.acked.length > acksAfterKill ? true : undefined), 90_000, 250);

    // ---- 3. a rolling config change, with a scheduler restart in the middle ---------------------------
    const beforeRoll = await brokers();
    const oldTasks = new Map(beforeRoll.map((b) => [b.id, b.taskId]));
    const samplerAdmin = newAdmin(await bootstrap());
    const isrSamples: Array<{ at: number; partition: string; isr: number }> = [];
    const holdsSeen = new Set<string>();
    const tasksSeen = new Map<number, Set<string>>();
    let sampling = true;
    const isrSampler = (async () => {
      while (sampling) {
        try {
          for (const p of await fetchPartitionStates(samplerAdmin, [TOPIC])) isrSamples.push({ at: Date.now(), partition: `${p.topic}-${p.partition}`, isr: p.isr.length });
        } catch {
          // the broker answering may be the one being restarted: the next sample asks again
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const planSampler = (async () => {
      while (sampling) {
        try {
          const plan = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/update');
          for (const ph of plan.body?.plan?.phases ?? []) for (const s of ph.steps) if (typeof s.reason === 'string' && s.reason.startsWith('held:')) holdsSeen.add(s.reason);
          for (const b of await brokers()) if (b.taskId !== undefined) tasksSeen.set(b.id, (tasksSeen.get(b.id) ?? new Set()).add(b.taskId));
        } catch {
          // the scheduler is being restarted
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    // The roll is requested with the update plan paused: nothing stops until it is resumed.
    const paused = await api(scheduler.apiUrl, 'POST', '/api/v1/plans/update/pause');
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.plan.paused, true);
    log('rolling config change requested (update plan paused)');
    const rollStartedAt = Date.now();
    const changed = await patch('/api/v1/cluster/config', { set: { [ROLLED_KEY]: ROLLED_VALUE } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual(changed.body.changes, [`${ROLLED_KEY}=${ROLLED_VALUE}`]);
    assert.equal(changed.body.config.roll.inProgress, true);
    const again = await patch('/api/v1/cluster/config', { set: { [ROLLED_KEY]: '171' } });
    assert.equal(again.status, 409, `a second change during the roll is refused: ${JSON.stringify(again.body)}`);
    await new Promise((r) => setTimeout(r, 3_000));
    const whilePaused = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/update');
    const pausedSteps = whilePaused.body.plan.phases.flatMap((ph: { steps: Array<{ unit: string; status: string; reason?: string }> }) => ph.steps);
    assert.equal(whilePaused.body.plan.paused, true);
    // Each broker waits, saying why: the pause, or a hold of the roll gate (which the plan shows first).
    assert.ok(
      pausedSteps.length === 3 && pausedSteps.every((st: { status: string; reason?: string }) => st.status === 'WAITING' && (st.reason === 'update plan paused' || st.reason?.startsWith('held:') === true)),
      `every step waits while the plan is paused: ${JSON.stringify(pausedSteps)}`,
    );
    assert.deepEqual((await brokers()).map((b) => b.taskId), beforeRoll.map((b) => b.taskId), 'no broker restarted while the plan was paused');
    const resumed = await api(scheduler.apiUrl, 'POST', '/api/v1/plans/update/resume');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    log('update plan resumed');

    // Mid-roll: the first broker's restart has begun.
    await waitFor(
      'the roll restarting a first broker',
      async () => ((await brokers()).some((b) => b.taskId !== oldTasks.get(b.id)) ? true : undefined),
      180_000,
      100,
    );
    const firstRolled = (await brokers()).filter((b) => b.taskId !== oldTasks.get(b.id)).map((b) => b.id);
    log(`scheduler SIGKILLed mid-roll (rolled so far: broker ${firstRolled.join(', ')})`);
    await scheduler.process.kill();
    scheduler = await startScheduler('scheduler-2');
    log(`scheduler restarted at ${scheduler.apiUrl}`);

    await waitFor(
      'the roll completed on every broker',
      async () => {
        const plan = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/update');
        const bs = await brokers();
        return plan.body?.plan?.status === 'COMPLETE' && bs.every((b) => b.taskId !== oldTasks.get(b.id) && b.state === 'running' && b.ready) ? true : undefined;
      },
      600_000,
      500,
    );
    const rollDoneAt = Date.now();
    await waitIsrRecovered([0, 1, 2], 'every broker in every ISR after the roll');
    sampling = false;
    await Promise.all([isrSampler, planSampler]);
    log(`timing: rolling config change over 3 brokers (with a scheduler restart) ${rollDoneAt - rollStartedAt} ms`);
    log(`holds seen in the update plan: ${[...holdsSeen].slice(0, 8).join(' | ') || '(none)'}`);

    // Every broker restarted exactly once by the roll (the new leader did not roll them again).
    for (const b of beforeRoll) {
      const seen = tasksSeen.get(b.id) ?? new Set<string>();
      seen.delete(b.taskId ?? '');
      assert.equal(seen.size, 1, `broker ${b.id} ran ${seen.size} new task(s) during the roll: ${[...seen].join(', ')}`);
    }

    // The new config is what every broker runs.
    const admin = newAdmin(await bootstrap());
    const described = await admin.call('describe broker configs', (a) =>
      a.describeConfigs({ includeSynonyms: false, resources: [0, 1, 2].map((id) => ({ type: ConfigResourceTypes.BROKER, name: String(id), configNames: [ROLLED_KEY] })) }),
    );
    for (const r of described.resources) {
      assert.equal(r.configEntries.find((e) => e.configName === ROLLED_KEY)?.configValue, ROLLED_VALUE, `broker ${r.resourceName} runs ${ROLLED_KEY}=${ROLLED_VALUE}`);
    }
    const config = await api(scheduler.apiUrl, 'GET', '/api/v1/cluster/config');
    assert.equal(config.body.config.overrides[ROLLED_KEY], ROLLED_VALUE);
    assert.equal(config.body.config.roll.inProgress, false);

    // No partition below min.insync.replicas during the planned roll.
    const during = isrSamples.filter((s) => s.at >= rollStartedAt && s.at <= rollDoneAt);
    assert.ok(during.length > 10, `ISR samples were taken during the roll (${during.length})`);
    const minIsr = Math.min(...during.map((s) => s.isr));
    log(`ISR during the roll: ${during.length} samples, smallest ISR ${minIsr}`);
    assert.ok(minIsr >= 2, `a partition went below min.insync.replicas=2 during the roll: ${JSON.stringify(during.filter((s) => s.isr < 2).slice(0, 5))}`);
    // While a restarted broker was down or catching up, the others waited in the plan, saying why.
    assert.ok(
      [...holdsSeen].some((h) => /would leave|ISR to recover/.test(h)),
      `the roll gate's holds showed in the update plan at least once: ${[...holdsSeen].join(' | ')}`,
    );

    // ---- every acknowledged message reads back exactly once -------------------------------------------
    const acksAtRollEnd = producer.acked.length;
    await waitFor('acknowledgements after the roll', () => (producer.acked.length > acksAtRollEnd ? true : undefined), 60_000);
    await producer.stop();
    const acked = [...producer.acked];
    const ackedSet = new Set(acked);
    log(`producer: ${acked.length} acknowledged, ${producer.uncertain.size} unacknowledged (failed sends: ${producer.failures}; messages of resolved sends not covered by the answer: ${producer.notCovered})`);
    const got = await readAll(await bootstrap(), acked);
    const counts = new Map<string, number>();
    for (const c of got) counts.set(c.value, (counts.get(c.value) ?? 0) + 1);
    const missing = acked.filter((v) => !counts.has(v));
    if (missing.length > 0) {
      // Where the lost messages were acknowledged, and what the log holds there now.
      const at = new Map(got.map((c) => [`${c.partition}@${c.offset}`, c.value]));
      const diag = newAdmin(await bootstrap());
      const offsets = await diag.call('topic offsets', (a) => a.fetchTopicOffsets(TOPIC)).catch(() => []);
      log(`partition offsets now: ${JSON.stringify(offsets)}`);
      for (const v of missing.slice(0, 20)) {
        const info = producer.ackInfo.get(v);
        const there = info === undefined ? undefined : at.get(`${info.partition}@${info.offset}`);
        log(`missing ${v}: acknowledged at +${info === undefined ? '?' : info.at - t0} ms in partition ${info?.partition} offset ${info?.offset}; read there now: ${there ?? '(nothing)'}`);
      }
      for (const e of [...events]) console.log(`[kafka-acceptance]   event +${e.at - t0} ms: ${e.what}`);
    }
    assert.deepEqual(missing, [], 'no acknowledged message is missing');
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    assert.deepEqual(duplicated, [], 'no message is read twice');
    const unknown = [...counts.keys()].filter((v) => !producer.uncertain.has(v) && !ackedSet.has(v));
    assert.deepEqual(unknown, [], 'every message read was sent');
    const ackedRead = got.map((c) => c.value).filter((v) => ackedSet.has(v));
    assert.equal(ackedRead.length, acked.length, 'count of acknowledged messages read back');
    assert.deepEqual([...ackedRead].sort(), [...acked].sort(), 'content of acknowledged messages read back');
    // Each acknowledged message sits where its acknowledgement said it was written.
    for (const c of got) {
      const info = producer.ackInfo.get(c.value);
      if (info !== undefined) assert.deepEqual([c.partition, c.offset], [info.partition, info.offset], `${c.value} at the partition and offset it was acknowledged at`);
    }
  });
});
