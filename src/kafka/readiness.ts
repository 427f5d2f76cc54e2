/**
 * When is a Kafka node ready?
 *  - A broker is ready when it is registered in the cluster's metadata: the Metadata response of any broker lists
 *    it (KRaft lists only unfenced brokers, i.e. ones that registered with the controller and keep
 *    heartbeating). A started process is not enough: until registration it serves nothing. kmf also checks that
 *    it advertises the endpoint kmf placed it on, which catches a wrong advertised.listeners at once.
 *  - A controller is ready when it is a voter of the metadata quorum, a leader exists, and it is caught up with
 *    the leader (DescribeQuorum). A listening controller port only proves the JVM bound its socket.
 *  - A combined node needs both.
 */
import type { KafkaAdmin } from './admin.js';
import { controllerMembership, describeMembership, describeQuorumFromAny, voterCaughtUp, type DescribeQuorumOptions, type QuorumDescription } from './kraft-quorum.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface RegisteredBroker {
  nodeId: number;
  host: string;
  port: number;
}

/** Brokers registered (and unfenced) right now. */
export async function registeredBrokers(admin: KafkaAdmin): Promise<RegisteredBroker[]> {
  const cluster = await admin.call('describe cluster', (a) => a.describeCluster());
  return cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.nodeId - b.nodeId);
}

/** Pure part of brokerReadiness. */
export function evaluateBrokerReadiness(
  registered: readonly RegisteredBroker[],
  nodeId: number,
  expected?: { host: string; port: number },
): Readiness {
  const b = registered.find((r) => r.nodeId === nodeId);
  if (!b) {
    const ids = registered.map((r) => r.nodeId).join(', ');
    return { ready: false, reason: `broker ${nodeId} is not registered in the cluster metadata (registered: ${ids === '' ? 'none' : ids})` };
  }
  if (expected && (b.host !== expected.host || b.port !== expected.port)) {
    return {
      ready: false,
      reason: `broker ${nodeId} advertises ${b.host}:${b.port}, expected ${expected.host}:${expected.port} (an old registration, or advertised.listeners is wrong)`,
    };
  }
  return { ready: true };
}

export async function brokerReadiness(admin: KafkaAdmin, nodeId: number, expected?: { host: string; port: number }): Promise<Readiness> {
  return evaluateBrokerReadiness(await registeredBrokers(admin), nodeId, expected);
}

/** Pure part of controllerReadiness. */
export function evaluateControllerReadiness(q: QuorumDescription, nodeId: number, maxLagMs?: number): Readiness {
  if (q.leaderId < 0) return { ready: false, reason: 'the metadata quorum has no leader' };
  const membership = controllerMembership(q, nodeId, maxLagMs);
  // A voter entry of the node's old disk is not the node: it still has to swap it for its new one.
  if (membership.kind === 'stale-voter') return { ready: false, reason: `controller ${nodeId} is joining: ${describeMembership(nodeId, membership)}` };
  if (!q.voters.some((v) => v.replicaId === nodeId)) {
    const observer = q.observers.some((o) => o.replicaId === nodeId);
    return {
      ready: false,
      reason: `controller ${nodeId} is not a voter of the metadata quorum${observer ? ' yet (it is an observer, catching up before it joins)' : ''}`,
    };
  }
  if (!voterCaughtUp(q, nodeId, maxLagMs)) return { ready: false, reason: `controller ${nodeId} is a voter but not caught up with leader ${q.leaderId}` };
  return { ready: true };
}

/**
 * Asks `servers` (broker or controller listeners, `host:port`) for the quorum and judges controller `nodeId`.
 * Unreachable servers make it "not ready" with the reason, never an exception.
 */
export async function controllerReadiness(servers: readonly string[], nodeId: number, opts: DescribeQuorumOptions & { maxLagMs?: number } = {}): Promise<Readiness> {
  let q: QuorumDescription;
  try {
    q = await describeQuorumFromAny(servers, opts);
  } catch (err) {
    return { ready: false, reason: `cannot read the quorum state: ${err instanceof Error ? err.message : String(err)}` };
  }
  return evaluateControllerReadiness(q, nodeId, opts.maxLagMs);
}

/**
 * Whether the quorum has formed: a leader was elected and the voter set is committed. The scheduler persists
 * the first "yes" (never resetting it) to switch controllers on fresh disks from --initial-controllers to
 * joining (quorum.ts storageFormat).
 */
export function quorumHasFormed(q: QuorumDescription): boolean {
  return q.leaderId >= 0 && q.voters.length > 0 && q.highWatermark > 0;
}
