/**
 * The Mesos JSON mapping (stout's protobuf <-> JSON code, as in Mesos 1.11), over kmf's "plain"
 * message shape (see types.ts): snake_case proto field names, enums by name, bytes as Buffer,
 * int64 as numbers except TimeInfo/DurationInfo nanoseconds (decimal strings).
 *
 * Three tools live here:
 *  - `parseJsonStrict`: JSON value -> plain message with the master's exact acceptance rules and
 *    error texts (used where the error text is the product: the simulator's 400 bodies).
 *  - `writeJson`: plain message -> JSON text exactly as a 1.11 master writes it (declaration order,
 *    defaults, `15.0` doubles, compact).
 *  - `normalizeJsonFast`: the scheduler client's hot path for events: after JSON.parse the value is
 *    already almost the plain shape, so only the few fields that differ (bytes, enums, nanoseconds)
 *    are visited, following a per-type plan computed once.
 */
import {
  INT64_KINDS,
  type EnumField,
  type FieldSchema,
  type MapField,
  type MessageField,
  type MessageSchema,
  type ScalarField,
  type ScalarKind,
} from './schema.js';

type Obj = Record<string, unknown>;

/** A JSON value that does not map onto the message; `message` is stout's text. */
export class JsonMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonMappingError';
  }
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

// ---- JSON text ---------------------------------------------------------------------------------

const NANOS_KEY = '"nanoseconds"';
const NANOS_KEY_BYTES = Buffer.from(NANOS_KEY);

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Quote the integer of every `"nanoseconds": <integer>` member that JSON.parse would round (more
 * than 15 digits), so that it arrives as an exact decimal string. A member key is recognised only
 * right after `{` or `,`: inside a JSON string the quotes would be escaped, so string contents can
 * never match. Scans with indexOf, so bodies without the key cost one search.
 */
export function quoteLongNanoseconds(text: string): string {
  let from = text.indexOf(NANOS_KEY);
  if (from < 0) return text;
  const parts: string[] = [];
  let copied = 0;
  while (from >= 0) {
    let before = from - 1;
    while (before >= 0 && isJsonSpace(text.charCodeAt(before))) before--;
    const opener = before >= 0 ? text.charCodeAt(before) : 0;
    let i = from + NANOS_KEY.length;
    if (opener === 0x7b /* { */ || opener === 0x2c /* , */) {
      while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 0x3a /* : */) {
        i++;
        while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
        const start = i;
        if (text.charCodeAt(i) === 0x2d /* - */) i++;
        const digitsStart = i;
        while (i < text.length && isDigit(text.charCodeAt(i))) i++;
        const next = text.charCodeAt(i);
        const isInteger = next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45; /* E */
        if (isInteger && i - digitsStart > 15) {
          parts.push(text.slice(copied, start), '"', text.slice(start, i), '"');
          copied = i;
        }
      }
    }
    from = text.indexOf(NANOS_KEY, i);
  }
  if (copied === 0) return text;
  parts.push(text.slice(copied));
  return parts.join('');
}

interface NativeSlices {
  utf8Slice(start: number, end: number): string;
}

/**
 * JSON.parse over a body, keeping TimeInfo/DurationInfo nanoseconds exact (JSON.parse would round
 * integers above 2^53; see quoteLongNanoseconds).
 */
export function parseJsonText(body: Buffer | string): unknown {
  let text: string;
  if (typeof body === 'string') {
    text = quoteLongNanoseconds(body);
  } else {
    // Buffer#toString adds argument checks and a `slice` hop; the native slice is the same decode.
    text = (body as unknown as NativeSlices).utf8Slice(0, body.length);
    if (body.includes(NANOS_KEY_BYTES)) text = quoteLongNanoseconds(text);
  }
  return JSON.parse(text) as unknown;
}

// ---- base64 as stout decodes it ------------------------------------------------------------------

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const STOUT_SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * stout's base64::decode: standard alphabet only (url-safe `-_` is an error), whitespace ignored,
 * decoding stops at the first `=`, so padding is optional.
 */
