/**
 * DescribeQuorum (Kafka API 55, version 2): the leader, epoch, high watermark, voters (with directory ids and
 * how far each has caught up), observers and the voters' endpoints of the KRaft metadata quorum. kafkajs 2.2.4
 * has no KRaft APIs, and this one request is small enough to speak directly (kafka-wire.ts): brokers forward it
 * to the active controller, controllers answer it themselves. Below the I/O: pure judgements over a
 * description (is a voter caught up, where a controller stands during a move, which controllers may move).
 */
import { KmfError } from '../util/errors.js';
import { quorumMajority } from './quorum.js';
import {
  NO_TAGS,
  WireReader,
  compactString,
  exchange,
  frameRequest,
  int32,
  newCorrelationId,
  responseError,
  tryServers,
  uvarint,
} from './kafka-wire.js';

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

// ---- encoding / decoding -----------------------------------------------------------------------------

/** A size-prefixed DescribeQuorum v2 request for partition 0 of the metadata topic. */
export function encodeDescribeQuorumRequest(correlationId: number, clientId: string): Buffer {
  const body = Buffer.concat([
    uvarint(2), // one topic
    compactString(METADATA_TOPIC),
    uvarint(2), // one partition
    int32(0),
    NO_TAGS, // partition tags
    NO_TAGS, // topic tags
    NO_TAGS, // request tags
  ]);
  return frameRequest(DESCRIBE_QUORUM_API_KEY, DESCRIBE_QUORUM_VERSION, correlationId, clientId, body);
}

function quorumError(code: number, message: string | null): KmfError {
  return responseError('kafka_quorum_error', 'DescribeQuorum', code, message);
}

