import { KmfError } from '../util/errors.js';

/**
 * A ZooKeeper URL the way Mesos spells it: `zk://[user:pass@]host1:port1,host2:port2/path`
 * (mesos-http-api.md item 197). The credentials, when present, are a ZooKeeper `digest` identity.
 */
export interface ZkUrl {
  /** `host:port` pairs, in the order given. */
  readonly servers: readonly string[];
  /** Absolute znode path, `/` when the URL has none. */
  readonly path: string;
  /** `user:password` for digest authentication, if the URL carried one. */
  readonly auth: { readonly user: string; readonly password: string } | undefined;
}

const ZK_PREFIX = 'zk://';
const DEFAULT_ZK_PORT = 2181;

export function isZkUrl(text: string): boolean {
  return text.trim().toLowerCase().startsWith(ZK_PREFIX);
}

export function parseZkUrl(text: string): ZkUrl {
  const trimmed = text.trim();
  if (!isZkUrl(trimmed)) throw invalid(text, `expected it to start with ${ZK_PREFIX}`);
  let rest = trimmed.slice(ZK_PREFIX.length);

  // Credentials end at the last '@' before the path (a password may itself contain '@').
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  let auth: ZkUrl['auth'];
  if (at !== -1) {
    const credentials = authority.slice(0, at);
    const colon = credentials.indexOf(':');
    if (colon <= 0) throw invalid(text, 'credentials must be user:password');
    auth = { user: decodeURIComponent(credentials.slice(0, colon)), password: decodeURIComponent(credentials.slice(colon + 1)) };
    rest = rest.slice(at + 1);
  }

  const pathStart = rest.indexOf('/');
  const hostList = pathStart === -1 ? rest : rest.slice(0, pathStart);
  const rawPath = pathStart === -1 ? '/' : rest.slice(pathStart);
  const servers = hostList
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => normalizeServer(s, text));
  if (servers.length === 0) throw invalid(text, 'no ZooKeeper server given');

  // ZooKeeper paths have no trailing slash (except the root) and no empty segments.
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : '/';
  if (path.includes('//')) throw invalid(text, `bad znode path '${rawPath}'`);
  return { servers, path, auth };
}

/** The connection string node-zookeeper-client expects: servers only, no chroot (kmf uses absolute paths). */
export function zkConnectString(url: ZkUrl): string {
  return url.servers.join(',');
}

/** Render without the password, for logs and error messages. */
export function redactZkUrl(url: ZkUrl): string {
  const auth = url.auth === undefined ? '' : `${url.auth.user}:***@`;
  return `${ZK_PREFIX}${auth}${url.servers.join(',')}${url.path}`;
}

function normalizeServer(server: string, text: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(server);
  if (m === null) throw invalid(text, `bad server '${server}'`);
  const port = m[2] === undefined ? DEFAULT_ZK_PORT : Number(m[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw invalid(text, `bad port in '${server}'`);
  return `${m[1] ?? ''}:${port}`;
}

function invalid(text: string, why: string): KmfError {
  // The URL may hold a password: never echo it back.
  const shown = text.replace(/\/\/[^@/]*@/, '//***@');
  return new KmfError('MESOS_BAD_ZK_URL', `invalid ZooKeeper URL '${shown}': ${why}`);
}
