/**
 * What operators can ask of the scheduler, as one TypeScript service: the admin API (and tests) call it.
 *
 * Reads work on every instance: the leader answers from its live state, a follower from a snapshot of
 * ZooKeeper (`source: "zookeeper"`). Writes need the leader: on a follower they fail with `not_leader`
 * (details carry the leader's API address; the HTTP layer turns that into a 307) or `no_leader` when
 * nobody leads. A write is validated first (400 with every problem, nothing changed), then written to
 * ZooKeeper (fenced), then the core decides with the new desired state.
 */
import type { Plan, UnitView } from '../core/plans.js';
import { PLAN_NAMES, type PlanName } from '../core/state.js';
import { KmfError } from '../util/errors.js';
import { appUnitName, parseAppUnit, validateApp, MAX_INSTANCES, type AppRecord, type AppSpec } from './apps.js';
import { KafkaService } from './kafka-service.js';
import type { LeaderTerm } from './leader-term.js';
import type { SchedulerRuntime } from './scheduler-runtime.js';
import { SnapshotCache } from './state-snapshot.js';
import type { StreamsStatus } from './streams-status.js';
import type { TimelineEntry, TimelineQuery } from './timeline.js';

export type ViewSource = 'leader' | 'zookeeper';

export interface InstanceView {
  index: number;
  unit: string;
  goal: string;
  state: string;
  generation: number;
  failures: number;
  taskId?: string;
  taskState?: string;
  agentId?: string;
  hostname?: string;
  ports?: Record<string, number>;
  ready?: boolean;
  healthy?: boolean;
  step?: { plan: string; status: string; reason?: string };
  lastFailure?: UnitView['lastFailure'];
  lastError?: string;
}

export type AppStatus = 'running' | 'deploying' | 'waiting' | 'error' | 'removing' | 'scaled-to-zero';

export interface AppView {
  name: string;
  status: AppStatus;
  removing: boolean;
  spec: AppSpec;
  /** One entry per instance known to the scheduler (those beyond the count while they are being stopped). */
  instances: InstanceView[];
  createdAt: string;
  updatedAt: string;
}

export interface StatusView {
  source: ViewSource;
  instance: { memberId: string; address: string; role: string };
  leader: { memberId: string; address: string; host: string; since: string } | null;
  epoch?: number;
  frameworkId: string | null;
  mesos: { subscribed: boolean; state: string; masterUrl: string | null; lastDisconnect?: string };
  plans: Array<{ name: string; status: string; paused: boolean }>;
  counts: { apps: number; units: number; tasks: number };
}

interface View {
  source: ViewSource;
  frameworkId: string | undefined;
  apps: ReadonlyMap<string, AppRecord>;
  plans: () => Plan[];
  units: () => UnitView[];
  counts: { units: number; tasks: number };
}

function instanceView(u: UnitView, index: number): InstanceView {
  const v: InstanceView = { index, unit: u.name, goal: u.goal, state: u.state, generation: u.generation, failures: u.failures };
  if (u.task !== undefined) {
    v.taskId = u.task.taskId;
    v.taskState = u.task.state;
    v.agentId = u.task.agentId;
    v.hostname = u.task.hostname;
    v.ports = u.task.ports;
    v.ready = u.task.ready;
    if (u.task.healthy !== undefined) v.healthy = u.task.healthy;
  }
  if (u.step !== undefined && u.plan !== undefined) {
    v.step = { plan: u.plan, status: u.step.status, ...(u.step.reason === undefined ? {} : { reason: u.step.reason }) };
  }
  if (u.lastFailure !== undefined) v.lastFailure = u.lastFailure;
  if (u.lastError !== undefined) v.lastError = u.lastError;
  return v;
}

function appStatus(rec: AppRecord, instances: readonly InstanceView[]): AppStatus {
  if (rec.removing) return 'removing';
  const wanted = instances.filter((i) => i.goal === 'running');
  if (rec.spec.instances === 0 && wanted.length === 0) return 'scaled-to-zero';
  if (wanted.some((i) => i.state === 'error')) return 'error';
  if (wanted.length === rec.spec.instances && wanted.every((i) => i.state === 'running') && instances.length === wanted.length) return 'running';
  if (wanted.length > 0 && wanted.every((i) => i.state === 'waiting' || i.state === 'delayed')) return 'waiting';
  return 'deploying';
}

