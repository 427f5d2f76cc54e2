/**
 * Relaunch delay after the n-th unexpected end of a failure episode (n starts at 1).
 * The first relaunch is immediate by default: a broker that crashed once should be back as fast as an
 * offer allows. Further failures back off exponentially up to a cap (docs/core.md: "Backoff").
 */
import type { RelaunchBackoff } from './config.js';
import type { Rng } from './rng.js';

export function relaunchDelayMs(policy: RelaunchBackoff, failures: number, rng: Rng): number {
  if (failures <= 1) return policy.firstMs;
  const raw = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, failures - 2));
  const low = raw * (1 - Math.min(1, Math.max(0, policy.jitter)));
  return Math.round(low + (raw - low) * rng.next());
}

/** Delay before explicit-reconciliation retry `attempt` (0-based), truncated exponential. */
export function reconcileRetryMs(initialMs: number, factor: number, maxMs: number, attempt: number): number {
  return Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
}
