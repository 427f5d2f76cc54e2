/**
 * Offers are a policy (DESIGN principle 8): decline what cannot be used with a filter sized to when it
 * could become useful, SUPPRESS when no unit wants offers, REVIVE (rate-limited) when one starts to.
 * See docs/core.md "Offers" for the numbers.
 */
import type { DecisionContext, Draft } from './draft.js';

export interface OfferDemand {
  /** Some unit wanted an offer now and this one did not fit it for a reason an offer can change. */
  wantedNow: boolean;
  /** Earliest end of a backoff of a unit that could use this agent. */
  backoffUntil: number | undefined;
}

/** refuse_seconds for an offer (or the remainder of an accepted one). */
export function refuseSeconds(ctx: DecisionContext, demand: OfferDemand): number {
  const { config, now, rng } = ctx;
  if (demand.wantedNow) return config.declineShortSeconds;
  if (demand.backoffUntil !== undefined) {
    const secs = Math.ceil((demand.backoffUntil - now) / 1000);
    return Math.min(config.declineShortSeconds, Math.max(1, secs));
  }
  const jitter = Math.min(1, Math.max(0, config.declineLongJitter)) * rng.next();
  return Math.max(1, Math.round(config.declineLongSeconds * (1 - jitter)));
}

/**
 * Decide REVIVE / SUPPRESS from the units that want offers after this decision.
 * Returns the time a rate-limited REVIVE becomes possible, if one is waiting.
 */
export function reviveOrSuppress(d: Draft, ctx: DecisionContext, wanting: readonly string[]): number | undefined {
  const v = d.volatile;
  const { now, config } = ctx;
  const before = new Set(v.wanting);
  const newcomer = wanting.some((u) => !before.has(u));
  v.wanting = [...wanting];
  if (!v.subscribed) return undefined;
  if (wanting.length === 0) {
    v.reviveWanted = false;
    d.newPlacementOptions = false;
    if (!v.suppressed) {
      d.flow.push({ type: 'suppress' });
      v.suppressed = true;
    }
    return undefined;
  }
  // New work, or old work that can now go somewhere new: clear our filters and un-suppress.
  if (newcomer || v.suppressed || d.newPlacementOptions) v.reviveWanted = true;
  d.newPlacementOptions = false;
  if (!v.reviveWanted) return undefined;
  const allowedAt = v.lastReviveAt === undefined ? now : v.lastReviveAt + config.reviveMinIntervalMs;
  if (now < allowedAt) return allowedAt;
  d.flow.push({ type: 'revive' });
  v.lastReviveAt = now;
  v.suppressed = false;
  v.reviveWanted = false;
  return undefined;
}
