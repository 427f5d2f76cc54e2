import { STATUS_CODES } from 'node:http';
import { KmfError } from '../util/errors.js';
import type { CallType } from './types.js';

/**
 * Maps what came back from a master (an HTTP status with its text body, or a transport failure) to a
 * KmfError with a stable `code` and `retriable` flag (mesos-http-api.md §E status table).
 * Retry loops look only at `retriable`; nothing here sleeps or retries.
 */

/** The longest error body quoted in a message: Mesos error bodies are one line, a proxy's HTML page is not. */
const MAX_BODY_IN_MESSAGE = 2048;

export interface ResponseContext {
  readonly callType: CallType;
  /** The URL the request went to. */
  readonly url: URL;
}

/** A 2xx answer the master gives for a call: 200 for SUBSCRIBE / UPDATE_FRAMEWORK, 202 for the others (item 9). */
export function isSuccessStatus(status: number): boolean {
  return status === 200 || status === 202;
}

/**
 * The error for a non-success status. `body` is the response body as received (Mesos sends
 * `text/plain; charset=utf-8`, item 10) and ends up in the message so an operator sees the master's reason.
 */
export function statusError(status: number, body: Buffer, location: string | undefined, ctx: ResponseContext): KmfError {
  const text = body.toString('utf8').trim();
  const quoted = text.length > MAX_BODY_IN_MESSAGE ? `${text.slice(0, MAX_BODY_IN_MESSAGE)}…` : text;
  const where = `${ctx.callType} to ${ctx.url.origin}`;
  const head = `${where} failed: ${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
  const message = quoted === '' ? head : `${head}: ${quoted}`;
  const details: Record<string, unknown> = { status, body: quoted, callType: ctx.callType, master: ctx.url.origin };

  switch (status) {
    case 307: {
      // Not the leader (item 3). The caller switches master by hand; the HTTP library never follows it (item 6).
      if (location === undefined || location === '') {
        return new KmfError('MESOS_BAD_REDIRECT', `${head} without a Location header`, { retriable: true, details });
      }
      let target: URL;
      try {
        target = resolveLocation(location, ctx.url);
      } catch (err) {
        return new KmfError('MESOS_BAD_REDIRECT', `${head} with an unusable Location '${location}'`, { retriable: true, cause: err, details });
      }
      return new KmfError('MESOS_REDIRECT', `${where}: not the leading master, redirected to ${target.origin}`, {
        retriable: true,
        details: { ...details, location: target.href },
      });
    }
    case 400:
      return new KmfError('MESOS_BAD_REQUEST', message, { details });
    case 401:
      return new KmfError('MESOS_UNAUTHENTICATED', message, { details });
    case 403:
      return new KmfError('MESOS_FORBIDDEN', message, { details });
    case 404:
      // A master whose HTTP routes are not installed yet answers 404 to SUBSCRIBE; the C++ client retries (item 7).
      return new KmfError('MESOS_NOT_FOUND', message, { retriable: ctx.callType === 'SUBSCRIBE', details });
    case 405:
      return new KmfError('MESOS_METHOD_NOT_ALLOWED', message, { details });
    case 406:
      return new KmfError('MESOS_NOT_ACCEPTABLE', message, { details });
    case 415:
      return new KmfError('MESOS_UNSUPPORTED_MEDIA_TYPE', message, { details });
    case 501:
      return new KmfError('MESOS_NOT_IMPLEMENTED', message, { details });
    case 503:
      // "No leader elected" / "Master has not finished recovery" (items 4, 5): transient.
      return new KmfError('MESOS_UNAVAILABLE', message, { retriable: true, details });
    default:
      if (status >= 500) return new KmfError('MESOS_SERVER_ERROR', message, { retriable: true, details });
      return new KmfError('MESOS_UNEXPECTED_STATUS', message, { details });
  }
}

/**
 * Resolves a `Location` header against the URL the request went to. Mesos sends a protocol-relative
 * `//host:port/path` (item 3), which takes the scheme in use; absolute and path-only values work too.
 */
export function resolveLocation(location: string, current: URL): URL {
  const target = new URL(location.trim(), current);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new KmfError('MESOS_BAD_REDIRECT', `redirect to unsupported scheme '${target.protocol}'`);
  }
  return target;
}

/** Socket-level error codes where trying again (maybe at another master) can help. */
const RETRIABLE_NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'MESOS_CONNECTION_REFUSED',
  ECONNRESET: 'MESOS_CONNECTION_RESET',
  EPIPE: 'MESOS_CONNECTION_RESET',
  UND_ERR_SOCKET: 'MESOS_CONNECTION_RESET',
  UND_ERR_CLOSED: 'MESOS_CONNECTION_RESET',
  ETIMEDOUT: 'MESOS_TIMEOUT',
  UND_ERR_CONNECT_TIMEOUT: 'MESOS_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'MESOS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'MESOS_TIMEOUT',
  EHOSTUNREACH: 'MESOS_UNREACHABLE',
  ENETUNREACH: 'MESOS_UNREACHABLE',
  EHOSTDOWN: 'MESOS_UNREACHABLE',
  ENOTFOUND: 'MESOS_UNREACHABLE',
  EAI_AGAIN: 'MESOS_UNREACHABLE',
};

/** TLS verification failures are configuration problems (wrong CA file, wrong host name): retrying won't fix them. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Wraps a transport failure (connect, TLS, reset, timeout) as a KmfError. KmfErrors pass through unchanged. */
export function transportError(err: unknown, ctx: ResponseContext): KmfError {
  if (err instanceof KmfError) return err;
  const code = errorCode(err);
  const where = `${ctx.callType} to ${ctx.url.origin}`;
  const reason = err instanceof Error ? err.message : String(err);
  const details = { callType: ctx.callType, master: ctx.url.origin, errno: code };
  if (code !== undefined) {
    const mapped = RETRIABLE_NETWORK_CODES[code];
    if (mapped !== undefined) return new KmfError(mapped, `${where} failed: ${reason} (${code})`, { retriable: true, cause: err, details });
    if (TLS_CODES.has(code)) return new KmfError('MESOS_TLS_ERROR', `${where} failed TLS verification: ${reason} (${code})`, { cause: err, details });
  }
  // Unknown transport trouble: a fresh connection may well work, so let the retry loop try.
  return new KmfError('MESOS_TRANSPORT_ERROR', `${where} failed: ${reason}${code === undefined ? '' : ` (${code})`}`, {
    retriable: true,
    cause: err,
    details,
  });
}

/** The first `code` string found on the error or its `cause` chain (undici wraps socket errors). */
function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR') {
      // undici's SocketError carries UND_ERR_SOCKET while its cause has the errno that explains it.
      const inner = (e as { cause?: unknown }).cause;
      const innerCode = typeof inner === 'object' && inner !== null ? (inner as { code?: unknown }).code : undefined;
      if (code === 'UND_ERR_SOCKET' && typeof innerCode === 'string') return innerCode;
      return code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
