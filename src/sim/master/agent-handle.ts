/**
 * The cluster's side of one simulated agent. It owns the SimAgent (processes, executors, status update
 * manager) and plays the agent's half of the master↔agent protocol:
 *
 *  - it is the `AgentLink` the master talks to, and it remembers what a real agent checkpoints and
 *    reports when it re-registers: total resources (with dynamic reservations and volumes), the
 *    frameworks, executors and tasks it runs, each task's latest state and its pending update;
 *  - it forwards the agent's uplink (status updates, executor messages and exits) to the current
 *    leading master, through the fault injector;
 *  - it models the network: while partitioned or down, nothing passes in either direction (the agent's
 *    status update retries re-deliver after the partition heals).
 */
import type {
  Attribute,
  ExecutorInfo,
  FrameworkInfo,
  KillPolicy,
  Resource,
  TaskInfo,
  TaskState,
  TaskStatus,
} from '../../mesos/types.js';
import { isTerminalState } from '../../mesos/types.js';
import type { Logger } from '../../util/log.js';
import { SimAgent, type SimAgentOptions } from '../agent/agent.js';
import type { StatusUpdateFaults } from './faults.js';
import type { SimMaster } from './master.js';
import type { AgentLink, AgentRegistration, RegisteredTask } from './model.js';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface AgentRouter {
  /** The leading master, if any. */
  master(): SimMaster | undefined;
  readonly faults: StatusUpdateFaults;
}

export interface AgentHandleOptions {
  id: string;
  hostname: string;
  ip: string;
  workDir: string;
  resources: Resource[];
  attributes: Attribute[];
  synthetic?: { runningDelayMs: number };
  statusUpdateRetry?: { initialMs: number; maxMs: number };
  timings?: SimAgentOptions['timings'];
  logger: Logger;
  router: AgentRouter;
  /**
   * Where the agent checkpoints its id and total resources (dynamic reservations and volumes included), as a
   * real agent does under its work dir's meta/: a sim started again with --recover reads it back.
   */
  checkpointFile?: string;
}

export type AgentLifecycle = 'up' | 'down' | 'removed';

interface AgentTaskRecord extends RegisteredTask {
  checkpoint: boolean;
  partitionAware: boolean;
}

function key(frameworkId: string, id: string): string {
  return `${frameworkId}\u0000${id}`;
}

export class AgentHandle implements AgentLink {
  readonly id: string;
  readonly hostname: string;
  readonly ip: string;
  readonly attributes: Attribute[];
  private readonly opts: AgentHandleOptions;
  private readonly logger: Logger;
  private agent: SimAgent | undefined;
  lifecycle: AgentLifecycle = 'down';
  partitioned = false;
  /** Checkpointed total resources. */
  total: Resource[];
  private readonly tasks = new Map<string, AgentTaskRecord>();
  private readonly executors = new Map<string, { frameworkId: string; executor: ExecutorInfo }>();
  private readonly frameworks = new Map<string, FrameworkInfo>();
  private port = 5051;

  constructor(opts: AgentHandleOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.hostname = opts.hostname;
    this.ip = opts.ip;
    this.attributes = opts.attributes;
    this.total = opts.resources;
    this.logger = opts.logger.child({ agentId: opts.id });
  }

  get endpointPort(): number {
    return this.port;
  }

  /** Reachable from the master: running and not partitioned. */
  get reachable(): boolean {
    return this.lifecycle === 'up' && !this.partitioned;
  }

  /** Start (or restart, after a crash) the SimAgent process model with the same id and work dir. */
  async start(): Promise<void> {
    const agentOpts: SimAgentOptions = {
      id: this.id,
      hostname: this.hostname,
      ip: this.ip,
      port: 0,
      workDir: this.opts.workDir,
      resources: this.total,
      attributes: this.attributes,
      logger: this.opts.logger,
    };
    if (this.opts.synthetic !== undefined) agentOpts.synthetic = this.opts.synthetic;
    if (this.opts.statusUpdateRetry !== undefined) agentOpts.statusUpdateRetry = this.opts.statusUpdateRetry;
    if (this.opts.timings !== undefined) agentOpts.timings = this.opts.timings;
    const agent = new SimAgent(agentOpts, {
      statusUpdate: (frameworkId, status, latestState) => this.onStatusUpdate(agent, frameworkId, status, latestState),
      executorMessage: (frameworkId, executorId, data) => {
        if (this.agent !== agent || !this.reachable) return;
        this.router().agentExecutorMessage(this.id, frameworkId, executorId, data);
      },
      executorExited: (frameworkId, executorId, waitStatus) => {
        if (this.agent !== agent) return;
        this.executors.delete(key(frameworkId, executorId));
        if (!this.reachable) return;
        this.router().agentExecutorExited(this.id, frameworkId, executorId, waitStatus);
      },
    });
    await agent.start();
    this.agent = agent;
    this.port = agent.endpoint.port;
    this.lifecycle = 'up';
  }

