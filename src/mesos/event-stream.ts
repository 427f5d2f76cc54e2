import { KmfError, errorMessage } from '../util/errors.js';
import { decodeEvent, type ContentType } from './codec.js';
import { RecordIODecoder } from './recordio.js';
import type { Event } from './types.js';

/**
 * Turns the body of a SUBSCRIBE response (a chunked, never-ending RecordIO stream) into scheduler events.
 * Works on Buffers end to end: chunk boundaries mean nothing (items 38, 39), and each record is decoded only
 * once it is complete. A framing or decoding error ends the stream with a retriable KmfError (the client drops
 * the connection and re-subscribes); a stream that ends inside a record throws RECORDIO_TRUNCATED.
 */
export async function* readEventStream(
  chunks: AsyncIterable<unknown>,
  contentType: ContentType,
  opts: { maxRecordBytes?: number } = {},
): AsyncGenerator<Event, void, undefined> {
  const decoder = new RecordIODecoder(opts.maxRecordBytes === undefined ? {} : { maxRecordBytes: opts.maxRecordBytes });
  for await (const chunk of chunks) {
    let records: Buffer[];
    try {
      records = decoder.push(toBuffer(chunk));
    } catch (err) {
      throw streamError('MESOS_BAD_STREAM', `event stream framing broken: ${errorMessage(err)}`, err);
    }
    for (const record of records) {
      let event: Event;
      try {
        event = decodeEvent(record, contentType);
      } catch (err) {
        throw streamError('MESOS_BAD_EVENT', `cannot decode an event (${record.length} bytes, ${contentType}): ${errorMessage(err)}`, err);
      }
      yield event;
    }
  }
  try {
    decoder.end();
  } catch (err) {
    throw streamError('MESOS_STREAM_TRUNCATED', `event stream ended mid-record: ${errorMessage(err)}`, err);
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  // A string chunk would mean someone set an encoding on the body: character counts are not byte counts.
  throw new KmfError('MESOS_BAD_STREAM', `event stream produced a ${typeof chunk} chunk instead of bytes`);
}

function streamError(code: string, message: string, cause: unknown): KmfError {
  return new KmfError(code, message, { retriable: true, cause });
}
