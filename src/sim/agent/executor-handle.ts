/**
 * The contract between SimAgent and the executors it runs (built-in command executor, default executor,
 * custom executor processes, synthetic tasks). Executors never talk to the master: they hand task statuses
 * to the host, which stamps them (agent id, uuid, timestamp, container status) and feeds them to the status
 * update manager.
 */
import type { AgentInfo, FrameworkInfo, KillPolicy, TaskInfo, TaskState, TaskStatus, TaskStatusReason, TaskStatusSource } from '../../mesos/types.js';
import type { Logger } from '../../util/log.js';
import type { ProcessGroupRegistry } from './process-registry.js';
import type { Clock } from './status-update-manager.js';

export type ExecutorKind = 'command' | 'custom' | 'default' | 'synthetic';

export interface AgentTimings {
  /** --executor_registration_timeout (1 min). */
  executorRegistrationTimeoutMs: number;
  /** Executor HEARTBEAT event interval (30 min). */
  executorHeartbeatIntervalMs: number;
  /** --executor_shutdown_grace_period (5 s), unless ExecutorInfo.shutdown_grace_period. */
  executorShutdownGraceMs: number;
}

export interface ExecutorHost {
  readonly agentId: string;
  readonly ip: string;
  readonly workDir: string;
  readonly cacheDir: string;
  readonly registry: ProcessGroupRegistry;
  readonly clock: Clock;
  readonly timings: AgentTimings;
  /** Port of the executor API (what MESOS_AGENT_ENDPOINT names). */
  port(): number;
  agentInfo(): AgentInfo;
  /** A status for one of the executor's tasks; the host completes and forwards it reliably. */
  status(executor: ExecutorHandle, status: TaskStatus): void;
  /** Executor → scheduler MESSAGE. */
  executorMessage(executor: ExecutorHandle, data: Buffer): void;
  /** The executor is gone (process exited or in-process executor finished). */
  executorTerminated(executor: ExecutorHandle, waitStatus: number | undefined): void;
}

export interface ExecutorHandle {
  readonly kind: ExecutorKind;
  readonly framework: FrameworkInfo;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly containerId: string;
  /** For container_status.executor_pid. */
  readonly pid: number | undefined;
  readonly logger: Logger;
  launch(task: TaskInfo): void;
  launchGroup(tasks: TaskInfo[]): void;
  kill(taskId: string, killPolicy?: KillPolicy): void;
  shutdown(): void;
  frameworkMessage(data: Buffer): void;
  /** Agent crash/stop: SIGKILL whatever runs, emit nothing from now on. */
  abandon(): void;
}

export function hasCapability(framework: FrameworkInfo, cap: NonNullable<NonNullable<FrameworkInfo['capabilities']>[number]['type']>): boolean {
  return (framework.capabilities ?? []).some((c) => c.type === cap);
}

/** A bare TaskStatus; the host adds agent_id, executor_id, timestamp, uuid and container_status. */
export function taskStatus(
  taskId: string,
  state: TaskState,
  source: TaskStatusSource,
  extra: { message?: string; reason?: TaskStatusReason; healthy?: boolean } = {},
): TaskStatus {
  const s: TaskStatus = { task_id: { value: taskId }, state, source };
  if (extra.message !== undefined) s.message = extra.message;
  if (extra.reason !== undefined) s.reason = extra.reason;
  if (extra.healthy !== undefined) s.healthy = extra.healthy;
  return s;
}
