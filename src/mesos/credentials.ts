import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { KmfError } from '../util/errors.js';

/**
 * A secret string that refuses to be printed: `String(s)`, `JSON.stringify(s)` and `util.inspect(s)` all show
 * `[redacted]`, so a credential that ends up in a log line or an error's details leaks nothing.
 * Only `reveal()` gives the value, and only the code that builds an Authorization header calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

/** A framework's HTTP credential (Mesos `Credential{principal, secret}`). */
export interface Credential {
  readonly principal: string;
  readonly secret: Secret;
}

/**
 * Where to find the credential:
 *  - `file`: a Mesos credential file, either JSON `{"principal": "...", "secret": "..."}` or the text form
 *    `principal secret` on one line; when `principal` is also given and the file holds a single token, that
 *    token is the secret (a plain secret file, as mounted by most secret stores);
 *  - `env`: the name of an environment variable holding the secret (the principal comes from `principal`).
 */
export interface CredentialSource {
  readonly principal?: string;
  readonly file?: string;
  readonly env?: string;
}

export async function loadCredential(source: CredentialSource, env: NodeJS.ProcessEnv = process.env): Promise<Credential> {
  if (source.file !== undefined && source.env !== undefined) {
    throw new KmfError('MESOS_BAD_CREDENTIAL', 'give the framework secret either in a file or in an environment variable, not both');
  }
  if (source.env !== undefined) {
    const secret = env[source.env];
    if (secret === undefined || secret === '') {
      throw new KmfError('MESOS_BAD_CREDENTIAL', `environment variable ${source.env} (framework secret) is not set`);
    }
    return make(source.principal, secret, `environment variable ${source.env}`);
  }
  if (source.file !== undefined) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      throw new KmfError('MESOS_BAD_CREDENTIAL', `cannot read the credential file ${source.file}`, { cause: err });
    }
    return parseCredentialFile(text, source.principal, source.file);
  }
  throw new KmfError('MESOS_BAD_CREDENTIAL', 'no framework secret source given (file or environment variable)');
}

export function parseCredentialFile(text: string, principal: string | undefined, origin = 'credential file'): Credential {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // Don't attach the parse error: its message can quote the secret.
      throw new KmfError('MESOS_BAD_CREDENTIAL', `${origin} is not valid JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null) throw new KmfError('MESOS_BAD_CREDENTIAL', `${origin} must hold a JSON object`);
    const p = (parsed as Record<string, unknown>)['principal'];
    const s = (parsed as Record<string, unknown>)['secret'];
    if (typeof s !== 'string') throw new KmfError('MESOS_BAD_CREDENTIAL', `${origin} has no string "secret"`);
    return make(typeof p === 'string' ? p : principal, s, origin);
  }
  const tokens = trimmed.split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 2) return make(tokens[0], tokens[1] ?? '', origin);
  if (tokens.length === 1 && principal !== undefined) return make(principal, tokens[0] ?? '', origin);
  throw new KmfError('MESOS_BAD_CREDENTIAL', `${origin} must hold "principal secret", a JSON credential, or just the secret`);
}

/** Value of the `Authorization` header for HTTP basic authentication (item 13). */
export function basicAuthorization(credential: Credential): string {
  return `Basic ${Buffer.from(`${credential.principal}:${credential.secret.reveal()}`, 'utf8').toString('base64')}`;
}

function make(principal: string | undefined, secret: string, origin: string): Credential {
  if (principal === undefined || principal === '') {
    throw new KmfError('MESOS_BAD_CREDENTIAL', `no principal for the secret from ${origin}`);
  }
  if (principal.includes(':')) {
    // Basic authentication splits "principal:secret" at the first colon.
    throw new KmfError('MESOS_BAD_CREDENTIAL', `principal '${principal}' must not contain ':'`);
  }
  if (secret === '') throw new KmfError('MESOS_BAD_CREDENTIAL', `empty secret from ${origin}`);
  return { principal, secret: new Secret(secret) };
}
