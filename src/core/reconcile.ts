/**
 * The decision: from the desired units, the observed tasks, the offers in hand and `now`, compute the
 * actions (persist, accept, decline, kill, reconcile, revive, suppress, wake-up). Pure: no I/O, no clock,
 * no global randomness; the same inputs give the same outputs.
 *
 * Order of work in one decision:
 *   1. task reconciliation progress (explicit → implicit; lost after the deadline)
 *   2. time-driven task checks (UNREACHABLE limit, launch timeout, STAGING reconcile, kill re-send)
 *   3. each unit against its goal: kill what must stop, escalate TRANSIENT → PERMANENT, back off,
 *      or ask for a placement (subject to plan gates)
 *   4. the update plan: at most one rolling restart at a time, respecting stop holds
 *   5. offers: reservation housekeeping, then placements in priority order (recovery, update, deploy),
 *      everything unused declined with a filter
 *   6. REVIVE / SUPPRESS, and the earliest time the core must be asked again
 */
import type { Offer, Operation } from '../mesos/types.js';
import type { DesiredState, PreparedUnit } from '../model/desired.js';
import type { Action } from './actions.js';
import type { CoreConfig } from './config.js';
import type { AgentFacts, Peer } from './constraints.js';
import { Draft, type DecisionContext } from './draft.js';
import { bundleOffers, consume, matchUnit, type OfferBundle, type Placement, type Rejection } from './offer-match.js';
import { refuseSeconds, reviveOrSuppress } from './offer-policy.js';
import { escalate, escalationDue, newUnitRuntime, recordFailure } from './recovery.js';
import { renderTaskInfo, type PlacementView } from './render.js';
import { housekeepReservations } from './reservations.js';
import { formatMilli } from './resources.js';
import type { Rng } from './rng.js';
import { isLive, type CoreState, type KillReason, type LaunchReason, type TaskRecord, type UnitRuntime } from './state.js';
import { progressReconciliation, reconciliationWake } from './task-reconciliation.js';
import { makeReservationId, makeTaskId } from './task-ids.js';
import { buildIndex, deployGates, isCurrent, launchReasonFor, ownerOf, type TaskIndex } from './unit-state.js';

export interface ReconcileInput {
  desired: DesiredState;
  state: CoreState;
  offers: readonly Offer[];
  now: number;
  config: CoreConfig;
  rng: Rng;
}

export interface ReconcileOutput {
  state: CoreState;
  actions: Action[];
}

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const d = new Draft(input.state);
  decide(d, { desired: input.desired, now: input.now, config: input.config, rng: input.rng }, input.offers);
  return d.finish();
}

class Wakes {
  private best: { at: number; why: string } | undefined;
  constructor(private readonly now: number) {}
  add(at: number | undefined, why: string): void {
    if (at === undefined || at <= this.now) return;
    if (!this.best || at < this.best.at) this.best = { at, why };
  }
  get(): { at: number; why: string } | undefined {
    return this.best;
  }
}

interface Candidate {
  unit: PreparedUnit;
  rt: UnitRuntime;
  /** Reserve (and create the volume) without launching: the template waits for other units' placements. */
  pinOnly: boolean;
  launchReason: LaunchReason;
}

function graceOf(ctx: DecisionContext, unit: string): number {
  return ctx.desired.units.get(unit)?.spec.task.killGracePeriodSeconds ?? ctx.config.defaultKillGraceSeconds;
}

function requestKill(d: Draft, ctx: DecisionContext, t: TaskRecord, reason: KillReason): void {
  if (t.kill) return;
  d.putTask({ ...t, kill: { at: ctx.now, reason } });
  d.kill(ctx.now, t.taskId, t.agentId || undefined, reason, graceOf(ctx, t.unit));
  d.event(ctx.now, 'kill', `kill requested (${reason})`, t.unit, t.taskId);
}