/** Decodes a DescribeQuorum v2 response (without its 4-byte size prefix). */
export function decodeDescribeQuorumResponse(payload: Buffer, correlationId: number): QuorumDescription {
  const r = new WireReader(payload, 'DescribeQuorum');
  r.responseHeader(correlationId);
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

/** Asks one node (a broker's or a controller's listener) for the quorum state. */
export async function describeQuorum(host: string, port: number, opts: DescribeQuorumOptions = {}): Promise<QuorumDescription> {
  const correlationId = newCorrelationId();
  const request = encodeDescribeQuorumRequest(correlationId, opts.clientId ?? 'kmf-quorum');
  const payload = await exchange(host, port, request, 'DescribeQuorum', opts.timeoutMs ?? 5_000);
  return decodeDescribeQuorumResponse(payload, correlationId);
}

/** Tries `servers` (`host:port`) in order until one answers. */
export function describeQuorumFromAny(servers: readonly string[], opts: DescribeQuorumOptions = {}): Promise<QuorumDescription> {
  return tryServers(servers, (host, port) => describeQuorum(host, port, opts));
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

/**
 * Where a controller stands in the voter set, as DescribeQuorum shows it. KIP-853 voters are keyed by node id
 * AND directory id, so a controller on a fresh disk (a move to another agent) is first an observer under its
 * new directory id while the voter entry of its old disk remains; with controller.quorum.auto.join.enable
 * (Kafka 4.4, checked in KafkaRaftClient.pollFollowerAsObserver) it then asks the leader to remove that
 * stale entry, and one controller.quorum.fetch.timeout.ms later (2 s by default) to add itself:
 * The leader keeps a removed voter's replica state as an OBSERVER entry (same id, old directory id, its last
 * fetch time and log end offset) until it has not fetched for 5 minutes (Kafka 4.4 LeaderState: removed voters
 * move to the observers, which expire after OBSERVER_SESSION_TIMEOUT_MS). So once the move is done, the new
 * directory id votes while the old one still shows up among the observers, frozen. An observer entry of
 * another directory id therefore only means "the node's new disk" when it has fetched at least as recently as
 * the voter entry; of several such observers (the leftover old disk and the new disk while joining), the one
 * that fetched last is the node:
 *  - `voter`: a voter entry, and no observer of that id under another directory id that fetched since;
 *  - `stale-voter`: the voter entry is an old disk's, and the node fetches as an observer under another
 *    directory id (auto-join has not removed the entry yet);
 *  - `joining`: no voter entry, the node fetches as an observer (the stale entry is gone, the add is pending;
 *    meanwhile the voter set is one short and tolerates one failure fewer);
 *  - `absent`: neither a voter nor fetching (down, not started yet, or removed while it was down).
 */
export type ControllerMembership =
  | { kind: 'voter'; directoryId: string; caughtUp: boolean }
  | { kind: 'stale-voter'; staleDirectoryId: string; directoryId: string }
  | { kind: 'joining'; directoryId: string }
  | { kind: 'absent' };

export function controllerMembership(q: QuorumDescription, nodeId: number, maxLagMs?: number): ControllerMembership {
  const voter = q.voters.find((v) => v.replicaId === nodeId);
  const observer = q.observers
    .filter((o) => o.replicaId === nodeId && o.directoryId !== voter?.directoryId)
    .reduce<QuorumReplica | undefined>((latest, o) => (latest === undefined || lastSeen(o) > lastSeen(latest) ? o : latest), undefined);
  if (voter !== undefined && observer !== undefined && lastSeen(observer) >= lastSeen(voter)) {
    return { kind: 'stale-voter', staleDirectoryId: voter.directoryId, directoryId: observer.directoryId };
  }
  if (voter !== undefined) return { kind: 'voter', directoryId: voter.directoryId, caughtUp: voterCaughtUp(q, nodeId, maxLagMs) };
  if (observer !== undefined) return { kind: 'joining', directoryId: observer.directoryId };
  return { kind: 'absent' };
}

/** When the leader last heard from a replica (its own entry: now), on the leader's clock; -1 if never. */
function lastSeen(r: QuorumReplica): number {
  return Math.max(r.lastFetchTimestamp, r.lastCaughtUpTimestamp);
}

/** One line per controller for logs and plan reasons, e.g. `1: stale voter (old disk abc, now def)`. */
export function describeMembership(nodeId: number, m: ControllerMembership): string {
  switch (m.kind) {
    case 'voter':
      return `${nodeId}: voter${m.caughtUp ? '' : ' (not caught up)'} ${m.directoryId}`;
    case 'stale-voter':
      return `${nodeId}: stale voter ${m.staleDirectoryId} (its new disk ${m.directoryId} fetches as an observer)`;
    case 'joining':
      return `${nodeId}: joining as ${m.directoryId} (observer, not a voter yet)`;
    case 'absent':
      return `${nodeId}: not in the quorum`;
  }
}

/** Voter ids that are not controllers of the spec (e.g. left behind by a controller set change). */
export function unexpectedVoters(q: QuorumDescription, controllerIds: ReadonlySet<number>): number[] {
  return [...new Set(q.voters.map((v) => v.replicaId).filter((id) => !controllerIds.has(id)))].sort((a, b) => a - b);
}

export interface ReplaceGuardInput {
  /** The controllers of the spec (dedicated or combined) with their unit names. */
  controllers: ReadonlyArray<{ unit: string; nodeId: number }>;
  /** Whether the quorum has ever formed (persisted by the scheduler). */
  quorumFormed: boolean;
  /** The quorum as last read; undefined when it could not be read. */
  quorum: QuorumDescription | undefined;
  /** Why it could not be read. */
  unknownReason?: string;
  maxLagMs?: number;
}

/**
 * Which controllers may not be replaced on a fresh disk (another agent, or `replace`) right now, with the
 * reason: unit → reason. A controller on an empty disk can only come back through a voter change that the
 * REST of the quorum commits (dynamic: auto-join's RemoveRaftVoter then AddRaftVoter; static: it catches up
 * from a leader). When the other voters that are caught up are not a majority of the voter set, a fresh disk
 * can never join, and throwing away the old one (which may return with its agent) loses the only way back.
 * So the replacement waits; a relaunch on the same agent and disk is never held.
 * Before the quorum ever formed there is nothing on any disk to protect: no holds.
 */
export function controllerReplaceHolds(input: ReplaceGuardInput): Record<string, string> {
  const holds: Record<string, string> = {};
  if (!input.quorumFormed) return holds;
  const q = input.quorum;
  for (const c of input.controllers) {
    if (q === undefined) {
      holds[c.unit] = `the metadata quorum cannot be read (${input.unknownReason ?? 'no answer'}): controller ${c.nodeId} is not moved to a fresh disk until kmf sees that the other voters can add it`;
      continue;
    }
    if (q.leaderId < 0) {
      holds[c.unit] = `the metadata quorum has no leader: controller ${c.nodeId} on a fresh disk could never join; it waits for its agent and disk to come back`;
      continue;
    }
    const need = quorumMajority(q.voters.length);
    const caughtUp = q.voters.filter((v) => v.replicaId !== c.nodeId && voterCaughtUp(q, v.replicaId, input.maxLagMs)).map((v) => v.replicaId);
    if (caughtUp.length >= need) continue;
    holds[c.unit] =
      `moving controller ${c.nodeId} to a fresh disk needs a majority of the voter set (${need} of ${q.voters.length}) among the other voters to commit the voter change, ` +
      `but only ${caughtUp.length} of them ${caughtUp.length === 1 ? 'is' : 'are'} caught up ([${caughtUp.join(',')}]); it waits for its agent and disk to come back`;
  }
  return holds;
}
