/**
 * Encoding and decoding of Mesos v1 scheduler/executor messages for both content types the HTTP
 * API speaks. Every function works on kmf's plain message shape (types.ts).
 *
 *  - decodeCall / decodeMessage (the simulator's master and agent side): strict. JSON follows the
 *    master's exact acceptance rules, and errors carry the exact 400 body text a 1.11 master sends.
 *  - encodeEvent (simulator side): byte-for-byte what a 1.11 master writes.
 *  - decodeEvent (scheduler client side): the hot path. JSON is JSON.parse plus a light fix-up of
 *    the few fields whose JSON form differs from the plain shape; anything a master would not
 *    send falls back to the strict parser.
 *  - encodeCall (client side): only the fields that are set, in declaration order.
 *
 * Performance (bench/decode-offers.ts): small and medium OFFERS events decode at well over 100k
 * offers/s (protobuf) and 60k offers/s (JSON, where JSON.parse itself is most of the cost). A
 * 5,000-offer event is a 4-11 MB object graph; decoding it is dominated by V8 young-generation
 * GC: `--max-semi-space-size=64` roughly halves its cost, but keeps 128 MB resident, so the launcher
 * stays at 16 (docs/operations.md, "Memory"), where a 5,000-offer event still decodes in well under 100 ms.
 */
import { KmfError } from '../util/errors.js';
import {
  FastPathBailout,
  JsonMappingError,
  missingRequiredFields,
  normalizeJsonFast,
  parseJsonStrict,
  parseJsonText,
  writeJson,
} from './json-mapping.js';
import { MESSAGE_NAMES } from './proto.js';
import { decodeProtobuf, encodeProtobuf, ProtobufMappingError } from './protobuf-mapping.js';
import { schemaByName, type MessageSchema } from './schema.js';
import type { Call, Event } from './types.js';

export type ContentType = 'application/json' | 'application/x-protobuf';

export const CONTENT_TYPES: readonly ContentType[] = ['application/json', 'application/x-protobuf'];

export type CodecErrorKind = 'json-syntax' | 'json-mapping' | 'protobuf' | 'encode' | 'content-type';

/**
 * A body that cannot be decoded (or a message that cannot be encoded). For decoding, `message` is
 * exactly the text a Mesos 1.11 master/agent puts in its 400 response body.
 */
export class CodecError extends KmfError {
  readonly kind: CodecErrorKind;

  constructor(kind: CodecErrorKind, message: string, opts: { cause?: unknown } = {}) {
    super(`CODEC_${kind.toUpperCase().replace('-', '_')}`, message, { retriable: false, cause: opts.cause });
    this.name = 'CodecError';
    this.kind = kind;
  }
}

type Obj = Record<string, unknown>;

export function isContentType(v: unknown): v is ContentType {
  return v === 'application/json' || v === 'application/x-protobuf';
}

function checkContentType(ct: unknown): asserts ct is ContentType {
  if (!isContentType(ct)) {
    throw new CodecError('content-type', `Unsupported content type '${String(ct)}'; expected application/json or application/x-protobuf`);
  }
}

function schemaFor(typeName: string): MessageSchema {
  try {
    return schemaByName(typeName);
  } catch (err) {
    throw new CodecError('encode', `Unknown message type '${typeName}'`, { cause: err });
  }
}

// ---- decoding -------------------------------------------------------------------------------------

function parseJsonBody(schema: MessageSchema, body: Buffer): unknown {
  try {
    return parseJsonText(body);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CodecError('json-syntax', `Failed to parse body into JSON: ${why}`, { cause: err });
  }
}

