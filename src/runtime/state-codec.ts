/**
 * How the core's durable state (`StoredState`) and the framework id map to znodes (paths are relative to
 * the `--zk` chroot; docs/state.md has the whole layout):
 *
 *   /framework-id              {"value": "<id>", "at": ISO}          written as soon as SUBSCRIBED arrives
 *   /state                     {"schema": 1}
 *   /state/units/<unit>        one UnitRuntime (unit name with '/' written as '.')
 *   /state/tasks/<task id>     one TaskRecord
 *   /state/retired             RetiredReservation[]
 *   /state/controls            PlanControls
 *
 * One znode per task and per unit keeps each write small (a launch touches two znodes) and lets a persist
 * of thousands of records be split into ZooKeeper transactions that stay under the 1 MiB request limit.
 */
import type { PersistAction } from '../core/actions.js';
import { encodeUnitName } from '../core/task-ids.js';
import { emptyStored, type PlanControls, type RetiredReservation, type StoredState, type TaskRecord, type UnitRuntime } from '../core/state.js';
import type { StateOp, Versioned } from '../state/state-store.js';
import { KmfError } from '../util/errors.js';

export const FRAMEWORK_ID_PATH = '/framework-id';
export const STATE_ROOT = '/state';
export const UNITS_PATH = '/state/units';
export const TASKS_PATH = '/state/tasks';
export const RETIRED_PATH = '/state/retired';
export const CONTROLS_PATH = '/state/controls';
export const STATE_SCHEMA = 1;

/** Znode name of a unit or task: its name, with anything ZooKeeper or a path would choke on escaped. */
function znodeName(s: string): string {
  const safe = encodeURIComponent(s);
  return safe === '.' || safe === '..' ? `%2E${safe.slice(1)}` : safe;
}

export function unitPath(name: string): string {
  return `${UNITS_PATH}/${znodeName(encodeUnitName(name))}`;
}

