/**
 * Binary protobuf <-> kmf's plain message shape (types.ts).
 *
 * Decoding uses kmf's schema-driven decoder (protobuf-decode.ts), which builds plain objects
 * directly. Encoding uses protobufjs' reflection-compiled `fromObject` + `encode`: `fromObject`
 * already accepts the plain shape (enum names, int64 as number or decimal string, Buffers, maps as
 * objects), and encoding is not on a hot path.
 */
import { decodeProtobufPlain, ProtobufDecodeError } from './protobuf-decode.js';
import type { MessageSchema } from './schema.js';

type Obj = Record<string, unknown>;

/** The binary message does not match the schema, or a plain object cannot be encoded. */
export class ProtobufMappingError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'ProtobufMappingError';
  }
}

/** Binary body -> plain message. Throws ProtobufMappingError if it does not parse as `schema`. */
export function decodeProtobuf<T = Obj>(schema: MessageSchema, body: Buffer): T {
  try {
    return decodeProtobufPlain<T>(schema, body);
  } catch (err) {
    if (err instanceof ProtobufDecodeError || err instanceof RangeError) {
      throw new ProtobufMappingError(err.message, { cause: err });
    }
    throw err;
  }
}

/** Plain message -> binary body. The caller validates required fields first. */
export function encodeProtobuf(schema: MessageSchema, obj: Obj): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = schema.type.encode(schema.type.fromObject(obj)).finish();
  } catch (err) {
    throw new ProtobufMappingError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
