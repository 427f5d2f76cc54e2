/**
 * What the admin API asks of the Kafka cluster: add and list brokers, the broker lifecycle verbs (update, stop,
 * start, restart, replace, remove: spec changes from src/kafka/broker-ops.ts; removals are carried out by the
 * leader's drain loop, src/runtime/kafka-drain.ts), the controllers, the bootstrap servers, topics, and the
 * Kafka tarball the agents fetch. Changes go to the leader (through the fenced desired state, like apps);
 * reads come from the leader's live state, or from ZooKeeper on a standby.
 */
import fs from 'node:fs';
import type { UnitView } from '../core/plans.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { bootstrapServers, type BrokerPlacement } from '../kafka/bootstrap.js';
import { addBrokers, clusterIssues, clusterNodes, createClusterSpec, updateClusterConfig, type ClusterConfigChange, type KafkaClusterSpec, type NodeResources } from '../kafka/cluster-model.js';
import { addPartitions, createTopic, deleteTopic, describeTopic, listTopics, updateTopicConfigs, type TopicDescription, type TopicSpec } from '../kafka/topics.js';
import { kafkaUnitName } from '../kafka/units.js';
import {
  brokerPhase,
  planRemoval,
  removalIssues,
  replaceIssue,
  requireBroker,
  restartBroker,
  restartCluster,
  setBrokerGoal,
  startRemoval,
  updateBroker,
  type BrokerChange,
} from '../kafka/broker-ops.js';
import { describeQuorumFromAny, type QuorumDescription } from '../kafka/kraft-quorum.js';
import { fetchPartitionStates } from '../kafka/roll-safety.js';
import type { DrainProgress } from './kafka-drain.js';
import { KmfError } from '../util/errors.js';
import { loadKafkaRecord, type KafkaClusterRecord } from './kafka-desired.js';
import type { LeaderTerm } from './leader-term.js';
import type { SchedulerRuntime } from './scheduler-runtime.js';

export interface AddBrokersInput {
  count: number;
  cpus?: number;
  mem?: number;
  heap?: number;
  disk?: number;
  jvmOpts?: string;
  /** server.properties overrides for the new brokers (or for the whole cluster when it is created). */
  options?: Record<string, string>;
}

export interface BrokerView {
  id: number;
  /** The unit's state; `running` once Kafka has registered the broker in its metadata. */
  state: string;
  goal: string;
  unit: string;
  roles: string[];
  ready: boolean;
  host?: string;
  port?: number;
  taskId?: string;
  taskState?: string;
  agentId?: string;
  failures: number;
  lastError?: string;
  /** Effective resources (the cluster's, then this broker's own). */
  resources?: NodeResources;
  /** This broker's own server.properties overrides (on top of the cluster's). */
  overrides?: Record<string, string>;
  /** Scale-in under way: `state` is `draining` (replicas moving away) or `removing` (task stopping, unregistering). */
  removal?: { partitionsLeft?: number; moving?: number; waiting?: string };
}

export interface ControllerView {
  id: number;
  /** `dedicated` controller task, or `combined` with a broker. */
  kind: 'dedicated' | 'combined';
  unit: string;
  state: string;
  host?: string;
  port?: number;
  taskId?: string;
  taskState?: string;
  /** In the quorum's voter set (absent when the quorum did not answer). */
  voter?: boolean;
  /** The active controller (quorum leader). */
  leader?: boolean;
}

export interface ControllersView {
  controllers: ControllerView[];
  quorum: { reachable: boolean; leaderId?: number; leaderEpoch?: number; highWatermark?: number; observers?: number[]; error?: string };
}

