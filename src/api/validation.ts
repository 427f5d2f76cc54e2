/**
 * Request validation with the routes' zod schemas, and error messages people can act on.
 *
 * Every problem becomes one sentence naming the field: `count must be >= 1`, `resources.cpus is required`,
 * `unknown field "cpu" (did you mean "cpus"?)`, `query parameter "limit" must be an integer (got "x")`.
 * All problems of a request are reported together (in `details.issues`), so one round trip fixes them all.
 * Messages written on a schema (`z.string().regex(re, 'must be …')`) win over the generic ones below.
 */
import { z } from 'zod';
import { KmfError } from '../util/errors.js';

export type InputPart = 'params' | 'query' | 'body';

type RawIssue = z.core.$ZodRawIssue;

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? 'a string' : JSON.stringify(v);
    case 'number':
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    case 'bigint':
    case 'symbol':
    case 'function':
      return typeof v;
  }
  return 'a value';
}

const EXPECTED: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
  null: 'null',
};

function bound(origin: string | undefined, limit: number | bigint, inclusive: boolean | undefined, side: 'min' | 'max'): string {
  const n = String(limit);
  switch (origin ?? 'number') {
    case 'string':
      return side === 'min' ? `must have at least ${n} character(s)` : `must have at most ${n} character(s)`;
    case 'array':
    case 'set':
      return side === 'min' ? `must have at least ${n} item(s)` : `must have at most ${n} item(s)`;
    default:
      if (side === 'min') return inclusive === false ? `must be > ${n}` : `must be >= ${n}`;
      return inclusive === false ? `must be < ${n}` : `must be <= ${n}`;
  }
}

/** The generic phrase for one issue (the field name is put in front by `formatIssues`). */
function phrase(iss: RawIssue, part: InputPart): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      if (iss.input === undefined) return part === 'body' && (iss.path ?? []).length === 0 ? 'a JSON body is required' : 'is required';
      const expected = EXPECTED[iss.expected] ?? iss.expected;
      // Query and path values are strings on the wire: say what form they take.
      return `must be ${expected} (got ${kindOf(iss.input)})`;
    }
    case 'too_small':
      return bound(iss.origin, iss.minimum, iss.inclusive, 'min');
    case 'too_big':
      return bound(iss.origin, iss.maximum, iss.inclusive, 'max');
    case 'invalid_format':
      return iss.format === 'regex' ? `must match ${String(iss.pattern)} (got ${kindOf(iss.input)})` : `must be a valid ${iss.format} (got ${kindOf(iss.input)})`;
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${JSON.stringify(iss.values[0])}` : `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')} (got ${kindOf(iss.input)})`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'invalid_union': {
      // Name the accepted forms when every alternative failed on its type ("an integer or a list").
      const forms = iss.errors.map((branch) => {
        const first = branch[0];
        return branch.length === 1 && first?.code === 'invalid_type' && first.path.length === 0 ? (EXPECTED[first.expected] ?? first.expected) : undefined;
      });
      if (forms.length > 0 && forms.every((f) => f !== undefined)) return `must be ${[...new Set(forms)].join(' or ')} (got ${kindOf(iss.input)})`;
      return `has the wrong form (got ${kindOf(iss.input)})`;
    }
    case 'invalid_key':
      return `is not a valid key: ${iss.issues.map((i) => i.message).join('; ')}`;
    case 'invalid_element':
      return 'has an invalid element';
    case 'unrecognized_keys':
    case 'custom':
      return undefined;
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** The object schema at `path` inside `schema` (through optional, default, nullable, arrays, records, pipes). */
function objectAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject | undefined {
  let cur: z.ZodType | undefined = schema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let x = s;
    for (let i = 0; i < 10; i++) {
      if (x instanceof z.ZodOptional || x instanceof z.ZodNullable || x instanceof z.ZodDefault || x instanceof z.ZodPrefault) x = x.unwrap() as z.ZodType;
      else if (x instanceof z.ZodPipe) x = x.in as z.ZodType;
      else break;
    }
    return x;
  };
  for (const p of path) {
    if (cur === undefined) return undefined;
    const s = unwrap(cur);
    if (s instanceof z.ZodObject) cur = s.shape[String(p)] as z.ZodType | undefined;
    else if (s instanceof z.ZodArray) cur = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) cur = s.valueType as z.ZodType;
    else return undefined;
  }
  if (cur === undefined) return undefined;
  const last = unwrap(cur);
  return last instanceof z.ZodObject ? last : undefined;
}

function distance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] ?? 0;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] ?? 0;
      d[j] = Math.min((d[j] ?? 0) + 1, (d[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] ?? 0;
}

/** ` (did you mean "cpus"?)` when a known field is close to the unknown one. */
export function didYouMean(unknown: string, known: readonly string[]): string {
  const lower = unknown.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function subject(part: InputPart, path: readonly PropertyKey[]): string {
  switch (part) {
    case 'body':
      return path.length === 0 ? 'the body' : pathText(path);
    case 'query':
      return `query parameter "${pathText(path)}"`;
    case 'params':
      return `path parameter "${pathText(path)}"`;
  }
}

const PREDICATE = /^(?:(?:must|is|are|has|have|cannot|needs?|should|may)\b|")/;

/** Sentences for every issue of a failed parse. */
export function formatIssues(schema: z.ZodType, part: InputPart, issues: readonly z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = Object.keys(objectAt(schema, iss.path)?.shape ?? {});
      const where = iss.path.length === 0 ? '' : `${pathText(iss.path)}: `;
      for (const k of iss.keys) {
        const what = part === 'query' ? 'unknown query parameter' : 'unknown field';
        const hint = didYouMean(k, known);
        out.push(`${where}${what} "${k}"${hint}${hint === '' && known.length > 0 && known.length <= 12 ? ` (known: ${known.join(', ')})` : ''}`);
      }
      continue;
    }
    const text = iss.message;
    // A root-level body message ("a JSON body is required") stands alone; the others get the field in
    // front: "cpus must be > 0" for predicates, "ports: \"http\" is listed twice" for the rest.
    if (part === 'body' && iss.path.length === 0 && /^a JSON body/.test(text)) out.push(text);
    else if (PREDICATE.test(text)) out.push(`${subject(part, iss.path)} ${text}`);
    else out.push(`${subject(part, iss.path)}: ${text}`);
  }
  return out;
}

/**
 * Parses one part of a request. Returns the parsed value, or the sentences describing what is wrong.
 */
export function parsePart(schema: z.ZodType, part: InputPart, input: unknown): { ok: true; value: unknown } | { ok: false; issues: string[] } {
  const r = schema.safeParse(input, { error: (iss) => phrase(iss, part) });
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, issues: formatIssues(schema, part, r.error.issues) };
}

/** The 400 for a request that failed validation; `code` is the route's (e.g. `invalid_app`) or `invalid_request`. */
export function invalidRequest(code: string, issues: readonly string[]): KmfError {
  const head = issues.slice(0, 3).join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more problem(s), see details.issues)` : '';
  return new KmfError(code, `the request is not valid: ${head}${more}`, { details: { issues: [...issues] } });
}
