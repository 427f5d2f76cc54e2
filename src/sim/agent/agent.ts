/**
 * SimAgent: one simulated Mesos 1.11 agent (the seam with the master is /tmp/kmf/SIM-INTERFACE.md, kept in
 * docs/mesos-sim-agent.md). It runs tasks as real processes in sandboxes under its work dir — or, in
 * synthetic mode, as cheap records —, serves the executor HTTP API, and reports task statuses to its master
 * reliably through the status update manager (one unacknowledged update per task, retried with doubling).
 *
 * Everything the agent tells the master goes through one outbox flushed on the next turn of the event
 * loop, in order: the master is never re-entered from inside one of its own calls, and a status never
 * overtakes the executor exit that follows it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AgentInfo,
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
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { CommandExecutor } from './command-executor-handle.js';
import { CustomExecutor } from './custom-executor.js';
import { DefaultExecutor } from './default-executor.js';
import { EXECUTOR_API_PATHS, handleExecutorApi, type ExecutorApiTarget } from './executor-api.js';
import { hasCapability, taskStatus, type AgentTimings, type ExecutorHandle, type ExecutorHost } from './executor-handle.js';
import { fetcherCacheDir } from './paths.js';
import { ProcessGroupRegistry } from './process-registry.js';
import { StatusUpdateManager, systemClock, type Clock, type RetryPolicy } from './status-update-manager.js';
import { DelayQueue, SyntheticExecutor } from './synthetic.js';
import { createVolumeDir, destroyVolumeDir } from './volumes.js';

export interface SimAgentOptions {
  /** AgentID value, assigned by the master ("<masterId>-S<n>"). */
  id: string;
  hostname: string;
  ip: string;
  /** Port of this agent's own HTTP server (executor API); 0 = ephemeral. */
  port: number;
  /** Root of this agent's sandboxes and volumes; survives crash/restart of the agent. */
  workDir: string;
  resources: Resource[];
  attributes: Attribute[];
  /** Synthetic mode: tasks are not processes; RUNNING after runningDelayMs, until killed. */
  synthetic?: { runningDelayMs: number };
  /** Status update retry: first retry after this many ms, doubling up to maxMs (real Mesos: 10 s → 10 min). */
  statusUpdateRetry?: RetryPolicy;
  logger: Logger;
  /** Executor registration timeout, heartbeat interval, shutdown grace (Mesos defaults: 1 min, 30 min, 5 s). */
  timings?: Partial<AgentTimings>;
  /** stop(): how long processes get between SIGTERM and SIGKILL (default 2000 ms). */
  stopGraceMs?: number;
  /** Time source for timers (tests). */
  clock?: Clock;
}

/** What the agent tells its master. The master decides what reaches the framework. */
export interface SimAgentUplink {
  /**
   * An executor/agent-originated status update (has a uuid). Called again on every retry until acknowledged.
   * At most one unacknowledged update per task is outstanding (reference item 145). `latestState` is the
   * newest state the agent knows for the task (Mesos' StatusUpdate.latest_state), which may be ahead of
   * `status.state` while older updates wait for their ACK: the master releases resources on a terminal one.
   */
  statusUpdate(frameworkId: string, status: TaskStatus, latestState?: TaskState): void;
  /** Executor → scheduler MESSAGE. */
  executorMessage(frameworkId: string, executorId: string, data: Buffer): void;
  /** A custom/default executor exited (the master sends FAILURE{agent_id, executor_id, status}). */
  executorExited(frameworkId: string, executorId: string, waitStatus: number): void;
}

export const DEFAULT_AGENT_TIMINGS: AgentTimings = {
  executorRegistrationTimeoutMs: 60_000,
  executorHeartbeatIntervalMs: 30 * 60_000,
  executorShutdownGraceMs: 5_000,
};

interface TaskRecord {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly executorId: string;
  state: TaskState;
}

function key(frameworkId: string, id: string): string {
  return `${frameworkId}\u0000${id}`;
}

/** 16 raw bytes of a random (version 4) UUID. */
function uuidBytes(): Buffer {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
}