export function decodeBase64Stout(s: string): Buffer {
  if (s.length % 4 === 0 && STRICT_BASE64.test(s)) return Buffer.from(s, 'base64');
  let clean = '';
  for (const ch of s) {
    if (ch === '=') break;
    if (STOUT_SPACE.has(ch)) continue;
    const c = ch.codePointAt(0) ?? 0;
    if (!(isAsciiAlnum(c) || ch === '+' || ch === '/')) {
      throw new JsonMappingError(`Invalid character '${ch}'`);
    }
    clean += ch;
  }
  return Buffer.from(clean, 'base64');
}

// ---- stout's JSON::parse<JSON::Number / JSON::Boolean> for numeric strings ----------------------

const JSON_NUMBER_PREFIX = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;
const JSON_WS = /^[ \t\n\r]*/;

type Embedded = { kind: 'number'; value: number; text: string } | { kind: 'boolean'; value: boolean } | { kind: 'other' };

/** Parse a string as a JSON document the way stout's JSON::parse does (errors in picojson style). */
function parseEmbeddedJson(s: string): Embedded {
  const lead = JSON_WS.exec(s)?.[0].length ?? 0;
  const rest = s.slice(lead);
  const lastVisible = s.replace(/[ \t\n\r]+$/, '').length;
  let consumed: number;
  let result: Embedded;
  const num = JSON_NUMBER_PREFIX.exec(rest);
  if (num !== null) {
    consumed = lead + num[0].length;
    result = { kind: 'number', value: Number(num[0]), text: num[0] };
  } else if (rest.startsWith('true') || rest.startsWith('false')) {
    const v = rest.startsWith('true');
    consumed = lead + (v ? 4 : 5);
    result = { kind: 'boolean', value: v };
  } else if (rest.startsWith('null')) {
    consumed = lead + 4;
    result = { kind: 'other' };
  } else {
    try {
      JSON.parse(rest);
      return { kind: 'other' };
    } catch {
      const near = rest.split('\n')[0] ?? '';
      throw new JsonMappingError(`syntax error at line 1 near: ${near}`);
    }
  }
  if (consumed < lastVisible) {
    throw new JsonMappingError(
      `Parsed JSON included non-whitespace trailing characters: ${s.slice(consumed, lastVisible)}`,
    );
  }
  return result;
}

// ---- Strict parser (what the master accepts, with its error texts) ------------------------------

function setValue(owner: MessageSchema | undefined, field: FieldSchema, out: Obj, value: unknown): void {
  if (field.repeated) {
    const arr = out[field.name];
    if (Array.isArray(arr)) arr.push(value);
    else out[field.name] = [value];
    return;
  }
  if (field.oneof !== undefined) {
    // Setting one member of a oneof clears the others.
    for (const sibling of owner?.oneofs.get(field.oneof) ?? []) {
      if (sibling !== field.name) delete out[sibling];
    }
  }
  out[field.name] = value;
}

function int64FromNumber(n: number, asString: boolean): number | string {
  const t = Math.trunc(n);
  if (!asString) return t;
  return Number.isSafeInteger(t) ? String(t) : BigInt(t).toString();
}

function coerceNumber(field: ScalarField, n: number, exactText?: string): unknown {
  switch (field.scalar) {
    case 'double':
      return n;
    case 'float':
      return Math.fround(n);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return Math.trunc(n) | 0;
    case 'uint32':
    case 'fixed32':
      return Math.trunc(n) >>> 0;
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      if (field.int64AsString && exactText !== undefined && /^-?\d+$/.test(exactText)) {
        return BigInt(exactText).toString();
      }
      return int64FromNumber(n, field.int64AsString);
    case 'bool':
    case 'string':
    case 'bytes':
      throw new JsonMappingError(`Not expecting a JSON number for field '${field.name}'`);
  }
}

/** Visit one JSON value for one field (stout's Parser visitor). */
function applyValue(owner: MessageSchema | undefined, field: FieldSchema, value: unknown, out: Obj): void {
  if (value === null || value === undefined) return; // null = unset
  if (Array.isArray(value)) {
    if (!field.repeated) throw new JsonMappingError(`Not expecting a JSON array for field '${field.name}'`);
    for (const v of value) applyValue(owner, field, v, out);
    return;
  }
  switch (typeof value) {
    case 'object':
      applyObject(owner, field, value as Obj, out);
      return;
    case 'string':
      applyString(owner, field, value, out);
      return;
    case 'number':
      applyNumber(owner, field, value, out);
      return;
    case 'boolean':
      if (field.kind === 'scalar' && field.scalar === 'bool') {
        setValue(owner, field, out, value);
        return;
      }
      throw new JsonMappingError(`Not expecting a JSON boolean for field '${field.name}'`);
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      // Not producible by JSON.parse.
      throw new JsonMappingError(`Not expecting a JavaScript ${typeof value} for field '${field.name}'`);
  }
}

