/**
 * Task reconciliation answers (reference §K), as a pure function of what the master knows.
 *
 * Implicit (no tasks listed): one update per task in the framework's task map (unreachable tasks are not
 * in it). Explicit, per task:
 *   (1) known → its latest forwarded state;  (2) unknown, agent still recovering → no answer;
 *   (3) unknown, agent registered → TASK_GONE; (4) agent unreachable → TASK_UNREACHABLE (+ unreachable_time);
 *   (5) agent gone → TASK_GONE_BY_OPERATOR; (6) agent unknown → TASK_UNKNOWN;
 *   (3)–(6) become TASK_LOST for frameworks without PARTITION_AWARE.
 */
import type { TaskState, TaskStatus, TimeInfo } from '../../mesos/types.js';
import type { MasterTask } from './model.js';
import { masterStatus } from './status.js';

export type AgentStanding = 'registered' | 'recovering' | 'unreachable' | 'gone' | 'unknown';

export interface ReconcileView {
  partitionAware: boolean;
  /** A task in the framework's task map (not unreachable ones). */
  task(taskId: string): MasterTask | undefined;
  tasks(): Iterable<MasterTask>;
  agentStanding(agentId: string): AgentStanding;
  unreachableTime(agentId: string): TimeInfo | undefined;
  anyAgentRecovering(): boolean;
}

function latestHealth(task: MasterTask): boolean | undefined {
  for (let i = task.statuses.length - 1; i >= 0; i--) {
    const healthy = task.statuses[i]?.healthy;
    if (healthy !== undefined) return healthy;
  }
  return undefined;
}

export function knownTaskStatus(task: MasterTask): TaskStatus {
  const last = task.statuses[task.statuses.length - 1];
  const fields: Parameters<typeof masterStatus>[0] = {
    taskId: task.info.task_id.value,
    state: task.statusUpdateState ?? task.state,
    message: 'Reconciliation: Latest task state',
    reason: 'REASON_RECONCILIATION',
    agentId: task.agentId,
  };
  if (task.executorId !== undefined) fields.executorId = task.executorId;
  const healthy = latestHealth(task);
  if (healthy !== undefined) fields.healthy = healthy;
  if (last?.container_status !== undefined) fields.containerStatus = last.container_status;
  return masterStatus(fields);
}

export function reconcileTasks(
  view: ReconcileView,
  requested: ReadonlyArray<{ task_id: { value: string }; agent_id?: { value: string } }>,
): TaskStatus[] {
  if (requested.length === 0) return [...view.tasks()].map(knownTaskStatus);

  const out: TaskStatus[] = [];
  const lostOr = (state: TaskState): TaskState => (view.partitionAware ? state : 'TASK_LOST');
  for (const t of requested) {
    const taskId = t.task_id.value;
    const agentId = t.agent_id?.value;
    const known = view.task(taskId);
    if (known !== undefined) {
      out.push(knownTaskStatus(known));
      continue;
    }
    const standing = agentId === undefined ? undefined : view.agentStanding(agentId);
    if ((agentId !== undefined && standing === 'recovering') || (agentId === undefined && view.anyAgentRecovering())) {
      continue;
    }
    if (agentId !== undefined && standing === 'registered') {
      out.push(masterStatus({ taskId, agentId, state: lostOr('TASK_GONE'), message: 'Reconciliation: Task is unknown to the agent', reason: 'REASON_RECONCILIATION' }));
    } else if (agentId !== undefined && standing === 'unreachable') {
      const fields: Parameters<typeof masterStatus>[0] = {
        taskId,
        agentId,
        state: lostOr('TASK_UNREACHABLE'),
        message: 'Reconciliation: Task is unreachable',
        reason: 'REASON_RECONCILIATION',
      };
      const when = view.unreachableTime(agentId);
      if (when !== undefined) fields.unreachableTime = when;
      out.push(masterStatus(fields));
    } else if (agentId !== undefined && standing === 'gone') {
      out.push(masterStatus({ taskId, agentId, state: lostOr('TASK_GONE_BY_OPERATOR'), message: 'Reconciliation: Task is gone', reason: 'REASON_RECONCILIATION' }));
    } else {
      const fields: Parameters<typeof masterStatus>[0] = {
        taskId,
        state: lostOr('TASK_UNKNOWN'),
        message: 'Reconciliation: Task is unknown',
        reason: 'REASON_RECONCILIATION',
      };
      if (agentId !== undefined) fields.agentId = agentId;
      out.push(masterStatus(fields));
    }
  }
  return out;
}
