/**
 * A protobuf wire-format decoder that builds kmf's plain message shape directly, driven by the
 * compiled schemas (schema.ts).
 *
 * Why not protobufjs' decoder: it builds Message instances (every repeated field pre-allocated,
 * int64 as Long objects) that then have to be copied into plain objects; for a 5,000-offer OFFERS
 * event that doubled the cost. This decoder reads each field once, straight into the result.
 *
 * Semantics follow proto2 as the C++ runtime implements it:
 *  - unknown fields (and known fields with an unexpected wire type) are skipped;
 *  - an unknown enum number is dropped (for a required enum the field is then missing);
 *  - a singular message field seen twice is merged; a scalar seen twice keeps the last value;
 *  - setting one member of a oneof clears the others;
 *  - repeated scalars are accepted packed and unpacked;
 *  - missing required fields make the whole parse fail.
 */
import { INT64_KINDS, type FieldSchema, type MessageSchema, type ScalarField } from './schema.js';

type Obj = Record<string, unknown>;

/** The body is not a valid encoding of the message (malformed, truncated, or missing required fields). */
export class ProtobufDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufDecodeError';
  }
}

const MAX_DEPTH = 100;

// Decoder state. Decoding is synchronous and never re-entered from outside, so module-level
// variables are safe and keep the hot loop free of property loads.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function truncated(): never {
  throw new ProtobufDecodeError('Truncated message');
}

function readVarint32(): number {
  // Returns the low 32 bits as a signed int32 (like the C++ runtime's ReadVarint32).
  let b = buf[pos++] ?? truncated();
  let v = b & 0x7f;
  if (b < 0x80) return v;
  b = buf[pos++] ?? truncated();
  v |= (b & 0x7f) << 7;
  if (b < 0x80) return v;
  b = buf[pos++] ?? truncated();
  v |= (b & 0x7f) << 14;
  if (b < 0x80) return v;
  b = buf[pos++] ?? truncated();
  v |= (b & 0x7f) << 21;
  if (b < 0x80) return v;
  b = buf[pos++] ?? truncated();
  v |= (b & 0x0f) << 28;
  if (b < 0x80) return v | 0;
  // Up to five more bytes of a 64-bit varint (negative int32s are sign-extended to 10 bytes).
  for (let i = 0; i < 5; i++) {
    b = buf[pos++] ?? truncated();
    if (b < 0x80) return v | 0;
  }
  throw new ProtobufDecodeError('Malformed varint');
}

// Results of the 64-bit readers (module-level to avoid allocating a pair per value).
let lo64 = 0;
let hi64 = 0;

/** A 64-bit varint into lo64/hi64 (both unsigned). */
function readVarint64(): void {
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    b = buf[pos++] ?? truncated();
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo64 = lo >>> 0;
      hi64 = 0;
      return;
    }
  }
  b = buf[pos++] ?? truncated();
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) {
    lo64 = lo >>> 0;
    hi64 = hi >>> 0;
    return;
  }
  for (let shift = 3; shift < 32; shift += 7) {
    b = buf[pos++] ?? truncated();
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo64 = lo >>> 0;
      hi64 = hi >>> 0;
      return;
    }
  }
  throw new ProtobufDecodeError('Malformed varint');
}

/** A little-endian fixed 64-bit value into lo64/hi64. */
function readFixed64(): void {
  if (pos + 8 > buf.length) truncated();
  lo64 = buf.readUInt32LE(pos);
  hi64 = buf.readUInt32LE(pos + 4);
  pos += 8;
}

function int64Value(lo: number, hi: number, signed: boolean, asString: boolean): number | string {
  if (asString) {
    const big = (BigInt(hi) << 32n) | BigInt(lo);
    return (signed ? BigInt.asIntN(64, big) : big).toString();
  }
  if (signed && hi >= 0x80000000) return -((~hi >>> 0) * 4294967296 + ((~lo >>> 0) + 1));
  return hi * 4294967296 + lo;
}

function zigzag64(lo: number, hi: number): [number, number, boolean] {
  // Returns magnitude halves and sign of a zigzag-encoded 64-bit value.
  const negative = (lo & 1) === 1;
  let mlo = ((lo >>> 1) | (hi << 31)) >>> 0;
  let mhi = hi >>> 1;
  if (negative) {
    // value = -(m + 1)
    mlo = (mlo + 1) >>> 0;
    if (mlo === 0) mhi = (mhi + 1) >>> 0;
  }
  return [mlo, mhi, negative];
}

function readLength(): number {
  const len = readVarint32() >>> 0;
  if (pos + len > buf.length) truncated();
  return len;
}

