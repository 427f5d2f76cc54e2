/**
 * A working copy of the core state for one decision. The input state is never mutated: maps are copied
 * once, records are replaced (never edited in place), and every change is tracked so that `finish()` can
 * return exactly the records to write, in one `persist` action placed before every Mesos call.
 *
 * `inPlace`: for an owner that keeps no other view of the input state (the `Core` class), the unit and
 * task maps are updated in place instead of copied — copying two 10,000-entry maps was a tenth of a
 * decision's cost at that size, on every event. Records are still replaced, never edited; `rollback()`
 * undoes the map changes of a decision that threw (the maps then hold the same entries as before,
 * possibly in another iteration order).
 */
import type { DesiredState } from '../model/desired.js';
import type { Action, KillAction, TimelineEvent, TimelineKind } from './actions.js';
import type { CoreConfig } from './config.js';
import type { Rng } from './rng.js';
import type { CoreState, PlanControls, RetiredReservation, TaskRecord, UnitRuntime, VolatileState } from './state.js';

export interface DecisionContext {
  desired: DesiredState;
  now: number;
  config: CoreConfig;
  rng: Rng;
}

/** Drop keys whose value is undefined, so stored records compare equal after a JSON round trip. */
function clean<T extends object>(v: T): T {
  const out = { ...v } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as T;
}

export class Draft {
  readonly units: Map<string, UnitRuntime>;
  readonly tasks: Map<string, TaskRecord>;
  retired: readonly RetiredReservation[];
  controls: PlanControls;
  readonly volatile: VolatileState;

  private readonly dirtyUnits = new Set<string>();
  private readonly dirtyTasks = new Set<string>();
  private readonly deletedUnits = new Set<string>();
  private readonly deletedTasks = new Set<string>();
  private retiredDirty = false;
  private controlsDirty = false;

  readonly acks: Action[] = [];
  readonly kills: KillAction[] = [];
  readonly offerActions: Action[] = [];
  readonly reconciles: Action[] = [];
  readonly flow: Action[] = [];
  readonly events: TimelineEvent[] = [];
  /** Set when a unit became placeable somewhere new (escalation): a reason to REVIVE. */
  newPlacementOptions = false;

  /** Previous value of each key changed in place (undefined: it was absent), only with `inPlace`. */
  private readonly undo: { units: Map<string, UnitRuntime | undefined>; tasks: Map<string, TaskRecord | undefined> } | undefined;

  constructor(state: CoreState, opts: { inPlace?: boolean } = {}) {
    if (opts.inPlace === true) {
      this.units = state.units as Map<string, UnitRuntime>;
      this.tasks = state.tasks as Map<string, TaskRecord>;
      this.undo = { units: new Map(), tasks: new Map() };
    } else {
      this.units = new Map(state.units);
      this.tasks = new Map(state.tasks);
      this.undo = undefined;
    }
    this.retired = state.retired;
    this.controls = state.controls;
    const v = state.volatile;
    this.volatile = {
      ...v,
      wanting: [...v.wanting],
      recon: { ...v.recon, pending: [...v.recon.pending] },
      diagnostics: { ...v.diagnostics },
      killSentAt: { ...v.killSentAt },
      stagingAskedAt: { ...v.stagingAskedAt },
    };
  }

  putUnit(u: UnitRuntime): UnitRuntime {
    const c = clean(u);
    this.remember(this.undo?.units, this.units, u.name);
    this.units.set(u.name, c);
    this.dirtyUnits.add(u.name);
    this.deletedUnits.delete(u.name);
    return c;
  }

  updateUnit(name: string, patch: Partial<UnitRuntime>): UnitRuntime | undefined {
    const u = this.units.get(name);
    return u ? this.putUnit({ ...u, ...patch }) : undefined;
  }

  deleteUnit(name: string): void {
    this.remember(this.undo?.units, this.units, name);
    this.units.delete(name);
    this.dirtyUnits.delete(name);
    this.deletedUnits.add(name);
  }

