/**
 * Marathon's placement operators, evaluated for a candidate agent against the units of the same group
 * that are already placed (live tasks, reservations, and placements decided earlier in the same round).
 *
 * Semantics follow Marathon's documentation (constraints.md):
 *   UNIQUE          no other member on an agent with the same value
 *   CLUSTER[:v]     value must be v; without v, the value of the members already placed
 *   GROUP_BY[:n]    spread evenly over values; a value not used yet is always fine, a used one only if
 *                   at least n values are in use and it holds the fewest members
 *   LIKE re         value fully matches re
 *   UNLIKE re       value does not fully match re
 *   MAX_PER n       fewer than n members with this value
 *   IS v            value equals v
 * Only UNLIKE accepts an agent that lacks the attribute.
 * `hostname` (or `@hostname`) is the agent's hostname; other fields are agent attributes, read as text
 * (scalars in JS number form, ranges as `[b-e,…]`, sets as `{a,b}`).
 */
import type { Attribute } from '../mesos/types.js';
import type { PlacementConstraint } from '../model/units.js';

export interface AgentFacts {
  agentId: string;
  hostname: string;
  attributes: Record<string, string>;
}

export interface Peer {
  unit: string;
  agent: AgentFacts;
}

export type ConstraintVerdict = { ok: true } | { ok: false; constraint: string; reason: string };

export function attributesToRecord(attrs: readonly Attribute[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of attrs ?? []) {
    switch (a.type) {
      case 'TEXT':
        out[a.name] = a.text?.value ?? '';
        break;
      case 'SCALAR':
        out[a.name] = String(a.scalar?.value ?? 0);
        break;
      case 'RANGES':
        out[a.name] = `[${(a.ranges?.range ?? []).map((r) => `${r.begin}-${r.end}`).join(',')}]`;
        break;
      case 'SET':
        out[a.name] = `{${(a.set?.item ?? []).join(',')}}`;
        break;
    }
  }
  return out;
}

export function fieldValue(agent: AgentFacts, field: string): string | undefined {
  if (field === 'hostname' || field === '@hostname') return agent.hostname;
  return agent.attributes[field];
}

export function describeConstraint(c: PlacementConstraint): string {
  return `${c.field}:${c.operator}${c.value === undefined ? '' : `:${c.value}`}`;
}

function fullMatch(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return false;
  }
}

function countByValue(peers: readonly Peer[], field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of peers) {
    const v = fieldValue(p.agent, field);
    if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

export function checkConstraint(c: PlacementConstraint, candidate: AgentFacts, peers: readonly Peer[]): ConstraintVerdict {
  const value = fieldValue(candidate, c.field);
  const label = describeConstraint(c);
  if (value === undefined) {
    return c.operator === 'UNLIKE' ? { ok: true } : { ok: false, constraint: label, reason: `${label}: agent has no "${c.field}"` };
  }
  switch (c.operator) {
    case 'UNIQUE': {
      const taken = peers.find((p) => fieldValue(p.agent, c.field) === value);
      return taken ? { ok: false, constraint: label, reason: `${label}: ${value} already holds ${taken.unit}` } : { ok: true };
    }
    case 'CLUSTER': {
      if (c.value !== undefined) {
        return value === c.value ? { ok: true } : { ok: false, constraint: label, reason: `${label}: ${value} is not ${c.value}` };
      }
      const first = peers.map((p) => fieldValue(p.agent, c.field)).find((v) => v !== undefined);
      return first === undefined || first === value
        ? { ok: true }
        : { ok: false, constraint: label, reason: `${label}: the group is on ${first}, not ${value}` };
    }
    case 'GROUP_BY': {
      const minimum = c.value === undefined ? 0 : Number(c.value);
      const counts = countByValue(peers, c.field);
      const here = counts.get(value);
      if (here === undefined) return { ok: true };
      const fewest = Math.min(...counts.values());
      if (counts.size >= minimum && here === fewest) return { ok: true };
      return counts.size < minimum
        ? { ok: false, constraint: label, reason: `${label}: ${value} is used and fewer than ${minimum} values are in use` }
        : { ok: false, constraint: label, reason: `${label}: ${value} holds ${here}, another value holds ${fewest}` };
    }
    case 'LIKE':
      return fullMatch(c.value ?? '', value) ? { ok: true } : { ok: false, constraint: label, reason: `${label}: ${value} does not match` };
    case 'UNLIKE':
      return fullMatch(c.value ?? '', value) ? { ok: false, constraint: label, reason: `${label}: ${value} matches` } : { ok: true };
    case 'MAX_PER': {
      const max = Number(c.value ?? '1');
      const here = countByValue(peers, c.field).get(value) ?? 0;
      return here < max ? { ok: true } : { ok: false, constraint: label, reason: `${label}: ${value} already holds ${here}` };
    }
    case 'IS':
      return value === c.value ? { ok: true } : { ok: false, constraint: label, reason: `${label}: ${value} is not ${c.value ?? ''}` };
  }
}

/** First failing constraint, or ok. */
export function checkConstraints(
  constraints: readonly PlacementConstraint[],
  candidate: AgentFacts,
  peers: readonly Peer[],
): ConstraintVerdict {
  for (const c of constraints) {
    const v = checkConstraint(c, candidate, peers);
    if (!v.ok) return v;
  }
  return { ok: true };
}
