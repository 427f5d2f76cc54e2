/**
 * The desired state in the form the core consumes: validated, versioned and indexed once per change
 * (hashing 1,000 specs on every offer would cost milliseconds; preparing once costs nothing per event).
 */
import { hashOf } from './hash.js';
import type { DesiredInput, PhaseSpec, UnitSpec } from './units.js';
import { referencedUnits, validateUnit } from './validate.js';

export interface PreparedUnit {
  readonly spec: UnitSpec;
  /** Hash of everything that needs a restart to change (all but `goal`). */
  readonly version: string;
  /** Validation issues; a unit with issues is never launched and shows as ERROR. */
  readonly issues: readonly string[];
  /** Position in the deploy order (phase order first, then declaration order). */
  readonly order: number;
  readonly phase: string;
  readonly group: string;
  /** Whether the unit keeps a dynamic reservation (volume or `reserve: true`). */
  readonly reservable: boolean;
  /** Other units referenced by placeholders. */
  readonly refs: readonly string[];
}

export interface DesiredState {
  readonly units: ReadonlyMap<string, PreparedUnit>;
  /** Units in deploy order. */
  readonly ordered: readonly PreparedUnit[];
  readonly phases: readonly PhaseSpec[];
  readonly stopHolds: Readonly<Record<string, string>>;
  readonly replaceHolds: Readonly<Record<string, string>>;
}

/** The part of a spec whose change means "restart the task to apply it". */
export function specVersion(spec: UnitSpec): string {
  const { goal: _goal, ...rest } = spec;
  return hashOf(rest);
}

export function prepareDesired(input: DesiredInput): DesiredState {
  const names = new Set(input.units.map((u) => u.name));
  const seen = new Set<string>();
  const phases: PhaseSpec[] = [];
  const phaseNames = new Set<string>();
  for (const p of input.phases ?? []) {
    if (phaseNames.has(p.name)) continue;
    phases.push(p);
    phaseNames.add(p.name);
  }
  for (const u of input.units) {
    const phase = u.phase ?? u.kind;
    if (!phaseNames.has(phase)) {
      phases.push({ name: phase, strategy: 'parallel' });
      phaseNames.add(phase);
    }
  }
  const phaseIndex = new Map(phases.map((p, i) => [p.name, i]));
  const prepared: PreparedUnit[] = input.units.map((spec, i) => {
    const issues = validateUnit(spec, names);
    if (seen.has(spec.name)) issues.push(`unit "${spec.name}" is declared twice`);
    seen.add(spec.name);
    const phase = spec.phase ?? spec.kind;
    return {
      spec,
      version: specVersion(spec),
      issues,
      order: (phaseIndex.get(phase) ?? 0) * 1_000_000 + i,
      phase,
      group: spec.group ?? spec.kind,
      reservable: spec.volume !== undefined || spec.reserve === true,
      refs: referencedUnits(spec),
    };
  });
  const ordered = [...prepared].sort((a, b) => a.order - b.order);
  const units = new Map<string, PreparedUnit>();
  // On duplicates the first declaration wins; the later one carries the issue.
  for (const u of ordered) if (!units.has(u.spec.name)) units.set(u.spec.name, u);
  return {
    units,
    ordered: ordered.filter((u) => units.get(u.spec.name) === u),
    phases,
    stopHolds: { ...(input.stopHolds ?? {}) },
    replaceHolds: { ...(input.replaceHolds ?? {}) },
  };
}
