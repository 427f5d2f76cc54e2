/**
 * The desired state of one Kafka cluster as kmf stores it, and its validation. Pure and serializable: the
 * spec goes to ZooKeeper and through the admin API as JSON.
 *
 * Identities (cluster.id, node ids, controller directory ids) are decided once, when the cluster is created,
 * and then only ever read: a Kafka node's identity lives on its disk, and a spec that changed it would describe
 * a different cluster. `validateClusterUpdate` enforces that.
 */
import { KmfError } from '../util/errors.js';
import { shownPropertyValue } from './sensitive-properties.js';
import {
  allocateBrokerIds,
  dedicatedControllerIds,
  isKafkaUuid,
  isNodeId,
  randomKafkaUuid,
} from './node-ids.js';
import { ownedPropertyReason } from './owned-properties.js';

/** `combined`: the first controller-count brokers also run the controller role; `dedicated`: own tasks. */
export type ControllerMode = 'combined' | 'dedicated';
/**
 * `dynamic` (KIP-853, kraft.version 1): voters live in the metadata log, nodes find the quorum through
 * controller.quorum.bootstrap.servers, and a controller that moves joins again by itself (Kafka ≥ 4.2).
 * `static`: controller.quorum.voters lists every voter's id@host:port on every node.
 */
export type QuorumMode = 'dynamic' | 'static';
/** `stopped` keeps the broker's reservation and data; `removed` frees them (after its partitions moved away). */
export type BrokerGoal = 'running' | 'stopped' | 'removed';

export interface NodeResources {
  /** Mesos cpus. */
  cpus: number;
  /** Mesos mem (MB): the JVM heap plus its non-heap memory; the page cache beyond it is the kernel's. */
  memMb: number;
  /** -Xms/-Xmx, in MB. */
  heapMb: number;
  /** Size of the data disk (persistent volume, or sandbox disk when volumes are off), MB. */
  diskMb: number;
  /**
   * JVM flags that replace the distribution's GC/JIT defaults (KAFKA_JVM_PERFORMANCE_OPTS: G1 with
   * MaxGCPauseMillis=20), e.g. `-XX:+UseZGC -XX:+ZGenerational`. The heap is set by heapMb.
   */
  jvmOpts?: string;
}

export interface ControllerNode {
  nodeId: number;
  /** meta.properties directory.id this controller was formatted with (dynamic quorum's voter key). */
  directoryId: string;
}

export interface BrokerNode {
  nodeId: number;
  goal: BrokerGoal;
  /** Per-broker resource overrides on top of the cluster's broker resources. */
  resources?: Partial<NodeResources>;
  /** Per-broker server.properties overrides (win over the cluster's). */
  overrides?: Record<string, string>;
  /** Bumped by `POST /api/v1/brokers/{id}/restart`: part of the task env, so the update plan restarts this node. */
  restartGeneration?: number;
  /**
   * Scale-in was requested: the leader moves every replica off the broker (src/runtime/kafka-drain.ts), then sets
   * the goal to `removed`. Persisted so that a new leader resumes the drain.
   */
  draining?: boolean;
}

export interface KafkaClusterSpec {
  /** Unit-name prefix: lower-case letters, digits and '-'. */
  name: string;
  /** Kafka cluster.id (storage is formatted with it). */
  clusterId: string;
  /** Kafka version of the distribution the tasks run, e.g. `4.4.0`. */
  version: string;
  controllers: {
    mode: ControllerMode;
    quorum: QuorumMode;
    /** 1, 3 or 5 nodes. In combined mode their ids are broker ids. */
    nodes: ControllerNode[];
    /** Resources of dedicated controller tasks (combined nodes use the broker resources). */
    resources: NodeResources;
    /** server.properties overrides for dedicated controllers only (cluster overrides apply too). */
    overrides: Record<string, string>;
  };
  brokers: {
    resources: NodeResources;
    nodes: BrokerNode[];
    /** Next broker id to hand out; ids are never reused. */
    nextBrokerId: number;
  };
  /** server.properties overrides for every node. */
  overrides: Record<string, string>;
  /**
   * Defaults kmf computed when the cluster was created (internal topics' replication factors from the broker
   * count then). Stored, not recomputed: changing them on scale-out would roll every broker for nothing,
   * because they only matter when the internal topics are created.
   */
  defaults: Record<string, string>;
  /** Data on persistent volumes over dynamic reservations (true), or in the sandbox with placement stickiness. */
  volumes: boolean;
  /** SIGTERM→SIGKILL grace for a controlled shutdown. */
  killGracePeriodSeconds: { broker: number; controller: number };
  /**
   * How rolls treat partitions that can never stay writable while one of their brokers is down (replication
   * factor not above min.insync.replicas, e.g. every topic of a 1-broker cluster): by default the roll waits
   * and says so; `allowUnsatisfiable` lets it stop such a broker anyway. Not a task setting: changing it
   * restarts nothing.
   */
  rollPolicy?: { allowUnsatisfiable: boolean };
  /** Bumped by a rolling restart of the cluster: part of every Kafka node's task env (apps do not read it). */
  restartGeneration?: number;
}

