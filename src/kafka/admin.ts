/**
 * One kafkajs admin client per Kafka cluster, with kmf's error shape: every failure becomes a KmfError with a
 * stable code and `retriable`, so callers (plans, the API) never see kafkajs' error zoo. Connects lazily,
 * reconnects after a failure, and bounds every call with a timeout.
 *
 * kafkajs is CommonJS; Node's ESM named-export detection misses some of its exports, hence the default import.
 */
import kafkajs, { type Admin, type Kafka as KafkaClient, type LogEntry } from 'kafkajs';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';

const { Kafka, logLevel } = kafkajs;

// kafkajs prints a partitioner notice on every producer creation unless this is set; kmf never relies on the
// default partitioner's behaviour for correctness.
process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';

export interface KafkaAdminOptions {
  /** Bootstrap servers, `host:port`. */
  brokers: readonly string[];
  clientId?: string;
  logger?: Logger;
  /** TCP connect timeout per broker (kafkajs default 1000 ms). */
  connectionTimeoutMs?: number;
  /** Per-request timeout (kafkajs default 30 s; admin calls here are small). */
  requestTimeoutMs?: number;
  /** kafkajs' own retries of retriable errors inside one call. */
  retries?: number;
  /** Upper bound of a whole call, retries included. */
  callTimeoutMs?: number;
}

/** kafkajs protocol error types that map to their own KmfError code. */
const TYPE_CODES: Record<string, { code: string; retriable?: boolean }> = {
  TOPIC_ALREADY_EXISTS: { code: 'kafka_topic_exists' },
  UNKNOWN_TOPIC_OR_PARTITION: { code: 'kafka_unknown_topic' },
  UNKNOWN_TOPIC_ID: { code: 'kafka_unknown_topic' },
  INVALID_PARTITIONS: { code: 'kafka_invalid_request' },
  INVALID_REPLICATION_FACTOR: { code: 'kafka_invalid_request' },
  INVALID_REPLICA_ASSIGNMENT: { code: 'kafka_invalid_request' },
  INVALID_CONFIG: { code: 'kafka_invalid_request' },
  INVALID_TOPIC_EXCEPTION: { code: 'kafka_invalid_request' },
  INVALID_REQUEST: { code: 'kafka_invalid_request' },
  POLICY_VIOLATION: { code: 'kafka_invalid_request' },
  TOPIC_DELETION_DISABLED: { code: 'kafka_invalid_request' },
  INVALID_PARTITIONS_COUNT: { code: 'kafka_invalid_request' },
  NO_REASSIGNMENT_IN_PROGRESS: { code: 'kafka_no_reassignment' },
  TOPIC_AUTHORIZATION_FAILED: { code: 'kafka_not_authorized' },
  CLUSTER_AUTHORIZATION_FAILED: { code: 'kafka_not_authorized' },
  GROUP_AUTHORIZATION_FAILED: { code: 'kafka_not_authorized' },
  GROUP_ID_NOT_FOUND: { code: 'kafka_unknown_group' },
  NON_EMPTY_GROUP: { code: 'kafka_group_not_empty' },
  REQUEST_TIMED_OUT: { code: 'kafka_timeout', retriable: true },
  NOT_CONTROLLER: { code: 'kafka_unavailable', retriable: true },
  LEADER_NOT_AVAILABLE: { code: 'kafka_unavailable', retriable: true },
  NOT_LEADER_OR_FOLLOWER: { code: 'kafka_unavailable', retriable: true },
  COORDINATOR_NOT_AVAILABLE: { code: 'kafka_unavailable', retriable: true },
  COORDINATOR_LOAD_IN_PROGRESS: { code: 'kafka_unavailable', retriable: true },
  NOT_COORDINATOR: { code: 'kafka_unavailable', retriable: true },
  REASSIGNMENT_IN_PROGRESS: { code: 'kafka_busy', retriable: true },
};

interface KafkaJsLike {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
  message?: unknown;
}

/** The kafkajs errors inside `err` (wrappers, retry exhaustion, aggregates), outermost first. */
function errorChain(err: unknown): KafkaJsLike[] {
  const out: KafkaJsLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null) continue;
    const k = e as KafkaJsLike;
    out.push(k);
    if (k.cause !== undefined && k.cause !== e) queue.push(k.cause);
    if (k.originalError !== undefined && k.originalError !== e) queue.push(k.originalError);
    if (Array.isArray(k.errors)) queue.push(...(k.errors as unknown[]));
  }
  return out;
}