/** Step 2: checks driven by the clock, over every task record. */
function timeChecks(d: Draft, ctx: DecisionContext, wakes: Wakes): void {
  const { now, config } = ctx;
  const stagingAsk: Array<{ taskId: string; agentId?: string }> = [];
  for (const t of [...d.tasks.values()]) {
    if (!isLive(t)) continue;
    // Only an UNREACHABLE task needs its unit here (two map lookups per task add up over 10,000 records).
    const unit = t.state === 'TASK_UNREACHABLE' ? d.units.get(t.unit) : undefined;
    const waitsForAgent = t.reservationId !== undefined && t.kill === undefined && unit?.reservation?.rid === t.reservationId;
    if (t.state === 'TASK_UNREACHABLE' && !waitsForAgent && t.unreachableSince !== undefined) {
      // A unit whose task holds its reservation waits for the agent until PERMANENT escalation; any other
      // unreachable task (no reservation, or already being killed) is given up after the limit.
      const deadline = t.unreachableSince + config.unreachableLimitMs;
      if (now >= deadline) {
        const abandoned = d.putTask({ ...t, abandoned: true });
        d.kill(now, t.taskId, t.agentId, 'unreachable');
        d.event(now, 'lost', `UNREACHABLE for more than ${config.unreachableLimitMs} ms: given up`, t.unit, t.taskId);
        const goal = ctx.desired.units.get(t.unit)?.spec.goal;
        if (unit && goal === 'running' && unit.generation === t.generation && !t.kill) {
          recordFailure(d, ctx, abandoned, 'TASK_UNREACHABLE', { message: 'unreachable past the limit' }, t.unreachableSince);
        }
        continue;
      }
      wakes.add(deadline, `unreachable limit of ${t.taskId}`);
    }
    if ((t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING') && !t.kill) {
      const deadline = t.launchedAt + config.launchTimeoutMs;
      if (now >= deadline) {
        requestKill(d, ctx, t, 'launch-timeout');
        continue;
      }
      wakes.add(deadline, `launch timeout of ${t.taskId}`);
    }
    if (t.state === 'TASK_STAGING' && !t.kill && d.volatile.subscribed) {
      const last = Math.max(t.updatedAt, d.volatile.stagingAskedAt[t.taskId] ?? 0);
      const due = last + config.stagingReconcileAfterMs;
      if (now >= due) {
        stagingAsk.push(t.agentId ? { taskId: t.taskId, agentId: t.agentId } : { taskId: t.taskId });
        d.volatile.stagingAskedAt[t.taskId] = now;
        wakes.add(now + config.stagingReconcileAfterMs, `staging check of ${t.taskId}`);
      } else wakes.add(due, `staging check of ${t.taskId}`);
    }
    // Nothing above changed this record when it gets here (each change is followed by `continue`).
    const kill = t.kill === undefined ? undefined : d.tasks.get(t.taskId)?.kill;
    if (kill && d.volatile.subscribed) {
      const sent = d.volatile.killSentAt[t.taskId];
      const due = sent === undefined ? now : sent + config.killResendMs + graceOf(ctx, t.unit) * 1000;
      if (now >= due) d.kill(now, t.taskId, t.agentId || undefined, kill.reason, graceOf(ctx, t.unit));
      else wakes.add(due, `kill re-send for ${t.taskId}`);
    }
  }
  if (stagingAsk.length > 0) d.reconciles.push({ type: 'reconcile', tasks: stagingAsk });
}

interface UnitPass {
  candidates: Candidate[];
  backoff: Array<{ unit: string; until: number; agentId: string | undefined }>;
}

/** Step 3: each unit against its goal. */
function unitPass(d: Draft, ctx: DecisionContext, idx: TaskIndex, wakes: Wakes): UnitPass {
  const { desired, now, config } = ctx;
  const out: UnitPass = { candidates: [], backoff: [] };
  const gates = deployGates(desired, d.units, d.controls);
  const paused = d.controls.paused;
  // A unit with a live task is placed: why it waited is forgotten. Only the few diagnosed units are looked
  // at: a lookup in this dictionary for each of 10,000 units cost about a millisecond per decision.
  for (const name of Object.keys(d.volatile.diagnostics)) {
    const unit = desired.units.get(name);
    if (unit !== undefined && (idx.live.get(name)?.length ?? 0) > 0 && (d.units.has(name) || unit.spec.goal === 'running')) delete d.volatile.diagnostics[name];
  }
  for (const unit of desired.ordered) {
    const name = unit.spec.name;
    const goal = unit.spec.goal;
    let rt = d.units.get(name);
    const live = idx.live.get(name) ?? [];
    if (!rt) {
      if (goal !== 'running') continue;
      // A unit added again after a removal continues the generations of any task still known.
      const seen = [...d.tasks.values()].filter((t) => t.unit === name).reduce((g, t) => Math.max(g, t.generation), 0);
      rt = d.putUnit({ ...newUnitRuntime(name), generation: seen });
    }
    if (unit.issues.length > 0) continue;

    if (goal === 'removed') {
      for (const t of live) requestKill(d, ctx, t, 'remove');
      if (live.length === 0) {
        if (rt.reservation) escalate(d, ctx, rt, 'unit removed');
        for (const t of [...d.tasks.values()]) if (t.unit === name) d.deleteTask(t.taskId);
        d.deleteUnit(name);
        delete d.volatile.diagnostics[name];
        d.event(now, 'intent', 'unit removed', name);
      }
      continue;
    }
    if (goal === 'stopped') {
      for (const t of live) requestKill(d, ctx, t, 'stop');
      continue;
    }

    // goal: running. Never two live tasks: anything but the newest is superseded.
    for (let i = 1; i < live.length; i++) {
      const older = live[i];
      if (older) requestKill(d, ctx, older, 'superseded');
    }
    const current = live[0];
    if (current) {
      if (rt.failures > 0 && current.state === 'TASK_RUNNING' && current.runningSince !== undefined) {
        const stableAt = current.runningSince + config.stableAfterMs;
        if (now >= stableAt) rt = d.updateUnit(name, { failures: 0, recovery: undefined, delayUntil: undefined }) ?? rt;
        else wakes.add(stableAt, `stability of ${name}`);
      }
      if (current.state === 'TASK_UNREACHABLE' && rt.reservation && current.reservationId === rt.reservation.rid) {
        // Even an operator's replace waits for the UNREACHABLE limit: the task may still be running.
        const timer = escalationDue(rt, ctx);
        const due = timer === undefined ? undefined : Math.max(timer, (current.unreachableSince ?? now) + config.unreachableLimitMs);
        if (due !== undefined && now >= due && desired.replaceHolds[name] === undefined) {
          d.putTask({ ...current, abandoned: true });
          d.kill(now, current.taskId, current.agentId, 'unreachable');
          if (!current.kill) {
            recordFailure(d, ctx, current, 'TASK_UNREACHABLE', { message: 'agent unreachable past the permanent-failure timeout' }, current.unreachableSince ?? now);
          }
          escalate(d, ctx, d.units.get(name) ?? rt, rt.replaceRequested ? 'replace requested' : 'agent unreachable');
          idx.live.delete(name);
          rt = d.units.get(name) ?? rt;
        } else {
          wakes.add(due, `permanent-failure timeout of ${name}`);
          continue;
        }
      } else continue;
    }

    // No live task.
    if (rt.reservation && !rt.reservation.confirmed) {
      const expiry = rt.reservation.createdAt + config.reservationConfirmMs;
      if (now >= expiry) {
        d.event(now, 'reservation', `reservation ${rt.reservation.rid} never showed up; forgetting it`, name);
        rt = d.updateUnit(name, { reservation: undefined }) ?? rt;
      } else wakes.add(expiry, `reservation check of ${name}`);
    }
    if (rt.reservation) {
      const due = escalationDue(rt, ctx);
      if (due !== undefined && now >= due) {
        if (desired.replaceHolds[name] === undefined) {
          escalate(d, ctx, rt, rt.replaceRequested ? 'replace requested' : `no relaunch for ${config.permanentFailureAfterMs} ms`);
          rt = d.units.get(name) ?? rt;
        }
      } else wakes.add(due, `permanent-failure timeout of ${name}`);
    }
    if (rt.delayUntil !== undefined && rt.delayUntil > now) {
      out.backoff.push({ unit: name, until: rt.delayUntil, agentId: rt.reservation?.agentId });
      wakes.add(rt.delayUntil, `backoff of ${name}`);
      continue;
    }
    if (gates.has(name)) continue;
    const everDeployed = rt.everReady || d.controls.deployForced.includes(name);
    if (everDeployed ? paused.recovery : paused.deploy) continue;
    const latest = idx.latest.get(name);
    out.candidates.push({ unit, rt, pinOnly: false, launchReason: launchReasonFor(rt, latest) });
  }
  return out;
}

/**
 * The unit was stopped by the rolling update and is not ready again yet. Its owner may be the recovery plan
 * (a unit with a failure still inside its stability window is "in an episode" while it is down), but the roll
 * must wait for it all the same: stopping the next unit meanwhile would take two down at once.
 */
function restartedForUpdate(current: TaskRecord | undefined, latest: TaskRecord | undefined): boolean {
  if (current) return current.kill?.reason === 'update' || (current.launchReason === 'update' && !(current.state === 'TASK_RUNNING' && current.ready));
  return latest?.kill?.reason === 'update';
}

/**
 * Step 4: stale tasks are restarted, respecting stop holds: one phase at a time, and within it one unit at a
 * time unless the phase allows more (`PhaseSpec.maxUnavailable`, e.g. a Streams app rolled two instances at once).
 * Every deployed unit of the phase that is down counts against that limit, whatever took it down: a unit the
 * roll restarted whose new version then failed belongs to the recovery plan while it crash-loops, and the roll
 * must not stop the next one meanwhile (a broken version would otherwise go through the whole phase).
 */
function updatePass(d: Draft, ctx: DecisionContext, idx: TaskIndex): void {
  const { desired } = ctx;
  /** Units the update plan is working on (killed or relaunched, not ready yet), per phase. */
  const inFlight = new Map<string, number>();
  /** Other deployed units that are not running and ready (the recovery plan's), per phase. */
  const down = new Map<string, number>();
  const stale: Array<{ unit: PreparedUnit; task: TaskRecord }> = [];
  for (const unit of desired.ordered) {
    const name = unit.spec.name;
    if (unit.spec.goal !== 'running' || unit.issues.length > 0) continue;
    const rt = d.units.get(name);
    const current = idx.live.get(name)?.[0];
    const owner = ownerOf(unit, rt, d.controls, current, idx.latest.get(name));
    if (current && !current.kill && !isCurrent(unit, rt, current)) {
      if (owner === 'update') stale.push({ unit, task: current });
      // Not deployed yet: the deploy plan simply relaunches it at the new version.
      else if (owner === 'deploy') requestKill(d, ctx, current, 'update');
      continue;
    }
    if (owner === 'update' || (owner !== 'deploy' && restartedForUpdate(current, idx.latest.get(name)))) inFlight.set(unit.phase, (inFlight.get(unit.phase) ?? 0) + 1);
    else if (owner === 'recovery') down.set(unit.phase, (down.get(unit.phase) ?? 0) + 1);
  }
  if (inFlight.size > 1 || d.controls.paused.update) return;
  const startable = stale.filter((s) => desired.stopHolds[s.unit.spec.name] === undefined);
  const limits = new Map(desired.phases.map((p) => [p.name, Math.max(1, p.maxUnavailable ?? 1)]));
  const room = (phase: string): number => (limits.get(phase) ?? 1) - (inFlight.get(phase) ?? 0) - (down.get(phase) ?? 0);
  // The phase in flight, else the first phase with something to restart and room for it.
  const phase = inFlight.keys().next().value ?? startable.find((s) => room(s.unit.phase) > 0)?.unit.phase;
  if (phase === undefined) return;
  for (const next of startable.filter((s) => s.unit.phase === phase).slice(0, Math.max(0, room(phase)))) requestKill(d, ctx, next.task, 'update');
}

function describeRejection(r: Rejection): string {
  switch (r.kind) {
    case 'role':
      return `offer is for role ${r.offered}, unit needs ${r.wanted}`;
    case 'agent':
      return `waits for its reservation on ${r.wantedHost}`;
    case 'avoid':
      return `avoids ${r.hostname} until its old reservation there is destroyed`;
    case 'constraint':
      return r.reason;
    case 'scalar':
      return `${r.name}: need ${formatMilli(r.needMilli)}, offer has ${formatMilli(r.haveMilli)}`;
    case 'ports':
      return `ports: need ${r.need}, offer has ${r.have}`;
    case 'port':
      return `port ${r.name}=${r.port} not offered`;
    case 'volume':
      return `volume: need ${formatMilli(r.needMilli)} MB of disk in one piece, offer has ${formatMilli(r.haveMilli)} MB`;
    case 'reservedVolume':
      return `volume ${r.volumeId} is missing from its reservation`;
  }
}

/** Readable reasons why a unit fit none of the offers: the best offer per resource, hosts per constraint. */
export function summarizeRejections(list: ReadonlyArray<{ hostname: string; rejection: Rejection }>): string[] {
  const out: string[] = [];
  const scalars = new Map<string, { need: number; have: number; host: string }>();
  const constraints = new Map<string, string[]>();
  const other = new Map<string, string[]>();
  for (const { hostname, rejection: r } of list) {
    if (r.kind === 'scalar' || r.kind === 'volume') {
      const key = r.kind === 'scalar' ? r.name : 'volume';
      const prev = scalars.get(key);
      if (!prev || r.haveMilli > prev.have) scalars.set(key, { need: r.needMilli, have: r.haveMilli, host: hostname });
    } else if (r.kind === 'constraint') {
      const hosts = constraints.get(r.constraint) ?? [];
      hosts.push(hostname);
      constraints.set(r.constraint, hosts);
    } else {
      const text = r.kind === 'ports' ? `ports: need ${r.need}` : describeRejection(r);
      const hosts = other.get(text) ?? [];
      hosts.push(hostname);
      other.set(text, hosts);
    }
  }
  for (const [name, s] of scalars) {
    out.push(
      name === 'volume'
        ? `disk for the volume: need ${formatMilli(s.need)} MB in one piece, best offer has ${formatMilli(s.have)} MB (${s.host})`
        : `${name}: need ${formatMilli(s.need)}, best offer has ${formatMilli(s.have)} (${s.host})`,
    );
  }
  const hostList = (hosts: string[]): string => {
    const uniq = [...new Set(hosts)];
    return uniq.length > 5 ? `${uniq.slice(0, 5).join(', ')} and ${uniq.length - 5} more` : uniq.join(', ');
  };
  for (const [label, hosts] of constraints) out.push(`constraint ${label} excludes ${hostList(hosts)}`);
  for (const [text, hosts] of other) out.push(`${text} (${hostList(hosts)})`);
  return out;
}

/** Where a unit is (live task, else reservation): for constraints and `{{unit:X:…}}` references. */
function placementIndex(d: Draft, ctx: DecisionContext, idx: TaskIndex): Map<string, PlacementView & { attributes: Record<string, string> }> {
  const out = new Map<string, PlacementView & { attributes: Record<string, string> }>();
  for (const [name, live] of idx.live) {
    const t = live[0];
    if (!t) continue;
    out.set(name, { agentId: t.agentId, hostname: t.hostname, ports: t.ports, attributes: t.attributes, vars: ctx.desired.units.get(name)?.spec.vars ?? {} });
  }
  for (const rt of [...d.units.values()]) {
    const res = rt.reservation;
    if (!res || out.has(rt.name)) continue;
    out.set(rt.name, { agentId: res.agentId, hostname: res.hostname, ports: res.ports, attributes: res.attributes, vars: ctx.desired.units.get(rt.name)?.spec.vars ?? {} });
  }
  return out;
}

/** Step 5 and 6. */
function offerPass(d: Draft, ctx: DecisionContext, idx: TaskIndex, pass: UnitPass, offers: readonly Offer[], wakes: Wakes): void {
  const { desired, now, config, rng } = ctx;
  const bundles = bundleOffers(offers);
  const ops = new Map<OfferBundle, Operation[]>();
  const launched = new Map<OfferBundle, Array<{ unit: string; taskId: string }>>();
  const addOps = (b: OfferBundle, list: Operation[]): void => {
    ops.set(b, [...(ops.get(b) ?? []), ...list]);
  };
  for (const b of bundles) {
    const cleanup = housekeepReservations(d, ctx, b);
    if (cleanup.length > 0) addOps(b, cleanup);
  }

  // Where every unit is, and the groups, are only computed if a constraint or a reference needs them
  // (a relaunch into a reservation needs neither: the failover path stays O(1) here).
  let placesCache: ReturnType<typeof placementIndex> | undefined;
  const places = (): ReturnType<typeof placementIndex> => (placesCache ??= placementIndex(d, ctx, idx));
  let groupsCache: Map<string, PreparedUnit[]> | undefined;
  const groups = (): Map<string, PreparedUnit[]> => {
    if (groupsCache) return groupsCache;
    groupsCache = new Map();
    for (const u of desired.ordered) {
      const g = groupsCache.get(u.group);
      if (g) g.push(u);
      else groupsCache.set(u.group, [u]);
    }
    return groupsCache;
  };
  const peersOf = (unit: PreparedUnit): Peer[] => {
    const peers: Peer[] = [];
    for (const m of groups().get(unit.group) ?? []) {
      if (m.spec.name === unit.spec.name) continue;
      const p = places().get(m.spec.name);
      if (p) peers.push({ unit: m.spec.name, agent: { agentId: p.agentId, hostname: p.hostname, attributes: p.attributes } });
    }
    return peers;
  };
  const lookup = (name: string): PlacementView | undefined => places().get(name);
  const placed = (name: string, view: PlacementView & { attributes: Record<string, string> }): void => {
    if (placesCache) placesCache.set(name, view);
  };

  // Recovery first (deployed units), then updates and deploys, in deploy order.
  const candidates = [...pass.candidates].sort((a, b) => Number(b.rt.everReady) - Number(a.rt.everReady) || a.unit.order - b.unit.order);
  const unplaced: Array<{ c: Candidate; rejections: Map<OfferBundle, Rejection> }> = [];

  for (const c of candidates) {
    const name = c.unit.spec.name;
    const role = c.unit.spec.role ?? config.role;
    if (c.unit.reservable && role === '*') {
      const why = 'a unit with a volume or reservation needs a Mesos role other than "*"';
      if (c.rt.lastError !== why) d.updateUnit(name, { lastError: why });
      continue;
    }
    const rt = d.units.get(name) ?? c.rt;
    const missing = c.unit.refs.length === 0 ? [] : c.unit.refs.filter((r) => lookup(r) === undefined);
    let pinOnly = false;
    if (missing.length > 0) {
      if (!c.unit.reservable || rt.reservation) {
        d.volatile.diagnostics[name] = { at: now, offersSeen: bundles.length, reasons: [`waiting for the placement of ${missing.join(', ')}`] };
        continue;
      }
      pinOnly = true;
    }
    if (bundles.length === 0) {
      unplaced.push({ c, rejections: new Map() });
      continue;
    }
    const avoid = new Set(d.retired.filter((r) => r.unit === name && !rt.reservation).map((r) => r.agentId));
    const rejections = new Map<OfferBundle, Rejection>();
    let placement: Placement | undefined;
    let peers: Peer[] | undefined;
    const peersOnce = (): Peer[] => (peers ??= peersOf(c.unit));
    for (const b of bundles) {
      if (avoid.has(b.agentId)) {
        rejections.set(b, { kind: 'avoid', hostname: b.hostname });
        continue;
      }
      const r = matchUnit(b, {
        unit: c.unit,
        role,
        frameworkName: config.frameworkName,
        principal: config.principal,
        reservation: rt.reservation,
        peers: peersOnce,
        now,
        newReservationId: () => makeReservationId(name, rt.generation + 1, rng),
      });
      if (r.ok) {
        placement = r.placement;
        break;
      }
      rejections.set(b, r.rejection);
    }
    if (!placement) {
      unplaced.push({ c, rejections });
      continue;
    }
    const b = placement.bundle;
    const facts: AgentFacts = b.facts;
    if (pinOnly) {
      consume(placement);
      const res = placement.reservation;
      if (res) d.updateUnit(name, { reservation: res });
      const list: Operation[] = [];
      if (placement.reserve.length > 0) list.push({ type: 'RESERVE', reserve: { resources: placement.reserve } });
      if (placement.create.length > 0) list.push({ type: 'CREATE', create: { volumes: placement.create } });
      addOps(b, list);
      placed(name, { agentId: b.agentId, hostname: b.hostname, ports: placement.ports, attributes: facts.attributes, vars: c.unit.spec.vars ?? {} });
      delete d.volatile.diagnostics[name];
      d.event(now, 'reserve', `reserved on ${b.hostname} ahead of launch (waiting for ${missing.join(', ')})`, name);
      continue;
    }
    const generation = rt.generation + 1;
    const taskId = makeTaskId(name, generation, rng);
    const rendered = renderTaskInfo(
      {
        unit: c.unit,
        taskId,
        generation,
        agentId: b.agentId,
        hostname: b.hostname,
        ports: placement.ports,
        ...(placement.volumePath === undefined ? {} : { volumePath: placement.volumePath }),
        lookup,
      },
      placement.taskResources,
      config.renderers?.[c.unit.spec.kind],
      config.defaultKillGraceSeconds,
    );
    if (!rendered.ok) {
      d.updateUnit(name, { lastError: rendered.reason });
      d.volatile.diagnostics[name] = { at: now, offersSeen: bundles.length, reasons: [`cannot render the task: ${rendered.reason}`] };
      d.event(now, 'render-error', rendered.reason, name);
      continue;
    }
    consume(placement);
    const record: TaskRecord = {
      taskId,
      unit: name,
      generation,
      agentId: b.agentId,
      hostname: b.hostname,
      attributes: facts.attributes,
      state: 'TASK_STAGING',
      launchedAt: now,
      updatedAt: now,
      specVersion: c.unit.version,
      ports: placement.ports,
      launchReason: c.launchReason,
      ready: false,
    };
    const res = placement.reservation;
    if (res) {
      record.reservationId = res.rid;
      if (res.volumeId !== undefined) record.volumeId = res.volumeId;
    }
    // Older records of the unit that are over are not needed any more; the newest one replaces them.
    for (const t of [...d.tasks.values()]) if (t.unit === name && t.generation < generation && !isLive(t)) d.deleteTask(t.taskId);
    d.putTask(record);
    d.updateUnit(name, {
      generation,
      reservation: res === undefined ? undefined : rt.reservation ? res : { ...res, createdByTask: taskId },
      delayUntil: undefined,
      replaceRequested: undefined,
      lastError: undefined,
    });
    const list: Operation[] = [];
    if (placement.reserve.length > 0) list.push({ type: 'RESERVE', reserve: { resources: placement.reserve } });
    if (placement.create.length > 0) list.push({ type: 'CREATE', create: { volumes: placement.create } });
    list.push({ type: 'LAUNCH', launch: { task_infos: [rendered.task] } });
    if (placement.unreserve.length > 0) list.push({ type: 'UNRESERVE', unreserve: { resources: placement.unreserve } });
    addOps(b, list);
    launched.set(b, [...(launched.get(b) ?? []), { unit: name, taskId }]);
    idx.live.set(name, [record]);
    placed(name, { agentId: b.agentId, hostname: b.hostname, ports: placement.ports, attributes: facts.attributes, vars: c.unit.spec.vars ?? {} });
    delete d.volatile.diagnostics[name];
    d.event(now, 'launch', `launching on ${b.hostname} (${c.launchReason}${res ? `, reservation ${res.rid}` : ''})`, name, taskId);
  }

  for (const { c, rejections } of unplaced) {
    if (rejections.size === 0) continue;
    const list = [...rejections].map(([b, rejection]) => ({ hostname: b.hostname, rejection }));
    d.volatile.diagnostics[c.unit.spec.name] = { at: now, offersSeen: bundles.length, reasons: summarizeRejections(list) };
  }

  // Decline or accept every bundle: offers are never held.
  for (const b of bundles) {
    const users = unplaced.filter(({ rejections }) => {
      const r = rejections.get(b);
      return r !== undefined && r.kind !== 'agent' && r.kind !== 'avoid' && r.kind !== 'role';
    });
    const backoffs = pass.backoff.filter((x) => x.agentId === undefined || x.agentId === b.agentId).map((x) => x.until);
    const refuse = refuseSeconds(ctx, { wantedNow: users.length > 0, backoffUntil: backoffs.length > 0 ? Math.min(...backoffs) : undefined });
    const list = ops.get(b);
    if (list && list.length > 0) {
      d.offerActions.push({ type: 'accept', offerIds: b.offerIds, agentId: b.agentId, operations: list, refuseSeconds: refuse, launched: launched.get(b) ?? [] });
    } else {
      const reasons = unplaced
        .map(({ c, rejections }) => {
          const r = rejections.get(b);
          return r ? `${c.unit.spec.name}: ${describeRejection(r)}` : undefined;
        })
        .filter((s): s is string => s !== undefined)
        .slice(0, 5);
      d.offerActions.push({ type: 'decline', offerIds: b.offerIds, refuseSeconds: refuse, reasons: reasons.length > 0 ? reasons : ['nothing to launch'] });
    }
  }

  // A retired reservation is destroyed from an offer of its agent, and a suppressed framework gets none: until
  // its cleanup is sent it counts as wanting offers (else a removed unit's reservation and volume would stay
  // reserved until some other unit happened to want offers).
  const cleanups = d.retired.filter((r) => r.cleanupSentAt === undefined).map((r) => `${r.unit} (retired reservation ${r.rid})`);
  const wanting = [...unplaced.map(({ c }) => c.unit.spec.name), ...pass.backoff.map((b) => b.unit), ...cleanups];
  wakes.add(reviveOrSuppress(d, ctx, [...new Set(wanting)].sort()), 'revive rate limit');
}

export function decide(d: Draft, ctx: DecisionContext, offers: readonly Offer[]): void {
  const wakes = new Wakes(ctx.now);
  progressReconciliation(d, ctx);
  wakes.add(reconciliationWake(d), 'reconciliation');
  timeChecks(d, ctx, wakes);
  const idx = buildIndex(d.tasks);
  const pass = unitPass(d, ctx, idx, wakes);
  updatePass(d, ctx, idx);
  offerPass(d, ctx, idx, pass, offers, wakes);
  const w = wakes.get();
  if (w) d.flow.push({ type: 'wakeAt', at: w.at, why: w.why });
}