export type NodeRole = 'broker' | 'controller';

/** One Kafka process of the cluster, with everything derived from the spec. */
export interface ClusterNode {
  nodeId: number;
  /** `combined` nodes have both roles. */
  kind: 'broker' | 'controller' | 'combined';
  roles: NodeRole[];
  goal: BrokerGoal;
  resources: NodeResources;
  /** Cluster overrides, then role overrides, then per-broker overrides. */
  overrides: Record<string, string>;
}

export const DEFAULT_BROKER_RESOURCES: NodeResources = { cpus: 1, memMb: 2048, heapMb: 1024, diskMb: 5000 };
export const DEFAULT_CONTROLLER_RESOURCES: NodeResources = { cpus: 0.5, memMb: 1024, heapMb: 512, diskMb: 1000 };
/**
 * Brokers: an upper bound on controlled shutdown (leadership moves off the broker, then logs are flushed and
 * closed cleanly). A quick shutdown costs nothing extra; a SIGKILL costs log recovery on the next start, which
 * for large logs takes far longer than the wait. Strimzi and DC/OS Kafka use 30 s, which big brokers exceed.
 * Controllers hold only the metadata log: 60 s.
 */
export const DEFAULT_KILL_GRACE_SECONDS = { broker: 120, controller: 60 } as const;
/** The JVM needs memory beyond the heap (metaspace, thread stacks, direct buffers for network I/O). */
export const MIN_NON_HEAP_MB = 256;
export const MIN_HEAP_MB = 128;

export interface CreateClusterInput {
  name?: string;
  version: string;
  /** Number of brokers (≥ 1). */
  brokers: number;
  controllers?: { mode?: ControllerMode; count?: number; quorum?: QuorumMode; resources?: Partial<NodeResources>; overrides?: Record<string, string> };
  brokerResources?: Partial<NodeResources>;
  overrides?: Record<string, string>;
  volumes?: boolean;
  killGracePeriodSeconds?: Partial<{ broker: number; controller: number }>;
  /** Keep an existing cluster id (e.g. re-creating the spec of a cluster whose disks survive). */
  clusterId?: string;
}

/** Kafka ≥ 4.2 ships controller auto-join, which kmf's controller moves rely on in a dynamic quorum. */
export function supportsDynamicQuorum(version: string): boolean {
  const v = parseVersion(version);
  return v !== undefined && (v.major > 4 || (v.major === 4 && v.minor >= 2));
}