export class SchedulerService {
  private readonly snapshots: SnapshotCache;
  /** The Kafka cluster: brokers, endpoints, topics, the served tarball. */
  readonly kafka: KafkaService;

  constructor(
    private readonly runtime: SchedulerRuntime,
    private readonly frameworkRole: string,
    opts: { snapshotTtlMs?: number } = {},
  ) {
    this.snapshots = new SnapshotCache(runtime.store, runtime.coreConfig, opts.snapshotTtlMs ?? 2_000);
    this.kafka = new KafkaService(runtime);
  }

  // ---- reads -------------------------------------------------------------------------------------

  private async view(): Promise<View> {
    const term = this.runtime.leaderTerm();
    if (term?.isLoaded === true) {
      const st = term.status();
      return {
        source: 'leader',
        frameworkId: st.frameworkId,
        apps: term.apps(),
        plans: () => term.plans(),
        units: () => term.units(),
        counts: { units: st.units, tasks: st.tasks },
      };
    }
    const snap = await this.snapshots.get();
    return {
      source: 'zookeeper',
      frameworkId: snap.frameworkId,
      apps: snap.apps,
      plans: () => snap.plans(),
      units: () => snap.units(),
      counts: { units: Object.keys(snap.stored.units).length, tasks: Object.keys(snap.stored.tasks).length },
    };
  }

  async status(): Promise<StatusView> {
    const [view, leader] = await Promise.all([this.view(), this.runtime.currentLeader().catch(() => undefined)]);
    const term = this.runtime.leaderTerm();
    const st = term?.status();
    const out: StatusView = {
      source: view.source,
      instance: { memberId: this.runtime.memberId, address: this.runtime.address, role: this.runtime.role },
      leader: leader === undefined ? null : { memberId: leader.memberId, address: leader.address, host: leader.host, since: leader.since },
      frameworkId: view.frameworkId ?? null,
      mesos: {
        subscribed: st?.subscribed ?? false,
        state: st?.clientState ?? 'not leading',
        masterUrl: st?.masterUrl ?? null,
        ...(st?.lastDisconnect === undefined ? {} : { lastDisconnect: st.lastDisconnect }),
      },
      plans: view.plans().map((p) => ({ name: p.name, status: p.status, paused: p.paused })),
      counts: { apps: view.apps.size, ...view.counts },
    };
    if (st !== undefined) out.epoch = st.epoch;
    return out;
  }

  /** Leader and subscribed to Mesos: the instance that does the work is ready. */
  ready(): { ready: boolean; role: string; reason?: string } {
    const term = this.runtime.leaderTerm();
    const role = this.runtime.role;
    if (term === undefined) return { ready: false, role, reason: role === 'leader' ? 'starting' : `this instance is ${role}` };
    if (!term.isLoaded) return { ready: false, role, reason: 'loading state' };
    if (!term.isSubscribed) return { ready: false, role, reason: 'not subscribed to a Mesos master' };
    return { ready: true, role };
  }

  async plans(): Promise<{ source: ViewSource; plans: Plan[] }> {
    const view = await this.view();
    return { source: view.source, plans: view.plans() };
  }

  async plan(name: string): Promise<{ source: ViewSource; plan: Plan }> {
    const plan = parsePlanName(name);
    const view = await this.view();
    const found = view.plans().find((p) => p.name === plan);
    if (found === undefined) throw new KmfError('not_found', `no plan named "${name}"`);
    return { source: view.source, plan: found };
  }

  async units(): Promise<{ source: ViewSource; units: UnitView[] }> {
    const view = await this.view();
    return { source: view.source, units: view.units() };
  }