  private router(): {
    agentStatusUpdate: SimMaster['agentStatusUpdate'];
    agentExecutorMessage: SimMaster['agentExecutorMessage'];
    agentExecutorExited: SimMaster['agentExecutorExited'];
  } {
    const master = this.opts.router.master();
    if (master === undefined || !master.hasAgent(this.id)) {
      const noop = (): void => undefined;
      return { agentStatusUpdate: noop, agentExecutorMessage: noop, agentExecutorExited: noop };
    }
    return {
      agentStatusUpdate: master.agentStatusUpdate.bind(master),
      agentExecutorMessage: master.agentExecutorMessage.bind(master),
      agentExecutorExited: master.agentExecutorExited.bind(master),
    };
  }

  private onStatusUpdate(from: SimAgent, frameworkId: string, status: TaskStatus, latestState?: TaskState): void {
    if (this.agent !== from) return;
    const record = this.tasks.get(key(frameworkId, status.task_id.value));
    if (record !== undefined) {
      record.state = latestState ?? status.state;
      record.statusUpdateState = status.state;
      if (status.uuid !== undefined) record.statusUpdateUuid = status.uuid;
      record.lastStatus = status;
    }
    if (!this.reachable) return;
    this.deliver(frameworkId, status, latestState);
  }

  /** Hand one update to the leading master, through the fault injector. */
  private deliver(frameworkId: string, status: TaskStatus, latestState?: TaskState): void {
    const decision = this.opts.router.faults.decide(this.id, status);
    const send = (): void => {
      if (this.reachable) this.router().agentStatusUpdate(this.id, frameworkId, status, latestState);
    };
    switch (decision.action) {
      case 'deliver':
        send();
        break;
      case 'drop':
        this.logger.info('fault injection: dropping a status update', { taskId: status.task_id.value, state: status.state });
        break;
      case 'delay':
        setTimeout(send, decision.delayMs).unref();
        break;
      case 'duplicate':
        send();
        send();
        break;
    }
  }

  registration(): AgentRegistration {
    const tasks: RegisteredTask[] = [...this.tasks.values()].map((t) => {
      const out: RegisteredTask = { frameworkId: t.frameworkId, task: t.task, state: t.state };
      if (t.executorId !== undefined) out.executorId = t.executorId;
      if (t.statusUpdateState !== undefined) out.statusUpdateState = t.statusUpdateState;
      if (t.statusUpdateUuid !== undefined) out.statusUpdateUuid = t.statusUpdateUuid;
      if (t.lastStatus !== undefined) out.lastStatus = t.lastStatus;
      return out;
    });
    const liveFrameworks = new Set([...tasks.map((t) => t.frameworkId), ...[...this.executors.values()].map((e) => e.frameworkId)]);
    return {
      id: this.id,
      hostname: this.hostname,
      ip: this.ip,
      port: this.port,
      resources: this.total,
      attributes: this.attributes,
      link: this,
      tasks,
      executors: [...this.executors.values()],
      frameworks: [...this.frameworks.values()].filter((f) => liveFrameworks.has(f.id?.value ?? '')),
    };
  }

  // ---- AgentLink (master → agent) ------------------------------------------------------------------

  private recordFramework(framework: FrameworkInfo): void {
    const id = framework.id?.value;
    if (id !== undefined) this.frameworks.set(id, framework);
  }

  private recordTask(framework: FrameworkInfo, task: TaskInfo, executorId: string | undefined): void {
    const frameworkId = framework.id?.value ?? '';
    const record: AgentTaskRecord = {
      frameworkId,
      task,
      state: 'TASK_STAGING',
      checkpoint: framework.checkpoint === true,
      partitionAware: (framework.capabilities ?? []).some((c) => c.type === 'PARTITION_AWARE'),
    };
    if (executorId !== undefined) record.executorId = executorId;
    this.tasks.set(key(frameworkId, task.task_id.value), record);
  }

  launchTasks(framework: FrameworkInfo, tasks: TaskInfo[]): void {
    if (!this.reachable || this.agent === undefined) return;
    this.recordFramework(framework);
    for (const task of tasks) {
      if (task.executor !== undefined) {
        this.executors.set(key(framework.id?.value ?? '', task.executor.executor_id.value), {
          frameworkId: framework.id?.value ?? '',
          executor: task.executor,
        });
      }
      this.recordTask(framework, task, task.executor?.executor_id.value);
    }
    this.agent.launchTasks(framework, tasks);
  }

