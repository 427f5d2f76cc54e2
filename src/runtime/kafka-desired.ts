/**
 * The Kafka cluster in the desired state: one record in ZooKeeper next to the apps,
 *
 *   /desired/kafka             {spec, quorumFormed, createdAt, updatedAt}
 *
 * and its units (src/kafka/units.ts) as part of the core's desired input. `quorumFormed` lives in the same
 * record because it is desired-state-like: once the dynamic quorum has formed, every later controller
 * format must join instead of bootstrapping (kafkaRenderHook); it is set once and never reset.
 */
import type { KafkaClusterSpec } from '../kafka/cluster-model.js';
import { kafkaUnits, type KafkaUnitsOptions } from '../kafka/units.js';
import type { StateStore } from '../state/state-store.js';
import type { DesiredInput } from '../model/units.js';

export const KAFKA_PATH = '/desired/kafka';

export interface KafkaClusterRecord {
  spec: KafkaClusterSpec;
  quorumFormed: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What the scheduler process supplies for Kafka units: where the tarball is served, the distribution layout. */
export interface KafkaRuntimeOptions {
  /** Kafka version of the served distribution (new clusters run it). */
  version: string;
  /** Data on persistent volumes (needs a framework role other than "*"). */
  volumes: boolean;
  /** The served tarball: its file name in GET /artifacts/<name> and its path on this host. */
  tarballName: string;
  tarballPath: string;
  /** Built per call (the tarball URI is `kmf-artifact:<file>`, resolved at launch by the render hook). */
  unitOptions: () => KafkaUnitsOptions;
}

export function decodeKafkaRecord(data: Buffer | undefined): { record: KafkaClusterRecord | undefined; problem?: string } {
  if (data === undefined) return { record: undefined };
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    const rec = v as Partial<KafkaClusterRecord>;
    if (typeof rec.spec !== 'object' || rec.spec === null || typeof rec.spec.name !== 'string') throw new Error('no cluster spec');
    return {
      record: {
        spec: rec.spec,
        quorumFormed: rec.quorumFormed === true,
        createdAt: rec.createdAt ?? new Date(0).toISOString(),
        updatedAt: rec.updatedAt ?? new Date(0).toISOString(),
      },
    };
  } catch (err) {
    return { record: undefined, problem: `${KAFKA_PATH}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function loadKafkaRecord(store: StateStore): Promise<{ record: KafkaClusterRecord | undefined; problem?: string }> {
  const node = await store.get(KAFKA_PATH);
  return decodeKafkaRecord(node?.data);
}

/** The cluster's units (every node of the spec, with its goal) and phases; empty without a cluster. */
export function kafkaDesiredInput(record: KafkaClusterRecord | undefined, opts: KafkaRuntimeOptions | undefined): DesiredInput {
  if (record === undefined || opts === undefined) return { units: [], phases: [] };
  return kafkaUnits(record.spec, opts.unitOptions());
}
