/**
 * The `kmf` operator verbs' client of the admin API (undici). JSON in and out; an answer >= 400 becomes an
 * ApiError carrying the API's `{error, message, details}`; a standby's 307 is followed to the leader (same
 * method and body, a few hops at most), and the command's later requests go to the leader directly; a connection that cannot be made is an ApiError `unavailable`.
 * The token goes only in the Authorization header and is never printed.
 */
import fs from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { errorMessage } from '../util/errors.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status, or 0 when no answer came (connection refused, TLS failure, timeout). */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  token?: string;
  /** PEM CA certificates to trust for https:// (a self-signed scheduler certificate). */
  caFile?: string;
  /** Per request, ms (default 30 s). */
  timeoutMs?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const MAX_REDIRECTS = 3;

export class ApiClient {
  /** Where requests go: --api, then the leader once a standby has redirected us there. */
  private base: URL;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ApiClientOptions) {
    try {
      this.base = new URL(opts.url);
      if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new ApiError(0, 'usage', `--api "${opts.url}" is not an http(s) URL (e.g. http://127.0.0.1:8080)`);
    }
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    if (opts.caFile !== undefined) {
      let ca: Buffer;
      try {
        ca = fs.readFileSync(opts.caFile);
      } catch (err) {
        throw new ApiError(0, 'usage', `cannot read --ca-file ${opts.caFile}: ${errorMessage(err)}`);
      }
      this.dispatcher = new Agent({ connect: { ca } });
    }
  }

  get url(): string {
    return this.base.href.replace(/\/$/, '');
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.send<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.send<T>('POST', path, body, query);
  }

  put<T>(path: string, body: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.send<T>('PUT', path, body, query);
  }

  delete<T>(path: string): Promise<T> {
    return this.send<T>('DELETE', path);
  }

  /** Raw text (for /metrics). */
  async text(path: string): Promise<string> {
    const r = await this.exchange('GET', new URL(path.replace(/^\//, ''), `${this.url}/`), undefined);
    return r.text;
  }

  async send<T>(method: Method, path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), `${this.url}/`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const r = await this.exchange(method, url, body);
    if (r.text === '') return undefined as T;
    try {
      return JSON.parse(r.text) as T;
    } catch {
      throw new ApiError(r.status, 'bad_response', `${method} ${url.pathname} answered ${r.status} with a body that is not JSON`);
    }
  }

  private async exchange(method: Method, first: URL, body: unknown): Promise<{ status: number; text: string }> {
    let url = first;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.opts.token !== undefined && this.opts.token !== '') headers['authorization'] = `Bearer ${this.opts.token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let status: number;
      let text: string;
      let location: string | undefined;
      try {
        const res = await request(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
        });
        status = res.statusCode;
        text = await res.body.text();
        const loc = res.headers['location'];
        location = Array.isArray(loc) ? loc[0] : loc;
      } catch (err) {
        throw new ApiError(0, 'unavailable', `cannot reach the kmf API at ${url.origin}: ${errorMessage(err)} (check --api / KMF_API_URL)`);
      }
      if (status === 307 && location !== undefined && hop < MAX_REDIRECTS) {
        // A standby names the leader: resend the same request there, and send the rest of this command's
        // requests there too (a standby's reads lag the leader's: a --wait must see what the change did).
        url = new URL(location, url);
        this.base = new URL(url.origin);
        continue;
      }
      if (status >= 300) throw this.error(status, text, method, url);
      return { status, text };
    }
  }

  private error(status: number, text: string, method: string, url: URL): ApiError {
    try {
      const b = JSON.parse(text) as { error?: unknown; message?: unknown; details?: unknown };
      if (typeof b.error === 'string' && typeof b.message === 'string') {
        return new ApiError(status, b.error, b.message, typeof b.details === 'object' && b.details !== null ? (b.details as Record<string, unknown>) : undefined);
      }
    } catch {
      // not the API's error shape: fall through
    }
    return new ApiError(status, `http_${status}`, `${method} ${url.pathname} answered ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
  }
}