export function parseVersion(version: string): { major: number; minor: number; patch: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/**
 * Replication defaults for a cluster of `brokers` brokers: internal topics at RF min(3, brokers), and a
 * min.insync.replicas of 2 when RF ≥ 3 (one broker may be down with acks=all still working), else 1 (with RF 2
 * a min.isr of 2 would stop acks=all producers whenever either broker restarts).
 */
export function replicationDefaults(brokers: number): Record<string, string> {
  const rf = Math.max(1, Math.min(3, brokers));
  const minIsr = rf >= 3 ? 2 : 1;
  return {
    'default.replication.factor': String(rf),
    'min.insync.replicas': String(minIsr),
    'offsets.topic.replication.factor': String(rf),
    'transaction.state.log.replication.factor': String(rf),
    'transaction.state.log.min.isr': String(minIsr),
    'share.coordinator.state.topic.replication.factor': String(rf),
    'share.coordinator.state.topic.min.isr': String(minIsr),
  };
}

/** Builds a new cluster spec: allocates the cluster id, node ids and directory ids. Throws on invalid input. */
export function createClusterSpec(input: CreateClusterInput, randomBytes?: (n: number) => Buffer): KafkaClusterSpec {
  const brokerCount = input.brokers;
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new KmfError('kafka_cluster_invalid', `brokers must be a whole number >= 1 (got ${String(brokerCount)})`);
  }
  const mode: ControllerMode = input.controllers?.mode ?? (brokerCount <= 3 ? 'combined' : 'dedicated');
  const count = input.controllers?.count ?? (mode === 'combined' && brokerCount < 3 ? 1 : 3);
  const quorum: QuorumMode = input.controllers?.quorum ?? (supportsDynamicQuorum(input.version) ? 'dynamic' : 'static');
  const controllerIds = mode === 'dedicated' ? dedicatedControllerIds(count) : [];
  const { ids: brokerIds, nextBrokerId } = allocateBrokerIds(controllerIds, 0, brokerCount);
  const combinedIds = mode === 'combined' ? brokerIds.slice(0, count) : controllerIds;
  const spec: KafkaClusterSpec = {
    name: input.name ?? 'kafka',
    clusterId: input.clusterId ?? randomKafkaUuid(randomBytes),
    version: input.version,
    controllers: {
      mode,
      quorum,
      nodes: combinedIds.map((nodeId) => ({ nodeId, directoryId: randomKafkaUuid(randomBytes) })),
      resources: { ...DEFAULT_CONTROLLER_RESOURCES, ...input.controllers?.resources },
      overrides: { ...input.controllers?.overrides },
    },
    brokers: {
      resources: { ...DEFAULT_BROKER_RESOURCES, ...input.brokerResources },
      nodes: brokerIds.map((nodeId) => ({ nodeId, goal: 'running' })),
      nextBrokerId,
    },
    overrides: { ...input.overrides },
    defaults: replicationDefaults(brokerCount),
    volumes: input.volumes ?? true,
    killGracePeriodSeconds: { ...DEFAULT_KILL_GRACE_SECONDS, ...input.killGracePeriodSeconds },
  };
  if (mode === 'combined' && count > brokerCount) {
    throw new KmfError(
      'kafka_cluster_invalid',
      `combined mode runs the controllers on brokers: ${count} controllers need at least ${count} brokers (got ${brokerCount})`,
    );
  }
  assertValidCluster(spec);
  return spec;
}

/** Adds `count` brokers (new ids) with the cluster's broker resources. */
export function addBrokers(spec: KafkaClusterSpec, count: number, opts: Pick<BrokerNode, 'resources' | 'overrides'> = {}): { spec: KafkaClusterSpec; added: number[] } {
  if (!Number.isInteger(count) || count < 1) throw new KmfError('kafka_cluster_invalid', `count must be a whole number >= 1 (got ${String(count)})`);
  const used = [...spec.brokers.nodes.map((b) => b.nodeId), ...spec.controllers.nodes.map((c) => c.nodeId)];
  const { ids, nextBrokerId } = allocateBrokerIds(used, spec.brokers.nextBrokerId, count);
  const nodes: BrokerNode[] = ids.map((nodeId) => {
    const b: BrokerNode = { nodeId, goal: 'running' };
    if (opts.resources) b.resources = { ...opts.resources };
    if (opts.overrides) b.overrides = { ...opts.overrides };
    return b;
  });
  const next: KafkaClusterSpec = { ...spec, brokers: { ...spec.brokers, nodes: [...spec.brokers.nodes, ...nodes], nextBrokerId } };
  assertValidCluster(next);
  return { spec: next, added: ids };
}

