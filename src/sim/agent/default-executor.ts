/**
 * The DEFAULT executor for LAUNCH_GROUP, run in-process (Mesos runs src/launcher/default_executor.cpp as a
 * process that launches nested containers through the agent API; the observable task behaviour is the same):
 *   - the executor sandbox gets the executor's URIs and volumes; each task runs in a nested sandbox
 *     `<executor sandbox>/containers/<containerId>` (linked from `tasks/<taskId>`) with its own URIs, and
 *     sees MESOS_SANDBOX (its nested sandbox), MESOS_CONTAINER_IP and MESOS_ALLOCATION_ROLE;
 *   - per task: TASK_STARTING, nested launch, TASK_RUNNING, then the command-executor terminal rules;
 *   - default restart policy: when a task of a group ends FAILED or KILLED, the rest of its group is killed;
 *   - the executor ends when none of its tasks runs any more; the agent then reports the executor's exit
 *     (status 0) to the master, which sends FAILURE{executor_id, status} to the framework.
 */
import { randomUUID } from 'node:crypto';
import type { ExecutorInfo, FrameworkInfo, KillPolicy, TaskInfo } from '../../mesos/types.js';
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { CommandTask, type TaskUpdate } from './command-executor.js';
import { launchFailedMessage, prepareContainer } from './container.js';
import { hasCapability, taskStatus, type ExecutorHandle, type ExecutorHost } from './executor-handle.js';
import { createExecutorSandbox, createNestedSandbox } from './paths.js';
import { applyCommandEnvironment } from './sandbox-env.js';
import { reservationRole } from './volumes.js';

interface GroupTask {
  readonly info: TaskInfo;
  readonly group: number;
  readonly abort: AbortController;
  runner?: CommandTask;
  killRequested: boolean;
  killPolicy?: KillPolicy;
  done: boolean;
}

export class DefaultExecutor implements ExecutorHandle {
  readonly kind = 'default' as const;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly containerId = randomUUID();
  readonly logger: Logger;
  private readonly tasks = new Map<string, GroupTask>();
  private readonly killingGroups = new Set<number>();
  private nextGroup = 0;
  private sandbox: Promise<string> | undefined;
  private shuttingDown = false;
  private abandoned = false;
  private finished = false;

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

