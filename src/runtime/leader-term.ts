/**
 * One leadership term of a `kmf scheduler` instance: from "elected" to "stepped down". Everything a leader
 * holds in memory lives here and is dropped with the term, so a later term (after a lost session, say)
 * starts from what ZooKeeper says, never from a stale view.
 *
 *   start: load /state, /framework-id and /desired from ZooKeeper → a new Core → subscribe to Mesos with
 *          the stored framework id (a failover when there is one)
 *   run:   client events → serial queue → core.step (one per event, batched) → persist (fenced, merged,
 *          awaited) → Mesos calls in action order (a launching ACCEPT as soon as its own records are
 *          written) → the latest wake-up time arms the one timer
 *   stop:  no new work; the batch in progress finishes (or fails fenced); the subscription is closed
 *          WITHOUT teardown, so Mesos keeps the tasks for the next leader
 *
 * Rules kept here: the task record is written before the ACCEPT that launches it, and an update is
 * acknowledged only after the persist that recorded it (both because the core puts the persist first
 * and this loop issues a call only once the transaction holding what it relies on is acknowledged);
 * the framework id is written as soon as SUBSCRIBED arrives, before the core sees the subscription.
 */
import crypto from 'node:crypto';
import type { AcceptAction, Action, PersistAction } from '../core/actions.js';
import type { CoreConfig } from '../core/config.js';
import { Core } from '../core/core.js';
import { fromMesosEvent, type CoreEvent, type OperatorIntent } from '../core/events.js';
import type { Plan, UnitView } from '../core/plans.js';
import { seededRng, type Rng } from '../core/rng.js';
import type { DesiredState } from '../model/desired.js';
import type { ConnectionChange } from '../mesos/client.js';
import type { Event } from '../mesos/types.js';
import type { Leadership } from '../state/fenced-state-store.js';
import type { StateStore, Versioned } from '../state/state-store.js';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { ActionExecutor } from './action-executor.js';
import { parseAppUnit, type AppRecord } from './apps.js';
import { DesiredStore, loadApps } from './desired-store.js';
import { loadKafkaRecord, type KafkaClusterRecord, type KafkaRuntimeOptions } from './kafka-desired.js';
import { KafkaReadinessLoop } from './kafka-readiness-loop.js';
import { describeStreamsMetrics, StreamsAutoscaler } from './streams-autoscaler.js';
import { StreamsReadinessLoop } from './streams-readiness-loop.js';
import { StreamsStatus } from './streams-status.js';
import { KafkaDrainLoop, type DrainProgress } from './kafka-drain.js';
import { SerialQueue } from './event-queue.js';
import type { DriverFactory, MesosDriver } from './mesos-driver.js';
import { RUNTIME_METRICS, type Metrics } from './metrics.js';
import { decodeState, FRAMEWORK_ID_PATH, STATE_ROOT } from './state-codec.js';
import { StateWriter, type DurableWaiter } from './state-writer.js';
import type { Timeline } from './timeline.js';
import { WakeTimer } from './wake-timer.js';

export interface LeaderTermOptions {
  /** The FencedStateStore of this instance (reads pass through unfenced). */
  store: StateStore;
  leadership: Leadership;
  epoch: number;
  driverFactory: DriverFactory;
  coreConfig: Partial<CoreConfig>;
  logger: Logger;
  metrics: Metrics;
  timeline: Timeline;
  /** Kafka support (tarball URL, distribution): without it a stored Kafka cluster is not run. */
  kafka?: KafkaRuntimeOptions;
  rng?: Rng;
  clock?: () => number;
  /** The term cannot go on (a fenced or failed state write): the owner stops it. */
  onFailed: (why: string, err: unknown) => void;
  /** The Mesos client gave up for good (bad credentials, framework removed): the process should exit. */
  onFatal: (err: KmfError) => void;
}

interface QueuedEvent {
  event: CoreEvent;
  /** Subscription generation when it arrived: offers of an earlier subscription are void. */
  gen: number;
}

export interface TermStatus {
  epoch: number;
  loaded: boolean;
  subscribed: boolean;
  frameworkId: string | undefined;
  masterUrl: string | undefined;
  clientState: string;
  lastConnection: ConnectionChange['type'] | undefined;
  lastDisconnect: string | undefined;
  queueLength: number;
  tasks: number;
  units: number;
}