function applyObject(owner: MessageSchema | undefined, field: FieldSchema, value: Obj, out: Obj): void {
  if (field.kind === 'map') {
    let map = out[field.name] as Obj | undefined;
    if (map === undefined) {
      map = {};
      out[field.name] = map;
    }
    for (const key of Object.keys(value).sort()) {
      map[mapKey(field, key)] = mapValue(field, value[key]);
    }
    return;
  }
  if (field.kind !== 'message') {
    throw new JsonMappingError(`Not expecting a JSON object for field '${field.name}'`);
  }
  const sub: Obj = {};
  parseObjectInto(field.messageType(), value, sub);
  setValue(owner, field, out, sub);
}

function mapKey(field: MapField, key: string): string {
  if (field.keyScalar === 'string') return key;
  // Non-string keys arrive as JSON object member names; stout parses them like numeric strings.
  const parsed = parseEmbeddedJson(key);
  if (field.keyScalar === 'bool') {
    if (parsed.kind !== 'boolean') throw new JsonMappingError(`Failed to parse '${key}' as a JSON boolean for field 'key'`);
    return String(parsed.value);
  }
  if (parsed.kind !== 'number') throw new JsonMappingError(`Failed to parse '${key}' as a JSON number for field 'key'`);
  return String(Math.trunc(parsed.value));
}

function mapValue(field: MapField, json: unknown): unknown {
  const holder: Obj = {};
  applyValue(undefined, field.value, json, holder);
  const v = holder[field.value.name];
  if (v !== undefined) return v;
  // An entry without a value holds the value type's default.
  switch (field.value.kind) {
    case 'message':
      return {};
    case 'enum':
      return field.value.enumType.byNumber.values().next().value;
    case 'scalar':
      return defaultScalar(field.value);
  }
}

function defaultScalar(field: ScalarField): unknown {
  if (field.scalar === 'string') return '';
  if (field.scalar === 'bytes') return Buffer.alloc(0);
  if (field.scalar === 'bool') return false;
  if (INT64_KINDS.has(field.scalar) && field.int64AsString) return '0';
  return 0;
}

function applyString(owner: MessageSchema | undefined, field: FieldSchema, value: string, out: Obj): void {
  if (field.kind === 'enum') {
    const num = field.enumType.byName.get(value);
    if (num === undefined) {
      if (field.required) throw new JsonMappingError(`Failed to find enum for '${value}'`);
      return; // Unknown value of an optional enum: silently dropped (proto2 behaviour).
    }
    setValue(owner, field, out, value);
    return;
  }
  if (field.kind !== 'scalar') {
    throw new JsonMappingError(`Not expecting a JSON string for field '${field.name}'`);
  }
  switch (field.scalar) {
    case 'string':
      setValue(owner, field, out, value);
      return;
    case 'bytes': {
      let decoded: Buffer;
      try {
        decoded = decodeBase64Stout(value);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new JsonMappingError(`Failed to base64 decode bytes field '${field.name}': ${why}`);
      }
      setValue(owner, field, out, decoded);
      return;
    }
    case 'double':
    case 'float':
      if (value === 'Infinity') return applyNumber(owner, field, Infinity, out);
      if (value === '-Infinity') return applyNumber(owner, field, -Infinity, out);
      return applyNumericString(owner, field, value, out);
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return applyNumericString(owner, field, value, out);
    case 'bool': {
      let parsed: Embedded;
      try {
        parsed = parseEmbeddedJson(value);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new JsonMappingError(`Failed to parse '${value}' as a JSON boolean for field '${field.name}': ${why}`);
      }
      if (parsed.kind !== 'boolean') {
        throw new JsonMappingError(
          `Failed to parse '${value}' as a JSON boolean for field '${field.name}': Unexpected JSON type parsed`,
        );
      }
      setValue(owner, field, out, parsed.value);
      return;
    }
  }
}

