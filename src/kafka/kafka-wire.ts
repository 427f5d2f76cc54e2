/**
 * The few pieces of the Kafka wire protocol kmf speaks itself, for KRaft APIs kafkajs 2.2.4 lacks (DescribeQuorum,
 * UnregisterBroker): flexible-version encoding (uvarints, compact strings, tagged fields), request framing, a
 * bounds-checked reader, and one request/response exchange over a fresh TCP connection.
 *
 * Request header v2 = api key int16, api version int16, correlation id int32, client id as an int16-length
 * string (the one non-compact field), tagged fields. Response header v1 = correlation id, tagged fields.
 * Compact strings and arrays carry uvarint(length + 1); 0 means null.
 */
import net from 'node:net';
import { KmfError, errorMessage } from '../util/errors.js';

export function uvarint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

export function compactString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(b.length + 1), b]);
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

/** An empty tagged-field section. */
export const NO_TAGS = Buffer.from([0]);

/** A size-prefixed request with header v2 around `body` (which ends with its own tagged fields). */
export function frameRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  const client = Buffer.from(clientId, 'utf8');
  const clientLen = Buffer.alloc(2);
  clientLen.writeInt16BE(client.length, 0);
  const payload = Buffer.concat([header, clientLen, client, NO_TAGS, body]);
  return Buffer.concat([int32(payload.length), payload]);
}

export class WireReader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new KmfError('kafka_protocol', `${this.what} response is truncated`);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }
  int64(): number {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.off);
    this.off += 8;
    return Number(v);
  }
  uuid(): string {
    this.need(16);
    const v = this.buf.subarray(this.off, this.off + 16).toString('base64url');
    this.off += 16;
    return v;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const b = this.buf[this.off++] ?? 0;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 28) throw new KmfError('kafka_protocol', `${this.what}: varint is too long`);
    }
  }
  nullableCompactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    this.need(n - 1);
    const s = this.buf.toString('utf8', this.off, this.off + n - 1);
    this.off += n - 1;
    return s;
  }
  compactString(): string {
    return this.nullableCompactString() ?? '';
  }
  compactArray<T>(item: () => T): T[] {
    const n = this.uvarint();
    if (n === 0) return [];
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(item());
    return out;
  }
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      const size = this.uvarint();
      this.need(size);
      this.off += size;
    }
  }
  /** Reads the response header v1 and checks the correlation id. */
  responseHeader(correlationId: number): void {
    const cid = this.int32();
    if (cid !== correlationId) throw new KmfError('kafka_protocol', `${this.what}: response for correlation id ${cid}, expected ${correlationId}`);
    this.skipTags();
  }
}

/** Kafka error codes kmf's own requests may meet, for messages (others show as their number). */
const ERROR_NAMES: Record<number, string> = {
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  8: 'BROKER_NOT_AVAILABLE',
  15: 'COORDINATOR_NOT_AVAILABLE',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  41: 'NOT_CONTROLLER',
  42: 'INVALID_REQUEST',
  89: 'THROTTLING_QUOTA_EXCEEDED',
  102: 'BROKER_ID_NOT_REGISTERED',
};
const RETRIABLE_ERRORS = new Set([5, 6, 7, 8, 15, 41, 89]);

export function kafkaErrorName(code: number): string {
  return ERROR_NAMES[code] ?? `error ${code}`;
}

/** A KmfError for a Kafka error code in a response. */
export function responseError(code: string, what: string, errorCode: number, message: string | null): KmfError {
  return new KmfError(code, `${what} failed: ${kafkaErrorName(errorCode)}${message ? `: ${message}` : ''}`, {
    retriable: RETRIABLE_ERRORS.has(errorCode),
    details: { errorCode, kafkaError: kafkaErrorName(errorCode) },
  });
}

let nextCorrelationId = 1;

export function newCorrelationId(): number {
  nextCorrelationId = (nextCorrelationId + 1) & 0x7fffffff;
  return nextCorrelationId;
}

/** Sends one framed request to host:port and resolves with the response payload (without its size prefix). */
export function exchange(host: string, port: number, request: Buffer, what: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    let done = false;
    const finish = (err: unknown, value?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err instanceof Error ? err : new Error(errorMessage(err)));
      else if (value !== undefined) resolve(value);
    };
    const timer = setTimeout(
      () => finish(new KmfError('kafka_unreachable', `${what} to ${host}:${port} timed out after ${timeoutMs} ms`, { retriable: true })),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const size = buffered.readInt32BE(0);
      if (size < 0 || size > 64 * 1024 * 1024) {
        finish(new KmfError('kafka_protocol', `${what}: response size ${size} is not plausible`));
        return;
      }
      if (buffered.length >= 4 + size) finish(undefined, buffered.subarray(4, 4 + size));
    });
    socket.once('error', (err) => finish(new KmfError('kafka_unreachable', `${what} to ${host}:${port}: ${err.message}`, { retriable: true, cause: err })));
    socket.once('close', () => finish(new KmfError('kafka_unreachable', `${host}:${port} closed the connection before answering ${what}`, { retriable: true })));
  });
}

/** `host:port` → parts; IPv6 literals in brackets. */
export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const i = s.lastIndexOf(':');
  if (i <= 0) return undefined;
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(s.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Tries `servers` in order until one answers `fn`; non-retriable errors stop the search. */
export async function tryServers<T>(servers: readonly string[], fn: (host: string, port: number) => Promise<T>): Promise<T> {
  let last: unknown = new KmfError('kafka_unreachable', 'no server to ask', { retriable: true });
  for (const s of servers) {
    const hp = splitHostPort(s);
    if (!hp) {
      last = new KmfError('kafka_invalid_request', `"${s}" is not host:port`);
      continue;
    }
    try {
      return await fn(hp.host, hp.port);
    } catch (err) {
      last = err;
      if (err instanceof KmfError && !err.retriable) throw err;
    }
  }
  throw last instanceof Error ? last : new Error(errorMessage(last));
}
