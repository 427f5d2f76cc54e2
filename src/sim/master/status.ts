/**
 * Master-generated status updates (validation errors, invalid offers, reconciliation, agent loss and
 * re-registration). They never carry a uuid, so schedulers must not acknowledge them (item 143).
 */
import type { TaskState, TaskStatus, TaskStatusReason, TimeInfo } from '../../mesos/types.js';

/** Seconds since the epoch as a double, as TaskStatus.timestamp. */
export function nowSeconds(): number {
  return Date.now() / 1000;
}

/** TimeInfo for now (nanoseconds as a decimal string). */
export function timeInfoNow(): TimeInfo {
  return { nanoseconds: (BigInt(Date.now()) * 1_000_000n).toString() };
}

export interface MasterStatusFields {
  taskId: string;
  state: TaskState;
  message: string;
  reason: TaskStatusReason;
  agentId?: string;
  executorId?: string;
  healthy?: boolean;
  containerStatus?: TaskStatus['container_status'];
  unreachableTime?: TimeInfo;
}

export function masterStatus(f: MasterStatusFields): TaskStatus {
  const status: TaskStatus = {
    task_id: { value: f.taskId },
    state: f.state,
    message: f.message,
    source: 'SOURCE_MASTER',
    reason: f.reason,
    timestamp: nowSeconds(),
  };
  if (f.agentId !== undefined) status.agent_id = { value: f.agentId };
  if (f.executorId !== undefined) status.executor_id = { value: f.executorId };
  if (f.healthy !== undefined) status.healthy = f.healthy;
  if (f.containerStatus !== undefined) status.container_status = f.containerStatus;
  if (f.unreachableTime !== undefined) status.unreachable_time = f.unreachableTime;
  return status;
}
