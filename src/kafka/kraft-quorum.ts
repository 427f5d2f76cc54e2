/**
 * DescribeQuorum (Kafka API 55, version 2) over a plain TCP connection: the leader, epoch, high watermark, voters
 * (with directory ids and how far each has caught up), observers and the voters' endpoints of the KRaft
 * metadata quorum. kafkajs 2.2.4 has no KRaft APIs, and this one request is small enough to speak directly:
 * brokers forward it to the active controller, controllers answer it themselves.
 *
 * Wire format (flexible versions): request header v2 = api key int16, api version int16, correlation id
 * int32, client id as an int16-length string (the one non-compact field), tagged fields; response header v1 =
 * correlation id, tagged fields. Compact strings and arrays carry uvarint(length + 1).
 */
import net from 'node:net';
import { KmfError } from '../util/errors.js';

export const DESCRIBE_QUORUM_API_KEY = 55;
export const DESCRIBE_QUORUM_VERSION = 2;
export const METADATA_TOPIC = '__cluster_metadata';

export interface QuorumReplica {
  replicaId: number;
  /** meta.properties directory.id of the replica (KIP-853); a fresh disk has a new one. */
  directoryId: string;
  /** -1 when unknown. */
  logEndOffset: number;
  /** Leader wall clock of the replica's last fetch; -1 for the leader itself or when unknown. */
  lastFetchTimestamp: number;
  /** Leader wall clock of the offset the replica had reached at its last fetch; "now" for the leader. */
  lastCaughtUpTimestamp: number;
}

export interface QuorumNode {
  nodeId: number;
  listeners: Array<{ name: string; host: string; port: number }>;
}

export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplica[];
  observers: QuorumReplica[];
  /** Endpoints of the voters. */
  nodes: QuorumNode[];
}

// ---- encoding -------------------------------------------------------------------------------------------

function uvarint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function compactString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(b.length + 1), b]);
}

const NO_TAGS = Buffer.from([0]);

