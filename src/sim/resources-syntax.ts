/**
 * The Mesos agent's command-line syntax for `--resources` and `--attributes`, parsed the way a 1.11 agent
 * parses them, into v1 `Resource` / `Attribute` messages.
 *
 * Resources: `name(role):value;name:value;...` (or a JSON array of Resource objects).
 *   - the value decides the type: `[a-b,c-d]` → RANGES, `{x,y}` → SET, a number → SCALAR (text is rejected);
 *   - `(role)` other than `*` is a static reservation; resources come out in the post-refinement format
 *     (`reservations: [{type: STATIC, role}]`), unreserved ones carry no role at all;
 *   - spaces are removed from values, names are trimmed, ranges are sorted and coalesced, and the same
 *     name may not appear with two different types.
 * Attributes: `name:value;name:value` (also split on newlines): ranges, scalar if the value is a number,
 * otherwise text; sets are not allowed for attributes.
 */
import { KmfError } from '../util/errors.js';
import type { Attribute, Range, Resource, ValueType } from '../mesos/types.js';
import { validateRole } from './master/roles.js';

type ParsedValue =
  | { type: 'SCALAR'; value: number }
  | { type: 'RANGES'; ranges: Range[] }
  | { type: 'SET'; items: string[] }
  | { type: 'TEXT'; text: string };

function syntaxError(message: string): KmfError {
  return new KmfError('SIM_BAD_RESOURCE_SYNTAX', message);
}

/** Brackets of each kind must balance and never close before they open (as stout's checkBracketsMatching). */
function bracketsMatch(text: string, open: string, close: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === open) depth++;
    else if (ch === close) {
      depth--;
      if (depth < 0) return false;
    }
  }
  return depth === 0;
}

/** Number syntax accepted for scalars: decimal with optional fraction and exponent. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Tokenize like stout's strings::tokenize: split on any delimiter character, drop empty tokens. */
function tokenize(text: string, delimiters: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of text) {
    if (delimiters.includes(ch)) {
      if (current !== '') out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/** Sort and merge overlapping or adjacent ranges. */
export function coalesceRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.begin <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
    } else {
      out.push({ begin: r.begin, end: r.end });
    }
  }
  return out;
}

/** Mesos' `values::parse`: the shape of the text decides the value type. */
export function parseValue(text: string): ParsedValue {
  const temp = text.replace(/ /g, '');
  if (temp.length === 0) throw syntaxError('Expecting non-empty string');
  if (!bracketsMatch(temp, '{', '}') || !bracketsMatch(temp, '[', ']') || !bracketsMatch(temp, '(', ')')) {
    throw syntaxError('Mismatched brackets');
  }
  const bracket = temp.indexOf('[');
  if (bracket === 0) {
    const tokens = tokenize(temp, '[]-,\n');
    if (tokens.length % 2 !== 0) throw syntaxError('Expecting one or more "ranges"');
    const ranges: Range[] = [];
    for (let i = 0; i < tokens.length; i += 2) {
      const b = tokens[i] ?? '';
      const e = tokens[i + 1] ?? '';
      if (!/^\d+$/.test(b) || !/^\d+$/.test(e)) {
        throw syntaxError(`Expecting non-negative integers in '${/^\d+$/.test(b) ? e : b}'`);
      }
      ranges.push({ begin: Number(b), end: Number(e) });
    }
    return { type: 'RANGES', ranges };
  }
  if (bracket !== -1) throw syntaxError("Unexpected '[' found");
  const brace = temp.indexOf('{');
  if (brace === 0) return { type: 'SET', items: tokenize(temp, '{},\n') };
  if (brace !== -1) throw syntaxError("Unexpected '{' found");
  if (NUMBER.test(temp)) return { type: 'SCALAR', value: Number(temp) };
  return { type: 'TEXT', text: temp };
}

function resourceFromValue(name: string, role: string, value: ParsedValue, text: string): Resource {
  const resource: Resource = { name, type: value.type };
  if (role !== '*') resource.reservations = [{ type: 'STATIC', role }];
  switch (value.type) {
    case 'SCALAR':
      resource.scalar = { value: value.value };
      break;
    case 'RANGES':
      resource.ranges = { range: value.ranges };
      break;
    case 'SET':
      resource.set = { item: value.items };
      break;
    case 'TEXT':
      throw syntaxError(`Bad type for resource ${name} value ${text} type TEXT`);
  }
  return resource;
}

