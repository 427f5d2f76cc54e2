/**
 * One command task run as a real child process, with the behaviour of the Mesos 1.11 command executor
 * (src/launcher/executor.cpp), which the in-process default executor reuses per task:
 *   - TASK_STARTING, then the process is started (own process group, cwd = sandbox, stdout/stderr appended
 *     to `<sandbox>/stdout` and `<sandbox>/stderr`), then TASK_RUNNING;
 *   - exit: TASK_FINISHED if the status is 0 — even after a kill, exactly like Mesos —, otherwise
 *     TASK_KILLED if a kill was issued, otherwise TASK_FAILED; message `Command <WSTRINGIFY(status)>`, e.g.
 *     `Command exited with status 1`, `Command terminated with signal Killed`;
 *   - kill: TASK_KILLING first if the framework has TASK_KILLING_STATE, SIGTERM to the process group, SIGKILL
 *     after the grace period: the KILL's kill_policy, else the task's kill_policy, else 3 s. A repeated kill
 *     may shorten the remaining grace period, never extend it;
 *   - health checks (see health-checks.ts): each report is a TASK_RUNNING update with `healthy` and reason
 *     REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (none once a kill started); a report asking for a kill kills
 *     the task, whose terminal update then carries `healthy: false`;
 *   - max_completion_time: killed with no grace, TASK_FAILED / REASON_MAX_COMPLETION_TIME_REACHED.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandInfo, DurationInfo, HealthCheck, KillPolicy, TaskState, TaskStatusReason } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { describeWaitStatus, succeeded, waitStatusOf } from './exit-status.js';
import { HealthChecker, type HealthReport } from './health-checks.js';
import type { ProcessGroupRegistry, TrackedProcess } from './process-registry.js';
import { commandLaunchSpec, durationNs, nsToTimerMs } from './sandbox-env.js';
import { systemClock, type Clock } from './status-update-manager.js';

/** Kill grace period of the command and default executors when no kill policy says otherwise. */
export const DEFAULT_KILL_GRACE_MS = 3000;

export interface TaskUpdate {
  state: TaskState;
  message?: string;
  reason?: TaskStatusReason;
  healthy?: boolean;
}

export interface CommandTaskOptions {
  taskId: string;
  command: CommandInfo;
  sandbox: string;
  env: Record<string, string>;
  killPolicy?: KillPolicy;
  healthCheck?: HealthCheck;
  maxCompletionTime?: DurationInfo;
  /** The framework has the TASK_KILLING_STATE capability. */
  taskKillingState: boolean;
  /** Send TASK_STARTING from start() (default). The default executor sends it itself before fetching. */
  sendStarting?: boolean;
  registry: ProcessGroupRegistry;
  logger: Logger;
  clock?: Clock;
  /** Address HTTP/TCP health checks connect to (the agent's address). */
  checkIp?: string;
  /** Every status the executor sends for the task, in order. */
  onUpdate: (u: TaskUpdate) => void;
}

export function killPolicyGraceMs(policy: KillPolicy | undefined): number | undefined {
  const ns = durationNs(policy?.grace_period);
  return ns === undefined ? undefined : nsToTimerMs(ns);
}

export class CommandTask {
  private readonly clock: Clock;
  private proc: TrackedProcess | undefined;
  private launched = false;
  private killed = false;
  private terminated = false;
  private unhealthy = false;
  private killedByMaxCompletion = false;
  private killStartedAt = 0;
  private escalationDeadline = Infinity;
  private escalationTimer: unknown = undefined;
  private completionTimer: unknown = undefined;
  private checker: HealthChecker | undefined;
  private resolveDone!: () => void;
  /** Resolves after the terminal update has been emitted. */
  readonly done: Promise<void>;

