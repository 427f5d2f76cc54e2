/**
 * Apply one input event to the working state (before the decision runs).
 */
import type { Offer } from '../mesos/types.js';
import type { DecisionContext, Draft } from './draft.js';
import type { CoreEvent } from './events.js';
import { applyIntent } from './intents.js';
import { initialVolatile, isLive } from './state.js';
import { applyStatus, markReady } from './status.js';

/** Returns the offers the decision should consider. */
export function handleEvent(d: Draft, ctx: DecisionContext, event: CoreEvent): readonly Offer[] {
  const { now } = ctx;
  switch (event.type) {
    case 'subscribed': {
      // A new subscription: offers and filters of the old one are gone, reconciliation starts over
      // (the decision starts it). Anything wanting offers counts as new work, so a REVIVE clears any
      // filter a previous scheduler instance left behind.
      const fresh = initialVolatile();
      Object.assign(d.volatile, { ...fresh, subscribed: true, diagnostics: d.volatile.diagnostics });
      d.event(now, 'reconciliation', `subscribed as ${event.frameworkId}`);
      return [];
    }
    case 'disconnected':
      d.volatile.subscribed = false;
      d.volatile.recon = { phase: 'idle', pending: [], attempt: 0 };
      return [];
    case 'offers':
      return d.volatile.subscribed ? event.offers : [];
    case 'rescind':
      // Offers are decided on arrival and never held, so there is nothing to drop.
      return [];
    case 'status':
      applyStatus(d, ctx, event.status);
      return [];
    case 'readiness': {
      const t = d.tasks.get(event.taskId);
      if (!t || !isLive(t)) return [];
      const ready = event.ready && t.state === 'TASK_RUNNING';
      if (ready !== t.ready) {
        const next = d.putTask({ ...t, ready });
        if (ready) markReady(d, next);
        d.event(now, 'task-status', ready ? 'ready' : 'not ready', t.unit, t.taskId);
      }
      return [];
    }
    case 'acceptFailed':
      for (const taskId of event.taskIds) {
        const t = d.tasks.get(taskId);
        if (!t || t.state !== 'TASK_STAGING') continue;
        applyStatus(d, ctx, {
          task_id: { value: taskId },
          state: 'TASK_DROPPED',
          source: 'SOURCE_MASTER',
          reason: 'REASON_INVALID_OFFERS',
          message: `accept not sent: ${event.message}`,
          agent_id: { value: t.agentId },
        });
      }
      return [];
    case 'tick':
      return [];
    case 'intent':
      applyIntent(d, ctx, event.intent);
      return [];
  }
}
