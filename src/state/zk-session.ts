import { EventEmitter } from 'node:events';
import zookeeper from 'node-zookeeper-client';
import { KmfError, errorMessage } from '../util/errors.js';
import { testLogger, type Logger } from '../util/log.js';
import type { StateOp, StateOpResult } from './state-store.js';
import { describeZkConfig, digestId, type ZkStateConfig } from './zk-config.js';

/**
 * One ZooKeeper session for kmf's state and leader election, with:
 *  - the chroot created first (a chrooted client gets NO_NODE for everything until it exists), through a
 *    short-lived client without chroot;
 *  - digest credentials and the matching ACL on every znode it creates;
 *  - promise-returning operations with a timeout (the client library queues requests while disconnected and
 *    would otherwise wait forever), errors as KmfError with the ZooKeeper code in details.zkCode;
 *  - a fresh session after expiry (the library's client is unusable once expired); 'expired' tells listeners
 *    that ephemeral znodes and watches of the old session are gone.
 */
export type ZkSessionEvent =
  | { readonly type: 'connected'; readonly sessionId: string }
  | { readonly type: 'disconnected'; readonly sessionId: string }
  | { readonly type: 'expired'; readonly sessionId: string }
  | { readonly type: 'closed' };

export interface ZkSessionOptions {
  /** Requested session timeout; the server clamps it to [2, 20] ticks by default. */
  readonly sessionTimeoutMs?: number;
  /** How long open() waits for the first session. */
  readonly connectTimeoutMs?: number;
  /** Per-operation timeout (covers time spent queued while disconnected). */
  readonly opTimeoutMs?: number;
  /** Delay between connection attempts. */
  readonly spinDelayMs?: number;
  readonly logger?: Logger;
}

export interface ZkStat {
  readonly version: number;
  readonly numChildren: number;
  /** Session id (hex) owning an ephemeral node, '0000000000000000' otherwise. */
  readonly ephemeralOwner: string;
}

export type ZkWatcher = (event: zookeeper.Event) => void;

const ZK = zookeeper.Exception;
const OP_ERROR = -1;
const RUNTIME_INCONSISTENCY = -2;

/** The ZooKeeper error code of a KmfError made here, if any. */
export function zkCodeOf(err: unknown): number | undefined {
  if (!(err instanceof KmfError)) return undefined;
  const c = err.details?.['zkCode'];
  return typeof c === 'number' ? c : undefined;
}

export function isZkException(err: unknown): err is zookeeper.Exception {
  return typeof err === 'object' && err !== null && typeof (err as { getCode?: unknown }).getCode === 'function';
}

/** Maps a ZooKeeper error to kmf's store codes; callers refine it where the operation gives it more meaning. */
export function zkError(err: unknown, what: string, path: string, extra: Record<string, unknown> = {}): KmfError {
  if (err instanceof KmfError) return err;
  if (!isZkException(err)) return new KmfError('zookeeper_error', `${what} ${path}: ${errorMessage(err)}`, { cause: err, details: { path, ...extra } });
  const zkCode = err.getCode();
  const details = { path, zkCode, zkError: err.getName(), ...extra };
  const msg = `${what} ${path}: ${err.getName()}`;
  switch (zkCode) {
    case ZK.NO_NODE:
      return new KmfError('not_found', msg, { details });
    case ZK.NODE_EXISTS:
    case ZK.BAD_VERSION:
      return new KmfError('conflict', msg, { details });
    case ZK.NOT_EMPTY:
      return new KmfError('not_empty', msg, { details });
    case ZK.NO_AUTH:
    case ZK.AUTH_FAILED:
    case ZK.INVALID_ACL:
      return new KmfError('forbidden', msg, { details });
    case ZK.CONNECTION_LOSS:
    case ZK.OPERATION_TIMEOUT:
    case ZK.SESSION_EXPIRED:
      return new KmfError('unavailable', msg, { retriable: true, details });
    default:
      return new KmfError('zookeeper_error', msg, { details });
  }
}

