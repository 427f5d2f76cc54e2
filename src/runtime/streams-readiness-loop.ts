/**
 * Leader-only loop that decides readiness of Streams instances (units of kind "streams", readiness 'external')
 * and feeds it to the core as `readiness` events: every interval it asks each running instance for
 * `GET /state` on its port named "state" (src/streams/state-probe.ts has the contract). An instance becomes
 * ready on RUNNING, keeps it through REBALANCING, and loses it on any other state or no answer.
 *
 * Only changes are sent (the core's `ready` is the reference). Probes run in parallel, each with a short
 * timeout, so one hung instance does not hold the others' verdicts back.
 */
import type { UnitView } from '../core/plans.js';
import { probeState, readinessFromState, STATE_PORT, type StreamsState } from '../streams/state-probe.js';
import { STREAMS_KIND } from '../streams/spec.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { StreamsStatus } from './streams-status.js';

export interface StreamsReadinessTarget {
  stillLeading(): boolean;
  readonly isLoaded: boolean;
  units(): UnitView[];
  readiness(taskId: string, ready: boolean): void;
}

export type StateProbe = (host: string, port: number) => Promise<StreamsState | undefined>;

export class StreamsReadinessLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly term: StreamsReadinessTarget,
    private readonly status: StreamsStatus,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
    private readonly probe: StateProbe = probeState,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err: unknown) => {
          this.log.debug('streams readiness round failed', { error: errorMessage(err) });
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, delay);
  }

  /** One pass over every running Streams instance (exported for tests through the class). */
  async round(): Promise<void> {
    if (this.stopped || !this.term.isLoaded || !this.term.stillLeading()) return;
    const running = this.term.units().filter((u) => u.kind === STREAMS_KIND && u.task?.state === 'TASK_RUNNING');
    const verdicts = await Promise.all(
      running.map(async (u) => {
        const task = u.task;
        const port = task?.ports[STATE_PORT];
        if (task === undefined || port === undefined) return undefined;
        const state = await this.probe(task.hostname, port);
        return { unit: u.name, taskId: task.taskId, wasReady: task.ready, state };
      }),
    );
    if (this.stopped || !this.term.stillLeading()) return;
    const now = Date.now();
    for (const v of verdicts) {
      if (v === undefined) continue;
      this.status.setInstance(v.unit, { taskId: v.taskId, state: v.state, at: now });
      const ready = readinessFromState(v.state, v.wasReady);
      if (ready !== v.wasReady) {
        this.log.info(ready ? 'streams instance ready' : 'streams instance not ready', { unit: v.unit, taskId: v.taskId, state: v.state ?? 'no answer' });
        this.term.readiness(v.taskId, ready);
      }
    }
  }
}