/** Reads a length prefix and returns the end offset of the delimited bytes. */
function readEnd(): number {
  const len = readLength();
  return pos + len;
}

function skipField(wireType: number, fieldNo: number, depth: number): void {
  switch (wireType) {
    case 0:
      readVarint64();
      return;
    case 1:
      if (pos + 8 > buf.length) truncated();
      pos += 8;
      return;
    case 2:
      pos = readEnd();
      return;
    case 3: {
      // Group: skip until the matching end-group tag.
      if (depth > MAX_DEPTH) throw new ProtobufDecodeError('Nesting too deep');
      for (;;) {
        const tag = readVarint32() >>> 0;
        const wt = tag & 7;
        if (wt === 4) {
          if (tag >>> 3 !== fieldNo) throw new ProtobufDecodeError('Mismatched end-group tag');
          return;
        }
        skipField(wt, tag >>> 3, depth + 1);
      }
    }
    case 5:
      if (pos + 4 > buf.length) truncated();
      pos += 4;
      return;
    default:
      throw new ProtobufDecodeError(`Invalid wire type ${wireType}`);
  }
}

/** Expected wire type of a (non-packed) value of this scalar kind. */
function wireTypeOf(field: ScalarField): number {
  switch (field.scalar) {
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return 1;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return 5;
    case 'string':
    case 'bytes':
      return 2;
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'bool':
      return 0;
  }
}

function readScalar(field: ScalarField): unknown {
  switch (field.scalar) {
    case 'double': {
      if (pos + 8 > buf.length) truncated();
      const v = buf.readDoubleLE(pos);
      pos += 8;
      return v;
    }
    case 'float': {
      if (pos + 4 > buf.length) truncated();
      const v = buf.readFloatLE(pos);
      pos += 4;
      return v;
    }
    case 'int32':
      return readVarint32();
    case 'uint32':
      return readVarint32() >>> 0;
    case 'sint32': {
      const v = readVarint32() >>> 0;
      return (v >>> 1) ^ -(v & 1);
    }
    case 'fixed32': {
      if (pos + 4 > buf.length) truncated();
      const v = buf.readUInt32LE(pos);
      pos += 4;
      return v;
    }
    case 'sfixed32': {
      if (pos + 4 > buf.length) truncated();
      const v = buf.readInt32LE(pos);
      pos += 4;
      return v;
    }
    case 'int64':
      readVarint64();
      return int64Value(lo64, hi64, true, field.int64AsString);
    case 'uint64':
      readVarint64();
      return int64Value(lo64, hi64, false, field.int64AsString);
    case 'sint64': {
      readVarint64();
      const [mlo, mhi, neg] = zigzag64(lo64, hi64);
      const mag = int64Value(mlo, mhi, false, field.int64AsString);
      if (typeof mag === 'string') return neg && mag !== '0' ? `-${mag}` : mag;
      return neg ? -mag : mag;
    }
    case 'fixed64':
      readFixed64();
      return int64Value(lo64, hi64, false, field.int64AsString);
    case 'sfixed64':
      readFixed64();
      return int64Value(lo64, hi64, true, field.int64AsString);
    case 'bool':
      readVarint64();
      return lo64 !== 0 || hi64 !== 0;
    case 'string':
      return readString();
    case 'bytes': {
      const len = readLength();
      // A copy: a view would pin the whole record and alias the caller's buffer.
      const b = Buffer.allocUnsafe(len);
      buf.copy(b, 0, pos, pos + len);
      pos += len;
      return b;
    }
  }
}

interface NativeSlices {
  utf8Slice(start: number, end: number): string;
}

// Offers repeat the same short strings over and over (resource names, roles, attribute names,
// agent ids, hostnames). Interning them saves the native decode and most of the allocation.
const INTERN_MAX_LENGTH = 40;
const INTERN_MAX_ENTRIES = 8192;
const interned = new Map<number, string>();

