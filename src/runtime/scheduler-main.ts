/**
 * Assembles one `kmf scheduler` instance: the ZooKeeper session (state + election), the admin API, the
 * leader election and the runtime that leads when elected. Used by the CLI command and by tests that run
 * a scheduler in-process.
 *
 * Start order: ZooKeeper → admin API listening (its address is what this instance publishes in the
 * election, so followers can redirect to it) → join the election. Shutdown is the reverse: the API stops
 * taking requests, the leadership term ends (subscription closed WITHOUT teardown, no write in flight),
 * the member znode is deleted (a standby takes over at once), the session closes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ApiAuthConfig } from '../api/auth.js';
import { buildApiServer } from '../api/server.js';
import type { CoreConfig } from '../core/config.js';
import type { RenderHook } from '../core/render.js';
import type { Credential } from '../mesos/credentials.js';
import { FencedStateStore } from '../state/fenced-state-store.js';
import { LeaderElection } from '../state/leader-election.js';
import { parseZkStateSpec } from '../state/zk-config.js';
import { ZooKeeperStateStore } from '../state/zookeeper-state-store.js';
import { artifactUri, kafkaRenderHook, KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND } from '../kafka/units.js';
import { managedBrokerUnits, streamsRenderHook } from '../streams/render.js';
import { STREAMS_KIND } from '../streams/spec.js';
import { errorMessage, KmfError } from '../util/errors.js';
import { readRuntimeManifest } from '../util/runtime-manifest.js';
import type { KafkaRuntimeOptions } from './kafka-desired.js';
import type { Logger } from '../util/log.js';
import { schedulerClientFactory, type DriverFactory, type FrameworkSettings } from './mesos-driver.js';
import { describeRuntimeMetrics, Metrics } from './metrics.js';
import { SchedulerRuntime } from './scheduler-runtime.js';
import { SchedulerService } from './scheduler-service.js';
import { Timeline } from './timeline.js';

export interface SchedulerConfig {
  /** `--master`: URL list or zk://… */
  master: string;
  /** `--zk`: HOST:PORT[,…]/CHROOT */
  zk: string;
  /** `--api`: where the admin API listens. */
  api: { host: string; port: number };
  /** URL other instances and clients use to reach this instance's API (default from --api). */
  apiAdvertise?: string;
  /** Serve the admin API over HTTPS with this certificate (chain) and key, PEM files. */
  apiTls?: { certFile: string; keyFile: string };
  framework: FrameworkSettings;
  credential?: Credential;
  mesosCaFile?: string;
  zkSessionTimeoutMs: number;
  coreConfig: Partial<CoreConfig>;
  auth: ApiAuthConfig;
  logger: Logger;
  /** Replaces the Mesos client (benchmarks). */
  driverFactory?: DriverFactory;
  memberId?: string;
  /**
   * Runtime manifest with the Kafka distribution the scheduler serves to agents (default: the repository's
   * .kmf/runtime/manifest.json or KMF_RUNTIME_MANIFEST; `false` runs without Kafka support).
   */
  kafkaManifest?: string | false;
  /**
   * Address Kafka listeners bind to (default 0.0.0.0). `{{host}}` binds to the agent's address, for agents
   * that share one host but have addresses of their own (the sim's distinct loopback addresses).
   */
  kafkaBindHost?: string;
  /** Unrecoverable error (default: log, close the session, exit 1). */
  onFatal?: (err: unknown) => void;
}

export interface SchedulerHandle {
  readonly runtime: SchedulerRuntime;
  readonly service: SchedulerService;
  readonly api: FastifyInstance;
  /** The advertised admin API URL, e.g. http://127.0.0.1:8080 */
  readonly apiUrl: string;
  readonly store: ZooKeeperStateStore;
  readonly election: LeaderElection;
  readonly metrics: Metrics;
  readonly timeline: Timeline;
  shutdown(): Promise<void>;
}

function advertisedUrl(host: string, port: number, tls: boolean): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? os.hostname() : host;
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new KmfError('invalid_config', `cannot read the admin API TLS ${what} ${file}: ${errorMessage(err)}`);
    }
  };
  return { cert: read(tls.certFile, 'certificate'), key: read(tls.keyFile, 'key') };
}

/**
 * Kafka support from the runtime manifest: the tarball is served at <advertised API>/artifacts/<file>. The
 * templates carry `kmf-artifact:<file>`, resolved at launch by the render hook (so the leader's address is
 * not part of any spec version). Without a manifest the scheduler still runs apps; Kafka requests answer
 * kafka_unavailable.
 */
function kafkaOptions(cfg: SchedulerConfig, log: Logger): KafkaRuntimeOptions | undefined {
  if (cfg.kafkaManifest === false) return undefined;
  let manifest;
  try {
    manifest = readRuntimeManifest(cfg.kafkaManifest);
  } catch (err) {
    log.warn('no Kafka runtime manifest: Kafka clusters cannot be run', { error: errorMessage(err) });
    return undefined;
  }
  const k = manifest.kafka;
  const tarballName = `kafka-${k.version}.tgz`;
  const role = cfg.framework.role;
  return {
    version: k.version,
    // A persistent volume is reserved for a role: with "*" the data stays in the sandbox (docs/kafka.md).
    volumes: role !== '*',
    tarballName,
    tarballPath: k.tarball,
    unitOptions: () => ({
      distribution: { topDir: k.topDir, serverStart: k.serverStart, storageTool: k.storageTool },
      tarballUrl: artifactUri(tarballName),
      javaHome: path.dirname(path.dirname(manifest.javaBin)),
      ...(role === '*' ? {} : { role }),
      ...(cfg.kafkaBindHost === undefined ? {} : { bindHost: cfg.kafkaBindHost }),
    }),
  };
}

