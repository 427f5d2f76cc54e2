import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { decodeCall, encodeEvent, type ContentType } from '../../src/mesos/codec.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import type { Call, CallType, Event, FrameworkID } from '../../src/mesos/types.js';

/**
 * A stand-in Mesos master on node:http whose answers a test scripts request by request. It speaks the real wire:
 * SUBSCRIBE gets a chunked `200` whose body is a RecordIO stream produced by the real encoders, and the test
 * decides how those bytes are cut into HTTP chunks (whole records, one byte at a time, random cuts, or a cut in
 * the middle of a record followed by a dropped connection).
 *
 * Without a script, it behaves like a healthy leading master: it checks requests the way Mesos 1.11 does
 * (`validate`), answers SUBSCRIBE with SUBSCRIBED + HEARTBEAT on a new stream, and every other call with 202.
 */

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The decoded call, when the Content-Type is one of Mesos' two and the body decodes. */
  readonly call: Call | undefined;
  readonly callType: CallType | undefined;
  /** Index of this request among all requests the master got. */
  readonly seq: number;
  /** The client's port: tells requests on different connections apart. */
  readonly remotePort: number | undefined;
}

export type Handler = (req: RecordedRequest, reply: Reply) => void | Promise<void>;

/** Splits the bytes of one write into the HTTP chunks actually sent. */
export type Chunking = (bytes: Buffer) => Buffer[];

export const chunkings = {
  whole: ((b) => [b]) as Chunking,
  bytewise: ((b) => Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1))) as Chunking,
  /** Cuts at pseudo-random places (deterministic for a seed), chunks of 1..maxChunk bytes. */
  random(seed: number, maxChunk = 7): Chunking {
    const next = mulberry32(seed);
    return (b) => {
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < b.length) {
        const n = 1 + Math.floor(next() * maxChunk);
        out.push(b.subarray(pos, pos + n));
        pos += n;
      }
      return out;
    };
  },
};

export interface ScriptedMasterOptions {
  /** Serve https with this key pair. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Framework id the default SUBSCRIBE handler assigns to new frameworks. */
  readonly frameworkId?: string;
  /** heartbeat_interval_seconds in the default SUBSCRIBED. */
  readonly heartbeatIntervalSeconds?: number;
  /** When set, default streams send a HEARTBEAT this often. */
  readonly autoHeartbeatMs?: number;
  /** How default streams cut their bytes into chunks. */
  readonly chunking?: Chunking;
}

export class ScriptedMaster {
  readonly requests: RecordedRequest[] = [];
  readonly streams: EventStream[] = [];
  /** Stream id of the latest stream, as a real master binds one stream per framework. */
  currentStreamId: string | undefined;