/** Every Kafka process of the cluster, dedicated controllers first, then brokers by id. */
export function clusterNodes(spec: KafkaClusterSpec): ClusterNode[] {
  const controllerIds = new Set(spec.controllers.nodes.map((c) => c.nodeId));
  const out: ClusterNode[] = [];
  if (spec.controllers.mode === 'dedicated') {
    for (const c of spec.controllers.nodes) {
      out.push({
        nodeId: c.nodeId,
        kind: 'controller',
        roles: ['controller'],
        goal: 'running',
        resources: { ...spec.controllers.resources },
        overrides: { ...spec.overrides, ...spec.controllers.overrides },
      });
    }
  }
  for (const b of [...spec.brokers.nodes].sort((x, y) => x.nodeId - y.nodeId)) {
    const combined = spec.controllers.mode === 'combined' && controllerIds.has(b.nodeId);
    out.push({
      nodeId: b.nodeId,
      kind: combined ? 'combined' : 'broker',
      roles: combined ? ['broker', 'controller'] : ['broker'],
      goal: b.goal,
      resources: { ...spec.brokers.resources, ...b.resources },
      overrides: { ...spec.overrides, ...b.overrides },
    });
  }
  return out;
}

/** Brokers that count for replication (not removed). */
export function activeBrokerIds(spec: KafkaClusterSpec): number[] {
  return spec.brokers.nodes.filter((b) => b.goal !== 'removed').map((b) => b.nodeId);
}

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const VERSION = /^\d+\.\d+\.\d+$/;
/** Kafka property names: dotted words; listener-prefixed names carry upper-case listener names. */
const PROPERTY_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Heap flags belong in heapMb, or the heap and the Mesos memory limit drift apart. */
const HEAP_FLAG = /(^|\s)-Xm[sx]\S*/;

/** Readable issues of a server.properties override map; `where` names it in the messages. */
export function overrideIssues(overrides: Readonly<Record<string, string>>, where: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (!PROPERTY_KEY.test(key)) {
      out.push(`${where}: "${key}" is not a server.properties key`);
      continue;
    }
    const owned = ownedPropertyReason(key);
    if (owned !== undefined) out.push(`${where}: ${key} cannot be overridden: ${owned}`);
    if (typeof value !== 'string') out.push(`${where}: the value of ${key} must be a string`);
    else if (/[\r\n]/.test(value)) out.push(`${where}: the value of ${key} must be a single line`);
  }
  return out;
}

export function resourceIssues(r: Partial<NodeResources>, where: string, complete: boolean): string[] {
  const out: string[] = [];
  const num = (label: keyof NodeResources, v: number | undefined, min: number): void => {
    if (v === undefined) {
      if (complete) out.push(`${where}.${label} is missing`);
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v <= 0) out.push(`${where}.${label} must be a number >= ${min} (got ${String(v)})`);
  };
  num('cpus', r.cpus, 0.01);
  num('memMb', r.memMb, 32);
  num('heapMb', r.heapMb, MIN_HEAP_MB);
  num('diskMb', r.diskMb, 1);
  if (r.heapMb !== undefined && r.memMb !== undefined && r.heapMb > r.memMb - MIN_NON_HEAP_MB) {
    out.push(
      `${where}.heapMb (${r.heapMb}) must leave at least ${MIN_NON_HEAP_MB} MB of memMb (${r.memMb}) for the JVM's non-heap memory; raise memMb or lower heapMb`,
    );
  }
  if (r.jvmOpts !== undefined) {
    if (typeof r.jvmOpts !== 'string' || /[\r\n]/.test(r.jvmOpts)) out.push(`${where}.jvmOpts must be a single line`);
    else if (HEAP_FLAG.test(r.jvmOpts)) out.push(`${where}.jvmOpts must not set -Xms/-Xmx: use heapMb`);
  }
  return out;
}

