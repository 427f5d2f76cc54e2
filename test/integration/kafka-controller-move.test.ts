/**
 * A controller moves to another agent on a fresh disk, and the KRaft dynamic quorum (KIP-853) ends whole.
 *
 * A real ZooKeeper, the sim with four agents (real processes, distinct loopback addresses), a kmf scheduler in
 * this process with a short permanent-failure time, three combined nodes (each a broker and a voter) with
 * small heaps. The agent of the quorum leader's node crashes for good; kmf replaces the node on the fourth
 * agent with an empty disk, formatted to join (`--no-initial-controllers`). Afterwards:
 *  - the quorum has three voters, all caught up; the replaced node votes with its new directory id and the
 *    old one is no voter (Kafka's auto-join removed the stale entry and added the new one);
 *  - kmf reported the replaced node ready only once it was a voter again (a combined node is ready when
 *    both its broker and its controller are);
 *  - acks=all writes with min.insync.replicas 2 go through and read back.
 * Then the agents of two of the three nodes crash: the quorum has no majority, so a fresh disk could never
 * join; kmf holds both replacements (the plan says why) and keeps their reservations, and when the agents
 * come back both nodes relaunch on their own disks and the quorum is whole again.
 * The voter set is sampled during the move, and the timings are logged, never asserted.
 */
/* eslint-disable @typescript-eslint/no-unsafe-return -- admin API bodies are untyped JSON */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { describeQuorumFromAny, voterCaughtUp, type QuorumDescription } from '../../src/kafka/kraft-quorum.js';
import type { SimCluster } from '../../src/sim/cluster.js';
import { api, chroot, inProcessConfig, startInProcess, startSim, waitFor, waitReady, type SchedulerHandle } from '../helpers/scheduler-harness.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'moves';
const PERMANENT_FAILURE_MS = 15_000;

let zk: ZooKeeperServer;
let sim: SimCluster;
let scheduler: SchedulerHandle;
const clients: Array<{ disconnect(): Promise<void> }> = [];

