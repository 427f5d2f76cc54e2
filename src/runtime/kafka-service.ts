/**
 * What the admin API asks of the Kafka cluster: add and list brokers, the bootstrap servers, topics, and the
 * Kafka tarball the agents fetch. Changes go to the leader (through the fenced desired state, like apps);
 * reads come from the leader's live state, or from ZooKeeper on a standby.
 */
import fs from 'node:fs';
import type { UnitView } from '../core/plans.js';
import { KafkaAdmin } from '../kafka/admin.js';
import { bootstrapServers, type BrokerPlacement } from '../kafka/bootstrap.js';
import { addBrokers, clusterIssues, clusterNodes, createClusterSpec, type NodeResources } from '../kafka/cluster-model.js';
import { addPartitions, createTopic, deleteTopic, describeTopic, listTopics, updateTopicConfigs, type TopicDescription, type TopicSpec } from '../kafka/topics.js';
import { kafkaUnitName } from '../kafka/units.js';
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
}

function brokerView(record: KafkaClusterRecord, units: readonly UnitView[]): BrokerView[] {
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
      };
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
  constructor(private readonly runtime: SchedulerRuntime) {}

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

  private async view(): Promise<{ record: KafkaClusterRecord | undefined; units: UnitView[] }> {
    const term = this.runtime.leaderTerm();
    if (term?.isLoaded === true) return { record: term.kafka(), units: term.units() };
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
    return v.record === undefined ? [] : brokerView(v.record, v.units);
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
