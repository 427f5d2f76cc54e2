/**
 * Applying a task status update (from an agent, the master, reconciliation, or synthesized by the core)
 * to the task records and units.
 *
 * Rules:
 *  - a status for a task kmf has no record of is killed if it may be running (unknown tasks never live on);
 *  - a task that comes back (RUNNING after LOST, after being abandoned as unreachable…) is adopted if it
 *    is still its unit's latest launch and the unit has no other live task; otherwise it is killed;
 *  - an end that kmf did not ask for is a failure (backoff, outage clock); one it asked for is not;
 *  - updates carrying a uuid are acknowledged, after the records are persisted.
 */
import type { TaskStatus } from '../mesos/types.js';
import type { DecisionContext, Draft } from './draft.js';
import { neverLaunched, recordFailure } from './recovery.js';
import { isLive, isLiveState, type TaskRecord } from './state.js';
import { parseTaskId } from './task-ids.js';

function nanosToMs(nanos: string | undefined): number | undefined {
  if (nanos === undefined || !/^\d+$/.test(nanos)) return undefined;
  return Number(BigInt(nanos) / 1_000_000n);
}

function liveOthers(d: Draft, rec: TaskRecord): TaskRecord[] {
  return [...d.tasks.values()].filter((t) => t.unit === rec.unit && t.taskId !== rec.taskId && isLive(t));
}

/** Whether the record's readiness condition holds for this status. */
function readyFor(d: Draft, ctx: DecisionContext, rec: TaskRecord, status: TaskStatus): boolean {
  if (status.state !== 'TASK_RUNNING') return false;
  const readiness = ctx.desired.units.get(rec.unit)?.spec.readiness ?? 'running';
  switch (readiness) {
    case 'running':
      return true;
    case 'healthy':
      return status.healthy === true || (status.healthy === undefined && rec.ready);
    case 'external':
      return rec.ready;
  }
}

export function markReady(d: Draft, rec: TaskRecord): void {
  const unit = d.units.get(rec.unit);
  if (unit && !unit.everReady && unit.generation === rec.generation) d.updateUnit(unit.name, { everReady: true });
}

/**
 * A live task with a kmf task id but no record (launched before a state loss, a record already dropped,
 * a unit removed meanwhile): kept as a record being killed, so that its unit is not launched next to it.
 */
function rememberZombie(d: Draft, ctx: DecisionContext, taskId: string, unitName: string, generation: number, status: TaskStatus): void {
  const unit = d.units.get(unitName);
  const { now } = ctx;
  d.putTask({
    taskId,
    unit: unitName,
    generation,
    agentId: status.agent_id?.value ?? '',
    hostname: '',
    attributes: {},
    state: status.state,
    launchedAt: now,
    updatedAt: now,
    specVersion: '',
    ports: {},
    launchReason: 'recovery',
    kill: { at: now, reason: 'unknown' },
    ready: false,
  });
  // Generations only grow, so a later launch never reuses one seen in the wild.
  if (unit && generation > unit.generation) d.updateUnit(unitName, { generation });
}

export function applyStatus(d: Draft, ctx: DecisionContext, status: TaskStatus): void {
  const { now } = ctx;
  const taskId = status.task_id.value;
  const agentId = status.agent_id?.value;
  const state = status.state;
  d.volatile.recon.pending = d.volatile.recon.pending.filter((id) => id !== taskId);

  const rec = d.tasks.get(taskId);
  if (!rec) {
    if (isLiveState(state)) {
      const parsed = parseTaskId(taskId);
      d.kill(now, taskId, agentId, 'unknown');
      d.event(now, 'unknown-task', `killing ${state} task kmf has no record of`, parsed?.unit, taskId);
      if (parsed) rememberZombie(d, ctx, taskId, parsed.unit, parsed.generation, status);
    }
  } else if (isLive(rec)) {
    applyToLive(d, ctx, rec, status);
  } else {
    applyToEnded(d, ctx, rec, status);
  }
  if (status.uuid !== undefined && agentId !== undefined) {
    d.acks.push({ type: 'acknowledge', taskId, agentId, uuid: status.uuid });
  }
}

