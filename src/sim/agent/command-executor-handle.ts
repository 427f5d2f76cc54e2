/**
 * The built-in command executor for one command task (executor_id = task id), run in-process.
 * Launch: sandbox → fetch URIs → link volumes → CommandTask (STARTING, process, RUNNING …).
 * A kill that arrives before the process exists ends the launch with TASK_KILLED
 * (SOURCE_AGENT, REASON_TASK_KILLED_DURING_LAUNCH); a fetch/volume failure with TASK_FAILED
 * (SOURCE_AGENT, REASON_CONTAINER_LAUNCH_FAILED). No FAILURE event follows a command executor's end.
 */
import { randomUUID } from 'node:crypto';
import type { FrameworkInfo, KillPolicy, TaskInfo } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { CommandTask, type TaskUpdate } from './command-executor.js';
import { launchFailedMessage, prepareContainer } from './container.js';
import { hasCapability, taskStatus, type ExecutorHandle, type ExecutorHost } from './executor-handle.js';
import { createExecutorSandbox } from './paths.js';
import { durationNs, executorEnvironment, nsToTimerMs } from './sandbox-env.js';

export class CommandExecutor implements ExecutorHandle {
  readonly kind = 'command' as const;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly containerId = randomUUID();
  readonly logger: Logger;
  private task: TaskInfo | undefined;
  private runner: CommandTask | undefined;
  private sandbox = '';
  private killRequested = false;
  private abandoned = false;
  private finished = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly host: ExecutorHost,
    readonly framework: FrameworkInfo,
    taskId: string,
    logger: Logger,
  ) {
    this.frameworkId = framework.id?.value ?? '';
    this.executorId = taskId;
    this.logger = logger.child({ executorId: taskId, containerId: this.containerId });
  }

  get pid(): number | undefined {
    return this.runner?.pid;
  }

  get sandboxDir(): string {
    return this.sandbox;
  }

  launch(task: TaskInfo): void {
    if (this.task !== undefined) {
      // The real command executor refuses a second task the same way.
      this.host.status(this, taskStatus(task.task_id.value, 'TASK_FAILED', 'SOURCE_EXECUTOR', { message: 'Attempted to run multiple tasks using a "command" executor' }));
      return;
    }
    this.task = task;
    void this.run(task).catch((err: unknown) => {
      this.logger.error('command executor failed', { error: errorMessage(err) });
      this.finish();
    });
  }

  launchGroup(tasks: TaskInfo[]): void {
    for (const t of tasks) this.launch(t);
  }

  kill(_taskId: string, killPolicy?: KillPolicy): void {
    if (this.runner !== undefined) {
      this.runner.kill(killPolicy);
      return;
    }
    this.killRequested = true;
    this.abort.abort();
  }

  /** SHUTDOWN: the command executor kills its task with (shutdown grace − 2 s), like Mesos. */
  shutdown(): void {
    if (this.runner !== undefined) {
      const ns = durationNs(this.task?.executor?.shutdown_grace_period);
      const graceMs = ns === undefined ? this.host.timings.executorShutdownGraceMs : nsToTimerMs(ns);
      this.runner.killWithGrace(Math.max(0, graceMs - 2000));
      return;
    }
    this.killRequested = true;
    this.abort.abort();
  }

  frameworkMessage(_data: Buffer): void {
    // The command executor ignores framework messages.
  }

  abandon(): void {
    this.abandoned = true;
    this.abort.abort();
    this.runner?.abandon();
  }

  private async run(task: TaskInfo): Promise<void> {
    const taskId = task.task_id.value;
    try {
      this.sandbox = createExecutorSandbox(this.host.workDir, this.host.agentId, this.frameworkId, this.executorId, this.containerId);
      await prepareContainer({
        host: this.host,
        sandbox: this.sandbox,
        containerId: this.containerId,
        uris: task.command?.uris,
        resources: task.resources,
        logger: this.logger,
        signal: this.abort.signal,
      });
    } catch (err) {
      if (this.abandoned) return;
      if (this.killRequested) this.killedDuringLaunch(taskId);
      else {
        this.logger.warn('container launch failed', { error: errorMessage(err) });
        this.host.status(this, taskStatus(taskId, 'TASK_FAILED', 'SOURCE_AGENT', { reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: launchFailedMessage(err) }));
      }
      this.finish();
      return;
    }
    if (this.abandoned) return;
    if (this.killRequested) {
      this.killedDuringLaunch(taskId);
      this.finish();
      return;
    }
    const command = task.command ?? {};
    const env = executorEnvironment({
      frameworkId: this.frameworkId,
      executorId: this.executorId,
      directory: this.sandbox,
      agentId: this.host.agentId,
      agentIp: this.host.ip,
      agentPort: this.host.port(),
      checkpoint: this.framework.checkpoint === true,
      base: process.env,
      command,
    });
    this.runner = new CommandTask({
      taskId,
      command,
      sandbox: this.sandbox,
      env,
      ...(task.kill_policy === undefined ? {} : { killPolicy: task.kill_policy }),
      ...(task.health_check === undefined ? {} : { healthCheck: task.health_check }),
      ...(task.max_completion_time === undefined ? {} : { maxCompletionTime: task.max_completion_time }),
      taskKillingState: hasCapability(this.framework, 'TASK_KILLING_STATE'),
      registry: this.host.registry,
      logger: this.logger,
      clock: this.host.clock,
      checkIp: this.host.ip,
      onUpdate: (u) => this.onUpdate(taskId, u),
    });
    this.runner.start();
    await this.runner.done;
    this.finish();
  }

  private onUpdate(taskId: string, u: TaskUpdate): void {
    if (this.abandoned) return;
    this.host.status(this, taskStatus(taskId, u.state, 'SOURCE_EXECUTOR', u));
  }

  private killedDuringLaunch(taskId: string): void {
    this.host.status(this, taskStatus(taskId, 'TASK_KILLED', 'SOURCE_AGENT', { reason: 'REASON_TASK_KILLED_DURING_LAUNCH', message: 'Task killed before it was launched' }));
  }

  private finish(): void {
    if (this.finished || this.abandoned) return;
    this.finished = true;
    this.host.executorTerminated(this, undefined);
  }
}