  async listApps(): Promise<{ source: ViewSource; apps: AppView[] }> {
    const view = await this.view();
    const units = view.units();
    return { source: view.source, apps: [...view.apps.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map((rec) => this.appView(rec, units)) };
  }

  async getApp(name: string): Promise<{ source: ViewSource; app: AppView }> {
    const view = await this.view();
    const rec = view.apps.get(name);
    if (rec === undefined) throw new KmfError('not_found', `no app named "${name}"`, { details: { app: name } });
    return { source: view.source, app: this.appView(rec, view.units()) };
  }

  /** What the leader's Streams loops observed (undefined on a standby: it observes nothing). */
  streamsStatus(): StreamsStatus | undefined {
    return this.runtime.leaderTerm()?.streamsStatus;
  }

  timeline(opts: TimelineQuery): { entries: TimelineEntry[]; truncated: boolean; lastSeq: number } {
    return this.runtime.timeline.page(opts);
  }

  /** Puts an operator's change on the timeline (the admin API calls it for every accepted change). */
  recordOperatorAction(who: string, message: string, unit?: string): void {
    this.runtime.timeline.add({ at: Date.now(), kind: 'operator', who, message, ...(unit === undefined ? {} : { unit }) });
  }

  private appView(rec: AppRecord, units: readonly UnitView[]): AppView {
    const instances: InstanceView[] = [];
    for (const u of units) {
      const parsed = parseAppUnit(u.name);
      if (parsed?.app !== rec.spec.name) continue;
      instances.push(instanceView(u, parsed.index));
    }
    instances.sort((a, b) => a.index - b.index);
    return { name: rec.spec.name, status: appStatus(rec, instances), removing: rec.removing, spec: rec.spec, instances, createdAt: rec.createdAt, updatedAt: rec.updatedAt };
  }

  // ---- writes (leader only) ------------------------------------------------------------------------

  private async leader(): Promise<LeaderTerm> {
    const term = this.runtime.leaderTerm();
    if (term !== undefined) return term;
    const leader = await this.runtime.currentLeader().catch(() => undefined);
    if (leader === undefined || leader.memberId === this.runtime.memberId) {
      throw new KmfError('no_leader', 'no kmf scheduler instance leads right now (an election is under way); try again in a few seconds', { retriable: true });
    }
    throw new KmfError('not_leader', `this instance is a standby; send changes to the leader at ${leader.address}`, {
      details: { leader: leader.address, leaderMemberId: leader.memberId },
    });
  }

  private validate(input: unknown): AppSpec {
    const v = validateApp(input, { frameworkRole: this.frameworkRole });
    if (!v.ok) throw new KmfError('invalid_app', `the app is not valid: ${v.issues.join('; ')}`, { details: { issues: v.issues } });
    return v.app;
  }

  /** Creates an app; 409 if one with that name exists (use updateApp to change it). */
  async deployApp(input: unknown): Promise<AppView> {
    const spec = this.validate(input);
    const term = await this.leader();
    await term.mutateDesired(async (store) => {
      const existing = store.get(spec.name);
      if (existing?.removing === true) {
        throw new KmfError('app_removing', `app "${spec.name}" is still being removed; deploy it again once GET /api/v1/apps/${spec.name} answers 404`);
      }
      if (existing !== undefined) {
        throw new KmfError('app_exists', `app "${spec.name}" exists; change it with PUT /api/v1/apps/${spec.name} or scale it with POST /api/v1/apps/${spec.name}/scale`);
      }
      const now = new Date().toISOString();
      await store.put({ spec, removing: false, createdAt: now, updatedAt: now });
    });
    return (await this.getApp(spec.name)).app;
  }

  /** Replaces an app's spec: instances whose spec changed are restarted one at a time (update plan). */
  async updateApp(name: string, input: unknown): Promise<AppView> {
    const body = typeof input === 'object' && input !== null && !Array.isArray(input) ? { name, ...(input as Record<string, unknown>) } : input;
    const spec = this.validate(body);
    if (spec.name !== name) throw new KmfError('invalid_app', `the body names app "${spec.name}" but the URL names "${name}"`, { details: { issues: ['name does not match the URL'] } });
    const term = await this.leader();
    await term.mutateDesired(async (store) => {
      const rec = writable(store.require(name));
      await store.put({ ...rec, spec, updatedAt: new Date().toISOString() });
    });
    return (await this.getApp(name)).app;
  }

  async scaleApp(name: string, instances: unknown): Promise<AppView> {
    if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 0 || instances > MAX_INSTANCES) {
      throw new KmfError('invalid_argument', `instances must be an integer from 0 to ${MAX_INSTANCES}`, { details: { issues: ['instances'] } });
    }
    const term = await this.leader();
    await term.mutateDesired(async (store) => {
      const rec = writable(store.require(name));
      if (rec.spec.instances === instances) return;
      await store.put({ ...rec, spec: { ...rec.spec, instances }, updatedAt: new Date().toISOString() });
    });
    return (await this.getApp(name)).app;
  }

