/**
 * Leader-only loop that sizes Streams apps with an `autoscale` policy on their consumer lag. Every interval, for
 * each such app: read the lag of its group (= applicationId) over its input topics (committed vs end offsets,
 * src/kafka/lag.ts) and the topics' partition count, decide (src/streams/autoscale.ts, pure), and apply a change
 * the way an operator's scale does (the app record's instance count, fenced, through the queue).
 *
 * Decisions are recorded in the timeline when their outcome changes (a scale, or a new reason to hold), with
 * their numbers; the lag is exported as the gauge kmf_streams_lag{app}. Nothing is decided while the Kafka
 * brokers roll (update plan steps on Kafka units) or while the app itself is being rolled.
 */
import type { UnitView } from '../core/plans.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { bootstrapServers, type BrokerPlacement } from '../kafka/bootstrap.js';
import { consumerGroupLag } from '../kafka/lag.js';
import { KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND } from '../kafka/units.js';
import { decideScale, type AutoscaleDecision } from '../streams/autoscale.js';
import { ownBootstrap, type StreamsAutoscale } from '../streams/spec.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { parseAppUnit, streamsFieldsOf, type AppRecord } from './apps.js';
import type { DesiredStore } from './desired-store.js';
import type { Metrics } from './metrics.js';
import type { StreamsStatus } from './streams-status.js';
import type { Timeline } from './timeline.js';

export const STREAMS_METRICS = {
  lag: 'kmf_streams_lag',
  target: 'kmf_streams_autoscale_target_instances',
} as const;

export function describeStreamsMetrics(m: Metrics): void {
  m.describe(STREAMS_METRICS.lag, 'Total consumer lag of a Streams app over its autoscale input topics');
  m.describe(STREAMS_METRICS.target, 'Instance count the lag autoscaler wants for a Streams app');
}

export interface StreamsAutoscalerTarget {
  stillLeading(): boolean;
  readonly isLoaded: boolean;
  apps(): ReadonlyMap<string, AppRecord>;
  units(): UnitView[];
  mutateDesired<T>(change: (store: DesiredStore) => Promise<T>): Promise<T>;
}

/** The lag source, replaceable in tests. */
export interface LagReader {
  read(servers: readonly string[], groupId: string, topics: readonly string[]): Promise<{ total: number; byTopic: Record<string, number>; partitions: number | undefined }>;
  close(): Promise<void>;
}

/** kafkajs through KafkaAdmin, one client per bootstrap list. */
export class KafkaLagReader implements LagReader {
  private admin: { key: string; client: KafkaAdmin } | undefined;

  private adminFor(servers: readonly string[]): KafkaAdmin {
    const key = servers.join(',');
    if (this.admin?.key === key) return this.admin.client;
    const old = this.admin?.client;
    if (old !== undefined) void old.close().catch(() => undefined);
    // Generous timeouts: a loaded host answers slowly, and a late reading is still worth more than none.
    const client = new KafkaAdmin({ brokers: [...servers], clientId: 'kmf-autoscaler', connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000, retries: 1, callTimeoutMs: 15_000 });
    this.admin = { key, client };
    return client;
  }

  async read(servers: readonly string[], groupId: string, topics: readonly string[]): Promise<{ total: number; byTopic: Record<string, number>; partitions: number | undefined }> {
    const admin = this.adminFor(servers);
    const meta = await admin.call('fetch input topic metadata', (a) => a.fetchTopicMetadata({ topics: [...topics] }));
    const partitions = meta.topics.reduce((m, t) => Math.max(m, t.partitions.length), 0);
    const lag = await consumerGroupLag(admin, groupId, topics);
    return { total: lag.total, byTopic: lag.byTopic, partitions: partitions > 0 ? partitions : undefined };
  }

  async close(): Promise<void> {
    await this.admin?.client.close().catch(() => undefined);
    this.admin = undefined;
  }
}

interface AppMemory {
  lowSince: number | undefined;
  lastRecorded: string | undefined;
}