/** Maps anything kafkajs throws to a KmfError; `what` says which operation failed. */
export function mapKafkaError(err: unknown, what: string): KmfError {
  if (err instanceof KmfError) return err;
  const chain = errorChain(err);
  const msg = `${what}: ${errorMessage(err)}`;
  for (const e of chain) {
    if (typeof e.type === 'string') {
      const mapped = TYPE_CODES[e.type];
      if (mapped) return new KmfError(mapped.code, msg, { retriable: mapped.retriable ?? false, cause: err, details: { kafkaError: e.type } });
    }
  }
  const names = chain.map((e) => (typeof e.name === 'string' ? e.name : ''));
  if (names.some((n) => n === 'KafkaJSConnectionError' || n === 'KafkaJSConnectionClosedError' || n === 'KafkaJSBrokerNotFound' || n === 'KafkaJSNoBrokerAvailableError')) {
    return new KmfError('kafka_unreachable', msg, { retriable: true, cause: err });
  }
  if (names.some((n) => n === 'KafkaJSRequestTimeoutError' || n === 'KafkaJSTimeout')) {
    return new KmfError('kafka_timeout', msg, { retriable: true, cause: err });
  }
  const typed = chain.find((e) => typeof e.type === 'string');
  const retriable = chain.some((e) => e.retriable === true) || names.includes('KafkaJSNumberOfRetriesExceeded');
  return new KmfError('kafka_error', msg, {
    retriable,
    cause: err,
    details: typed && typeof typed.type === 'string' ? { kafkaError: typed.type } : undefined,
  });
}

function kafkajsLogLevel(level: string): number {
  switch (level) {
    case 'debug':
    case 'silly':
      return logLevel.DEBUG;
    case 'info':
    case 'verbose':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    default:
      return logLevel.ERROR;
  }
}

export class KafkaAdmin {
  private readonly kafka: KafkaClient;
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;
  private readonly callTimeoutMs: number;
  private closed = false;
  readonly brokers: readonly string[];

  constructor(private readonly opts: KafkaAdminOptions) {
    if (opts.brokers.length === 0) throw new KmfError('kafka_invalid_request', 'no bootstrap servers');
    this.brokers = [...opts.brokers];
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    const logger = opts.logger;
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'kmf',
      brokers: [...opts.brokers],
      connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      retry: { retries: opts.retries ?? 3, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: logger ? kafkajsLogLevel(logger.level) : logLevel.NOTHING,
      logCreator: () => (entry: LogEntry) => {
        if (!logger) return;
        const { message, ...rest } = entry.log;
        const level = entry.level === logLevel.ERROR ? 'warn' : entry.level === logLevel.WARN ? 'info' : 'debug';
        // kafkajs logs at ERROR what kmf treats as retriable noise (a broker restarting during a roll).
        logger.log(level, `kafkajs ${entry.namespace}: ${message}`, { kafkajs: rest });
      },
    });
  }

  private async client(): Promise<Admin> {
    if (this.closed) throw new KmfError('kafka_admin_closed', 'the Kafka admin client is closed');
    if (this.admin) return this.admin;
    // kafkajs' admin sends metadata requests with allowAutoTopicCreation=false: describing never creates topics.
    this.connecting ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: this.opts.retries ?? 3 } });
      try {
        await admin.connect();
      } catch (err) {
        await admin.disconnect().catch(() => undefined);
        throw err;
      }
      this.admin = admin;
      return admin;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * Runs `fn` with a connected kafkajs admin; maps errors; drops the connection after a retriable failure so
   * the next call starts from fresh metadata.
   */
  async call<T>(what: string, fn: (admin: Admin) => Promise<T>, timeoutMs = this.callTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KmfError('kafka_timeout', `${what}: no answer within ${timeoutMs} ms`, { retriable: true })), timeoutMs);
    });
    try {
      return await Promise.race([this.client().then(fn), timeout]);
    } catch (err) {
      const mapped = mapKafkaError(err, what);
      if (mapped.retriable) await this.reset();
      this.opts.logger?.debug('kafka admin call failed', { what, code: mapped.code, retriable: mapped.retriable, error: mapped.message });
      throw mapped;
    } finally {
      clearTimeout(timer);
    }
  }

  private async reset(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await admin.disconnect().catch(() => undefined);
  }

  /** The kafkajs client, for producers/consumers in tests and tools. */
  get kafkaClient(): KafkaClient {
    return this.kafka;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.reset();
  }
}

/** kafkajs' runtime enums (CommonJS exports), typed as kafkajs declares them. */
export const ConfigResourceTypes = kafkajs.ConfigResourceTypes;
export const ConfigSource = kafkajs.ConfigSource;