export class SimAgent {
  readonly id: string;
  private readonly opts: SimAgentOptions;
  private readonly uplink: SimAgentUplink;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly registry = new ProcessGroupRegistry();
  private readonly sum: StatusUpdateManager;
  private readonly frameworks = new Map<string, FrameworkInfo>();
  private readonly terminatingFrameworks = new Set<string>();
  private readonly executors = new Map<string, ExecutorHandle>();
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly synthetic: DelayQueue | undefined;
  private readonly host: ExecutorHost;
  private server: Server | undefined;
  private boundPort: number | undefined;
  private dead = false;
  private outbox: Array<() => void> = [];
  private flushScheduled = false;

  constructor(opts: SimAgentOptions, uplink: SimAgentUplink) {
    this.opts = opts;
    this.id = opts.id;
    this.uplink = uplink;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger.child({ component: 'sim-agent', agentId: opts.id });
    this.sum = new StatusUpdateManager({
      clock: this.clock,
      ...(opts.statusUpdateRetry === undefined ? {} : { retry: opts.statusUpdateRetry }),
      forward: (frameworkId, status, latestState) => this.send(() => this.uplink.statusUpdate(frameworkId, status, latestState)),
    });
    this.synthetic = opts.synthetic === undefined ? undefined : new DelayQueue(opts.synthetic.runningDelayMs, this.clock);
    const timings: AgentTimings = { ...DEFAULT_AGENT_TIMINGS, ...opts.timings };
    this.host = {
      agentId: opts.id,
      ip: opts.ip,
      workDir: opts.workDir,
      cacheDir: fetcherCacheDir(opts.workDir),
      registry: this.registry,
      clock: this.clock,
      timings,
      port: () => this.endpoint.port,
      agentInfo: () => this.agentInfo(),
      status: (executor, status) => this.executorStatus(executor, status),
      executorMessage: (executor, data) => {
        if (this.terminatingFrameworks.has(executor.frameworkId)) return;
        this.send(() => this.uplink.executorMessage(executor.frameworkId, executor.executorId, data));
      },
      executorTerminated: (executor, waitStatus) => this.executorTerminated(executor, waitStatus),
    };
  }

  /** Starts the executor API server (not in synthetic mode); resolves when listening. */
  async start(): Promise<void> {
    if (this.synthetic !== undefined || this.server !== undefined) return;
    const server = createServer((req, res) => this.onHttp(req, res));
    // Executor event streams are long-lived; never time them out.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    // A real agent never closes an idle executor connection; executors that keep one connection open for
    // all their calls (pymesos) would lose their final update otherwise.
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.ip, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info('agent listening', { endpoint: `${this.opts.ip}:${this.boundPort}` });
  }

  /** For Offer.url and MESOS_AGENT_ENDPOINT. A synthetic agent serves nothing and reports its nominal port. */
  get endpoint(): { ip: string; port: number } {
    return { ip: this.opts.ip, port: this.boundPort ?? (this.opts.port === 0 ? 5051 : this.opts.port) };
  }

  launchTasks(framework: FrameworkInfo, tasks: TaskInfo[]): void {
    const fw = this.admitFramework(framework);
    if (fw === undefined) return;
    for (const task of tasks) {
      const taskId = task.task_id.value;
      const existing = this.tasks.get(key(fw, taskId));
      if (existing !== undefined && !isTerminalState(existing.state)) {
        this.logger.warn('ignoring launch of a task that is already live', { frameworkId: fw, taskId });
        continue;
      }
      const executor = this.executorFor(framework, fw, task);
      if (executor === undefined) continue;
      this.tasks.set(key(fw, taskId), { frameworkId: fw, taskId, executorId: executor.executorId, state: 'TASK_STAGING' });
      executor.launch(task);
    }
  }

  launchGroup(framework: FrameworkInfo, executor: ExecutorInfo, tasks: TaskInfo[]): void {
    const fw = this.admitFramework(framework);
    if (fw === undefined) return;
    const execId = executor.executor_id.value;
    let handle = this.executors.get(key(fw, execId));
    if (handle === undefined) {
      const logger = this.logger.child({ frameworkId: fw });
      if (this.synthetic !== undefined) {
        handle = new SyntheticExecutor(this.host, this.synthetic, framework, execId, 'default', logger);
      } else if (executor.type === 'CUSTOM') {
        const custom = new CustomExecutor(this.host, framework, executor, logger);
        custom.start();
        handle = custom;
      } else {
        handle = new DefaultExecutor(this.host, framework, executor, logger);
      }
      this.executors.set(key(fw, execId), handle);
    }
    for (const t of tasks) {
      this.tasks.set(key(fw, t.task_id.value), { frameworkId: fw, taskId: t.task_id.value, executorId: execId, state: 'TASK_STAGING' });
    }
    handle.launchGroup(tasks);
  }

