/**
 * Fault injection on agent → master status updates: drop, delay or duplicate the updates that match a
 * rule (by agent, task, state), for a limited count or until cleared. Dropped updates come back through
 * the agent's own retry (at-least-once), exactly as a lost message would with a real agent.
 */
import type { TaskState, TaskStatus } from '../../mesos/types.js';

export type FaultAction = 'drop' | 'delay' | 'duplicate';

export interface StatusUpdateFaultRule {
  action: FaultAction;
  /** Only updates from this agent / for this task / in this state (each optional). */
  agentId?: string;
  taskId?: string;
  state?: TaskState;
  /** How many matching updates to affect (default: every one until cleared). */
  count?: number;
  /** For `delay`. */
  delayMs?: number;
}

export interface FaultDecision {
  action: FaultAction | 'deliver';
  delayMs: number;
}

interface LiveRule {
  id: number;
  rule: StatusUpdateFaultRule;
  remaining: number;
  applied: number;
}

export class StatusUpdateFaults {
  private rules: LiveRule[] = [];
  private nextId = 1;

  add(rule: StatusUpdateFaultRule): number {
    if (!['drop', 'delay', 'duplicate'].includes(rule.action)) throw new Error(`unknown fault action '${String(rule.action)}'`);
    if (rule.action === 'delay' && (rule.delayMs === undefined || rule.delayMs < 0)) throw new Error('a delay fault needs delayMs >= 0');
    const id = this.nextId++;
    this.rules.push({ id, rule: { ...rule }, remaining: rule.count ?? Number.POSITIVE_INFINITY, applied: 0 });
    return id;
  }

  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<StatusUpdateFaultRule & { id: number; applied: number; remaining: number | null }> {
    return this.rules.map((r) => ({
      ...r.rule,
      id: r.id,
      applied: r.applied,
      remaining: Number.isFinite(r.remaining) ? r.remaining : null,
    }));
  }

  /** What to do with one update; the first matching rule with budget left applies. */
  decide(agentId: string, status: TaskStatus): FaultDecision {
    for (const live of this.rules) {
      const { rule } = live;
      if (live.remaining <= 0) continue;
      if (rule.agentId !== undefined && rule.agentId !== agentId) continue;
      if (rule.taskId !== undefined && rule.taskId !== status.task_id.value) continue;
      if (rule.state !== undefined && rule.state !== status.state) continue;
      live.remaining--;
      live.applied++;
      return { action: rule.action, delayMs: rule.delayMs ?? 0 };
    }
    return { action: 'deliver', delayMs: 0 };
  }
}