  private readonly once = new Map<string, Handler[]>();
  private readonly always = new Map<string, Handler>();
  private readonly requestWaiters: Array<{ match: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }> = [];
  private readonly streamWaiters: Array<(s: EventStream) => void> = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly scheme: 'http' | 'https',
    readonly opts: ScriptedMasterOptions,
  ) {}

  static async start(opts: ScriptedMasterOptions = {}): Promise<ScriptedMaster> {
    const server = opts.tls === undefined ? http.createServer() : https.createServer({ key: opts.tls.key, cert: opts.tls.cert });
    const master = new ScriptedMaster(server, opts.tls === undefined ? 'http' : 'https', opts);
    server.on('connection', (socket: Socket) => {
      master.sockets.add(socket);
      socket.on('close', () => master.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      master.sockets.add(socket);
      socket.on('close', () => master.sockets.delete(socket));
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      master.onRequest(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return master;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  /** `127.0.0.1:PORT` */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }
  /** The scheduler endpoint. */
  get url(): string {
    return `${this.scheme}://${this.hostPort}/api/v1/scheduler`;
  }

  /** Answer the next request of this call type (or '*': any type) with `handler`, once. Queued FIFO. */
  next(type: CallType | '*', handler: Handler): this {
    const list = this.once.get(type) ?? [];
    list.push(handler);
    this.once.set(type, list);
    return this;
  }

  /** Answer every request of this type with `handler` (after any one-shot handlers). */
  setAlways(type: CallType | '*', handler: Handler | undefined): this {
    if (handler === undefined) this.always.delete(type);
    else this.always.set(type, handler);
    return this;
  }

  /** Resolves with the first request (already received or future) matching `match` from index `from` on. */
  waitForRequest(match: (r: RecordedRequest) => boolean, from = 0): Promise<RecordedRequest> {
    const seen = this.requests.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.requestWaiters.push({ match: (r) => r.seq >= from && match(r), resolve }));
  }

  /** Resolves with the next stream opened from now on. */
  nextStream(): Promise<EventStream> {
    return new Promise((resolve) => this.streamWaiters.push(resolve));
  }

  callsOfType(type: CallType): RecordedRequest[] {
    return this.requests.filter((r) => r.callType === type);
  }

  /**
   * The checks a 1.11 leading master makes before dispatching (items 14-17, 43, 44, 47, 68), or undefined if
   * the request passes. Returns [status, body].
   */
  validate(req: RecordedRequest): [number, string] | undefined {
    if (req.method !== 'POST') return [405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method}'.`];
    const ct = req.headers['content-type'];
    if (ct === undefined) return [400, "Expecting 'Content-Type' to be present"];
    if (ct !== 'application/json' && ct !== 'application/x-protobuf') {
      return [415, "Expecting 'Content-Type' of application/json or application/x-protobuf"];
    }
    if (req.call === undefined) return [400, 'Failed to parse body into Call protobuf'];
    if (req.callType === 'SUBSCRIBE') {
      const outer = req.call.framework_id?.value;
      const inner = req.call.subscribe?.framework_info.id?.value;
      if (outer !== inner) return [400, "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'"];
      if (req.headers['mesos-stream-id'] !== undefined) return [400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"];
      return undefined;
    }
    if (req.call.framework_id === undefined) return [400, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"];
    const sid = req.headers['mesos-stream-id'];
    if (sid === undefined) return [400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"];
    if (sid !== this.currentStreamId) {
      return [400, `The stream ID '${String(sid)}' included in this request didn't match the stream ID currently associated with framework ID ${req.call.framework_id.value}`];
    }
    return undefined;
  }

  /** What the default handler does with a SUBSCRIBE: validate, open a stream, send SUBSCRIBED + HEARTBEAT. */
  acceptSubscription(req: RecordedRequest, reply: Reply, frameworkId?: FrameworkID): EventStream | undefined {
    const invalid = this.validate(req);
    if (invalid !== undefined) {
      reply.status(invalid[0], invalid[1]);
      return undefined;
    }
    const stream = reply.stream();
    const id = frameworkId ?? req.call?.framework_id ?? { value: this.opts.frameworkId ?? 'fw-0000' };
    stream.send({
      type: 'SUBSCRIBED',
      subscribed: {
        framework_id: id,
        heartbeat_interval_seconds: this.opts.heartbeatIntervalSeconds ?? 15,
        master_info: { id: 'scripted-master', ip: 16777343, port: this.port, hostname: '127.0.0.1', address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: this.port } },
      },
    });
    stream.send({ type: 'HEARTBEAT' });
    if (this.opts.autoHeartbeatMs !== undefined) stream.startHeartbeats(this.opts.autoHeartbeatMs);
    return stream;
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    for (const s of this.streams) s.stopHeartbeats();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Called by Reply.stream(). */
  registerStream(stream: EventStream): void {
    this.streams.push(stream);
    this.currentStreamId = stream.streamId;
    // Waiters run after the current handler has had a chance to send SUBSCRIBED.
    const waiters = this.streamWaiters.splice(0);
    setImmediate(() => {
      for (const w of waiters) w(stream);
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const ct = req.headers['content-type'];
    let call: Call | undefined;
    if (ct === 'application/json' || ct === 'application/x-protobuf') {
      try {
        call = decodeCall(body, ct);
      } catch {
        call = undefined;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      call,
      callType: call?.type,
      seq: this.requests.length,
      remotePort: req.socket.remotePort,
    };
    this.requests.push(recorded);
    for (let i = this.requestWaiters.length - 1; i >= 0; i--) {
      const w = this.requestWaiters[i];
      if (w !== undefined && w.match(recorded)) {
        this.requestWaiters.splice(i, 1);
        w.resolve(recorded);
      }
    }
    const reply = new Reply(res, this, recorded);
    const handler = this.pick(recorded.callType ?? 'UNKNOWN');
    if (handler !== undefined) {
      await handler(recorded, reply);
      return;
    }
    if (recorded.callType === 'SUBSCRIBE') {
      this.acceptSubscription(recorded, reply);
      return;
    }
    const invalid = this.validate(recorded);
    if (invalid !== undefined) reply.status(invalid[0], invalid[1]);
    else reply.status(recorded.callType === 'UPDATE_FRAMEWORK' ? 200 : 202);
  }

  private pick(type: string): Handler | undefined {
    for (const key of [type, '*']) {
      const list = this.once.get(key);
      const h = list?.shift();
      if (h !== undefined) return h;
    }
    return this.always.get(type) ?? this.always.get('*');
  }
}

export class Reply {
  constructor(
    private readonly res: http.ServerResponse,
    private readonly master: ScriptedMaster,
    private readonly req: RecordedRequest,
  ) {}

  /** A plain answer; error bodies are text/plain like a real master's (item 10). */
  status(code: number, body = '', headers: Record<string, string> = {}): void {
    const h: Record<string, string> = { ...headers };
    if (body !== '') h['content-type'] = 'text/plain; charset=utf-8';
    this.res.writeHead(code, h);
    this.res.end(body);
  }

  /** 307 with the given Location (Mesos: `//host:port/path`, item 3). */
  redirect(location: string): void {
    this.status(307, '', { location });
  }

  /** 200 with a chunked RecordIO stream, encoded per the request's Accept (JSON wins, item 17). */
  stream(opts: { chunking?: Chunking; streamId?: string } = {}): EventStream {
    const accept = this.req.headers['accept'] ?? 'application/json';
    const contentType: ContentType = accept.includes('application/json') || !accept.includes('application/x-protobuf') ? 'application/json' : 'application/x-protobuf';
    const streamId = opts.streamId ?? randomUUID();
    this.res.writeHead(200, { 'content-type': contentType, 'mesos-stream-id': streamId });
    this.res.flushHeaders();
    const stream = new EventStream(this.res, this.req, contentType, streamId, opts.chunking ?? this.master.opts.chunking ?? chunkings.whole);
    this.master.registerStream(stream);
    return stream;
  }
}

export class EventStream {
  private heartbeat: NodeJS.Timeout | undefined;
  /** Resolves when the connection is gone (closed by either side). */
  readonly closed: Promise<void>;

  constructor(
    private readonly res: http.ServerResponse,
    readonly request: RecordedRequest,
    readonly contentType: ContentType,
    readonly streamId: string,
    private readonly chunking: Chunking,
  ) {
    this.closed = new Promise((resolve) => res.on('close', () => {
      this.stopHeartbeats();
      resolve();
    }));
  }

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  /** Encodes one event as a RecordIO record and writes it in chunks. */
  send(event: Event): void {
    this.sendAll([event]);
  }

  /** Encodes several events back to back and writes the bytes cut by the chunking (records span chunks). */
  sendAll(events: readonly Event[]): void {
    this.writeBytes(Buffer.concat(events.map((e) => this.frame(e))));
  }

  /** Writes bytes as they are, cut by the chunking. */
  writeBytes(bytes: Buffer): void {
    if (!this.open) return;
    for (const piece of this.chunking(bytes)) if (piece.length > 0) this.res.write(piece);
  }

  /** The RecordIO framing of an event in this stream's encoding. */
  frame(event: Event): Buffer {
    return encodeRecord(encodeEvent(event, this.contentType));
  }

  startHeartbeats(everyMs: number): void {
    this.stopHeartbeats();
    this.heartbeat = setInterval(() => this.send({ type: 'HEARTBEAT' }), everyMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /**
   * Sends the first `keep` bytes of the event's record and then drops the connection ('reset') or ends the chunked
   * body cleanly ('end'); either way the client sees a stream cut mid-record.
   */
  cutMidRecord(event: Event, keep: number, how: 'reset' | 'end' = 'reset'): void {
    const bytes = this.frame(event);
    this.writeBytes(bytes.subarray(0, Math.min(keep, bytes.length - 1)));
    if (how === 'end') this.end();
    else this.destroy();
  }

  /** Ends the chunked body cleanly (the master closing the stream). */
  end(): void {
    this.stopHeartbeats();
    if (this.open) this.res.end();
  }

  /** Drops the connection without finishing the chunked body (what a crashed master or a cut cable looks like). */
  destroy(): void {
    this.stopHeartbeats();
    // end() on the socket (not the response) flushes the chunks already written, then closes: the client gets
    // the partial bytes followed by a premature end of the chunked body.
    this.res.socket?.end();
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