/** node-zookeeper-client accepts sessionId/sessionPassword options (reattach to a session) but does not type them. */
interface ClientOptions {
  sessionTimeout: number;
  spinDelay: number;
  retries: number;
}

type Listener = (event: ZkSessionEvent) => void;

export class ZkSession {
  private client: zookeeper.Client;
  private connected = false;
  private closed = false;
  private readonly events = new EventEmitter();
  private readonly log: Logger;
  private readonly sessionTimeoutMs: number;
  private readonly opTimeoutMs: number;
  private readonly spinDelayMs: number;
  readonly acl: zookeeper.ACL[];

  /** Connects (creating the chroot first) and resolves once a session is established. */
  static async open(cfg: ZkStateConfig, opts: ZkSessionOptions = {}): Promise<ZkSession> {
    const log = opts.logger ?? testLogger('zk-session');
    const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
    await ensureChroot(cfg, opts, log, connectTimeoutMs);
    const session = new ZkSession(cfg, opts, log);
    try {
      await session.waitConnected(connectTimeoutMs);
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  private constructor(
    private readonly cfg: ZkStateConfig,
    opts: ZkSessionOptions,
    log: Logger,
  ) {
    this.log = log.child({ zk: describeZkConfig(cfg) });
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000;
    this.opTimeoutMs = opts.opTimeoutMs ?? 15_000;
    this.spinDelayMs = opts.spinDelayMs ?? 500;
    this.acl = aclFor(cfg);
    this.client = this.newClient();
  }

  /** Current session id (hex), '' before the first connection. */
  sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  /** The timeout the server granted (ms). */
  negotiatedTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** The raw client (tests use it to reach session internals); kmf code goes through the methods below. */
  rawClient(): zookeeper.Client {
    return this.client;
  }

  on(listener: Listener): () => void {
    this.events.on('event', listener);
    return () => {
      this.events.off('event', listener);
    };
  }

  private emit(event: ZkSessionEvent): void {
    this.events.emit('event', event);
  }

  private newClient(): zookeeper.Client {
    const options: ClientOptions = { sessionTimeout: this.sessionTimeoutMs, spinDelay: this.spinDelayMs, retries: 0 };
    const client = zookeeper.createClient(this.cfg.servers.join(',') + this.cfg.chroot, options);
    if (this.cfg.auth !== undefined) client.addAuthInfo('digest', Buffer.from(`${this.cfg.auth.user}:${this.cfg.auth.password}`, 'utf8'));
    client.on('connected', () => {
      if (client !== this.client) return;
      this.connected = true;
      this.log.debug('ZooKeeper session connected', { sessionId: this.sessionId() });
      this.emit({ type: 'connected', sessionId: this.sessionId() });
    });
    client.on('disconnected', () => {
      if (client !== this.client || this.closed) return;
      this.connected = false;
      this.log.warn('disconnected from ZooKeeper', { sessionId: this.sessionId() });
      this.emit({ type: 'disconnected', sessionId: this.sessionId() });
    });
    client.on('expired', () => {
      if (client !== this.client || this.closed) return;
      const old = this.sessionId();
      this.connected = false;
      this.log.warn('ZooKeeper session expired; opening a new session', { sessionId: old });
      client.close();
      this.client = this.newClient();
      this.emit({ type: 'expired', sessionId: old });
    });
    client.on('authenticationFailed', () => {
      if (client !== this.client) return;
      this.log.error('ZooKeeper rejected the digest credentials');
    });
    client.connect();
    return client;
  }

  private waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new KmfError('unavailable', `no ZooKeeper session with ${describeZkConfig(this.cfg)} within ${timeoutMs} ms`, { retriable: true }));
      }, timeoutMs);
      const off = this.on((e) => {
        if (e.type === 'connected') {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasConnected = this.connected;
    this.connected = false;
    const client = this.client;
    await new Promise<void>((resolve) => {
      if (!wasConnected) {
        client.close();
        resolve();
        return;
      }
      // close() sends CLOSE_SESSION (ephemeral znodes go at once); 'disconnected' follows when the socket is down.
      const timer = setTimeout(resolve, 2_000);
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.close();
    });
    this.emit({ type: 'closed' });
    this.events.removeAllListeners();
  }

  /** Runs one client call with a timeout; `fn` gets the current client and a node-style callback. */
  private call<T>(what: string, path: string, fn: (client: zookeeper.Client, done: (err: unknown, value?: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new KmfError('unavailable', `${what} ${path}: ZooKeeper session closed`));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new KmfError('unavailable', `${what} ${path}: no answer from ZooKeeper within ${this.opTimeoutMs} ms`, { retriable: true, details: { path } }));
      }, this.opTimeoutMs);
      try {
        fn(this.client, (err, value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err !== null && err !== undefined) reject(zkError(err, what, path));
          else resolve(value as T);
        });
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        reject(zkError(err, what, path));
      }
    });
  }

  /** Data and stat, or undefined if the node does not exist. */
  async getData(path: string, watcher?: ZkWatcher): Promise<{ data: Buffer; stat: ZkStat } | undefined> {
    try {
      return await this.call<{ data: Buffer; stat: ZkStat }>('getData', path, (c, done) => {
        const cb = (err: unknown, data: Buffer | null | undefined, stat: zookeeper.Stat): void =>
          err ? done(err) : done(null, { data: data ?? Buffer.alloc(0), stat: toStat(stat) });
        if (watcher === undefined) c.getData(path, cb);
        else c.getData(path, watcher, cb);
      });
    } catch (err) {
      if (zkCodeOf(err) === ZK.NO_NODE) return undefined;
      throw err;
    }
  }

  /** Children names (unsorted, as the server returns them), or undefined if the node does not exist. */
  async getChildren(path: string, watcher?: ZkWatcher): Promise<string[] | undefined> {
    try {
      return await this.call<string[]>('getChildren', path, (c, done) => {
        const cb = (err: unknown, children: string[]): void => (err ? done(err) : done(null, children));
        if (watcher === undefined) c.getChildren(path, cb);
        else c.getChildren(path, watcher, cb);
      });
    } catch (err) {
      if (zkCodeOf(err) === ZK.NO_NODE) return undefined;
      throw err;
    }
  }

  /** Stat, or undefined if the node does not exist (a watcher is then set for its creation). */
  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | undefined> {
    return this.call<ZkStat | undefined>('exists', path, (c, done) => {
      const cb = (err: unknown, stat: zookeeper.Stat | null | undefined): void =>
        err ? done(err) : done(null, stat === null || stat === undefined ? undefined : toStat(stat));
      if (watcher === undefined) c.exists(path, cb);
      else c.exists(path, watcher, cb);
    });
  }

  /** Creates a node with kmf's ACL; resolves to the created path (with the sequence suffix for sequential modes). */
  create(path: string, data: Buffer, mode: number = zookeeper.CreateMode.PERSISTENT): Promise<string> {
    return this.call<string>('create', path, (c, done) => c.create(path, data, this.acl, mode, (err, created) => (err ? done(err) : done(null, created))));
  }

  setData(path: string, data: Buffer, version: number): Promise<ZkStat> {
    return this.call<ZkStat>('setData', path, (c, done) => c.setData(path, data, version, (err, stat) => (err ? done(err) : done(null, toStat(stat)))));
  }

  remove(path: string, version: number): Promise<void> {
    return this.call<void>('delete', path, (c, done) => c.remove(path, version, (err) => (err ? done(err) : done(null))));
  }

  mkdirp(path: string): Promise<void> {
    return this.call<void>('mkdirp', path, (c, done) => c.mkdirp(path, this.acl, (err) => (err ? done(err) : done(null))));
  }

  /** A ZooKeeper multi: all ops or none. On failure, details.index names the op that failed. */
  multi(ops: readonly StateOp[]): Promise<StateOpResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    return this.call<StateOpResult[]>('multi', ops[0]!.path, (c, done) => {
      const tx = c.transaction();
      for (const op of ops) {
        switch (op.op) {
          case 'create':
            tx.create(op.path, op.data, this.acl, zookeeper.CreateMode.PERSISTENT);
            break;
          case 'set':
            tx.setData(op.path, op.data, -1);
            break;
          case 'delete':
            tx.remove(op.path, -1);
            break;
          case 'check':
            tx.check(op.path, -1);
            break;
        }
      }
      // node-zookeeper-client's Transaction turns version 0 into -1 (`version = version || -1`), which would make
      // a compare-and-set on a freshly created node unconditional. Its queued ops are plain objects read only
      // at commit time, so the versions are set here directly.
      const queued = (tx as unknown as { ops: { version?: number }[] }).ops;
      ops.forEach((op, i) => {
        const q = queued[i];
        if (op.op !== 'create' && q !== undefined) q.version = op.version === 'any' ? -1 : op.version;
      });
      tx.commit((err, results: unknown) => {
        const list = Array.isArray(results) ? (results as { type: number; err?: number; path?: string; stat?: zookeeper.Stat }[]) : undefined;
        if (err) {
          const index = list?.findIndex((r) => r.type === OP_ERROR && r.err !== 0 && r.err !== RUNTIME_INCONSISTENCY) ?? -1;
          const failed = index >= 0 ? ops[index] : undefined;
          done(zkError(err, `multi op ${index} (${failed?.op ?? '?'})`, failed?.path ?? ops[0]!.path, index >= 0 ? { index, op: failed?.op } : {}));
          return;
        }
        if (list === undefined || list.length !== ops.length) {
          done(new KmfError('zookeeper_error', `multi: ${list?.length ?? 0} results for ${ops.length} ops`));
          return;
        }
        done(
          null,
          ops.map((op, i): StateOpResult => {
            switch (op.op) {
              case 'create':
                return { op: 'create', path: op.path, version: 0 };
              case 'set': {
                const stat = list[i]?.stat;
                return { op: 'set', path: op.path, version: stat === undefined ? -1 : stat.version };
              }
              case 'delete':
                return { op: 'delete', path: op.path };
              case 'check':
                return { op: 'check', path: op.path };
            }
          }),
        );
      });
    });
  }
}

