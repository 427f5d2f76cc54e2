/**
 * The agent's executor HTTP API: `POST /api/v1/executor` (also `/slave(1)/api/v1/executor`), reference §M.
 *
 * Check order (src/slave/http.cpp `executor()`, 1.11): method (405 + `Allow: POST`) → Content-Type present
 * (400) and exactly json/protobuf (415) → body parse (400, the codec's text) → validateExecutorCall (400
 * `Failed to validate Executor::Call: …`) → SUBSCRIBE: Accept (406); HEARTBEAT: 202 at once → framework
 * (400 `Framework cannot be found`) → executor (400 `Executor cannot be found`) → non-SUBSCRIBE while the
 * executor is registering (403 `Executor is not subscribed`) → SUBSCRIBE: 200 RecordIO stream in the
 * Accept-chosen type (no Mesos-Stream-Id); UPDATE / MESSAGE: 202; UNKNOWN: 501.
 * The agent never "recovers" here, so the 503 `Agent has not finished recovery` branch does not arise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContentType } from '../../mesos/codec.js';
import { decodeMessage, encodeMessage } from '../../mesos/codec.js';
import { encodeRecord } from '../../mesos/recordio.js';
import type { TaskStatus } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { EXECUTOR_CALL_TYPE, EXECUTOR_EVENT_TYPE, type ExecutorCall, type ExecutorConnection, type ExecutorEvent } from './executor-messages.js';

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export const EXECUTOR_API_PATHS = ['/api/v1/executor', '/slave(1)/api/v1/executor'] as const;

/** What the API needs from an executor the agent runs. */
export interface ExecutorApiTarget {
  readonly registering: boolean;
  subscribe(conn: ExecutorConnection, sub: NonNullable<ExecutorCall['subscribe']>): void;
  update(status: TaskStatus): void;
  message(data: Buffer): void;
}

export interface ExecutorApiHost {
  lookupExecutor(frameworkId: string, executorId: string): ExecutorApiTarget | 'no-framework' | 'no-executor';
}

/** RFC 4122 uuid as 16 raw bytes with a version nibble of 1-5 (stout's UUID::fromBytes). */
export function isValidUuidBytes(b: Buffer | undefined): boolean {
  if (b === undefined || b.length !== 16) return false;
  const version = (b[6] ?? 0) >> 4;
  return version >= 1 && version <= 5;
}

/** validateExecutorCall (src/common/validation.cpp): the error text, or undefined when valid. */
export function validateExecutorCall(call: ExecutorCall): string | undefined {
  if (call.type === undefined) return "Expecting 'type' to be present";
  if (call.executor_id === undefined) return "Expecting 'executor_id' to be present";
  if (call.framework_id === undefined) return "Expecting 'framework_id' to be present";
  switch (call.type) {
    case 'SUBSCRIBE':
      return call.subscribe === undefined ? "Expecting 'subscribe' to be present" : undefined;
    case 'UPDATE': {
      if (call.update === undefined) return "Expecting 'update' to be present";
      const status = call.update.status;
      if (status.uuid === undefined) return "Expecting 'uuid' to be present";
      if (!isValidUuidBytes(status.uuid)) return 'Not a valid UUID';
      if (status.executor_id !== undefined && status.executor_id.value !== call.executor_id.value) {
        return `ExecutorID in Call: ${call.executor_id.value} does not match ExecutorID in TaskStatus: ${status.executor_id.value}`;
      }
      if (status.source !== 'SOURCE_EXECUTOR') {
        return `Received Call from executor ${call.executor_id.value} of framework ${call.framework_id.value} with invalid source, expecting 'SOURCE_EXECUTOR'`;
      }
      if (status.state === 'TASK_STAGING') {
        return `Received TASK_STAGING from executor ${call.executor_id.value} of framework ${call.framework_id.value} which is not allowed`;
      }
      return undefined;
    }
    case 'MESSAGE':
      return call.message === undefined ? "Expecting 'message' to be present" : undefined;
    case 'HEARTBEAT':
    case 'UNKNOWN':
      return undefined;
  }
}

/**
 * libprocess `Request::acceptsMediaType`: no Accept header accepts everything; otherwise a media range
 * (`type/subtype`, `type/*`, `*\/*`) matching with q > 0.
 */
