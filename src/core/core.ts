/**
 * A thin holder of the core state for the runtime: `step(event, desired, now)` applies the event, runs
 * the decision and returns the actions. All logic lives in pure functions; this class only keeps the
 * latest state between calls. A restarted scheduler builds a new Core from the stored state.
 */
import type { DesiredState } from '../model/desired.js';
import type { Action, PersistAction } from './actions.js';
import { coreConfig, type CoreConfig } from './config.js';
import { Draft, type DecisionContext } from './draft.js';
import type { CoreEvent } from './events.js';
import { handleEvent } from './handle-event.js';
import { derivePlans, unitViews, type Plan, type UnitView } from './plans.js';
import { decide } from './reconcile.js';
import type { Rng } from './rng.js';
import { emptyStored, initialState, toStored, type CoreState, type StoredState } from './state.js';

export interface StepResult {
  state: CoreState;
  actions: Action[];
}

/** Pure: one event, one decision. */
export function step(state: CoreState, event: CoreEvent, desired: DesiredState, now: number, config: CoreConfig, rng: Rng): StepResult {
  const d = new Draft(state);
  const ctx: DecisionContext = { desired, now, config, rng };
  const offers = handleEvent(d, ctx, event);
  decide(d, ctx, offers);
  return d.finish();
}

/**
 * Pure: several events applied in order, then one decision. A burst of events (thousands of status
 * updates answering a reconciliation, an update plus the offer that can replace its task) costs one
 * decision instead of one per event; the result is what one decision after all of them would give.
 */
export function stepMany(state: CoreState, events: readonly CoreEvent[], desired: DesiredState, now: number, config: CoreConfig, rng: Rng): StepResult {
  return applyAndDecide(new Draft(state), events, desired, now, config, rng);
}

function applyAndDecide(d: Draft, events: readonly CoreEvent[], desired: DesiredState, now: number, config: CoreConfig, rng: Rng): StepResult {
  const ctx: DecisionContext = { desired, now, config, rng };
  const offers = events.flatMap((event) => handleEvent(d, ctx, event));
  decide(d, ctx, offers);
  return d.finish();
}

/** Apply a persist action to stored state (what the state store does, for tests and in-memory twins). */
export function applyPersist(stored: StoredState, p: PersistAction): StoredState {
  const units = { ...stored.units };
  const tasks = { ...stored.tasks };
  for (const u of p.units) units[u.name] = u;
  for (const t of p.tasks) tasks[t.taskId] = t;
  for (const n of p.deleteUnits) delete units[n];
  for (const id of p.deleteTasks) delete tasks[id];
  return {
    schema: 1,
    units,
    tasks,
    retired: p.retired ?? stored.retired,
    controls: p.controls ?? stored.controls,
  };
}

export class Core {
  private current: CoreState;
  readonly config: CoreConfig;

  constructor(
    private readonly rng: Rng,
    config: Partial<CoreConfig> = {},
    stored: StoredState = emptyStored(),
  ) {
    this.config = coreConfig(config);
    this.current = initialState(structuredClone(stored));
  }

  step(event: CoreEvent, desired: DesiredState, now: number): Action[] {
    return this.stepMany([event], desired, now);
  }

  /**
   * Several events, one decision (see `stepMany`). The same result as the pure function, computed on this
   * instance's maps in place (it holds the only reference to them; a decision that throws is rolled back).
   */
  stepMany(events: readonly CoreEvent[], desired: DesiredState, now: number): Action[] {
    const d = new Draft(this.current, { inPlace: true });
    try {
      const r = applyAndDecide(d, events, desired, now, this.config, this.rng);
      this.current = r.state;
      return r.actions;
    } catch (err) {
      d.rollback();
      throw err;
    }
  }

  get state(): CoreState {
    return this.current;
  }

  /** The durable half, as the state store holds it after every persist action was applied (O(units)). */
  get stored(): StoredState {
    return toStored(this.current);
  }

  plans(desired: DesiredState, now: number): Plan[] {
    return derivePlans(this.current, desired, now, this.config);
  }

  units(desired: DesiredState, now: number): UnitView[] {
    return unitViews(this.current, desired, now, this.config);
  }
}
