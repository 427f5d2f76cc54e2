/**
 * Plans for the API, derived from state (never stored): deploy (phases in order, serial or parallel),
 * recovery (units in a failure episode, TRANSIENT or PERMANENT), update (rolling restarts to a new spec
 * version). Each unit is acted on by at most one plan: `ownerOf` decides which; in the other plans an
 * unfinished step of that unit shows WAITING "in the <owner> plan".
 */
import type { DesiredState, PreparedUnit } from '../model/desired.js';
import type { CoreConfig } from './config.js';
import { isLive, PLAN_NAMES, type CoreState, type PlanName, type TaskRecord, type UnitRuntime } from './state.js';
import { buildIndex, deployGates, deployed, isCurrent, ownerOf, type Owner, type TaskIndex } from './unit-state.js';

export type StepStatus = 'PENDING' | 'PREPARED' | 'STARTING' | 'STARTED' | 'COMPLETE' | 'DELAYED' | 'ERROR' | 'WAITING';

export interface PlanStep {
  unit: string;
  status: StepStatus;
  reason?: string;
  recovery?: 'TRANSIENT' | 'PERMANENT';
  taskId?: string;
  /** DELAYED: not before this time (ms). */
  until?: number;
  /** TRANSIENT recovery of a reserved unit: when it will be replaced elsewhere (ms). */
  permanentAt?: number;
}

export interface PlanPhase {
  name: string;
  strategy: 'serial' | 'parallel';
  status: StepStatus;
  steps: PlanStep[];
}

export interface Plan {
  name: PlanName;
  status: StepStatus;
  paused: boolean;
  phases: PlanPhase[];
}

export type UnitState = 'running' | 'starting' | 'stopping' | 'stopped' | 'waiting' | 'delayed' | 'error' | 'removed' | 'unreachable';

export interface UnitView {
  name: string;
  kind: string;
  goal: string;
  state: UnitState;
  plan: Owner;
  step?: PlanStep;
  generation: number;
  failures: number;
  version: string;
  task?: {
    taskId: string;
    state: string;
    agentId: string;
    hostname: string;
    ports: Record<string, number>;
    ready: boolean;
    healthy?: boolean;
    version: string;
  };
  reservation?: { rid: string; hostname: string; volumeId?: string };
  lastFailure?: UnitRuntime['lastFailure'];
  lastError?: string;
  firstFailedAt?: number;
  issues: readonly string[];
}

export function aggregate(statuses: readonly StepStatus[], paused: boolean): StepStatus {
  if (statuses.length === 0 || statuses.every((s) => s === 'COMPLETE')) return 'COMPLETE';
  if (statuses.includes('ERROR')) return 'ERROR';
  if (paused) return 'WAITING';
  if (statuses.some((s) => s === 'STARTING' || s === 'STARTED' || s === 'PREPARED')) return 'STARTING';
  const open = statuses.filter((s) => s !== 'COMPLETE');
  if (open.every((s) => s === 'DELAYED')) return 'DELAYED';
  if (open.every((s) => s === 'PENDING')) return 'PENDING';
  if (open.includes('PENDING')) return 'PENDING';
  return open.includes('DELAYED') && !open.includes('WAITING') ? 'DELAYED' : 'WAITING';
}

