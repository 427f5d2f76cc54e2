/**
 * Mesos task reconciliation (reference §K), as a small state machine in volatile state:
 *
 *   SUBSCRIBED / period elapsed ──▶ explicit round: RECONCILE every task kmf thinks may be live,
 *       retried with truncated exponential backoff for the tasks still unanswered
 *   all answered ──▶ implicit RECONCILE (empty list): the master reports every task it knows, and any
 *       task kmf has no record of is killed by the status handler ──▶ idle until the next period
 *   unanswered after maxDurationMs ──▶ those tasks are declared LOST (and killed, in case they exist)
 *
 * Nothing here blocks offers: a unit waits only while its *own* task is in question, because that task
 * may still be running. Units whose task is known to be over are relaunched during the round.
 * The state is volatile on purpose: a persisted "reconciling" flag is how mesos/kafka#306 wedged.
 */
import { reconcileRetryMs } from './backoff.js';
import type { DecisionContext, Draft } from './draft.js';
import { isLiveState } from './state.js';
import { applyStatus } from './status.js';

function explicitTargets(d: Draft, ids: readonly string[]): Array<{ taskId: string; agentId?: string }> {
  return ids.map((taskId) => {
    const agentId = d.tasks.get(taskId)?.agentId;
    return agentId ? { taskId, agentId } : { taskId };
  });
}

export function startRound(d: Draft, ctx: DecisionContext): void {
  const ids = [...d.tasks.values()]
    .filter((t) => isLiveState(t.state))
    .map((t) => t.taskId)
    .sort();
  d.volatile.recon = {
    phase: 'explicit',
    roundStartedAt: ctx.now,
    pending: ids,
    attempt: 0,
    nextAttemptAt: ctx.now + ctx.config.reconcile.initialMs,
  };
  d.event(ctx.now, 'reconciliation', `explicit reconciliation of ${ids.length} task(s) started`);
  if (ids.length > 0) d.reconciles.push({ type: 'reconcile', tasks: explicitTargets(d, ids) });
  else finishRound(d, ctx);
}

function finishRound(d: Draft, ctx: DecisionContext): void {
  d.reconciles.push({ type: 'reconcile', tasks: [] });
  d.volatile.recon = { phase: 'idle', pending: [], attempt: 0, nextRoundAt: ctx.now + ctx.config.reconcile.intervalMs };
  d.event(ctx.now, 'reconciliation', 'explicit reconciliation complete; implicit reconciliation sent');
}

/** Advance the state machine; call on every decision while subscribed. */
export function progressReconciliation(d: Draft, ctx: DecisionContext): void {
  if (!d.volatile.subscribed) return;
  const { now, config } = ctx;
  const r = d.volatile.recon;
  if (r.phase === 'idle') {
    if (r.nextRoundAt === undefined || now >= r.nextRoundAt) startRound(d, ctx);
    return;
  }
  // Tasks whose record went away (or ended through another path) need no answer; any status received
  // since the round started removed its task from `pending` already.
  r.pending = r.pending.filter((id) => {
    const t = d.tasks.get(id);
    return t !== undefined && isLiveState(t.state);
  });
  if (r.pending.length === 0) {
    finishRound(d, ctx);
    return;
  }
  if (r.nextAttemptAt !== undefined && now < r.nextAttemptAt) return;
  if (now - (r.roundStartedAt ?? now) >= config.reconcile.maxDurationMs) {
    for (const id of [...r.pending]) {
      const t = d.tasks.get(id);
      if (!t) continue;
      applyStatus(d, ctx, {
        task_id: { value: id },
        state: 'TASK_LOST',
        source: 'SOURCE_MASTER',
        reason: 'REASON_RECONCILIATION',
        message: 'no answer to explicit reconciliation',
        agent_id: { value: t.agentId },
      });
      // If it does exist somewhere, it must not come back on its own: the master answers a kill of an
      // unknown task with a reconciliation update, so this is safe either way.
      d.kill(now, id, t.agentId, 'reconciliation');
    }
    d.event(now, 'reconciliation', `${r.pending.length} task(s) unanswered after ${config.reconcile.maxDurationMs} ms: declared lost`);
    finishRound(d, ctx);
    return;
  }
  r.attempt += 1;
  r.nextAttemptAt = now + reconcileRetryMs(config.reconcile.initialMs, config.reconcile.factor, config.reconcile.maxMs, r.attempt);
  d.reconciles.push({ type: 'reconcile', tasks: explicitTargets(d, r.pending) });
}

/** When the state machine next needs a decision. */
export function reconciliationWake(d: Draft): number | undefined {
  const r = d.volatile.recon;
  if (!d.volatile.subscribed) return undefined;
  return r.phase === 'explicit' ? r.nextAttemptAt : r.nextRoundAt;
}