function applyToLive(d: Draft, ctx: DecisionContext, rec: TaskRecord, status: TaskStatus): void {
  const { now } = ctx;
  const state = status.state;
  const unit = d.units.get(rec.unit);
  const base: Partial<TaskRecord> = { reason: status.reason, message: status.message };
  if (status.healthy !== undefined) base.healthy = status.healthy;
  if (rec.agentId === '' && status.agent_id) base.agentId = status.agent_id.value;

  if (isLiveState(state)) {
    if (state === rec.state && (status.healthy === undefined || status.healthy === rec.healthy)) return;
    const patch: Partial<TaskRecord> = { ...base, state, updatedAt: state === rec.state ? rec.updatedAt : now };
    if (state === 'TASK_UNREACHABLE') {
      const since = nanosToMs(status.unreachable_time?.nanoseconds) ?? now;
      patch.unreachableSince = rec.unreachableSince ?? Math.min(since, now);
      // For a reserved unit the outage (and the escalation clock) starts when its agent went away.
      if (unit && unit.generation === rec.generation && unit.reservation && unit.firstFailedAt === undefined) {
        d.updateUnit(unit.name, { firstFailedAt: patch.unreachableSince });
      }
      d.event(now, 'task-status', `task is UNREACHABLE${status.message ? `: ${status.message}` : ''}`, rec.unit, rec.taskId);
    } else {
      patch.unreachableSince = undefined;
    }
    if (state === 'TASK_RUNNING') patch.runningSince = rec.runningSince ?? now;
    const next = d.putTask({ ...rec, ...patch });
    const ready = readyFor(d, ctx, next, status);
    if (ready !== next.ready) d.putTask({ ...next, ready });
    if (unit && unit.generation === rec.generation) {
      const unitPatch: Partial<typeof unit> = {};
      if (state === 'TASK_RUNNING' || state === 'TASK_STARTING') {
        if (unit.reservation && !unit.reservation.confirmed && unit.reservation.rid === rec.reservationId) {
          unitPatch.reservation = { ...unit.reservation, confirmed: true };
        }
      }
      // Back up: the outage is over (the escalation clock stops; the failure count waits for stability).
      if (state === 'TASK_RUNNING') {
        unitPatch.firstFailedAt = undefined;
        unitPatch.lastError = undefined;
      }
      if (Object.keys(unitPatch).length > 0) d.updateUnit(unit.name, unitPatch);
    }
    if (ready) markReady(d, next);
    if (state !== rec.state && state !== 'TASK_UNREACHABLE') d.event(now, 'task-status', state, rec.unit, rec.taskId);
    return;
  }

  // The task ended.
  const ended = d.putTask({ ...rec, ...base, state, updatedAt: now, ready: false });
  d.event(now, 'task-status', `${state}${status.reason ? ` (${status.reason})` : ''}`, rec.unit, rec.taskId);
  onTaskEnded(d, ctx, ended, status, rec);
}

function onTaskEnded(d: Draft, ctx: DecisionContext, rec: TaskRecord, status: TaskStatus, before: TaskRecord): void {
  const { now } = ctx;
  const unit = d.units.get(rec.unit);
  if (!unit || rec.generation < unit.generation) {
    // An older launch (superseded or zombie) is done: its record has no further use.
    d.deleteTask(rec.taskId);
    return;
  }
  if (neverLaunched(before, status.state)) {
    // The ACCEPT never took effect, so neither did the RESERVE/CREATE it carried.
    const res = unit.reservation;
    if (res && !res.confirmed && res.createdByTask === rec.taskId) d.updateUnit(unit.name, { reservation: undefined });
    d.event(now, 'lost', `launch did not happen (${status.reason ?? status.state}); relaunching without backoff`, unit.name, rec.taskId);
    return;
  }
  const spec = ctx.desired.units.get(unit.name)?.spec;
  const requested = rec.kill !== undefined && rec.kill.reason !== 'launch-timeout';
  if (requested || !spec || spec.goal !== 'running') return;
  const detail: { reason?: string; message?: string } = {};
  if (status.reason !== undefined) detail.reason = status.reason;
  if (status.message !== undefined) detail.message = status.message;
  recordFailure(d, ctx, rec, status.state, detail, now);
}

function applyToEnded(d: Draft, ctx: DecisionContext, rec: TaskRecord, status: TaskStatus): void {
  const { now } = ctx;
  const state = status.state;
  const unit = d.units.get(rec.unit);
  if (isLiveState(state)) {
    if (state === 'TASK_UNREACHABLE') return;
    const spec = ctx.desired.units.get(rec.unit)?.spec;
    const adoptable =
      unit !== undefined &&
      spec?.goal === 'running' &&
      unit.generation === rec.generation &&
      rec.kill === undefined &&
      liveOthers(d, rec).length === 0;
    if (!adoptable) {
      // Live again, but replaced (or being stopped): it must die, and until it has, it counts as live so
      // that its unit is not launched a second time next to it.
      d.putTask({ ...rec, state, abandoned: undefined, unreachableSince: undefined, updatedAt: now, kill: rec.kill ?? { at: now, reason: 'superseded' } });
      d.kill(now, rec.taskId, status.agent_id?.value ?? rec.agentId, 'superseded');
      d.event(now, 'kill', `killing ${state} task that was already given up on`, rec.unit, rec.taskId);
      return;
    }
    const patch: Partial<TaskRecord> = {
      state,
      abandoned: undefined,
      unreachableSince: undefined,
      reason: status.reason,
      message: status.message,
      updatedAt: now,
    };
    if (state === 'TASK_RUNNING') patch.runningSince = rec.runningSince ?? now;
    const next = d.putTask({ ...rec, ...patch });
    const unitPatch: Partial<typeof unit> = { delayUntil: undefined };
    if (state === 'TASK_RUNNING') unitPatch.firstFailedAt = undefined;
    // If the unit had already escalated, take its reservation back: the data is alive.
    const retired = rec.reservationId === undefined ? undefined : d.retired.find((r) => r.rid === rec.reservationId);
    if (retired?.reservation && !unit.reservation) {
      unitPatch.reservation = retired.reservation;
      unitPatch.recovery = 'TRANSIENT';
      d.setRetired(d.retired.filter((r) => r.rid !== retired.rid));
    }
    d.updateUnit(unit.name, unitPatch);
    const ready = readyFor(d, ctx, next, status);
    if (ready !== next.ready) d.putTask({ ...next, ready });
    if (ready) markReady(d, next);
    d.event(now, 'adopted', `task reported ${state} again; adopted`, rec.unit, rec.taskId);
    return;
  }
  // A terminal update for a task already ended or given up on: keep the definitive state.
  if (state !== rec.state) d.putTask({ ...rec, state, reason: status.reason, message: status.message, updatedAt: now });
  if (unit && rec.generation < unit.generation && !isLive(rec)) d.deleteTask(rec.taskId);
}