export class LeaderTerm {
  readonly epoch: number;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly clock: () => number;
  private readonly rng: Rng;
  private readonly queue: SerialQueue<QueuedEvent>;
  private readonly timer: WakeTimer;
  private core: Core | undefined;
  private writer: StateWriter | undefined;
  private desiredStore: DesiredStore | undefined;
  private driver: MesosDriver | undefined;
  private executor: ActionExecutor | undefined;
  private frameworkId: string | undefined;
  private gen = 0;
  private subscribed = false;
  private stopping = false;
  private lastConnection: ConnectionChange['type'] | undefined;
  private lastDisconnect: string | undefined;
  private readonly offs: Array<() => void> = [];
  private kafkaLoop: KafkaReadinessLoop | undefined;
  private streamsLoops: { readiness: StreamsReadinessLoop; autoscaler: StreamsAutoscaler } | undefined;
  /** What the Streams loops observed (instance states, lag, autoscaler decisions). */
  readonly streamsStatus = new StreamsStatus();
  private kafkaDrain: KafkaDrainLoop | undefined;

  constructor(private readonly opts: LeaderTermOptions) {
    this.epoch = opts.epoch;
    this.log = opts.logger.child({ epoch: opts.epoch });
    this.metrics = opts.metrics;
    this.clock = opts.clock ?? Date.now;
    this.rng = opts.rng ?? seededRng(crypto.randomInt(0, 2 ** 32));
    this.queue = new SerialQueue<QueuedEvent>({
      handleBatch: (batch) => this.handleBatch(batch),
      onError: (err) => this.failed('a decision could not be carried out', err),
      // Events that can lead to a launch without waiting for an offer round: not held up by the pause
      // after a slow decision (offers, which make decisions slow, and timer ticks are).
      urgent: (item) => item.event.type === 'status' || item.event.type === 'acceptFailed' || item.event.type === 'readiness',
    });
    this.timer = new WakeTimer(() => this.queue.push({ event: { type: 'tick' }, gen: this.gen }), this.clock);
  }

  /** Whether this term may still write: not stopping, and the election still holds this epoch. */
  stillLeading(): boolean {
    return !this.stopping && this.opts.leadership.fence()?.epoch === this.epoch;
  }

