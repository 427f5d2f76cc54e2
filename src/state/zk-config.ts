import crypto from 'node:crypto';
import fs from 'node:fs';
import { KmfError } from '../util/errors.js';
import { isZkUrl, parseZkUrl } from '../mesos/zk-url.js';
import { validatePath } from './paths.js';

/**
 * Where kmf keeps its state: `--zk HOST:PORT[,HOST:PORT…]/CHROOT` (a `zk://` prefix and `user:password@` are
 * accepted too). Credentials for ZooKeeper's `digest` scheme come from, in order: the URL, `KMF_ZK_AUTH`
 * (`user:password`), or the file named by `KMF_ZK_AUTH_FILE` (its first line is `user:password`). With
 * credentials, every znode kmf creates gets an ACL granting all rights to that identity only.
 */
export interface ZkStateConfig {
  readonly servers: readonly string[];
  /** Absolute chroot under which all of kmf's state lives, e.g. `/kmf`. Never `/`. */
  readonly chroot: string;
  readonly auth: ZkDigestAuth | undefined;
}

export interface ZkDigestAuth {
  readonly user: string;
  readonly password: string;
}

export const DEFAULT_CHROOT = '/kmf';

export function parseZkStateSpec(spec: string, env: NodeJS.ProcessEnv = process.env): ZkStateConfig {
  const url = parseZkUrl(isZkUrl(spec) ? spec : `zk://${spec.trim()}`);
  const chroot = url.path === '/' ? DEFAULT_CHROOT : validatePath(url.path);
  const auth = url.auth ?? authFromEnv(env);
  return { servers: url.servers, chroot, auth };
}

function authFromEnv(env: NodeJS.ProcessEnv): ZkDigestAuth | undefined {
  const inline = env['KMF_ZK_AUTH'];
  if (inline !== undefined && inline !== '') return parseUserPassword(inline, 'KMF_ZK_AUTH');
  const file = env['KMF_ZK_AUTH_FILE'];
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new KmfError('invalid_config', `cannot read KMF_ZK_AUTH_FILE ${file}`, { cause: err });
    }
    const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
    if (line === undefined) throw new KmfError('invalid_config', `KMF_ZK_AUTH_FILE ${file} is empty`);
    return parseUserPassword(line.trim(), 'KMF_ZK_AUTH_FILE');
  }
  return undefined;
}

function parseUserPassword(text: string, source: string): ZkDigestAuth {
  const colon = text.indexOf(':');
  // Never echo the value: it is a password.
  if (colon <= 0 || colon === text.length - 1) throw new KmfError('invalid_config', `${source} must be user:password`);
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * The ACL id ZooKeeper's DigestAuthenticationProvider derives from `user:password`:
 * `user:` + base64(SHA-1(`user:password`)).
 */
export function digestId(auth: ZkDigestAuth): string {
  const hash = crypto.createHash('sha1').update(`${auth.user}:${auth.password}`, 'utf8').digest('base64');
  return `${auth.user}:${hash}`;
}

export function describeZkConfig(cfg: ZkStateConfig): string {
  const who = cfg.auth === undefined ? '' : `${cfg.auth.user}:***@`;
  return `zk://${who}${cfg.servers.join(',')}${cfg.chroot}`;
}
