import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import { Backoff, DEFAULT_BACKOFF, type BackoffPolicy } from '../util/backoff.js';
import { KmfError, errorMessage } from '../util/errors.js';
import { createLogger, type Logger } from '../util/log.js';
import { encodeCall, type ContentType } from './codec.js';
import { basicAuthorization, type Credential } from './credentials.js';
import { readEventStream } from './event-stream.js';
import { isSuccessStatus, resolveLocation, statusError, transportError } from './http-result.js';
import { createMasterDetector, type MasterDetector, type MasterScheme } from './master-detector.js';
import type {
  AgentID,
  Call,
  CallType,
  Event,
  ExecutorID,
  Filters,
  FrameworkID,
  FrameworkInfo,
  KillPolicy,
  MasterInfo,
  OfferID,
  Operation,
  TaskID,
  TaskStatus,
} from './types.js';

/**
 * The Mesos v1 scheduler API client: one long-lived SUBSCRIBE stream plus calls, as a small state machine
 * (docs/mesos-client.md has the picture; mesos-http-api.md §A, §D, §E, §O are the rules it follows).
 *
 *   idle ──start()──▶ subscribing ──SUBSCRIBED──▶ subscribed ──stream lost / ERROR / heartbeat timeout──▶ waiting
 *                      ▲   │ 307: switch master now                    │ leader changed: switch master now      │
 *                      │   └ 503, 404, refused, reset, timeout ─▶ waiting (capped jittered backoff) ◀─────────┘
 *                      └──────────────────────────────────────────────────┘
 *   any ──stop()/teardown()──▶ stopped        any ──non-retriable error / "Framework has been removed"──▶ failed
 *
 * Connection changes are reported to `onConnection` listeners, events to `onEvent` listeners. After every
 * `disconnected` change all offers received so far are void: the master drops them without RESCIND (item 62).
 */

/** How the connection changed. Exactly one of these is emitted per transition. */
export type ConnectionChange =
  | {
      type: 'subscribing';
      masterUrl: string;
      /** Consecutive attempts since the last successful subscription (0 for the first). */
      attempt: number;
      /** True when the SUBSCRIBE carries a framework id (failover / re-subscription). */
      resubscribe: boolean;
    }
  | {
      type: 'subscribed';
      frameworkId: FrameworkID;
      streamId: string;
      masterUrl: string;
      heartbeatIntervalSeconds: number;
      masterInfo: MasterInfo | undefined;
      resubscribed: boolean;
    }
  | {
      /**
       * Not subscribed; the client tries again in `retryInMs`. Every offer received before is void from now on
       * (the master discards outstanding offers on re-subscription without sending RESCIND, item 62).
       */
      type: 'disconnected';
      reason: string;
      error: KmfError;
      retryInMs: number;
      masterUrl: string | undefined;
    }
  /** The client gave up (bad request, rejected credentials, framework removed …); it will not retry. */
  | { type: 'fatal'; error: KmfError }
  /** stop() or teardown() finished. */
  | { type: 'stopped' };

export type ClientState = 'idle' | 'subscribing' | 'subscribed' | 'waiting' | 'stopped' | 'failed';

export interface TlsOptions {
  /** PEM file(s) with the CA certificates to trust for https:// masters (read at start()). */
  readonly caFile?: string | readonly string[];
  /** PEM CA certificates given inline. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Defaults to true; only a test bed should turn verification off. */
  readonly rejectUnauthorized?: boolean;
  /** TLS server name to verify, when it differs from the host in the master URL. */
  readonly servername?: string;
}

