/**
 * A compact, precomputed view of a protobufjs message type, shared by the JSON and protobuf
 * converters. protobufjs reflection objects are convenient but slow to interrogate field by field
 * on a hot path; these descriptors hold exactly what the converters need, with fields kept in
 * .proto DECLARATION order (the order the Mesos master writes JSON fields in).
 */
import protobuf from 'protobufjs';
import { protoType } from './proto.js';

export type ScalarKind =
  | 'double'
  | 'float'
  | 'int32'
  | 'uint32'
  | 'sint32'
  | 'fixed32'
  | 'sfixed32'
  | 'int64'
  | 'uint64'
  | 'sint64'
  | 'fixed64'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

export interface EnumSchema {
  readonly fullName: string;
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

interface FieldCommon {
  readonly name: string;
  readonly id: number;
  readonly repeated: boolean;
  readonly required: boolean;
  readonly deprecated: boolean;
  /** Explicit `[default = …]` in the .proto, converted to the plain shape; undefined when none. */
  readonly defaultValue: unknown;
  readonly hasDefault: boolean;
  /** Name of the oneof this field belongs to, if any. */
  readonly oneof: string | undefined;
}

export interface ScalarField extends FieldCommon {
  readonly kind: 'scalar';
  readonly scalar: ScalarKind;
  /** int64 kept as a decimal string in the plain shape (TimeInfo/DurationInfo.nanoseconds). */
  readonly int64AsString: boolean;
}
export interface EnumField extends FieldCommon {
  readonly kind: 'enum';
  readonly enumType: EnumSchema;
}
export interface MessageField extends FieldCommon {
  readonly kind: 'message';
  /** Resolved lazily: message graphs are recursive (ContainerID.parent). */
  readonly messageType: () => MessageSchema;
}
export interface MapField extends FieldCommon {
  readonly kind: 'map';
  readonly keyScalar: ScalarKind;
  readonly value: ScalarField | EnumField | MessageField;
}
export type FieldSchema = ScalarField | EnumField | MessageField | MapField;

export interface MessageSchema {
  readonly fullName: string;
  /** Last component of the full name, e.g. `Call`. */
  readonly simpleName: string;
  readonly type: protobuf.Type;
  /** Fields in .proto declaration order. */
  readonly fields: readonly FieldSchema[];
  readonly byName: ReadonlyMap<string, FieldSchema>;
  /** Required fields in declaration order. */
  readonly required: readonly FieldSchema[];
  /** Fields sorted by field number (the order protobuf's C++ ListFields uses). */
  readonly byNumberOrder: readonly FieldSchema[];
  /** Oneof name -> member field names. */
  readonly oneofs: ReadonlyMap<string, readonly string[]>;
}

/** Messages whose int64 `nanoseconds` exceeds 2^53 in practice and is kept as a decimal string. */
const INT64_AS_STRING = new Set(['mesos.v1.TimeInfo.nanoseconds', 'mesos.v1.DurationInfo.nanoseconds']);

const SCALARS = new Set<string>([
  'double',
  'float',
  'int32',
  'uint32',
  'sint32',
  'fixed32',
  'sfixed32',
  'int64',
  'uint64',
  'sint64',
  'fixed64',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

export const INT64_KINDS: ReadonlySet<ScalarKind> = new Set<ScalarKind>(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function fullNameOf(obj: protobuf.ReflectionObject): string {
  return obj.fullName.startsWith('.') ? obj.fullName.slice(1) : obj.fullName;
}

const enumCache = new Map<protobuf.Enum, EnumSchema>();
function enumSchema(e: protobuf.Enum): EnumSchema {
  let s = enumCache.get(e);
  if (s === undefined) {
    const byName = new Map<string, number>();
    const byNumber = new Map<number, string>();
    for (const [name, num] of Object.entries(e.values)) {
      byName.set(name, num);
      // With aliases the first name wins, like protoc's descriptor lookup.
      if (!byNumber.has(num)) byNumber.set(num, name);
    }
    s = { fullName: fullNameOf(e), byName, byNumber };
    enumCache.set(e, s);
  }
  return s;
}

function asScalarKind(t: string, where: string): ScalarKind {
  if (!SCALARS.has(t)) throw new Error(`Unsupported scalar type '${t}' at ${where}`);
  return t as ScalarKind;
}

function plainDefault(field: protobuf.Field, kind: 'scalar' | 'enum', scalar?: ScalarKind): { has: boolean; value: unknown } {
  const opts: Record<string, unknown> | undefined = field.options;
  if (opts === undefined || !Object.prototype.hasOwnProperty.call(opts, 'default')) return { has: false, value: undefined };
  const raw = opts['default'];
  if (kind === 'enum') {
    // protobufjs keeps enum defaults as the value name.
    return { has: true, value: typeof raw === 'number' ? undefined : raw };
  }
  if (scalar === 'bool') return { has: true, value: raw === true || raw === 'true' };
  if (scalar === 'string') return { has: true, value: String(raw) };
  if (scalar === 'bytes') return { has: true, value: Buffer.from(String(raw), 'latin1') };
  return { has: true, value: Number(raw) };
}

const schemaCache = new Map<protobuf.Type, MessageSchema>();

function buildField(msgName: string, field: protobuf.Field): FieldSchema {
  field.resolve();
  const opts: Record<string, unknown> | undefined = field.options;
  const common = {
    name: field.name,
    id: field.id,
    repeated: field.repeated || field.map,
    required: field.required,
    deprecated: opts?.['deprecated'] === true,
    oneof: field.partOf?.name,
  };
  const where = `${msgName}.${field.name}`;
  const resolved = field.resolvedType;

  const valueOf = (): ScalarField | EnumField | MessageField => {
    if (resolved instanceof protobuf.Type) {
      const t = resolved;
      return { ...common, kind: 'message', messageType: () => schemaOf(t), defaultValue: undefined, hasDefault: false };
    }
    if (resolved instanceof protobuf.Enum) {
      const d = plainDefault(field, 'enum');
      return { ...common, kind: 'enum', enumType: enumSchema(resolved), defaultValue: d.value, hasDefault: d.has };
    }
    const scalar = asScalarKind(field.type, where);
    const d = plainDefault(field, 'scalar', scalar);
    return {
      ...common,
      kind: 'scalar',
      scalar,
      int64AsString: INT64_AS_STRING.has(where),
      defaultValue: d.value,
      hasDefault: d.has,
    };
  };

  if (field instanceof protobuf.MapField) {
    return {
      ...common,
      kind: 'map',
      keyScalar: asScalarKind(field.keyType, `${where} (key)`),
      // A map is `repeated Entry { key = 1; value = 2; }`: errors name the entry's `value` field.
      value: { ...valueOf(), name: 'value', id: 2, repeated: false, required: false, oneof: undefined },
      defaultValue: undefined,
      hasDefault: false,
    };
  }
  return valueOf();
}

/** The compiled schema of a protobufjs message type (cached). */
export function schemaOf(type: protobuf.Type): MessageSchema {
  let s = schemaCache.get(type);
  if (s !== undefined) return s;
  const fullName = fullNameOf(type);
  const fields = type.fieldsArray.map((f) => buildField(fullName, f));
  const oneofs = new Map<string, readonly string[]>();
  for (const o of type.oneofsArray) oneofs.set(o.name, [...o.oneof]);
  s = {
    fullName,
    simpleName: type.name,
    type,
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
    required: fields.filter((f) => f.required),
    byNumberOrder: [...fields].sort((a, b) => a.id - b.id),
    oneofs,
  };
  schemaCache.set(type, s);
  return s;
}

/** The compiled schema of a message by full name, e.g. `mesos.v1.scheduler.Event`. */
export function schemaByName(fullName: string): MessageSchema {
  return schemaOf(protoType(fullName));
}
