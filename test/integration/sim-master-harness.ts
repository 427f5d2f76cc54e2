/**
 * A minimal v1 scheduler for the sim master's tests, built from nothing but undici and the wire codecs:
 * it subscribes, decodes the RecordIO event stream, waits for events, and sends calls with the stream id.
 * Nothing here knows the simulator's internals.
 */
import { Agent, request } from 'undici';
import { decodeEvent, encodeCall, type ContentType } from '../../src/mesos/codec.js';
import { RecordIODecoder } from '../../src/mesos/recordio.js';
import { isTerminalState, type Call, type Event, type FrameworkInfo, type Offer, type TaskStatus } from '../../src/mesos/types.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request, answered in full (never for SUBSCRIBE streams). No redirect following. */
export async function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  const res = await request(url, {
    method: opts.method ?? 'POST',
    headers: opts.headers ?? {},
    body: opts.body,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

export function jsonCallBody(call: Call): Buffer {
  return encodeCall(call, 'application/json');
}

export interface SubscribeOptions {
  frameworkId?: string;
  contentType?: ContentType;
  accept?: string;
  suppressedRoles?: string[];
  path?: string;
}

export class TestScheduler {
  readonly events: Event[] = [];
  streamId = '';
  frameworkId = '';
  status = 0;
  responseHeaders: Record<string, string | string[] | undefined> = {};
  private waiters: Array<() => void> = [];
  private ended = false;
  private readonly dispatcher = new Agent({ pipelining: 1, bodyTimeout: 0, headersTimeout: 30_000 });
  private abort = new AbortController();
  /** Events not yet taken by next(); every event also stays in `events`. */
  private pending: Event[] = [];

  private constructor(
    readonly baseUrl: string,
    readonly eventType: ContentType,
    readonly callType: ContentType,
  ) {}

  /** POST a SUBSCRIBE and start reading the stream; resolves once the response head arrived. */
  static async subscribe(baseUrl: string, info: FrameworkInfo, opts: SubscribeOptions = {}): Promise<TestScheduler> {
    const callType = opts.contentType ?? 'application/json';
    const accept = opts.accept ?? 'application/json';
    const eventType: ContentType = accept.includes('protobuf') && !accept.includes('json') ? 'application/x-protobuf' : 'application/json';
    const s = new TestScheduler(baseUrl, eventType, callType);
    const frameworkInfo: FrameworkInfo = { ...info };
    const call: Call = { type: 'SUBSCRIBE', subscribe: { framework_info: frameworkInfo } };
    if (opts.frameworkId !== undefined) {
      frameworkInfo.id = { value: opts.frameworkId };
      call.framework_id = { value: opts.frameworkId };
    }
    if (opts.suppressedRoles !== undefined && call.subscribe !== undefined) call.subscribe.suppressed_roles = opts.suppressedRoles;
    const res = await request(`${baseUrl}${opts.path ?? '/api/v1/scheduler'}`, {
      method: 'POST',
      headers: { 'content-type': callType, accept },
      body: encodeCall(call, callType),
      dispatcher: s.dispatcher,
      signal: s.abort.signal,
    });
    s.status = res.statusCode;
    s.responseHeaders = res.headers;
    const sid = res.headers['mesos-stream-id'];
    s.streamId = typeof sid === 'string' ? sid : '';
    if (res.statusCode !== 200) {
      await res.body.text();
      s.ended = true;
      return s;
    }
    const decoder = new RecordIODecoder();
    res.body.on('data', (chunk: Buffer) => {
      for (const record of decoder.push(chunk)) {
        const event = decodeEvent(record, s.eventType);
        if (event.type === 'SUBSCRIBED') s.frameworkId = event.subscribed.framework_id.value;
        s.events.push(event);
        s.pending.push(event);
      }
      s.wake();
    });
    const finish = (): void => {
      s.ended = true;
      s.wake();
    };
    res.body.on('end', finish);
    res.body.on('error', finish);
    res.body.on('close', finish);
    return s;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Take the oldest not yet taken event matching `match` (other events stay available), waiting for one. */
  async next<T extends Event['type']>(
    type: T,
    match: (e: Extract<Event, { type: T }>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Extract<Event, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.pending.findIndex((e) => e.type === type && match(e as Extract<Event, { type: T }>));
      if (index !== -1) return this.pending.splice(index, 1)[0] as Extract<Event, { type: T }>;
      if (this.ended) throw new Error(`stream ended while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = new Map<string, number>();
        for (const e of this.events) seen.set(e.type, (seen.get(e.type) ?? 0) + 1);
        throw new Error(`timed out waiting for ${type}; seen: ${[...seen].map(([t, n]) => `${t}×${n}`).join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wait for an UPDATE about a task, optionally in a given state. */
  async update(taskId: string, state?: TaskStatus['state'], timeoutMs = 20_000): Promise<TaskStatus> {
    const e = await this.next('UPDATE', (u) => u.update.status.task_id.value === taskId && (state === undefined || u.update.status.state === state), timeoutMs);
    return e.update.status;
  }

  async offers(timeoutMs = 20_000): Promise<Offer[]> {
    const e = await this.next('OFFERS', () => true, timeoutMs);
    return e.offers.offers ?? [];
  }

  /** Events of a type not taken yet (without taking them). */
  peek<T extends Event['type']>(type: T): Array<Extract<Event, { type: T }>> {
    return this.pending.filter((e) => e.type === type) as Array<Extract<Event, { type: T }>>;
  }

  /** Forget every event not taken yet (e.g. old offers). */
  drain(): void {
    this.pending = [];
  }

  /** Wait until the stream ends. */
  async ended_(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Send a call with this stream's id; returns the HTTP answer. */
  async call(call: Call, headers: Record<string, string> = {}): Promise<RawResponse> {
    const full: Call = { framework_id: { value: this.frameworkId }, ...call };
    return rawRequest(`${this.baseUrl}/api/v1/scheduler`, {
      headers: { 'content-type': this.callType, 'mesos-stream-id': this.streamId, ...headers },
      body: encodeCall(full, this.callType),
    });
  }

  /** ACKNOWLEDGE an update that carries a uuid (and only those). */
  async ack(status: TaskStatus): Promise<void> {
    if (status.uuid === undefined) return;
    const res = await this.call({
      type: 'ACKNOWLEDGE',
      acknowledge: { agent_id: status.agent_id ?? { value: '' }, task_id: status.task_id, uuid: status.uuid },
    });
    if (res.status !== 202) throw new Error(`ACKNOWLEDGE answered ${res.status}: ${res.body}`);
  }

  /** Drop the subscription connection. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.dispatcher.destroy().catch(() => undefined);
    this.ended = true;
  }
}

export const DEFAULT_FRAMEWORK: FrameworkInfo = { user: 'nobody', name: 'sim-master-test' };

/** Scalar/port resources for a task (unreserved, pre-refinement form as most schedulers send them). */
export function taskResources(cpus = 0.1, mem = 32, port?: number): import('../../src/mesos/types.js').Resource[] {
  const out: import('../../src/mesos/types.js').Resource[] = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: cpus } },
    { name: 'mem', type: 'SCALAR', scalar: { value: mem } },
  ];
  if (port !== undefined) out.push({ name: 'ports', type: 'RANGES', ranges: { range: [{ begin: port, end: port }] } });
  return out;
}

/** ACCEPT one offer with a LAUNCH of shell command tasks; returns the HTTP answer. */
export async function launch(
  s: TestScheduler,
  offer: Offer,
  tasks: Array<{ id: string; command: string; cpus?: number; mem?: number; extra?: Partial<import('../../src/mesos/types.js').TaskInfo> }>,
  filters?: { refuse_seconds?: number },
): Promise<RawResponse> {
  return s.call({
    type: 'ACCEPT',
    accept: {
      offer_ids: [offer.id],
      operations: [
        {
          type: 'LAUNCH',
          launch: {
            task_infos: tasks.map((t) => ({
              name: t.id,
              task_id: { value: t.id },
              agent_id: offer.agent_id,
              resources: taskResources(t.cpus, t.mem),
              command: { value: t.command },
              ...t.extra,
            })),
          },
        },
      ],
      ...(filters === undefined ? {} : { filters }),
    },
  });
}

/** Follow a task's updates, acknowledging each, until it reaches `until`; returns the states seen. */
export async function followTask(s: TestScheduler, taskId: string, until: TaskStatus['state'] | 'terminal', timeoutMs = 30_000): Promise<TaskStatus[]> {
  const seen: TaskStatus[] = [];
  for (;;) {
    const status = await s.update(taskId, undefined, timeoutMs);
    seen.push(status);
    await s.ack(status);
    if (status.state === until || (until === 'terminal' && isTerminalState(status.state))) return seen;
  }
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