export function taskPath(taskId: string): string {
  return `${TASKS_PATH}/${znodeName(taskId)}`;
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function decodeJson(path: string, data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new KmfError('corrupt_state', `znode ${path} does not hold JSON`, { cause: err, details: { path } });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface DecodedState {
  stored: StoredState;
  frameworkId: string | undefined;
  /** Every znode path that exists under /state (and /framework-id), to choose create vs set later. */
  paths: Set<string>;
  /** Records that could not be read; they are skipped (a skipped live task is found by reconciliation). */
  problems: string[];
}

/**
 * Builds the stored state from a `readTree` of the chroot (or of /state plus /framework-id).
 * Throws `corrupt_state` if the schema is one this build does not know: starting on state written by a
 * newer kmf could undo its decisions.
 */
export function decodeState(tree: ReadonlyMap<string, Versioned>): DecodedState {
  const stored = emptyStored();
  const paths = new Set<string>();
  const problems: string[] = [];
  let frameworkId: string | undefined;
  for (const [path, node] of tree) {
    if (path === FRAMEWORK_ID_PATH) {
      paths.add(path);
      const v = node.data.length === 0 ? undefined : decodeJson(path, node.data);
      if (isObject(v) && typeof v['value'] === 'string' && v['value'] !== '') frameworkId = v['value'];
      continue;
    }
    if (path !== STATE_ROOT && !path.startsWith(`${STATE_ROOT}/`)) continue;
    paths.add(path);
    if (path === STATE_ROOT) {
      if (node.data.length === 0) continue;
      const v = decodeJson(path, node.data);
      const schema = isObject(v) ? v['schema'] : undefined;
      if (schema !== STATE_SCHEMA) {
        throw new KmfError('corrupt_state', `state schema ${String(schema)} is not supported by this kmf (expects ${STATE_SCHEMA})`, { details: { path } });
      }
      continue;
    }
    if (path === UNITS_PATH || path === TASKS_PATH) continue;
    try {
      if (path === RETIRED_PATH) {
        const v = decodeJson(path, node.data);
        if (!Array.isArray(v)) throw new Error('not a list');
        stored.retired = v as RetiredReservation[];
      } else if (path === CONTROLS_PATH) {
        const v = decodeJson(path, node.data);
        if (!isObject(v) || !isObject(v['paused']) || !Array.isArray(v['deployForced'])) throw new Error('not plan controls');
        stored.controls = v as unknown as PlanControls;
      } else if (path.startsWith(`${UNITS_PATH}/`)) {
        const v = decodeJson(path, node.data);
        if (!isObject(v) || typeof v['name'] !== 'string' || typeof v['generation'] !== 'number') throw new Error('not a unit record');
        const u = v as unknown as UnitRuntime;
        stored.units[u.name] = u;
      } else if (path.startsWith(`${TASKS_PATH}/`)) {
        const v = decodeJson(path, node.data);
        if (!isObject(v) || typeof v['taskId'] !== 'string' || typeof v['unit'] !== 'string' || typeof v['generation'] !== 'number') {
          throw new Error('not a task record');
        }
        const t = v as unknown as TaskRecord;
        stored.tasks[t.taskId] = t;
      } else {
        problems.push(`${path}: unknown znode (ignored)`);
      }
    } catch (err) {
      problems.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { stored, frameworkId, paths, problems };
}

/** A set of znode writes that belong together (one unit and its tasks): never split across transactions. */
export interface OpGroup {
  ops: StateOp[];
  bytes: number;
}

/** What a persist wants for each path: the data to write, or undefined to delete it. */
export type PathWrites = Map<string, Buffer | undefined>;

/**
 * Merges persist actions (later ones win per path) into per-path writes, grouped by unit so that a unit and
 * its task records land in the same transaction whenever they fit.
 */
export function persistWrites(persists: readonly PersistAction[]): Map<string, PathWrites> {
  const byPath = new Map<string, { group: string; data: Buffer | undefined }>();
  const put = (group: string, path: string, data: Buffer | undefined): void => {
    byPath.delete(path); // re-insert: keep the latest write's position
    byPath.set(path, { group, data });
  };
  for (const p of persists) {
    for (const u of p.units) put(`u:${u.name}`, unitPath(u.name), encodeJson(u));
    for (const t of p.tasks) put(`u:${t.unit}`, taskPath(t.taskId), encodeJson(t));
    for (const name of p.deleteUnits) put(`u:${name}`, unitPath(name), undefined);
    // A deleted task's unit is not known here; its deletion travels on its own.
    for (const id of p.deleteTasks) put(`t:${id}`, taskPath(id), undefined);
    if (p.retired !== undefined) put('retired', RETIRED_PATH, encodeJson(p.retired));
    if (p.controls !== undefined) put('controls', CONTROLS_PATH, encodeJson(p.controls));
  }
  const groups = new Map<string, PathWrites>();
  for (const [path, { group, data }] of byPath) {
    let g = groups.get(group);
    if (g === undefined) {
      g = new Map();
      groups.set(group, g);
    }
    g.set(path, data);
  }
  return groups;
}

/**
 * Turns path writes into ops given which paths exist: create or set (unconditional: the leader is the only
 * writer and every transaction is fenced), delete only what exists.
 */
export function opsFor(writes: PathWrites, exists: (path: string) => boolean): OpGroup {
  const ops: StateOp[] = [];
  let bytes = 0;
  for (const [path, data] of writes) {
    if (data === undefined) {
      if (exists(path)) ops.push({ op: 'delete', path, version: 'any' });
      bytes += path.length + 16;
      continue;
    }
    ops.push(exists(path) ? { op: 'set', path, data, version: 'any' } : { op: 'create', path, data });
    bytes += path.length + data.length + 32;
  }
  return { ops, bytes };
}

export interface ChunkLimits {
  /** Bytes of data and paths per transaction; ZooKeeper refuses requests over jute.maxbuffer (1 MiB). */
  maxBytes: number;
  maxOps: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxBytes: 512 * 1024, maxOps: 1000 };

/** Packs groups into transactions under the limits; a group is split only if it alone exceeds them. */
export function chunkGroups(groups: readonly OpGroup[], limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): StateOp[][] {
  const chunks: StateOp[][] = [];
  let current: StateOp[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (current.length > 0) chunks.push(current);
    current = [];
    bytes = 0;
  };
  for (const g of groups) {
    if (g.ops.length === 0) continue;
    if (current.length + g.ops.length > limits.maxOps || bytes + g.bytes > limits.maxBytes) flush();
    if (g.ops.length > limits.maxOps || g.bytes > limits.maxBytes) {
      for (const op of g.ops) {
        const size = op.path.length + (op.op === 'create' || op.op === 'set' ? op.data.length : 0) + 32;
        if (current.length + 1 > limits.maxOps || bytes + size > limits.maxBytes) flush();
        current.push(op);
        bytes += size;
      }
      continue;
    }
    current.push(...g.ops);
    bytes += g.bytes;
  }
  flush();
  return chunks;
}

/** The whole stored state as path writes (tests, benchmarks, tools that seed state). */
export function fullWrites(stored: StoredState): PersistAction {
  return {
    type: 'persist',
    units: Object.values(stored.units),
    tasks: Object.values(stored.tasks),
    deleteUnits: [],
    deleteTasks: [],
    retired: stored.retired,
    controls: stored.controls,
  };
}
