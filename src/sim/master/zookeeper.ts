/**
 * Leader election in ZooKeeper the way Mesos masters do it (reference §O, items 198–199): every master
 * creates an ephemeral sequential znode `<path>/json.info_<10 digits>` holding its MasterInfo as
 * alphabetical-key JSON; the member with the lowest sequence number leads. Each contender watches the
 * children of `<path>` and reports who leads now.
 *
 * One ZooKeeper session per master, as with real masters: closing it removes the znode, which is how a
 * master gives up leadership (and how a crashed master's membership disappears).
 */
import zookeeper from 'node-zookeeper-client';
import type { MasterInfo } from '../../mesos/types.js';
import { parseZkUrl, zkConnectString, type ZkUrl } from '../../mesos/zk-url.js';
import { errorMessage, KmfError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { masterInfoZooKeeperJson } from './master-info.js';

export const MASTER_ZNODE_PREFIX = 'json.info_';

export interface ZooKeeperLeader {
  /** The leader's MasterInfo as read from its znode. */
  info: { hostname?: string; address?: { hostname?: string; ip?: string; port?: number }; port?: number; id?: string };
  /** True when the leading znode is this contender's. */
  self: boolean;
}

export interface ZooKeeperContenderOptions {
  url: string | ZkUrl;
  info: MasterInfo;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** Called whenever the leading member changes (undefined: no member). */
  onLeader: (leader: ZooKeeperLeader | undefined) => void;
}

function sequenceOf(name: string): number {
  return Number(name.slice(MASTER_ZNODE_PREFIX.length));
}

export class ZooKeeperContender {
  private readonly url: ZkUrl;
  private readonly opts: ZooKeeperContenderOptions;
  private client: zookeeper.Client | undefined;
  private ownNode: string | undefined;
  private lastLeader: string | undefined;
  private closed = false;

  constructor(opts: ZooKeeperContenderOptions) {
    this.opts = opts;
    this.url = typeof opts.url === 'string' ? parseZkUrl(opts.url) : opts.url;
  }

  get znode(): string | undefined {
    return this.ownNode;
  }

  /** Connect, create the membership znode, and start watching the group. */
  async start(): Promise<void> {
    const client = zookeeper.createClient(zkConnectString(this.url), {
      sessionTimeout: this.opts.sessionTimeoutMs ?? 10_000,
      spinDelay: 200,
      retries: 3,
    });
    this.client = client;
    if (this.url.auth !== undefined) {
      client.addAuthInfo('digest', Buffer.from(`${this.url.auth.user}:${this.url.auth.password}`));
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new KmfError('SIM_ZK_CONNECT', 'timed out connecting to ZooKeeper', { retriable: true })), 15_000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
    client.on('expired', () => {
      this.opts.logger.warn('ZooKeeper session expired: leaving the master group');
      this.ownNode = undefined;
    });
    const path = this.url.path;
    if (path !== '/') {
      await new Promise<void>((resolve, reject) => {
        client.mkdirp(path, (err) => (err === null ? resolve() : reject(new KmfError('SIM_ZK', `cannot create ${path}`, { cause: err }))));
      });
    }
    const prefix = `${path === '/' ? '' : path}/${MASTER_ZNODE_PREFIX}`;
    const data = Buffer.from(masterInfoZooKeeperJson(this.opts.info), 'utf8');
    this.ownNode = await new Promise<string>((resolve, reject) => {
      client.create(prefix, data, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (err, created) =>
        err === null ? resolve(created) : reject(new KmfError('SIM_ZK', 'cannot create the master znode', { cause: err })),
      );
    });
    this.opts.logger.info('joined the master group in ZooKeeper', { znode: this.ownNode });
    this.watch();
  }

  private watch(): void {
    const client = this.client;
    if (client === undefined || this.closed) return;
    client.getChildren(
      this.url.path,
      () => this.watch(),
      (err, children) => {
        if (this.closed) return;
        if (err !== null) {
          this.opts.logger.warn('cannot list the master group', { error: errorMessage(err) });
          return;
        }
        const members = children.filter((c) => c.startsWith(MASTER_ZNODE_PREFIX)).sort((a, b) => sequenceOf(a) - sequenceOf(b));
        const first = members[0];
        if (first === undefined) {
          if (this.lastLeader !== undefined) {
            this.lastLeader = undefined;
            this.opts.onLeader(undefined);
          }
          return;
        }
        const full = `${this.url.path === '/' ? '' : this.url.path}/${first}`;
        if (full === this.lastLeader) return;
        client.getData(full, (dataErr, data) => {
          if (this.closed) return;
          if (dataErr !== null) {
            // The leader vanished between the listing and the read: the child watch fires again.
            return;
          }
          this.lastLeader = full;
          let info: ZooKeeperLeader['info'] = {};
          try {
            info = JSON.parse(data.toString('utf8')) as ZooKeeperLeader['info'];
          } catch (parseErr) {
            this.opts.logger.warn('unreadable leader znode', { znode: full, error: errorMessage(parseErr) });
          }
          this.opts.onLeader({ info, self: full === this.ownNode });
        });
      },
    );
  }

  /** Leave the group (closing the session deletes the ephemeral znode). */
  close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const node = this.ownNode;
      this.ownNode = undefined;
      const finish = (): void => {
        client.close();
        resolve();
      };
      if (node === undefined) return finish();
      client.remove(node, -1, () => finish());
    });
  }
}
