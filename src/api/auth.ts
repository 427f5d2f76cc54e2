/**
 * Admin API authentication: bearer tokens.
 *
 *  - `KMF_API_TOKEN` (or the first line of the file named by `KMF_API_TOKEN_FILE`): the admin token, for
 *    every request.
 *  - `KMF_API_READ_TOKEN` (or `KMF_API_READ_TOKEN_FILE`): a read-only token, for GET/HEAD only.
 *  - Requests carry `Authorization: Bearer TOKEN`. Missing or unknown token → 401; the read-only token on a
 *    write → 403. `GET /health` and `GET /ready` need no token (liveness and readiness probes).
 *  - No admin token configured: `kmf scheduler` refuses to start, unless `--insecure-no-auth` is given,
 *    in which case the API accepts every request (for a laptop or a sandbox; a warning is logged).
 *
 * Tokens are compared in constant time and never logged.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KmfError } from '../util/errors.js';

export interface ApiAuthConfig {
  readonly adminToken: string | undefined;
  readonly readToken: string | undefined;
  /** No authentication at all (explicit opt-in). */
  readonly insecureNoAuth: boolean;
}

export type Access = 'admin' | 'read' | 'none';

/** Paths every caller may use (probes). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

function fromFile(file: string, variable: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new KmfError('invalid_config', `cannot read ${variable} ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
  if (line === undefined) throw new KmfError('invalid_config', `${variable} ${file} is empty`);
  return line.trim();
}

function token(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const inline = env[name];
  const file = env[`${name}_FILE`];
  if (inline !== undefined && inline !== '' && file !== undefined && file !== '') {
    throw new KmfError('invalid_config', `set either ${name} or ${name}_FILE, not both`);
  }
  if (inline !== undefined && inline !== '') return inline;
  if (file !== undefined && file !== '') return fromFile(file, `${name}_FILE`);
  return undefined;
}

/** Reads the tokens from the environment; throws `invalid_config` with what to do when none is set. */
export function loadApiAuth(env: NodeJS.ProcessEnv, insecureNoAuth: boolean): ApiAuthConfig {
  const adminToken = token(env, 'KMF_API_TOKEN');
  const readToken = token(env, 'KMF_API_READ_TOKEN');
  if (adminToken !== undefined && readToken !== undefined && adminToken === readToken) {
    throw new KmfError('invalid_config', 'KMF_API_TOKEN and KMF_API_READ_TOKEN must differ');
  }
  for (const [name, t] of [['KMF_API_TOKEN', adminToken], ['KMF_API_READ_TOKEN', readToken]] as const) {
    if (t !== undefined && t.length < 16) throw new KmfError('invalid_config', `${name} is too short: use at least 16 characters (e.g. openssl rand -hex 24)`);
  }
  if (adminToken === undefined && !insecureNoAuth) {
    throw new KmfError(
      'invalid_config',
      'the admin API needs a token: set KMF_API_TOKEN (or KMF_API_TOKEN_FILE), and optionally KMF_API_READ_TOKEN for read-only use; ' +
        'or pass --insecure-no-auth to serve the API without authentication',
    );
  }
  return { adminToken, readToken, insecureNoAuth: adminToken === undefined && insecureNoAuth };
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

function same(a: string, b: string | undefined): boolean {
  return b !== undefined && crypto.timingSafeEqual(digest(a), digest(b));
}

/** The access a bearer token grants. */
export function accessOf(cfg: ApiAuthConfig, authorization: string | undefined): Access {
  if (cfg.insecureNoAuth) return 'admin';
  if (authorization === undefined) return 'none';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (m?.[1] === undefined) return 'none';
  if (same(m[1], cfg.adminToken)) return 'admin';
  if (same(m[1], cfg.readToken)) return 'read';
  return 'none';
}

function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** A fastify onRequest hook enforcing the rules above. */
export function authHook(cfg: ApiAuthConfig): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (PUBLIC_PATHS.has(path)) return;
    const access = accessOf(cfg, req.headers.authorization);
    if (access === 'none') {
      const sent = req.headers.authorization !== undefined;
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="kmf"')
        .send({
          error: 'unauthorized',
          message: sent
            ? 'the bearer token is not valid for this scheduler'
            : 'missing token: send "Authorization: Bearer <token>" with the admin token (KMF_API_TOKEN) or, for reads, the read-only token (KMF_API_READ_TOKEN)',
        });
      return;
    }
    if (access === 'read' && !isRead(req.method)) {
      await reply.code(403).send({
        error: 'forbidden',
        message: `this token is read-only; ${req.method} needs the admin token (KMF_API_TOKEN)`,
      });
    }
  };
}