function brokerView(record: KafkaClusterRecord, units: readonly UnitView[], drains: ReadonlyMap<number, DrainProgress> = new Map()): BrokerView[] {
  const byName = new Map(units.map((u) => [u.name, u]));
  return clusterNodes(record.spec)
    .filter((n) => n.roles.includes('broker'))
    .map((n) => {
      const unit = kafkaUnitName(record.spec, n);
      const u = byName.get(unit);
      const v: BrokerView = {
        id: n.nodeId,
        state: u?.state ?? 'waiting',
        goal: n.goal,
        unit,
        roles: n.roles,
        ready: u?.task?.ready === true && u.task.state === 'TASK_RUNNING',
        failures: u?.failures ?? 0,
        resources: n.resources,
        overrides: { ...record.spec.brokers.nodes.find((b) => b.nodeId === n.nodeId)?.overrides },
      };
      const node = record.spec.brokers.nodes.find((b) => b.nodeId === n.nodeId);
      if (node !== undefined && (brokerPhase(node) === 'draining' || brokerPhase(node) === 'removing')) {
        v.state = brokerPhase(node);
        const p = drains.get(n.nodeId);
        v.removal = {};
        if (p?.partitionsLeft !== undefined) v.removal.partitionsLeft = p.partitionsLeft;
        if (p?.moving !== undefined) v.removal.moving = p.moving;
        if (p?.waiting !== undefined) v.removal.waiting = p.waiting;
      }
      if (u?.task !== undefined) {
        v.host = u.task.hostname;
        const port = u.task.ports['broker'];
        if (port !== undefined) v.port = port;
        v.taskId = u.task.taskId;
        v.taskState = u.task.state;
        v.agentId = u.task.agentId;
      }
      if (u?.lastError !== undefined) v.lastError = u.lastError;
      return v;
    });
}

export class KafkaService {
  /** Cluster-level configuration (GET/PUT/PATCH /api/v1/cluster/config). */
  readonly clusterConfig: KafkaClusterConfigService;

  constructor(private readonly runtime: SchedulerRuntime) {
    this.clusterConfig = new KafkaClusterConfigService(runtime, () => this.leader());
  }

  /** The leading term, or not_leader (the HTTP layer redirects) / no_leader, as for every change. */
  private async leader(): Promise<LeaderTerm> {
    const term = this.runtime.leaderTerm();
    if (term !== undefined) return term;
    const leader = await this.runtime.currentLeader().catch(() => undefined);
    if (leader === undefined || leader.memberId === this.runtime.memberId) {
      throw new KmfError('no_leader', 'no kmf scheduler instance leads right now (an election is under way); try again in a few seconds', { retriable: true });
    }
    throw new KmfError('not_leader', `this instance is a standby; send changes to the leader at ${leader.address}`, {
      details: { leader: leader.address, leaderMemberId: leader.memberId },
    });
  }

  private async view(): Promise<{ record: KafkaClusterRecord | undefined; units: UnitView[]; drains?: ReadonlyMap<number, DrainProgress> }> {
    const term = this.runtime.leaderTerm();
    if (term?.isLoaded === true) return { record: term.kafka(), units: term.units(), drains: term.kafkaDrains() };
    const { record } = await loadKafkaRecord(this.runtime.store);
    return { record, units: [] };
  }

  private async requireCluster(): Promise<{ record: KafkaClusterRecord; units: UnitView[] }> {
    const v = await this.view();
    if (v.record === undefined) throw new KmfError('kafka_cluster_not_found', 'no Kafka cluster yet: add brokers with POST /api/v1/brokers {"count": 3}');
    return { record: v.record, units: v.units };
  }

  async listBrokers(): Promise<BrokerView[]> {
    const v = await this.view();
    return v.record === undefined ? [] : brokerView(v.record, v.units, v.drains);
  }

  async getBroker(id: number): Promise<BrokerView> {
    const b = (await this.listBrokers()).find((x) => x.id === id);
    if (b === undefined) throw new KmfError('not_found', `no broker ${id}`);
    return b;
  }