export interface SchedulerClientOptions {
  /** `--master`: comma-separated http(s) URLs or host:port, or `zk://[user:pass@]h1:p1,h2:p2/path`; or a detector. */
  readonly master: string | MasterDetector;
  /** FrameworkInfo sent on SUBSCRIBE (`user` and `name` are required by Mesos). */
  readonly frameworkInfo: FrameworkInfo;
  /** A framework id persisted from an earlier run: the first SUBSCRIBE is then a failover (item 202). */
  readonly frameworkId?: FrameworkID;
  readonly suppressedRoles?: readonly string[];
  /** Encoding of the calls we send. Default application/json. */
  readonly callContentType?: ContentType;
  /** Encoding of the events we ask for (Accept on SUBSCRIBE). Default: same as callContentType. */
  readonly eventContentType?: ContentType;
  /** HTTP basic authentication of the framework (item 13). */
  readonly credential?: Credential;
  readonly tls?: TlsOptions;
  /** Scheme for bare host:port masters and masters found in ZooKeeper. Default https when `tls` is set, else http. */
  readonly masterScheme?: MasterScheme;
  /** Missing this many heartbeat intervals in a row drops the stream (item 54). Default 5. */
  readonly heartbeatMissFactor?: number;
  /** Total time a non-SUBSCRIBE call may take, queueing included. Default 75 s (item 54). */
  readonly callTimeoutMs?: number;
  /** Time from sending SUBSCRIBE to receiving SUBSCRIBED. Default 75 s. */
  readonly subscribeTimeoutMs?: number;
  /** TCP/TLS connect timeout. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Backoff between subscription attempts. Default 0.5 s doubling to 15 s, half jitter. */
  readonly backoff?: BackoffPolicy;
  /** Redirects followed at once before backing off (two masters disagreeing about the leader). Default 3. */
  readonly maxImmediateRedirects?: number;
  readonly maxRecordBytes?: number;
  readonly logger?: Logger;
  /** Randomness for backoff jitter (tests). */
  readonly random?: () => number;
}

export const CLIENT_DEFAULTS = {
  heartbeatMissFactor: 5,
  /** Used when SUBSCRIBED carries no interval; 1.11 always sends 15 (item 52). */
  heartbeatIntervalSeconds: 15,
  callTimeoutMs: 75_000,
  subscribeTimeoutMs: 75_000,
  connectTimeoutMs: 10_000,
  maxImmediateRedirects: 3,
  backoff: DEFAULT_BACKOFF,
} as const;

const FRAMEWORK_REMOVED = 'Framework has been removed';
const ERROR_BODY_LIMIT = 64 * 1024;

/** One SUBSCRIBE request and, once SUBSCRIBED arrived, its stream. */
interface Attempt {
  readonly url: URL;
  readonly abort: AbortController;
  /** Why we abandoned it (watchdog, leader change, stop); undefined while it is healthy. */
  endError: KmfError | undefined;
  /** Abandoned for a reason that calls for trying again right away (leader change, redirect). */
  retryNow: boolean;
}

/** A live subscription: what every call needs. */
interface Session {
  readonly attempt: Attempt;
  readonly frameworkId: FrameworkID;
  readonly streamId: string;
  /** The calls connection: separate from the subscription's (item 11); one connection, in order (item 12). */
  readonly calls: Client;
  readonly watchdog: NodeJS.Timeout;
}

type Outcome =
  | { kind: 'redirect'; to: URL; error: KmfError }
  /** Failed before SUBSCRIBED. */
  | { kind: 'failed'; error: KmfError }
  /** A subscribed stream ended. */
  | { kind: 'ended'; error: KmfError; retryNow: boolean };

export class SchedulerClient {
  private readonly detector: MasterDetector;
  private readonly ownsDetector: boolean;
  private readonly callContentType: ContentType;
  private readonly eventContentType: ContentType;
  private readonly credential: Credential | undefined;
  private readonly heartbeatMissFactor: number;
  private readonly callTimeoutMs: number;
  private readonly subscribeTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxImmediateRedirects: number;
  private readonly maxRecordBytes: number | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;

  private frameworkInfo: FrameworkInfo;
  private suppressedRoles: Set<string>;
  private currentFrameworkId: FrameworkID | undefined;
  private tls: ConnectionOptions | undefined;

  private clientState: ClientState = 'idle';
  private loop: Promise<void> | undefined;
  private readonly stopController = new AbortController();
  private stopping = false;
  private stoppedEmitted = false;
  private current: Attempt | undefined;
  private session: Session | undefined;
  /** Where to go next, when known better than "ask the detector": a redirect, a new leader, the same master. */
  private pendingTarget: URL | undefined;
  private attemptsSinceSubscribed = 0;
  private redirectsInARow = 0;
  private wakePause: (() => void) | undefined;
  private teardownPending: Promise<boolean> | undefined;
  private tornDown = false;
  private unwatchLeader: (() => void) | undefined;

  private readonly eventListeners = new Set<(event: Event) => void>();
  private readonly connectionListeners = new Set<(change: ConnectionChange) => void>();

