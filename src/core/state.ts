/**
 * The core's state. Two halves:
 *  - `StoredState` is durable: the runtime writes it to ZooKeeper through `persist` actions (one znode
 *    per task record and per unit) and a restarted scheduler builds its core from it. Everything that
 *    must survive a restart lives here: task records (written before the ACCEPT that launches them),
 *    generations, failure episodes with their first-failure time, reservations, plan controls.
 *  - `VolatileState` is rebuilt after a restart: reconciliation progress, offer-suppression flags,
 *    placement diagnostics. Nothing in it is needed for safety.
 */
import type { TaskState } from '../mesos/types.js';

export type LaunchReason = 'deploy' | 'recovery' | 'update' | 'restart' | 'replace' | 'start';

/** Why kmf killed a task; every reason but `launch-timeout` makes the end expected (no backoff). */
export type KillReason =
  | 'stop'
  | 'remove'
  | 'update'
  | 'restart'
  | 'replace'
  | 'launch-timeout'
  | 'superseded'
  | 'unreachable'
  | 'unknown'
  | 'reconciliation';

export interface TaskRecord {
  taskId: string;
  unit: string;
  generation: number;
  agentId: string;
  hostname: string;
  attributes: Record<string, string>;
  /** Last state known; TASK_STAGING from the moment the launch is decided (record written first). */
  state: TaskState;
  reason?: string;
  message?: string;
  launchedAt: number;
  /** Core clock (ms) of the last state change. */
  updatedAt: number;
  runningSince?: number;
  unreachableSince?: number;
  specVersion: string;
  ports: Record<string, number>;
  reservationId?: string;
  volumeId?: string;
  launchReason: LaunchReason;
  kill?: { at: number; reason: KillReason };
  /** Given up on (UNREACHABLE past the limit, unanswered reconciliation): no longer counts as live. */
  abandoned?: boolean;
  healthy?: boolean;
  ready: boolean;
}

export interface ReservationRecord {
  rid: string;
  agentId: string;
  hostname: string;
  attributes: Record<string, string>;
  role: string;
  volumeId?: string;
  ports: Record<string, number>;
  createdAt: number;
  /** Task whose ACCEPT carried the RESERVE (absent for a reservation made before launching). */
  createdByTask?: string;
  /** Seen in an offer or used by a task that started: it really exists. */
  confirmed: boolean;
}

export type RecoveryType = 'TRANSIENT' | 'PERMANENT';

export interface UnitRuntime {
  name: string;
  /** Generation of the latest launch (0 = never launched). */
  generation: number;
  /** Unexpected ends in the current episode. */
  failures: number;
  /** When the current outage began (kept in ZooKeeper: a scheduler restart does not reset the clock). */
  firstFailedAt?: number;
  lastFailure?: { taskId: string; state: TaskState; reason?: string; message?: string; at: number };
  /** No relaunch before this time (backoff). */
  delayUntil?: number;
  recovery?: RecoveryType;
  reservation?: ReservationRecord;
  replaceRequested?: boolean;
  /** Ready once at least: deploy is done for the unit; later outages belong to recovery. */
  everReady: boolean;
  /** Version accepted without a restart (operator force-complete of an update step). */
  acceptedVersion?: string;
  /** Last TASK_ERROR or render error text. */
  lastError?: string;
  replacements: number;
}

export interface RetiredReservation {
  rid: string;
  unit: string;
  agentId: string;
  volumeId?: string;
  retiredAt: number;
  /** Last time DESTROY/UNRESERVE was sent for it. */
  cleanupSentAt?: number;
  /** The full record, so a task that comes back after all can be adopted with its reservation. */
  reservation?: ReservationRecord;
}

export type PlanName = 'deploy' | 'recovery' | 'update';
export const PLAN_NAMES: readonly PlanName[] = ['deploy', 'recovery', 'update'];

export interface PlanControls {
  paused: Record<PlanName, boolean>;
  /** Deploy steps the operator marked complete (unit names). */
  deployForced: string[];
}

export interface StoredState {
  schema: 1;
  units: Record<string, UnitRuntime>;
  tasks: Record<string, TaskRecord>;
  retired: RetiredReservation[];
  controls: PlanControls;
}

export interface ReconState {
  phase: 'idle' | 'explicit';
  roundStartedAt?: number;
  /** Tasks of the current explicit round still waiting for an answer. */
  pending: string[];
  attempt: number;
  nextAttemptAt?: number;
  nextRoundAt?: number;
}

export interface Diagnosis {
  at: number;
  offersSeen: number;
  reasons: string[];
}

export interface VolatileState {
  subscribed: boolean;
  suppressed: boolean;
  lastReviveAt?: number;
  reviveWanted: boolean;
  /** Units that wanted offers after the last decision (a newcomer means new work: revive). */
  wanting: string[];
  recon: ReconState;
  /** Why each waiting unit was not placed, from the offers of the last decisions. */
  diagnostics: Record<string, Diagnosis>;
  /** Last KILL sent per task (kills are at-most-once and get re-sent). */
  killSentAt: Record<string, number>;
  /** Last explicit reconcile sent for a task stuck in STAGING. */
  stagingAskedAt: Record<string, number>;
}

/**
 * The in-memory state. Records live in Maps (copying a 1,000-entry Map costs a few microseconds, a plain
 * object hundreds), so one decision stays cheap; `StoredState` is the plain, serializable form.
 */
export interface CoreState {
  units: ReadonlyMap<string, UnitRuntime>;
  tasks: ReadonlyMap<string, TaskRecord>;
  retired: readonly RetiredReservation[];
  controls: PlanControls;
  volatile: VolatileState;
}

export function emptyStored(): StoredState {
  return {
    schema: 1,
    units: {},
    tasks: {},
    retired: [],
    controls: { paused: { deploy: false, recovery: false, update: false }, deployForced: [] },
  };
}

export function initialVolatile(): VolatileState {
  return {
    subscribed: false,
    suppressed: false,
    reviveWanted: false,
    wanting: [],
    recon: { phase: 'idle', pending: [], attempt: 0 },
    diagnostics: {},
    killSentAt: {},
    stagingAskedAt: {},
  };
}

export function fromStored(stored: StoredState): CoreState {
  return {
    units: new Map(Object.entries(stored.units)),
    tasks: new Map(Object.entries(stored.tasks)),
    retired: stored.retired,
    controls: stored.controls,
    volatile: initialVolatile(),
  };
}

export function toStored(state: CoreState): StoredState {
  return {
    schema: 1,
    units: Object.fromEntries(state.units),
    tasks: Object.fromEntries(state.tasks),
    retired: [...state.retired],
    controls: state.controls,
  };
}

export function initialState(stored: StoredState = emptyStored()): CoreState {
  return fromStored(stored);
}

/** States in which a task may still be running somewhere, from kmf's point of view. */
export function isLiveState(s: TaskState): boolean {
  switch (s) {
    case 'TASK_STAGING':
    case 'TASK_STARTING':
    case 'TASK_RUNNING':
    case 'TASK_KILLING':
    case 'TASK_UNREACHABLE':
      return true;
    case 'TASK_FINISHED':
    case 'TASK_FAILED':
    case 'TASK_KILLED':
    case 'TASK_ERROR':
    case 'TASK_LOST':
    case 'TASK_DROPPED':
    case 'TASK_GONE':
    case 'TASK_GONE_BY_OPERATOR':
    case 'TASK_UNKNOWN':
      return false;
  }
}

export function isLive(t: TaskRecord): boolean {
  return !t.abandoned && isLiveState(t.state);
}
