import zookeeper from 'node-zookeeper-client';
import { KmfError } from '../util/errors.js';
import { ancestorsAndSelf, joinPath, validatePath } from './paths.js';
import {
  checkDataSize,
  checkVersionArg,
  conflict,
  type ExpectedVersion,
  type StateOp,
  type StateOpResult,
  type StateStore,
  type Versioned,
} from './state-store.js';
import { parseZkStateSpec, type ZkStateConfig } from './zk-config.js';
import { ZkSession, zkCodeOf, type ZkSessionOptions } from './zk-session.js';

const ZK = zookeeper.Exception;

export interface ZooKeeperStateStoreOptions extends ZkSessionOptions {
  /** Requests kept in flight by readTree (pipelined on the one connection). */
  readonly readConcurrency?: number;
}

/**
 * StateStore on ZooKeeper (paths are relative to the chroot of `--zk`). The session is shared with leader
 * election (`session`), because a leader's fenced writes must go through the session that holds its leader znode.
 */
export class ZooKeeperStateStore implements StateStore {
  private readonly readConcurrency: number;

  constructor(
    readonly session: ZkSession,
    opts: { readConcurrency?: number } = {},
  ) {
    this.readConcurrency = opts.readConcurrency ?? 1_000;
  }

  /** Opens a session for `--zk HOST:PORT[,…]/CHROOT` (or a parsed config) and wraps it. */
  static async connect(spec: string | ZkStateConfig, opts: ZooKeeperStateStoreOptions = {}): Promise<ZooKeeperStateStore> {
    const cfg = typeof spec === 'string' ? parseZkStateSpec(spec) : spec;
    const session = await ZkSession.open(cfg, opts);
    return new ZooKeeperStateStore(session, { readConcurrency: opts.readConcurrency ?? 1_000 });
  }

  async get(path: string): Promise<Versioned | undefined> {
    const r = await this.session.getData(validatePath(path));
    return r === undefined ? undefined : { data: r.data, version: r.stat.version };
  }

  async list(path: string): Promise<string[]> {
    const children = await this.session.getChildren(validatePath(path));
    return (children ?? []).sort();
  }

  create(path: string, data: Buffer): Promise<number> {
    return this.put(path, data, 'absent');
  }

  async put(path: string, data: Buffer, expected: ExpectedVersion): Promise<number> {
    validatePath(path);
    checkVersionArg(expected, path);
    checkDataSize(path, data);
    if (expected === 'absent') {
      await this.createNode(path, data);
      return 0;
    }
    if (expected === 'any') return this.upsert(path, data);
    try {
      return (await this.session.setData(path, data, expected)).version;
    } catch (err) {
      if (zkCodeOf(err) === ZK.NO_NODE) throw conflict(`${path} does not exist (expected version ${expected})`, { path, reason: 'no_node' });
      if (zkCodeOf(err) === ZK.BAD_VERSION) throw conflict(`${path} is not at version ${expected}`, { path, reason: 'bad_version' });
      throw err;
    }
  }

  async delete(path: string, expected: number | 'any'): Promise<boolean> {
    validatePath(path);
    checkVersionArg(expected, path);
    try {
      await this.session.remove(path, expected === 'any' ? -1 : expected);
      return true;
    } catch (err) {
      const code = zkCodeOf(err);
      if (code === ZK.NO_NODE) {
        if (expected === 'any') return false;
        throw conflict(`${path} does not exist (expected version ${expected})`, { path, reason: 'no_node' });
      }
      if (code === ZK.BAD_VERSION) throw conflict(`${path} is not at version ${String(expected)}`, { path, reason: 'bad_version' });
      throw err;
    }
  }

  async multi(ops: readonly StateOp[]): Promise<StateOpResult[]> {
    for (const op of ops) {
      validatePath(op.path);
      if (op.op !== 'create') checkVersionArg(op.version, op.path);
      if (op.op === 'create' || op.op === 'set') checkDataSize(op.path, op.data);
    }
    try {
      return await this.session.multi(ops);
    } catch (err) {
      throw refineMultiError(err, ops);
    }
  }

