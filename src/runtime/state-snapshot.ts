/**
 * A read-only view of the scheduler's state straight from ZooKeeper, for instances that do not lead:
 * followers serve the admin API's reads from it (apps, plans, units, framework id) so that any instance
 * can answer them. It is what the leader last wrote: durable facts only, without the leader's in-memory
 * detail (why a waiting unit fits no offer, reconciliation progress). Reads are cached for `ttlMs`, so a
 * burst of requests costs one load.
 */
import type { CoreConfig } from '../core/config.js';
import { Core } from '../core/core.js';
import type { Plan, UnitView } from '../core/plans.js';
import { seededRng } from '../core/rng.js';
import type { StoredState } from '../core/state.js';
import type { StateStore, Versioned } from '../state/state-store.js';
import type { AppRecord } from './apps.js';
import { DesiredStore, loadApps } from './desired-store.js';
import { decodeState, FRAMEWORK_ID_PATH, STATE_ROOT } from './state-codec.js';

export interface StateSnapshot {
  loadedAt: number;
  frameworkId: string | undefined;
  stored: StoredState;
  apps: ReadonlyMap<string, AppRecord>;
  plans(): Plan[];
  units(): UnitView[];
}

export async function loadSnapshot(store: StateStore, coreConfig: Partial<CoreConfig>, clock: () => number = Date.now): Promise<StateSnapshot> {
  const [stateTree, frameworkNode, apps] = await Promise.all([store.readTree(STATE_ROOT), store.get(FRAMEWORK_ID_PATH), loadApps(store)]);
  const tree = new Map<string, Versioned>(stateTree);
  if (frameworkNode !== undefined) tree.set(FRAMEWORK_ID_PATH, frameworkNode);
  const decoded = decodeState(tree);
  // The desired-state helper is only used to prepare the desired state here; nothing is written through it.
  const desiredStore = new DesiredStore(store, apps.apps);
  const core = new Core(seededRng(0), coreConfig, decoded.stored);
  const desired = desiredStore.desired(core.state.units);
  const loadedAt = clock();
  return {
    loadedAt,
    frameworkId: decoded.frameworkId,
    stored: decoded.stored,
    apps: apps.apps,
    plans: () => core.plans(desired, clock()),
    units: () => core.units(desired, clock()),
  };
}

export class SnapshotCache {
  private current: { at: number; value: Promise<StateSnapshot> } | undefined;

  constructor(
    private readonly store: StateStore,
    private readonly coreConfig: Partial<CoreConfig>,
    private readonly ttlMs = 2_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get(): Promise<StateSnapshot> {
    const now = this.clock();
    if (this.current !== undefined && now - this.current.at < this.ttlMs) return this.current.value;
    const value = loadSnapshot(this.store, this.coreConfig, this.clock);
    this.current = { at: now, value };
    // A failed load is not cached.
    value.catch(() => {
      if (this.current?.value === value) this.current = undefined;
    });
    return value;
  }
}
