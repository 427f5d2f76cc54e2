import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { freePorts } from './ports.js';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './processes.js';

/** Where the Kafka distribution assembled by scripts/runtime.sh is. */
export interface KafkaRuntime {
  readonly version: string;
  /** Unpacked distribution (bin/kafka-server-start, bin/kafka-storage, libs/, config/). */
  readonly home: string;
  /** The same distribution as the tarball the scheduler serves to Mesos tasks. */
  readonly tarball: string;
  readonly javaBin: string;
}

export function kafkaRuntime(): KafkaRuntime {
  const m = readRuntimeManifest();
  return { version: m.kafka.version, home: m.kafka.home, tarball: m.kafka.tarball, javaBin: m.javaBin };
}

/** JVM settings for tests: small heap, the cheapest GC and JIT (2 shared cores). */
export const TEST_KAFKA_ENV = {
  KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
  KAFKA_JVM_PERFORMANCE_OPTS: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true',
} as const;

export interface KafkaNode {
  readonly nodeId: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly configFile: string;
  readonly logDir: string;
  /** The current process (a new one after restart()). */
  process(): ManagedProcess;
  running(): boolean;
  /** SIGTERM (controlled shutdown), SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts the node again on the same ports and log dir; resolves once it logged "Kafka Server started". */
  restart(): Promise<void>;
}

export interface KafkaCluster {
  readonly clusterId: string;
  /** `127.0.0.1:P1,127.0.0.1:P2,…` */
  readonly bootstrapServers: string;
  readonly brokers: readonly string[];
  readonly nodes: readonly KafkaNode[];
  readonly dir: string;
  /** Figures for docs/runtime.md: format time and start-to-ready time. */
  readonly timings: { readonly formatMs: number; readonly startToReadyMs: number };
  /** Kills every node and removes the cluster's directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** 1 (default) or 3 combined broker+controller nodes with static voters. */
  readonly nodes?: 1 | 3;
  /** Extra or overriding server properties for every node. */
  readonly properties?: Readonly<Record<string, string | number | boolean>>;
  readonly startTimeoutMs?: number;
  /** Bind attempts: ports picked free may be taken before the brokers bind them. */
  readonly attempts?: number;
}

/**
 * Starts a real KRaft Kafka (combined broker+controller nodes, static `controller.quorum.voters`) on ephemeral
 * ports, for tests of the Kafka-side modules that do not need Mesos. Storage is formatted without --standalone
 * (static quorum), all nodes with the same cluster id.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const attempts = opts.attempts ?? 3;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof BindError)) throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

class BindError extends Error {}

/** A Kafka Uuid as StorageTool's random-uuid prints it: 16 random bytes, base64url, no padding, not "-"-led. */
export function randomClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(
  nodeId: number,
  port: number,
  controllerPort: number,
  voters: string,
  logDir: string,
  n: number,
  extra: Readonly<Record<string, string | number | boolean>>,
): string {
  const minIsr = n >= 3 ? 2 : 1;
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': logDir,
    'num.partitions': 1,
    'default.replication.factor': n,
    'min.insync.replicas': minIsr,
    'offsets.topic.replication.factor': n,
    'transaction.state.log.replication.factor': n,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': n,
    'share.coordinator.state.topic.min.isr': minIsr,
    // The 50-partition defaults make the first group join and the first transaction slow.
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
    // 2 shared cores: keep thread pools small.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'num.replica.fetchers': 1,
    'log.cleaner.threads': 1,
    // Notice a dead node in seconds, not the production 9 s (fencing) and 30 s (ISR shrink), so failure tests
    // do not idle.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 3000,
    'replica.lag.time.max.ms': 5000,
    ...extra,
  };
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n') + '\n'
  );
}

