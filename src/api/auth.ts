/**
 * Admin API authentication: bearer tokens, each with a role and a name.
 *
 *  - `KMF_API_TOKEN` (or the first line of the file named by `KMF_API_TOKEN_FILE`): an admin token, named
 *    `admin`.
 *  - `KMF_API_READ_TOKEN` (or `KMF_API_READ_TOKEN_FILE`): a read-only token, named `read-only`.
 *  - `--api-tokens-file` / `KMF_API_TOKENS_FILE`: more tokens, one per line `ROLE NAME TOKEN` (ROLE is
 *    `admin` or `read`; `#` starts a comment), so that the timeline can say who made each change.
 *  - Requests carry `Authorization: Bearer TOKEN`. Missing or unknown token → 401 with
 *    `WWW-Authenticate: Bearer`; a read-only token on an admin operation → 403. `GET /health` and
 *    `GET /ready` need no token (probes). Each route declares the role it needs (src/api/route.ts).
 *  - No admin token configured: `kmf scheduler` refuses to start, unless `--insecure-no-auth` is given,
 *    in which case every request is an admin named `anonymous` (for a laptop or a sandbox; a warning is
 *    logged).
 *
 * Tokens are compared in constant time (over SHA-256 digests, so their lengths do not leak either) and
 * never logged; neither is the Authorization header.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KmfError } from '../util/errors.js';
import type { Access, Caller } from './route.js';

export interface NamedToken {
  name: string;
  role: 'admin' | 'read';
  token: string;
}

export interface ApiAuthConfig {
  readonly adminToken: string | undefined;
  readonly readToken: string | undefined;
  /** Tokens from the tokens file. */
  readonly tokens?: readonly NamedToken[];
  /** No authentication at all (explicit opt-in). */
  readonly insecureNoAuth: boolean;
}

export const MIN_TOKEN_LENGTH = 16;
const TOKEN_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

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

