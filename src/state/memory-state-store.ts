import { KmfError } from '../util/errors.js';
import { ancestorsAndSelf, baseName, parentPath, validatePath } from './paths.js';
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

interface MemNode {
  data: Buffer;
  version: number;
  readonly children: Set<string>;
}

/**
 * The in-memory twin of ZooKeeperStateStore for tests: the same tree, versions, compare-and-set and all-or-nothing
 * multi, checked by the same conformance suite. Data is copied in and out, so callers cannot mutate stored bytes.
 */
export class MemoryStateStore implements StateStore {
  private readonly nodes = new Map<string, MemNode>([['/', { data: Buffer.alloc(0), version: 0, children: new Set() }]]);
  private closed = false;

  get(path: string): Promise<Versioned | undefined> {
    return this.run(() => {
      const node = this.nodes.get(validatePath(path));
      return node === undefined ? undefined : { data: Buffer.from(node.data), version: node.version };
    });
  }

  list(path: string): Promise<string[]> {
    return this.run(() => {
      const node = this.nodes.get(validatePath(path));
      return node === undefined ? [] : [...node.children].sort();
    });
  }

  create(path: string, data: Buffer): Promise<number> {
    return this.put(path, data, 'absent');
  }

  put(path: string, data: Buffer, expected: ExpectedVersion): Promise<number> {
    return this.run(() => {
      validatePath(path);
      checkVersionArg(expected, path);
      checkDataSize(path, data);
      const node = this.nodes.get(path);
      if (expected === 'absent' || (expected === 'any' && node === undefined)) {
        if (node !== undefined) throw conflict(`${path} already exists`, { path, reason: 'exists' });
        this.createNode(path, data);
        return 0;
      }
      if (node === undefined) throw conflict(`${path} does not exist (expected version ${String(expected)})`, { path, reason: 'no_node' });
      if (expected !== 'any' && node.version !== expected) {
        throw conflict(`${path} is at version ${node.version}, expected ${expected}`, { path, reason: 'bad_version' });
      }
      node.data = Buffer.from(data);
      node.version += 1;
      return node.version;
    });
  }

  delete(path: string, expected: number | 'any'): Promise<boolean> {
    return this.run(() => {
      validatePath(path);
      checkVersionArg(expected, path);
      const node = this.nodes.get(path);
      if (node === undefined) {
        if (expected === 'any') return false;
        throw conflict(`${path} does not exist (expected version ${expected})`, { path, reason: 'no_node' });
      }
      if (expected !== 'any' && node.version !== expected) {
        throw conflict(`${path} is at version ${node.version}, expected ${expected}`, { path, reason: 'bad_version' });
      }
      this.deleteNode(path, node);
      return true;
    });
  }

  multi(ops: readonly StateOp[]): Promise<StateOpResult[]> {
    return this.run(() => {
      // Apply op by op, remembering how to undo each; on the first failure undo everything done so far.
      const undo: (() => void)[] = [];
      const results: StateOpResult[] = [];
      try {
        ops.forEach((op, index) => {
          try {
            results.push(this.applyOp(op, undo));
          } catch (err) {
            if (err instanceof KmfError) {
              throw new KmfError(err.code, `multi op ${index} (${op.op} ${op.path}) failed: ${err.message}`, {
                cause: err,
                details: { ...err.details, index, path: op.path, op: op.op },
              });
            }
            throw err;
          }
        });
      } catch (err) {
        for (const u of undo.reverse()) u();
        throw err;
      }
      return results;
    });
  }

  ensurePath(path: string): Promise<void> {
    return this.run(() => {
      for (const p of ancestorsAndSelf(validatePath(path))) {
        if (!this.nodes.has(p)) this.createNode(p, Buffer.alloc(0));
      }
    });
  }

  readTree(path: string): Promise<Map<string, Versioned>> {
    return this.run(() => {
      const out = new Map<string, Versioned>();
      const visit = (p: string): void => {
        const node = this.nodes.get(p);
        if (node === undefined) return;
        out.set(p, { data: Buffer.from(node.data), version: node.version });
        for (const c of [...node.children].sort()) visit(p === '/' ? `/${c}` : `${p}/${c}`);
      };
      visit(validatePath(path));
      return out;
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Every call is async like the real store, and fails the same way after close(). */
  private run<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new KmfError('unavailable', 'state store is closed', { retriable: false }));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private createNode(path: string, data: Buffer): MemNode {
    const parent = parentPath(path);
    const parentNode = parent === undefined ? undefined : this.nodes.get(parent);
    if (parentNode === undefined) throw new KmfError('not_found', `parent of ${path} does not exist`, { details: { path } });
    const node: MemNode = { data: Buffer.from(data), version: 0, children: new Set() };
    this.nodes.set(path, node);
    parentNode.children.add(baseName(path));
    return node;
  }

  private deleteNode(path: string, node: MemNode): void {
    if (path === '/') throw new KmfError('invalid_argument', 'cannot delete the root', { details: { path } });
    if (node.children.size > 0) throw new KmfError('not_empty', `${path} has children`, { details: { path } });
    this.nodes.delete(path);
    const parent = parentPath(path);
    if (parent !== undefined) this.nodes.get(parent)?.children.delete(baseName(path));
  }

  private applyOp(op: StateOp, undo: (() => void)[]): StateOpResult {
    validatePath(op.path);
    const node = this.nodes.get(op.path);
    const expectVersion = (version: number | 'any', n: MemNode | undefined): MemNode => {
      checkVersionArg(version, op.path);
      if (n === undefined) throw conflict(`${op.path} does not exist`, { path: op.path, reason: 'no_node' });
      if (version !== 'any' && n.version !== version) {
        throw conflict(`${op.path} is at version ${n.version}, expected ${version}`, { path: op.path, reason: 'bad_version' });
      }
      return n;
    };
    switch (op.op) {
      case 'create': {
        checkDataSize(op.path, op.data);
        if (node !== undefined) throw conflict(`${op.path} already exists`, { path: op.path, reason: 'exists' });
        const created = this.createNode(op.path, op.data);
        undo.push(() => this.deleteNode(op.path, created));
        return { op: 'create', path: op.path, version: 0 };
      }
      case 'set': {
        checkDataSize(op.path, op.data);
        const n = expectVersion(op.version, node);
        const before = { data: n.data, version: n.version };
        n.data = Buffer.from(op.data);
        n.version += 1;
        undo.push(() => {
          n.data = before.data;
          n.version = before.version;
        });
        return { op: 'set', path: op.path, version: n.version };
      }
      case 'delete': {
        const n = expectVersion(op.version, node);
        this.deleteNode(op.path, n);
        undo.push(() => {
          const parent = parentPath(op.path);
          this.nodes.set(op.path, n);
          if (parent !== undefined) this.nodes.get(parent)?.children.add(baseName(op.path));
        });
        return { op: 'delete', path: op.path };
      }
      case 'check':
        expectVersion(op.version, node);
        return { op: 'check', path: op.path };
    }
  }
}
