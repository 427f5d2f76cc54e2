/**
 * The sim master's HTTP endpoint, on node:http for exact control of status codes, bodies and headers:
 *
 *   POST /api/v1/scheduler and /master/api/v1/scheduler — the v1 scheduler API, checks in the order of a
 *     1.11 master (item 68): leader (307 / 503) → recovery (503) → method (405) → Content-Type (400/415)
 *     → body (400) → call validation (400) → Accept (406) → [SUBSCRIBE: Mesos-Stream-Id (400) → 200 stream]
 *     → framework known (400) → subscribed (403) → stream id present and matching (400) → 202 / 200 / 501.
 *   GET /version, /master/state (also /state, *.json), /master/redirect, /master/health, and whatever the
 *     cluster's control API adds.
 *
 * Errors are text/plain; charset=utf-8. A SUBSCRIBE answer is a chunked RecordIO stream with no
 * Content-Length, `Content-Type` of the negotiated event encoding and a fresh `Mesos-Stream-Id`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CodecError, decodeCall, encodeEvent, type ContentType } from '../../mesos/codec.js';
import { encodeRecord } from '../../mesos/recordio.js';
import type { Call, Event } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { negotiateEventContentType } from './accept-header.js';
import type { SimMaster } from './master.js';
import type { EventSink } from './model.js';
import { BUILD_INFO, masterStateJson } from './state-json.js';
import { validateSchedulerCall } from './validation.js';

export type Leadership =
  | { kind: 'leader'; master: SimMaster }
  | { kind: 'follower'; leader: { hostname: string; port: number } }
  | { kind: 'none' };

/** Extra routes (the control API). Return true when the request was answered. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;

export interface MasterHttpServerOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind (0 = ephemeral). */
  port: number;
  logger: Logger;
  leadership: () => Leadership;
  /** True while a new leader has not finished recovery (503 `Master has not finished recovery`). */
  recovering?: () => boolean;
  flags?: Record<string, string>;
  extraRoutes?: ExtraRoutes;
}

const SCHEDULER_PATHS = new Set(['/api/v1/scheduler', '/master/api/v1/scheduler']);
const STATE_PATHS = new Set(['/master/state', '/master/state.json', '/state', '/state.json']);
const MAX_BODY_BYTES = 64 * 1024 * 1024;

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...headers,
    ...(payload.length > 0 || status >= 400 ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}),
    'Content-Length': String(payload.length),
  });
  res.end(payload);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value;
}

/**
 * One subscription stream over a chunked response. Events produced in the same turn of the event loop
 * go out in one write (one chunk), which keeps a busy stream from costing a syscall per event.
 */
class HttpEventSink implements EventSink {
  readonly streamId: string;
  private closed = false;
  private pending: Buffer[] = [];
  private flushScheduled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly contentType: ContentType,
    streamId: string,
    private readonly logger: Logger,
  ) {
    this.streamId = streamId;
  }

  send(event: Event): void {
    if (this.closed || this.res.destroyed) return;
    try {
      this.pending.push(encodeRecord(encodeEvent(event, this.contentType)));
    } catch (err) {
      this.logger.error('failed to encode an event', { type: event.type, error: errorMessage(err) });
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0 || this.res.destroyed || this.res.writableEnded) return;
    this.res.write(pending.length === 1 && pending[0] !== undefined ? pending[0] : Buffer.concat(pending));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (!this.res.destroyed) this.res.end();
  }

  destroy(): void {
    this.closed = true;
    this.pending = [];
    this.res.destroy();
    this.res.socket?.destroy();
  }
}

