/**
 * Leader-only guard of controller moves: at every readiness round (same DescribeQuorum as the readiness
 * verdicts) it decides which controllers may not be replaced on a fresh disk now (kraft-quorum.ts
 * `controllerReplaceHolds`) and hands them to the core as replace holds.
 *
 * kmf does not change the voter set itself. Kafka's auto-join (controller.quorum.auto.join.enable, on every
 * controller of a dynamic quorum) already removes a moved controller's stale voter entry and adds its new
 * one; a second actor sending RemoveRaftVoter/AddRaftVoter would only race it. What Kafka cannot do is keep
 * kmf from throwing a disk away: a controller whose agent is gone is replaced after the permanent-failure
 * time, and when the other voters cannot commit its re-join, the fresh disk never joins while the old one
 * (which may come back with its agent) was the only way back. The hold keeps the unit waiting for its agent.
 */
import type { UnitView } from '../core/plans.js';
import { clusterNodes, type KafkaClusterSpec } from '../kafka/cluster-model.js';
import { controllerReplaceHolds, type QuorumDescription } from '../kafka/kraft-quorum.js';
import { kafkaUnitName } from '../kafka/units.js';
import type { Logger } from '../util/log.js';
import type { KafkaClusterRecord } from './kafka-desired.js';

/** What the guard needs from the leadership term (LeaderTerm implements it). */
export interface KafkaQuorumGuardTarget {
  kafka(): KafkaClusterRecord | undefined;
  setKafkaReplaceHolds(holds: Readonly<Record<string, string>>): void;
}

/** Until the guard's first round, every controller of a formed quorum is held with this reason. */
export const REPLACE_NOT_CHECKED = 'the metadata quorum was not checked yet (the scheduler has just started leading): no controller moves to a fresh disk before';

/** The controllers of a spec with their unit names (combined nodes are `broker-N` units). */
export function controllerUnits(spec: KafkaClusterSpec): Array<{ unit: string; nodeId: number }> {
  const ids = new Set(spec.controllers.nodes.map((c) => c.nodeId));
  return clusterNodes(spec)
    .filter((n) => ids.has(n.nodeId))
    .map((n) => ({ unit: kafkaUnitName(spec, n), nodeId: n.nodeId }));
}

/** The holds before the first check: every controller of a quorum that formed (nothing to protect before). */
export function initialReplaceHolds(record: KafkaClusterRecord | undefined): Record<string, string> {
  if (record === undefined || !record.quorumFormed) return {};
  return Object.fromEntries(controllerUnits(record.spec).map((c) => [c.unit, REPLACE_NOT_CHECKED]));
}

export class KafkaQuorumGuard {
  private last: string | undefined;

  constructor(
    private readonly term: KafkaQuorumGuardTarget,
    private readonly log: Logger,
  ) {}

  /** One evaluation; `quorum` is undefined when it could not be read this round (`unknownReason` says why). */
  evaluate(units: readonly UnitView[], quorum: QuorumDescription | undefined, unknownReason?: string): void {
    const record = this.term.kafka();
    if (record === undefined) return;
    const known = new Set(units.map((u) => u.name));
    const holds = controllerReplaceHolds({
      controllers: controllerUnits(record.spec).filter((c) => known.has(c.unit)),
      quorumFormed: record.quorumFormed,
      quorum,
      ...(unknownReason === undefined ? {} : { unknownReason }),
    });
    const text = JSON.stringify(holds);
    if (text !== this.last) {
      if (Object.keys(holds).length > 0) this.log.warn('controller moves held', { holds });
      else if (this.last !== undefined) this.log.info('controller moves allowed again');
      this.last = text;
    }
    this.term.setKafkaReplaceHolds(holds);
  }
}