  /** Adds brokers; the first call creates the cluster (layout from the broker count: docs/kafka.md). */
  async addBrokers(input: AddBrokersInput): Promise<BrokerView[]> {
    const kafka = this.runtime.kafkaOptions;
    if (kafka === undefined) throw new KmfError('kafka_unavailable', 'this scheduler runs without Kafka support (no runtime manifest)');
    const term = await this.leader();
    const resources: Partial<NodeResources> = {};
    if (input.cpus !== undefined) resources.cpus = input.cpus;
    if (input.mem !== undefined) resources.memMb = input.mem;
    if (input.heap !== undefined) resources.heapMb = input.heap;
    if (input.disk !== undefined) resources.diskMb = input.disk;
    if (input.jvmOpts !== undefined) resources.jvmOpts = input.jvmOpts;
    let added: number[] = [];
    await term.mutateDesired(async (store) => {
      const now = new Date().toISOString();
      const rec = store.kafka;
      if (rec === undefined) {
        const spec = createClusterSpec({
          version: kafka.version,
          brokers: input.count,
          brokerResources: resources,
          overrides: input.options ?? {},
          volumes: kafka.volumes,
        });
        added = spec.brokers.nodes.map((n) => n.nodeId);
        await store.putKafka({ spec, quorumFormed: false, createdAt: now, updatedAt: now });
        return;
      }
      const next = addBrokers(rec.spec, input.count, {
        ...(Object.keys(resources).length === 0 ? {} : { resources }),
        ...(input.options === undefined ? {} : { overrides: input.options }),
      });
      const issues = clusterIssues(next.spec);
      if (issues.length > 0) throw new KmfError('kafka_cluster_invalid', issues.join('; '), { details: { issues } });
      added = next.added;
      await store.putKafka({ ...rec, spec: next.spec, updatedAt: now });
    });
    const all = await this.listBrokers();
    return all.filter((b) => added.includes(b.id));
  }

  /** Bootstrap servers: running brokers, else every placed one. */
  async endpoints(): Promise<{ bootstrapServers: string[]; bootstrap: string }> {
    const brokers = await this.listBrokers();
    const placements: BrokerPlacement[] = brokers.flatMap((b) =>
      b.host === undefined || b.port === undefined ? [] : [{ nodeId: b.id, host: b.host, port: b.port, running: b.taskState === 'TASK_RUNNING' }],
    );
    const servers = bootstrapServers(placements);
    return { bootstrapServers: servers, bootstrap: servers.join(',') };
  }

