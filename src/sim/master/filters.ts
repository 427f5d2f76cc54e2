/**
 * Offer filters installed by DECLINE (and by the unused part of an ACCEPT), as the hierarchical
 * allocator keeps them (reference item 120):
 *   - absent `filters` → refuse_seconds 5; above 365 days → capped; negative or NaN → 5; 0 → no filter;
 *   - a filter lasts max(allocation interval, refuse_seconds);
 *   - it is per (framework, role, agent) and hides only offers whose resources are a subset of the
 *     refused resources (so freed extra resources on the agent are offered again at once);
 *   - REVIVE clears the filters of the revived roles.
 */
import type { Filters, Resource } from '../../mesos/types.js';
import { containsResources, unallocate } from './resources.js';

export const DEFAULT_REFUSE_SECONDS = 5;
export const MAX_REFUSE_SECONDS = 365 * 24 * 60 * 60;

/** How long a filter lasts, in ms, or undefined when no filter must be installed. */
export function refuseDurationMs(filters: Filters | undefined, allocationIntervalMs: number): number | undefined {
  let seconds = filters?.refuse_seconds ?? DEFAULT_REFUSE_SECONDS;
  if (Number.isNaN(seconds) || seconds < 0) seconds = DEFAULT_REFUSE_SECONDS;
  if (seconds > MAX_REFUSE_SECONDS) seconds = MAX_REFUSE_SECONDS;
  if (seconds === 0) return undefined;
  return Math.max(allocationIntervalMs, seconds * 1000);
}

interface OfferFilter {
  /** Unallocated form of the refused resources. */
  resources: Resource[];
  expiresAt: number;
}

/** The filters of one framework. */
export class FrameworkFilters {
  private readonly byRole = new Map<string, Map<string, OfferFilter[]>>();

  add(role: string, agentId: string, refused: readonly Resource[], durationMs: number, now: number): void {
    if (refused.length === 0) return;
    let byAgent = this.byRole.get(role);
    if (byAgent === undefined) {
      byAgent = new Map();
      this.byRole.set(role, byAgent);
    }
    const list = byAgent.get(agentId) ?? [];
    list.push({ resources: unallocate(refused), expiresAt: now + durationMs });
    byAgent.set(agentId, list);
  }

  /** True when an unexpired filter for (role, agent) covers every offered resource. */
  filtered(role: string, agentId: string, offered: readonly Resource[], now: number): boolean {
    const list = this.byRole.get(role)?.get(agentId);
    if (list === undefined) return false;
    const live = list.filter((f) => f.expiresAt > now);
    if (live.length !== list.length) {
      const byAgent = this.byRole.get(role);
      if (live.length === 0) byAgent?.delete(agentId);
      else byAgent?.set(agentId, live);
    }
    if (live.length === 0) return false;
    const plain = unallocate(offered);
    return live.some((f) => containsResources(f.resources, plain));
  }

  /** Drop the filters of the given roles (all roles when undefined). */
  clear(roles?: readonly string[]): void {
    if (roles === undefined) {
      this.byRole.clear();
      return;
    }
    for (const role of roles) this.byRole.delete(role);
  }

  /** Drop every filter on an agent (it went away; a returning agent starts clean). */
  clearAgent(agentId: string): void {
    for (const byAgent of this.byRole.values()) byAgent.delete(agentId);
  }

  /** Number of live filters (for tests and /master/state). */
  count(now: number): number {
    let n = 0;
    for (const byAgent of this.byRole.values()) {
      for (const list of byAgent.values()) n += list.filter((f) => f.expiresAt > now).length;
    }
    return n;
  }
}
