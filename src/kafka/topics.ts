/**
 * Topic operations through the kafkajs admin: create, list, describe (partitions, leaders, ISR, configs), add
 * partitions, update configs, delete. Inputs are validated here so the API can answer 400 with a clear message
 * before anything reaches Kafka.
 */
import { sleep } from '../util/backoff.js';
import { KmfError } from '../util/errors.js';
import { ConfigResourceTypes, ConfigSource, type KafkaAdmin } from './admin.js';
import { fetchPartitionStates, type PartitionState } from './roll-safety.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

export interface TopicConfigEntry {
  value: string | null;
  /** Where the value comes from: `topic` (set on the topic), `broker` (a broker setting), `default` (Kafka's). */
  source: 'topic' | 'broker' | 'default' | 'other';
  readOnly: boolean;
  sensitive: boolean;
}

export interface TopicDescription {
  name: string;
  internal: boolean;
  partitions: Array<Omit<PartitionState, 'topic'> & { offline: boolean }>;
  replicationFactor: number;
  configs: Record<string, TopicConfigEntry>;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_TOPIC_NAME = 249;

export function topicNameIssues(name: string): string[] {
  if (typeof name !== 'string' || name === '') return ['topic name is empty'];
  if (name === '.' || name === '..') return [`topic name "${name}" is not allowed`];
  if (name.length > MAX_TOPIC_NAME) return [`topic name is longer than ${MAX_TOPIC_NAME} characters`];
  if (!TOPIC_NAME.test(name)) return [`topic name "${name}" may only contain letters, digits, '.', '_' and '-'`];
  return [];
}

export function topicSpecIssues(t: TopicSpec): string[] {
  const out = topicNameIssues(t.name);
  if (!Number.isInteger(t.partitions) || t.partitions < 1) out.push(`partitions must be a whole number >= 1 (got ${String(t.partitions)})`);
  if (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1 || t.replicationFactor > 32767) {
    out.push(`replicationFactor must be a whole number >= 1 (got ${String(t.replicationFactor)})`);
  }
  out.push(...configIssues(t.configs ?? {}));
  return out;
}

function configIssues(configs: Record<string, string | null>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(configs)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(k)) out.push(`"${k}" is not a topic config name`);
    if (v !== null && typeof v !== 'string') out.push(`the value of ${k} must be a string`);
  }
  return out;
}

function invalid(issues: string[]): KmfError {
  return new KmfError('kafka_invalid_request', issues.join('; '), { details: { issues } });
}

/** Creates a topic; KmfError `kafka_topic_exists` if it already does. Waits until every partition has a leader. */
export async function createTopic(admin: KafkaAdmin, t: TopicSpec, timeoutMs = 15_000): Promise<void> {
  const issues = topicSpecIssues(t);
  if (issues.length > 0) throw invalid(issues);
  const created = await admin.call(
    `create topic ${t.name}`,
    (a) =>
      a.createTopics({
        // kafkajs' own leader wait gives up when the broker it asks has not seen the new topic yet
        // (UNKNOWN_TOPIC_OR_PARTITION, common in KRaft right after creation): kmf waits itself.
        waitForLeaders: false,
        timeout: timeoutMs,
        topics: [
          {
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: t.replicationFactor,
            configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          },
        ],
      }),
    timeoutMs + 5_000,
  );
  if (!created) throw new KmfError('kafka_topic_exists', `topic ${t.name} already exists`);
  await waitForLeaders(admin, t.name, t.partitions, timeoutMs);
}

/**
 * Until the metadata shows `partitions` partitions of `name`, each with a leader. Metadata propagates to
 * brokers asynchronously, so "unknown topic" and missing partitions mean "not yet" here.
 */
export async function waitForLeaders(admin: KafkaAdmin, name: string, partitions: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const states = (await fetchPartitionStates(admin, [name])).filter((p) => p.topic === name);
      const led = states.filter((p) => p.leader >= 0).length;
      if (states.length >= partitions && led === states.length) return;
      last = `${led} of ${partitions} partitions have a leader`;
    } catch (err) {
      if (!(err instanceof KmfError) || (err.code !== 'kafka_unknown_topic' && !err.retriable)) throw err;
      last = err.message;
    }
    if (Date.now() > deadline) throw new KmfError('kafka_timeout', `topic ${name}: ${last} after ${timeoutMs} ms`, { retriable: true });
    await sleep(100);
  }
}

/** Topic names, sorted; internal topics (`__consumer_offsets`, …) only if asked for. */
export async function listTopics(admin: KafkaAdmin, opts: { includeInternal?: boolean } = {}): Promise<string[]> {
  const names = await admin.call('list topics', (a) => a.listTopics());
  return names.filter((n) => opts.includeInternal === true || !isInternalTopic(n)).sort();
}

export function isInternalTopic(name: string): boolean {
  return name.startsWith('__');
}

/** DescribeConfigs' ConfigSource numbers (kafkajs' enum), grouped the way an operator reads them. */
const SOURCES = new Map<number, TopicConfigEntry['source']>([
  [Number(ConfigSource.TOPIC_CONFIG), 'topic'],
  [Number(ConfigSource.DYNAMIC_BROKER_CONFIG), 'broker'],
  [Number(ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG), 'broker'],
  [Number(ConfigSource.STATIC_BROKER_CONFIG), 'broker'],
  [Number(ConfigSource.DEFAULT_CONFIG), 'default'],
]);