  killTask(frameworkId: string, taskId: string, killPolicy?: KillPolicy): void {
    if (this.dead) return;
    const framework = this.frameworks.get(frameworkId);
    if (framework === undefined || this.terminatingFrameworks.has(frameworkId)) {
      this.logger.warn('ignoring kill: unknown framework', { frameworkId, taskId });
      return;
    }
    const rec = this.tasks.get(key(frameworkId, taskId));
    if (rec !== undefined && isTerminalState(rec.state)) {
      this.logger.info('ignoring kill of a terminated task', { frameworkId, taskId, state: rec.state });
      return;
    }
    const executor = rec === undefined ? undefined : this.executors.get(key(frameworkId, rec.executorId));
    if (executor === undefined) {
      // Never launched here (or its executor is gone): tell the framework, as the real agent does.
      const state: TaskState = hasCapability(framework, 'PARTITION_AWARE') ? 'TASK_DROPPED' : 'TASK_LOST';
      this.agentStatus(frameworkId, undefined, taskStatus(taskId, state, 'SOURCE_AGENT', { reason: 'REASON_EXECUTOR_TERMINATED', message: 'Cannot find executor' }));
      return;
    }
    executor.kill(taskId, killPolicy);
  }

  acknowledge(frameworkId: string, taskId: string, uuid: Buffer): void {
    if (this.dead) return;
    const r = this.sum.acknowledge(frameworkId, taskId, uuid);
    if (!r.ok) {
      this.logger.info('unexpected status update acknowledgement', { frameworkId, taskId, reason: r.reason });
      return;
    }
    if (r.terminal) this.tasks.delete(key(frameworkId, taskId));
  }

  shutdownExecutor(frameworkId: string, executorId: string): void {
    if (this.dead) return;
    const executor = this.executors.get(key(frameworkId, executorId));
    if (executor === undefined) {
      this.logger.warn('ignoring shutdown of an unknown executor', { frameworkId, executorId });
      return;
    }
    executor.shutdown();
  }

  frameworkMessage(frameworkId: string, executorId: string, data: Buffer): void {
    if (this.dead) return;
    const executor = this.executors.get(key(frameworkId, executorId));
    if (executor === undefined) {
      this.logger.warn('dropping framework message for an unknown executor', { frameworkId, executorId });
      return;
    }
    executor.frameworkMessage(data);
  }

  /**
   * TEARDOWN / framework removal: every executor of the framework is shut down (tasks get SIGTERM, then
   * SIGKILL after their grace period); nothing more is reported for the framework — it is gone.
   */
  shutdownFramework(frameworkId: string): void {
    if (this.dead || !this.frameworks.has(frameworkId)) return;
    this.terminatingFrameworks.add(frameworkId);
    this.sum.cleanupFramework(frameworkId);
    for (const [k, rec] of this.tasks) if (rec.frameworkId === frameworkId) this.tasks.delete(k);
    const mine = [...this.executors.values()].filter((e) => e.frameworkId === frameworkId);
    for (const e of mine) e.shutdown();
    if (mine.length === 0) this.forgetFramework(frameworkId);
  }

  /**
   * Inject an agent-generated status (e.g. TASK_GONE for tasks whose executors did not survive an agent
   * restart) into the reliable pipeline: stamped, forwarded, retried until acknowledged like any other.
   */
  reportTaskStatus(frameworkId: string, status: TaskStatus): void {
    const s: TaskStatus = { ...status, source: status.source ?? 'SOURCE_AGENT' };
    this.agentStatus(frameworkId, undefined, s);
    const k = key(frameworkId, s.task_id.value);
    if (!this.tasks.has(k) && !this.dead && this.sum.hasStream(frameworkId, s.task_id.value)) {
      this.tasks.set(k, { frameworkId, taskId: s.task_id.value, executorId: s.executor_id?.value ?? s.task_id.value, state: s.state });
    }
  }