function readString(): string {
  const len = readLength();
  const start = pos;
  const end = pos + len;
  pos = end;
  if (len > INTERN_MAX_LENGTH) {
    // Buffer#toString goes through argument checks and `slice`; call the native slice directly.
    return (buf as unknown as NativeSlices).utf8Slice(start, end);
  }
  let h = len;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + (buf[i] as number)) | 0;
  const hit = interned.get(h);
  if (hit !== undefined && hit.length === len) {
    // Equal length in UTF-16 units and in bytes means ASCII: compare code units with bytes.
    let same = true;
    for (let i = 0; i < len; i++) {
      if (hit.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return hit;
  }
  const str = (buf as unknown as NativeSlices).utf8Slice(start, end);
  if (interned.size >= INTERN_MAX_ENTRIES) interned.clear();
  interned.set(h, str);
  return str;
}

type FieldReader = (obj: Obj, wireType: number, depth: number) => void;

interface CompiledMessage {
  readers: (FieldReader | undefined)[];
  requiredNames: string[];
}

const compiled = new Map<MessageSchema, CompiledMessage>();

function clearOneofSiblings(schema: MessageSchema, field: FieldSchema, obj: Obj): void {
  if (field.oneof === undefined) return;
  for (const sibling of schema.oneofs.get(field.oneof) ?? []) {
    if (sibling !== field.name) delete obj[sibling];
  }
}

function push(obj: Obj, name: string, v: unknown): void {
  const arr = obj[name] as unknown[] | undefined;
  if (arr === undefined) obj[name] = [v];
  else arr.push(v);
}

function scalarReader(schema: MessageSchema, field: ScalarField): FieldReader {
  const name = field.name;
  const expected = wireTypeOf(field);
  if (!field.repeated && field.oneof === undefined) {
    // The common cases, specialised so that the hot loop does not dispatch on the kind per value.
    switch (field.scalar) {
      case 'string':
        return (obj, wt, depth) => {
          if (wt === 2) obj[name] = readString();
          else skipField(wt, field.id, depth);
        };
      case 'double':
        return (obj, wt, depth) => {
          if (wt !== 1) return skipField(wt, field.id, depth);
          if (pos + 8 > buf.length) truncated();
          obj[name] = buf.readDoubleLE(pos);
          pos += 8;
        };
      case 'uint32':
        return (obj, wt, depth) => {
          if (wt === 0) obj[name] = readVarint32() >>> 0;
          else skipField(wt, field.id, depth);
        };
      case 'int32':
        return (obj, wt, depth) => {
          if (wt === 0) obj[name] = readVarint32();
          else skipField(wt, field.id, depth);
        };
      case 'uint64':
        if (!field.int64AsString) {
          return (obj, wt, depth) => {
            if (wt !== 0) return skipField(wt, field.id, depth);
            readVarint64();
            obj[name] = hi64 * 4294967296 + lo64;
          };
        }
        break;
      case 'bool':
      case 'bytes':
      case 'float':
      case 'int64':
      case 'sint32':
      case 'sint64':
      case 'fixed32':
      case 'fixed64':
      case 'sfixed32':
      case 'sfixed64':
        break; // rare in Mesos messages: the generic reader below is fine
    }
  }
  const packable = field.repeated && expected !== 2;
  if (field.repeated) {
    return (obj, wt, depth) => {
      if (wt === expected) {
        push(obj, name, readScalar(field));
      } else if (packable && wt === 2) {
        const end = readEnd();
        while (pos < end) push(obj, name, readScalar(field));
        if (pos !== end) throw new ProtobufDecodeError('Malformed packed field');
      } else {
        skipField(wt, field.id, depth);
      }
    };
  }
  return (obj, wt, depth) => {
    if (wt !== expected) return skipField(wt, field.id, depth);
    obj[name] = readScalar(field);
    clearOneofSiblings(schema, field, obj);
  };
}

function messageReader(schema: MessageSchema, field: FieldSchema & { kind: 'message' }): FieldReader {
  const name = field.name;
  let sub: MessageSchema | undefined;
  return (obj, wt, depth) => {
    if (wt !== 2) return skipField(wt, field.id, depth);
    sub ??= field.messageType();
    const end = readEnd();
    if (field.repeated) {
      push(obj, name, decodeInto(sub, {}, end, depth + 1));
    } else {
      // A singular message seen twice is merged, as protobuf's MergeFrom does.
      const existing = obj[name] as Obj | undefined;
      obj[name] = decodeInto(sub, existing ?? {}, end, depth + 1);
      clearOneofSiblings(schema, field, obj);
    }
  };
}

function enumReader(schema: MessageSchema, field: FieldSchema & { kind: 'enum' }): FieldReader {
  const name = field.name;
  const names = field.enumType.byNumber;
  return (obj, wt, depth) => {
    if (wt === 0) {
      const v = names.get(readVarint32());
      if (v === undefined) return; // unknown value: kept by C++ as an unknown field, i.e. unset
      if (field.repeated) push(obj, name, v);
      else {
        obj[name] = v;
        clearOneofSiblings(schema, field, obj);
      }
    } else if (wt === 2 && field.repeated) {
      const end = readEnd();
      while (pos < end) {
        const v = names.get(readVarint32());
        if (v !== undefined) push(obj, name, v);
      }
    } else {
      skipField(wt, field.id, depth);
    }
  };
}

function mapReader(field: FieldSchema & { kind: 'map' }): FieldReader {
  const name = field.name;
  const keyField: ScalarField = {
    name: 'key',
    id: 1,
    kind: 'scalar',
    scalar: field.keyScalar,
    int64AsString: false,
    repeated: false,
    required: false,
    deprecated: false,
    defaultValue: undefined,
    hasDefault: false,
    oneof: undefined,
  };
  const keyWire = wireTypeOf(keyField);
  const value = field.value;
  return (obj, wt, depth) => {
    if (wt !== 2) return skipField(wt, field.id, depth);
    const end = readEnd();
    let key: string | number | boolean | undefined;
    let val: unknown;
    while (pos < end) {
      const tag = readVarint32() >>> 0;
      const fno = tag >>> 3;
      const fwt = tag & 7;
      if (fno === 1 && fwt === keyWire) key = readScalar(keyField) as string | number | boolean;
      else if (fno === 2) {
        switch (value.kind) {
          case 'scalar':
            if (fwt === wireTypeOf(value)) val = readScalar(value);
            else skipField(fwt, fno, depth);
            break;
          case 'enum':
            if (fwt === 0) val = value.enumType.byNumber.get(readVarint32());
            else skipField(fwt, fno, depth);
            break;
          case 'message':
            if (fwt === 2) {
              const subEnd = readEnd();
              val = decodeInto(value.messageType(), (val as Obj | undefined) ?? {}, subEnd, depth + 1);
            } else skipField(fwt, fno, depth);
            break;
        }
      } else skipField(fwt, fno, depth);
    }
    if (pos !== end) throw new ProtobufDecodeError('Malformed map entry');
    if (val === undefined) {
      if (value.kind === 'message') val = {};
      else if (value.kind === 'enum') val = value.enumType.byNumber.values().next().value;
      else if (value.scalar === 'string') val = '';
      else if (value.scalar === 'bytes') val = Buffer.alloc(0);
      else if (value.scalar === 'bool') val = false;
      else val = INT64_KINDS.has(value.scalar) && value.int64AsString ? '0' : 0;
    }
    const map = (obj[name] as Obj | undefined) ?? {};
    map[key === undefined ? (keyField.scalar === 'string' ? '' : '0') : String(key)] = val;
    obj[name] = map;
  };
}

function compile(schema: MessageSchema): CompiledMessage {
  let c = compiled.get(schema);
  if (c !== undefined) return c;
  const maxId = schema.fields.reduce((m, f) => Math.max(m, f.id), 0);
  c = { readers: new Array<FieldReader | undefined>(maxId + 1).fill(undefined), requiredNames: schema.required.map((f) => f.name) };
  compiled.set(schema, c);
  for (const f of schema.fields) {
    switch (f.kind) {
      case 'scalar':
        c.readers[f.id] = scalarReader(schema, f);
        break;
      case 'enum':
        c.readers[f.id] = enumReader(schema, f);
        break;
      case 'message':
        c.readers[f.id] = messageReader(schema, f);
        break;
      case 'map':
        c.readers[f.id] = mapReader(f);
        break;
    }
  }
  return c;
}

function decodeInto(schema: MessageSchema, obj: Obj, end: number, depth: number): Obj {
  if (depth > MAX_DEPTH) throw new ProtobufDecodeError('Nesting too deep');
  const c = compile(schema);
  const readers = c.readers;
  while (pos < end) {
    const tag = readVarint32() >>> 0;
    const fieldNo = tag >>> 3;
    const wt = tag & 7;
    if (fieldNo === 0) throw new ProtobufDecodeError('Invalid field number 0');
    const reader = readers[fieldNo];
    if (reader === undefined) skipField(wt, fieldNo, depth);
    else reader(obj, wt, depth);
  }
  if (pos !== end) throw new ProtobufDecodeError('Field extends past the end of its message');
  const required = c.requiredNames;
  for (let i = 0; i < required.length; i++) {
    if (obj[required[i] as string] === undefined) {
      throw new ProtobufDecodeError(`Missing required field '${schema.fullName}.${required[i] as string}'`);
    }
  }
  return obj;
}

/** Decode a binary message into the plain shape. Throws ProtobufDecodeError if it does not parse. */
export function decodeProtobufPlain<T = Obj>(schema: MessageSchema, body: Buffer): T {
  const savedBuf = buf;
  const savedPos = pos;
  buf = body;
  pos = 0;
  try {
    return decodeInto(schema, {}, body.length, 0) as T;
  } finally {
    // Do not keep a reference to the caller's buffer after returning.
    buf = savedBuf;
    pos = savedPos;
  }
}
