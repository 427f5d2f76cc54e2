/**
 * Leader-only loop that carries out scale-in (`DELETE /api/v1/brokers/{id}`), from what the cluster record
 * says, so a new leader simply continues where the last one stopped:
 *
 *   1. broker `draining`: move every partition replica off it by reassignment (planDrain over the brokers that
 *      stay, AlterPartitionReassignments), and poll until no partition has a replica on it and nothing of it is
 *      being reassigned; then set its goal to `removed` (persisted);
 *   2. goal `removed`: the core kills the task and destroys/unreserves its volume and reservation; once the unit
 *      is gone, UnregisterBroker drops its registration from the KRaft metadata, and the broker leaves the spec.
 *
 * Progress (partitions left, the reason a step waits) is kept in memory for the broker view; only phase changes
 * are written. A plan is submitted when the term first sees the drain and again only if replicas stay on the
 * broker with nothing in progress for several rounds (a partition created meanwhile, or metadata that lagged a
 * finished move): re-submitting on every round would fight Kafka's own view while it catches up.
 */
import type { UnitView } from '../core/plans.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { bootstrapServers } from '../kafka/bootstrap.js';
import { brokerPhase, drainTargets, finishDrain, forgetBroker, planRemoval } from '../kafka/broker-ops.js';
import { applyReassignments, reassignmentsInProgress } from '../kafka/reassign.js';
import { fetchPartitionStates } from '../kafka/roll-safety.js';
import { kafkaUnitName } from '../kafka/units.js';
import { unregisterBroker } from '../kafka/unregister-broker.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { DesiredStore } from './desired-store.js';
import type { KafkaClusterRecord } from './kafka-desired.js';
import type { Timeline } from './timeline.js';

export interface DrainProgress {
  brokerId: number;
  phase: 'draining' | 'removing';
  /** Partitions that still have a replica on the broker (draining; unknown until Kafka answered). */
  partitionsLeft?: number;
  /** Of those, how many are being reassigned right now. */
  moving?: number;
  /** Why the removal cannot go on right now (it is retried every round). */
  waiting?: string;
}

/** What the loop needs from the leadership term (LeaderTerm implements it). */
export interface KafkaDrainTarget {
  stillLeading(): boolean;
  readonly isLoaded: boolean;
  units(): UnitView[];
  kafka(): KafkaClusterRecord | undefined;
  mutateDesired<T>(change: (store: DesiredStore) => Promise<T>): Promise<T>;
}

export interface KafkaDrainOptions {
  intervalMs?: number;
  clock?: () => number;
  /** Rounds with replicas left and nothing in progress before the plan is submitted again. */
  replanAfterQuietRounds?: number;
}

const NODE_ID = /-(\d+)$/;

/** Advertised endpoints of the running brokers (the drained one included: it is still a cluster member). */
function runningServers(units: readonly UnitView[], exclude?: number): string[] {
  const placements = units.flatMap((u) => {
    const m = NODE_ID.exec(u.name);
    const port = u.task?.ports['broker'];
    if (m?.[1] === undefined || port === undefined || u.task?.state !== 'TASK_RUNNING' || Number(m[1]) === exclude) return [];
    return [{ nodeId: Number(m[1]), host: u.task.hostname, port, running: true }];
  });
  return bootstrapServers(placements);
}