function sourceOf(s: number): TopicConfigEntry['source'] {
  return SOURCES.get(Number(s)) ?? 'other';
}

async function topicConfigs(admin: KafkaAdmin, names: readonly string[]): Promise<Map<string, Record<string, TopicConfigEntry>>> {
  const out = new Map<string, Record<string, TopicConfigEntry>>();
  if (names.length === 0) return out;
  const res = await admin.call('describe topic configs', (a) =>
    a.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) }),
  );
  for (const r of res.resources) {
    if (r.errorCode !== 0) continue;
    const configs: Record<string, TopicConfigEntry> = {};
    for (const e of r.configEntries) {
      configs[e.configName] = {
        value: e.isSensitive ? null : e.configValue,
        source: sourceOf(e.configSource),
        readOnly: e.readOnly,
        sensitive: e.isSensitive,
      };
    }
    out.set(r.resourceName, configs);
  }
  return out;
}

/** Describes topics (all non-internal ones when `names` is omitted). Unknown names: `kafka_unknown_topic`. */
export async function describeTopics(admin: KafkaAdmin, names?: readonly string[]): Promise<TopicDescription[]> {
  for (const n of names ?? []) {
    const issues = topicNameIssues(n);
    if (issues.length > 0) throw invalid(issues);
  }
  const wanted = names ?? (await listTopics(admin));
  if (wanted.length === 0) return [];
  const existing = new Set(await admin.call('list topics', (a) => a.listTopics()));
  const missing = wanted.filter((n) => !existing.has(n));
  if (missing.length > 0) throw new KmfError('kafka_unknown_topic', `no such topic: ${missing.join(', ')}`);
  const states = await fetchPartitionStates(admin, wanted);
  const configs = await topicConfigs(admin, wanted);
  return wanted.map((name) => {
    const partitions = states
      .filter((p) => p.topic === name)
      .map(({ topic: _topic, ...p }) => ({ ...p, offline: p.leader < 0 }));
    return {
      name,
      internal: isInternalTopic(name),
      partitions,
      replicationFactor: partitions[0]?.replicas.length ?? 0,
      configs: configs.get(name) ?? {},
    };
  });
}

export async function describeTopic(admin: KafkaAdmin, name: string): Promise<TopicDescription> {
  const [d] = await describeTopics(admin, [name]);
  if (!d) throw new KmfError('kafka_unknown_topic', `no such topic: ${name}`);
  return d;
}

/** Grows a topic to `totalPartitions` partitions (Kafka cannot shrink one). */
export async function addPartitions(admin: KafkaAdmin, name: string, totalPartitions: number): Promise<void> {
  const issues = topicNameIssues(name);
  if (!Number.isInteger(totalPartitions) || totalPartitions < 1) issues.push(`the partition count must be a whole number >= 1 (got ${String(totalPartitions)})`);
  if (issues.length > 0) throw invalid(issues);
  const current = (await describeTopic(admin, name)).partitions.length;
  if (totalPartitions <= current) {
    throw new KmfError('kafka_invalid_request', `topic ${name} has ${current} partitions; the new count must be higher (Kafka cannot remove partitions)`);
  }
  await admin.call(`add partitions to ${name}`, (a) => a.createPartitions({ topicPartitions: [{ topic: name, count: totalPartitions }] }));
  await waitForLeaders(admin, name, totalPartitions);
}

/**
 * Sets (string) or removes (null) topic configs, keeping the other overrides. kafkajs only has the
 * non-incremental AlterConfigs, which replaces a topic's whole set of overrides: so the current overrides are
 * read first and sent back with the change. A concurrent change by another client between the two calls is
 * lost (last writer wins); kmf is the only writer in normal operation.
 */
export async function updateTopicConfigs(admin: KafkaAdmin, name: string, changes: Record<string, string | null>): Promise<Record<string, string>> {
  const issues = [...topicNameIssues(name), ...configIssues(changes)];
  if (Object.keys(changes).length === 0) issues.push('no config changes given');
  if (issues.length > 0) throw invalid(issues);
  const current = (await describeTopic(admin, name)).configs;
  const overrides: Record<string, string> = {};
  for (const [k, e] of Object.entries(current)) {
    if (e.source !== 'topic') continue;
    // A sensitive value is not returned, so it could not be sent back: refuse rather than silently drop it.
    if (e.value === null && !(k in changes)) {
      throw new KmfError('kafka_invalid_request', `topic ${name} has a sensitive config ${k} that would be lost; include it in the change`);
    }
    if (e.value !== null) overrides[k] = e.value;
  }
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete overrides[k];
    else overrides[k] = v;
  }
  await admin.call(`alter configs of ${name}`, (a) =>
    a.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: Object.entries(overrides).map(([k, value]) => ({ name: k, value })) }],
    }),
  );
  return overrides;
}

export async function deleteTopic(admin: KafkaAdmin, name: string, timeoutMs = 15_000): Promise<void> {
  const issues = topicNameIssues(name);
  if (issues.length > 0) throw invalid(issues);
  const existing = await admin.call('list topics', (a) => a.listTopics());
  if (!existing.includes(name)) throw new KmfError('kafka_unknown_topic', `no such topic: ${name}`);
  await admin.call(`delete topic ${name}`, (a) => a.deleteTopics({ topics: [name], timeout: timeoutMs }), timeoutMs + 5_000);
}