  createVolume(role: string, persistenceId: string): string {
    return createVolumeDir(this.opts.workDir, role, persistenceId);
  }

  destroyVolume(role: string, persistenceId: string): void {
    destroyVolumeDir(this.opts.workDir, role, persistenceId);
  }

  /** Tasks the agent knows: live ones and terminal ones whose terminal update is not acknowledged yet. */
  runningTasks(): Array<{ frameworkId: string; taskId: string; state: TaskStatus['state'] }> {
    return [...this.tasks.values()].map((t) => ({ frameworkId: t.frameworkId, taskId: t.taskId, state: t.state }));
  }

  /** Newest state the agent knows for a task (undefined once its terminal update is acknowledged). */
  latestState(frameworkId: string, taskId: string): TaskState | undefined {
    return this.tasks.get(key(frameworkId, taskId))?.state;
  }

  /** Pids of the process-group leaders this agent runs right now (tasks, executors, checks, fetch helpers). */
  processIds(): number[] {
    return this.registry.pids();
  }

  /** Crash: SIGKILL every process group, stop the HTTP server, send nothing more. */
  async crash(): Promise<void> {
    this.die();
    for (const e of this.executors.values()) e.abandon();
    this.registry.killAllNow();
    await Promise.all([this.registry.waitAll(), this.closeServer()]);
    this.executors.clear();
  }

