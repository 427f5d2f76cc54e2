/**
 * A custom executor: a real process started from ExecutorInfo.command in its sandbox (with the reference
 * item 185 environment) that must SUBSCRIBE to the agent's executor API (executor-api.ts).
 *
 * Lifecycle (src/slave/slave.cpp, 1.11): REGISTERING until SUBSCRIBE (tasks queue up; a kill of a queued task
 * is answered by the agent with TASK_KILLED / REASON_TASK_KILLED_DURING_LAUNCH); RUNNING once subscribed
 * (SUBSCRIBED, then the queued LAUNCH / LAUNCH_GROUP events; KILL, MESSAGE, HEARTBEAT every 30 min);
 * TERMINATING after SHUTDOWN (SIGKILL after the shutdown grace period); TERMINATED when the process exits:
 * every task it did not finish gets TASK_FAILED / REASON_EXECUTOR_TERMINATED ("Executor terminated") — or
 * REASON_EXECUTOR_REGISTRATION_TIMEOUT when it never subscribed in time — and the master is told the
 * executor exited with its wait status.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskStatus, TaskStatusReason } from '../../mesos/types.js';
import { isTerminalState } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { launchFailedMessage, prepareContainer } from './container.js';
import { waitStatusOf } from './exit-status.js';
import { taskStatus, type ExecutorHandle, type ExecutorHost } from './executor-handle.js';
import type { ExecutorCall, ExecutorConnection, ExecutorEvent } from './executor-messages.js';
import { createExecutorSandbox } from './paths.js';
import type { TrackedProcess } from './process-registry.js';
import { commandLaunchSpec, durationNs, executorEnvironment, formatStoutDuration, nsToTimerMs } from './sandbox-env.js';

export type CustomExecutorState = 'LAUNCHING' | 'REGISTERING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED';

type Pending = { kind: 'task'; task: TaskInfo } | { kind: 'group'; tasks: TaskInfo[] };

interface Termination {
  reason: TaskStatusReason;
  message: string;
}

export class CustomExecutor implements ExecutorHandle {
  readonly kind = 'custom' as const;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly containerId = randomUUID();
  readonly logger: Logger;
  private stateValue: CustomExecutorState = 'LAUNCHING';
  private readonly pending: Pending[] = [];
  /** Task id → terminal already reported (by the executor or the agent). */
  private readonly taskTerminal = new Map<string, boolean>();
  private conn: ExecutorConnection | undefined;
  private proc: TrackedProcess | undefined;
  private sandbox = '';
  private registrationTimer: unknown = undefined;
  private heartbeatTimer: unknown = undefined;
  private shutdownTimer: unknown = undefined;
  private termination: Termination | undefined;
  private abandoned = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly host: ExecutorHost,
    readonly framework: FrameworkInfo,
    readonly executorInfo: ExecutorInfo,
    logger: Logger,
  ) {
    this.frameworkId = framework.id?.value ?? '';
    this.executorId = executorInfo.executor_id.value;
    this.logger = logger.child({ executorId: this.executorId, containerId: this.containerId });
  }

  get state(): CustomExecutorState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.proc !== undefined && this.proc.pgid > 0 ? this.proc.pgid : undefined;
  }

  get sandboxDir(): string {
    return this.sandbox;
  }

  /** Executor API: calls other than SUBSCRIBE are refused (403) while this is true. */
  get registering(): boolean {
    return this.stateValue === 'LAUNCHING' || this.stateValue === 'REGISTERING';
  }

  /** Start the executor container (fetch, volumes, process) and the registration timer. */
  start(): void {
    void this.startAsync().catch((err: unknown) => {
      this.logger.error('custom executor launch crashed', { error: errorMessage(err) });
    });
  }

  launch(task: TaskInfo): void {
    this.enqueue({ kind: 'task', task });
  }

  launchGroup(tasks: TaskInfo[]): void {
    this.enqueue({ kind: 'group', tasks });
  }

  kill(taskId: string, killPolicy?: KillPolicy): void {
    switch (this.stateValue) {
      case 'LAUNCHING':
      case 'REGISTERING': {
        const idx = this.pending.findIndex((p) => (p.kind === 'task' ? p.task.task_id.value === taskId : p.tasks.some((t) => t.task_id.value === taskId)));
        if (idx < 0) return;
        const [removed] = this.pending.splice(idx, 1);
        if (removed === undefined) return;
        const victims = removed.kind === 'task' ? [removed.task] : removed.tasks;
        const message = removed.kind === 'task' ? 'Killed before delivery to the executor' : 'A task within the task group was killed before delivery to the executor';
        for (const t of victims) this.agentStatus(t.task_id.value, 'TASK_KILLED', 'REASON_TASK_KILLED_DURING_LAUNCH', message);
        // An executor left with nothing to run is shut down, as the real agent does.
        if (this.pending.length === 0) this.shutdown();
        return;
      }
      case 'RUNNING':
        this.sendEvent({ type: 'KILL', kill: { task_id: { value: taskId }, ...(killPolicy === undefined ? {} : { kill_policy: killPolicy }) } });
        return;
      case 'TERMINATING':
      case 'TERMINATED':
        this.logger.warn('kill ignored: executor is terminating', { taskId });
        return;
    }
  }

  shutdown(): void {
    switch (this.stateValue) {
      case 'LAUNCHING':
        this.stateValue = 'TERMINATING';
        this.abort.abort();
        return;
      case 'REGISTERING':
        // Not subscribed: nothing to tell it, destroy the container now.
        this.stateValue = 'TERMINATING';
        if (this.proc !== undefined) this.host.registry.signal(this.proc.pgid, 'SIGKILL');
        return;
      case 'RUNNING': {
        this.stateValue = 'TERMINATING';
        this.sendEvent({ type: 'SHUTDOWN' });
        const ns = durationNs(this.executorInfo.shutdown_grace_period);
        const graceMs = ns === undefined ? this.host.timings.executorShutdownGraceMs : nsToTimerMs(ns);
        this.shutdownTimer = this.host.clock.setTimeout(() => {
          this.shutdownTimer = undefined;
          if (this.proc !== undefined) this.host.registry.signal(this.proc.pgid, 'SIGKILL');
        }, graceMs);
        return;
      }
      case 'TERMINATING':
      case 'TERMINATED':
        return;
    }
  }

  frameworkMessage(data: Buffer): void {
    if (this.stateValue !== 'RUNNING') {
      this.logger.warn('framework message dropped: executor not running');
      return;
    }
    this.sendEvent({ type: 'MESSAGE', message: { data } });
  }

  abandon(): void {
    this.abandoned = true;
    this.abort.abort();
    this.clearTimers();
    if (this.proc !== undefined) this.host.registry.signal(this.proc.pgid, 'SIGKILL');
    this.conn?.close();
    this.conn = undefined;
  }

  // ---- executor API side -----------------------------------------------------------------------

  subscribe(conn: ExecutorConnection, sub: NonNullable<ExecutorCall['subscribe']>): void {
    if (this.stateValue === 'TERMINATING' || this.stateValue === 'TERMINATED') {
      conn.send({ type: 'SHUTDOWN' });
      conn.close();
      return;
    }
    if (this.conn !== undefined && this.conn !== conn) this.conn.close();
    this.conn = conn;
    conn.onClose(() => {
      if (this.conn === conn) {
        this.conn = undefined;
        this.logger.info('executor disconnected');
      }
    });
    const wasRegistering = this.registering;
    this.stateValue = 'RUNNING';
    if (this.registrationTimer !== undefined) this.host.clock.clearTimeout(this.registrationTimer);
    this.registrationTimer = undefined;
    conn.send({
      type: 'SUBSCRIBED',
      subscribed: {
        executor_info: { ...this.executorInfo, framework_id: { value: this.frameworkId } },
        framework_info: this.framework,
        agent_info: this.host.agentInfo(),
        container_id: { value: this.containerId },
      },
    });
    for (const u of sub.unacknowledged_updates ?? []) this.update(u.status);
    if (wasRegistering || this.pending.length > 0) this.flushPending();
    this.armHeartbeat();
    this.logger.info('executor subscribed');
  }

  update(status: TaskStatus): void {
    const taskId = status.task_id.value;
    if (isTerminalState(status.state)) this.taskTerminal.set(taskId, true);
    this.host.status(this, status);
    if (status.uuid !== undefined) this.sendEvent({ type: 'ACKNOWLEDGED', acknowledged: { task_id: status.task_id, uuid: status.uuid } });
  }

  message(data: Buffer): void {
    this.host.executorMessage(this, data);
  }

  // ---- internals -------------------------------------------------------------------------------

  private enqueue(p: Pending): void {
    const tasks = p.kind === 'task' ? [p.task] : p.tasks;
    if (this.stateValue === 'TERMINATING' || this.stateValue === 'TERMINATED') {
      for (const t of tasks) {
        this.agentStatus(t.task_id.value, this.partitionAware() ? 'TASK_DROPPED' : 'TASK_LOST', 'REASON_EXECUTOR_TERMINATED', 'Executor terminating');
      }
      return;
    }
    for (const t of tasks) this.taskTerminal.set(t.task_id.value, false);
    if (this.stateValue === 'RUNNING' && this.conn !== undefined) {
      this.deliver(p);
      return;
    }
    this.pending.push(p);
  }

  private flushPending(): void {
    while (this.pending.length > 0) {
      const p = this.pending.shift();
      if (p !== undefined) this.deliver(p);
    }
  }

  private deliver(p: Pending): void {
    if (p.kind === 'task') this.sendEvent({ type: 'LAUNCH', launch: { task: p.task } });
    else this.sendEvent({ type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks: p.tasks } } });
  }

  private sendEvent(ev: ExecutorEvent): void {
    if (this.conn === undefined || this.conn.closed) {
      this.logger.warn('event dropped: executor not connected', { event: ev.type });
      return;
    }
    this.conn.send(ev);
  }

  private armHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) this.host.clock.clearTimeout(this.heartbeatTimer);
    const every = this.host.timings.executorHeartbeatIntervalMs;
    const tick = (): void => {
      this.heartbeatTimer = undefined;
      if (this.stateValue !== 'RUNNING' && this.stateValue !== 'TERMINATING') return;
      this.sendEvent({ type: 'HEARTBEAT' });
      this.heartbeatTimer = this.host.clock.setTimeout(tick, every);
    };
    this.heartbeatTimer = this.host.clock.setTimeout(tick, every);
  }

  private partitionAware(): boolean {
    return (this.framework.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE');
  }

  private agentStatus(taskId: string, state: TaskStatus['state'], reason: TaskStatusReason, message: string): void {
    if (this.abandoned) return;
    if (isTerminalState(state)) this.taskTerminal.set(taskId, true);
    this.host.status(this, taskStatus(taskId, state, 'SOURCE_AGENT', { reason, message }));
  }

  private async startAsync(): Promise<void> {
    try {
      this.sandbox = createExecutorSandbox(this.host.workDir, this.host.agentId, this.frameworkId, this.executorId, this.containerId);
      await prepareContainer({
        host: this.host,
        sandbox: this.sandbox,
        containerId: this.containerId,
        uris: this.executorInfo.command?.uris,
        resources: this.executorInfo.resources,
        logger: this.logger,
        signal: this.abort.signal,
      });
    } catch (err) {
      if (this.abandoned) return;
      this.logger.warn('executor container launch failed', { error: errorMessage(err) });
      this.terminated(undefined, this.stateValue === 'TERMINATING' ? undefined : { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: launchFailedMessage(err) });
      return;
    }
    if (this.abandoned) return;
    if (this.stateValue === 'TERMINATING') {
      this.terminated(undefined, undefined);
      return;
    }
    const command = this.executorInfo.command ?? {};
    let spec;
    try {
      spec = commandLaunchSpec(command);
    } catch (err) {
      this.terminated(undefined, { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: launchFailedMessage(err) });
      return;
    }
    const env = executorEnvironment({
      frameworkId: this.frameworkId,
      executorId: this.executorId,
      directory: this.sandbox,
      agentId: this.host.agentId,
      agentIp: this.host.ip,
      agentPort: this.host.port(),
      checkpoint: this.framework.checkpoint === true,
      ...(this.executorInfo.shutdown_grace_period === undefined ? {} : { shutdownGracePeriod: this.executorInfo.shutdown_grace_period }),
      base: process.env,
      command,
    });
    const out = openSync(join(this.sandbox, 'stdout'), 'a');
    const errFd = openSync(join(this.sandbox, 'stderr'), 'a');
    try {
      this.proc = this.host.registry.spawn(spec.file, spec.args, {
        cwd: this.sandbox,
        env,
        stdio: ['ignore', out, errFd],
        ...(spec.argv0 === undefined ? {} : { argv0: spec.argv0 }),
      });
    } finally {
      closeSync(out);
      closeSync(errFd);
    }
    this.stateValue = 'REGISTERING';
    this.logger.info('executor process started', { pid: this.pid });
    const timeoutMs = this.host.timings.executorRegistrationTimeoutMs;
    this.registrationTimer = this.host.clock.setTimeout(() => {
      this.registrationTimer = undefined;
      if (this.stateValue !== 'REGISTERING') return;
      this.logger.warn('executor did not subscribe in time');
      this.termination = {
        reason: 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
        message: `Executor did not register within ${formatStoutDuration(BigInt(timeoutMs) * 1_000_000n)}`,
      };
      this.stateValue = 'TERMINATING';
      if (this.proc !== undefined) this.host.registry.signal(this.proc.pgid, 'SIGKILL');
    }, timeoutMs);
    const { code, signal } = await this.proc.exited;
    this.terminated(waitStatusOf(code, signal), this.termination);
  }

  private clearTimers(): void {
    for (const t of [this.registrationTimer, this.heartbeatTimer, this.shutdownTimer]) {
      if (t !== undefined) this.host.clock.clearTimeout(t);
    }
    this.registrationTimer = undefined;
    this.heartbeatTimer = undefined;
    this.shutdownTimer = undefined;
  }

  private terminated(waitStatus: number | undefined, why: Termination | undefined): void {
    if (this.abandoned || this.stateValue === 'TERMINATED') return;
    this.stateValue = 'TERMINATED';
    this.clearTimers();
    this.conn?.close();
    this.conn = undefined;
    this.logger.info('executor terminated', { waitStatus });
    this.pending.length = 0;
    for (const [taskId, terminal] of this.taskTerminal) {
      if (terminal) continue;
      this.agentStatus(taskId, 'TASK_FAILED', why?.reason ?? 'REASON_EXECUTOR_TERMINATED', why?.message ?? 'Executor terminated');
    }
    this.host.executorTerminated(this, waitStatus);
  }
}