  /** Loads the state and subscribes to Mesos. Throws if the state cannot be loaded or written. */
  async start(): Promise<void> {
    const started = performance.now();
    const { store } = this.opts;
    const [stateTree, frameworkNode, apps, kafka] = await Promise.all([
      store.readTree(STATE_ROOT),
      store.get(FRAMEWORK_ID_PATH),
      loadApps(store),
      loadKafkaRecord(store),
    ]);
    const tree = new Map<string, Versioned>(stateTree);
    if (frameworkNode !== undefined) tree.set(FRAMEWORK_ID_PATH, frameworkNode);
    const decoded = decodeState(tree);
    for (const p of [...decoded.problems, ...apps.problems, ...(kafka.problem === undefined ? [] : [kafka.problem])]) this.log.warn('skipping unreadable state record', { problem: p });
    if (this.stopping) return;
    this.writer = new StateWriter({
      store,
      paths: decoded.paths,
      logger: this.log,
      metrics: this.metrics,
      stillLeading: () => this.stillLeading(),
    });
    this.desiredStore = new DesiredStore(store, apps.apps, kafka.record, this.opts.kafka);
    await this.writer.ensureLayout();
    await this.desiredStore.ensureLayout();
    this.core = new Core(this.rng, this.opts.coreConfig, decoded.stored);
    this.frameworkId = decoded.frameworkId;
    const loadMs = performance.now() - started;
    this.metrics.observe(RUNTIME_METRICS.stateLoadSeconds, loadMs / 1000);
    this.updateGauges();
    const counts = { tasks: Object.keys(decoded.stored.tasks).length, units: Object.keys(decoded.stored.units).length, apps: apps.apps.size };
    this.log.info('leading: state loaded', { ...counts, frameworkId: this.frameworkId, loadMs: Math.round(loadMs) });
    this.opts.timeline.add({
      at: this.clock(),
      kind: 'leadership',
      message: `leading (epoch ${this.epoch}): loaded ${counts.tasks} task record(s), ${counts.units} unit(s), ${counts.apps} app(s) in ${Math.round(loadMs)} ms`,
    });
    if (this.stopping) return;

    const driver = this.opts.driverFactory({ frameworkId: this.frameworkId, logger: this.log.child({ component: 'mesos-client' }) });
    this.driver = driver;
    this.executor = new ActionExecutor({
      driver,
      logger: this.log,
      metrics: this.metrics,
      timeline: this.opts.timeline,
      active: () => !this.stopping,
      onAcceptFailed: (a, err) => this.acceptFailed(a, err),
    });
    this.offs.push(
      driver.onConnection((c) => this.onConnection(c)),
      driver.onEvent((e) => this.onEvent(e)),
    );
    driver.start();
    // Arm the timers the stored state implies (backoffs, permanent-failure clocks) even before Mesos answers.
    this.queue.push({ event: { type: 'tick' }, gen: this.gen });
    if (this.opts.kafka !== undefined) {
      this.kafkaLoop = new KafkaReadinessLoop(this, this.log.child({ component: 'kafka-readiness' }));
      this.kafkaLoop.start();
      this.kafkaDrain = new KafkaDrainLoop(this, this.opts.timeline, this.log.child({ component: 'kafka-drain' }), { clock: this.clock });
      this.kafkaDrain.start();
    }
    describeStreamsMetrics(this.metrics);
    this.streamsLoops = {
      readiness: new StreamsReadinessLoop(this, this.streamsStatus, this.log.child({ component: 'streams-readiness' })),
      autoscaler: new StreamsAutoscaler(this, { status: this.streamsStatus, metrics: this.metrics, timeline: this.opts.timeline, log: this.log.child({ component: 'streams-autoscaler' }) }),
    };
    this.streamsLoops.readiness.start();
    this.streamsLoops.autoscaler.start();
  }

  /** Stops the term: no new work, the batch in progress finishes, the subscription closes without TEARDOWN. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('leadership term ending', { reason });
    this.timer.clear();
    await this.kafkaLoop?.stop();
    await this.streamsLoops?.readiness.stop();
    await this.streamsLoops?.autoscaler.stop();
    await this.kafkaDrain?.stop();
    await this.queue.close();
    for (const off of this.offs.splice(0)) off();
    if (this.driver !== undefined) {
      await this.driver.stop().catch((err: unknown) => this.log.warn('closing the Mesos subscription failed', { error: errorMessage(err) }));
    }
    this.subscribed = false;
    this.metrics.set(RUNTIME_METRICS.subscribed, 0);
    this.opts.timeline.add({ at: this.clock(), kind: 'leadership', message: `stopped leading (epoch ${this.epoch}): ${reason}` });
  }

  // ---- views (read without the queue: they see the latest decision) ---------------------------------

  get isLoaded(): boolean {
    return this.core !== undefined;
  }

  get isSubscribed(): boolean {
    return this.subscribed;
  }

  status(): TermStatus {
    return {
      epoch: this.epoch,
      loaded: this.core !== undefined,
      subscribed: this.subscribed,
      frameworkId: this.frameworkId,
      masterUrl: this.driver?.masterUrl,
      clientState: this.driver?.state ?? 'idle',
      lastConnection: this.lastConnection,
      lastDisconnect: this.lastDisconnect,
      queueLength: this.queue.length,
      tasks: this.core?.state.tasks.size ?? 0,
      units: this.core?.state.units.size ?? 0,
    };
  }

  apps(): ReadonlyMap<string, AppRecord> {
    return this.requireLoaded().desiredStore.apps;
  }

  /** The Kafka cluster record, if one was created. */
  kafka(): KafkaClusterRecord | undefined {
    return this.desiredStore?.kafka;
  }

  /** Whether the dynamic quorum has formed (persisted; read by the render hook at every launch). */
  kafkaQuorumFormed(): boolean {
    return this.desiredStore?.kafka?.quorumFormed === true;
  }

  /** Broker removals under way (scale-in drains), by broker id; empty on a term without Kafka. */
  kafkaDrains(): ReadonlyMap<number, DrainProgress> {
    return this.kafkaDrain?.progress() ?? new Map<number, DrainProgress>();
  }