  constructor(private readonly opts: CommandTaskOptions) {
    this.clock = opts.clock ?? systemClock;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get pid(): number | undefined {
    return this.proc !== undefined && this.proc.pgid > 0 ? this.proc.pgid : undefined;
  }

  get isTerminated(): boolean {
    return this.terminated;
  }

  get isKilled(): boolean {
    return this.killed;
  }

  /** STARTING, start the process, RUNNING; health checks and the completion timer begin. */
  start(): void {
    const o = this.opts;
    let spec;
    try {
      spec = commandLaunchSpec(o.command);
    } catch (err) {
      this.terminated = true;
      o.onUpdate({ state: 'TASK_FAILED', message: errorMessage(err) });
      this.resolveDone();
      return;
    }
    try {
      const out = openSync(join(o.sandbox, 'stdout'), 'a');
      const err = openSync(join(o.sandbox, 'stderr'), 'a');
      try {
        this.proc = o.registry.spawn(spec.file, spec.args, {
          cwd: o.sandbox,
          env: o.env,
          stdio: ['ignore', out, err],
          ...(spec.argv0 === undefined ? {} : { argv0: spec.argv0 }),
        });
      } finally {
        closeSync(out);
        closeSync(err);
      }
    } catch (err) {
      this.terminated = true;
      o.onUpdate({ state: 'TASK_FAILED', message: `Failed to launch the command: ${errorMessage(err)}` });
      this.resolveDone();
      return;
    }
    this.proc.child.once('error', (e) => o.logger.warn('task process error', { error: errorMessage(e) }));
    this.launched = true;
    // STARTING goes out once the process exists, so that, as on a real agent, every update of the task
    // carries container_status.executor_pid (third-party executors and schedulers read it).
    if (o.sendStarting !== false) o.onUpdate({ state: 'TASK_STARTING' });
    void this.proc.exited.then(({ code, signal }) => this.reaped(waitStatusOf(code, signal)));
    o.logger.info('task process started', { pid: this.pid, sandbox: o.sandbox });

    if (o.healthCheck !== undefined) {
      this.checker = new HealthChecker(
        o.healthCheck,
        { sandbox: o.sandbox, env: o.env, registry: o.registry, logger: o.logger, clock: this.clock, ...(o.checkIp === undefined ? {} : { ip: o.checkIp }) },
        (r) => this.onHealth(r),
      );
    }
    const maxNs = durationNs(o.maxCompletionTime);
    if (maxNs !== undefined && maxNs > 0n) {
      this.completionTimer = this.clock.setTimeout(() => this.onMaxCompletion(), nsToTimerMs(maxNs));
    }
    o.onUpdate({ state: 'TASK_RUNNING' });
    this.checker?.start();
  }

  /** KILL with an optional kill_policy override (from the KILL call). */
  kill(override?: KillPolicy): void {
    const graceMs = killPolicyGraceMs(override) ?? killPolicyGraceMs(this.opts.killPolicy) ?? DEFAULT_KILL_GRACE_MS;
    this.killWithGrace(graceMs);
  }

  killWithGrace(graceMs: number): void {
    if (this.terminated) return;
    const now = this.clock.now();
    if (this.killed) {
      // A retried or repeated kill may only bring the SIGKILL closer.
      const deadline = this.killStartedAt + graceMs;
      if (deadline >= this.escalationDeadline) return;
      this.scheduleEscalation(Math.max(0, deadline - now), deadline);
      return;
    }
    if (!this.launched || this.proc === undefined) return;
    this.killed = true;
    if (this.opts.taskKillingState && !this.killedByMaxCompletion) this.opts.onUpdate({ state: 'TASK_KILLING' });
    this.checker?.stop();
    this.opts.logger.info('killing task', { pid: this.pid, graceMs });
    this.opts.registry.signal(this.proc.pgid, 'SIGTERM');
    this.killStartedAt = now;
    this.scheduleEscalation(graceMs, now + graceMs);
  }

  /** Stop without any update (agent crash/stop): SIGKILL the group, silence every callback. */
  abandon(): void {
    this.terminated = true;
    this.checker?.stop();
    this.clearTimers();
    if (this.proc !== undefined) this.opts.registry.signal(this.proc.pgid, 'SIGKILL');
    this.resolveDone();
  }

  private scheduleEscalation(ms: number, deadline: number): void {
    if (this.escalationTimer !== undefined) this.clock.clearTimeout(this.escalationTimer);
    this.escalationDeadline = deadline;
    this.escalationTimer = this.clock.setTimeout(() => {
      this.escalationTimer = undefined;
      if (this.terminated || this.proc === undefined) return;
      this.opts.logger.info('task did not terminate within its grace period, sending SIGKILL', { pid: this.pid });
      this.opts.registry.signal(this.proc.pgid, 'SIGKILL');
    }, ms);
  }

  private onHealth(r: HealthReport): void {
    if (this.killed || this.terminated) return;
    this.opts.onUpdate({
      state: 'TASK_RUNNING',
      healthy: r.healthy,
      reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
    });
    if (r.killTask) {
      this.unhealthy = true;
      this.kill();
    }
  }

  private onMaxCompletion(): void {
    this.completionTimer = undefined;
    if (this.killed || this.terminated) return;
    this.opts.logger.info('task exceeded its max_completion_time');
    this.killedByMaxCompletion = true;
    this.killWithGrace(0);
  }

  private clearTimers(): void {
    if (this.escalationTimer !== undefined) this.clock.clearTimeout(this.escalationTimer);
    if (this.completionTimer !== undefined) this.clock.clearTimeout(this.completionTimer);
    this.escalationTimer = undefined;
    this.completionTimer = undefined;
  }

  private reaped(status: number): void {
    if (this.terminated) return;
    this.terminated = true;
    this.clearTimers();
    this.checker?.stop();
    let state: TaskState;
    let reason: TaskStatusReason | undefined;
    if (succeeded(status)) {
      state = 'TASK_FINISHED';
    } else if (this.killedByMaxCompletion) {
      state = 'TASK_FAILED';
      reason = 'REASON_MAX_COMPLETION_TIME_REACHED';
    } else if (this.killed) {
      state = 'TASK_KILLED';
    } else {
      state = 'TASK_FAILED';
    }
    const update: TaskUpdate = { state, message: `Command ${describeWaitStatus(status)}` };
    if (reason !== undefined) update.reason = reason;
    if (this.unhealthy) update.healthy = false;
    this.opts.logger.info('task process exited', { pid: this.pid, state, status: update.message });
    this.opts.onUpdate(update);
    this.resolveDone();
  }
}
