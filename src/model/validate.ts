/**
 * Validation of unit specs. It never throws: it returns readable issues, which the plans show as the
 * step's ERROR reason (a bad spec must be visible, not crash the scheduler).
 */
import { CONSTRAINT_OPERATORS, type PlacementConstraint, type UnitSpec } from './units.js';
import { parseTemplate, templateStrings } from './placeholders.js';

/**
 * Unit names become part of Mesos task ids (no `/` allowed there, item 140 of the reference), so `/` is
 * encoded as `.`; hence no dots, and no `_` (task ids use `__` as separator).
 */
const SEGMENT = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const MAX_NAME = 120;

export function unitNameIssues(name: string): string[] {
  if (name.length === 0) return ['name is empty'];
  if (name.length > MAX_NAME) return [`name is longer than ${MAX_NAME} characters`];
  const bad = name.split('/').filter((s) => !SEGMENT.test(s));
  return bad.length === 0
    ? []
    : [`name "${name}" must be segments of lower-case letters, digits and '-' joined by '/'`];
}

export function isValidUnitName(name: string): boolean {
  return unitNameIssues(name).length === 0;
}

const PORT_NAME = /^[a-z][a-z0-9-]*$/;

function positive(label: string, v: number | undefined, allowZero: boolean): string[] {
  if (v === undefined) return [];
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) return [`${label} must be ${allowZero ? '>= 0' : '> 0'}`];
  return [];
}

export function constraintIssues(c: PlacementConstraint): string[] {
  const out: string[] = [];
  const label = `constraint ${c.field}:${c.operator}${c.value === undefined ? '' : `:${c.value}`}`;
  if (!c.field) out.push(`${label}: field is empty`);
  if (!(CONSTRAINT_OPERATORS as readonly string[]).includes(c.operator)) {
    out.push(`${label}: unknown operator (one of ${CONSTRAINT_OPERATORS.join(', ')})`);
    return out;
  }
  switch (c.operator) {
    case 'UNIQUE':
      break;
    case 'CLUSTER':
      break;
    case 'GROUP_BY':
      if (c.value !== undefined && !/^\d+$/.test(c.value)) out.push(`${label}: value must be a whole number`);
      break;
    case 'MAX_PER':
      if (c.value === undefined || !/^[1-9]\d*$/.test(c.value)) out.push(`${label}: value must be a number >= 1`);
      break;
    case 'LIKE':
    case 'UNLIKE':
      if (c.value === undefined) out.push(`${label}: a regular expression is required`);
      else {
        try {
          new RegExp(c.value);
        } catch {
          out.push(`${label}: invalid regular expression`);
        }
      }
      break;
    case 'IS':
      if (c.value === undefined) out.push(`${label}: a value is required`);
      break;
  }
  return out;
}

/**
 * Issues of one spec. `known` is the set of unit names of the desired state, for `{{unit:X:…}}` references.
 */
export function validateUnit(spec: UnitSpec, known: ReadonlySet<string>): string[] {
  const out = [...unitNameIssues(spec.name)];
  if (!spec.kind) out.push('kind is empty');
  const r = spec.resources;
  out.push(...positive('resources.cpus', r.cpus, false), ...positive('resources.memMb', r.memMb, false));
  out.push(...positive('resources.diskMb', r.diskMb, true));
  const portNames = new Set<string>();
  for (const p of spec.ports ?? []) {
    if (!PORT_NAME.test(p.name)) out.push(`port name "${p.name}" must match ${PORT_NAME.source}`);
    if (portNames.has(p.name)) out.push(`port name "${p.name}" is used twice`);
    portNames.add(p.name);
    if (p.port !== undefined && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)) {
      out.push(`port ${p.name}: ${p.port} is not a port number`);
    }
  }
  if (spec.volume) {
    out.push(...positive('volume.sizeMb', spec.volume.sizeMb, false));
    const cp = spec.volume.containerPath;
    if (!cp || cp.startsWith('/') || cp.split('/').includes('..')) {
      out.push('volume.containerPath must be a relative path inside the sandbox');
    }
  }
  for (const c of spec.constraints ?? []) out.push(...constraintIssues(c));
  if (!spec.task.command && (spec.task.arguments ?? []).length === 0) out.push('task.command is empty');
  const hc = spec.task.healthCheck;
  if (hc && hc.type !== 'COMMAND' && !portNames.has(hc.port)) out.push(`healthCheck refers to unknown port "${hc.port}"`);
  if (spec.readiness === 'healthy' && !hc) out.push('readiness "healthy" needs a healthCheck');
  out.push(...positive('task.killGracePeriodSeconds', spec.task.killGracePeriodSeconds, true));
  for (const s of templateStrings(spec.task)) {
    const { parts, unknown } = parseTemplate(s);
    for (const u of unknown) out.push(`unknown placeholder ${u}`);
    for (const part of parts) {
      if (!('placeholder' in part)) continue;
      const p = part.placeholder;
      if (p.kind === 'port' && !portNames.has(p.name)) out.push(`placeholder ${part.raw}: no port named "${p.name}"`);
      if (p.kind === 'volume' && !spec.volume) out.push(`placeholder ${part.raw}: the unit has no volume`);
      if (p.kind === 'var' && spec.vars?.[p.name] === undefined) out.push(`placeholder ${part.raw}: no var "${p.name}"`);
      if ((p.kind === 'otherHost' || p.kind === 'otherPort' || p.kind === 'otherVar') && !known.has(p.unit)) {
        out.push(`placeholder ${part.raw}: unknown unit "${p.unit}"`);
      }
    }
  }
  return [...new Set(out)];
}

/** Units referenced through `{{unit:X:…}}` placeholders (other than the unit itself). */
export function referencedUnits(spec: UnitSpec): string[] {
  const refs = new Set<string>();
  for (const s of templateStrings(spec.task)) {
    for (const part of parseTemplate(s).parts) {
      if (!('placeholder' in part)) continue;
      const p = part.placeholder;
      if ((p.kind === 'otherHost' || p.kind === 'otherPort' || p.kind === 'otherVar') && p.unit !== spec.name) refs.add(p.unit);
    }
  }
  return [...refs].sort();
}

/**
 * Parse Marathon's array form (`["hostname", "MAX_PER", "1"]`) or the CLI form `hostname:MAX_PER:1`.
 * Returns undefined for anything that is not a constraint (the caller reports it).
 */
export function parseConstraint(input: string | readonly string[]): PlacementConstraint | undefined {
  const parts = typeof input === 'string' ? splitOnce(input) : [...input];
  const [field, op, value] = parts;
  if (!field || !op || parts.length > 3) return undefined;
  const operator = op.toUpperCase();
  if (!(CONSTRAINT_OPERATORS as readonly string[]).includes(operator)) return undefined;
  const c: PlacementConstraint = { field, operator: operator as PlacementConstraint['operator'] };
  if (value !== undefined) c.value = value;
  return c;
}

/** `field:OP:value` where value may itself contain ':' (regular expressions). */
function splitOnce(s: string): string[] {
  const a = s.indexOf(':');
  if (a < 0) return [s];
  const b = s.indexOf(':', a + 1);
  if (b < 0) return [s.slice(0, a), s.slice(a + 1)];
  return [s.slice(0, a), s.slice(a + 1, b), s.slice(b + 1)];
}