function applyNumericString(owner: MessageSchema | undefined, field: ScalarField, value: string, out: Obj): void {
  let parsed: Embedded;
  try {
    parsed = parseEmbeddedJson(value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new JsonMappingError(`Failed to parse '${value}' as a JSON number for field '${field.name}': ${why}`);
  }
  if (parsed.kind !== 'number') {
    throw new JsonMappingError(
      `Failed to parse '${value}' as a JSON number for field '${field.name}': Unexpected JSON type parsed`,
    );
  }
  setValue(owner, field, out, coerceNumber(field, parsed.value, parsed.text));
}

function applyNumber(owner: MessageSchema | undefined, field: FieldSchema, value: number, out: Obj): void {
  if (field.kind !== 'scalar') {
    throw new JsonMappingError(`Not expecting a JSON number for field '${field.name}'`);
  }
  setValue(owner, field, out, coerceNumber(field, value));
}

function parseObjectInto(schema: MessageSchema, json: Obj, out: Obj): void {
  // stout keeps JSON objects in a std::map: members are visited in sorted key order, which decides
  // which error wins when several members are wrong.
  for (const key of Object.keys(json).sort()) {
    const field = schema.byName.get(key);
    if (field === undefined) continue; // unknown keys are ignored
    applyValue(schema, field, json[key], out);
  }
}

/**
 * Required-field paths missing from a plain message, in the order protobuf's C++
 * InitializationErrorString lists them: this message's required fields in declaration order, then
 * set sub-messages by field number, repeated ones as `name[i].`.
 */
export function missingRequiredFields(schema: MessageSchema, obj: Obj, prefix = '', errors: string[] = []): string[] {
  for (const f of schema.required) {
    if (!isSet(f, obj[f.name])) errors.push(prefix + f.name);
  }
  for (const f of schema.byNumberOrder) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.kind === 'message') {
      const sub = f.messageType();
      if (f.repeated) {
        if (!Array.isArray(v)) continue;
        v.forEach((item, i) => {
          if (isPlainObject(item)) missingRequiredFields(sub, item, `${prefix}${f.name}[${i}].`, errors);
        });
      } else if (isPlainObject(v)) {
        missingRequiredFields(sub, v, `${prefix}${f.name}.`, errors);
      }
    } else if (f.kind === 'map' && f.value.kind === 'message' && isPlainObject(v)) {
      const sub = f.value.messageType();
      Object.values(v).forEach((item, i) => {
        if (isPlainObject(item)) missingRequiredFields(sub, item, `${prefix}${f.name}[${i}].value.`, errors);
      });
    }
  }
  return errors;
}

function isSet(f: FieldSchema, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (f.kind === 'enum' && !f.repeated) {
    // An enum value the schema does not know cannot be represented: it is as good as unset.
    return typeof v === 'string' ? f.enumType.byName.has(v) : typeof v === 'number' && f.enumType.byNumber.has(v);
  }
  return true;
}

/**
 * stout's `protobuf::parse<T>(JSON::Value)`: the master's acceptance rules and error texts.
 * Throws JsonMappingError with exactly the text that follows "Failed to convert JSON into Call
 * protobuf: " in a 400 body.
 */
export function parseJsonStrict<T = Obj>(schema: MessageSchema, json: unknown): T {
  if (!isPlainObject(json)) throw new JsonMappingError('Expecting a JSON object');
  const out: Obj = {};
  parseObjectInto(schema, json, out);
  const missing = missingRequiredFields(schema, out);
  if (missing.length > 0) throw new JsonMappingError(`Missing required fields: ${missing.join(', ')}`);
  return out as T;
}

// ---- Writer (what the master emits) ------------------------------------------------------------

/** rapidjson's Writer::Double: shortest round-trip digits, integral values keep `.0`, no `e+`. */
export function formatDouble(n: number): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"Infinity"';
  if (n === -Infinity) return '"-Infinity"';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const s = String(n);
  if (s.includes('e')) return s.replace('e+', 'e');
  return s.includes('.') ? s : `${s}.0`;
}

const UNICODE_ESCAPE = /\\(\\|u([0-9a-f]{4}))/g;

/** rapidjson string escaping: like JSON.stringify but `\u00XX` escapes use upper-case hex. */
export function jsonString(s: string): string {
  const out = JSON.stringify(s);
  if (!out.includes('\\u')) return out;
  return out.replace(UNICODE_ESCAPE, (m: string, _g: string, hex: string | undefined) =>
    hex === undefined ? m : `\\u${hex.toUpperCase()}`,
  );
}