  /** Persists quorumFormed = true once (never reset). */
  markKafkaQuorumFormed(): Promise<void> {
    return this.mutateDesired(async (store) => {
      const rec = store.kafka;
      if (rec === undefined || rec.quorumFormed) return;
      await store.putKafka({ ...rec, quorumFormed: true, updatedAt: new Date().toISOString() });
      this.opts.timeline.add({ at: this.clock(), kind: 'desired', message: `kafka cluster ${rec.spec.name}: the metadata quorum has formed` });
    });
  }

  /**
   * The Kafka roll gate's stop holds (not persisted; recomputed every round). Applied at once, so a
   * readiness event sent after them is decided with them; a change asks the core for a new decision.
   */
  setKafkaStopHolds(holds: Readonly<Record<string, string>>): void {
    if (this.stopping || this.desiredStore === undefined) return;
    if (this.desiredStore.setKafkaStopHolds(holds)) this.queue.push({ event: { type: 'tick' }, gen: this.gen });
  }

  /** The Kafka quorum guard's replace holds (not persisted; recomputed every round), like the stop holds. */
  setKafkaReplaceHolds(holds: Readonly<Record<string, string>>): void {
    if (this.stopping || this.desiredStore === undefined) return;
    if (this.desiredStore.setKafkaReplaceHolds(holds)) this.queue.push({ event: { type: 'tick' }, gen: this.gen });
  }

  /** External readiness of a task (units with readiness 'external'), decided in queue order. */
  readiness(taskId: string, ready: boolean): void {
    if (this.stopping) return;
    this.queue.push({ event: { type: 'readiness', taskId, ready }, gen: this.gen });
  }

  plans(): Plan[] {
    const { core } = this.requireLoaded();
    return core.plans(this.desired(), this.clock());
  }

  units(): UnitView[] {
    const { core } = this.requireLoaded();
    return core.units(this.desired(), this.clock());
  }

  // ---- changes (through the queue, so they never interleave with a decision) -------------------------

