import crypto from 'node:crypto';
import os from 'node:os';
import zookeeper from 'node-zookeeper-client';
import { KmfError, errorMessage } from '../util/errors.js';
import { Backoff, sleep } from '../util/backoff.js';
import { testLogger, type Logger } from '../util/log.js';
import type { Fence, Leadership } from './fenced-state-store.js';
import { jsonData, parseJsonData, type StateOp } from './state-store.js';
import { zkCodeOf, type ZkSession, type ZkSessionEvent } from './zk-session.js';

/**
 * Leader election among `kmf scheduler` instances, with fencing.
 *
 * Each instance creates an EPHEMERAL_SEQUENTIAL znode `/leader/member-<memberId>-<seq>` (under kmf's chroot)
 * whose data is its admin API address. The lowest sequence leads. Every other member watches only the member just
 * before it (no herd effect: a departure wakes one member). A new leader bumps `/epoch` with compare-and-set, in a
 * multi that also checks its own member znode, and from then on attaches a Fence to each write: check `/epoch` at
 * the version it set, check its member znode. A leader that lost its session or was superseded therefore cannot
 * write, whatever it believes.
 *
 * Session handling: on disconnection a leader is `suspended` (it must not start new work: its writes fail anyway
 * while disconnected); if the connection is not back within the session timeout, the server has expired the
 * session, so the leader is `deposed` without waiting to hear it; on expiry it is `deposed` too. With `rejoin`
 * (default) the instance then joins again as a new member on the new session.
 */
export type DeposedReason =
  /** The ZooKeeper session expired: the member znode is gone. */
  | 'session_expired'
  /** Disconnected for longer than the session timeout: the session is expired or about to be. */
  | 'session_lost'
  /** Someone deleted the member znode (an operator forcing a failover). */
  | 'znode_deleted'
  /** close() was called. */
  | 'closed';

export type ElectionEvent =
  | { readonly type: 'elected'; readonly epoch: number; readonly znode: string }
  | { readonly type: 'following'; readonly znode: string; readonly predecessor: string }
  | { readonly type: 'suspended' }
  | { readonly type: 'resumed' }
  | { readonly type: 'deposed'; readonly reason: DeposedReason; readonly epoch: number }
  | { readonly type: 'error'; readonly error: KmfError };

export interface LeaderInfo {
  readonly memberId: string;
  /** The leader's admin API address (followers redirect or forward writes there). */
  readonly address: string;
  readonly znode: string;
  readonly host: string;
  readonly pid: number;
  readonly since: string;
}

export interface LeaderElectionOptions {
  /** This instance's admin API address, published in its member znode. */
  readonly address: string;
  /** Defaults to a random id. */
  readonly memberId?: string;
  /** Join again after being deposed by a lost session (default true). */
  readonly rejoin?: boolean;
  readonly logger?: Logger;
}

export const LEADER_PATH = '/leader';
export const EPOCH_PATH = '/epoch';
const MEMBER_PREFIX = 'member-';

type Listener = (event: ElectionEvent) => void;

interface EpochData {
  readonly epoch: number;
  readonly memberId: string;
  readonly at: string;
}

export class LeaderElection implements Leadership {
  readonly memberId: string;
  private readonly log: Logger;
  private readonly rejoin: boolean;
  private readonly listeners = new Set<Listener>();
  private znode: string | undefined;
  private currentFence: Fence | undefined;
  private suspended = false;
  private closed = false;
  private started = false;
  private lostTimer: NodeJS.Timeout | undefined;
  private watchedPredecessor: string | undefined;
  /** Serialises evaluation runs; `again` asks for one more run after the current one. */
  private running: Promise<void> | undefined;
  private again = false;
  private offSession: (() => void) | undefined;

  constructor(
    private readonly session: ZkSession,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.memberId = opts.memberId ?? crypto.randomUUID();
    if (!/^[A-Za-z0-9_.:-]+$/.test(this.memberId)) {
      throw new KmfError('invalid_argument', `member id '${this.memberId}' may only have letters, digits and _ . : -`);
    }
    this.rejoin = opts.rejoin ?? true;
    this.log = (opts.logger ?? testLogger('leader-election')).child({ memberId: this.memberId });
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Joins the election. Resolves once this member's znode exists (not when it leads: see waitForLeadership). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.offSession = this.session.on((e) => this.onSession(e));
    await this.join();
    this.evaluate();
  }

  isLeader(): boolean {
    return this.currentFence !== undefined;
  }

  /**
   * Leadership: the fence to attach to writes while leader. Still given while suspended (disconnected): writes then
   * fail as `unavailable` (retriable), not `fenced`, because leadership may yet survive the disconnection.
   */
  fence(): Fence | undefined {
    return this.currentFence;
  }

  /** True while a leader has no ZooKeeper connection: it must not start new work until 'resumed' or 'deposed'. */
  isSuspended(): boolean {
    return this.suspended;
  }

  /** This member's znode path (within the chroot), once joined. */
  memberZnode(): string | undefined {
    return this.znode;
  }

