/**
 * What the core asks the runtime to do, in order. The runtime performs them one after the other and
 * must complete a `persist` (the ZooKeeper write) before any later action of the same list: that is what
 * makes "the task record is written before the ACCEPT that launches it" hold (reference item 203).
 */
import type { Operation } from '../mesos/types.js';
import type { PlanControls, RetiredReservation, TaskRecord, UnitRuntime } from './state.js';

export interface PersistAction {
  type: 'persist';
  units: UnitRuntime[];
  tasks: TaskRecord[];
  deleteUnits: string[];
  deleteTasks: string[];
  /** Present when the list changed: the whole list. */
  retired?: RetiredReservation[];
  controls?: PlanControls;
}

export interface AcceptAction {
  type: 'accept';
  offerIds: string[];
  agentId: string;
  /** RESERVE, CREATE, LAUNCH, DESTROY, UNRESERVE, applied by Mesos in this order (item 117). */
  operations: Operation[];
  /** Filter for the unused remainder of the offers. */
  refuseSeconds: number;
  /** Units launched by this accept, for logs and the timeline. */
  launched: Array<{ unit: string; taskId: string }>;
}

export interface DeclineAction {
  type: 'decline';
  offerIds: string[];
  refuseSeconds: number;
  reasons: string[];
}

export interface KillAction {
  type: 'kill';
  taskId: string;
  agentId?: string;
  gracePeriodSeconds?: number;
  reason: string;
}

export interface AcknowledgeAction {
  type: 'acknowledge';
  taskId: string;
  agentId: string;
  uuid: Buffer;
}

export interface ReconcileAction {
  type: 'reconcile';
  /** Empty = implicit reconciliation. */
  tasks: Array<{ taskId: string; agentId?: string }>;
}

export type TimelineKind =
  | 'launch'
  | 'reserve'
  | 'task-status'
  | 'failure'
  | 'backoff'
  | 'escalated'
  | 'adopted'
  | 'kill'
  | 'unknown-task'
  | 'reconciliation'
  | 'lost'
  | 'reservation'
  | 'render-error'
  | 'intent';

export interface TimelineEvent {
  type: 'event';
  at: number;
  kind: TimelineKind;
  unit?: string;
  taskId?: string;
  message: string;
}

export type Action =
  | PersistAction
  | AcceptAction
  | DeclineAction
  | KillAction
  | AcknowledgeAction
  | ReconcileAction
  | { type: 'revive' }
  | { type: 'suppress' }
  | { type: 'wakeAt'; at: number; why: string }
  | TimelineEvent;

export type ActionType = Action['type'];
