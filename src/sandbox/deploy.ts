/**
 * What the sandbox asks of its scheduler, through the admin API, and how it waits for it: three brokers, the
 * example app's topics, the example app. Each step is idempotent, so a resumed sandbox (whose scheduler already
 * has the brokers, topics and app in its state) only waits for them to be back.
 */
import { ApiError, type ApiClient } from '../cli/api-client.js';
import { sleep } from '../util/backoff.js';
import { errorMessage, KmfError } from '../util/errors.js';
import { WORD_COUNTS, WORDCOUNT_APP, WORDS_IN } from './wordcount.js';

export const BROKERS = 3;

/** Laptop-sized brokers: 320 MB heaps in 640 MB tasks, serial GC (one core's worth of threads). */
export const BROKER_REQUEST = { count: BROKERS, cpus: 0.5, mem: 640, heap: 320, disk: 1024, jvmOpts: '-XX:+UseSerialGC' };

export interface BrokerView {
  id: number;
  state: string;
  ready: boolean;
  host?: string;
  port?: number;
  taskState?: string;
  lastError?: string;
}

interface InstanceView {
  index: number;
  state: string;
  ready?: boolean;
  healthy?: boolean;
  taskState?: string;
  lastError?: string;
  step?: { reason?: string };
}

export type Report = (line: string) => void;

/** Polls `probe` until it returns a value; `describe` names what is awaited in the timeout error. */
async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, signal: AbortSignal, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new KmfError('sandbox_timeout', `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last === undefined ? '' : ` (last error: ${errorMessage(last)})`}`);
    }
    await sleep(intervalMs, signal);
  }
}

/** GET /ready answers 200 once the instance leads and is subscribed to Mesos. */
export async function waitSchedulerReady(api: ApiClient, timeoutMs: number, signal: AbortSignal): Promise<void> {
  await poll(
    'the scheduler to lead and subscribe to the Mesos master',
    async () => {
      await api.get('/ready');
      return true;
    },
    timeoutMs,
    signal,
  );
}

export async function listBrokers(api: ApiClient): Promise<BrokerView[]> {
  return (await api.get<{ brokers: BrokerView[] }>('/api/v1/brokers')).brokers;
}

/** Adds the brokers on the first run; returns whether it did. */
export async function ensureBrokers(api: ApiClient): Promise<boolean> {
  const existing = await listBrokers(api);
  if (existing.length > 0) return false;
  await api.post('/api/v1/brokers', BROKER_REQUEST);
  return true;
}

function brokerLine(b: BrokerView): string {
  const where = b.host !== undefined && b.port !== undefined ? ` at ${b.host}:${b.port}` : '';
  const task = (b.taskState ?? b.state).toLowerCase().replace(/^task_/, '');
  const detail = b.ready ? 'registered in the cluster' : task === 'running' ? 'task running, broker starting' : task;
  return `broker ${b.id}: ${detail}${where}${b.lastError !== undefined && !b.ready ? ` (last error: ${b.lastError})` : ''}`;
}

/** Waits until every broker runs and is registered in the cluster, reporting each broker's changes. */
export async function waitBrokers(api: ApiClient, report: Report, timeoutMs: number, signal: AbortSignal): Promise<BrokerView[]> {
  const said = new Map<number, string>();
  return poll(
    `${BROKERS} brokers to run and register (see GET /api/v1/brokers)`,
    async () => {
      const bs = await listBrokers(api);
      for (const b of bs) {
        const line = brokerLine(b);
        if (said.get(b.id) !== line) report(line);
        said.set(b.id, line);
      }
      return bs.length >= BROKERS && bs.every((b) => b.state === 'running' && b.ready) ? bs : undefined;
    },
    timeoutMs,
    signal,
    1_000,
  );
}

export async function bootstrapServers(api: ApiClient): Promise<string> {
  const ep = await api.get<{ bootstrapServers: string[] }>('/api/v1/endpoints');
  if (ep.bootstrapServers.length === 0) throw new KmfError('sandbox_no_bootstrap', 'the scheduler lists no bootstrap servers');
  return ep.bootstrapServers.join(',');
}

/** Creates the example's topics (3 partitions, 3 replicas) unless they exist. */
export async function ensureTopics(api: ApiClient, report: Report, signal: AbortSignal): Promise<void> {
  await poll(
    `topics ${WORDS_IN} and ${WORD_COUNTS}`,
    async () => {
      const { topics } = await api.get<{ topics: string[] }>('/api/v1/topics');
      for (const name of [WORDS_IN, WORD_COUNTS]) {
        if (topics.includes(name)) continue;
        try {
          await api.post('/api/v1/topics', { name, partitions: 3, replicationFactor: BROKERS });
          report(`topic ${name} created (3 partitions, replication factor ${BROKERS})`);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 409)) throw err;
        }
      }
      return true;
    },
    60_000,
    signal,
    1_000,
  );
}

/** Deploys the app unless the scheduler has it already; returns whether it did. */
export async function ensureApp(api: ApiClient, spec: Record<string, unknown>): Promise<boolean> {
  try {
    await api.get(`/api/v1/apps/${WORDCOUNT_APP}`);
    return false;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  try {
    await api.post('/api/v1/apps', spec);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
    return false;
  }
  return true;
}

/** Waits until every instance of the example app is ready (its Kafka Streams client runs). */
export async function waitApp(api: ApiClient, report: Report, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const said = new Map<number, string>();
  await poll(
    `app ${WORDCOUNT_APP} to be ready (see GET /api/v1/apps/${WORDCOUNT_APP})`,
    async () => {
      const { app } = await api.get<{ app: { instances: InstanceView[]; spec: { instances: number } } }>(`/api/v1/apps/${WORDCOUNT_APP}`);
      for (const i of app.instances) {
        const state = i.ready === true ? 'ready' : (i.taskState ?? i.state).toLowerCase().replace(/^task_/, '');
        const line = `app ${WORDCOUNT_APP}/${i.index}: ${state}${i.ready !== true && i.lastError !== undefined ? ` (last error: ${i.lastError})` : ''}`;
        if (said.get(i.index) !== line) report(line);
        said.set(i.index, line);
      }
      const live = app.instances.filter((i) => i.index < app.spec.instances);
      return live.length === app.spec.instances && live.every((i) => i.ready === true) ? true : undefined;
    },
    timeoutMs,
    signal,
    1_000,
  );
}
