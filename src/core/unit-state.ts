/**
 * Per-unit facts derived from the state, shared by the decision (reconcile.ts) and the plans (plans.ts)
 * so that what the plans show is exactly what the core does.
 */
import type { DesiredState, PreparedUnit } from '../model/desired.js';
import type { KillReason, LaunchReason, PlanControls, TaskRecord, UnitRuntime } from './state.js';
import { isLive } from './state.js';

export interface TaskIndex {
  /** Live tasks per unit, newest generation first. */
  live: Map<string, TaskRecord[]>;
  /** Newest record per unit (live or not). */
  latest: Map<string, TaskRecord>;
}

export function buildIndex(tasks: ReadonlyMap<string, TaskRecord>): TaskIndex {
  const live = new Map<string, TaskRecord[]>();
  const latest = new Map<string, TaskRecord>();
  for (const t of tasks.values()) {
    const l = latest.get(t.unit);
    if (!l || t.generation > l.generation) latest.set(t.unit, t);
    if (!isLive(t)) continue;
    const list = live.get(t.unit);
    if (list) list.push(t);
    else live.set(t.unit, [t]);
  }
  for (const list of live.values()) list.sort((a, b) => b.generation - a.generation);
  return { live, latest };
}

/** The version the unit's task runs at is the desired one (or was accepted as such). */
export function isCurrent(unit: PreparedUnit, rt: UnitRuntime | undefined, task: TaskRecord): boolean {
  return task.specVersion === unit.version || rt?.acceptedVersion === unit.version;
}

export function deployed(rt: UnitRuntime | undefined, controls: PlanControls, name: string): boolean {
  return (rt?.everReady ?? false) || controls.deployForced.includes(name);
}

/**
 * Why a unit that has never been launched must wait for others (phase order, serial phases), if it must.
 * Computed for all units at once: O(units).
 */
export function deployGates(
  desired: DesiredState,
  units: ReadonlyMap<string, UnitRuntime>,
  controls: PlanControls,
): Map<string, string> {
  const gates = new Map<string, string>();
  const phaseIndex = new Map(desired.phases.map((p, i) => [p.name, i]));
  const firstPending = new Map<string, string>();
  for (const u of desired.ordered) {
    if (u.spec.goal !== 'running') continue;
    if (!deployed(units.get(u.spec.name), controls, u.spec.name) && !firstPending.has(u.phase)) firstPending.set(u.phase, u.spec.name);
  }
  // Every running unit deployed (the steady state): nothing waits, and the second pass would only confirm it.
  if (firstPending.size === 0) return gates;
  for (const u of desired.ordered) {
    const name = u.spec.name;
    if (u.spec.goal !== 'running' || (units.get(name)?.generation ?? 0) > 0 || deployed(units.get(name), controls, name)) continue;
    const mine = phaseIndex.get(u.phase) ?? 0;
    let gate: string | undefined;
    const waitsForEarlier = desired.phases[mine]?.independent !== true;
    for (const p of waitsForEarlier ? desired.phases.slice(0, mine) : []) {
      const blocker = firstPending.get(p.name);
      if (blocker !== undefined) {
        gate = `waiting for phase ${p.name} (${blocker} is not ready yet)`;
        break;
      }
    }
    const strategy = desired.phases[mine]?.strategy ?? 'parallel';
    const first = firstPending.get(u.phase);
    if (!gate && strategy === 'serial' && first !== undefined && first !== name) {
      gate = `serial phase ${u.phase}: waiting for ${first}`;
    }
    if (gate) gates.set(name, gate);
  }
  return gates;
}

export function launchReasonFor(rt: UnitRuntime, latest: TaskRecord | undefined): LaunchReason {
  if (rt.generation === 0) return 'deploy';
  const kill: KillReason | undefined = latest?.kill?.reason;
  switch (kill) {
    case 'update':
      return 'update';
    case 'restart':
      return 'restart';
    case 'replace':
      return 'replace';
    case 'stop':
      return 'start';
    case undefined:
    case 'remove':
    case 'launch-timeout':
    case 'superseded':
    case 'unreachable':
    case 'unknown':
    case 'reconciliation':
      return rt.recovery === 'PERMANENT' && !rt.reservation ? 'replace' : rt.everReady ? 'recovery' : 'deploy';
  }
}

/** The plan a unit belongs to right now; at most one (two plans never act on one unit). */
export type Owner = 'deploy' | 'recovery' | 'update' | undefined;

export function ownerOf(
  unit: PreparedUnit,
  rt: UnitRuntime | undefined,
  controls: PlanControls,
  live: TaskRecord | undefined,
  latest: TaskRecord | undefined,
): Owner {
  if (unit.spec.goal !== 'running') return undefined;
  if (!deployed(rt, controls, unit.spec.name)) return 'deploy';
  if (!rt) return undefined;
  const healthy = live !== undefined && live.state === 'TASK_RUNNING' && live.ready;
  const inEpisode = rt.failures > 0 || rt.replaceRequested === true || rt.firstFailedAt !== undefined;
  if (inEpisode && !healthy) return 'recovery';
  if (!live) return latest?.kill?.reason === 'update' ? 'update' : 'recovery';
  if (!isCurrent(unit, rt, live)) return 'update';
  if (healthy) return undefined;
  return live.launchReason === 'update' ? 'update' : 'recovery';
}
