/**
 * Writes the core's `persist` actions to ZooKeeper through the FencedStateStore: every transaction carries
 * the leader's fence, so a deposed leader's write fails as a whole (`fenced`) instead of landing.
 *
 * - Several persists (one per event of a batch) are merged, later writes winning per znode.
 * - The writes go out as few transactions as the 1 MiB request limit allows, a unit and its task records in
 *   the same transaction whenever they fit. Across transactions a persist is not atomic; each record is.
 * - create vs set is decided from the znodes known to exist (loaded at start, kept up to date here): the
 *   leader is the only writer.
 * - `unavailable` (no connection, or no answer: the transaction may or may not have been applied) is
 *   retried while this instance still leads, after re-reading which of the remaining znodes exist; `fenced`
 *   and anything unexpected are thrown. A persist that returns has been applied completely.
 * - Waiters (`DurableWaiter`) let a caller act on part of a persist before the rest is written: the ACCEPT
 *   of a launch needs its own records durable, not those of a thousand other updates in the same batch.
 *   Their groups go first, and each waiter runs right after the transaction that completes its groups.
 */
import type { PersistAction } from '../core/actions.js';
import { parseTaskId } from '../core/task-ids.js';
import type { StateOp, StateStore } from '../state/state-store.js';
import { Backoff, sleep } from '../util/backoff.js';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { RUNTIME_METRICS, type Metrics } from './metrics.js';
import {
  chunkGroups,
  DEFAULT_CHUNK_LIMITS,
  encodeJson,
  FRAMEWORK_ID_PATH,
  opsFor,
  persistWrites,
  STATE_ROOT,
  STATE_SCHEMA,
  TASKS_PATH,
  UNITS_PATH,
  taskPath,
  unitPath,
  type ChunkLimits,
  type PathWrites,
} from './state-codec.js';

/**
 * Something to do as soon as the records of some tasks and units are in ZooKeeper — together with
 * everything persisted in the same groups (a unit's record travels with its task records).
 */
export interface DurableWaiter {
  taskIds: readonly string[];
  units: readonly string[];
  /**
   * Called once, synchronously, right after the transaction that completed the last of those groups was
   * acknowledged; at the end of the persist if none of those records is part of it. Never called if the
   * persist fails first.
   */
  run: () => void;
}

export interface StateWriterOptions {
  /** The fenced store (writes) — reads go through it too, unfenced. */
  store: StateStore;
  /** Znodes known to exist (from the start-up load). */
  paths: Set<string>;
  logger: Logger;
  metrics: Metrics;
  /** False once this instance no longer leads: retries stop. */
  stillLeading: () => boolean;
  limits?: ChunkLimits;
}

const MAX_CONFLICT_RETRIES = 3;

export class StateWriter {
  private readonly store: StateStore;
  private readonly paths: Set<string>;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly limits: ChunkLimits;

  constructor(private readonly opts: StateWriterOptions) {
    this.store = opts.store;
    this.paths = opts.paths;
    this.log = opts.logger;
    this.metrics = opts.metrics;
    this.limits = opts.limits ?? DEFAULT_CHUNK_LIMITS;
  }

  exists(path: string): boolean {
    return this.paths.has(path);
  }

  /** Creates /state, /state/units, /state/tasks if missing (fenced). */
  async ensureLayout(): Promise<void> {
    for (const path of [STATE_ROOT, UNITS_PATH, TASKS_PATH]) {
      if (this.paths.has(path)) continue;
      const data = path === STATE_ROOT ? encodeJson({ schema: STATE_SCHEMA }) : Buffer.alloc(0);
      try {
        await this.store.put(path, data, 'absent');
      } catch (err) {
        if (!(err instanceof KmfError && err.code === 'conflict')) throw err;
      }
      this.paths.add(path);
    }
  }

  async writeFrameworkId(id: string): Promise<void> {
    const writes: PathWrites = new Map([[FRAMEWORK_ID_PATH, encodeJson({ value: id, at: new Date().toISOString() })]]);
    await this.write([writes]);
  }

