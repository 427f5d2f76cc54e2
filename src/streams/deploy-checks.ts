/**
 * Checks of a streams app that need more than its JSON: whether the artifact it names is served here, and how
 * many partitions its input topics have (an instance beyond the partition count would own no task and sit idle;
 * the autoscaler never goes past it either). A topic whose partition count cannot be read right now (no cluster
 * yet, brokers down, topic not created yet) is not held against the spec.
 */
import { isArtifactUrl } from './spec.js';

export interface StreamsCheckDeps {
  artifactExists(name: string): boolean;
  artifactNames(): string[];
  /** Partition count of a topic, or undefined when it is unknown. */
  partitions(topic: string): Promise<number | undefined>;
}

export interface StreamsCheckInput {
  type?: unknown;
  artifact?: unknown;
  instances?: unknown;
  autoscale?: { max?: unknown; inputTopics?: unknown } | undefined;
}

/** The largest partition count among the topics whose count is known (a sub-topology's task count). */
export async function inputPartitions(deps: Pick<StreamsCheckDeps, 'partitions'>, topics: readonly string[]): Promise<number | undefined> {
  let best: number | undefined;
  for (const t of topics) {
    const n = await deps.partitions(t).catch(() => undefined);
    if (n !== undefined) best = Math.max(best ?? 0, n);
  }
  return best;
}

/** Every problem found (empty: fine). */
export async function streamsDeployIssues(input: StreamsCheckInput, deps: StreamsCheckDeps): Promise<string[]> {
  if (input.type !== 'streams') return [];
  const issues: string[] = [];
  const artifact = input.artifact;
  if (typeof artifact === 'string' && !isArtifactUrl(artifact) && !deps.artifactExists(artifact)) {
    const names = deps.artifactNames();
    issues.push(`artifact "${artifact}" is not served by kmf (GET /artifacts/<name>): ${names.length === 0 ? 'no artifact is registered (put jars in KMF_ARTIFACTS_DIR)' : `served: ${names.join(', ')}`}`);
  }
  const max = input.autoscale?.max;
  if (typeof max === 'number' && typeof input.instances === 'number' && input.instances > max) {
    issues.push(`instances (${input.instances}) is more than autoscale.max (${max})`);
  }
  const topics = Array.isArray(input.autoscale?.inputTopics) ? input.autoscale.inputTopics.filter((t): t is string => typeof t === 'string') : [];
  if (topics.length > 0) {
    const parts = await inputPartitions(deps, topics);
    if (parts !== undefined) {
      const instances = typeof input.instances === 'number' ? input.instances : 1;
      if (instances > parts) issues.push(`instances (${instances}) is more than the input topics' ${parts} partition(s) (${topics.join(', ')}): the extra instances would own no task`);
      if (typeof max === 'number' && max > parts) issues.push(`autoscale.max (${max}) is more than the input topics' ${parts} partition(s) (${topics.join(', ')}): add partitions or lower autoscale.max`);
    }
  }
  return issues;
}