function toStat(stat: zookeeper.Stat): ZkStat {
  return { version: stat.version, numChildren: stat.numChildren, ephemeralOwner: stat.ephemeralOwner.toString('hex') };
}

function aclFor(cfg: ZkStateConfig): zookeeper.ACL[] {
  if (cfg.auth === undefined) return [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
  return [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digestId(cfg.auth)))];
}

/** Creates the chroot (and its ancestors) through a client without chroot, with kmf's ACL. */
async function ensureChroot(cfg: ZkStateConfig, opts: ZkSessionOptions, log: Logger, timeoutMs: number): Promise<void> {
  const client = zookeeper.createClient(cfg.servers.join(','), { sessionTimeout: opts.sessionTimeoutMs ?? 10_000, spinDelay: opts.spinDelayMs ?? 500, retries: 0 });
  if (cfg.auth !== undefined) client.addAuthInfo('digest', Buffer.from(`${cfg.auth.user}:${cfg.auth.password}`, 'utf8'));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new KmfError('unavailable', `no ZooKeeper session with ${describeZkConfig(cfg)} within ${timeoutMs} ms`, { retriable: true })),
        timeoutMs,
      );
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
    await new Promise<void>((resolve, reject) => {
      client.mkdirp(cfg.chroot, aclFor(cfg), (err) => (err ? reject(zkError(err, 'create chroot', cfg.chroot)) : resolve()));
    });
    log.debug('chroot ready', { chroot: cfg.chroot });
  } finally {
    client.close();
  }
}