/** Parses a tokens file: `ROLE NAME TOKEN` per line. Error messages name the line, never the token. */
export function parseTokensFile(text: string, file: string): NamedToken[] {
  const out: NamedToken[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const where = `${file} line ${i + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) throw new KmfError('invalid_config', `${where}: expected "ROLE NAME TOKEN" (ROLE admin or read), got ${parts.length} field(s)`);
    const [role, name, tok] = parts as [string, string, string];
    if (role !== 'admin' && role !== 'read') throw new KmfError('invalid_config', `${where}: the role must be admin or read, not "${role.slice(0, 20)}"`);
    if (!TOKEN_NAME.test(name)) throw new KmfError('invalid_config', `${where}: the name must be 1 to 64 letters, digits, '.', '_', '@' or '-'`);
    if (tok.length < MIN_TOKEN_LENGTH) throw new KmfError('invalid_config', `${where}: the token of ${name} is too short: use at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)`);
    out.push({ role, name, token: tok });
  });
  return out;
}

/**
 * Reads the tokens from the environment (and the tokens file); throws `invalid_config` saying what to do
 * when none is set or when they are unusable.
 */
export function loadApiAuth(env: NodeJS.ProcessEnv, insecureNoAuth: boolean, opts: { tokensFile?: string } = {}): ApiAuthConfig {
  const adminToken = token(env, 'KMF_API_TOKEN');
  const readToken = token(env, 'KMF_API_READ_TOKEN');
  const tokensFile = opts.tokensFile ?? (env['KMF_API_TOKENS_FILE'] === '' ? undefined : env['KMF_API_TOKENS_FILE']);
  let tokens: NamedToken[] = [];
  if (tokensFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(tokensFile, 'utf8');
    } catch (err) {
      throw new KmfError('invalid_config', `cannot read the API tokens file ${tokensFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
    tokens = parseTokensFile(text, tokensFile);
  }
  for (const [name, t] of [['KMF_API_TOKEN', adminToken], ['KMF_API_READ_TOKEN', readToken]] as const) {
    if (t !== undefined && t.length < MIN_TOKEN_LENGTH) throw new KmfError('invalid_config', `${name} is too short: use at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)`);
  }
  const all = [...(adminToken === undefined ? [] : [adminToken]), ...(readToken === undefined ? [] : [readToken]), ...tokens.map((t) => t.token)];
  if (new Set(all).size !== all.length) {
    throw new KmfError('invalid_config', 'every API token must be different (KMF_API_TOKEN, KMF_API_READ_TOKEN and the tokens file share one)');
  }
  const names = tokens.map((t) => t.name);
  for (const reserved of ['admin', 'read-only', 'anonymous']) {
    if (names.includes(reserved)) throw new KmfError('invalid_config', `the tokens file cannot use the name "${reserved}" (kmf uses it for the tokens from the environment)`);
  }
  if (new Set(names).size !== names.length) throw new KmfError('invalid_config', 'every token in the tokens file needs its own name');
  const hasAdmin = adminToken !== undefined || tokens.some((t) => t.role === 'admin');
  if (!hasAdmin && !insecureNoAuth) {
    throw new KmfError(
      'invalid_config',
      'the admin API needs a token: set KMF_API_TOKEN (or KMF_API_TOKEN_FILE, or an admin line in --api-tokens-file), and optionally KMF_API_READ_TOKEN for read-only use; ' +
        'or pass --insecure-no-auth to serve the API without authentication',
    );
  }
  return { adminToken, readToken, tokens, insecureNoAuth: !hasAdmin && insecureNoAuth };
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

/** Resolves bearer tokens to callers, comparing against every known token in constant time. */
export class TokenTable {
  private readonly entries: Array<{ digest: Buffer; caller: Caller }> = [];

  constructor(readonly cfg: ApiAuthConfig) {
    if (cfg.adminToken !== undefined) this.entries.push({ digest: digest(cfg.adminToken), caller: { name: 'admin', role: 'admin' } });
    if (cfg.readToken !== undefined) this.entries.push({ digest: digest(cfg.readToken), caller: { name: 'read-only', role: 'read' } });
    for (const t of cfg.tokens ?? []) this.entries.push({ digest: digest(t.token), caller: { name: t.name, role: t.role } });
  }

  /** The caller a token belongs to, or undefined. Every entry is compared (no early exit). */
  lookup(tok: string): Caller | undefined {
    const d = digest(tok);
    let found: Caller | undefined;
    for (const e of this.entries) {
      if (crypto.timingSafeEqual(d, e.digest)) found = e.caller;
    }
    return found;
  }
}

export type Authentication = { ok: true; caller: Caller } | { ok: false; why: 'missing' | 'malformed' | 'unknown' };

export function authenticate(table: TokenTable, authorization: string | undefined): Authentication {
  if (table.cfg.insecureNoAuth) return { ok: true, caller: { name: 'anonymous', role: 'admin' } };
  if (authorization === undefined || authorization === '') return { ok: false, why: 'missing' };
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (m?.[1] === undefined) return { ok: false, why: 'malformed' };
  const caller = table.lookup(m[1]);
  return caller === undefined ? { ok: false, why: 'unknown' } : { ok: true, caller };
}

const UNAUTHORIZED: Readonly<Record<'missing' | 'malformed' | 'unknown', string>> = {
  missing:
    'missing token: send "Authorization: Bearer <token>" with an admin token (KMF_API_TOKEN) or, for reads, a read-only token (KMF_API_READ_TOKEN)',
  malformed: 'the Authorization header must be "Bearer <token>" (one token, no other scheme)',
  unknown: 'the bearer token is not valid for this scheduler: check KMF_API_TOKEN (or --token) against the scheduler\'s tokens',
};

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook for every authenticated request. */
    kmfCaller: Caller | undefined;
  }
  interface FastifyContextConfig {
    /** The role a route needs (src/api/route.ts). */
    access?: Access;
  }
}

/**
 * A fastify onRequest hook enforcing the rules above. It runs before the body is read, so an
 * unauthenticated request costs no parsing and learns nothing about validation.
 */
export function authHook(cfg: ApiAuthConfig): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const table = new TokenTable(cfg);
  return async (req, reply) => {
    // Unknown routes need a reader's token: the 404 should not tell strangers what exists.
    const access: Access = req.routeOptions.config.access ?? 'read';
    if (access === 'public') return;
    const auth = authenticate(table, req.headers.authorization);
    if (!auth.ok) {
      await reply.code(401).header('www-authenticate', auth.why === 'missing' ? 'Bearer realm="kmf"' : 'Bearer realm="kmf", error="invalid_token"').send({
        error: 'unauthorized',
        message: UNAUTHORIZED[auth.why],
      });
      return;
    }
    req.kmfCaller = auth.caller;
    if (access === 'admin' && auth.caller.role !== 'admin') {
      await reply.code(403).send({
        error: 'forbidden',
        message: `the token "${auth.caller.name}" is read-only; ${req.method} ${req.routeOptions.url ?? ''} needs an admin token (KMF_API_TOKEN)`,
        details: { caller: auth.caller.name, role: auth.caller.role, needs: 'admin' },
      });
    }
  };
}
