/**
 * What the hierarchical allocator would offer, as pure helpers:
 *   - a role may be offered unreserved resources and resources reserved to it or to an ancestor role;
 *   - frameworks without RESERVATION_REFINEMENT are never offered refined reservations;
 *   - `ephemeral_ports` never appear in offers;
 *   - an offer is only made when it meets --min_allocatable_resources (default `cpus:0.01|mem:32`,
 *     i.e. at least one of the alternatives is fully present).
 */
import type { Resource } from '../../mesos/types.js';
import { hasRefinedReservations, isAllocatableTo, quantities } from './resources.js';

/** Alternatives, each a set of minimum quantities: `cpus:0.01|mem:32` → [{cpus:0.01},{mem:32}]. */
export type MinAllocatable = Array<Map<string, number>>;

export const DEFAULT_MIN_ALLOCATABLE: MinAllocatable = [new Map([['cpus', 0.01]]), new Map([['mem', 32]])];

export function parseMinAllocatable(text: string): MinAllocatable {
  return text.split('|').map((alternative) => {
    const out = new Map<string, number>();
    for (const pair of alternative.split(';')) {
      const [name, value] = pair.split(':');
      if (name === undefined || value === undefined || name.trim() === '' || !Number.isFinite(Number(value))) {
        throw new Error(`Invalid --min-allocatable-resources entry '${pair}'`);
      }
      out.set(name.trim(), Number(value));
    }
    return out;
  });
}

export function meetsMinAllocatable(resources: readonly Resource[], min: MinAllocatable): boolean {
  if (min.length === 0) return resources.length > 0;
  const have = quantities(resources);
  return min.some((alternative) => [...alternative].every(([name, amount]) => (have.get(name) ?? 0) >= amount));
}

/** The part of an agent's available resources a (framework, role) may be offered. */
export function offerableTo(available: readonly Resource[], role: string, refinementCapable: boolean): Resource[] {
  return available.filter(
    (r) => r.name !== 'ephemeral_ports' && isAllocatableTo(r, role) && (refinementCapable || !hasRefinedReservations(r)),
  );
}