  /** Resolves with the fence when this instance becomes leader (immediately if it is). */
  waitForLeadership(signal?: AbortSignal): Promise<Fence> {
    const now = this.fence();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const off = this.on((e) => {
        if (e.type === 'elected' || e.type === 'resumed') {
          const f = this.fence();
          if (f !== undefined) {
            off();
            signal?.removeEventListener('abort', onAbort);
            resolve(f);
          }
        }
      });
      const onAbort = (): void => {
        off();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The current leader as recorded in ZooKeeper (a fresh read, no watch), or undefined if there is none. */
  async currentLeader(): Promise<LeaderInfo | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const members = sortMembers((await this.session.getChildren(LEADER_PATH)) ?? []);
      const first = members[0];
      if (first === undefined) return undefined;
      const node = await this.session.getData(`${LEADER_PATH}/${first}`);
      if (node === undefined) continue; // it just left; look again
      return parseMember(`${LEADER_PATH}/${first}`, node.data);
    }
    return undefined;
  }

  /** Leaves the election: deletes the member znode (the next member takes over at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offSession?.();
    if (this.lostTimer !== undefined) clearTimeout(this.lostTimer);
    const wasLeader = this.currentFence;
    this.currentFence = undefined;
    const znode = this.znode;
    this.znode = undefined;
    if (znode !== undefined) {
      try {
        await this.session.remove(znode, -1);
      } catch (err) {
        // Gone already, or no connection: the session's end removes it anyway.
        this.log.debug('could not delete the member znode on close', { znode, err: errorMessage(err) });
      }
    }
    if (wasLeader !== undefined) this.emit({ type: 'deposed', reason: 'closed', epoch: wasLeader.epoch });
    this.listeners.clear();
  }

  private emit(event: ElectionEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.log.error('election listener threw', { err: errorMessage(err) });
      }
    }
  }

  private depose(reason: DeposedReason): void {
    const fence = this.currentFence;
    this.currentFence = undefined;
    if (fence !== undefined) {
      this.log.warn('deposed', { reason, epoch: fence.epoch });
      this.emit({ type: 'deposed', reason, epoch: fence.epoch });
    }
  }

  private onSession(e: ZkSessionEvent): void {
    if (this.closed) return;
    switch (e.type) {
      case 'disconnected': {
        if (this.currentFence !== undefined && !this.suspended) {
          this.suspended = true;
          this.emit({ type: 'suspended' });
        }
        if (this.lostTimer === undefined) {
          // The client loses the connection after about 2/3 of the session timeout without an answer, and the server
          // expires the session a full timeout after it last heard from us: once this timer fires, another
          // member may already lead.
          const timeoutMs = this.session.negotiatedTimeoutMs();
          this.lostTimer = setTimeout(() => {
            this.lostTimer = undefined;
            if (!this.session.isConnected()) this.depose('session_lost');
          }, timeoutMs);
        }
        return;
      }
      case 'connected': {
        if (this.lostTimer !== undefined) {
          clearTimeout(this.lostTimer);
          this.lostTimer = undefined;
        }
        if (this.suspended) {
          this.suspended = false;
          if (this.currentFence !== undefined) this.emit({ type: 'resumed' });
        }
        // Watches set before a disconnection may have missed events: look again.
        this.evaluate();
        return;
      }
      case 'expired': {
        if (this.lostTimer !== undefined) {
          clearTimeout(this.lostTimer);
          this.lostTimer = undefined;
        }
        this.suspended = false;
        this.depose('session_expired');
        this.znode = undefined;
        this.watchedPredecessor = undefined;
        if (this.rejoin) {
          this.join()
            .then(() => this.evaluate())
            .catch((err: unknown) => this.fail(err));
        }
        return;
      }
      case 'closed':
        this.depose('closed');
        return;
    }
  }

  private fail(err: unknown): void {
    const error = err instanceof KmfError ? err : new KmfError('election_failed', errorMessage(err), { cause: err });
    this.log.error('leader election failed', { err: error.message });
    this.emit({ type: 'error', error });
  }

  /** Creates this member's ephemeral sequential znode (adopting it if a lost connection hid the create's answer). */
  private async join(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000, factor: 2, jitter: 0.5 });
    const data = jsonData({
      memberId: this.memberId,
      address: this.opts.address,
      host: os.hostname(),
      pid: process.pid,
      since: new Date().toISOString(),
    });
    const prefix = `${MEMBER_PREFIX}${this.memberId}-`;
    for (;;) {
      if (this.closed) return;
      try {
        await this.ensureLeaderPath();
        this.znode = await this.session.create(`${LEADER_PATH}/${prefix}`, data, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
        this.log.info('joined the leader election', { znode: this.znode });
        return;
      } catch (err) {
        if (!(err instanceof KmfError && err.retriable)) throw err;
        // The create may have succeeded before the connection dropped: our znode carries our member id.
        const mine = ((await this.session.getChildren(LEADER_PATH).catch(() => undefined)) ?? []).find((c) => c.startsWith(prefix));
        if (mine !== undefined) {
          this.znode = `${LEADER_PATH}/${mine}`;
          return;
        }
        await sleep(backoff.next());
      }
    }
  }

  private async ensureLeaderPath(): Promise<void> {
    try {
      await this.session.create(LEADER_PATH, Buffer.alloc(0));
    } catch (err) {
      if (zkCodeOf(err) !== zookeeper.Exception.NODE_EXISTS) throw err;
    }
  }

  /** Runs the election check, never two at once; a request during a run causes one more run. */
  private evaluate(): void {
    if (this.closed || !this.started) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.check();
        } catch (err) {
          if (err instanceof KmfError && err.retriable) {
            // Disconnected: the 'connected' event runs the check again.
            this.log.debug('election check interrupted', { err: err.message });
          } else {
            this.fail(err);
          }
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = undefined;
    });
  }

  private async check(): Promise<void> {
    const own = this.znode;
    if (own === undefined || this.closed) return;
    const members = sortMembers((await this.session.getChildren(LEADER_PATH)) ?? []);
    const ownName = own.slice(LEADER_PATH.length + 1);
    const index = members.indexOf(ownName);
    if (index === -1) {
      // Our znode is gone while our session lives: someone deleted it.
      this.depose('znode_deleted');
      this.znode = undefined;
      if (this.rejoin && !this.closed) {
        await this.join();
        this.again = true;
      }
      return;
    }
    if (index === 0) {
      if (this.currentFence === undefined) await this.becomeLeader(own);
      // Watch our own znode: its deletion (by an operator) must depose us.
      const stat = await this.session.exists(own, (event) => {
        if (event.getType() === zookeeper.Event.NODE_DELETED) this.evaluate();
      });
      if (stat === undefined) this.again = true;
      return;
    }
    const predecessor = `${LEADER_PATH}/${members[index - 1]!}`;
    const stat = await this.session.exists(predecessor, (event) => {
      if (event.getType() === zookeeper.Event.NODE_DELETED) this.evaluate();
    });
    if (stat === undefined) {
      this.again = true; // it left between our two reads
      return;
    }
    if (this.watchedPredecessor !== predecessor) {
      this.watchedPredecessor = predecessor;
      this.log.info('following', { znode: own, predecessor });
      this.emit({ type: 'following', znode: own, predecessor });
    }
  }

  /** Bumps /epoch (compare-and-set, together with a check that our member znode still exists). */
  private async becomeLeader(own: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.session.getData(EPOCH_PATH);
      const previous = current === undefined ? 0 : readEpoch(current.data);
      const next: EpochData = { epoch: previous + 1, memberId: this.memberId, at: new Date().toISOString() };
      const ownCheck: StateOp = { op: 'check', path: own, version: 'any' };
      const write: StateOp =
        current === undefined
          ? { op: 'create', path: EPOCH_PATH, data: jsonData(next) }
          : { op: 'set', path: EPOCH_PATH, data: jsonData(next), version: current.stat.version };
      try {
        const results = await this.session.multi([ownCheck, write]);
        const epochVersion = current === undefined ? 0 : (results[1]?.op === 'set' ? results[1].version : -1);
        this.currentFence = {
          epoch: next.epoch,
          checks: [
            { op: 'check', path: EPOCH_PATH, version: epochVersion },
            { op: 'check', path: own, version: 'any' },
          ],
        };
        this.watchedPredecessor = undefined;
        this.log.info('elected leader', { epoch: next.epoch, znode: own });
        this.emit({ type: 'elected', epoch: next.epoch, znode: own });
        return;
      } catch (err) {
        if (!(err instanceof KmfError) || err.code !== 'conflict' || attempt >= 20) throw err;
        const index = err.details?.['index'];
        if (index === 0) {
          // Our own znode vanished: the next check() sees it and rejoins.
          return;
        }
        // /epoch moved under us (a deposed leader's bump that raced ours): read it again.
      }
    }
  }
}

function readEpoch(data: Buffer): number {
  try {
    const parsed = parseJsonData(data) as Partial<EpochData>;
    return typeof parsed.epoch === 'number' && Number.isInteger(parsed.epoch) ? parsed.epoch : 0;
  } catch {
    return 0;
  }
}

/** Member znodes sorted by their sequence suffix (the last 10 digits), not by name. */
export function sortMembers(children: readonly string[]): string[] {
  return children
    .filter((c) => c.startsWith(MEMBER_PREFIX) && /\d{10}$/.test(c))
    .sort((a, b) => Number(a.slice(-10)) - Number(b.slice(-10)));
}

function parseMember(znode: string, data: Buffer): LeaderInfo {
  const v = parseJsonData(data) as Partial<LeaderInfo>;
  return {
    memberId: typeof v.memberId === 'string' ? v.memberId : '',
    address: typeof v.address === 'string' ? v.address : '',
    znode,
    host: typeof v.host === 'string' ? v.host : '',
    pid: typeof v.pid === 'number' ? v.pid : 0,
    since: typeof v.since === 'string' ? v.since : '',
  };
}