interface Ctx {
  state: CoreState;
  desired: DesiredState;
  now: number;
  config: CoreConfig;
  idx: TaskIndex;
  gates: Map<string, string>;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Status of the unit's current activity when it has no task that is up. */
function waitingStatus(ctx: Ctx, unit: PreparedUnit, rt: UnitRuntime | undefined, plan: PlanName): PlanStep {
  const name = unit.spec.name;
  const step: PlanStep = { unit: name, status: 'PENDING' };
  const { now, config } = ctx;
  if (unit.issues.length > 0) return { ...step, status: 'ERROR', reason: unit.issues.join('; ') };
  if (rt?.delayUntil !== undefined && rt.delayUntil > now) {
    const why = rt.lastError ?? (rt.lastFailure ? `${rt.lastFailure.state}${rt.lastFailure.message ? `: ${rt.lastFailure.message}` : ''}` : 'failure');
    return { ...step, status: rt.lastError !== undefined ? 'ERROR' : 'DELAYED', until: rt.delayUntil, reason: `relaunch after ${iso(rt.delayUntil)} (backoff after ${why})` };
  }
  // TASK_ERROR or a template that cannot be rendered: retried, but it needs a spec fix to succeed.
  if (rt?.lastError !== undefined) return { ...step, status: 'ERROR', reason: rt.lastError };
  const gate = ctx.gates.get(name);
  if (gate !== undefined) return { ...step, status: 'WAITING', reason: gate };
  if (ctx.state.controls.paused[plan]) return { ...step, status: 'WAITING', reason: `${plan} plan paused` };
  const hold = ctx.desired.replaceHolds[name];
  const replaceDue = rt?.replaceRequested === true || (rt?.firstFailedAt !== undefined && now >= rt.firstFailedAt + config.permanentFailureAfterMs);
  if (hold !== undefined && rt?.reservation && replaceDue) {
    return { ...step, status: 'WAITING', reason: `replacement held: ${hold}` };
  }
  const diag = ctx.state.volatile.diagnostics[name];
  if (diag && diag.reasons.length > 0) return { ...step, status: 'WAITING', reason: diag.reasons.join('; ') };
  if (rt?.reservation && rt.generation === 0) return { ...step, status: 'PREPARED', reason: `reserved on ${rt.reservation.hostname}` };
  if (rt?.reservation) return { ...step, status: 'PENDING', reason: `waiting for an offer of its reservation on ${rt.reservation.hostname}` };
  return { ...step, reason: step.reason ?? 'waiting for offers' };
}

function taskStatus(ctx: Ctx, unit: PreparedUnit, rt: UnitRuntime | undefined, t: TaskRecord): PlanStep {
  const step: PlanStep = { unit: unit.spec.name, status: 'STARTING', taskId: t.taskId };
  if (t.kill) return { ...step, status: 'PREPARED', reason: `stopping ${t.taskId} (${t.kill.reason})` };
  switch (t.state) {
    case 'TASK_RUNNING': {
      if (t.ready) return { ...step, status: 'COMPLETE' };
      const readiness = unit.spec.readiness ?? 'running';
      return { ...step, status: 'STARTED', reason: `running, waiting for readiness (${readiness})` };
    }
    case 'TASK_UNREACHABLE': {
      const s: PlanStep = { ...step, status: 'WAITING', reason: `agent ${t.hostname} unreachable since ${iso(t.unreachableSince ?? t.updatedAt)}` };
      if (rt?.reservation && rt.firstFailedAt !== undefined) s.permanentAt = rt.firstFailedAt + ctx.config.permanentFailureAfterMs;
      // Past its permanent-failure time a held replacement is what keeps the unit waiting: say so here too,
      // not only once the unreachable task is gone.
      const hold = ctx.desired.replaceHolds[unit.spec.name];
      if (hold !== undefined && s.permanentAt !== undefined && ctx.now >= s.permanentAt) s.reason = `${s.reason}; replacement held: ${hold}`;
      return s;
    }
    case 'TASK_KILLING':
      return { ...step, status: 'PREPARED', reason: 'task is being killed' };
    case 'TASK_STAGING':
    case 'TASK_STARTING':
    case 'TASK_FINISHED':
    case 'TASK_FAILED':
    case 'TASK_KILLED':
    case 'TASK_ERROR':
    case 'TASK_LOST':
    case 'TASK_DROPPED':
    case 'TASK_GONE':
    case 'TASK_GONE_BY_OPERATOR':
    case 'TASK_UNKNOWN':
      return step;
  }
}

function stepFor(ctx: Ctx, plan: PlanName, unit: PreparedUnit): PlanStep {
  const name = unit.spec.name;
  const stored = ctx.state;
  const rt = stored.units.get(name);
  const live = ctx.idx.live.get(name)?.[0];
  const latest = ctx.idx.latest.get(name);
  const owner = ownerOf(unit, rt, stored.controls, live, latest);
  const complete: PlanStep = { unit: name, status: 'COMPLETE' };
  if (live) complete.taskId = live.taskId;
  let step: PlanStep;
  switch (plan) {
    case 'deploy':
      if (deployed(rt, stored.controls, name)) return complete;
      break;
    case 'update':
      if (owner !== 'update' && (!live || isCurrent(unit, rt, live))) return complete;
      break;
    case 'recovery':
      if (owner !== 'recovery') return complete;
      break;
  }
  if (owner !== plan && owner !== undefined) return { unit: name, status: 'WAITING', reason: `in the ${owner} plan` };
  if (plan === 'update' && live && !live.kill && !isCurrent(unit, rt, live)) {
    const hold = ctx.desired.stopHolds[name];
    if (hold !== undefined) step = { unit: name, status: 'WAITING', reason: `held: ${hold}`, taskId: live.taskId };
    else if (stored.controls.paused.update) step = { unit: name, status: 'WAITING', reason: 'update plan paused', taskId: live.taskId };
    else step = { unit: name, status: 'PENDING', reason: 'waiting for its turn in the rolling update', taskId: live.taskId };
  } else {
    step = live ? taskStatus(ctx, unit, rt, live) : waitingStatus(ctx, unit, rt, plan);
  }
  if (plan === 'recovery' && rt) {
    step.recovery = rt.reservation ? 'TRANSIENT' : (rt.recovery ?? 'TRANSIENT');
    if (rt.reservation && rt.firstFailedAt !== undefined) step.permanentAt = rt.firstFailedAt + ctx.config.permanentFailureAfterMs;
  }
  return step;
}

function context(state: CoreState, desired: DesiredState, now: number, config: CoreConfig): Ctx {
  return {
    state,
    desired,
    now,
    config,
    idx: buildIndex(state.tasks),
    gates: deployGates(desired, state.units, state.controls),
  };
}

export function derivePlans(state: CoreState, desired: DesiredState, now: number, config: CoreConfig): Plan[] {
  const ctx = context(state, desired, now, config);
  const running = desired.ordered.filter((u) => u.spec.goal === 'running');
  const paused = state.controls.paused;
  const plans: Plan[] = [];
  for (const name of PLAN_NAMES) {
    let phases: PlanPhase[];
    if (name === 'deploy') {
      phases = desired.phases.map((p) => {
        const steps = running.filter((u) => u.phase === p.name).map((u) => stepFor(ctx, 'deploy', u));
        return { name: p.name, strategy: p.strategy, status: aggregate(steps.map((s) => s.status), paused.deploy), steps };
      });
      phases = phases.filter((p) => p.steps.length > 0);
    } else {
      const steps = running
        .filter((u) => {
          const rt = state.units.get(u.spec.name);
          if (!deployed(rt, state.controls, u.spec.name)) return false;
          if (name === 'update') return true;
          return rt !== undefined && (rt.failures > 0 || rt.firstFailedAt !== undefined || rt.replaceRequested === true || stepFor(ctx, 'recovery', u).status !== 'COMPLETE');
        })
        .map((u) => stepFor(ctx, name, u));
      phases = [{ name, strategy: name === 'update' ? 'serial' : 'parallel', status: aggregate(steps.map((s) => s.status), paused[name]), steps }];
    }
    plans.push({ name, status: aggregate(phases.map((p) => p.status), paused[name]), paused: paused[name], phases });
  }
  return plans;
}

export function unitViews(state: CoreState, desired: DesiredState, now: number, config: CoreConfig): UnitView[] {
  const ctx = context(state, desired, now, config);
  const stored = state;
  const names = new Set([...desired.ordered.map((u) => u.spec.name), ...state.units.keys()]);
  const out: UnitView[] = [];
  for (const name of names) {
    const unit = desired.units.get(name);
    const rt = stored.units.get(name);
    const live = ctx.idx.live.get(name)?.[0];
    const latest = ctx.idx.latest.get(name);
    const owner = unit ? ownerOf(unit, rt, stored.controls, live, latest) : undefined;
    const step = unit && owner ? stepFor(ctx, owner, unit) : undefined;
    const goal = unit?.spec.goal ?? 'removed';
    let st: UnitState;
    if (!rt && goal !== 'running') st = goal === 'removed' ? 'removed' : 'stopped';
    else if (unit && unit.issues.length > 0) st = 'error';
    else if (live?.state === 'TASK_UNREACHABLE') st = 'unreachable';
    else if (live && (live.kill || goal !== 'running')) st = 'stopping';
    else if (live?.state === 'TASK_RUNNING' && live.ready) st = 'running';
    else if (live) st = 'starting';
    else if (goal === 'stopped') st = 'stopped';
    else if (goal === 'removed') st = 'stopping';
    else if (step?.status === 'ERROR') st = 'error';
    else if (step?.status === 'DELAYED') st = 'delayed';
    else st = 'waiting';
    const view: UnitView = {
      name,
      kind: unit?.spec.kind ?? 'unknown',
      goal,
      state: st,
      plan: owner,
      generation: rt?.generation ?? 0,
      failures: rt?.failures ?? 0,
      version: unit?.version ?? '',
      issues: unit?.issues ?? [],
    };
    if (step) view.step = step;
    const t = live ?? (latest && isLive(latest) ? latest : undefined);
    if (t) {
      view.task = { taskId: t.taskId, state: t.state, agentId: t.agentId, hostname: t.hostname, ports: t.ports, ready: t.ready, version: t.specVersion };
      if (t.healthy !== undefined) view.task.healthy = t.healthy;
    }
    if (rt?.reservation) {
      view.reservation = { rid: rt.reservation.rid, hostname: rt.reservation.hostname };
      if (rt.reservation.volumeId !== undefined) view.reservation.volumeId = rt.reservation.volumeId;
    }
    if (rt?.lastFailure) view.lastFailure = rt.lastFailure;
    if (rt?.lastError !== undefined) view.lastError = rt.lastError;
    if (rt?.firstFailedAt !== undefined) view.firstFailedAt = rt.firstFailedAt;
    out.push(view);
  }
  return out;
}
