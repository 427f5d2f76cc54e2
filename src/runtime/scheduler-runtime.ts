/**
 * The role of one `kmf scheduler` instance among its hot standbys, driven by the leader election:
 *
 *   starting ──following──▶ follower ──elected──▶ leader (a LeaderTerm runs) ──suspended / deposed──▶ follower
 *                               ▲                    │ state write fenced or failed: term dropped;
 *                               └────────────────────┘ a new term (fresh load) if the election still says we lead
 *   any ──shutdown()──▶ stopping ──▶ stopped
 *
 * Only a leader subscribes to Mesos and writes state. A lost ZooKeeper connection (`suspended`) already
 * ends the term: a leader that cannot write cannot keep its promises (persist before ACCEPT, acknowledge
 * after persist), and its writes would fail anyway. If the connection comes back within the session
 * (`resumed`) the same epoch starts a new term from a fresh load; if not, the instance is `deposed` and
 * another member takes over. Transitions run one at a time, in order.
 */
import type { CoreConfig } from '../core/config.js';
import type { Leadership } from '../state/fenced-state-store.js';
import type { ElectionEvent, LeaderInfo } from '../state/leader-election.js';
import type { StateStore } from '../state/state-store.js';
import { KmfError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { LeaderTerm } from './leader-term.js';
import type { KafkaRuntimeOptions } from './kafka-desired.js';
import type { DriverFactory } from './mesos-driver.js';
import { RUNTIME_METRICS, type Metrics } from './metrics.js';
import type { Timeline } from './timeline.js';

export type Role = 'starting' | 'follower' | 'leader' | 'stopping' | 'stopped';

/** What the runtime needs from the leader election (LeaderElection implements it). */
export interface Election extends Leadership {
  readonly memberId: string;
  on(listener: (e: ElectionEvent) => void): () => void;
  start(): Promise<void>;
  close(): Promise<void>;
  currentLeader(): Promise<LeaderInfo | undefined>;
}

export interface SchedulerRuntimeOptions {
  /** The raw store (follower reads). */
  store: StateStore;
  /** The FencedStateStore over `store` and `election` (every leader write). */
  fenced: StateStore;
  election: Election;
  /** This instance's admin API address (what followers redirect to when it leads). */
  address: string;
  driverFactory: DriverFactory;
  coreConfig: Partial<CoreConfig>;
  logger: Logger;
  metrics: Metrics;
  timeline: Timeline;
  /** Kafka support (the tarball URL and distribution); without it a stored Kafka cluster is not run. */
  kafka?: KafkaRuntimeOptions;
  /** Unrecoverable: the process should exit non-zero (its supervisor restarts it). */
  onFatal: (err: unknown) => void;
  /** Delay before a new term after a failed one (doubles up to 30 s). */
  retryDelayMs?: number;
  clock?: () => number;
}

export class SchedulerRuntime {
  private currentRole: Role = 'starting';
  private term: LeaderTerm | undefined;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private offElection: (() => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly opts: SchedulerRuntimeOptions) {
    this.log = opts.logger;
    this.retryDelay = opts.retryDelayMs ?? 1_000;
  }

  get role(): Role {
    return this.currentRole;
  }

  get memberId(): string {
    return this.opts.election.memberId;
  }

  get address(): string {
    return this.opts.address;
  }

  get store(): StateStore {
    return this.opts.store;
  }

  get coreConfig(): Partial<CoreConfig> {
    return this.opts.coreConfig;
  }

  get kafkaOptions(): KafkaRuntimeOptions | undefined {
    return this.opts.kafka;
  }

  get timeline(): Timeline {
    return this.opts.timeline;
  }

  get metrics(): Metrics {
    return this.opts.metrics;
  }

  /** The running term while this instance leads (and has not stepped down). */
  leaderTerm(): LeaderTerm | undefined {
    return this.term;
  }

  currentLeader(): Promise<LeaderInfo | undefined> {
    return this.opts.election.currentLeader();
  }

  /** Joins the election; resolves once this instance is a member (not when it leads). */
  async start(): Promise<void> {
    this.offElection = this.opts.election.on((e) => this.onElection(e));
    this.opts.metrics.set(RUNTIME_METRICS.leader, 0);
    await this.opts.election.start();
  }

  /**
   * Graceful stop: the term ends (subscription closed without TEARDOWN, no write in flight), then the
   * member znode is deleted so a standby takes over at once.
   */
  async shutdown(): Promise<void> {
    if (this.currentRole === 'stopping' || this.currentRole === 'stopped') return this.chain;
    this.currentRole = 'stopping';
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await this.transition(async () => {
      await this.stepDown('shutting down');
      this.offElection?.();
      await this.opts.election.close();
      this.currentRole = 'stopped';
    });
  }

  private transition(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn).catch((err: unknown) => {
      this.log.error('role transition failed', { error: errorMessage(err) });
      this.opts.onFatal(err);
    });
    this.chain = next;
    return next;
  }

  private stopping(): boolean {
    return this.currentRole === 'stopping' || this.currentRole === 'stopped';
  }

  private onElection(e: ElectionEvent): void {
    switch (e.type) {
      case 'elected':
        void this.transition(() => this.lead(e.epoch));
        return;
      case 'resumed': {
        const fence = this.opts.election.fence();
        if (fence !== undefined && this.term === undefined) void this.transition(() => this.lead(fence.epoch));
        return;
      }
      case 'suspended':
        void this.transition(() => this.stepDown('lost the ZooKeeper connection'));
        return;
      case 'deposed':
        void this.transition(() => this.stepDown(`deposed (${e.reason})`));
        return;
      case 'following':
        if (this.term === undefined && !this.stopping()) {
          this.currentRole = 'follower';
          this.log.info('following', { predecessor: e.predecessor });
        }
        return;
      case 'error':
        this.log.error('leader election failed', { error: e.error.message });
        this.opts.onFatal(e.error);
        return;
    }
  }

  private async lead(epoch: number): Promise<void> {
    if (this.stopping()) return;
    if (this.term !== undefined) {
      if (this.term.epoch === epoch) return;
      await this.stepDown(`new epoch ${epoch}`);
    }
    if (this.opts.election.fence()?.epoch !== epoch) return; // lost it again meanwhile
    this.currentRole = 'leader';
    this.opts.metrics.set(RUNTIME_METRICS.leader, 1);
    this.opts.metrics.inc(RUNTIME_METRICS.termsStarted);
    const term: LeaderTerm = new LeaderTerm({
      store: this.opts.fenced,
      leadership: this.opts.election,
      epoch,
      driverFactory: this.opts.driverFactory,
      coreConfig: this.opts.coreConfig,
      logger: this.log,
      metrics: this.opts.metrics,
      timeline: this.opts.timeline,
      ...(this.opts.kafka === undefined ? {} : { kafka: this.opts.kafka }),
      ...(this.opts.clock === undefined ? {} : { clock: this.opts.clock }),
      onFailed: (why, err) => void this.transition(() => this.termFailed(term, why, err)),
      onFatal: (err) => this.opts.onFatal(err),
    });
    this.term = term;
    this.log.info('elected: starting a leadership term', { epoch });
    try {
      await term.start();
      this.retryDelay = this.opts.retryDelayMs ?? 1_000;
    } catch (err) {
      await this.termFailed(term, 'loading the state failed', err);
    }
  }

  private async termFailed(term: LeaderTerm, why: string, err: unknown): Promise<void> {
    if (this.term !== term) return;
    if (!(err instanceof KmfError) || err.code === 'corrupt_state') {
      // Not an I/O outcome (a bug), or state this build cannot read (written by a newer kmf?): retrying
      // cannot help, and holding on to leadership would keep another instance from leading. Crash, and let
      // the supervisor restart from ZooKeeper (design rule 6).
      await this.stepDown(why);
      this.opts.onFatal(err);
      return;
    }
    await this.stepDown(`${why}: ${err.message}`);
    const fence = this.opts.election.fence();
    if (fence === undefined || this.stopping()) return;
    // The election still says we lead (e.g. a write timed out): try again from a fresh load.
    const delay = this.retryDelay;
    this.retryDelay = Math.min(30_000, this.retryDelay * 2);
    this.log.warn('starting a new leadership term after a failure', { delayMs: delay, epoch: fence.epoch });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const f = this.opts.election.fence();
      if (f !== undefined) void this.transition(() => this.lead(f.epoch));
    }, delay);
  }

  private async stepDown(reason: string): Promise<void> {
    const term = this.term;
    this.term = undefined;
    if (!this.stopping()) this.currentRole = 'follower';
    this.opts.metrics.set(RUNTIME_METRICS.leader, 0);
    if (term !== undefined) {
      this.log.warn('stepping down', { reason, epoch: term.epoch });
      await term.stop(reason);
    }
  }
}