  private async withAdmin<T>(fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    await this.requireCluster();
    const { bootstrapServers: servers } = await this.endpoints();
    if (servers.length === 0) throw new KmfError('kafka_unavailable', 'no broker is running yet', { retriable: true });
    const admin = new KafkaAdmin({ brokers: servers, clientId: 'kmf-api', callTimeoutMs: 20_000 });
    try {
      return await fn(admin);
    } catch (err) {
      throw apiError(err);
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  listTopics(): Promise<string[]> {
    return this.withAdmin((a) => listTopics(a));
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return this.withAdmin((a) => describeTopic(a, name));
  }

  createTopic(t: TopicSpec): Promise<TopicDescription> {
    return this.withAdmin(async (a) => {
      await createTopic(a, t);
      // The broker that answered the create may not have the new topic in its metadata yet: describe again
      // for a short while instead of answering 404 for a topic that was just created.
      for (let attempt = 0; ; attempt++) {
        try {
          return await describeTopic(a, t.name);
        } catch (err) {
          if (attempt >= 20 || !(err instanceof KmfError) || err.code !== 'kafka_unknown_topic') throw err;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    });
  }

  deleteTopic(name: string): Promise<void> {
    return this.withAdmin((a) => deleteTopic(a, name));
  }

  /** Grows a topic to `totalPartitions` (Kafka cannot shrink one). */
  addPartitions(name: string, totalPartitions: number): Promise<TopicDescription> {
    return this.withAdmin(async (a) => {
      await addPartitions(a, name, totalPartitions);
      return describeTopic(a, name);
    });
  }

  /** Sets (string) or removes (null) topic configs; the topic's other overrides are kept. */
  updateTopicConfigs(name: string, changes: Record<string, string | null>): Promise<TopicDescription> {
    return this.withAdmin(async (a) => {
      await updateTopicConfigs(a, name, changes);
      return describeTopic(a, name);
    });
  }

  // ---- broker lifecycle: update, stop/start, restart, replace, remove; controllers ----------------------

  /** Steps of the update plan for this cluster's nodes that are not finished: a roll in progress. */
  private rollingUnits(term: LeaderTerm, rec: KafkaClusterRecord): string[] {
    const prefix = `${rec.spec.name}/`;
    const update = term.plans().find((p) => p.name === 'update');
    return (update?.phases ?? []).flatMap((ph) => ph.steps).filter((s) => s.status !== 'COMPLETE' && s.unit.startsWith(prefix)).map((s) => s.unit);
  }

  /**
   * A spec change of the broker verbs, on the leader, in queue order: `change` checks (404 / 409 / 400) and
   * computes; a change that would start a restart while the cluster is being rolled is refused unless forced.
   * Nothing is written when anything is refused, or when nothing changes.
   */
  private async changeBrokers(
    what: string,
    opts: { force?: boolean; restarts: boolean; stopsBroker?: number },
    change: (spec: KafkaClusterSpec) => { spec: KafkaClusterSpec; changed: boolean },
  ): Promise<boolean> {
    const term = await this.leader();
    return term.mutateDesired(async (store) => {
      const rec = store.kafka;
      if (rec === undefined) throw new KmfError('not_found', 'no Kafka cluster yet: add brokers with POST /api/v1/brokers {"count": 3}');
      const next = change(rec.spec);
      if (!next.changed) return false;
      // A stop is immediate (not a roll step): it must pass the same roll-safety gate the update plan obeys.
      if (opts.stopsBroker !== undefined && opts.force !== true) {
        const unit = kafkaUnitName(rec.spec, { nodeId: opts.stopsBroker, kind: 'broker' });
        const hold = store.kafkaStopHolds?.[unit];
        if (hold !== undefined) {
          throw new KmfError('conflict', `${what} now is not safe: ${hold}; wait until it is (the hold is recomputed every second), or pass force=true`, {
            details: { broker: opts.stopsBroker, hold },
          });
        }
      }
      if (opts.restarts && opts.force !== true) {
        const busy = this.rollingUnits(term, rec);
        if (busy.length > 0) {
          throw new KmfError(
            'conflict',
            `the Kafka cluster is being rolled (${busy.join(', ')} not done yet); ${what} now would restart nodes on top of that roll: wait for the update plan (kmf plan show update --wait), or pass force=true`,
            { details: { plan: 'update', steps: busy } },
          );
        }
      }
      await store.putKafka({ ...rec, spec: next.spec, updatedAt: new Date().toISOString() });
      return true;
    });
  }

  /** Resources and server.properties overrides of one broker; a change restarts it through the update plan. */
  async updateBroker(id: number, change: BrokerChange, force?: boolean): Promise<{ broker: BrokerView; changed: boolean }> {
    const changed = await this.changeBrokers(`changing broker ${id}`, { restarts: true, ...(force === undefined ? {} : { force }) }, (spec) => updateBroker(spec, id, change));
    return { broker: await this.getBroker(id), changed };
  }

  /** Goal `stopped` (the task is killed; reservation and data stay) or `running`. */
  async setBrokerGoal(id: number, goal: 'running' | 'stopped', force?: boolean): Promise<{ broker: BrokerView; changed: boolean }> {
    const changed = await this.changeBrokers(
      `stopping broker ${id}`,
      { restarts: goal === 'stopped', ...(goal === 'stopped' ? { stopsBroker: id } : {}), ...(force === undefined ? {} : { force }) },
      (spec) => setBrokerGoal(spec, id, goal),
    );
    return { broker: await this.getBroker(id), changed };
  }

  /** Restarts one broker (its restart counter; the update plan restarts it behind the roll-safety gates). */
  async restartBroker(id: number, force?: boolean): Promise<BrokerView> {
    await this.changeBrokers(`restarting broker ${id}`, { restarts: true, ...(force === undefined ? {} : { force }) }, (spec) => ({ spec: restartBroker(spec, id), changed: true }));
    return this.getBroker(id);
  }

  /** Rolling restart of every node of the cluster, one at a time (the update plan). */
  async restartCluster(force?: boolean): Promise<BrokerView[]> {
    await this.changeBrokers('a rolling restart', { restarts: true, ...(force === undefined ? {} : { force }) }, (spec) => ({ spec: restartCluster(spec), changed: true }));
    return this.listBrokers();
  }

  /** Relaunches the broker with the same id on a fresh disk (the core's replace: new reservation and volume). */
  async replaceBroker(id: number, force?: boolean): Promise<BrokerView> {
    const term = await this.leader();
    const rec = term.kafka();
    if (rec === undefined) throw new KmfError('not_found', 'no Kafka cluster yet');
    const issue = replaceIssue(rec.spec, id);
    if (issue !== undefined) throw new KmfError('conflict', `cannot replace broker ${id}: ${issue}`, { details: { broker: id } });
    const unit = kafkaUnitName(rec.spec, { nodeId: id, kind: 'broker' });
    const busy = this.rollingUnits(term, rec);
    if (force !== true && busy.length > 0) {
      throw new KmfError('conflict', `the Kafka cluster is being rolled (${busy.join(', ')} not done yet): wait for the update plan, or pass force=true`, { details: { plan: 'update', steps: busy } });
    }
    await term.intent({ kind: 'replace', unit });
    return this.getBroker(id);
  }

  /**
   * Scale-in: refused (409) when a combined node, the last broker, another removal, the internal topics or a
   * partition's replication factor stand in the way; otherwise the broker is marked draining and the leader's
   * drain loop moves its replicas, stops it, releases its reservation and unregisters it.
   */
  async removeBroker(id: number): Promise<{ broker: BrokerView; changed: boolean }> {
    const term = await this.leader();
    const rec = term.kafka();
    if (rec === undefined) throw new KmfError('not_found', 'no Kafka cluster yet');
    const node = requireBroker(rec.spec, id);
    const phase = brokerPhase(node);
    if (phase !== 'draining' && phase !== 'removing') {
      const issues = removalIssues(rec.spec, id);
      if (issues.length > 0) throw new KmfError('conflict', `cannot remove broker ${id}: ${issues.join('; ')}`, { details: { broker: id, issues } });
      // The replicas must fit on the brokers that stay: ask Kafka before anything is written.
      const partitions = await this.withAdmin((a) => fetchPartitionStates(a));
      const plan = planRemoval(rec.spec, id, partitions);
      if (!plan.ok) {
        throw new KmfError('conflict', `cannot remove broker ${id}: ${plan.reason}`, { details: { broker: id, partitions: plan.partitions } });
      }
    }
    const changed = await this.changeBrokers(`removing broker ${id}`, { restarts: false }, (spec) => startRemoval(spec, id));
    return { broker: await this.getBroker(id), changed };
  }

  /** The KRaft controllers: placement, task, and (when the quorum answers) voter and leader. */
  async listControllers(): Promise<ControllersView> {
    const v = await this.view();
    if (v.record === undefined) return { controllers: [], quorum: { reachable: false, error: 'no Kafka cluster yet' } };
    const spec = v.record.spec;
    const byName = new Map(v.units.map((u) => [u.name, u]));
    const kinds = new Map(clusterNodes(spec).map((n) => [n.nodeId, n.kind]));
    let quorum: QuorumDescription | undefined;
    let error: string | undefined;
    const { bootstrapServers: servers } = await this.endpoints();
    if (servers.length === 0) error = 'no broker is running to ask';
    else {
      quorum = await describeQuorumFromAny(servers, { timeoutMs: 3_000 }).catch((err: unknown) => {
        error = err instanceof Error ? err.message : String(err);
        return undefined;
      });
    }
    const controllers = spec.controllers.nodes.map((c): ControllerView => {
      const kind = kinds.get(c.nodeId) === 'combined' ? 'combined' : 'dedicated';
      const unit = kafkaUnitName(spec, { nodeId: c.nodeId, kind: kind === 'combined' ? 'combined' : 'controller' });
      const u = byName.get(unit);
      const out: ControllerView = { id: c.nodeId, kind, unit, state: u?.state ?? 'waiting' };
      if (u?.task !== undefined) {
        out.host = u.task.hostname;
        const port = u.task.ports['controller'];
        if (port !== undefined) out.port = port;
        out.taskId = u.task.taskId;
        out.taskState = u.task.state;
      }
      if (quorum !== undefined) {
        out.voter = quorum.voters.some((r) => r.replicaId === c.nodeId);
        out.leader = quorum.leaderId === c.nodeId;
      }
      return out;
    });
    const q: ControllersView['quorum'] =
      quorum === undefined
        ? { reachable: false, ...(error === undefined ? {} : { error }) }
        : { reachable: true, leaderId: quorum.leaderId, leaderEpoch: quorum.leaderEpoch, highWatermark: quorum.highWatermark, observers: quorum.observers.map((o) => o.replicaId) };
    return { controllers, quorum: q };
  }

  /** The Kafka tarball, if `file` names it (`kafka-<version>.tgz`). */
  artifact(file: string): { path: string; size: number } {
    const kafka = this.runtime.kafkaOptions;
    if (kafka === undefined || file !== kafka.tarballName) throw new KmfError('not_found', `no artifact named "${file}"`);
    return { path: kafka.tarballPath, size: fs.statSync(kafka.tarballPath).size };
  }
}

/**
 * The admin API's view of a Kafka failure: a missing topic is not_found, a request Kafka refused is the
 * caller's (400), an existing topic a conflict (409); a cluster that does not answer is unavailable (503).
 */
function apiError(err: unknown): unknown {
  if (!(err instanceof KmfError)) return err;
  switch (err.code) {
    case 'kafka_unknown_topic':
      return new KmfError('not_found', err.message, { cause: err });
    case 'kafka_invalid_request':
      return new KmfError('invalid_request', err.message, { cause: err, details: { issues: [err.message] } });
    case 'kafka_topic_exists':
      return err;
    default:
      return err.code.startsWith('kafka_') ? new KmfError('kafka_unavailable', err.message, { cause: err, retriable: true }) : err;
  }
}

// ---- cluster configuration (cluster overrides, resources, JVM options, version) -------------------------

export interface ClusterConfigView {
  name: string;
  clusterId: string;
  version: string;
  /** The Kafka version this scheduler serves (what a version change may move to). */
  servedVersion?: string;
  /** server.properties overrides of every node. */
  overrides: Record<string, string>;
  /** Defaults kmf chose at creation (overrides win over them). */
  defaults: Record<string, string>;
  brokers: { resources: NodeResources; count: number };
  controllers: { mode: string; quorum: string; nodeIds: number[]; resources: NodeResources; overrides: Record<string, string> };
  killGracePeriodSeconds: { broker: number; controller: number };
  /** The rolling update of the cluster's nodes: the units still to roll (or restarting), and its plan state. */
  roll: { inProgress: boolean; paused: boolean; pending: string[] };
  /** Rolls may stop brokers of partitions whose replication factor is not above min.insync.replicas. */
  allowUnsatisfiableRolls: boolean;
  updatedAt: string;
}

export interface ClusterConfigUpdate extends ClusterConfigChange {
  /** Change the config even while a roll of the cluster is still running (409 otherwise). */
  force?: boolean;
}

/** The Kafka units the update plan still has to roll (stale) or is restarting. */
function rollingUnits(spec: KafkaClusterSpec, units: readonly UnitView[]): string[] {
  const prefix = `${spec.name}/`;
  return units.filter((u) => u.name.startsWith(prefix) && u.plan === 'update').map((u) => u.name);
}

export class KafkaClusterConfigService {
  constructor(
    private readonly runtime: SchedulerRuntime,
    private readonly leader: () => Promise<LeaderTerm>,
  ) {}

  private async view(): Promise<{ record: KafkaClusterRecord; units: UnitView[]; paused: boolean }> {
    const term = this.runtime.leaderTerm();
    let record: KafkaClusterRecord | undefined;
    let units: UnitView[] = [];
    let paused = false;
    if (term?.isLoaded === true) {
      record = term.kafka();
      units = term.units();
      paused = term.plans().find((p) => p.name === 'update')?.paused === true;
    } else record = (await loadKafkaRecord(this.runtime.store)).record;
    if (record === undefined) throw new KmfError('kafka_cluster_not_found', 'no Kafka cluster yet: add brokers with POST /api/v1/brokers {"count": 3}');
    return { record, units, paused };
  }

  private render(record: KafkaClusterRecord, units: readonly UnitView[], paused: boolean): ClusterConfigView {
    const s = record.spec;
    const pending = rollingUnits(s, units);
    const v: ClusterConfigView = {
      name: s.name,
      clusterId: s.clusterId,
      version: s.version,
      overrides: { ...s.overrides },
      defaults: { ...s.defaults },
      brokers: { resources: { ...s.brokers.resources }, count: s.brokers.nodes.filter((b) => b.goal !== 'removed').length },
      controllers: { mode: s.controllers.mode, quorum: s.controllers.quorum, nodeIds: s.controllers.nodes.map((n) => n.nodeId), resources: { ...s.controllers.resources }, overrides: { ...s.controllers.overrides } },
      killGracePeriodSeconds: { ...s.killGracePeriodSeconds },
      roll: { inProgress: pending.length > 0, paused, pending },
      allowUnsatisfiableRolls: s.rollPolicy?.allowUnsatisfiable === true,
      updatedAt: record.updatedAt,
    };
    const served = this.runtime.kafkaOptions?.version;
    if (served !== undefined) v.servedVersion = served;
    return v;
  }

  async get(): Promise<ClusterConfigView> {
    const { record, units, paused } = await this.view();
    return this.render(record, units, paused);
  }

  /**
   * Changes the cluster's configuration; every node whose task changes is then rolled by the update plan,
   * one at a time behind the roll gate. 409 (conflict) while an earlier roll of the cluster is still going,
   * unless `force`.
   */
  async update(input: ClusterConfigUpdate): Promise<{ config: ClusterConfigView; changes: string[] }> {
    const term = await this.leader();
    const served = this.runtime.kafkaOptions?.version;
    if (input.version !== undefined && served !== undefined && input.version !== served) {
      throw new KmfError('kafka_version_invalid', `this scheduler serves Kafka ${served} only; version ${input.version} cannot be run (install its distribution and restart the scheduler)`, {
        details: { issues: [`version ${input.version} is not served (served: ${served})`] },
      });
    }
    const { force, ...change } = input;
    let changes: string[] = [];
    await term.mutateDesired(async (store) => {
      const rec = store.kafka;
      if (rec === undefined) throw new KmfError('kafka_cluster_not_found', 'no Kafka cluster yet: add brokers with POST /api/v1/brokers {"count": 3}');
      const busy = rollingUnits(rec.spec, term.units());
      if (busy.length > 0 && force !== true) {
        throw new KmfError('conflict', `the Kafka cluster is still rolling (${busy.join(', ')} not done yet); a new change now would start another roll on top: wait for the update plan (kmf plan show update --wait), or pass force`, {
          details: { plan: 'update', steps: busy },
        });
      }
      const next = updateClusterConfig(rec.spec, change);
      changes = next.changes;
      if (changes.length === 0) return;
      await store.putKafka({ ...rec, spec: next.spec, updatedAt: new Date().toISOString() });
    });
    return { config: await this.get(), changes };
  }
}
