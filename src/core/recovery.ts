/**
 * Self-healing bookkeeping: what an unexpected end does to a unit (failure count, backoff, the
 * outage clock) and when TRANSIENT recovery (relaunch into the same reservation and volume) escalates
 * to PERMANENT (fresh reservation and volume elsewhere; the old ones are retired and destroyed when
 * their agent offers them again).
 *
 * The outage clock `firstFailedAt` is part of the stored unit state, so a scheduler restart continues it.
 * It starts at the first unexpected end (or when the task became UNREACHABLE) and stops when a task of
 * the unit reaches RUNNING again. A unit that crash-loops on a healthy agent reaches RUNNING each time
 * and therefore never loses its data to an automatic replacement; an agent that is gone does.
 */
import type { TaskState } from '../mesos/types.js';
import { relaunchDelayMs } from './backoff.js';
import type { DecisionContext, Draft } from './draft.js';
import type { TaskRecord, UnitRuntime } from './state.js';

/**
 * A task that ended while still STAGING with a state saying "no agent has it" never ran: the ACCEPT was
 * lost, invalid, or the agent went away before launching. Not the unit's fault: no backoff, and the
 * reservation that ACCEPT carried is not assumed to exist (if it does, it is adopted when offered).
 */
export function neverLaunched(rec: TaskRecord, state: TaskState): boolean {
  if (rec.state !== 'TASK_STAGING' || rec.runningSince !== undefined) return false;
  switch (state) {
    case 'TASK_DROPPED':
    case 'TASK_LOST':
    case 'TASK_GONE':
    case 'TASK_UNKNOWN':
      return true;
    case 'TASK_STAGING':
    case 'TASK_STARTING':
    case 'TASK_RUNNING':
    case 'TASK_KILLING':
    case 'TASK_FINISHED':
    case 'TASK_FAILED':
    case 'TASK_KILLED':
    case 'TASK_ERROR':
    case 'TASK_UNREACHABLE':
    case 'TASK_GONE_BY_OPERATOR':
      return false;
  }
}

export function newUnitRuntime(name: string): UnitRuntime {
  return { name, generation: 0, failures: 0, everReady: false, replacements: 0 };
}

/**
 * Record an unexpected end of `rec` for its unit. `outageStart` is when the outage began (the UNREACHABLE
 * time for an abandoned task; now otherwise).
 */
export function recordFailure(
  d: Draft,
  ctx: DecisionContext,
  rec: TaskRecord,
  state: TaskState,
  detail: { reason?: string; message?: string },
  outageStart: number,
): void {
  const unit = d.units.get(rec.unit);
  if (!unit) return;
  const { now, config } = ctx;
  // A task that ran stably before dying starts a new episode: no backoff inherited from old failures.
  const stable = rec.runningSince !== undefined && now - rec.runningSince >= config.stableAfterMs;
  const failures = (stable ? 0 : unit.failures) + 1;
  const delay = relaunchDelayMs(config.backoff, failures, ctx.rng);
  const lastFailure: UnitRuntime['lastFailure'] = { taskId: rec.taskId, state, at: now };
  if (detail.reason !== undefined) lastFailure.reason = detail.reason;
  if (detail.message !== undefined) lastFailure.message = detail.message;
  const patch: Partial<UnitRuntime> = {
    failures,
    firstFailedAt: stable ? outageStart : (unit.firstFailedAt ?? outageStart),
    lastFailure,
    delayUntil: delay > 0 ? now + delay : undefined,
    recovery: unit.recovery === 'PERMANENT' && !unit.reservation ? 'PERMANENT' : 'TRANSIENT',
  };
  if (state === 'TASK_ERROR') patch.lastError = detail.message ?? 'TASK_ERROR';
  // The agent was drained or decommissioned by an operator: nothing will come back there.
  if (state === 'TASK_GONE_BY_OPERATOR') patch.replaceRequested = true;
  d.updateUnit(unit.name, patch);
  const what = `${state}${detail.reason ? ` (${detail.reason})` : ''}${detail.message ? `: ${detail.message}` : ''}`;
  d.event(now, 'failure', `task ${rec.taskId} ended unexpectedly: ${what}; failure ${failures} of this episode`, unit.name, rec.taskId);
  if (delay > 0) d.event(now, 'backoff', `relaunch not before ${new Date(now + delay).toISOString()} (${delay} ms)`, unit.name);
}

/** When a reserved unit without a live task escalates to PERMANENT (undefined: not on a timer). */
export function escalationDue(unit: UnitRuntime, ctx: DecisionContext): number | undefined {
  if (!unit.reservation) return undefined;
  if (unit.replaceRequested) return ctx.now;
  if (unit.firstFailedAt === undefined) return undefined;
  return unit.firstFailedAt + ctx.config.permanentFailureAfterMs;
}

/**
 * Give up the unit's reservation: the unit will be placed like a new one (constraints apply), with a
 * fresh volume; the old reservation is remembered as retired so it can be destroyed when offered, or
 * restored if the old task turns out to be alive after all.
 */
export function escalate(d: Draft, ctx: DecisionContext, unit: UnitRuntime, why: string): void {
  const res = unit.reservation;
  if (!res) return;
  const retired = {
    rid: res.rid,
    unit: unit.name,
    agentId: res.agentId,
    retiredAt: ctx.now,
    reservation: res,
    ...(res.volumeId === undefined ? {} : { volumeId: res.volumeId }),
  };
  d.setRetired([...d.retired.filter((r) => r.rid !== res.rid), retired]);
  d.updateUnit(unit.name, {
    reservation: undefined,
    recovery: 'PERMANENT',
    replaceRequested: undefined,
    delayUntil: undefined,
    replacements: unit.replacements + 1,
  });
  d.newPlacementOptions = true;
  d.event(ctx.now, 'escalated', `PERMANENT recovery (${why}): replacing on another agent with a fresh volume; reservation ${res.rid} on ${res.hostname} retired`, unit.name);
}
