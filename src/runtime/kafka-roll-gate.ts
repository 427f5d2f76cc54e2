/**
 * Leader-only roll gate of the Kafka cluster: at every readiness round it reads the partition metadata (one
 * Metadata request, plus a DescribeConfigs for the topics' min ISR when the topic set changed or every 30 s)
 * and turns it into the core's stop holds (src/kafka/roll-safety.ts
 * `rollHolds` decides; this file only gathers the facts and hands the result to the leadership term).
 *
 * The core's update pass restarts one unit at a time and waits for it to be ready; the holds add what only
 * the cluster knows: no stop that would take a partition below min.insync.replicas, no next restart before
 * the ISR has recovered from the previous one, controllers before brokers, the active controller last.
 * A cluster that does not answer holds every Kafka unit: unknown is never "safe".
 */
import type { UnitView } from '../core/plans.js';
import type { KafkaAdmin } from '../kafka/admin.js';
import type { KafkaClusterSpec } from '../kafka/cluster-model.js';
import type { QuorumDescription } from '../kafka/kraft-quorum.js';
import { fetchMinIsr, fetchPartitionStates, rollHolds, type PartitionState, type RollUnit } from '../kafka/roll-safety.js';
import { KAFKA_BROKER_KIND, KAFKA_CONTROLLER_KIND } from '../kafka/units.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { KafkaClusterRecord } from './kafka-desired.js';

/** What the gate needs from the leadership term (LeaderTerm implements it). */
export interface KafkaRollGateTarget {
  kafka(): KafkaClusterRecord | undefined;
  setKafkaStopHolds(holds: Readonly<Record<string, string>>): void;
}

const NODE_ID = /-(\d+)$/;

/** The cluster's own min.insync.replicas: its override, else the default kmf stored, else Kafka's 1. */
export function clusterMinIsr(spec: KafkaClusterSpec): number {
  const v = Number(spec.overrides['min.insync.replicas'] ?? spec.defaults['min.insync.replicas'] ?? '1');
  return Number.isInteger(v) && v >= 1 ? v : 1;
}

/** The gate's view of the cluster's units (goal running only: the others are not rolled). */
export function rollUnits(spec: KafkaClusterSpec, units: readonly UnitView[]): RollUnit[] {
  const controllerIds = new Set(spec.controllers.nodes.map((c) => c.nodeId));
  const out: RollUnit[] = [];
  for (const u of units) {
    if (u.goal !== 'running' || (u.kind !== KAFKA_BROKER_KIND && u.kind !== KAFKA_CONTROLLER_KIND)) continue;
    const m = NODE_ID.exec(u.name);
    if (m?.[1] === undefined) continue;
    const nodeId = Number(m[1]);
    const dedicated = u.kind === KAFKA_CONTROLLER_KIND;
    out.push({
      unit: u.name,
      nodeId,
      broker: !dedicated,
      controller: dedicated || controllerIds.has(nodeId),
      dedicatedController: dedicated,
      stale: u.plan === 'update' && u.task !== undefined && u.task.version !== u.version,
      ready: u.task?.state === 'TASK_RUNNING' && u.task.ready,
    });
  }
  return out;
}

/** How long the topics' min.insync.replicas are reused while the topic set stays the same. */
export const MIN_ISR_REFRESH_MS = 30_000;

/**
 * The topics' effective min.insync.replicas, read again when the set of topics changes or after `refreshMs`.
 * The gate runs every second and the values change only when someone alters a topic's config, so asking
 * for every topic every round is wasted work on a large cluster; a change made meanwhile is seen within
 * `refreshMs` (a new topic at once). A failed read is not cached: the next round asks again.
 */
export class MinIsrCache {
  private cached: { topics: string; at: number; values: Map<string, number> } | undefined;

  constructor(
    private readonly refreshMs = MIN_ISR_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async get(topics: readonly string[], load: (topics: readonly string[]) => Promise<Map<string, number>>): Promise<Map<string, number>> {
    const key = [...new Set(topics)].sort().join('\n');
    const c = this.cached;
    if (c !== undefined && c.topics === key && this.now() - c.at < this.refreshMs) return c.values;
    const values = await load(topics);
    this.cached = { topics: key, at: this.now(), values };
    return values;
  }
}

export class KafkaRollGate {
  private last: string | undefined;
  private readonly minIsrCache = new MinIsrCache();

  constructor(
    private readonly term: KafkaRollGateTarget,
    private readonly log: Logger,
  ) {}

  /**
   * One evaluation. `admin` is a client of the running brokers (undefined when none runs), `quorum` the
   * metadata quorum if it could be read this round.
   */
  async evaluate(units: readonly UnitView[], admin: KafkaAdmin | undefined, quorum: QuorumDescription | undefined): Promise<void> {
    const record = this.term.kafka();
    if (record === undefined) return;
    const spec = record.spec;
    let partitions: PartitionState[] | undefined;
    let minIsr = new Map<string, number>();
    let unknownReason: string | undefined;
    if (admin === undefined) unknownReason = 'no broker is running';
    else {
      try {
        partitions = await fetchPartitionStates(admin);
        minIsr = await this.minIsrCache.get([...new Set(partitions.map((p) => p.topic))], (topics) => fetchMinIsr(admin, topics));
      } catch (err) {
        partitions = undefined;
        unknownReason = errorMessage(err);
      }
    }
    const holds = rollHolds({
      units: rollUnits(spec, units),
      partitions,
      ...(unknownReason === undefined ? {} : { unknownReason }),
      minIsr,
      defaultMinIsr: clusterMinIsr(spec),
      expectedBrokers: new Set(spec.brokers.nodes.filter((b) => b.goal === 'running').map((b) => b.nodeId)),
      quorum,
      allowUnsatisfiable: spec.rollPolicy?.allowUnsatisfiable === true,
    });
    const text = JSON.stringify(holds);
    if (text !== this.last) {
      this.last = text;
      this.log.info('kafka roll holds changed', { holds });
    }
    this.term.setKafkaStopHolds(holds);
  }
}