  /**
   * Applies the persists in order (merged). Resolves once everything is written; each waiter has run by
   * then, most of them earlier (see DurableWaiter).
   */
  async persist(persists: readonly PersistAction[], waiters: readonly DurableWaiter[] = []): Promise<void> {
    if (persists.length === 0) {
      for (const w of waiters) w.run();
      return;
    }
    const started = performance.now();
    const all = [...persistWrites(persists).values()];
    // The groups each waiter needs; a waiter none of whose records is written here needs all of them.
    // A deleted task record travels in a group of its own (the persist does not say its unit): a waiter
    // also needs the deletions of its units' tasks (a replaced task's record goes with its replacement's
    // launch, never after it), and of any task whose id does not tell its unit.
    const groupOf = new Map<string, PathWrites>();
    for (const g of all) for (const path of g.keys()) groupOf.set(path, g);
    const deleted = persists.flatMap((p) => p.deleteTasks.map((id) => ({ path: taskPath(id), unit: parseTaskId(id)?.unit })));
    const pending = waiters.map((w) => {
      const needs = new Set<PathWrites>();
      const units = new Set(w.units);
      const ends = deleted.filter((d) => d.unit === undefined || units.has(d.unit)).map((d) => d.path);
      for (const path of [...w.taskIds.map(taskPath), ...w.units.map(unitPath), ...ends]) {
        const g = groupOf.get(path);
        if (g !== undefined) needs.add(g);
      }
      return { run: w.run, needs: needs.size > 0 ? [...needs] : all };
    });
    // Groups someone waits for go first, in transactions of their own (a few records: the ACCEPT then waits
    // for a small transaction, not for one of a thousand records). Across transactions a persist is not
    // atomic anyway, and each group is.
    const wanted = new Set(pending.flatMap((w) => (w.needs === all ? [] : w.needs)));
    const groups = [...all.filter((g) => wanted.has(g)), ...all.filter((g) => !wanted.has(g))];
    const first = wanted.size > 0 && wanted.size < all.length ? wanted : undefined;
    const release = (): void => {
      for (let i = 0; i < pending.length; ) {
        const w = pending[i]!;
        if (w.needs.some((g) => g.size > 0)) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        w.run();
      }
    };
    await this.write(groups, pending.length > 0 ? release : undefined, first);
    // Deletes of znodes that did not exist wrote nothing and stayed in their groups until now.
    for (const w of pending.splice(0)) w.run();
    this.metrics.observe(RUNTIME_METRICS.stateWriteSeconds, (performance.now() - started) / 1000);
  }

  /**
   * Writes groups of path writes; each path is removed from its group once written, and `afterEach` runs
   * after every acknowledged transaction. The `first` groups (leading `groups`) get transactions of their own.
   */
  private async write(groups: PathWrites[], afterEach?: () => void, first?: ReadonlySet<PathWrites>): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000, factor: 2, jitter: 0.5 });
    let conflicts = 0;
    let stale = false;
    for (;;) {
      try {
        if (stale) await this.refresh(groups);
        stale = false;
        const pending = groups.filter((g) => g.size > 0);
        if (pending.length === 0) return;
        const ops = (gs: readonly PathWrites[]): StateOp[][] =>
          chunkGroups(
            gs.map((g) => opsFor(g, (p) => this.paths.has(p))),
            this.limits,
          );
        const chunks =
          first === undefined ? ops(pending) : [...ops(pending.filter((g) => first.has(g))), ...ops(pending.filter((g) => !first.has(g)))];
        // Each path is in one group: found by a lookup, not by a scan of every group for every op (that
        // was quadratic in the size of a persist: 10,000 units and their tasks, 200 million steps).
        const owners = new Map<string, PathWrites>();
        for (const g of pending) for (const path of g.keys()) owners.set(path, g);
        for (const chunk of chunks) {
          await this.store.multi(chunk);
          this.metrics.inc(RUNTIME_METRICS.stateWrites);
          this.metrics.inc(RUNTIME_METRICS.stateWriteOps, undefined, chunk.length);
          this.applied(chunk, owners);
          afterEach?.();
        }
        // Deletes of znodes that did not exist produce no op: they are done too.
        for (const g of groups) g.clear();
        return;
      } catch (err) {
        const code = err instanceof KmfError ? err.code : 'unexpected';
        this.metrics.inc(RUNTIME_METRICS.stateWriteFailures, { code });
        if (code === 'unavailable' || code === 'conflict') {
          if (code === 'conflict' && ++conflicts > MAX_CONFLICT_RETRIES) throw err;
          if (!this.opts.stillLeading()) {
            throw new KmfError('fenced', `state write abandoned: no longer leading (${errorMessage(err)})`, { cause: err });
          }
          const delay = code === 'conflict' ? 0 : backoff.next();
          this.log.warn('state write failed; re-reading and retrying', { code, error: errorMessage(err), retryInMs: delay });
          if (delay > 0) await sleep(delay);
          stale = true;
          continue;
        }
        throw err;
      }
    }
  }

  private applied(chunk: readonly StateOp[], owners: ReadonlyMap<string, PathWrites>): void {
    for (const op of chunk) {
      if (op.op === 'create') this.paths.add(op.path);
      else if (op.op === 'delete') this.paths.delete(op.path);
      owners.get(op.path)?.delete(op.path);
    }
  }

  /** After an unknown outcome: which of the still-pending znodes exist now? */
  private async refresh(groups: readonly PathWrites[]): Promise<void> {
    for (const g of groups) {
      for (const path of g.keys()) {
        const node = await this.store.get(path);
        if (node === undefined) this.paths.delete(path);
        else this.paths.add(path);
      }
    }
  }
}
