/**
 * Tunables of the core, with the defaults kmf ships. docs/core.md explains each choice against prior art
 * (Marathon, the DC/OS SDK, mesos/kafka).
 */
import type { RenderHook } from './render.js';

export interface RelaunchBackoff {
  /** Delay before relaunching after the first unexpected end of an episode (0 = at once). */
  firstMs: number;
  /** Delay after the second failure; multiplied by `factor` for each further one. */
  initialMs: number;
  factor: number;
  maxMs: number;
  /** 0..1: the delay is drawn from [d·(1-jitter), d]. */
  jitter: number;
}

export interface ReconcileTiming {
  /** First retry of an unanswered explicit reconciliation. */
  initialMs: number;
  factor: number;
  maxMs: number;
  /** A task still unanswered this long after the round started is declared lost. */
  maxDurationMs: number;
  /** Periodic round (explicit then implicit). */
  intervalMs: number;
}

export interface CoreConfig {
  /** Written into reservation labels so kmf only ever touches its own reservations. */
  frameworkName: string;
  /** Default Mesos role of units. */
  role: string;
  /** Principal of reservations and volumes (must equal the framework's principal when authenticated). */
  principal?: string;
  backoff: RelaunchBackoff;
  /** A task RUNNING this long ends a failure episode (failure count and backoff reset). */
  stableAfterMs: number;
  /** Time from the first failure of an episode until a reserved unit is replaced elsewhere. */
  permanentFailureAfterMs: number;
  /** How long an UNREACHABLE task of a unit without reservation counts as live. */
  unreachableLimitMs: number;
  /** A task that has not reached RUNNING this long after launch is killed (counts as a failure). */
  launchTimeoutMs: number;
  /** A task in STAGING without news this long is reconciled explicitly (ACCEPT is at-most-once). */
  stagingReconcileAfterMs: number;
  /** Re-send a KILL if the task is still live this long (plus its grace period) after the last one. */
  killResendMs: number;
  /** A reservation never seen in an offer nor used by a running task is forgotten after this. */
  reservationConfirmMs: number;
  declineLongSeconds: number;
  /** Long declines are shortened by up to this fraction, so filters of many agents do not expire together. */
  declineLongJitter: number;
  declineShortSeconds: number;
  reviveMinIntervalMs: number;
  reconcile: ReconcileTiming;
  /** Default kill grace when a template sets none. */
  defaultKillGraceSeconds: number;
  /** Pure per-kind renderers that may rewrite the template once the placement is known. */
  renderers?: Readonly<Record<string, RenderHook>>;
}

export const DEFAULT_CORE_CONFIG: CoreConfig = {
  frameworkName: 'kmf',
  role: '*',
  backoff: { firstMs: 0, initialMs: 2_000, factor: 2, maxMs: 60_000, jitter: 0.2 },
  stableAfterMs: 10 * 60_000,
  permanentFailureAfterMs: 20 * 60_000,
  unreachableLimitMs: 3 * 60_000,
  launchTimeoutMs: 5 * 60_000,
  stagingReconcileAfterMs: 30_000,
  killResendMs: 60_000,
  reservationConfirmMs: 5 * 60_000,
  declineLongSeconds: 3600,
  declineLongJitter: 0.1,
  declineShortSeconds: 15,
  reviveMinIntervalMs: 5_000,
  reconcile: { initialMs: 4_000, factor: 2, maxMs: 30_000, maxDurationMs: 15 * 60_000, intervalMs: 10 * 60_000 },
  defaultKillGraceSeconds: 30,
};

export function coreConfig(overrides: Partial<CoreConfig> = {}): CoreConfig {
  return {
    ...DEFAULT_CORE_CONFIG,
    ...overrides,
    backoff: { ...DEFAULT_CORE_CONFIG.backoff, ...(overrides.backoff ?? {}) },
    reconcile: { ...DEFAULT_CORE_CONFIG.reconcile, ...(overrides.reconcile ?? {}) },
  };
}