/** A size-prefixed DescribeQuorum v2 request for partition 0 of the metadata topic. */
export function encodeDescribeQuorumRequest(correlationId: number, clientId: string): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt16BE(DESCRIBE_QUORUM_API_KEY, 0);
  header.writeInt16BE(DESCRIBE_QUORUM_VERSION, 2);
  header.writeInt32BE(correlationId, 4);
  const client = Buffer.from(clientId, 'utf8');
  const clientLen = Buffer.alloc(2);
  clientLen.writeInt16BE(client.length, 0);
  const partition = Buffer.alloc(4);
  partition.writeInt32BE(0, 0);
  const body = Buffer.concat([
    uvarint(2), // one topic
    compactString(METADATA_TOPIC),
    uvarint(2), // one partition
    partition,
    NO_TAGS, // partition tags
    NO_TAGS, // topic tags
    NO_TAGS, // request tags
  ]);
  const payload = Buffer.concat([header, clientLen, client, NO_TAGS, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

// ---- decoding -------------------------------------------------------------------------------------------

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new KmfError('kafka_protocol', 'DescribeQuorum response is truncated');
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
      if (shift > 28) throw new KmfError('kafka_protocol', 'varint is too long');
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
}

/** Kafka error codes a quorum query may meet, for messages (others show as their number). */
const ERROR_NAMES: Record<number, string> = {
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  15: 'COORDINATOR_NOT_AVAILABLE',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  35: 'UNSUPPORTED_VERSION',
  41: 'NOT_CONTROLLER',
  89: 'BROKER_NOT_AVAILABLE',
};
const RETRIABLE_ERRORS = new Set([5, 6, 7, 15, 41, 89]);

function quorumError(code: number, message: string | null): KmfError {
  const name = ERROR_NAMES[code] ?? `error ${code}`;
  return new KmfError('kafka_quorum_error', `DescribeQuorum failed: ${name}${message ? `: ${message}` : ''}`, {
    retriable: RETRIABLE_ERRORS.has(code),
    details: { errorCode: code },
  });
}

/** Decodes a DescribeQuorum v2 response (without its 4-byte size prefix). */
export function decodeDescribeQuorumResponse(payload: Buffer, correlationId: number): QuorumDescription {
  const r = new Reader(payload);
  const cid = r.int32();
  if (cid !== correlationId) throw new KmfError('kafka_protocol', `response for correlation id ${cid}, expected ${correlationId}`);
  r.skipTags();
  const errorCode = r.int16();
  const errorMessage = r.nullableCompactString();
  if (errorCode !== 0) throw quorumError(errorCode, errorMessage);
  const replica = (): QuorumReplica => {
    const q: QuorumReplica = {
      replicaId: r.int32(),
      directoryId: r.uuid(),
      logEndOffset: r.int64(),
      lastFetchTimestamp: r.int64(),
      lastCaughtUpTimestamp: r.int64(),
    };
    r.skipTags();
    return q;
  };
  type Partition = Omit<QuorumDescription, 'nodes'> & { partitionIndex: number };
  const partitions: Partition[] = [];
  r.compactArray(() => {
    r.compactString(); // topic name
    r.compactArray(() => {
      const partitionIndex = r.int32();
      const code = r.int16();
      const message = r.nullableCompactString();
      const p: Partition = {
        partitionIndex,
        leaderId: r.int32(),
        leaderEpoch: r.int32(),
        highWatermark: r.int64(),
        voters: r.compactArray(replica),
        observers: r.compactArray(replica),
      };
      r.skipTags();
      if (code !== 0) throw quorumError(code, message);
      partitions.push(p);
    });
    r.skipTags();
  });
  const nodes = r.compactArray((): QuorumNode => {
    const nodeId = r.int32();
    const listeners = r.compactArray(() => {
      const l = { name: r.compactString(), host: r.compactString(), port: r.uint16() };
      r.skipTags();
      return l;
    });
    r.skipTags();
    return { nodeId, listeners };
  });
  r.skipTags();
  const p = partitions[0];
  if (p === undefined) throw new KmfError('kafka_protocol', 'DescribeQuorum response has no partition');
  return { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, highWatermark: p.highWatermark, voters: p.voters, observers: p.observers, nodes };
}

// ---- I/O ------------------------------------------------------------------------------------------------

export interface DescribeQuorumOptions {
  timeoutMs?: number;
  clientId?: string;
}

let nextCorrelationId = 1;

/** Asks one node (a broker's or a controller's listener) for the quorum state. */
export function describeQuorum(host: string, port: number, opts: DescribeQuorumOptions = {}): Promise<QuorumDescription> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const correlationId = nextCorrelationId++ & 0x7fffffff;
  const request = encodeDescribeQuorumRequest(correlationId, opts.clientId ?? 'kmf-quorum');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    let done = false;
    const finish = (err: unknown, value?: QuorumDescription): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
      else if (value !== undefined) resolve(value);
    };
    const timer = setTimeout(
      () => finish(new KmfError('kafka_unreachable', `DescribeQuorum to ${host}:${port} timed out after ${timeoutMs} ms`, { retriable: true })),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const size = buffered.readInt32BE(0);
      if (size < 0 || size > 64 * 1024 * 1024) {
        finish(new KmfError('kafka_protocol', `DescribeQuorum response size ${size} is not plausible`));
        return;
      }
      if (buffered.length < 4 + size) return;
      try {
        finish(undefined, decodeDescribeQuorumResponse(buffered.subarray(4, 4 + size), correlationId));
      } catch (err) {
        finish(err);
      }
    });
    socket.once('error', (err) =>
      finish(new KmfError('kafka_unreachable', `DescribeQuorum to ${host}:${port}: ${err.message}`, { retriable: true, cause: err })),
    );
    socket.once('close', () => finish(new KmfError('kafka_unreachable', `${host}:${port} closed the connection before answering DescribeQuorum`, { retriable: true })));
  });
}

/** Tries `servers` (`host:port`) in order until one answers. */
export async function describeQuorumFromAny(servers: readonly string[], opts: DescribeQuorumOptions = {}): Promise<QuorumDescription> {
  let last: unknown = new KmfError('kafka_unreachable', 'no server to ask for the quorum state', { retriable: true });
  for (const s of servers) {
    const i = s.lastIndexOf(':');
    const host = s.slice(0, i);
    const port = Number(s.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port)) {
      last = new KmfError('kafka_invalid_request', `"${s}" is not host:port`);
      continue;
    }
    try {
      return await describeQuorum(host, port, opts);
    } catch (err) {
      last = err;
      if (err instanceof KmfError && !err.retriable) throw err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

// ---- pure judgements over a description --------------------------------------------------------------

/**
 * Whether voter `id` is caught up with the leader: the leader itself, or a follower whose last caught-up time
 * (leader clock) is within `maxLagMs` of the leader's own (so clocks of different hosts never mix). The default
 * is controller.quorum.fetch.timeout.ms's default, the same bound Strimzi's quorum check uses.
 */
export function voterCaughtUp(q: QuorumDescription, id: number, maxLagMs = 2_000): boolean {
  if (q.leaderId === id) return q.voters.some((v) => v.replicaId === id);
  const leader = q.voters.find((v) => v.replicaId === q.leaderId);
  const voter = q.voters.find((v) => v.replicaId === id);
  if (!leader || !voter || voter.lastCaughtUpTimestamp < 0) return false;
  return leader.lastCaughtUpTimestamp - voter.lastCaughtUpTimestamp <= maxLagMs;
}
