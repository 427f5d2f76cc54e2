/**
 * RecordIO framing as used by the Mesos v1 scheduler and executor event streams:
 *   <decimal byte length>\n<record bytes><decimal byte length>\n<record bytes>...
 * No trailing newline after a record, no other delimiter, and the length is never 0.
 *
 * The decoder works on raw bytes only. HTTP chunk boundaries mean nothing: a header can be split
 * across chunks, one record can span many chunks, and one chunk can hold many records. Cutting
 * records out of a decoded JS string would count UTF-16 code units instead of bytes, so nothing here
 * ever turns the stream into a string.
 */
import { KmfError } from '../util/errors.js';

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Longest header we accept: the 20 digits of 2^64-1, the largest length Mesos can write. */
const MAX_HEADER_DIGITS = 20;

const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

export type RecordIOErrorCode =
  | 'RECORDIO_BAD_HEADER'
  | 'RECORDIO_HEADER_TOO_LONG'
  | 'RECORDIO_ZERO_LENGTH'
  | 'RECORDIO_RECORD_TOO_LARGE'
  | 'RECORDIO_TRUNCATED'
  | 'RECORDIO_DECODER_FAILED';

function recordioError(code: RecordIOErrorCode, message: string, details?: Record<string, unknown>): KmfError {
  // A malformed stream will not heal by itself; the caller drops the connection and re-subscribes.
  return new KmfError(code, message, details === undefined ? {} : { details });
}

/** Frame one record: its byte length in decimal, a newline, then the bytes. */
export function encodeRecord(payload: Buffer): Buffer {
  if (payload.length === 0) {
    throw recordioError('RECORDIO_ZERO_LENGTH', 'RecordIO cannot frame an empty record (length 0 is invalid)');
  }
  const header = Buffer.from(`${payload.length}\n`, 'latin1');
  return Buffer.concat([header, payload], header.length + payload.length);
}

export interface RecordIODecoderOptions {
  /** Records announcing more bytes than this are rejected as soon as the header says so. */
  maxRecordBytes?: number;
}

/**
 * Incremental RecordIO decoder. Feed it chunks with `push`, get back every record completed by that
 * chunk; call `end` when the stream ends to detect a truncated last record.
 *
 * Returned records may share memory with the pushed chunks when a record lies entirely inside one
 * chunk (no copy); records that span chunks are assembled into one buffer allocated once at the
 * announced size, so a large record arriving in many small chunks costs O(n), not O(n^2).
 *
 * After any framing error the decoder is unusable: the stream position is unknown from then on.
 */
export class RecordIODecoder {
  private readonly maxRecordBytes: number;

  // Header state: digits seen so far (value kept as a number; MAX_HEADER_DIGITS * log2(10) > 53 bits,
  // but the size check below fires long before precision matters for any sane maxRecordBytes).
  private headerDigits = 0;
  private headerValue = 0;

  // Body state: when `body` is set we are inside a record spanning chunks.
  private body: Buffer | undefined;
  private bodyFilled = 0;

  private failed: KmfError | undefined;
  private bytesConsumed = 0;

  constructor(opts: RecordIODecoderOptions = {}) {
    const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new KmfError('RECORDIO_BAD_OPTIONS', `maxRecordBytes must be a positive integer, got ${String(max)}`);
    }
    this.maxRecordBytes = max;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.failed !== undefined) {
      throw recordioError('RECORDIO_DECODER_FAILED', `RecordIO decoder already failed: ${this.failed.message}`);
    }
    const records: Buffer[] = [];
    let pos = 0;
    const len = chunk.length;
    try {
      while (pos < len) {
        if (this.body !== undefined) {
          // Continue a record that started in an earlier chunk.
          const need = this.body.length - this.bodyFilled;
          const take = Math.min(need, len - pos);
          chunk.copy(this.body, this.bodyFilled, pos, pos + take);
          this.bodyFilled += take;
          pos += take;
          if (this.bodyFilled === this.body.length) {
            records.push(this.body);
            this.body = undefined;
            this.bodyFilled = 0;
          }
          continue;
        }

        const byte = chunk[pos] as number;
        pos++;
        if (byte !== NEWLINE) {
          this.acceptHeaderByte(byte, pos);
          continue;
        }

        const size = this.finishHeader(pos);
        const available = len - pos;
        if (available >= size) {
          // Whole record inside this chunk: hand out a view, no copy.
          records.push(chunk.subarray(pos, pos + size));
          pos += size;
        } else {
          // Allocate once at the announced size; later chunks copy straight into it.
          this.body = Buffer.allocUnsafe(size);
          chunk.copy(this.body, 0, pos, len);
          this.bodyFilled = available;
          pos = len;
        }
      }
    } catch (err) {
      if (err instanceof KmfError) this.failed = err;
      throw err;
    } finally {
      this.bytesConsumed += pos;
    }
    return records;
  }

  /** The stream ended. Throws if it ended inside a header or a record. */
  end(): void {
    if (this.failed !== undefined) return;
    if (this.body !== undefined) {
      const err = recordioError(
        'RECORDIO_TRUNCATED',
        `RecordIO stream ended inside a record: got ${this.bodyFilled} of ${this.body.length} bytes`,
        { expected: this.body.length, received: this.bodyFilled },
      );
      this.failed = err;
      throw err;
    }
    if (this.headerDigits > 0) {
      const err = recordioError(
        'RECORDIO_TRUNCATED',
        `RecordIO stream ended inside a length header (${this.headerDigits} digits, no newline)`,
      );
      this.failed = err;
      throw err;
    }
  }

  /** True when no partial header or record is buffered. */
  get idle(): boolean {
    return this.body === undefined && this.headerDigits === 0;
  }

  private acceptHeaderByte(byte: number, posAfter: number): void {
    if (byte < DIGIT_0 || byte > DIGIT_9) {
      throw recordioError(
        'RECORDIO_BAD_HEADER',
        `RecordIO length header contains a non-digit byte 0x${byte.toString(16).padStart(2, '0')} at stream offset ${this.bytesConsumed + posAfter - 1}`,
        { byte },
      );
    }
    if (this.headerDigits >= MAX_HEADER_DIGITS) {
      throw recordioError(
        'RECORDIO_HEADER_TOO_LONG',
        `RecordIO length header is longer than ${MAX_HEADER_DIGITS} digits`,
      );
    }
    this.headerDigits++;
    this.headerValue = this.headerValue * 10 + (byte - DIGIT_0);
    // Refuse an oversize record as soon as the header proves it, before buffering any of it.
    if (this.headerValue > this.maxRecordBytes) {
      throw recordioError(
        'RECORDIO_RECORD_TOO_LARGE',
        `RecordIO record length exceeds the limit of ${this.maxRecordBytes} bytes`,
        { maxRecordBytes: this.maxRecordBytes },
      );
    }
  }

  private finishHeader(posAfter: number): number {
    if (this.headerDigits === 0) {
      throw recordioError(
        'RECORDIO_BAD_HEADER',
        `RecordIO length header is empty (newline at stream offset ${this.bytesConsumed + posAfter - 1})`,
      );
    }
    const size = this.headerValue;
    this.headerDigits = 0;
    this.headerValue = 0;
    if (size === 0) {
      throw recordioError('RECORDIO_ZERO_LENGTH', 'RecordIO record length is 0, which Mesos never sends');
    }
    return size;
  }
}