/** Per-resource checks of `Resources::validate` that can fail for command-line input. */
function validateResource(r: Resource): void {
  if (r.name === '') throw syntaxError('Empty resource name');
  if (r.type === 'SCALAR') {
    const v = r.scalar?.value ?? 0;
    if (!Number.isFinite(v)) throw syntaxError('Invalid scalar resource: value is not finite');
    if (v !== 0 && Math.round(v * 1000) <= 0) throw syntaxError('Invalid scalar resource: value <= 0');
  } else if (r.type === 'RANGES') {
    const ranges = r.ranges?.range ?? [];
    for (const [i, range] of ranges.entries()) {
      if (range.begin > range.end) throw syntaxError('Invalid ranges resource: begin > end');
      for (const other of ranges.slice(i + 1)) {
        if (range.begin <= other.begin && other.begin <= range.end) {
          throw syntaxError('Invalid ranges resource: overlapping ranges');
        }
      }
    }
  } else if (r.type === 'SET') {
    const items = r.set?.item ?? [];
    if (new Set(items).size !== items.length) throw syntaxError('Invalid set resource: duplicated elements');
  }
  for (const reservation of r.reservations ?? []) {
    const role = reservation.role ?? '';
    const error = validateRole(role);
    if (error !== undefined) throw syntaxError(error);
    if (role === '*') throw syntaxError('Invalid reservation: role "*" cannot be reserved');
  }
}