export class KafkaDrainLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private admin: { key: string; client: KafkaAdmin } | undefined;
  private readonly state = new Map<number, DrainProgress>();
  /** Per broker: whether this term submitted a plan, and rounds since anything of it was in progress. */
  private readonly submitted = new Map<number, { quiet: number }>();
  private readonly lastWaiting = new Map<number, string>();
  private readonly intervalMs: number;
  private readonly clock: () => number;
  private readonly replanAfter: number;

  constructor(
    private readonly term: KafkaDrainTarget,
    private readonly timeline: Timeline,
    private readonly log: Logger,
    opts: KafkaDrainOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2_000;
    this.clock = opts.clock ?? Date.now;
    this.replanAfter = opts.replanAfterQuietRounds ?? 3;
  }

  /** The removals under way, by broker id. */
  progress(): ReadonlyMap<number, DrainProgress> {
    return this.state;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    await this.admin?.client.close().catch(() => undefined);
    this.admin = undefined;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.log.warn('kafka drain round failed', { error: errorMessage(err) });
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, delay);
  }

  private adminFor(servers: string[]): KafkaAdmin {
    const key = servers.join(',');
    if (this.admin?.key === key) return this.admin.client;
    const old = this.admin?.client;
    if (old !== undefined) void old.close().catch(() => undefined);
    const client = new KafkaAdmin({ brokers: servers, clientId: 'kmf-drain', connectionTimeoutMs: 2_000, requestTimeoutMs: 10_000, callTimeoutMs: 30_000 });
    this.admin = { key, client };
    return client;
  }

  /** One pass over the removals of the cluster record. Exposed for tests. */
  async round(): Promise<void> {
    if (this.stopped || !this.term.isLoaded || !this.term.stillLeading()) return;
    const rec = this.term.kafka();
    const busy = new Set<number>();
    for (const b of rec?.spec.brokers.nodes ?? []) {
      const phase = brokerPhase(b);
      if (phase !== 'draining' && phase !== 'removing') continue;
      busy.add(b.nodeId);
      if (rec === undefined || this.stopped || !this.term.stillLeading()) break;
      try {
        if (phase === 'draining') await this.drainStep(rec, b.nodeId);
        else await this.removeStep(rec, b.nodeId);
      } catch (err) {
        this.waiting(b.nodeId, phase, errorMessage(err));
      }
    }
    for (const id of [...this.state.keys()]) if (!busy.has(id)) this.forget(id);
  }

  private forget(id: number): void {
    this.state.delete(id);
    this.submitted.delete(id);
    this.lastWaiting.delete(id);
  }

  /** Records why a removal waits; the timeline hears each new reason once. */
  private waiting(id: number, phase: DrainProgress['phase'], why: string): void {
    const prev = this.state.get(id);
    this.state.set(id, { ...prev, brokerId: id, phase, waiting: why });
    if (this.lastWaiting.get(id) === why) return;
    this.lastWaiting.set(id, why);
    this.log.info('broker removal waits', { brokerId: id, phase, why });
    this.timeline.add({ at: this.clock(), kind: 'desired', message: `removal of broker ${id} waits: ${why}` });
  }

  private async drainStep(rec: KafkaClusterRecord, id: number): Promise<void> {
    const units = this.term.units();
    const servers = runningServers(units);
    if (servers.length === 0) {
      this.waiting(id, 'draining', 'no broker is running to ask Kafka');
      return;
    }
    const admin = this.adminFor(servers);
    const states = await fetchPartitionStates(admin);
    const left = states.filter((p) => p.replicas.includes(id));
    const leftKeys = new Set(left.map((p) => `${p.topic}-${p.partition}`));
    const moving = (await reassignmentsInProgress(admin)).filter((k) => leftKeys.has(k));
    this.state.set(id, { brokerId: id, phase: 'draining', partitionsLeft: left.length, moving: moving.length });
    this.lastWaiting.delete(id);
    if (left.length === 0) {
      await this.term.mutateDesired(async (store) => {
        const current = store.kafka;
        if (current === undefined || !this.term.stillLeading()) return;
        const next = finishDrain(current.spec, id);
        if (next === current.spec) return;
        await store.putKafka({ ...current, spec: next, updatedAt: new Date(this.clock()).toISOString() });
      });
      this.submitted.delete(id);
      this.state.set(id, { brokerId: id, phase: 'removing' });
      this.log.info('broker drained', { brokerId: id });
      this.timeline.add({ at: this.clock(), kind: 'desired', message: `broker ${id} drained: no partition has a replica on it; stopping it and releasing its reservation`, unit: kafkaUnitName(rec.spec, { nodeId: id, kind: 'broker' }) });
      return;
    }
    if (moving.length > 0) {
      const s = this.submitted.get(id);
      if (s !== undefined) s.quiet = 0;
      return;
    }
    const s = this.submitted.get(id);
    if (s !== undefined && ++s.quiet < this.replanAfter) return;
    const plan = planRemoval(rec.spec, id, states);
    if (!plan.ok) {
      this.waiting(id, 'draining', `${plan.reason} (${plan.partitions.map((p) => `${p.topic}-${p.partition}`).slice(0, 5).join(', ')})`);
      return;
    }
    await applyReassignments(admin, plan.moves);
    this.submitted.set(id, { quiet: 0 });
    const targets = drainTargets(rec.spec, id);
    this.log.info('drain plan submitted', { brokerId: id, partitions: plan.moves.length, targets });
    this.timeline.add({
      at: this.clock(),
      kind: 'desired',
      message: `draining broker ${id}: moving the replicas of ${plan.moves.length} partition(s) to broker(s) ${targets.join(', ')}`,
      unit: kafkaUnitName(rec.spec, { nodeId: id, kind: 'broker' }),
    });
  }

  private async removeStep(rec: KafkaClusterRecord, id: number): Promise<void> {
    const unitName = kafkaUnitName(rec.spec, { nodeId: id, kind: 'broker' });
    const units = this.term.units();
    const unit = units.find((u) => u.name === unitName);
    if (unit !== undefined && unit.state !== 'removed') {
      this.state.set(id, { brokerId: id, phase: 'removing', waiting: `its task is being stopped (${unit.state})` });
      return;
    }
    const servers = runningServers(units, id);
    if (servers.length === 0) {
      this.waiting(id, 'removing', 'no other broker is running to unregister it through');
      return;
    }
    const { wasRegistered } = await unregisterBroker(servers, id, { timeoutMs: 10_000 });
    await this.term.mutateDesired(async (store) => {
      const current = store.kafka;
      if (current === undefined || !this.term.stillLeading()) return;
      const next = forgetBroker(current.spec, id);
      if (next === current.spec) return;
      await store.putKafka({ ...current, spec: next, updatedAt: new Date(this.clock()).toISOString() });
    });
    this.forget(id);
    this.log.info('broker removed', { brokerId: id, wasRegistered });
    this.timeline.add({
      at: this.clock(),
      kind: 'desired',
      message: `broker ${id} removed: its task is gone, its reservation released, and it is ${wasRegistered ? 'unregistered from' : 'no longer in'} the cluster metadata`,
      unit: unitName,
    });
  }
}