export class StreamsAutoscaler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly memory = new Map<string, AppMemory>();

  constructor(
    private readonly term: StreamsAutoscalerTarget,
    private readonly deps: { status: StreamsStatus; metrics: Metrics; timeline: Timeline; log: Logger; lag?: LagReader; clock?: () => number },
    private readonly intervalMs = 3_000,
  ) {}

  private get lag(): LagReader {
    this.deps.lag ??= new KafkaLagReader();
    return this.deps.lag;
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  start(): void {
    this.schedule(this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    await this.deps.lag?.close();
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.deps.log.warn('streams autoscaler round failed', { error: errorMessage(err) });
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, delay);
  }

  /** One pass over every autoscaled app. */
  async round(): Promise<void> {
    if (this.stopped || !this.term.isLoaded || !this.term.stillLeading()) return;
    const apps = [...this.term.apps().values()].filter((r) => !r.removing && streamsFieldsOf(r.spec)?.autoscale !== undefined);
    for (const name of this.memory.keys()) if (!apps.some((r) => r.spec.name === name)) this.memory.delete(name);
    // An app removed, or no longer autoscaled, must not keep showing its last lag and decision.
    this.deps.status.retainApps(new Set(apps.map((r) => r.spec.name)));
    if (apps.length === 0) return;
    const units = this.term.units();
    const brokersRolling = units.some((u) => (u.kind === KAFKA_BROKER_KIND || u.kind === KAFKA_CONTROLLER_KIND) && u.plan === 'update');
    const managed = managedBootstrap(units);
    for (const rec of apps) {
      if (this.stopped || !this.term.stillLeading()) return;
      await this.decideFor(rec, units, brokersRolling, managed);
    }
  }

  private async decideFor(rec: AppRecord, units: readonly UnitView[], brokersRolling: boolean, managed: string[]): Promise<void> {
    const fields = streamsFieldsOf(rec.spec);
    const policy: StreamsAutoscale | undefined = fields?.autoscale;
    if (fields === undefined || policy === undefined) return;
    const name = rec.spec.name;
    const now = this.now();
    const mem = this.memory.get(name) ?? { lowSince: undefined, lastRecorded: undefined };
    this.memory.set(name, mem);
    const own = ownBootstrap(fields);
    const servers = own !== undefined ? own.split(',').map((s) => s.trim()).filter((s) => s !== '') : managed;
    const appRolling = units.some((u) => parseAppUnit(u.name)?.app === name && u.plan === 'update');
    let paused: string | undefined;
    if (brokersRolling) paused = 'the Kafka brokers are being rolled (update plan)';
    else if (appRolling) paused = 'the app is being rolled to a new spec';
    let lag: number | undefined;
    let partitions: number | undefined;
    if (paused === undefined) {
      if (servers.length === 0) {
        this.deps.status.updateApp(name, { lagError: 'no broker is running' });
      } else {
        try {
          const r = await this.lag.read(servers, fields.applicationId, policy.inputTopics);
          lag = r.total;
          partitions = r.partitions;
          this.deps.status.updateApp(name, { lag: r.total, lagByTopic: r.byTopic, ...(r.partitions === undefined ? {} : { partitions: r.partitions }), lagAt: now, lagError: undefined });
          this.deps.metrics.set(STREAMS_METRICS.lag, r.total, { app: name });
        } catch (err) {
          this.deps.status.updateApp(name, { lagError: errorMessage(err) });
        }
      }
    }
    const updatedAt = Date.parse(rec.updatedAt);
    const decision = decideScale({
      policy,
      current: rec.spec.instances,
      lag,
      partitions,
      now,
      lastChangeAt: Number.isFinite(updatedAt) ? updatedAt : undefined,
      lowSince: mem.lowSince,
      ...(paused === undefined ? {} : { paused }),
    });
    mem.lowSince = decision.lowSince;
    this.deps.status.updateApp(name, { decision: { ...decision, at: now } });
    this.deps.metrics.set(STREAMS_METRICS.target, decision.target, { app: name });
    const key = `${decision.code}:${decision.target}`;
    if (decision.action !== 'hold' || key !== mem.lastRecorded) {
      mem.lastRecorded = key;
      this.deps.timeline.add({ at: now, kind: 'desired', message: `autoscaler, app ${name}: ${decision.reason}` });
      this.deps.log.info('streams autoscaler decision', { app: name, action: decision.action, target: decision.target, lag, partitions, reason: decision.reason });
    }
    if (decision.action !== 'hold') await this.apply(name, rec.spec.instances, decision);
  }

  /** Writes the new count unless the app changed meanwhile (an operator's change wins over this round). */
  private async apply(name: string, from: number, d: AutoscaleDecision): Promise<void> {
    await this.term.mutateDesired(async (store) => {
      const rec = store.get(name);
      if (rec === undefined || rec.removing || rec.spec.instances !== from) return;
      await store.put({ ...rec, spec: { ...rec.spec, instances: d.target }, updatedAt: new Date(this.now()).toISOString() });
    });
  }
}

/** Bootstrap servers of the managed cluster: its running brokers' task endpoints. */
function managedBootstrap(units: readonly UnitView[]): string[] {
  const placements: BrokerPlacement[] = [];
  for (const u of units) {
    if (u.kind !== KAFKA_BROKER_KIND || u.task === undefined) continue;
    const port = u.task.ports['broker'];
    const id = /-(\d+)$/.exec(u.name)?.[1];
    if (port === undefined || id === undefined) continue;
    placements.push({ nodeId: Number(id), host: u.task.hostname, port, running: u.task.state === 'TASK_RUNNING' });
  }
  return bootstrapServers(placements);
}