export class MasterHttpServer {
  private readonly opts: MasterHttpServerOptions;
  private readonly logger: Logger;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(opts: MasterHttpServerOptions) {
    this.opts = opts;
    this.logger = opts.logger;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        this.logger.error('request failed', { url: req.url, error: errorMessage(err) });
        if (!res.headersSent) text(res, 500, errorMessage(err));
        else res.destroy();
      });
    });
    // libprocess never closes an idle keep-alive connection, and some clients (pymesos' one http.client
    // connection for every call) break if the server does.
    server.requestTimeout = 0;
    server.keepAliveTimeout = 0;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return this.address;
  }

  get address(): { host: string; port: number } {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return { host: this.opts.host ?? '127.0.0.1', port: addr?.port ?? this.opts.port };
  }

  /** Cut every open connection (a crashed master process). */
  destroyConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    this.destroyConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (SCHEDULER_PATHS.has(path)) return this.scheduler(req, res, url);

    const body = await readBody(req);
    if (this.opts.extraRoutes !== undefined && (await this.opts.extraRoutes(req, res, body))) return;

    if (path === '/version' || path === '/version/') return json(res, 200, BUILD_INFO);
    if (path === '/health' || path === '/master/health') return text(res, 200, '');
    const leadership = this.opts.leadership();
    if (path === '/master/redirect' || path === '/redirect') {
      if (leadership.kind === 'none') return text(res, 503, 'No leader elected');
      const leader = leadership.kind === 'leader' ? this.selfAddress(leadership.master) : leadership.leader;
      res.writeHead(307, { Location: `//${leader.hostname}:${leader.port}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    if (STATE_PATHS.has(path) || path === '/master/frameworks' || path === '/master/slaves' || path === '/master/tasks') {
      if (leadership.kind === 'follower') return this.redirect(res, leadership.leader, url);
      if (leadership.kind === 'none') return text(res, 503, 'No leader elected');
      const state = masterStateJson(leadership.master, leadership.master.info, this.opts.flags ?? {});
      if (path === '/master/frameworks') {
        return json(res, 200, { frameworks: state['frameworks'], completed_frameworks: state['completed_frameworks'], unregistered_frameworks: [] });
      }
      if (path === '/master/slaves') return json(res, 200, { slaves: state['slaves'], recovered_slaves: [] });
      if (path === '/master/tasks') {
        const frameworks = (state['frameworks'] ?? []) as Array<{ tasks: unknown[] }>;
        return json(res, 200, { tasks: frameworks.flatMap((f) => f.tasks) });
      }
      return json(res, 200, state);
    }
    text(res, 404, '');
  }

  private selfAddress(master: SimMaster): { hostname: string; port: number } {
    return { hostname: master.info.hostname ?? master.info.address?.ip ?? '127.0.0.1', port: master.info.port };
  }

  private redirect(res: ServerResponse, leader: { hostname: string; port: number }, url: string): void {
    res.writeHead(307, { Location: `//${leader.hostname}:${leader.port}${url}`, 'Content-Length': '0' });
    res.end();
  }

  private async scheduler(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const body = await readBody(req);
    const leadership = this.opts.leadership();
    if (leadership.kind === 'follower') return this.redirect(res, leadership.leader, url);
    if (leadership.kind === 'none') return text(res, 503, 'No leader elected');
    if (this.opts.recovering?.() === true) return text(res, 503, 'Master has not finished recovery');
    const master = leadership.master;

    if (req.method !== 'POST') {
      return text(res, 405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method ?? ''}'.`, { Allow: 'POST' });
    }
    const contentType = header(req, 'content-type');
    if (contentType === undefined) return text(res, 400, "Expecting 'Content-Type' to be present");
    if (contentType !== 'application/json' && contentType !== 'application/x-protobuf') {
      return text(res, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf");
    }
    let call: Call;
    try {
      call = decodeCall(body, contentType);
    } catch (err) {
      if (err instanceof CodecError) return text(res, 400, err.message);
      throw err;
    }
    const invalid = validateSchedulerCall(call);
    if (invalid !== undefined) return text(res, 400, `Failed to validate scheduler::Call: ${invalid}`);

    let eventType: ContentType | undefined;
    if (call.type === 'SUBSCRIBE' || call.type === 'RECONCILE_OPERATIONS') {
      eventType = negotiateEventContentType(header(req, 'accept'));
      if (eventType === undefined) {
        return text(res, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
      }
    }

    if (call.type === 'SUBSCRIBE') {
      if (header(req, 'mesos-stream-id') !== undefined) {
        return text(res, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
      }
      const streamId = randomUUID();
      res.writeHead(200, { 'Content-Type': eventType ?? 'application/json', 'Mesos-Stream-Id': streamId });
      res.flushHeaders();
      res.socket?.setNoDelay(true);
      const sink = new HttpEventSink(res, eventType ?? 'application/json', streamId, this.logger);
      master.subscribe(call, sink, (listener) => res.on('close', listener));
      return;
    }

    const frameworkId = call.framework_id?.value ?? '';
    const lookup = master.lookupFramework(frameworkId);
    if (lookup.kind === 'unknown') return text(res, 400, 'Framework cannot be found');
    if (lookup.kind === 'disconnected') return text(res, 403, 'Framework is not subscribed');
    const streamId = header(req, 'mesos-stream-id');
    if (streamId === undefined) return text(res, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    if (streamId !== lookup.streamId) {
      return text(
        res,
        400,
        `The stream ID '${streamId}' included in this request didn't match the stream ID currently associated with framework ID ${frameworkId}`,
      );
    }
    const result = master.handleCall(call);
    text(res, result.status, result.body ?? '');
  }
}