export async function startScheduler(cfg: SchedulerConfig): Promise<SchedulerHandle> {
  const log = cfg.logger;
  // Unreadable TLS files fail the start before anything connects.
  const https = cfg.apiTls === undefined ? undefined : readTls(cfg.apiTls);
  const zkConfig = parseZkStateSpec(cfg.zk);
  const store = await ZooKeeperStateStore.connect(zkConfig, { sessionTimeoutMs: cfg.zkSessionTimeoutMs, logger: log.child({ component: 'zookeeper' }) });
  const metrics = new Metrics();
  describeRuntimeMetrics(metrics);
  const timeline = new Timeline();
  // The election publishes this instance's API address, known only once the API listens (port 0 picks one).
  const advertised = { value: '' };
  const election = new LeaderElection(store.session, {
    get address(): string {
      return advertised.value;
    },
    ...(cfg.memberId === undefined ? {} : { memberId: cfg.memberId }),
    logger: log.child({ component: 'leader-election' }),
  });
  const fenced = new FencedStateStore(store, election);
  const onFatal =
    cfg.onFatal ??
    ((err: unknown) => {
      log.error('fatal error; exiting', { error: errorMessage(err) });
      // Closing the session removes the member znode at once, so a standby does not wait for the timeout.
      void store
        .close()
        .catch(() => undefined)
        .finally(() => process.exit(1));
    });
  const driverFactory =
    cfg.driverFactory ??
    schedulerClientFactory({
      master: cfg.master,
      framework: cfg.framework,
      ...(cfg.credential === undefined ? {} : { credential: cfg.credential }),
      ...(cfg.mesosCaFile === undefined ? {} : { tls: { caFile: cfg.mesosCaFile } }),
    });
  const kafka = kafkaOptions(cfg, log);
  // The render hook reads the persisted quorumFormed flag of whichever term leads (late-bound: the runtime
  // is created below).
  const holder: { runtime?: SchedulerRuntime } = {};
  const quorumFormed = (): boolean => holder.runtime?.leaderTerm()?.kafkaQuorumFormed() ?? false;
  const artifactBase = (): string => advertised.value;
  const kafkaHooks: Record<string, RenderHook> = kafka === undefined ? {} : { [KAFKA_BROKER_KIND]: kafkaRenderHook(quorumFormed, artifactBase), [KAFKA_CONTROLLER_KIND]: kafkaRenderHook(quorumFormed, artifactBase) };
  // Streams instances get the managed brokers and the artifact server's address at launch (src/streams/render.ts).
  const streamsHook = streamsRenderHook({
    artifactBaseUrl: artifactBase,
    brokerUnits: () => managedBrokerUnits(holder.runtime?.leaderTerm()?.kafka()?.spec),
    javaHome: () => kafka?.unitOptions().javaHome,
  });
  const renderers = { renderers: { [STREAMS_KIND]: streamsHook, ...kafkaHooks, ...cfg.coreConfig.renderers } };
  const runtime = new SchedulerRuntime({
    store,
    fenced,
    election,
    get address(): string {
      return advertised.value;
    },
    driverFactory,
    coreConfig: { frameworkName: cfg.framework.name, role: cfg.framework.role, ...(cfg.framework.principal === undefined ? {} : { principal: cfg.framework.principal }), ...cfg.coreConfig, ...renderers },
    ...(kafka === undefined ? {} : { kafka }),
    logger: log.child({ component: 'scheduler' }),
    metrics,
    timeline,
    onFatal: (err) => onFatal(err),
  });
  holder.runtime = runtime;
  const service = new SchedulerService(runtime, cfg.framework.role);
  let api: FastifyInstance;
  try {
    api = await buildApiServer({ service, metrics, auth: cfg.auth, logger: log.child({ component: 'api' }), ...(https === undefined ? {} : { https }) });
    await api.listen({ host: cfg.api.host, port: cfg.api.port });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  const addr = api.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.api.port;
  advertised.value = cfg.apiAdvertise ?? advertisedUrl(cfg.api.host, port, https !== undefined);
  if (cfg.auth.insecureNoAuth) log.warn('the admin API runs WITHOUT authentication (--insecure-no-auth)', { api: advertised.value });
  try {
    await runtime.start();
  } catch (err) {
    await api.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const handle: SchedulerHandle = {
    runtime,
    service,
    api,
    apiUrl: advertised.value,
    store,
    election,
    metrics,
    timeline,
    shutdown: () => {
      stopping ??= (async () => {
        await api.close().catch((err: unknown) => log.warn('closing the admin API failed', { error: errorMessage(err) }));
        await runtime.shutdown();
        await store.close().catch((err: unknown) => log.warn('closing the ZooKeeper session failed', { error: errorMessage(err) }));
      })();
      return stopping;
    },
  };
  log.info('kmf scheduler started', { api: advertised.value, memberId: election.memberId, zk: cfg.zk.replace(/\/\/[^@/]*@/, '//***@') });
  return handle;
}