  constructor(private readonly opts: SchedulerClientOptions) {
    const scheme: MasterScheme = opts.masterScheme ?? (opts.tls === undefined ? 'http' : 'https');
    this.log = opts.logger ?? createLogger({ component: 'mesos-client' });
    if (typeof opts.master === 'string') {
      this.detector = createMasterDetector(opts.master, { scheme, logger: this.log });
      this.ownsDetector = true;
    } else {
      this.detector = opts.master;
      this.ownsDetector = false;
    }
    this.callContentType = opts.callContentType ?? 'application/json';
    this.eventContentType = opts.eventContentType ?? this.callContentType;
    this.credential = opts.credential;
    this.heartbeatMissFactor = positive(opts.heartbeatMissFactor ?? CLIENT_DEFAULTS.heartbeatMissFactor, 'heartbeatMissFactor');
    this.callTimeoutMs = positive(opts.callTimeoutMs ?? CLIENT_DEFAULTS.callTimeoutMs, 'callTimeoutMs');
    this.subscribeTimeoutMs = positive(opts.subscribeTimeoutMs ?? CLIENT_DEFAULTS.subscribeTimeoutMs, 'subscribeTimeoutMs');
    this.connectTimeoutMs = positive(opts.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs, 'connectTimeoutMs');
    this.maxImmediateRedirects = opts.maxImmediateRedirects ?? CLIENT_DEFAULTS.maxImmediateRedirects;
    this.maxRecordBytes = opts.maxRecordBytes;
    this.backoff = new Backoff(opts.backoff ?? CLIENT_DEFAULTS.backoff, opts.random);
    this.frameworkInfo = opts.frameworkInfo;
    this.suppressedRoles = new Set(opts.suppressedRoles ?? []);
    this.currentFrameworkId = opts.frameworkId ?? opts.frameworkInfo.id;
    if (this.currentFrameworkId !== undefined && opts.frameworkInfo.id !== undefined && opts.frameworkId !== undefined &&
        opts.frameworkInfo.id.value !== opts.frameworkId.value) {
      throw new KmfError('MESOS_BAD_OPTIONS', 'frameworkId and frameworkInfo.id differ');
    }
  }

  // ---- observation ---------------------------------------------------------------------------

  get state(): ClientState {
    return this.clientState;
  }
  /** The framework id once known (given at construction or assigned by SUBSCRIBED). Persist it. */
  get frameworkId(): FrameworkID | undefined {
    return this.currentFrameworkId;
  }
  get streamId(): string | undefined {
    return this.session?.streamId;
  }
  get masterUrl(): string | undefined {
    return this.session?.attempt.url.href;
  }

