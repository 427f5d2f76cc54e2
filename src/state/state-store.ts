import { KmfError } from '../util/errors.js';

/**
 * kmf's durable state, behind a small interface with ZooKeeper's semantics: a tree of nodes, each with bytes and
 * a data version that every write increments; writes are compare-and-set on that version; `multi` applies a batch
 * atomically. Two implementations: ZooKeeperStateStore (production) and MemoryStateStore (tests), which pass the
 * same conformance suite.
 *
 * Errors are KmfError with one of these codes:
 *  - `conflict`: a version precondition did not hold (the node changed, exists, or is gone). Re-read and decide.
 *  - `not_found`: the parent of a node to create does not exist.
 *  - `not_empty`: deleting a node that has children.
 *  - `too_large`: data over MAX_NODE_BYTES (ZooKeeper's jute.maxbuffer would drop the connection).
 *  - `invalid_path`, `invalid_argument`: a programming error.
 *  - `forbidden`: ZooKeeper ACLs refuse kmf's identity.
 *  - `unavailable` (retriable): no ZooKeeper connection, or an operation timed out; the write may or may not
 *    have happened: re-read before retrying a non-idempotent change.
 *  - `fenced`: (FencedStateStore) this instance is no longer the leader; nothing was written.
 */
export interface Versioned {
  readonly data: Buffer;
  /** ZooKeeper's data version: 0 when created, +1 on every write. */
  readonly version: number;
}

/** A write's precondition: exactly this version, the node must not exist yet, or no precondition. */
export type ExpectedVersion = number | 'absent' | 'any';

export type StateOp =
  | { readonly op: 'create'; readonly path: string; readonly data: Buffer }
  | { readonly op: 'set'; readonly path: string; readonly data: Buffer; readonly version: number | 'any' }
  | { readonly op: 'delete'; readonly path: string; readonly version: number | 'any' }
  /** Holds iff the node exists and (unless 'any') has this version; writes nothing. */
  | { readonly op: 'check'; readonly path: string; readonly version: number | 'any' };

export type StateOpResult =
  | { readonly op: 'create'; readonly path: string; readonly version: 0 }
  | { readonly op: 'set'; readonly path: string; readonly version: number }
  | { readonly op: 'delete'; readonly path: string }
  | { readonly op: 'check'; readonly path: string };

export interface StateStore {
  /** The node's data and version, or undefined if it does not exist. */
  get(path: string): Promise<Versioned | undefined>;
  /** Names (not paths) of the node's children, sorted; [] if the node does not exist. */
  list(path: string): Promise<string[]>;
  /** Creates a node (its parent must exist); `conflict` if it exists. Resolves to its version (0). */
  create(path: string, data: Buffer): Promise<number>;
  /**
   * Compare-and-set write. `expected`: a version (the node must have it), 'absent' (create; the node must not
   * exist), or 'any' (create or overwrite). Resolves to the node's new version.
   */
  put(path: string, data: Buffer, expected: ExpectedVersion): Promise<number>;
  /**
   * Deletes a node that has no children. With a version: `conflict` if the node has another version or is gone.
   * With 'any': resolves false if there was nothing to delete.
   */
  delete(path: string, expected: number | 'any'): Promise<boolean>;
  /** All ops or none (a ZooKeeper transaction). On failure the error's details say which op: {index, path}. */
  multi(ops: readonly StateOp[]): Promise<StateOpResult[]>;
  /** Creates the node and its missing ancestors with empty data; no-op for those that exist. */
  ensurePath(path: string): Promise<void>;
  /**
   * The node and all its descendants (absolute paths → data and version), read with many requests in flight:
   * the start-up load of kmf's whole state. Not a snapshot: concurrent writers can interleave. Empty if the
   * node does not exist.
   */
  readTree(path: string): Promise<Map<string, Versioned>>;
  close(): Promise<void>;
}

/** ZooKeeper's default jute.maxbuffer is 1 MiB per request/response, envelope included: keep data well under it. */
export const MAX_NODE_BYTES = 1_000_000;

export function conflict(message: string, details: Record<string, unknown>): KmfError {
  return new KmfError('conflict', message, { details });
}

export function checkDataSize(path: string, data: Buffer): void {
  if (data.length > MAX_NODE_BYTES) {
    throw new KmfError('too_large', `data for ${path} is ${data.length} bytes (limit ${MAX_NODE_BYTES})`, { details: { path } });
  }
}

export function checkVersionArg(version: number | 'any' | 'absent', path: string): void {
  if (typeof version === 'number' && (!Number.isInteger(version) || version < 0)) {
    throw new KmfError('invalid_argument', `bad expected version ${version} for ${path}`, { details: { path } });
  }
}

/** Encodes/decodes JSON znode data (what kmf stores is JSON). */
export function jsonData(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function parseJsonData(data: Buffer): unknown {
  return JSON.parse(data.toString('utf8'));
}