before(async () => {
  zk = await startZooKeeper();
  sim = await startSim({ agents: 4, resources: 'cpus:2;mem:4096;disk:8000;ports:[31000-31100]', agentAddresses: 'distinct' });
  // The agents share this host with ports from the same range: each node binds to its agent's address.
  const zkUrl = `${zk.connectString}${chroot('kafka-controller-move')}`;
  // A short permanent-failure time, but longer than a few readiness rounds, so the quorum guard has looked at
  // the quorum (and held what must not move) before a lost controller's time is up.
  const base = inProcessConfig(zkUrl, sim.masterUrl);
  scheduler = await startInProcess(zkUrl, sim.masterUrl, { kafkaBindHost: '{{host}}', coreConfig: { ...base.coreConfig, permanentFailureAfterMs: PERMANENT_FAILURE_MS } });
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

async function bootstrap(): Promise<string[]> {
  const r = await api(scheduler.apiUrl, 'GET', '/api/v1/endpoints');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.bootstrapServers;
}

async function quorum(): Promise<QuorumDescription | undefined> {
  return describeQuorumFromAny(await bootstrap(), { timeoutMs: 3_000 }).catch(() => undefined);
}

function voterKeys(q: QuorumDescription): string {
  return q.voters
    .map((v) => `${v.replicaId}:${v.directoryId}`)
    .sort()
    .join(' ');
}

async function produce(servers: string[], values: string[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'kmf-move-test', brokers: servers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  clients.push(producer);
  await producer.connect();
  for (let i = 0; i < values.length; i += 10) {
    const batch = values.slice(i, i + 10);
    await producer.send({ topic: TOPIC, acks: -1, messages: batch.map((v) => ({ key: v, value: v })) });
  }
  await producer.disconnect();
}

async function readAll(servers: string[], expected: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'kmf-move-test', brokers: servers, logLevel: logLevel.NOTHING });
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

describe('a combined controller moves to another agent on a fresh disk', { timeout: 600_000 }, () => {
  test('the quorum ends with three caught-up voters, the moved one under its new directory id; without a majority nothing moves', async () => {
    // ---- deploy three combined nodes --------------------------------------------------------------------
    const t0 = Date.now();
    const res = await api(scheduler.apiUrl, 'POST', '/api/v1/brokers', { count: 3, cpus: 0.5, mem: 768, heap: 320, disk: 1000, jvmOpts: '-XX:+UseSerialGC' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const deployed = await waitFor(
      'three brokers running and ready',
      async () => {
        const bs = await brokers();
        return bs.length === 3 && bs.every((b) => b.state === 'running' && b.ready) ? bs : undefined;
      },
      240_000,
      500,
    );
    console.log(`[controller-move] deploy: 3 combined nodes ready ${Date.now() - t0} ms after POST`);
    assert.equal(new Set(deployed.map((b) => b.agentId)).size, 3, 'one node per agent');

    const initial = await waitFor(
      'a quorum of three caught-up voters',
      async () => {
        const q = await quorum();
        return q !== undefined && q.voters.length === 3 && q.voters.every((v) => voterCaughtUp(q, v.replicaId)) ? q : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(
      initial.voters.map((v) => v.replicaId).sort(),
      [0, 1, 2],
      'every combined node votes',
    );
    console.log(`[controller-move] initial voters ${voterKeys(initial)}, leader ${initial.leaderId}`);

    const created = await api(scheduler.apiUrl, 'POST', '/api/v1/topics', { name: TOPIC, partitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const sent = Array.from({ length: 100 }, (_, i) => `m-${i}`);
    await produce(await bootstrap(), sent);

    // ---- crash the quorum leader's agent for good ---------------------------------------------------------
    const movedId = initial.leaderId;
    const oldDirectoryId = initial.voters.find((v) => v.replicaId === movedId)?.directoryId;
    assert.ok(oldDirectoryId !== undefined, `node ${movedId} has a directory id in the voter set`);
    const victim = deployed.find((b) => b.id === movedId);
    assert.ok(victim?.agentId !== undefined, `node ${movedId} has an agent`);
    const spare = sim.agentSummaries().find((a) => !deployed.some((b) => b.agentId === a.id));
    assert.ok(spare !== undefined, 'a fourth agent is free');

    // Sample the voter set during the move: what Kafka does, step by step.
    const transitions: Array<{ at: number; voters: string; leader: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      let last = '';
      while (sampling) {
        const q = await quorum();
        if (q !== undefined) {
          const key = `${voterKeys(q)} leader ${q.leaderId}`;
          if (key !== last) {
            last = key;
            transitions.push({ at: Date.now(), voters: voterKeys(q), leader: q.leaderId });
          }
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const crashedAt = Date.now();
    await sim.crashAgent(victim.agentId, { restart: false });
    console.log(`[controller-move] crashed agent ${victim.agentId} of node ${movedId} (quorum leader, directory ${oldDirectoryId})`);

    // The moment kmf says the replaced node is ready, it must already be a voter again, under a new directory.
    const replaced = await waitFor(
      `node ${movedId} replaced on the spare agent and ready`,
      async () => {
        const b = (await brokers()).find((x) => x.id === movedId);
        return b !== undefined && b.agentId === spare.id && b.state === 'running' && b.ready ? b : undefined;
      },
      300_000,
      250,
    );
    const readyAt = Date.now();
    const atReady = await waitFor('the quorum answers', quorum, 30_000, 250);
    const movedVoter = atReady.voters.find((v) => v.replicaId === movedId);
    assert.ok(movedVoter !== undefined, `node ${movedId} is a voter when kmf reports it ready: ${voterKeys(atReady)}`);
    assert.notEqual(movedVoter.directoryId, oldDirectoryId, 'it votes with the directory id of its new disk');

    // ---- the end state -------------------------------------------------------------------------------------
    const final = await waitFor(
      'three caught-up voters again',
      async () => {
        const q = await quorum();
        return q !== undefined && q.voters.length === 3 && q.voters.every((v) => voterCaughtUp(q, v.replicaId)) ? q : undefined;
      },
      120_000,
      500,
    );
    const wholeAt = Date.now();
    sampling = false;
    await sampler;
    assert.deepEqual(
      final.voters.map((v) => v.replicaId).sort(),
      [0, 1, 2],
      `the same three node ids vote: ${voterKeys(final)}`,
    );
    const newDirectoryId = final.voters.find((v) => v.replicaId === movedId)?.directoryId;
    assert.ok(newDirectoryId !== undefined && newDirectoryId !== oldDirectoryId, `node ${movedId} votes with a new directory id (${newDirectoryId})`);
    assert.ok(!final.voters.some((v) => v.directoryId === oldDirectoryId), 'the old directory id is no voter');
    for (const v of initial.voters.filter((x) => x.replicaId !== movedId)) {
      assert.equal(final.voters.find((x) => x.replicaId === v.replicaId)?.directoryId, v.directoryId, `node ${v.replicaId} kept its directory id`);
    }
    // Its new disk is no observer any more. (Kafka's leader may still list the old directory id as an observer,
    // frozen at its last fetch, for 5 minutes after removing it: only if that disk had fetched from this leader.)
    assert.ok(!final.observers.some((o) => o.replicaId === movedId && o.directoryId === newDirectoryId), `node ${movedId} under ${newDirectoryId} is no observer any more`);
    const endpoint = final.nodes.find((n) => n.nodeId === movedId)?.listeners[0];
    assert.equal(endpoint?.host, replaced.host, `node ${movedId}'s voter endpoint is on its new agent`);

    // ---- the cluster takes writes --------------------------------------------------------------------------
    const more = Array.from({ length: 100 }, (_, i) => `m-${100 + i}`);
    await produce(await bootstrap(), more);
    const got = await readAll(await bootstrap(), sent.length + more.length);
    assert.deepEqual([...got].sort(), [...sent, ...more].sort(), 'every acknowledged message reads back exactly once');

    console.log('[controller-move] voter set during the move (ms after the agent crash):');
    for (const t of transitions) console.log(`  +${t.at - crashedAt} leader ${t.leader}: ${t.voters}`);
    console.log(`[controller-move] timing: crash → node ${movedId} ready ${readyAt - crashedAt} ms; crash → 3 caught-up voters ${wholeAt - crashedAt} ms`);

    // ---- then two of the three controllers' agents crash: no majority, so neither moves -----------------
    const now3 = await brokers();
    const lostTwo = now3.filter((b) => b.id !== movedId).slice(0, 2);
    assert.equal(lostTwo.length, 2);
    const dirsBefore = new Map(final.voters.map((v) => [v.replicaId, v.directoryId]));
    const twoCrashedAt = Date.now();
    await Promise.all(lostTwo.map((b) => sim.crashAgent(b.agentId!, { restart: false })));
    console.log(`[controller-move] crashed the agents of nodes ${lostTwo.map((b) => b.id).join(' and ')}: the quorum has no majority`);
    // Their tasks are unreachable; past the permanent-failure time the core would give up their reservations
    // and volumes, but the quorum guard holds the replacement (the scheduler log says why), so the steps stay
    // waiting for the agents. Had they been replaced, their fresh disks could never have joined (no leader):
    // the end of the test, both nodes back on their own disks, only happens because they were not.
    const pastDue = await waitFor(
      'both lost controllers past their permanent-failure time, still waiting for their agents',
      async () => {
        const steps = new Map<number, { status: string; reason?: string; permanentAt?: number }>();
        const r = await api(scheduler.apiUrl, 'GET', '/api/v1/plans/recovery');
        for (const ph of r.body?.plan?.phases ?? []) {
          for (const st of ph.steps as Array<{ unit: string; status: string; reason?: string; permanentAt?: number }>) {
            const b = lostTwo.find((x) => st.unit === `kafka/broker-${x.id}`);
            if (b !== undefined) steps.set(b.id, st);
          }
        }
        const due = [...steps.values()].filter((st) => st.permanentAt !== undefined && Date.now() > st.permanentAt + 5_000);
        return steps.size === 2 && due.length === 2 ? steps : undefined;
      },
      PERMANENT_FAILURE_MS * 6,
      500,
    );
    for (const [id, st] of pastDue) {
      console.log(`[controller-move] node ${id}: ${st.status} ${st.reason ?? ''}`);
      assert.equal(st.status, 'WAITING', `node ${id} waits for its agent`);
      assert.match(st.reason ?? '', /unreachable/, `node ${id} was not replaced`);
    }

    await Promise.all(lostTwo.map((b) => sim.restartAgent(b.agentId!)));
    const backAt = Date.now();
    console.log('[controller-move] the two agents are back');
    const recovered = await waitFor(
      'the quorum whole again with the same disks',
      async () => {
        const bs = await brokers();
        if (!(bs.length === 3 && bs.every((b) => b.state === 'running' && b.ready))) return undefined;
        const q = await quorum();
        return q !== undefined && q.voters.length === 3 && q.voters.every((v) => voterCaughtUp(q, v.replicaId)) ? q : undefined;
      },
      240_000,
      500,
    );
    for (const b of lostTwo) {
      assert.equal(recovered.voters.find((v) => v.replicaId === b.id)?.directoryId, dirsBefore.get(b.id), `node ${b.id} came back on its own disk (same directory id)`);
      assert.equal((await brokers()).find((x) => x.id === b.id)?.agentId, b.agentId, `node ${b.id} relaunched on its agent`);
    }
    const last = Array.from({ length: 50 }, (_, i) => `m-${200 + i}`);
    await produce(await bootstrap(), last);
    const all = await readAll(await bootstrap(), sent.length + more.length + last.length);
    assert.deepEqual([...all].sort(), [...sent, ...more, ...last].sort(), 'every acknowledged message reads back after the majority came back');
    console.log(`[controller-move] timing: two agents crashed → back after ${backAt - twoCrashedAt} ms; back → quorum whole and every node ready ${Date.now() - backAt} ms`);
  });
});