function decodeStrictJson<T>(schema: MessageSchema, json: unknown): T {
  try {
    return parseJsonStrict<T>(schema, json);
  } catch (err) {
    if (err instanceof JsonMappingError) {
      throw new CodecError('json-mapping', `Failed to convert JSON into ${schema.simpleName} protobuf: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function decodeBinary<T>(schema: MessageSchema, body: Buffer): T {
  try {
    return decodeProtobuf<T>(schema, body);
  } catch (err) {
    if (err instanceof ProtobufMappingError) {
      throw new CodecError('protobuf', `Failed to parse body into ${schema.simpleName} protobuf`, { cause: err });
    }
    throw err;
  }
}

/** Decode any message strictly (JSON with the master's rules; protobuf with required checks). */
export function decodeMessage<T>(typeName: string, body: Buffer, ct: ContentType): T {
  checkContentType(ct);
  const schema = schemaFor(typeName);
  if (ct === 'application/x-protobuf') return decodeBinary<T>(schema, body);
  return decodeStrictJson<T>(schema, parseJsonBody(schema, body));
}

/** A scheduler Call as the master parses it; errors carry the master's 400 body text. */
export function decodeCall(body: Buffer, ct: ContentType): Call {
  return decodeMessage<Call>(MESSAGE_NAMES.schedulerCall, body, ct);
}

const EVENT_TYPES_WITH_MEMBER = new Set([
  'SUBSCRIBED',
  'OFFERS',
  'INVERSE_OFFERS',
  'RESCIND',
  'RESCIND_INVERSE_OFFER',
  'UPDATE',
  'UPDATE_OPERATION_STATUS',
  'MESSAGE',
  'FAILURE',
  'ERROR',
]);

/**
 * Give events the discriminated-union shape: an unknown or unset type becomes `{type: 'UNKNOWN'}`
 * (forward compatibility), and a known type must come with its member.
 */
function finishEvent(ev: Obj): Event {
  const type = ev['type'];
  if (typeof type !== 'string' || type === 'UNKNOWN') return { type: 'UNKNOWN' };
  const member = EVENT_TYPES_WITH_MEMBER.has(type) ? ev[type.toLowerCase()] : {};
  if (typeof member !== 'object' || member === null) {
    throw new CodecError('json-mapping', `Event of type ${type} has no '${type.toLowerCase()}' member`);
  }
  return ev as unknown as Event;
}

/** A scheduler Event from the master's stream (one RecordIO record). */
export function decodeEvent(body: Buffer, ct: ContentType): Event {
  checkContentType(ct);
  const schema = schemaFor(MESSAGE_NAMES.schedulerEvent);
  if (ct === 'application/x-protobuf') return finishEvent(decodeBinary<Obj>(schema, body));
  const json = parseJsonBody(schema, body);
  let ev: Obj;
  try {
    ev = normalizeJsonFast<Obj>(schema, json);
  } catch (err) {
    if (!(err instanceof FastPathBailout)) throw err;
    // Not what a master sends: re-read from the bytes (the fast path may have changed the value).
    ev = decodeStrictJson<Obj>(schema, parseJsonBody(schema, body));
  }
  return finishEvent(ev);
}

// ---- encoding -------------------------------------------------------------------------------------

export interface EncodeOptions {
  /**
   * JSON only: also write unset fields that have an explicit [default] (master/agent serializer
   * behaviour). Default: true for Event types, false for Call types (clients send what they set).
   */
  defaults?: boolean;
}

/** Encode any message. Missing proto2 required fields are refused rather than sent. */
export function encodeMessage(typeName: string, obj: unknown, ct: ContentType, opts: EncodeOptions = {}): Buffer {
  checkContentType(ct);
  const schema = schemaFor(typeName);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new CodecError('encode', `Cannot encode ${schema.fullName}: expected an object`);
  }
  const plain = obj as Obj;
  const missing = missingRequiredFields(schema, plain);
  if (missing.length > 0) {
    throw new CodecError('encode', `Cannot encode ${schema.fullName}: Missing required fields: ${missing.join(', ')}`);
  }
  if (ct === 'application/x-protobuf') {
    try {
      return encodeProtobuf(schema, plain);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CodecError('encode', `Cannot encode ${schema.fullName}: ${why}`, { cause: err });
    }
  }
  const defaults = opts.defaults ?? schema.simpleName !== 'Call';
  return Buffer.from(writeJson(schema, plain, { defaults }), 'utf8');
}

/** A scheduler Call as a client sends it. */
export function encodeCall(call: Call, ct: ContentType): Buffer {
  return encodeMessage(MESSAGE_NAMES.schedulerCall, call, ct, { defaults: false });
}

/** A scheduler Event exactly as a 1.11 master serializes it. */
export function encodeEvent(event: Event, ct: ContentType): Buffer {
  return encodeMessage(MESSAGE_NAMES.schedulerEvent, event, ct, { defaults: true });
}
