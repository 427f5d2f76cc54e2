/**
 * The contract the scheduler relies on: the Kafka units kmf gives the core, rendered by the core into TaskInfos
 * (placeholders resolved from placements, the storage-format hook applied), start a real KRaft cluster when run
 * the way a Mesos agent runs a command task (sandbox with the extracted tarball, MESOS_* env, `/bin/sh -c`);
 * a node restarts on the same disk without re-formatting it; a controller moved to a new "agent" (fresh
 * sandbox, new ports) rejoins the dynamic quorum by itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import type { PlacementView } from '../../src/core/render.js';
import { clusterNodes, createClusterSpec, type KafkaClusterSpec } from '../../src/kafka/cluster-model.js';
import { describeQuorumFromAny, voterCaughtUp, type QuorumDescription } from '../../src/kafka/kraft-quorum.js';
import { kafkaUnitName } from '../../src/kafka/units.js';
import { controllerReadiness, evaluateBrokerReadiness, registeredBrokers } from '../../src/kafka/readiness.js';
import { parseProperties } from '../../src/kafka/server-properties.js';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { launchKafkaTask, readMetaProperties, type KafkaTaskLaunch } from '../helpers/kafka-mesos-task.js';
import { freePorts } from '../helpers/ports.js';
import { registerExitCleanup } from '../helpers/processes.js';

/** Small-machine settings (2 shared cores): small thread pools, 1-partition internal topics, quick fencing. */
export const TEST_BROKER_OVERRIDES: Record<string, string> = {
  'num.network.threads': '2',
  'num.io.threads': '2',
  'background.threads': '2',
  'num.recovery.threads.per.data.dir': '1',
  'num.replica.fetchers': '1',
  'log.cleaner.threads': '1',
  'offsets.topic.num.partitions': '1',
  'transaction.state.log.num.partitions': '1',
  'group.initial.rebalance.delay.ms': '0',
  'broker.heartbeat.interval.ms': '500',
  'broker.session.timeout.ms': '3000',
  'replica.lag.time.max.ms': '5000',
};
const TEST_JVM = '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true';
const READY_TIMEOUT_MS = 120_000;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