function int64Text(v: unknown): string | undefined {
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v)) return v.replace(/^(-?)0+(?=\d)/, '$1');
    const n = Number(v);
    return Number.isFinite(n) ? BigInt(Math.trunc(n)).toString() : undefined;
  }
  if (typeof v === 'number' && Number.isFinite(v)) {
    const t = Math.trunc(v);
    return Number.isSafeInteger(t) ? String(t) : BigInt(t).toString();
  }
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}

function toBuffer(v: unknown): Buffer | undefined {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

function writeScalar(field: ScalarField, v: unknown): string | undefined {
  switch (field.scalar) {
    case 'double':
    case 'float':
      return typeof v === 'number' ? formatDouble(v) : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? formatDouble(Number(v)) : undefined;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32':
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return int64Text(v);
    case 'bool':
      return typeof v === 'boolean' ? String(v) : undefined;
    case 'string':
      return typeof v === 'string' ? jsonString(v) : undefined;
    case 'bytes': {
      const b = toBuffer(v);
      return b === undefined ? undefined : `"${b.toString('base64')}"`;
    }
  }
}

function writeEnum(field: EnumField, v: unknown): string | undefined {
  if (typeof v === 'string') return field.enumType.byName.has(v) ? `"${v}"` : undefined;
  if (typeof v === 'number') {
    const name = field.enumType.byNumber.get(v);
    return name === undefined ? undefined : `"${name}"`;
  }
  return undefined;
}

function writeSingle(field: ScalarField | EnumField | MessageField, v: unknown, defaults: boolean): string | undefined {
  switch (field.kind) {
    case 'scalar':
      return writeScalar(field, v);
    case 'enum':
      return writeEnum(field, v);
    case 'message':
      return isPlainObject(v) ? writeMessage(field.messageType(), v, defaults) : undefined;
  }
}

export interface WriteJsonOptions {
  /**
   * Also write unset fields that have an explicit [default] and are not deprecated, as the master
   * does (default true). Clients leave it off and send only what they set.
   */
  defaults?: boolean;
}

/**
 * A plain message as the 1.11 master serializes it: fields in declaration order, repeated fields
 * only when non-empty, singular fields when set or when they have an explicit default and are not
 * deprecated, doubles via rapidjson's format, bytes as padded standard base64, no whitespace.
 */
export function writeJson(schema: MessageSchema, obj: Obj, opts: WriteJsonOptions = {}): string {
  return writeMessage(schema, obj, opts.defaults ?? true);
}

function writeMessage(schema: MessageSchema, obj: Obj, defaults: boolean): string {
  let s = '{';
  let first = true;
  for (const f of schema.fields) {
    const v = obj[f.name];
    let text: string | undefined;
    if (f.kind === 'map') {
      if (!isPlainObject(v)) continue;
      const parts: string[] = [];
      for (const [k, item] of Object.entries(v)) {
        const t = writeSingle(f.value, item, defaults);
        if (t !== undefined) parts.push(`${jsonString(k)}:${t}`);
      }
      if (parts.length === 0) continue;
      text = `{${parts.join(',')}}`;
    } else if (f.repeated) {
      if (!Array.isArray(v) || v.length === 0) continue;
      const parts: string[] = [];
      for (const item of v) {
        const t = writeSingle(f, item, defaults);
        if (t !== undefined) parts.push(t);
      }
      if (parts.length === 0) continue;
      text = `[${parts.join(',')}]`;
    } else {
      if (v !== undefined && v !== null) text = writeSingle(f, v, defaults);
      if (text === undefined && defaults && f.hasDefault && !f.deprecated) text = writeSingle(f, f.defaultValue, defaults);
      if (text === undefined) continue;
    }
    s += first ? `"${f.name}":${text}` : `,"${f.name}":${text}`;
    first = false;
  }
  return `${s}}`;
}

// ---- Fast normalization (scheduler client hot path) ----------------------------------------------

type FixAction = 'bytes' | 'nanos' | 'enum' | 'message' | 'double';
interface FixField {
  readonly name: string;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly action: FixAction;
  readonly required: boolean;
  readonly enumNames?: ReadonlySet<string>;
  readonly plan?: FixPlan;
}
interface FixPlan {
  fields: FixField[];
}

/** Thrown when a value does not have the shape a Mesos master emits; the caller re-parses strictly. */
export class FastPathBailout extends Error {}

const planCache = new Map<MessageSchema, FixPlan>();
const planning = new Set<FixPlan>();

function planFor(schema: MessageSchema): FixPlan {
  const cached = planCache.get(schema);
  if (cached !== undefined) return cached;
  // Registered before recursing so that recursive types (ContainerID.parent) terminate.
  const plan: FixPlan = { fields: [] };
  planCache.set(schema, plan);
  planning.add(plan);
  for (const f of schema.fields) {
    const target = f.kind === 'map' ? f.value : f;
    const base = { name: f.name, repeated: f.repeated && f.kind !== 'map', map: f.kind === 'map', required: f.required };
    switch (target.kind) {
      case 'enum':
        plan.fields.push({ ...base, action: 'enum', enumNames: new Set(target.enumType.byName.keys()) });
        break;
      case 'message': {
        const sub = planFor(target.messageType());
        // A plan still being built (recursive types) may yet need work: keep it to be safe.
        if (sub.fields.length > 0 || planning.has(sub)) plan.fields.push({ ...base, action: 'message', plan: sub });
        break;
      }
      case 'scalar':
        if (target.scalar === 'bytes') plan.fields.push({ ...base, action: 'bytes' });
        else if (target.int64AsString) plan.fields.push({ ...base, action: 'nanos' });
        else if (target.scalar === 'double' || target.scalar === 'float') {
          // Only map values need this (TaskInfo.limits may carry "Infinity"); plain double fields
          // from a master are JSON numbers.
          if (f.kind === 'map') plan.fields.push({ ...base, action: 'double' });
        }
        break;
    }
  }
  planning.delete(plan);
  return plan;
}

function fixOne(f: FixField, v: unknown): unknown {
  switch (f.action) {
    case 'bytes':
      if (typeof v !== 'string') throw new FastPathBailout();
      return Buffer.from(v, 'base64');
    case 'nanos':
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return int64FromNumber(v, true);
      throw new FastPathBailout();
    case 'enum':
      if (typeof v !== 'string') throw new FastPathBailout();
      return f.enumNames?.has(v) === true ? v : undefined;
    case 'double':
      if (typeof v === 'number') return v;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      throw new FastPathBailout();
    case 'message':
      if (!isPlainObject(v) || f.plan === undefined) throw new FastPathBailout();
      fixObject(f.plan, v);
      return v;
  }
}

function fixObject(plan: FixPlan, obj: Obj): void {
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as FixField;
    const v = obj[f.name];
    if (v === undefined) continue;
    if (v === null) {
      delete obj[f.name];
      continue;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw new FastPathBailout();
      // Unknown enum values are dropped from the list; copy only when that happens.
      let kept: unknown[] | undefined;
      for (let j = 0; j < v.length; j++) {
        const fixed = fixOne(f, v[j]);
        if (fixed === undefined) kept ??= v.slice(0, j);
        else if (kept !== undefined) kept.push(fixed);
        else v[j] = fixed;
      }
      if (kept !== undefined) {
        if (kept.length === 0) delete obj[f.name];
        else obj[f.name] = kept;
      }
    } else if (f.map) {
      if (!isPlainObject(v)) throw new FastPathBailout();
      for (const k of Object.keys(v)) {
        const fixed = fixOne(f, v[k]);
        if (fixed === undefined) delete v[k];
        else v[k] = fixed;
      }
    } else {
      const fixed = fixOne(f, v);
      if (fixed === undefined) {
        if (f.required) throw new FastPathBailout(); // let the strict parser produce the error
        delete obj[f.name];
      } else if (fixed !== v) {
        obj[f.name] = fixed;
      }
    }
  }
}

/**
 * Turn a freshly JSON.parse'd master message into the plain shape in place, touching only fields
 * that differ between the two (bytes, enums, nanoseconds): everything else already matches.
 * Throws FastPathBailout on anything a master would not send; callers then use parseJsonStrict.
 */
export function normalizeJsonFast<T = Obj>(schema: MessageSchema, json: unknown): T {
  if (!isPlainObject(json)) throw new FastPathBailout();
  fixObject(planFor(schema), json);
  return json as T;
}

export type { ScalarKind };