  /**
   * Runs a desired-state change (which writes through the fenced store), then lets the core decide with
   * the new desired state. Resolves once the change is written; the decision's failures go to onFailed.
   */
  mutateDesired<T>(change: (store: DesiredStore) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      const { desiredStore } = this.requireLoaded();
      const result = await change(desiredStore);
      desiredStore.invalidate();
      await this.safeBatch([{ event: { type: 'tick' }, gen: this.gen }]);
      return result;
    });
  }

  /** An operator intent (restart, replace, pause …), decided in queue order. */
  intent(intent: OperatorIntent): Promise<void> {
    return this.queue.run(async () => {
      this.requireLoaded();
      await this.safeBatch([{ event: { type: 'intent', intent }, gen: this.gen }]);
    });
  }

  /** Several intents applied in order, then one decision (e.g. an abort that completes many steps). */
  intents(intents: readonly OperatorIntent[]): Promise<void> {
    return this.queue.run(async () => {
      this.requireLoaded();
      await this.safeBatch(intents.map((intent) => ({ event: { type: 'intent', intent }, gen: this.gen })));
    });
  }

  /** Resolves when every queued event has been handled (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private requireLoaded(): { core: Core; desiredStore: DesiredStore; writer: StateWriter } {
    if (this.core === undefined || this.desiredStore === undefined || this.writer === undefined) {
      throw new KmfError('not_ready', 'the leader is still loading its state; try again in a moment', { retriable: true });
    }
    return { core: this.core, desiredStore: this.desiredStore, writer: this.writer };
  }

  private desired(): DesiredState {
    const { core, desiredStore } = this.requireLoaded();
    return desiredStore.desired(core.state.units);
  }

  private onConnection(c: ConnectionChange): void {
    if (this.stopping) return;
    this.lastConnection = c.type;
    switch (c.type) {
      case 'subscribing':
        return;
      case 'subscribed': {
        this.gen++;
        this.subscribed = true;
        this.metrics.set(RUNTIME_METRICS.subscribed, 1);
        const id = c.frameworkId.value;
        this.opts.timeline.add({ at: this.clock(), kind: 'subscription', message: `subscribed to ${c.masterUrl} as framework ${id}${c.resubscribed ? ' (failover)' : ''}` });
        const gen = this.gen;
        // Persist the framework id before the core hears of the subscription (and before any call it makes).
        this.queue
          .run(async () => {
            if (this.frameworkId !== id) {
              await this.requireLoaded().writer.writeFrameworkId(id);
              this.log.info('framework id persisted', { frameworkId: id });
              this.frameworkId = id;
            }
            await this.safeBatch([{ event: { type: 'subscribed', frameworkId: id }, gen }]);
          })
          .catch((err: unknown) => {
            if (!this.stopping) this.failed('persisting the framework id failed', err);
          });
        return;
      }
      case 'disconnected':
        this.gen++;
        this.subscribed = false;
        this.lastDisconnect = c.reason;
        this.metrics.set(RUNTIME_METRICS.subscribed, 0);
        this.opts.timeline.add({ at: this.clock(), kind: 'subscription', message: `Mesos subscription lost: ${c.reason}; retrying in ${c.retryInMs} ms` });
        this.queue.push({ event: { type: 'disconnected' }, gen: this.gen });
        return;
      case 'fatal':
        this.opts.timeline.add({ at: this.clock(), kind: 'subscription', message: `Mesos client gave up: ${c.error.message}` });
        this.opts.onFatal(c.error);
        return;
      case 'stopped':
        return;
    }
  }

  private onEvent(e: Event): void {
    if (this.stopping) return;
    this.metrics.inc(RUNTIME_METRICS.mesosEvents, { type: e.type });
    switch (e.type) {
      case 'SUBSCRIBED':
        // Handled through the connection change, which comes first and carries the same framework id.
        return;
      case 'ERROR':
        this.log.warn('Mesos ERROR event', { message: e.error.message });
        return;
      case 'FAILURE':
        this.log.info('Mesos FAILURE event', { agentId: e.failure.agent_id?.value, executorId: e.failure.executor_id?.value, status: e.failure.status });
        return;
      case 'HEARTBEAT':
      case 'OFFERS':
      case 'RESCIND':
      case 'UPDATE':
      case 'INVERSE_OFFERS':
      case 'RESCIND_INVERSE_OFFER':
      case 'UPDATE_OPERATION_STATUS':
      case 'MESSAGE':
      case 'UNKNOWN':
        break;
    }
    if (e.type === 'OFFERS') this.metrics.inc(RUNTIME_METRICS.offersReceived, undefined, e.offers.offers?.length ?? 0);
    if (e.type === 'UPDATE' && e.update.status.state === 'TASK_RUNNING') this.observeLaunch(e.update.status.task_id.value);
    const event = fromMesosEvent(e);
    if (event !== undefined) this.queue.push({ event, gen: this.gen });
  }

  /** First TASK_RUNNING of a task this term launched or knows: time since the launch decision. */
  private observeLaunch(taskId: string): void {
    const t = this.core?.state.tasks.get(taskId);
    if (t === undefined || t.runningSince !== undefined || t.state === 'TASK_RUNNING') return;
    this.metrics.observe(RUNTIME_METRICS.launchSeconds, Math.max(0, this.clock() - t.launchedAt) / 1000);
  }

  private acceptFailed(a: AcceptAction, err: KmfError): void {
    if (this.stopping) return;
    this.queue.push({
      event: { type: 'acceptFailed', offerIds: a.offerIds, taskIds: a.launched.map((l) => l.taskId), message: err.message },
      gen: this.gen,
    });
  }

  /** A batch whose failure ends the term instead of propagating (used inside queue jobs). */
  private async safeBatch(batch: QueuedEvent[]): Promise<void> {
    try {
      await this.handleBatch(batch);
    } catch (err) {
      this.failed('a decision could not be carried out', err);
    }
  }

  /**
   * One batch: every queued event applied, then one decision (`stepMany`: a burst of thousands of
   * updates costs one decision, not one each), then its persist written and awaited, then every other
   * action in list order, then the timer from the decision.
   */
  private async handleBatch(batch: QueuedEvent[]): Promise<void> {
    if (this.stopping || this.core === undefined || this.writer === undefined || this.executor === undefined) return;
    // Offers of an earlier subscription are void: the master dropped them without RESCIND.
    const events = batch.filter((item) => item.event.type !== 'offers' || item.gen === this.gen).map((item) => item.event);
    if (events.length === 0) return;
    const t0 = performance.now();
    const actions = this.core.stepMany(events, this.desired(), this.clock());
    this.metrics.observe(RUNTIME_METRICS.stepSeconds, (performance.now() - t0) / 1000);
    this.metrics.observe(RUNTIME_METRICS.batchEvents, events.length);
    for (const e of events) this.metrics.inc(RUNTIME_METRICS.coreSteps, { event: e.type });
    const persists: PersistAction[] = [];
    const rest: Action[] = [];
    let wake: { at: number; why: string } | undefined;
    for (const a of actions) {
      if (a.type === 'persist') persists.push(a);
      else if (a.type === 'wakeAt') wake = { at: a.at, why: a.why };
      else rest.push(a);
    }
    // Every call waits for the records it depends on: an ACCEPT that only launches (and reserves for its
    // launches) goes out as soon as the transaction holding its task records and their units' records is
    // acknowledged, so a relaunch batched with a burst of updates does not wait for the whole burst's
    // writes; every other call (ACKNOWLEDGEs included) waits for the whole persist, then goes in list order.
    const { executor } = this;
    const early = new Set<Action>();
    const waiters: DurableWaiter[] = [];
    for (const a of rest) {
      if (!launchesOnly(a)) continue;
      waiters.push({
        taskIds: a.launched.map((l) => l.taskId),
        units: a.launched.map((l) => l.unit),
        run: () => {
          if (this.stopping) return;
          early.add(a);
          executor.execute(a);
        },
      });
    }
    await this.writer.persist(persists, waiters);
    if (this.stopping) return;
    executor.executeAll(early.size === 0 ? rest : rest.filter((a) => !early.has(a)));
    if (wake?.at !== this.timer.due) this.log.debug('next decision', { at: wake === undefined ? 'none' : new Date(wake.at).toISOString(), why: wake?.why });
    this.timer.set(wake?.at);
    await this.forgetRemovedApps();
    if (persists.length > 0) this.updateGauges();
  }

  /** App records marked removing whose last unit the core has dropped are deleted. */
  private async forgetRemovedApps(): Promise<void> {
    const { core, desiredStore } = this.requireLoaded();
    if (![...desiredStore.apps.values()].some((r) => r.removing)) return;
    const remaining = new Set<string>();
    for (const name of core.state.units.keys()) {
      const parsed = parseAppUnit(name);
      if (parsed !== undefined) remaining.add(parsed.app);
    }
    for (const rec of [...desiredStore.apps.values()]) {
      if (!rec.removing || remaining.has(rec.spec.name)) continue;
      await desiredStore.delete(rec.spec.name);
      this.log.info('app removed', { app: rec.spec.name });
      this.opts.timeline.add({ at: this.clock(), kind: 'desired', message: `app ${rec.spec.name} removed: all its instances are gone` });
    }
  }

  private updateGauges(): void {
    if (this.core === undefined) return;
    this.metrics.set(RUNTIME_METRICS.tasks, this.core.state.tasks.size);
    this.metrics.set(RUNTIME_METRICS.units, this.core.state.units.size);
  }

  private failed(why: string, err: unknown): void {
    if (this.stopping) return;
    this.log.error(why, { error: errorMessage(err), code: err instanceof KmfError ? err.code : undefined });
    this.opts.onFailed(why, err);
  }
}

/** Operations an ACCEPT may carry and still go out once its launched tasks' records are durable. */
const LAUNCH_OPERATIONS = new Set(['RESERVE', 'CREATE', 'LAUNCH', 'LAUNCH_GROUP']);

/**
 * An ACCEPT whose every operation serves its launches: the new task records (with their reservation and
 * volume ids) and their units' records are all it relies on. One that also DESTROYs or UNRESERVEs (records
 * in the retired list) waits for the whole persist.
 */
function launchesOnly(a: Action): a is AcceptAction {
  return a.type === 'accept' && a.launched.length > 0 && a.operations.every((o) => LAUNCH_OPERATIONS.has(o.type));
}
