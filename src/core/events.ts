/**
 * Inputs of the core: Mesos events translated to a small typed union, timer ticks and operator intents.
 */
import type { Event as MesosEvent, Offer, TaskStatus } from '../mesos/types.js';
import type { PlanName } from './state.js';

export type OperatorIntent =
  /** Kill and relaunch in place (same reservation and volume), without backoff. */
  | { kind: 'restart'; unit: string }
  /** Kill and relaunch elsewhere with a fresh volume (the old one is destroyed when offered). */
  | { kind: 'replace'; unit: string }
  | { kind: 'pause'; plan: PlanName }
  | { kind: 'resume'; plan: PlanName }
  /**
   * deploy: count the unit as deployed for phase ordering; update: accept the running task's version
   * without a restart; recovery: end the failure episode (backoff and escalation clock reset).
   */
  | { kind: 'forceComplete'; plan: PlanName; unit: string };

export type CoreEvent =
  | { type: 'subscribed'; frameworkId: string }
  | { type: 'disconnected' }
  | { type: 'offers'; offers: Offer[] }
  | { type: 'rescind'; offerId: string }
  | { type: 'status'; status: TaskStatus }
  /** External readiness (e.g. a broker rejoined the ISR) for units with `readiness: 'external'`. */
  | { type: 'readiness'; taskId: string; ready: boolean }
  /** The runtime could not write the records or send the ACCEPT: those launches never happened. */
  | { type: 'acceptFailed'; offerIds: string[]; taskIds: string[]; message: string }
  /** Timer (a `wakeAt` came due) or the desired state changed. */
  | { type: 'tick' }
  | { type: 'intent'; intent: OperatorIntent };

export type CoreEventType = CoreEvent['type'];

/** Map a Mesos scheduler event to a core event; events the core does not act on give undefined. */
export function fromMesosEvent(e: MesosEvent): CoreEvent | undefined {
  switch (e.type) {
    case 'SUBSCRIBED':
      return { type: 'subscribed', frameworkId: e.subscribed.framework_id.value };
    case 'OFFERS':
      return { type: 'offers', offers: e.offers.offers ?? [] };
    case 'RESCIND':
      return { type: 'rescind', offerId: e.rescind.offer_id.value };
    case 'UPDATE':
      return { type: 'status', status: e.update.status };
    case 'INVERSE_OFFERS':
    case 'RESCIND_INVERSE_OFFER':
    case 'UPDATE_OPERATION_STATUS':
    case 'MESSAGE':
    case 'FAILURE':
    case 'ERROR':
    case 'HEARTBEAT':
    case 'UNKNOWN':
      return undefined;
  }
}
