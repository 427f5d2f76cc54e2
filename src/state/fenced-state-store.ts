import { KmfError } from '../util/errors.js';
import { ancestorsAndSelf, validatePath } from './paths.js';
import type { ExpectedVersion, StateOp, StateOpResult, StateStore, Versioned } from './state-store.js';

/**
 * The proof a leader attaches to each write: `check` ops that hold only while it is still the leader (the epoch
 * znode still has the version this leader gave it, and its own election znode still exists). A write is one
 * ZooKeeper multi of these checks plus the write itself, so a deposed leader's write fails as a whole on the server,
 * even when the leader has not noticed yet (a long GC pause, a partition that healed into an expired session).
 */
export interface Fence {
  /** Leadership term, incremented by each new leader. */
  readonly epoch: number;
  readonly checks: readonly StateOp[];
}

/** What the runtime and FencedStateStore need to know about leadership. */
export interface Leadership {
  /** The current fence, or undefined when this instance is not (or no longer) the leader. */
  fence(): Fence | undefined;
}

/** Always the leader, with no checks: a single-instance scheduler on MemoryStateStore in tests. */
export class StaticLeadership implements Leadership {
  constructor(private readonly epoch = 1) {}
  fence(): Fence {
    return { epoch: this.epoch, checks: [] };
  }
}

/**
 * A StateStore whose writes are fenced: every write carries the leader's checks in the same multi. When a check
 * fails, or this instance holds no fence, the write fails with KmfError `fenced` and nothing is written. Reads
 * are not fenced (a follower may read; a deposed leader reading stale data cannot harm anyone).
 */
export class FencedStateStore implements StateStore {
  constructor(
    private readonly store: StateStore,
    private readonly leadership: Leadership,
  ) {}

  get(path: string): Promise<Versioned | undefined> {
    return this.store.get(path);
  }

  list(path: string): Promise<string[]> {
    return this.store.list(path);
  }

  readTree(path: string): Promise<Map<string, Versioned>> {
    return this.store.readTree(path);
  }

  create(path: string, data: Buffer): Promise<number> {
    return this.put(path, data, 'absent');
  }

  async put(path: string, data: Buffer, expected: ExpectedVersion): Promise<number> {
    validatePath(path);
    if (expected === 'absent') {
      await this.multi([{ op: 'create', path, data }]);
      return 0;
    }
    if (typeof expected === 'number') {
      const [r] = await this.multi([{ op: 'set', path, data, version: expected }]);
      return r !== undefined && r.op === 'set' ? r.version : -1;
    }
    // 'any' has no single multi op (set needs the node, create needs its absence): try one, then the other.
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.store.get(path);
      try {
        if (current === undefined) {
          await this.multi([{ op: 'create', path, data }]);
          return 0;
        }
        const [r] = await this.multi([{ op: 'set', path, data, version: 'any' }]);
        return r !== undefined && r.op === 'set' ? r.version : -1;
      } catch (err) {
        if (!(err instanceof KmfError && err.code === 'conflict')) throw err;
      }
    }
    throw new KmfError('conflict', `${path} keeps changing under an unconditional write`, { retriable: true, details: { path } });
  }

  async delete(path: string, expected: number | 'any'): Promise<boolean> {
    validatePath(path);
    if (expected === 'any' && (await this.store.get(path)) === undefined) {
      this.requireFence();
      return false;
    }
    try {
      await this.multi([{ op: 'delete', path, version: expected }]);
      return true;
    } catch (err) {
      if (expected === 'any' && err instanceof KmfError && err.code === 'conflict' && err.details?.['reason'] === 'no_node') return false;
      throw err;
    }
  }

  async ensurePath(path: string): Promise<void> {
    for (const p of ancestorsAndSelf(validatePath(path))) {
      if ((await this.store.get(p)) !== undefined) continue;
      try {
        await this.multi([{ op: 'create', path: p, data: Buffer.alloc(0) }]);
      } catch (err) {
        if (!(err instanceof KmfError && err.code === 'conflict' && err.details?.['reason'] === 'exists')) throw err;
      }
    }
  }

  async multi(ops: readonly StateOp[]): Promise<StateOpResult[]> {
    const fence = this.requireFence();
    const n = fence.checks.length;
    try {
      const results = await this.store.multi([...fence.checks, ...ops]);
      return results.slice(n);
    } catch (err) {
      if (!(err instanceof KmfError)) throw err;
      const index = err.details?.['index'];
      if (typeof index === 'number' && index < n) {
        throw new KmfError('fenced', `write refused: leadership of epoch ${fence.epoch} is lost (${err.message})`, {
          cause: err,
          details: { epoch: fence.epoch, check: fence.checks[index]?.path },
        });
      }
      if (typeof index === 'number') {
        throw new KmfError(err.code, err.message, { cause: err.cause ?? err, retriable: err.retriable, details: { ...err.details, index: index - n } });
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private requireFence(): Fence {
    const fence = this.leadership.fence();
    if (fence === undefined) throw new KmfError('fenced', 'write refused: this instance is not the leader');
    return fence;
  }
}
