/**
 * TS view of mesos.v1.executor.Call / Event (include/mesos/v1/executor/executor.proto, 1.11) in the same
 * JSON-mapping shape as src/mesos/types.ts. Only the simulated agent speaks this side of the API.
 */
import type {
  AgentInfo,
  ContainerID,
  ExecutorID,
  ExecutorInfo,
  FrameworkID,
  FrameworkInfo,
  KillPolicy,
  TaskGroupInfo,
  TaskID,
  TaskInfo,
  TaskStatus,
} from '../../mesos/types.js';

export const EXECUTOR_CALL_TYPE = 'mesos.v1.executor.Call';
export const EXECUTOR_EVENT_TYPE = 'mesos.v1.executor.Event';

export type ExecutorCallType = 'UNKNOWN' | 'SUBSCRIBE' | 'UPDATE' | 'MESSAGE' | 'HEARTBEAT';

export interface ExecutorCall {
  executor_id: ExecutorID;
  framework_id: FrameworkID;
  type?: ExecutorCallType;
  subscribe?: { unacknowledged_tasks?: TaskInfo[]; unacknowledged_updates?: Array<{ status: TaskStatus }> };
  update?: { status: TaskStatus };
  message?: { data: Buffer };
}

export type ExecutorEvent =
  | {
      type: 'SUBSCRIBED';
      subscribed: { executor_info: ExecutorInfo; framework_info: FrameworkInfo; agent_info: AgentInfo; container_id?: ContainerID };
    }
  | { type: 'LAUNCH'; launch: { task: TaskInfo } }
  | { type: 'LAUNCH_GROUP'; launch_group: { task_group: TaskGroupInfo } }
  | { type: 'KILL'; kill: { task_id: TaskID; kill_policy?: KillPolicy } }
  | { type: 'ACKNOWLEDGED'; acknowledged: { task_id: TaskID; uuid: Buffer } }
  | { type: 'MESSAGE'; message: { data: Buffer } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'SHUTDOWN' }
  | { type: 'HEARTBEAT' };

/** One executor's event stream (the SUBSCRIBE response), as the agent's executor logic sees it. */
export interface ExecutorConnection {
  send(event: ExecutorEvent): void;
  close(): void;
  readonly closed: boolean;
  onClose(cb: () => void): void;
}