  /** The executor itself is in-process; container_status carries the agent's pid, as the executor's. */
  get pid(): number | undefined {
    return process.pid;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  launch(task: TaskInfo): void {
    this.launchGroup([task]);
  }

  launchGroup(tasks: TaskInfo[]): void {
    const group = this.nextGroup++;
    for (const info of tasks) {
      this.tasks.set(info.task_id.value, { info, group, abort: new AbortController(), killRequested: false, done: false });
    }
    if (this.shuttingDown) {
      for (const info of tasks) this.endWithoutProcess(info.task_id.value, 'TASK_KILLED', 'Executor is shutting down');
      return;
    }
    for (const info of tasks) {
      void this.runTask(info.task_id.value).catch((err: unknown) => {
        this.logger.error('default executor task failed', { taskId: info.task_id.value, error: errorMessage(err) });
      });
    }
  }

  kill(taskId: string, killPolicy?: KillPolicy): void {
    const t = this.tasks.get(taskId);
    if (t === undefined || t.done) {
      this.logger.warn('kill for a task the default executor does not run', { taskId });
      return;
    }
    if (t.runner !== undefined) {
      t.runner.kill(killPolicy);
      return;
    }
    t.killRequested = true;
    if (killPolicy !== undefined) t.killPolicy = killPolicy;
    t.abort.abort();
  }

  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const [id, t] of this.tasks) {
      if (!t.done) this.kill(id);
    }
    this.maybeFinish();
  }

  frameworkMessage(_data: Buffer): void {
    // The default executor ignores framework messages.
  }

  abandon(): void {
    this.abandoned = true;
    for (const t of this.tasks.values()) {
      t.abort.abort();
      t.runner?.abandon();
    }
  }

  private executorSandbox(): Promise<string> {
    this.sandbox ??= (async () => {
      const dir = createExecutorSandbox(this.host.workDir, this.host.agentId, this.frameworkId, this.executorId, this.containerId);
      await prepareContainer({
        host: this.host,
        sandbox: dir,
        containerId: this.containerId,
        uris: this.executorInfo.command?.uris,
        resources: this.executorInfo.resources,
        logger: this.logger,
      });
      return dir;
    })();
    return this.sandbox;
  }

  private async runTask(taskId: string): Promise<void> {
    const t = this.tasks.get(taskId);
    if (t === undefined) return;
    let executorDir: string;
    try {
      executorDir = await this.executorSandbox();
    } catch (err) {
      // The executor container itself failed: the agent fails every task it was given.
      this.endWithoutProcess(taskId, 'TASK_FAILED', launchFailedMessage(err), 'SOURCE_AGENT');
      return;
    }
    if (this.abandoned) return;
    if (t.killRequested) {
      this.endWithoutProcess(taskId, 'TASK_KILLED', 'Task killed before it was launched');
      return;
    }
    this.send(taskId, { state: 'TASK_STARTING' });
    const nestedId = randomUUID();
    const sandbox = createNestedSandbox(executorDir, nestedId, taskId);
    try {
      await prepareContainer({
        host: this.host,
        sandbox,
        containerId: nestedId,
        uris: t.info.command?.uris,
        resources: t.info.resources,
        logger: this.logger,
        signal: t.abort.signal,
      });
    } catch (err) {
      if (this.abandoned) return;
      if (t.killRequested) this.endWithoutProcess(taskId, 'TASK_KILLED', 'Task killed before it was launched');
      else this.endWithoutProcess(taskId, 'TASK_FAILED', launchFailedMessage(err));
      return;
    }
    if (this.abandoned) return;
    if (t.killRequested) {
      this.endWithoutProcess(taskId, 'TASK_KILLED', 'Task killed before it was launched');
      return;
    }
    const command = t.info.command ?? {};
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    env['MESOS_SANDBOX'] = sandbox;
    env['MESOS_CONTAINER_IP'] = this.host.ip;
    const role = t.info.resources?.[0] === undefined ? undefined : (t.info.resources[0].allocation_info?.role ?? reservationRole(t.info.resources[0]));
    if (role !== undefined) env['MESOS_ALLOCATION_ROLE'] = role;
    applyCommandEnvironment(env, command);
    t.runner = new CommandTask({
      taskId,
      command,
      sandbox,
      env,
      ...(t.info.kill_policy === undefined ? {} : { killPolicy: t.info.kill_policy }),
      ...(t.info.health_check === undefined ? {} : { healthCheck: t.info.health_check }),
      ...(t.info.max_completion_time === undefined ? {} : { maxCompletionTime: t.info.max_completion_time }),
      taskKillingState: hasCapability(this.framework, 'TASK_KILLING_STATE'),
      sendStarting: false,
      registry: this.host.registry,
      logger: this.logger.child({ taskId }),
      clock: this.host.clock,
      checkIp: this.host.ip,
      onUpdate: (u) => this.send(taskId, u),
    });
    t.runner.start();
    await t.runner.done;
  }

  private send(taskId: string, u: TaskUpdate): void {
    if (this.abandoned) return;
    this.host.status(this, taskStatus(taskId, u.state, 'SOURCE_EXECUTOR', u));
    if (u.state === 'TASK_FINISHED' || u.state === 'TASK_FAILED' || u.state === 'TASK_KILLED') this.taskEnded(taskId, u.state);
  }

  private endWithoutProcess(taskId: string, state: 'TASK_FAILED' | 'TASK_KILLED', message: string, source: 'SOURCE_EXECUTOR' | 'SOURCE_AGENT' = 'SOURCE_EXECUTOR'): void {
    const t = this.tasks.get(taskId);
    if (t === undefined || t.done || this.abandoned) return;
    const reason = state === 'TASK_FAILED' ? 'REASON_CONTAINER_LAUNCH_FAILED' : undefined;
    this.host.status(this, taskStatus(taskId, state, source, { message, ...(reason === undefined ? {} : { reason }) }));
    this.taskEnded(taskId, state);
  }

  private taskEnded(taskId: string, state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED'): void {
    const t = this.tasks.get(taskId);
    if (t === undefined || t.done) return;
    t.done = true;
    if (!this.shuttingDown && !this.killingGroups.has(t.group) && (state === 'TASK_FAILED' || state === 'TASK_KILLED')) {
      this.killingGroups.add(t.group);
      for (const [id, other] of this.tasks) {
        if (other.group === t.group && !other.done) {
          this.logger.info('killing the rest of the task group', { failedTask: taskId, taskId: id });
          this.kill(id);
        }
      }
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || this.abandoned) return;
    for (const t of this.tasks.values()) if (!t.done) return;
    this.finished = true;
    this.host.executorTerminated(this, 0);
  }
}