function isJsonArray(text: string): unknown[] | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) ? (parsed as unknown[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads one JSON resource object (Mesos JSON mapping) with its default role applied. */
function resourceFromJson(obj: unknown, defaultRole: string): Resource {
  if (typeof obj !== 'object' || obj === null) throw syntaxError('Some JSON resources were not formatted properly');
  const o = obj as Record<string, unknown>;
  const name = o['name'];
  const type = o['type'];
  if (typeof name !== 'string' || typeof type !== 'string' || !['SCALAR', 'RANGES', 'SET'].includes(type)) {
    throw syntaxError('Some JSON resources were not formatted properly: Missing required fields: name, type');
  }
  const resource: Resource = { name, type: type as ValueType };
  const scalar = o['scalar'] as { value?: unknown } | undefined;
  if (scalar !== undefined) resource.scalar = { value: Number(scalar.value) };
  const ranges = o['ranges'] as { range?: Array<{ begin?: unknown; end?: unknown }> } | undefined;
  if (ranges !== undefined) {
    resource.ranges = { range: (ranges.range ?? []).map((r) => ({ begin: Number(r.begin), end: Number(r.end) })) };
  }
  const set = o['set'] as { item?: unknown[] } | undefined;
  if (set !== undefined) resource.set = { item: (set.item ?? []).map(String) };
  const reservations = o['reservations'];
  const role = typeof o['role'] === 'string' ? o['role'] : undefined;
  if (Array.isArray(reservations) && reservations.length > 0) {
    resource.reservations = reservations.map((r: unknown) => {
      const rr = r as Record<string, unknown>;
      const type = rr['type'] === 'DYNAMIC' ? ('DYNAMIC' as const) : ('STATIC' as const);
      return { type, role: typeof rr['role'] === 'string' ? rr['role'] : '' };
    });
  } else {
    const effective = role ?? defaultRole;
    if (effective !== '*') resource.reservations = [{ type: 'STATIC', role: effective }];
  }
  if (resource.reservations?.some((r) => r.type === 'DYNAMIC') === true) {
    throw syntaxError(
      'Dynamic reservations cannot be specified at the command line; do not include a reservation with DYNAMIC type in the resources JSON',
    );
  }
  if (o['disk'] !== undefined && (o['disk'] as { persistence?: unknown }).persistence !== undefined) {
    throw syntaxError('Persistent volumes cannot be specified at the command line');
  }
  if (o['revocable'] !== undefined) {
    throw syntaxError(
      "Revocable resources cannot be specified at the command line; do not include a 'revocable' key in the resources JSON",
    );
  }
  return resource;
}

/**
 * Parse an agent `--resources` value. Resources of the same name, type and reservation are merged
 * (scalars added, ranges and sets united), as `Resources::add` does.
 */
export function parseResources(text: string, defaultRole = '*'): Resource[] {
  const json = isJsonArray(text);
  const parsed: Resource[] = [];
  if (json !== undefined) {
    for (const item of json) parsed.push(resourceFromJson(item, defaultRole));
  } else {
    for (const token of tokenize(text, ';')) {
      const pair = tokenize(token, ':');
      if (pair.length !== 2) throw syntaxError(`Bad value for resources, missing or extra ':' in ${token}`);
      const [lhs, rhs] = pair as [string, string];
      let name: string;
      let role: string;
      const open = lhs.indexOf('(');
      if (open === -1) {
        name = lhs.trim();
        role = defaultRole;
      } else {
        const close = lhs.indexOf(')');
        if (close === -1 || close < open) throw syntaxError(`Bad value for resources, mismatched parentheses in ${token}`);
        name = lhs.slice(0, open).trim();
        role = lhs.slice(open + 1, close).trim();
      }
      let value: ParsedValue;
      try {
        value = parseValue(rhs);
      } catch (err) {
        throw syntaxError(`Failed to parse resource ${name} value ${rhs} error ${err instanceof Error ? err.message : String(err)}`);
      }
      if (value.type === 'RANGES') value = { type: 'RANGES', ranges: coalesceRanges(value.ranges) };
      parsed.push(resourceFromValue(name, role, value, rhs));
    }
  }

  const types = new Map<string, ValueType>();
  const out: Resource[] = [];
  for (const r of parsed) {
    validateResource(r);
    const known = types.get(r.name);
    if (known !== undefined && known !== r.type) {
      throw syntaxError(`Resources with the same name ('${r.name}') but different types are not allowed`);
    }
    types.set(r.name, r.type);
    // Zero-valued scalars are dropped by Resources::add.
    if (r.type === 'SCALAR' && Math.round((r.scalar?.value ?? 0) * 1000) === 0) continue;
    const sameKind = out.find(
      (o) => o.name === r.name && o.type === r.type && JSON.stringify(o.reservations ?? []) === JSON.stringify(r.reservations ?? []),
    );
    if (sameKind === undefined) {
      out.push(r);
    } else if (r.type === 'SCALAR') {
      sameKind.scalar = { value: (Math.round((sameKind.scalar?.value ?? 0) * 1000) + Math.round((r.scalar?.value ?? 0) * 1000)) / 1000 };
    } else if (r.type === 'RANGES') {
      sameKind.ranges = { range: coalesceRanges([...(sameKind.ranges?.range ?? []), ...(r.ranges?.range ?? [])]) };
    } else if (r.type === 'SET') {
      sameKind.set = { item: [...new Set([...(sameKind.set?.item ?? []), ...(r.set?.item ?? [])])] };
    }
  }
  for (const r of out) {
    if (r.type === 'SCALAR' && r.scalar !== undefined) r.scalar = { value: Math.round(r.scalar.value * 1000) / 1000 };
  }
  return out;
}

/** Parse an agent `--attributes` value (`rack:r1;zone:z2;ports:[1-5];weight:2.5`). */
export function parseAttributes(text: string): Attribute[] {
  const out: Attribute[] = [];
  for (const token of tokenize(text, ';\n')) {
    const colon = token.indexOf(':');
    const name = colon === -1 ? '' : token.slice(0, colon);
    const value = colon === -1 ? '' : token.slice(colon + 1);
    if (colon === -1 || name === '' || value === '') {
      throw syntaxError(`Invalid attribute key:value pair '${token}'`);
    }
    let parsed: ParsedValue;
    try {
      parsed = parseValue(value);
    } catch (err) {
      throw syntaxError(`Failed to parse attribute ${name} text ${value} error ${err instanceof Error ? err.message : String(err)}`);
    }
    switch (parsed.type) {
      case 'RANGES':
        out.push({ name, type: 'RANGES', ranges: { range: coalesceRanges(parsed.ranges) } });
        break;
      case 'SCALAR':
        out.push({ name, type: 'SCALAR', scalar: { value: parsed.value } });
        break;
      case 'TEXT':
        out.push({ name, type: 'TEXT', text: { value: parsed.text } });
        break;
      case 'SET':
        throw syntaxError(`Bad type for attribute ${name} text ${value} type SET`);
    }
  }
  return out;
}