  /** Orderly stop: SIGTERM, then SIGKILL after stopGraceMs; close the server. No process outlives it. */
  async stop(): Promise<void> {
    this.die();
    await Promise.all([this.registry.terminateAll(this.opts.stopGraceMs ?? 2000), this.closeServer()]);
    for (const e of this.executors.values()) e.abandon();
    this.registry.killAllNow();
    await this.registry.waitAll();
    this.executors.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  private die(): void {
    this.dead = true;
    this.outbox = [];
    this.sum.stop();
    this.synthetic?.clear();
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private send(fn: () => void): void {
    if (this.dead) return;
    this.outbox.push(fn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    for (const fn of batch) {
      if (this.dead) return;
      try {
        fn();
      } catch (err) {
        this.logger.error('uplink call failed', { error: errorMessage(err) });
      }
    }
  }

  private admitFramework(framework: FrameworkInfo): string | undefined {
    if (this.dead) return undefined;
    const fw = framework.id?.value;
    if (fw === undefined) {
      this.logger.error('launch without FrameworkInfo.id ignored');
      return undefined;
    }
    this.terminatingFrameworks.delete(fw);
    this.frameworks.set(fw, framework);
    return fw;
  }

  private executorFor(framework: FrameworkInfo, fw: string, task: TaskInfo): ExecutorHandle | undefined {
    const taskId = task.task_id.value;
    const info = task.executor;
    if (this.synthetic !== undefined) {
      const execId = info?.executor_id.value ?? taskId;
      let e = this.executors.get(key(fw, execId));
      if (e === undefined) {
        // No per-task child logger here: synthetic agents are meant to hold many thousands of tasks.
        e = new SyntheticExecutor(this.host, this.synthetic, framework, execId, info === undefined ? 'command' : 'custom', this.logger);
        this.executors.set(key(fw, execId), e);
      }
      return e;
    }
    const logger = this.logger.child({ frameworkId: fw, taskId });
    if (info !== undefined) {
      const existing = this.executors.get(key(fw, info.executor_id.value));
      if (existing !== undefined) {
        if (existing.kind === 'custom') return existing;
        this.agentStatus(fw, undefined, taskStatus(taskId, 'TASK_FAILED', 'SOURCE_AGENT', { reason: 'REASON_TASK_INVALID', message: `Executor '${info.executor_id.value}' is already running as a ${existing.kind} executor` }));
        return undefined;
      }
      const custom = new CustomExecutor(this.host, framework, info, logger);
      this.executors.set(key(fw, info.executor_id.value), custom);
      custom.start();
      return custom;
    }
    if (task.command === undefined) {
      this.agentStatus(fw, undefined, taskStatus(taskId, 'TASK_FAILED', 'SOURCE_AGENT', { reason: 'REASON_TASK_INVALID', message: 'Task has neither a command nor an executor' }));
      return undefined;
    }
    if (this.executors.has(key(fw, taskId))) {
      this.agentStatus(fw, undefined, taskStatus(taskId, 'TASK_FAILED', 'SOURCE_AGENT', { reason: 'REASON_TASK_INVALID', message: `An executor with id '${taskId}' already runs` }));
      return undefined;
    }
    const e = new CommandExecutor(this.host, framework, taskId, logger);
    this.executors.set(key(fw, taskId), e);
    return e;
  }

  private agentInfo(): AgentInfo {
    return {
      hostname: this.opts.hostname,
      port: this.endpoint.port,
      resources: this.opts.resources,
      attributes: this.opts.attributes,
      id: { value: this.id },
    };
  }

  /** A status from (or on behalf of) an executor: stamp it and hand it to the status update manager. */
  private executorStatus(executor: ExecutorHandle, status: TaskStatus): void {
    this.agentStatus(executor.frameworkId, executor, status);
  }

  private agentStatus(frameworkId: string, executor: ExecutorHandle | undefined, status: TaskStatus): void {
    if (this.dead || this.terminatingFrameworks.has(frameworkId)) return;
    const s: TaskStatus = { ...status, agent_id: { value: this.id } };
    if (s.executor_id === undefined && executor !== undefined) s.executor_id = { value: executor.executorId };
    s.timestamp ??= this.clock.now() / 1000;
    s.uuid ??= uuidBytes();
    if (executor !== undefined) {
      const given = s.container_status?.network_infos;
      const pid = executor.pid;
      s.container_status = {
        ...s.container_status,
        container_id: { value: executor.containerId },
        network_infos: given !== undefined && given.length > 0 ? given : [{ ip_addresses: [{ protocol: 'IPv4', ip_address: this.opts.ip }] }],
        ...(pid === undefined ? {} : { executor_pid: pid }),
      };
    }
    const taskId = s.task_id.value;
    const rec = this.tasks.get(key(frameworkId, taskId));
    if (rec !== undefined) rec.state = s.state;
    else if (executor !== undefined) {
      this.tasks.set(key(frameworkId, taskId), { frameworkId, taskId, executorId: executor.executorId, state: s.state });
    }
    const result = this.sum.update(frameworkId, s);
    if (result === 'duplicate') this.logger.info('duplicate status update ignored', { frameworkId, taskId });
  }

  private executorTerminated(executor: ExecutorHandle, waitStatus: number | undefined): void {
    const k = key(executor.frameworkId, executor.executorId);
    if (this.executors.get(k) === executor) this.executors.delete(k);
    const fw = executor.frameworkId;
    if (this.terminatingFrameworks.has(fw)) {
      if (![...this.executors.values()].some((e) => e.frameworkId === fw)) this.forgetFramework(fw);
      return;
    }
    // Command executors are invisible to the master (no FAILURE); the others report their exit.
    if (waitStatus === undefined && executor.kind !== 'custom') return;
    const status = waitStatus ?? -1;
    this.send(() => this.uplink.executorExited(fw, executor.executorId, status));
  }

  private forgetFramework(frameworkId: string): void {
    this.terminatingFrameworks.delete(frameworkId);
    this.frameworks.delete(frameworkId);
  }

  private lookupExecutor(frameworkId: string, executorId: string): ExecutorApiTarget | 'no-framework' | 'no-executor' {
    if (!this.frameworks.has(frameworkId)) return 'no-framework';
    const e = this.executors.get(key(frameworkId, executorId));
    return e instanceof CustomExecutor ? e : 'no-executor';
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if ((EXECUTOR_API_PATHS as readonly string[]).includes(path)) {
      handleExecutorApi(req, res, { lookupExecutor: (f, e) => this.lookupExecutor(f, e) }, this.logger).catch((err: unknown) => {
        this.logger.error('executor API request failed', { error: errorMessage(err) });
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(errorMessage(err));
        } else res.destroy();
      });
      return;
    }
    if (path === '/health' || path === '/slave(1)/health') {
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
      return;
    }
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
    req.resume();
  }
}
