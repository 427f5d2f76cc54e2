/**
 * Capped exponential backoff with full jitter ("decorrelates" retries of many clients hitting one master).
 * Pure: the caller owns the clock and the randomness source, so tests are deterministic.
 */
export interface BackoffPolicy {
  /** First delay, in milliseconds. */
  readonly initialMs: number;
  /** Upper bound of any single delay, in milliseconds. */
  readonly maxMs: number;
  /** Growth factor per attempt (2 doubles). */
  readonly factor: number;
  /** 0 = no jitter; 1 = full jitter (delay uniformly in [0, d]); 0.5 = delay in [d/2, d]. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt));
  const capped = Math.min(policy.maxMs, exp);
  const low = capped * (1 - policy.jitter);
  return Math.round(low + (capped - low) * random());
}

/** A small stateful helper for retry loops in the I/O shell. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}
  next(): number {
    return backoffDelay(this.policy, this.attempt++, this.random);
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