  async ensurePath(path: string): Promise<void> {
    for (const p of ancestorsAndSelf(validatePath(path))) {
      try {
        await this.session.create(p, Buffer.alloc(0));
      } catch (err) {
        if (zkCodeOf(err) !== ZK.NODE_EXISTS) throw err;
      }
    }
  }

  /**
   * Breadth-first over the subtree with up to `readConcurrency` requests in flight on the one connection:
   * getData for every node, getChildren only where the stat says there are children (so leaf task znodes cost
   * one request each). 10,000 znodes load in well under the 2 s budget (bench/state-load.ts).
   */
  async readTree(path: string): Promise<Map<string, Versioned>> {
    const out = new Map<string, Versioned>();
    const queue: string[] = [validatePath(path)];
    let inFlight = 0;
    let failure: Error | undefined;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (failure === undefined && inFlight < this.readConcurrency && queue.length > 0) {
          const p = queue.shift()!;
          inFlight++;
          this.readNode(p)
            .then((node) => {
              if (node === undefined) return; // deleted while we walked
              out.set(p, node.value);
              for (const c of node.children) queue.push(joinPath(p, c));
            })
            .catch((err: unknown) => {
              failure ??= err instanceof Error ? err : new Error(String(err));
            })
            .finally(() => {
              inFlight--;
              if (inFlight === 0 && (queue.length === 0 || failure !== undefined)) resolve();
              else pump();
            });
        }
        if (inFlight === 0) resolve();
      };
      pump();
    });
    if (failure !== undefined) throw failure;
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private async readNode(p: string): Promise<{ value: Versioned; children: string[] } | undefined> {
    const r = await this.session.getData(p);
    if (r === undefined) return undefined;
    const children = r.stat.numChildren > 0 ? ((await this.session.getChildren(p)) ?? []) : [];
    return { value: { data: r.data, version: r.stat.version }, children: children.sort() };
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private async createNode(path: string, data: Buffer): Promise<void> {
    try {
      await this.session.create(path, data);
    } catch (err) {
      const code = zkCodeOf(err);
      if (code === ZK.NODE_EXISTS) throw conflict(`${path} already exists`, { path, reason: 'exists' });
      if (code === ZK.NO_NODE) throw new KmfError('not_found', `parent of ${path} does not exist`, { details: { path } });
      throw err;
    }
  }

  /** Create, or overwrite whatever version is there; loops over the races with concurrent create/delete. */
  private async upsert(path: string, data: Buffer): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        return (await this.session.setData(path, data, -1)).version;
      } catch (err) {
        if (zkCodeOf(err) !== ZK.NO_NODE) throw err;
      }
      try {
        await this.createNode(path, data);
        return 0;
      } catch (err) {
        if (!(err instanceof KmfError && err.code === 'conflict')) throw err;
      }
    }
    throw new KmfError('conflict', `${path} keeps changing under an unconditional write`, { retriable: true, details: { path } });
  }
}

/** Gives a failed multi the same codes as the single-op calls (and as MemoryStateStore). */
function refineMultiError(err: unknown, ops: readonly StateOp[]): unknown {
  if (!(err instanceof KmfError)) return err;
  const index = err.details?.['index'];
  const op = typeof index === 'number' ? ops[index] : undefined;
  if (op === undefined) return err;
  const code = zkCodeOf(err);
  const details = { ...err.details, index, path: op.path, op: op.op };
  const prefix = `multi op ${String(index)} (${op.op} ${op.path}) failed`;
  if (code === ZK.NO_NODE) {
    if (op.op === 'create') return new KmfError('not_found', `${prefix}: parent does not exist`, { cause: err, details });
    return new KmfError('conflict', `${prefix}: node does not exist`, { cause: err, details: { ...details, reason: 'no_node' } });
  }
  if (code === ZK.NODE_EXISTS) return new KmfError('conflict', `${prefix}: node exists`, { cause: err, details: { ...details, reason: 'exists' } });
  if (code === ZK.BAD_VERSION) return new KmfError('conflict', `${prefix}: version mismatch`, { cause: err, details: { ...details, reason: 'bad_version' } });
  return new KmfError(err.code, `${prefix}: ${err.message}`, { cause: err, retriable: err.retriable, details });
}