export function acceptsMediaType(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const [type, subtype] = mediaType.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().split(';');
    const [rt, rs] = range.trim().toLowerCase().split('/');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k?.trim() === 'q' && v !== undefined) q = Number(v);
    }
    let specificity = -1;
    if (rt === type && rs === subtype) specificity = 2;
    else if (rt === type && rs === '*') specificity = 1;
    else if (rt === '*' && rs === '*') specificity = 0;
    if (specificity < 0) continue;
    if (best === undefined || specificity > best.specificity) best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best !== undefined && best.q > 0;
}

function plain(res: ServerResponse, code: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The SUBSCRIBE response stream of one executor. */
class HttpExecutorConnection implements ExecutorConnection {
  private isClosed = false;
  private readonly closeCallbacks: Array<() => void> = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly contentType: ContentType,
    private readonly logger: Logger,
  ) {
    res.once('close', () => this.markClosed());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(event: ExecutorEvent): void {
    if (this.isClosed) return;
    try {
      this.res.write(encodeRecord(encodeMessage(EXECUTOR_EVENT_TYPE, event, this.contentType)));
    } catch (err) {
      this.logger.error('failed to encode executor event', { event: event.type, error: errorMessage(err) });
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.res.end();
    this.markClosed();
  }

  onClose(cb: () => void): void {
    if (this.isClosed) cb();
    else this.closeCallbacks.push(cb);
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const cb of this.closeCallbacks.splice(0)) cb();
  }
}

/** Handle one request to an executor API path. */
export async function handleExecutorApi(req: IncomingMessage, res: ServerResponse, host: ExecutorApiHost, logger: Logger): Promise<void> {
  if (req.method !== 'POST') {
    plain(res, 405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method ?? ''}'.`, { Allow: 'POST' });
    req.resume();
    return;
  }
  const ct = req.headers['content-type'];
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    plain(res, 400, `Failed to read request body: ${errorMessage(err)}`);
    return;
  }
  if (ct === undefined) {
    plain(res, 400, "Expecting 'Content-Type' to be present");
    return;
  }
  if (ct !== JSON_TYPE && ct !== PROTOBUF_TYPE) {
    plain(res, 415, `Expecting 'Content-Type' of ${JSON_TYPE} or ${PROTOBUF_TYPE}`);
    return;
  }
  let call: ExecutorCall;
  try {
    call = decodeMessage<ExecutorCall>(EXECUTOR_CALL_TYPE, body, ct);
  } catch (err) {
    plain(res, 400, errorMessage(err));
    return;
  }
  const invalid = validateExecutorCall(call);
  if (invalid !== undefined) {
    plain(res, 400, `Failed to validate Executor::Call: ${invalid}`);
    return;
  }
  let streamType: ContentType = JSON_TYPE;
  if (call.type === 'SUBSCRIBE') {
    const accept = req.headers.accept;
    if (acceptsMediaType(accept, JSON_TYPE)) streamType = JSON_TYPE;
    else if (acceptsMediaType(accept, PROTOBUF_TYPE)) streamType = PROTOBUF_TYPE;
    else {
      plain(res, 406, `Expecting 'Accept' to allow '${PROTOBUF_TYPE}' or '${JSON_TYPE}'`);
      return;
    }
  } else if (call.type === 'HEARTBEAT') {
    // Answered before any lookup: executors may send placeholder ids here.
    plain(res, 202);
    return;
  }
  const target = host.lookupExecutor(call.framework_id.value, call.executor_id.value);
  if (target === 'no-framework') {
    plain(res, 400, 'Framework cannot be found');
    return;
  }
  if (target === 'no-executor') {
    plain(res, 400, 'Executor cannot be found');
    return;
  }
  if (target.registering && call.type !== 'SUBSCRIBE') {
    plain(res, 403, 'Executor is not subscribed');
    return;
  }
  switch (call.type) {
    case 'SUBSCRIBE': {
      res.writeHead(200, { 'Content-Type': streamType });
      // Send the head now: the first record may take a while, and the executor waits for the 200.
      res.flushHeaders();
      const conn = new HttpExecutorConnection(res, streamType, logger);
      target.subscribe(conn, call.subscribe ?? {});
      return;
    }
    case 'UPDATE':
      if (call.update !== undefined) target.update(call.update.status);
      plain(res, 202);
      return;
    case 'MESSAGE':
      if (call.message !== undefined) target.message(call.message.data);
      plain(res, 202);
      return;
    case 'UNKNOWN':
    case undefined:
      plain(res, 501);
      return;
  }
}