/** All issues of a spec (empty when valid). Never throws. */
export function clusterIssues(spec: KafkaClusterSpec): string[] {
  const out: string[] = [];
  if (!NAME.test(spec.name)) out.push(`name "${spec.name}" must be lower-case letters, digits and '-'`);
  if (!isKafkaUuid(spec.clusterId)) out.push(`clusterId "${spec.clusterId}" is not a Kafka cluster id (22 characters of URL-safe base64)`);
  const version = VERSION.test(spec.version) ? parseVersion(spec.version) : undefined;
  if (version === undefined) out.push(`version "${spec.version}" must look like 4.4.0`);
  else if (version.major < 4) out.push(`version ${spec.version} is not supported: kmf runs Kafka 4.x and later (KRaft only)`);
  const c = spec.controllers;
  if (c.quorum === 'dynamic' && version !== undefined && !supportsDynamicQuorum(spec.version)) {
    out.push(`a dynamic quorum needs Kafka 4.2 or later (controller auto-join); use quorum "static" with ${spec.version}`);
  }
  if (c.mode !== 'combined' && c.mode !== 'dedicated') out.push(`controllers.mode must be "combined" or "dedicated"`);
  if (c.quorum !== 'dynamic' && c.quorum !== 'static') out.push(`controllers.quorum must be "dynamic" or "static"`);
  if (![1, 3, 5].includes(c.nodes.length)) {
    out.push(`the controller quorum must have 1, 3 or 5 controllers (got ${c.nodes.length}): an even count tolerates no more failures than one less`);
  }
  const controllerIds = new Set<number>();
  const dirIds = new Set<string>();
  for (const n of c.nodes) {
    if (!isNodeId(n.nodeId)) out.push(`controller node id ${String(n.nodeId)} is not a valid node id`);
    if (controllerIds.has(n.nodeId)) out.push(`controller node id ${n.nodeId} is used twice`);
    controllerIds.add(n.nodeId);
    if (!isKafkaUuid(n.directoryId)) out.push(`controller ${n.nodeId}: directoryId "${n.directoryId}" is not a Kafka Uuid`);
    if (dirIds.has(n.directoryId)) out.push(`controller ${n.nodeId}: directoryId ${n.directoryId} is used twice`);
    dirIds.add(n.directoryId);
  }
  const brokerIds = new Set<number>();
  for (const b of spec.brokers.nodes) {
    const where = `broker ${b.nodeId}`;
    if (!isNodeId(b.nodeId)) out.push(`broker node id ${String(b.nodeId)} is not a valid node id`);
    if (brokerIds.has(b.nodeId)) out.push(`broker node id ${b.nodeId} is used twice`);
    brokerIds.add(b.nodeId);
    if (!['running', 'stopped', 'removed'].includes(b.goal)) out.push(`${where}: goal must be running, stopped or removed`);
    if (b.nodeId >= spec.brokers.nextBrokerId && !controllerIds.has(b.nodeId)) {
      out.push(`${where}: id is not below nextBrokerId (${spec.brokers.nextBrokerId}); ids must come from the allocator`);
    }
    if (b.resources) out.push(...resourceIssues({ ...spec.brokers.resources, ...b.resources }, where + '.resources', true));
    if (b.overrides) out.push(...overrideIssues(b.overrides, where + ' overrides'));
    if (b.restartGeneration !== undefined && !isCounter(b.restartGeneration)) out.push(`${where}: restartGeneration must be a whole number >= 0`);
    if (b.draining !== undefined && typeof b.draining !== 'boolean') out.push(`${where}: draining must be true or false`);
  }
  if (spec.restartGeneration !== undefined && !isCounter(spec.restartGeneration)) out.push('restartGeneration must be a whole number >= 0');
  if (spec.brokers.nodes.length === 0) out.push('the cluster needs at least one broker');
  if (c.mode === 'combined') {
    for (const id of controllerIds) {
      const b = spec.brokers.nodes.find((x) => x.nodeId === id);
      if (!b) out.push(`controller ${id} is a combined node but there is no broker ${id}`);
      else if (b.goal === 'removed') out.push(`broker ${id} is also a controller (combined mode); it cannot be removed`);
    }
  } else {
    for (const id of controllerIds) if (brokerIds.has(id)) out.push(`node id ${id} is both a dedicated controller and a broker`);
    out.push(...resourceIssues(c.resources, 'controllers.resources', true));
    out.push(...overrideIssues(c.overrides, 'controller overrides'));
  }
  out.push(...resourceIssues(spec.brokers.resources, 'brokers.resources', true));
  out.push(...overrideIssues(spec.overrides, 'cluster overrides'));
  out.push(...overrideIssues(spec.defaults, 'defaults'));
  const active = spec.brokers.nodes.filter((b) => b.goal !== 'removed').length;
  for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'default.replication.factor']) {
    const v = spec.overrides[key] ?? spec.defaults[key];
    if (v !== undefined && /^\d+$/.test(v) && Number(v) > active && active > 0) {
      out.push(`${key}=${v} needs at least ${v} brokers; the cluster has ${active} (internal topics could not be created)`);
    }
  }
  for (const [role, s] of Object.entries(spec.killGracePeriodSeconds)) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) out.push(`killGracePeriodSeconds.${role} must be > 0`);
  }
  if (typeof spec.volumes !== 'boolean') out.push('volumes must be true or false');
  return [...new Set(out)];
}