void describe('Kafka task command (run like a Mesos command task)', () => {
  const manifest = readRuntimeManifest();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-kafka-task-'));
  const unregister = registerExitCleanup(() => fs.rmSync(root, { recursive: true, force: true }));
  let spec: KafkaClusterSpec;
  let attemptDir = '';
  /** The core's view of where each node runs (agent host, offered ports). */
  const placements = new Map<string, PlacementView>();
  const tasks = new Map<number, KafkaTaskLaunch>();
  let admin: KafkaAdmin;
  const startToRegisteredMs: number[] = [];

  const brokersString = (): string[] => [...tasks.values()].map((t) => `127.0.0.1:${t.brokerPort ?? 0}`);

  const unitOf = (nodeId: number): string => kafkaUnitName(spec, { nodeId, kind: 'combined' });

  async function startCluster(attempt: number): Promise<void> {
    spec = createClusterSpec({
      version: manifest.kafka.version,
      brokers: 3,
      controllers: { mode: 'combined', count: 3 },
      brokerResources: { heapMb: 320, memMb: 768, jvmOpts: TEST_JVM },
      overrides: TEST_BROKER_OVERRIDES,
      volumes: false,
    });
    attemptDir = path.join(root, `attempt-${attempt}`);
    const ports = await freePorts(6);
    placements.clear();
    for (const [i, node] of clusterNodes(spec).entries()) {
      placements.set(unitOf(node.nodeId), { agentId: `agent-${i}`, hostname: '127.0.0.1', ports: { broker: ports[2 * i]!, controller: ports[2 * i + 1]! }, vars: {} });
    }
    for (const node of clusterNodes(spec)) {
      tasks.set(node.nodeId, launchKafkaTask({ spec, nodeId: node.nodeId, placements, quorumFormed: false, sandbox: path.join(attemptDir, `node-${node.nodeId}`) }));
    }
  }

  before(async () => {
    for (let attempt = 0; ; attempt++) {
      await startCluster(attempt);
      admin = new KafkaAdmin({ brokers: brokersString(), clientId: 'kmf-task-command-test', callTimeoutMs: 10_000, retries: 1 });
      try {
        const seen = new Map<number, number>();
        await waitFor('3 brokers registered', READY_TIMEOUT_MS, async () => {
          for (const t of tasks.values()) {
            if (!t.process.running()) throw new Error(`node ${t.nodeId} exited:\n${t.process.tail(30)}`);
          }
          const reg = await registeredBrokers(admin);
          for (const r of reg) if (!seen.has(r.nodeId)) seen.set(r.nodeId, Date.now());
          return reg.length === 3 ? reg : undefined;
        });
        for (const [id, at] of seen) startToRegisteredMs.push(at - (tasks.get(id)?.startedAt ?? at));
        return;
      } catch (err) {
        const bind = [...tasks.values()].some((t) => /BindException|Address already in use/.test(t.process.tail(400)));
        await Promise.all([...tasks.values()].map((t) => t.process.kill()));
        await admin.close();
        tasks.clear();
        if (!bind || attempt >= 2) throw err;
      }
    }
  });

  after(async () => {
    await admin?.close();
    await Promise.all([...tasks.values()].map((t) => t.process.kill()));
    unregister();
    fs.rmSync(root, { recursive: true, force: true });
  });

  void test('three combined nodes register with the advertised host and offered ports, and form the quorum', async (t) => {
    t.diagnostic(`node start → registered (ms): ${startToRegisteredMs.join(', ')}`);
    const reg = await registeredBrokers(admin);
    for (const task of tasks.values()) {
      assert.equal(task.env.get('KMF_STORAGE_FORMAT'), 'initial-controllers');
      assert.deepEqual(evaluateBrokerReadiness(reg, task.nodeId, { host: '127.0.0.1', port: task.brokerPort! }), { ready: true });
      // The file on disk is exactly what the scheduler rendered; the data went into the sandbox.
      assert.equal(fs.readFileSync(path.join(task.sandbox, 'server.properties'), 'utf8'), task.properties + '\n');
      const meta = readMetaProperties(task.sandbox);
      assert.equal(meta.get('cluster.id'), spec.clusterId);
      assert.equal(meta.get('node.id'), String(task.nodeId));
      assert.equal(meta.get('directory.id'), spec.controllers.nodes.find((c) => c.nodeId === task.nodeId)?.directoryId);
    }
    const q = await waitFor('every controller caught up', READY_TIMEOUT_MS, async () => {
      const desc = await describeQuorumFromAny(brokersString());
      for (const c of spec.controllers.nodes) {
        const r = await controllerReadiness(brokersString(), c.nodeId);
        if (!r.ready) return undefined;
      }
      return desc;
    });
    assert.deepEqual(q.voters.map((v) => v.replicaId).sort(), spec.controllers.nodes.map((c) => c.nodeId).sort());
    for (const v of q.voters) assert.equal(v.directoryId, spec.controllers.nodes.find((c) => c.nodeId === v.replicaId)?.directoryId);
    for (const task of tasks.values()) {
      const n = q.nodes.find((x) => x.nodeId === task.nodeId);
      assert.deepEqual(n?.listeners, [{ name: 'CONTROLLER', host: '127.0.0.1', port: task.controllerPort }]);
    }
    assert.ok(q.leaderId >= 0 && q.highWatermark > 0);
  });

  void test('a node restarted in its sandbox keeps its disk: format is skipped and it registers again', async (t) => {
    const old = tasks.get(1)!;
    const dirBefore = readMetaProperties(old.sandbox).get('directory.id');
    // A Mesos kill: SIGTERM, then the JVM runs Kafka's controlled shutdown and exits by itself.
    const stopAt = Date.now();
    const exit = await old.process.stop(60_000);
    const stopMs = Date.now() - stopAt;
    assert.notEqual(exit.signal, 'SIGKILL', 'the broker must shut down within the grace period');
    // Relaunched into its reservation: same agent, same ports, same sandbox data.
    const again = launchKafkaTask({ spec, nodeId: 1, placements, quorumFormed: true, sandbox: old.sandbox });
    tasks.set(1, again);
    assert.equal(again.env.get('KMF_STORAGE_FORMAT'), 'join');
    await waitFor('broker 1 registered again', READY_TIMEOUT_MS, async () => {
      if (!again.process.running()) throw new Error(`node 1 exited:\n${again.process.tail(30)}`);
      const r = evaluateBrokerReadiness(await registeredBrokers(admin), 1, { host: '127.0.0.1', port: again.brokerPort! });
      return r.ready ? true : undefined;
    });
    t.diagnostic(`SIGTERM → exit (controlled shutdown): ${stopMs} ms; relaunch → registered: ${Date.now() - again.startedAt} ms`);
    assert.equal(readMetaProperties(again.sandbox).get('directory.id'), dirBefore);
    assert.match(fs.readFileSync(path.join(again.sandbox, 'kafka-storage-format.log'), 'utf8'), /already formatted/i);
  });

  void test('a controller moved to a fresh sandbox on new ports joins the dynamic quorum by itself', async (t) => {
    const old = tasks.get(2)!;
    // The agent is lost: no graceful shutdown, the disk is gone with it.
    await old.process.kill();
    const [brokerPort, controllerPort] = await freePorts(2);
    // The core placed it on another agent with other ports; its template did not change.
    placements.set(unitOf(2), { agentId: 'agent-9', hostname: '127.0.0.1', ports: { broker: brokerPort!, controller: controllerPort! }, vars: {} });
    const fresh = launchKafkaTask({ spec, nodeId: 2, placements, quorumFormed: true, sandbox: path.join(attemptDir, 'moved-node-2') });
    tasks.set(2, fresh);
    assert.equal(fresh.env.get('KMF_STORAGE_FORMAT'), 'join');
    const q: QuorumDescription = await waitFor('controller 2 a voter again at its new endpoint', READY_TIMEOUT_MS, async () => {
      if (!fresh.process.running()) throw new Error(`moved node 2 exited:\n${fresh.process.tail(30)}`);
      const r = await controllerReadiness(brokersString(), 2);
      if (!r.ready) return undefined;
      const desc = await describeQuorumFromAny(brokersString());
      const n = desc.nodes.find((x) => x.nodeId === 2);
      return n?.listeners.some((l) => l.port === controllerPort) && voterCaughtUp(desc, 2) ? desc : undefined;
    });
    t.diagnostic(`moved controller launch → voter again and caught up: ${Date.now() - fresh.startedAt} ms`);
    const newDir = readMetaProperties(fresh.sandbox).get('directory.id');
    const oldDir = spec.controllers.nodes.find((c) => c.nodeId === 2)?.directoryId;
    const voter = q.voters.find((v) => v.replicaId === 2);
    assert.equal(voter?.directoryId, newDir);
    assert.notEqual(newDir, oldDir);
    assert.ok(!q.voters.some((v) => v.directoryId === oldDir), 'the old directory id is no voter');
    assert.equal(q.voters.length, 3);
    assert.ok(voterCaughtUp(q, 2), `node 2 under ${newDir} is caught up: ${JSON.stringify(q.voters)}`);
    await waitFor('broker 2 registered at its new port', READY_TIMEOUT_MS, async () => {
      const r = evaluateBrokerReadiness(await registeredBrokers(admin), 2, { host: '127.0.0.1', port: brokerPort! });
      return r.ready ? true : undefined;
    });
    // The other nodes never restarted: their bootstrap list still names node 2's old port.
    const props1 = parseProperties(tasks.get(0)!.properties);
    assert.ok(props1.get('controller.quorum.bootstrap.servers')?.includes(`:${old.controllerPort!}`));
  });
});
