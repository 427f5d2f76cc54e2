import zookeeper from 'node-zookeeper-client';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { testLogger } from '../util/log.js';
import { isZkUrl, parseZkUrl, redactZkUrl, zkConnectString, type ZkUrl } from './zk-url.js';

/**
 * Where the leading Mesos master is. Two sources, as `--master` allows (mesos-http-api.md §O):
 *  - a static list of masters (`http://m1:5050,m2:5050`): tried in turn; the client follows 307s to the leader
 *    by hand (item 201);
 *  - ZooKeeper (`zk://[user:pass@]h1:p1,h2:p2/mesos`): the leader is the `json.info_*` member with the lowest
 *    sequence number; its data is the leader's JSON MasterInfo (items 198-200). Leader changes are pushed to
 *    `onLeaderChange` listeners so the client can switch master.
 */
export interface MasterDetector {
  /** Begin detection (connect to ZooKeeper). Idempotent. */
  start(): void;
  /**
   * The scheduler endpoint to try next. A static list rotates on every call; ZooKeeper returns the current
   * leader and waits (until `signal` aborts) while none is elected.
   */
  next(signal: AbortSignal): Promise<URL>;
  /** Register for leader changes; returns the unregister function. Static lists never call it. */
  onLeaderChange(listener: (leader: URL | undefined) => void): () => void;
  close(): Promise<void>;
  /** A description for logs, without credentials. */
  describe(): string;
}

export const SCHEDULER_API_PATH = '/api/v1/scheduler';

export type MasterScheme = 'http' | 'https';

export interface MasterDetectorOptions {
  /** Scheme for masters given as bare `host:port` and for masters found in ZooKeeper (MasterInfo has none). */
  readonly scheme?: MasterScheme;
  readonly logger?: Logger;
  /** ZooKeeper session timeout. */
  readonly zkSessionTimeoutMs?: number;
}

/** Builds the detector for a `--master` value. */
export function createMasterDetector(spec: string, opts: MasterDetectorOptions = {}): MasterDetector {
  if (isZkUrl(spec)) return new ZooKeeperMasterDetector(parseZkUrl(spec), opts);
  return new StaticMasterDetector(parseMasterList(spec, opts.scheme ?? 'http'));
}

/**
 * Parses `http(s)://host:port[/prefix]` and bare `host:port` entries, comma-separated, into scheduler
 * endpoint URLs. A URL with a path keeps it as a prefix (a master behind a path-routing proxy) unless it already
 * names the scheduler endpoint.
 */
export function parseMasterList(spec: string, defaultScheme: MasterScheme = 'http'): URL[] {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) throw new KmfError('MESOS_BAD_MASTER', 'no Mesos master given');
  return entries.map((entry) => schedulerEndpoint(entry, defaultScheme));
}

export function schedulerEndpoint(entry: string, defaultScheme: MasterScheme = 'http'): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `${defaultScheme}://${entry}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new KmfError('MESOS_BAD_MASTER', `invalid Mesos master '${entry}'`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KmfError('MESOS_BAD_MASTER', `invalid Mesos master '${entry}': scheme must be http or https (or use zk://)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new KmfError('MESOS_BAD_MASTER', `invalid Mesos master '${url.host}': put framework credentials in a credential file, not in the URL`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith(SCHEDULER_API_PATH)) url.pathname = `${path}${SCHEDULER_API_PATH}`;
  url.search = '';
  url.hash = '';
  return url;
}

export class StaticMasterDetector implements MasterDetector {
  private index = 0;
  constructor(private readonly masters: readonly URL[]) {
    if (masters.length === 0) throw new KmfError('MESOS_BAD_MASTER', 'no Mesos master given');
  }
  start(): void {}
  next(signal: AbortSignal): Promise<URL> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    const url = this.masters[this.index % this.masters.length];
    this.index++;
    // Copies, so a caller editing the URL can't change the list.
    return Promise.resolve(new URL((url ?? this.masters[0] ?? fail()).href));
  }
  onLeaderChange(): () => void {
    return () => {};
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  describe(): string {
    return this.masters.map((u) => u.origin).join(',');
  }
}

// ---- ZooKeeper ---------------------------------------------------------------------------------

const MEMBER_PREFIX = 'json.info_';