function isCounter(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function assertValidCluster(spec: KafkaClusterSpec): void {
  const issues = clusterIssues(spec);
  if (issues.length > 0) {
    throw new KmfError('kafka_cluster_invalid', `invalid Kafka cluster spec: ${issues.join('; ')}`, { details: { issues } });
  }
}

/** Issues of replacing `prev` by `next`: identities and the quorum layout are fixed for a cluster's life. */
export function clusterUpdateIssues(prev: KafkaClusterSpec, next: KafkaClusterSpec): string[] {
  const out = clusterIssues(next);
  if (prev.name !== next.name) out.push('name cannot change');
  if (prev.clusterId !== next.clusterId) out.push('clusterId cannot change (it is written on every node\'s disk)');
  if (prev.controllers.mode !== next.controllers.mode) out.push('controllers.mode cannot change');
  if (prev.controllers.quorum !== next.controllers.quorum) out.push('controllers.quorum cannot change');
  const ids = (s: KafkaClusterSpec): string => s.controllers.nodes.map((n) => n.nodeId).join(',');
  if (ids(prev) !== ids(next)) out.push('the controller set cannot change (adding or removing voters is not supported yet)');
  if (prev.volumes !== next.volumes) out.push('volumes cannot be switched on or off for an existing cluster');
  if (next.brokers.nextBrokerId < prev.brokers.nextBrokerId) out.push('nextBrokerId cannot go down (ids are never reused)');
  const nextIds = new Set(next.brokers.nodes.map((b) => b.nodeId));
  for (const b of prev.brokers.nodes) {
    if (!nextIds.has(b.nodeId) && b.goal !== 'removed') out.push(`broker ${b.nodeId} must be removed (goal "removed") before it leaves the spec`);
  }
  const pv = parseVersion(prev.version);
  const nv = parseVersion(next.version);
  if (pv && nv && (nv.major < pv.major || (nv.major === pv.major && nv.minor < pv.minor))) {
    out.push(`version ${next.version} is older than ${prev.version}: downgrades are not supported`);
  }
  return [...new Set(out)];
}

// ---- cluster configuration changes (each one is a rolling restart of the nodes it concerns) -------------

/** A change of cluster-level settings; everything left out stays as it is. */
export interface ClusterConfigChange {
  /** server.properties overrides for every node to set (value) or add. */
  set?: Record<string, string>;
  /** Override keys to remove (the node falls back to kmf's default or Kafka's). */
  remove?: string[];
  /** Replace the whole cluster override map (PUT semantics); `set` and `remove` apply on top of it. */
  replaceOverrides?: Record<string, string>;
  /** Broker resources (cpus, memMb, heapMb, diskMb, jvmOpts); `jvmOpts: ''` removes the JVM options. */
  brokerResources?: Partial<NodeResources>;
  /** Resources of dedicated controller tasks. */
  controllerResources?: Partial<NodeResources>;
  /** Kafka version of every node. */
  version?: string;
  /** Let rolls stop brokers of partitions whose replication factor is not above min.insync.replicas. */
  allowUnsatisfiableRolls?: boolean;
}

/** Applies `patch` to a resource set; `jvmOpts: ''` drops the field. */
function patchResources(base: NodeResources, patch: Partial<NodeResources>): NodeResources {
  const next: NodeResources = { ...base, ...patch };
  if (patch.jvmOpts !== undefined && patch.jvmOpts.trim() === '') delete next.jvmOpts;
  return next;
}

/**
 * The spec after a cluster-level configuration change, and what changed in words. Throws
 * kafka_cluster_invalid (with every issue) for a change kmf refuses: kmf-owned properties, an invalid
 * resource set, a version downgrade, anything `clusterUpdateIssues` rejects. The disk size of existing
 * volumes cannot grow in place, so `diskMb` is refused for a cluster on volumes.
 */
export function updateClusterConfig(spec: KafkaClusterSpec, change: ClusterConfigChange): { spec: KafkaClusterSpec; changes: string[] } {
  const issues: string[] = [];
  const changes: string[] = [];
  const overrides: Record<string, string> = { ...(change.replaceOverrides ?? spec.overrides) };
  for (const [key, value] of Object.entries(change.set ?? {})) overrides[key] = value;
  for (const key of change.remove ?? []) {
    if (change.set !== undefined && Object.prototype.hasOwnProperty.call(change.set, key)) issues.push(`${key} is both set and removed`);
    else if (!Object.prototype.hasOwnProperty.call(overrides, key)) issues.push(`${key} is not a cluster override (nothing to remove)`);
    delete overrides[key];
  }
  for (const key of new Set([...Object.keys(spec.overrides), ...Object.keys(overrides)])) {
    const before = spec.overrides[key];
    const after = overrides[key];
    if (before === after) continue;
    if (after === undefined) changes.push(`removed ${key}`);
    else changes.push(`${key}=${shownPropertyValue(key, after)}${before === undefined ? '' : ` (was ${shownPropertyValue(key, before)})`}`);
  }
  const resourceChanges = (label: string, before: NodeResources, after: NodeResources): void => {
    for (const key of ['cpus', 'memMb', 'heapMb', 'diskMb', 'jvmOpts'] as const) {
      if (before[key] !== after[key]) changes.push(`${label}.${key}=${after[key] === undefined ? '(default)' : String(after[key])}`);
    }
  };
  const brokerResources = change.brokerResources === undefined ? spec.brokers.resources : patchResources(spec.brokers.resources, change.brokerResources);
  const controllerResources = change.controllerResources === undefined ? spec.controllers.resources : patchResources(spec.controllers.resources, change.controllerResources);
  if (change.controllerResources !== undefined && spec.controllers.mode !== 'dedicated') {
    issues.push('controller resources apply to dedicated controllers only; combined nodes use the broker resources');
  }
  if (spec.volumes) {
    if (brokerResources.diskMb !== spec.brokers.resources.diskMb) issues.push('brokers.diskMb cannot change: the persistent volumes keep their size (replace a broker to give it a new volume)');
    if (controllerResources.diskMb !== spec.controllers.resources.diskMb) issues.push('controllers.diskMb cannot change: the persistent volumes keep their size');
  }
  resourceChanges('brokers', spec.brokers.resources, brokerResources);
  resourceChanges('controllers', spec.controllers.resources, controllerResources);
  const version = change.version ?? spec.version;
  if (version !== spec.version) changes.push(`version ${spec.version} → ${version}`);
  const allowBefore = spec.rollPolicy?.allowUnsatisfiable === true;
  const allowAfter = change.allowUnsatisfiableRolls ?? allowBefore;
  if (allowAfter !== allowBefore) changes.push(`allowUnsatisfiableRolls=${String(allowAfter)}`);
  const next: KafkaClusterSpec = {
    ...spec,
    version,
    overrides,
    brokers: { ...spec.brokers, resources: brokerResources },
    controllers: { ...spec.controllers, resources: controllerResources },
  };
  if (allowAfter !== allowBefore) next.rollPolicy = { allowUnsatisfiable: allowAfter };
  issues.push(...clusterUpdateIssues(spec, next));
  if (issues.length > 0) {
    const unique = [...new Set(issues)];
    throw new KmfError('kafka_cluster_invalid', `invalid cluster configuration change: ${unique.join('; ')}`, { details: { issues: unique } });
  }
  return { spec: next, changes };
}