async function startOnce(opts: StartKafkaOptions): Promise<KafkaCluster> {
  const rt = kafkaRuntime();
  const n = opts.nodes ?? 1;
  const timeoutMs = opts.startTimeoutMs ?? 90_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-kafka-'));
  const unregister = registerExitCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ports = await freePorts(2 * n);
  const clusterId = randomClusterId();
  const voters = Array.from({ length: n }, (_, i) => `${i + 1}@127.0.0.1:${ports[2 * i + 1]!}`).join(',');
  const env = { ...process.env, ...TEST_KAFKA_ENV };
  const bin = (name: string): string => path.join(rt.home, 'bin', name);

  const specs = Array.from({ length: n }, (_, i) => {
    const nodeId = i + 1;
    const port = ports[2 * i]!;
    const controllerPort = ports[2 * i + 1]!;
    const nodeDir = path.join(dir, `node-${nodeId}`);
    const logDir = path.join(nodeDir, 'data');
    fs.mkdirSync(nodeDir, { recursive: true });
    const configFile = path.join(nodeDir, 'server.properties');
    fs.writeFileSync(configFile, serverProperties(nodeId, port, controllerPort, voters, logDir, n, opts.properties ?? {}));
    return { nodeId, port, controllerPort, nodeDir, logDir, configFile };
  });

  const nodes: KafkaNode[] = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The directory is deleted anyway, so there is nothing to flush: a SIGKILL saves the seconds a combined quorum
    // spends in controlled shutdown when all of its nodes leave at once.
    await Promise.all(nodes.map((node) => node.kill()));
    unregister();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const formatStart = Date.now();
    await Promise.all(
      specs.map(async (s) => {
        const fmt = spawnManaged({
          name: `kafka-storage:${s.nodeId}`,
          command: bin('kafka-storage'),
          args: ['format', '-t', clusterId, '-c', s.configFile, '--ignore-formatted'],
          env: { ...env, KAFKA_HEAP_OPTS: '-Xmx128m' },
          logFile: path.join(s.nodeDir, 'format.log'),
        });
        const exit = await fmt.exited;
        if (exit.code !== 0) throw new Error(`kafka-storage format failed for node ${s.nodeId}:\n${fmt.tail()}`);
      }),
    );
    const formatMs = Date.now() - formatStart;

    const startedAt = Date.now();
    for (const s of specs) {
      let proc: ManagedProcess | undefined;
      const launch = (): ManagedProcess => {
        proc = spawnManaged({
          name: `kafka:${s.nodeId}`,
          command: bin('kafka-server-start'),
          args: [s.configFile],
          env,
          logFile: path.join(s.nodeDir, 'server.log'),
        });
        return proc;
      };
      launch();
      const current = (): ManagedProcess => {
        if (proc === undefined) throw new Error('unreachable: node not launched');
        return proc;
      };
      nodes.push({
        nodeId: s.nodeId,
        port: s.port,
        controllerPort: s.controllerPort,
        configFile: s.configFile,
        logDir: s.logDir,
        process: current,
        running: () => current().running(),
        stop: async (graceMs = 15_000) => {
          await current().stop(graceMs);
        },
        kill: async () => {
          await current().kill();
        },
        restart: async () => {
          await current().stop(15_000);
          await launch().waitForLine(/Kafka Server started/, timeoutMs);
        },
      });
    }
    try {
      await Promise.all(nodes.map((node) => node.process().waitForLine(/Kafka Server started/, timeoutMs)));
    } catch (err) {
      if (nodes.some((node) => /Address already in use|BindException/.test(node.process().tail(400)))) {
        throw new BindError('a Kafka node could not bind its port');
      }
      throw err;
    }
    const brokers = specs.map((s) => `127.0.0.1:${s.port}`);
    await waitForBrokers(brokers, n, Math.max(0, startedAt + timeoutMs - Date.now()));
    const startToReadyMs = Date.now() - startedAt;

    return {
      clusterId,
      bootstrapServers: brokers.join(','),
      brokers,
      nodes,
      dir,
      timings: { formatMs, startToReadyMs },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Until the cluster's metadata lists `count` brokers (the quorum is up and every broker registered). */
async function waitForBrokers(brokers: string[], count: number, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'kmf-test-ready', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length >= count && cluster.controller !== null) return;
        last = `${cluster.brokers.length}/${count} brokers`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`Kafka not ready within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}