  /**
   * Marks the app for removal: its instances are stopped, then the app disappears. Resolves with the app
   * while instances are being stopped, or undefined when it is already gone (nothing was running).
   */
  async removeApp(name: string): Promise<AppView | undefined> {
    const term = await this.leader();
    await term.mutateDesired(async (store) => {
      const rec = store.require(name);
      if (rec.removing) return;
      await store.put({ ...rec, removing: true, updatedAt: new Date().toISOString() });
    });
    const rec = term.apps().get(name);
    return rec === undefined ? undefined : this.appView(rec, term.units());
  }

  /** Kill and relaunch one instance in place (same reservation and volume), without backoff. */
  async restartInstance(name: string, index: number): Promise<void> {
    const term = await this.leader();
    this.requireInstance(term, name, index);
    await term.intent({ kind: 'restart', unit: appUnitName(name, index) });
  }

  /** Kill one instance and relaunch it elsewhere with a fresh volume. */
  async replaceInstance(name: string, index: number): Promise<void> {
    const term = await this.leader();
    this.requireInstance(term, name, index);
    await term.intent({ kind: 'replace', unit: appUnitName(name, index) });
  }

  async pausePlan(name: string): Promise<Plan> {
    const plan = parsePlanName(name);
    const term = await this.leader();
    await term.intent({ kind: 'pause', plan });
    return (await this.plan(plan)).plan;
  }

  async resumePlan(name: string): Promise<Plan> {
    const plan = parsePlanName(name);
    const term = await this.leader();
    await term.intent({ kind: 'resume', plan });
    return (await this.plan(plan)).plan;
  }

  /** Marks a plan's step (a unit) complete: see OperatorIntent 'forceComplete'. */
  async forceComplete(name: string, unit: unknown): Promise<Plan> {
    const plan = parsePlanName(name);
    if (typeof unit !== 'string' || unit === '') throw new KmfError('invalid_argument', 'give the step\'s unit, e.g. {"unit": "app-web/0"}');
    const term = await this.leader();
    await term.intent({ kind: 'forceComplete', plan, unit });
    return (await this.plan(plan)).plan;
  }

  /**
   * Force-completes several steps of a plan (an abort): the intents go in chunks, each chunk one decision,
   * and other events get their turn between chunks. Resolves when every intent was decided.
   */
  async forceCompleteAll(name: string, units: readonly string[]): Promise<void> {
    const plan = parsePlanName(name);
    const term = await this.leader();
    for (let i = 0; i < units.length; i += 200) {
      await term.intents(units.slice(i, i + 200).map((unit) => ({ kind: 'forceComplete' as const, plan, unit })));
    }
  }

  private requireInstance(term: LeaderTerm, name: string, index: number): void {
    const rec = term.apps().get(name);
    if (rec === undefined) throw new KmfError('not_found', `no app named "${name}"`);
    if (!Number.isInteger(index) || index < 0 || index >= rec.spec.instances || rec.removing) {
      throw new KmfError('not_found', `app "${name}" has no running instance ${index} (instances 0 to ${rec.spec.instances - 1})`);
    }
  }
}

function writable(rec: AppRecord): AppRecord {
  if (rec.removing) throw new KmfError('app_removing', `app "${rec.spec.name}" is being removed and cannot be changed`);
  return rec;
}

export function parsePlanName(name: string): PlanName {
  if ((PLAN_NAMES as readonly string[]).includes(name)) return name as PlanName;
  throw new KmfError('not_found', `no plan named "${name}" (plans: ${PLAN_NAMES.join(', ')})`);
}