  /** Events of the current stream, in order. Returns the function that unregisters the listener. */
  onEvent(listener: (event: Event) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Connection changes (subscribing, subscribed, disconnected, fatal, stopped). */
  onConnection(listener: (change: ConnectionChange) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Starts subscribing in the background; progress is reported to the listeners. */
  start(): void {
    if (this.clientState !== 'idle') throw new KmfError('MESOS_CLIENT_STATE', `start() called in state ${this.clientState}`);
    this.clientState = 'subscribing';
    this.unwatchLeader = this.detector.onLeaderChange((leader) => this.onLeaderChange(leader));
    this.detector.start();
    this.loop = this.run();
  }

  /**
   * Closes the subscription WITHOUT tearing the framework down: the master keeps its tasks for
   * `failover_timeout` seconds, waiting for a re-subscription (item 59).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort(new KmfError('MESOS_CLIENT_STOPPED', 'scheduler client stopped'));
    if (this.current !== undefined) this.abandon(this.current, new KmfError('MESOS_CLIENT_STOPPED', 'scheduler client stopped'), false);
    if (this.loop !== undefined) await this.loop;
    this.unwatchLeader?.();
    this.unwatchLeader = undefined;
    if (this.ownsDetector) await this.detector.close();
    if (this.clientState !== 'failed') this.clientState = 'stopped';
    if (!this.stoppedEmitted) {
      this.stoppedEmitted = true;
      this.emitConnection({ type: 'stopped' });
    }
  }

  /**
   * TEARDOWN: the master removes the framework and kills all its tasks (item 66), then the client stops.
   * If the call fails the client stays subscribed and the error is thrown.
   */
  async teardown(): Promise<void> {
    let settle: (ok: boolean) => void = () => {};
    this.teardownPending = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    try {
      await this.call({ type: 'TEARDOWN' });
      this.tornDown = true;
      settle(true);
    } catch (err) {
      settle(false);
      this.teardownPending = undefined;
      throw err;
    }
    await this.stop();
  }

  // ---- calls ---------------------------------------------------------------------------------

  /**
   * Sends a call on the current subscription: adds `framework_id` and the `Mesos-Stream-Id` header, resolves on
   * 202 (200 for UPDATE_FRAMEWORK), rejects with a KmfError otherwise.
   *
   * Ordering (item 12): all calls of one subscription share ONE connection with one request in flight, taken
   * in the order `call()` was invoked. A call is written only after the previous one was answered, so the master
   * processes them in that order (e.g. an ACCEPT is answered 202 before a KILL of the same task is sent).
   * A slow call therefore delays the ones behind it; each call's timeout counts its queueing time.
   *
   * Calls are not retried here: delivery is at most once (item 206) and only the caller knows whether a repeat
   * is safe. `error.retriable` says whether trying again can help (e.g. after the next `subscribed`).
   */
  call(call: Call): Promise<void> {
    // Nothing in here may await before the request is queued: queueing order is the wire order.
    const session = this.session;
    const type = call.type;
    if (type === undefined || type === 'SUBSCRIBE' || type === 'UNKNOWN') {
      return Promise.reject(new KmfError('MESOS_BAD_CALL', `call() cannot send a ${type ?? 'typeless'} call`));
    }
    if (session === undefined || this.stopping || session.attempt.abort.signal.aborted) {
      return Promise.reject(
        new KmfError('MESOS_NOT_SUBSCRIBED', `cannot send ${type}: not subscribed to a Mesos master`, { retriable: !this.stopping }),
      );
    }
    // framework_id first: the wire order of the JSON codec follows the proto, but readers of logs like it first.
    const { framework_id: _ignored, ...rest } = call;
    const full: Call = { framework_id: session.frameworkId, ...rest };
    let body: Buffer;
    try {
      body = encodeCall(full, this.callContentType);
    } catch (err) {
      return Promise.reject(new KmfError('MESOS_BAD_CALL', `cannot encode ${type}: ${errorMessage(err)}`, { cause: err }));
    }
    const url = session.attempt.url;
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new KmfError('MESOS_TIMEOUT', `${type} to ${url.origin} got no answer within ${this.callTimeoutMs} ms`, { retriable: true })),
      this.callTimeoutMs,
    );
    const pending = session.calls.request({
      path: url.pathname + url.search,
      method: 'POST',
      headers: this.headers(session.streamId),
      body,
      signal: abort.signal,
    });
    return this.finishCall(pending, session, type, timer);
  }

  accept(offerIds: readonly OfferID[], operations: readonly Operation[], filters?: Filters): Promise<void> {
    return this.call({
      type: 'ACCEPT',
      accept: { offer_ids: [...offerIds], operations: [...operations], ...(filters === undefined ? {} : { filters }) },
    });
  }

  decline(offerIds: readonly OfferID[], filters?: Filters): Promise<void> {
    return this.call({ type: 'DECLINE', decline: { offer_ids: [...offerIds], ...(filters === undefined ? {} : { filters }) } });
  }

  kill(taskId: TaskID, agentId?: AgentID, killPolicy?: KillPolicy): Promise<void> {
    return this.call({
      type: 'KILL',
      kill: { task_id: taskId, ...(agentId === undefined ? {} : { agent_id: agentId }), ...(killPolicy === undefined ? {} : { kill_policy: killPolicy }) },
    });
  }

  shutdown(executorId: ExecutorID, agentId: AgentID): Promise<void> {
    return this.call({ type: 'SHUTDOWN', shutdown: { executor_id: executorId, agent_id: agentId } });
  }