/**
 * The leader among a group's children: the `json.info_<seq>` entry with the lowest sequence number (item 199).
 * Other children (`log_replicas`, pre-0.24 binary `info_` nodes) are ignored.
 */
export function selectLeader(children: readonly string[]): string | undefined {
  let best: { name: string; seq: bigint } | undefined;
  for (const name of children) {
    if (!name.startsWith(MEMBER_PREFIX)) continue;
    const digits = name.slice(MEMBER_PREFIX.length);
    if (!/^\d+$/.test(digits)) continue;
    const seq = BigInt(digits);
    if (best === undefined || seq < best.seq) best = { name, seq };
  }
  return best?.name;
}

/**
 * The scheduler endpoint of a master from its ZooKeeper MasterInfo JSON (alphabetical keys, v0 enum names:
 * only the address fields matter here). Prefers `address.hostname`, then `address.ip`, then the legacy
 * top-level `hostname` and packed `ip` (network byte order read as a little-endian uint32, item 200).
 */
export function masterInfoEndpoint(data: Buffer, scheme: MasterScheme): URL {
  let info: unknown;
  try {
    info = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new KmfError('MESOS_BAD_MASTER_INFO', `leader znode does not hold JSON MasterInfo: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof info !== 'object' || info === null) throw new KmfError('MESOS_BAD_MASTER_INFO', 'leader znode does not hold a JSON object');
  const rec = info as Record<string, unknown>;
  const address = typeof rec['address'] === 'object' && rec['address'] !== null ? (rec['address'] as Record<string, unknown>) : {};
  const host =
    nonEmptyString(address['hostname']) ??
    nonEmptyString(address['ip']) ??
    nonEmptyString(rec['hostname']) ??
    (typeof rec['ip'] === 'number' ? unpackIPv4(rec['ip']) : undefined);
  const port = typeof address['port'] === 'number' ? address['port'] : typeof rec['port'] === 'number' ? rec['port'] : undefined;
  if (host === undefined || port === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new KmfError('MESOS_BAD_MASTER_INFO', 'leader MasterInfo has no usable address (hostname/ip and port)');
  }
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new URL(`${scheme}://${hostPart}:${port}${SCHEDULER_API_PATH}`);
}

/** MasterInfo.ip: the IPv4 address bytes a.b.c.d in network order, read as a little-endian uint32. */
export function unpackIPv4(packed: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(packed >>> 0);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

type ZkClientFactory = (connectString: string, options: { sessionTimeout: number; spinDelay: number }) => zookeeper.Client;

export class ZooKeeperMasterDetector implements MasterDetector {
  private readonly scheme: MasterScheme;
  private readonly log: Logger;
  private readonly sessionTimeoutMs: number;
  private client: zookeeper.Client | undefined;
  private leader: URL | undefined;
  /** Each refresh gets a number; answers to an older refresh are ignored (the tree moved on). */
  private refreshSeq = 0;
  private closed = false;
  private readonly listeners = new Set<(leader: URL | undefined) => void>();
  private readonly waiters = new Set<() => void>();
  /** One watcher function for every watch we set: the ZooKeeper client keeps one registration per function. */
  private readonly onWatch = (): void => this.refresh();

  constructor(
    private readonly url: ZkUrl,
    opts: MasterDetectorOptions = {},
    private readonly createClient: ZkClientFactory = (cs, o) => zookeeper.createClient(cs, o),
  ) {
    this.scheme = opts.scheme ?? 'http';
    this.log = (opts.logger ?? testLogger('master-detector')).child({ zk: redactZkUrl(url) });
    this.sessionTimeoutMs = opts.zkSessionTimeoutMs ?? 10_000;
  }

  describe(): string {
    return redactZkUrl(this.url);
  }

  start(): void {
    if (this.client !== undefined || this.closed) return;
    this.connect();
  }

  async next(signal: AbortSignal): Promise<URL> {
    this.start();
    while (this.leader === undefined) {
      if (this.closed) throw new KmfError('MESOS_DETECTOR_CLOSED', 'master detection was stopped');
      await this.waitForChange(signal);
    }
    return new URL(this.leader.href);
  }

  onLeaderChange(listener: (leader: URL | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.wakeWaiters();
    if (client === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      // close() sends CLOSE_SESSION; 'disconnected' follows once the socket is down. Don't wait forever for it.
      const t = setTimeout(resolve, 2_000);
      client.once('disconnected', () => {
        clearTimeout(t);
        resolve();
      });
      client.close();
    });
  }

  private connect(): void {
    const client = this.createClient(zkConnectString(this.url), { sessionTimeout: this.sessionTimeoutMs, spinDelay: 1_000 });
    this.client = client;
    if (this.url.auth !== undefined) {
      client.addAuthInfo('digest', Buffer.from(`${this.url.auth.user}:${this.url.auth.password}`, 'utf8'));
    }
    client.on('connected', () => {
      if (this.client !== client) return;
      this.log.debug('connected to ZooKeeper');
      this.refresh();
    });
    client.on('disconnected', () => {
      if (this.client !== client) return;
      // Keep the last leader: the session (and the leader's ephemeral node) may well survive the blip.
      this.log.warn('disconnected from ZooKeeper; keeping the last known leader until the session expires');
    });
    client.on('expired', () => {
      if (this.client !== client) return;
      // Watches die with the session: start over with a new one.
      this.log.warn('ZooKeeper session expired; reconnecting');
      client.close();
      this.client = undefined;
      if (!this.closed) this.connect();
    });
    client.on('authenticationFailed', () => {
      if (this.client !== client) return;
      this.log.error('ZooKeeper rejected the credentials of the master URL');
    });
    client.connect();
  }

  /** Lists the group, re-arming the children watch, and reads the leader's MasterInfo. */
  private refresh(): void {
    const client = this.client;
    if (client === undefined || this.closed) return;
    const seq = ++this.refreshSeq;
    const current = (): boolean => seq === this.refreshSeq && this.client === client && !this.closed;
    const path = this.url.path;
    client.getChildren(
      path,
      this.onWatch,
      (err, children) => {
        if (!current()) return;
        if (err !== null) {
          if (isZkError(err, zookeeper.Exception.NO_NODE)) {
            // No master has ever registered under this path: wait for it to appear.
            this.setLeader(undefined);
            client.exists(
              path,
              this.onWatch,
              (existsErr, stat) => {
                if (current() && existsErr === null && stat !== null && stat !== undefined) this.refresh();
              },
            );
            return;
          }
          this.retryLater(`listing ${path} failed: ${errorMessage(err)}`);
          return;
        }
        const leaderNode = selectLeader(children);
        if (leaderNode === undefined) {
          this.setLeader(undefined);
          return;
        }
        const nodePath = path === '/' ? `/${leaderNode}` : `${path}/${leaderNode}`;
        client.getData(nodePath, (dataErr, data) => {
          if (!current()) return;
          if (dataErr !== null) {
            // NO_NODE: the leader went away between the listing and the read; the children watch re-runs us.
            if (!isZkError(dataErr, zookeeper.Exception.NO_NODE)) this.retryLater(`reading ${nodePath} failed: ${errorMessage(dataErr)}`);
            return;
          }
          try {
            this.setLeader(masterInfoEndpoint(data, this.scheme));
          } catch (parseErr) {
            this.log.error('cannot use the leading master\'s MasterInfo', { node: nodePath, error: errorMessage(parseErr) });
            this.setLeader(undefined);
          }
        });
      },
    );
  }

  private retryLater(reason: string): void {
    this.log.warn(`ZooKeeper read failed; retrying`, { reason });
    const t = setTimeout(() => this.refresh(), 1_000);
    t.unref();
  }

  private setLeader(leader: URL | undefined): void {
    if (leader?.href === this.leader?.href) return;
    this.log.info(leader === undefined ? 'no leading Mesos master in ZooKeeper' : 'leading Mesos master detected', {
      leader: leader?.origin,
    });
    this.leader = leader;
    this.wakeWaiters();
    for (const listener of [...this.listeners]) listener(leader === undefined ? undefined : new URL(leader.href));
  }

  private waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(wake);
        resolve();
      };
      const onAbort = (): void => {
        this.waiters.delete(wake);
        reject(abortError(signal));
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

function isZkError(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new KmfError('ABORTED', 'aborted');
}

function fail(): never {
  throw new KmfError('MESOS_BAD_MASTER', 'no Mesos master given');
}