  launchGroup(framework: FrameworkInfo, executor: ExecutorInfo, tasks: TaskInfo[]): void {
    if (!this.reachable || this.agent === undefined) return;
    this.recordFramework(framework);
    this.executors.set(key(framework.id?.value ?? '', executor.executor_id.value), { frameworkId: framework.id?.value ?? '', executor });
    for (const task of tasks) this.recordTask(framework, task, executor.executor_id.value);
    this.agent.launchGroup(framework, executor, tasks);
  }

  killTask(frameworkId: string, taskId: string, killPolicy?: KillPolicy): void {
    if (!this.reachable) return;
    this.agent?.killTask(frameworkId, taskId, killPolicy);
  }

  acknowledge(frameworkId: string, taskId: string, uuid: Buffer): void {
    if (!this.reachable) return;
    const record = this.tasks.get(key(frameworkId, taskId));
    if (
      record !== undefined &&
      record.statusUpdateUuid?.equals(uuid) === true &&
      record.statusUpdateState !== undefined &&
      isTerminalState(record.statusUpdateState)
    ) {
      this.tasks.delete(key(frameworkId, taskId));
    }
    this.agent?.acknowledge(frameworkId, taskId, uuid);
  }

  shutdownExecutor(frameworkId: string, executorId: string): void {
    if (!this.reachable) return;
    this.agent?.shutdownExecutor(frameworkId, executorId);
  }

  frameworkMessage(frameworkId: string, executorId: string, data: Buffer): void {
    if (!this.reachable) return;
    this.agent?.frameworkMessage(frameworkId, executorId, data);
  }

  shutdownFramework(frameworkId: string): void {
    if (!this.reachable) return;
    for (const [k, t] of this.tasks) if (t.frameworkId === frameworkId) this.tasks.delete(k);
    for (const [k, e] of this.executors) if (e.frameworkId === frameworkId) this.executors.delete(k);
    this.frameworks.delete(frameworkId);
    this.agent?.shutdownFramework(frameworkId);
  }

  updateTotalResources(total: Resource[]): void {
    this.total = total;
    this.writeCheckpoint();
  }

  /** Persist the id and total resources (write to a temporary file, then rename: never a torn file). */
  writeCheckpoint(): void {
    const file = this.opts.checkpointFile;
    if (file === undefined) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ id: this.id, resources: this.total }));
    fs.renameSync(`${file}.tmp`, file);
  }

  createVolume(role: string, persistenceId: string): string {
    return this.agent?.createVolume(role, persistenceId) ?? '';
  }

  destroyVolume(role: string, persistenceId: string): void {
    this.agent?.destroyVolume(role, persistenceId);
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  /** Tasks the handle knows (for the control API). */
  taskCount(): number {
    return this.tasks.size;
  }

  pids(): number[] {
    return this.agent?.processIds() ?? [];
  }

  /** SIGKILL everything; the agent is down until restarted. */
  async crash(): Promise<void> {
    const agent = this.agent;
    this.lifecycle = 'down';
    this.agent = undefined;
    await agent?.crash();
  }

  /**
   * Restart after a crash (same id, same work dir). Executors died with the agent, so every task of a
   * checkpointing framework is reported lost: TASK_GONE for PARTITION_AWARE frameworks, TASK_LOST
   * otherwise, reason REASON_EXECUTOR_REREGISTRATION_TIMEOUT (what a real agent sends when its
   * executors do not reregister after recovery). Non-checkpointing frameworks were already told by
   * the master when the connection broke.
   */
  async restart(): Promise<Array<{ frameworkId: string; status: TaskStatus }>> {
    const lost: Array<{ frameworkId: string; status: TaskStatus }> = [];
    for (const t of this.tasks.values()) {
      if (!t.checkpoint || isTerminalState(t.state)) continue;
      const status: TaskStatus = {
        task_id: t.task.task_id,
        state: t.partitionAware ? 'TASK_GONE' : 'TASK_LOST',
        message: 'Executor did not reregister within 2secs',
        source: 'SOURCE_AGENT',
        reason: 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT',
        agent_id: { value: this.id },
        timestamp: Date.now() / 1000,
        uuid: Buffer.from(randomUUID().replaceAll('-', ''), 'hex'),
      };
      if (t.executorId !== undefined) status.executor_id = { value: t.executorId };
      lost.push({ frameworkId: t.frameworkId, status });
    }
    this.tasks.clear();
    this.executors.clear();
    await this.start();
    return lost;
  }

  /** Report updates a restarted agent generated itself (see restart()). */
  reportLost(lost: ReadonlyArray<{ frameworkId: string; status: TaskStatus }>): void {
    for (const { frameworkId, status } of lost) {
      if (this.reachable) this.deliver(frameworkId, status, status.state);
    }
  }

  /** Orderly stop: all processes terminated; the agent is gone for good. */
  async stop(): Promise<void> {
    const agent = this.agent;
    this.lifecycle = 'removed';
    this.agent = undefined;
    await agent?.stop();
  }
}