  putTask(t: TaskRecord): TaskRecord {
    const c = clean(t);
    this.remember(this.undo?.tasks, this.tasks, t.taskId);
    this.tasks.set(t.taskId, c);
    this.dirtyTasks.add(t.taskId);
    this.deletedTasks.delete(t.taskId);
    return c;
  }

  updateTask(taskId: string, patch: Partial<TaskRecord>): TaskRecord | undefined {
    const t = this.tasks.get(taskId);
    return t ? this.putTask({ ...t, ...patch }) : undefined;
  }

  deleteTask(taskId: string): void {
    this.remember(this.undo?.tasks, this.tasks, taskId);
    this.tasks.delete(taskId);
    this.dirtyTasks.delete(taskId);
    this.deletedTasks.add(taskId);
    delete this.volatile.killSentAt[taskId];
    delete this.volatile.stagingAskedAt[taskId];
  }

  setRetired(list: readonly RetiredReservation[]): void {
    this.retired = list.map((r) => clean(r));
    this.retiredDirty = true;
  }

  setControls(c: PlanControls): void {
    this.controls = c;
    this.controlsDirty = true;
  }

  event(at: number, kind: TimelineKind, message: string, unit?: string, taskId?: string): void {
    const e: TimelineEvent = { type: 'event', at, kind, message };
    if (unit !== undefined) e.unit = unit;
    if (taskId !== undefined) e.taskId = taskId;
    this.events.push(e);
  }

  /** Queue a KILL; while disconnected it is only remembered (and sent after the next SUBSCRIBED). */
  kill(now: number, taskId: string, agentId: string | undefined, reason: string, graceSeconds?: number): void {
    if (!this.volatile.subscribed) return;
    if (this.kills.some((k) => k.taskId === taskId)) return;
    const k: KillAction = { type: 'kill', taskId, reason };
    if (agentId !== undefined) k.agentId = agentId;
    if (graceSeconds !== undefined) k.gracePeriodSeconds = graceSeconds;
    this.kills.push(k);
    this.volatile.killSentAt[taskId] = now;
  }

  hasChanges(): boolean {
    return (
      this.dirtyUnits.size + this.dirtyTasks.size + this.deletedUnits.size + this.deletedTasks.size > 0 ||
      this.retiredDirty ||
      this.controlsDirty
    );
  }

  private remember<V>(undo: Map<string, V | undefined> | undefined, map: ReadonlyMap<string, V>, key: string): void {
    if (undo !== undefined && !undo.has(key)) undo.set(key, map.get(key));
  }

  /** Undoes the in-place map changes (`inPlace` only) of a decision that did not finish. */
  rollback(): void {
    if (this.undo === undefined) return;
    for (const [name, u] of this.undo.units) {
      if (u === undefined) this.units.delete(name);
      else this.units.set(name, u);
    }
    for (const [id, t] of this.undo.tasks) {
      if (t === undefined) this.tasks.delete(id);
      else this.tasks.set(id, t);
    }
    this.undo.units.clear();
    this.undo.tasks.clear();
  }

  finish(): { state: CoreState; actions: Action[] } {
    const actions: Action[] = [];
    if (this.hasChanges()) {
      const persist: Action = {
        type: 'persist',
        units: [...this.dirtyUnits].map((n) => this.units.get(n)).filter((u): u is UnitRuntime => u !== undefined),
        tasks: [...this.dirtyTasks].map((id) => this.tasks.get(id)).filter((t): t is TaskRecord => t !== undefined),
        deleteUnits: [...this.deletedUnits],
        deleteTasks: [...this.deletedTasks],
      };
      if (this.retiredDirty) persist.retired = [...this.retired];
      if (this.controlsDirty) persist.controls = this.controls;
      actions.push(persist);
    }
    // Calls go out one at a time on the calls connection, in this order: the ACCEPT that relaunches a failed
    // task goes before the ACKNOWLEDGE of the failure, which nothing waits for, instead of a round trip later.
    actions.push(...this.kills, ...this.offerActions, ...this.acks, ...this.reconciles, ...this.flow, ...this.events);
    return {
      state: { units: this.units, tasks: this.tasks, retired: this.retired, controls: this.controls, volatile: this.volatile },
      actions,
    };
  }
}