  /**
   * Acknowledges a status update if, and only if, it carries a `uuid` (item 144): master-generated updates
   * (reconciliation, TASK_ERROR from validation …) have none and must not be acknowledged. Resolves to
   * whether an ACKNOWLEDGE was sent. `agent_id`, `task_id` and the uuid bytes are echoed verbatim.
   */
  async acknowledge(status: TaskStatus): Promise<boolean> {
    if (status.uuid === undefined || status.uuid.length === 0) return false;
    if (status.agent_id === undefined) {
      throw new KmfError('MESOS_BAD_CALL', `update for task ${status.task_id.value} has a uuid but no agent_id; cannot acknowledge it`);
    }
    await this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid } });
    return true;
  }

  /** Explicit reconciliation of the given tasks; an empty list asks for implicit reconciliation (all tasks). */
  reconcile(tasks: ReadonlyArray<{ task_id: TaskID; agent_id?: AgentID }>): Promise<void> {
    return this.call({ type: 'RECONCILE', reconcile: { tasks: [...tasks] } });
  }

  /** REVIVE the given roles (all subscribed roles when empty); they are no longer suppressed on re-subscribe. */
  async revive(roles: readonly string[] = []): Promise<void> {
    await this.call({ type: 'REVIVE', revive: { roles: [...roles] } });
    if (roles.length === 0) this.suppressedRoles.clear();
    for (const role of roles) this.suppressedRoles.delete(role);
  }

  /** SUPPRESS the given roles (all subscribed roles when empty); re-subscriptions keep them suppressed. */
  async suppress(roles: readonly string[] = []): Promise<void> {
    await this.call({ type: 'SUPPRESS', suppress: { roles: [...roles] } });
    for (const role of roles.length === 0 ? frameworkRoles(this.frameworkInfo) : roles) this.suppressedRoles.add(role);
  }

  message(agentId: AgentID, executorId: ExecutorID, data: Buffer): Promise<void> {
    return this.call({ type: 'MESSAGE', message: { agent_id: agentId, executor_id: executorId, data } });
  }

  /**
   * UPDATE_FRAMEWORK (synchronous, 200 on success, item 91). On success the new FrameworkInfo and suppressed
   * roles are also used for every later re-subscription.
   */
  async updateFramework(frameworkInfo: FrameworkInfo, suppressedRoles?: readonly string[]): Promise<void> {
    const id = this.currentFrameworkId;
    if (id === undefined) throw new KmfError('MESOS_NOT_SUBSCRIBED', 'UPDATE_FRAMEWORK needs a framework id', { retriable: true });
    const info: FrameworkInfo = { ...frameworkInfo, id };
    const roles = suppressedRoles ?? [...this.suppressedRoles];
    await this.call({ type: 'UPDATE_FRAMEWORK', update_framework: { framework_info: info, suppressed_roles: [...roles] } });
    this.frameworkInfo = info;
    this.suppressedRoles = new Set(roles);
  }

  // ---- the subscription loop -----------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      this.tls = await loadTls(this.opts.tls);
      while (!this.stopping) {
        const url = await this.nextMaster();
        if (this.stopping) break;
        const outcome = await this.attempt(url);
        if (this.stopping || this.tornDown) break;
        const delay = this.plan(url, outcome);
        if (delay === undefined) return; // fatal, already reported
        this.clientState = 'waiting';
        this.emitConnection({
          type: 'disconnected',
          reason: outcome.error.message,
          error: outcome.error,
          retryInMs: delay,
          masterUrl: url.href,
        });
        await this.pause(delay);
      }
    } catch (err) {
      if (this.stopping) return;
      const error = err instanceof KmfError ? err : new KmfError('MESOS_CLIENT_BUG', `scheduler client loop failed: ${errorMessage(err)}`, { cause: err });
      this.fail(error);
    }
  }

  /** Decides what follows an attempt: the delay before the next one, or undefined when the client gives up. */
  private plan(url: URL, outcome: Outcome): number | undefined {
    const { error } = outcome;
    if (!error.retriable) {
      this.fail(error);
      return undefined;
    }
    this.attemptsSinceSubscribed++;
    switch (outcome.kind) {
      case 'redirect':
        this.redirectsInARow++;
        this.pendingTarget = outcome.to;
        return this.redirectsInARow <= this.maxImmediateRedirects ? 0 : this.backoff.next();
      case 'failed':
        // Leave pendingTarget alone: the detector picks the next master (the next in the list, or ZK's leader).
        this.redirectsInARow = 0;
        return this.backoff.next();
      case 'ended':
        // Try the same master first (a blip); a leader change or redirect has already set a better target.
        this.redirectsInARow = 0;
        this.pendingTarget ??= url;
        return outcome.retryNow ? 0 : this.backoff.next();
    }
  }

  private nextMaster(): Promise<URL> {
    const target = this.pendingTarget;
    if (target !== undefined) {
      this.pendingTarget = undefined;
      return Promise.resolve(target);
    }
    return this.detector.next(this.stopController.signal);
  }

  private async attempt(url: URL): Promise<Outcome> {
    const attempt: Attempt = { url, abort: new AbortController(), endError: undefined, retryNow: false };
    this.current = attempt;
    this.clientState = 'subscribing';
    this.emitConnection({
      type: 'subscribing',
      masterUrl: url.href,
      attempt: this.attemptsSinceSubscribed,
      resubscribe: this.currentFrameworkId !== undefined,
    });
    // The subscription gets a connection of its own: its response never ends (item 11).
    const subscription = new Client(url.origin, {
      connect: this.tls,
      connectTimeout: this.connectTimeoutMs,
      pipelining: 1,
      headersTimeout: this.subscribeTimeoutMs,
      bodyTimeout: 0, // the heartbeat watchdog guards the body
    });
    try {
      return await this.subscribe(attempt, subscription);
    } finally {
      await this.endSession(attempt);
      if (this.current === attempt) this.current = undefined;
      await subscription.destroy().catch(() => undefined);
    }
  }

  private async subscribe(attempt: Attempt, subscription: Client): Promise<Outcome> {
    const url = attempt.url;
    const ctx = { callType: 'SUBSCRIBE' as const, url };
    const firstEventTimer = setTimeout(
      () => this.abandon(attempt, new KmfError('MESOS_TIMEOUT', `no SUBSCRIBED event from ${url.origin} within ${this.subscribeTimeoutMs} ms`, { retriable: true }), false),
      this.subscribeTimeoutMs,
    );
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await subscription.request({
          path: url.pathname + url.search,
          method: 'POST',
          // Never a Mesos-Stream-Id on SUBSCRIBE (item 44).
          headers: this.headers(undefined),
          body: encodeCall(this.subscribeCall(), this.callContentType),
          signal: attempt.abort.signal,
        });
      } catch (err) {
        return { kind: 'failed', error: attempt.endError ?? transportError(err, ctx) };
      }

      if (res.statusCode !== 200) {
        const body = await readBody(res.body, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0));
        const location = header(res.headers, 'location');
        const error = attempt.endError ?? statusError(res.statusCode, body, location, ctx);
        if (res.statusCode === 307 && location !== undefined && error.code === 'MESOS_REDIRECT') {
          return { kind: 'redirect', to: resolveLocation(location, url), error };
        }
        return { kind: 'failed', error };
      }

      const contentType = eventContentType(header(res.headers, 'content-type'));
      const streamId = header(res.headers, 'mesos-stream-id');
      if (contentType === undefined || streamId === undefined || streamId === '') {
        res.body.destroy();
        const what = contentType === undefined ? `Content-Type '${header(res.headers, 'content-type') ?? ''}'` : 'no Mesos-Stream-Id header';
        return { kind: 'failed', error: new KmfError('MESOS_BAD_RESPONSE', `SUBSCRIBE to ${url.origin}: 200 with ${what}`, { retriable: true }) };
      }

      let subscribed = false;
      const outcome = (error: KmfError): Outcome => (subscribed ? { kind: 'ended', error, retryNow: attempt.retryNow } : { kind: 'failed', error });
      try {
        const events = readEventStream(res.body, contentType, this.maxRecordBytes === undefined ? {} : { maxRecordBytes: this.maxRecordBytes });
        for await (const event of events) {
          // An abandoned stream's leftovers (e.g. "Framework failed over") are not ours any more (item 63).
          if (attempt.abort.signal.aborted) break;
          if (!subscribed) {
            clearTimeout(firstEventTimer);
            // Only SUBSCRIBED means success; an ERROR first is a refused subscription (items 48, 50).
            if (event.type === 'ERROR') return { kind: 'failed', error: errorEventError(event.error.message, url, true) };
            if (event.type !== 'SUBSCRIBED') {
              return { kind: 'failed', error: new KmfError('MESOS_BAD_RESPONSE', `first event from ${url.origin} was ${event.type}, not SUBSCRIBED`, { retriable: true }) };
            }
            this.onSubscribed(attempt, event.subscribed, streamId);
            subscribed = true;
          } else {
            this.session?.watchdog.refresh();
          }
          this.deliver(event);
          if (event.type === 'ERROR') return outcome(errorEventError(event.error.message, url, false));
        }
        return outcome(attempt.endError ?? new KmfError('MESOS_STREAM_CLOSED', `${url.origin} closed the event stream`, { retriable: true }));
      } catch (err) {
        return outcome(attempt.endError ?? transportError(err, ctx));
      }
    } finally {
      clearTimeout(firstEventTimer);
    }
  }

  private onSubscribed(attempt: Attempt, subscribed: { framework_id: FrameworkID; heartbeat_interval_seconds?: number; master_info?: MasterInfo }, streamId: string): void {
    const resubscribed = this.currentFrameworkId !== undefined;
    if (resubscribed && this.currentFrameworkId?.value !== subscribed.framework_id.value) {
      this.log.warn('master assigned a different framework id than the one we re-subscribed with', {
        ours: this.currentFrameworkId?.value,
        theirs: subscribed.framework_id.value,
      });
    }
    this.currentFrameworkId = subscribed.framework_id;
    const interval = subscribed.heartbeat_interval_seconds ?? CLIENT_DEFAULTS.heartbeatIntervalSeconds;
    const silenceMs = Math.max(1, Math.round(this.heartbeatMissFactor * interval * 1000));
    const watchdog = setTimeout(
      () => this.abandon(attempt, new KmfError('MESOS_HEARTBEAT_TIMEOUT', `no event from ${attempt.url.origin} for ${silenceMs} ms (${this.heartbeatMissFactor} heartbeat intervals)`, { retriable: true }), false),
      silenceMs,
    );
    const calls = new Client(attempt.url.origin, {
      connect: this.tls,
      connectTimeout: this.connectTimeoutMs,
      pipelining: 1,
      headersTimeout: this.callTimeoutMs,
      bodyTimeout: this.callTimeoutMs,
    });
    this.session = { attempt, frameworkId: subscribed.framework_id, streamId, calls, watchdog };
    this.clientState = 'subscribed';
    this.backoff.reset();
    this.attemptsSinceSubscribed = 0;
    this.redirectsInARow = 0;
    this.log.info('subscribed to Mesos master', { master: attempt.url.origin, frameworkId: subscribed.framework_id.value, resubscribed });
    this.emitConnection({
      type: 'subscribed',
      frameworkId: subscribed.framework_id,
      streamId,
      masterUrl: attempt.url.href,
      heartbeatIntervalSeconds: interval,
      masterInfo: subscribed.master_info,
      resubscribed,
    });
  }

  private async endSession(attempt: Attempt): Promise<void> {
    const session = this.session;
    if (session === undefined || session.attempt !== attempt) return;
    clearTimeout(session.watchdog);
    // The master closes the stream of a torn-down framework, possibly before the TEARDOWN's 202 is on its
    // way: keep the calls connection until that answer is in.
    if (this.teardownPending !== undefined) await this.teardownPending;
    this.session = undefined;
    const closed = new KmfError('MESOS_STREAM_CLOSED', `subscription to ${attempt.url.origin} ended before the call was answered`, { retriable: true });
    await session.calls.destroy(closed).catch(() => undefined);
  }

  private async finishCall(pending: Promise<Dispatcher.ResponseData>, session: Session, type: CallType, timer: NodeJS.Timeout): Promise<void> {
    const url = session.attempt.url;
    const ctx = { callType: type, url };
    try {
      let res: Dispatcher.ResponseData;
      try {
        res = await pending;
      } catch (err) {
        throw transportError(err, ctx);
      }
      const body = await readBody(res.body, ERROR_BODY_LIMIT).catch((err: unknown) => {
        throw transportError(err, ctx);
      });
      if (isSuccessStatus(res.statusCode)) return;
      const location = header(res.headers, 'location');
      const error = statusError(res.statusCode, body, location, ctx);
      if (error.code === 'MESOS_REDIRECT' && location !== undefined) {
        // The master lost leadership under us: re-subscribe at the leader (without following the redirect here).
        this.switchMaster(session, resolveLocation(location, url), error);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private switchMaster(session: Session, to: URL, why: KmfError): void {
    if (this.session !== session || this.stopping) return;
    this.pendingTarget = to;
    this.abandon(session.attempt, why, true);
  }

  private onLeaderChange(leader: URL | undefined): void {
    if (leader === undefined || this.stopping) return; // keep what we have; next() waits for a leader if needed
    const current = this.current;
    if (current !== undefined && current.url.origin === leader.origin && current.url.pathname === leader.pathname) return;
    this.pendingTarget = leader;
    if (current !== undefined) {
      this.abandon(current, new KmfError('MESOS_LEADER_CHANGED', `leading master changed to ${leader.origin}`, { retriable: true }), true);
    } else {
      this.wakePause?.();
    }
  }

  /** Drops an attempt (and its stream): whatever it still delivers is ignored. */
  private abandon(attempt: Attempt, error: KmfError, retryNow: boolean): void {
    if (attempt.endError !== undefined) return;
    attempt.endError = error;
    attempt.retryNow = retryNow;
    if (!this.stopping) this.log.warn('dropping the Mesos subscription', { master: attempt.url.origin, reason: error.message });
    attempt.abort.abort(error);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopController.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wakePause === done) this.wakePause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakePause = done;
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  private fail(error: KmfError): void {
    this.clientState = 'failed';
    this.log.error('Mesos scheduler client gave up', { code: error.code, error: error.message });
    this.emitConnection({ type: 'fatal', error });
  }

  private subscribeCall(): Call {
    const id = this.currentFrameworkId;
    const { id: _drop, ...info } = this.frameworkInfo;
    const subscribe: NonNullable<Call['subscribe']> = {
      framework_info: id === undefined ? info : { ...info, id },
      ...(this.suppressedRoles.size === 0 ? {} : { suppressed_roles: [...this.suppressedRoles] }),
    };
    // A re-subscription names the framework in both places, equal (item 43).
    return id === undefined ? { type: 'SUBSCRIBE', subscribe } : { framework_id: id, type: 'SUBSCRIBE', subscribe };
  }

  private headers(streamId: string | undefined): Record<string, string> {
    // Exactly the media type, no charset parameter: Mesos compares the whole header (items 15, 16).
    const headers: Record<string, string> = {
      'content-type': this.callContentType,
      accept: this.eventContentType,
      'user-agent': 'kmf',
    };
    if (streamId !== undefined) headers['mesos-stream-id'] = streamId;
    if (this.credential !== undefined) headers['authorization'] = basicAuthorization(this.credential);
    return headers;
  }

  private deliver(event: Event): void {
    for (const listener of [...this.eventListeners]) this.invoke(listener, event);
  }

  private emitConnection(change: ConnectionChange): void {
    for (const listener of [...this.connectionListeners]) this.invoke(listener, change);
  }

  /**
   * A listener that throws is a bug in its owner, not a connection problem: the stream goes on, and the error is
   * rethrown outside the client so it surfaces as an uncaught exception (and crashes the process, design rule 6).
   */
  private invoke<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (err) {
      this.log.error('a scheduler client listener threw', { error: errorMessage(err) });
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

function errorEventError(message: string, url: URL, duringSubscribe: boolean): KmfError {
  // A removed framework can never come back under its id (item 66): give up. Anything else: re-subscribe.
  if (message === FRAMEWORK_REMOVED) {
    return new KmfError('MESOS_FRAMEWORK_REMOVED', `${url.origin}: ${message}`, { details: { message } });
  }
  const what = duringSubscribe ? 'refused the subscription' : 'sent ERROR';
  return new KmfError('MESOS_ERROR_EVENT', `${url.origin} ${what}: ${message}`, { retriable: true, details: { message } });
}

function eventContentType(value: string | undefined): ContentType | undefined {
  const mediaType = value?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json' || mediaType === 'application/x-protobuf' ? mediaType : undefined;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a (short) response body to the end, keeping at most `limit` bytes. */
async function readBody(body: AsyncIterable<unknown>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (!(chunk instanceof Uint8Array)) continue;
    if (size < limit) {
      const part = Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, limit - size));
      parts.push(part);
      size += part.length;
    }
  }
  return Buffer.concat(parts, size);
}

async function loadTls(tls: TlsOptions | undefined): Promise<ConnectionOptions | undefined> {
  if (tls === undefined) return undefined;
  const ca: Array<string | Buffer> = [];
  if (tls.ca !== undefined) ca.push(...(typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? [tls.ca] : tls.ca));
  const files = tls.caFile === undefined ? [] : typeof tls.caFile === 'string' ? [tls.caFile] : tls.caFile;
  for (const file of files) {
    try {
      ca.push(await readFile(file));
    } catch (err) {
      throw new KmfError('MESOS_BAD_TLS_CONFIG', `cannot read the CA file ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return {
    ...(ca.length === 0 ? {} : { ca }),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}

function frameworkRoles(info: FrameworkInfo): string[] {
  if (info.roles !== undefined && info.roles.length > 0) return [...info.roles];
  return info.role === undefined ? [] : [info.role];
}

function positive(n: number, name: string): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new KmfError('MESOS_BAD_OPTIONS', `${name} must be a positive number, got ${n}`);
  return n;
}
