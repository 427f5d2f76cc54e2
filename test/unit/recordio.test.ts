import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRecord, RecordIODecoder } from '../../src/mesos/recordio.js';
import { KmfError } from '../../src/util/errors.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Split `buf` at the given cut points (sorted, deduplicated, within bounds). */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(buf.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function decodeAll(chunks: Buffer[], opts?: { maxRecordBytes?: number }): Buffer[] {
  const dec = new RecordIODecoder(opts);
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...dec.push(c));
  dec.end();
  return out;
}

function expectCode(fn: () => unknown, code: string): KmfError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KmfError, `expected a KmfError with code ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

void describe('encodeRecord', () => {
  void test('prefixes the byte length (not the character length) and a newline, nothing after', () => {
    const payload = utf8('{"type":"HEARTBEAT"}');
    assert.equal(encodeRecord(payload).toString('utf8'), '20\n{"type":"HEARTBEAT"}');
    const multi = utf8('héllo €'); // 7 characters, 10 bytes
    assert.equal(multi.length, 10);
    assert.deepEqual(encodeRecord(multi), Buffer.concat([utf8('10\n'), multi]));
  });

  void test('refuses an empty record', () => {
    expectCode(() => encodeRecord(Buffer.alloc(0)), 'RECORDIO_ZERO_LENGTH');
  });
});

void describe('RecordIODecoder', () => {
  const records = [utf8('{"type":"SUBSCRIBED"}'), utf8('{"type":"HEARTBEAT"}'), utf8('{"msg":"ünïcødé ✓ 𝄞"}'), Buffer.from([0, 10, 255, 48, 10])];
  const stream = Buffer.concat(records.map(encodeRecord));

  void test('decodes many records from one chunk', () => {
    assert.deepEqual(decodeAll([stream]), records);
  });

  void test('decodes the stream fed one byte at a time', () => {
    const dec = new RecordIODecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      const got = dec.push(stream.subarray(i, i + 1));
      out.push(...got);
    }
    dec.end();
    assert.deepEqual(out, records);
  });

  void test('returns each record as soon as its last byte arrives', () => {
    const dec = new RecordIODecoder();
    const first = encodeRecord(utf8('abc'));
    assert.deepEqual(dec.push(first.subarray(0, first.length - 1)), []);
    assert.deepEqual(dec.push(first.subarray(first.length - 1)), [utf8('abc')]);
    assert.equal(dec.idle, true);
  });

  void test('a header split across chunks ("4" | "42\\n...")', () => {
    const body = utf8('x'.repeat(442));
    const framed = encodeRecord(body);
    assert.deepEqual(decodeAll([framed.subarray(0, 1), framed.subarray(1, 2), framed.subarray(2)]), [body]);
  });

  void test('ignores empty chunks', () => {
    assert.deepEqual(decodeAll([Buffer.alloc(0), stream, Buffer.alloc(0)]), records);
  });

  void test('a large record arriving in many chunks is assembled intact', () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const framed = encodeRecord(big);
    const chunks: Buffer[] = [];
    for (let i = 0; i < framed.length; i += 1000) chunks.push(framed.subarray(i, i + 1000));
    const out = decodeAll(chunks);
    assert.equal(out.length, 1);
    assert.ok(out[0]!.equals(big));
  });

  void test('leading zeros in the header are accepted as decimal', () => {
    assert.deepEqual(decodeAll([utf8('003\nabc')]), [utf8('abc')]);
  });

  void test('property: any chunking of any records yields the same records', () => {
    const payload = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).map(utf8),
    );
    fc.assert(
      fc.property(
        fc.array(payload, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (recs, cutSeeds) => {
          const bytes = Buffer.concat(recs.map(encodeRecord));
          const cuts = cutSeeds.map((s) => (bytes.length === 0 ? 0 : s % (bytes.length + 1)));
          const out = decodeAll(splitAt(bytes, cuts));
          assert.equal(out.length, recs.length);
          out.forEach((r, i) => assert.ok(r.equals(recs[i]!), `record ${i} differs`));
        },
      ),
      { numRuns: 300 },
    );
  });

  void test('property: multi-byte UTF-8 records under any chunking decode to the same text', () => {
    // A splitter that decodes chunks to strings, or counts characters, fails here: every record has
    // more bytes than characters and chunk cuts land inside multi-byte sequences.
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => `€${s}𝄞`), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (texts, cutSeeds) => {
          const bytes = Buffer.concat(texts.map((t) => encodeRecord(utf8(t))));
          const cuts = cutSeeds.map((s) => s % (bytes.length + 1));
          const out = decodeAll(splitAt(bytes, cuts)).map((b) => b.toString('utf8'));
          assert.deepEqual(out, texts);
        },
      ),
      { numRuns: 200 },
    );
  });

  void describe('malformed streams', () => {
    void test('a non-digit in the header', () => {
      const dec = new RecordIODecoder();
      const err = expectCode(() => dec.push(utf8('1a\nxx')), 'RECORDIO_BAD_HEADER');
      assert.match(err.message, /non-digit byte 0x61/);
    });

    void test('a space or sign in the header is a non-digit', () => {
      expectCode(() => new RecordIODecoder().push(utf8(' 3\nabc')), 'RECORDIO_BAD_HEADER');
      expectCode(() => new RecordIODecoder().push(utf8('+3\nabc')), 'RECORDIO_BAD_HEADER');
    });

    void test('garbage after a good record is reported at the right offset', () => {
      const err = expectCode(() => new RecordIODecoder().push(utf8('3\nabc}x')), 'RECORDIO_BAD_HEADER');
      assert.match(err.message, /offset 5/);
    });

    void test('an empty header (bare newline)', () => {
      expectCode(() => new RecordIODecoder().push(utf8('\nabc')), 'RECORDIO_BAD_HEADER');
    });

    void test('a trailing newline after a record (not RecordIO) is rejected', () => {
      expectCode(() => new RecordIODecoder().push(utf8('3\nabc\n3\nabc')), 'RECORDIO_BAD_HEADER');
    });

    void test('a header longer than 20 digits', () => {
      const dec = new RecordIODecoder({ maxRecordBytes: Number.MAX_SAFE_INTEGER });
      expectCode(() => dec.push(utf8('000000000000000000001\nx')), 'RECORDIO_HEADER_TOO_LONG');
    });

    void test('length 0', () => {
      expectCode(() => new RecordIODecoder().push(utf8('0\n')), 'RECORDIO_ZERO_LENGTH');
      expectCode(() => new RecordIODecoder().push(utf8('000\n')), 'RECORDIO_ZERO_LENGTH');
    });

    void test('a record larger than the maximum is refused from the header alone', () => {
      const dec = new RecordIODecoder({ maxRecordBytes: 1000 });
      // Only the header is pushed, byte by byte: no body bytes ever arrive, yet the error fires.
      dec.push(utf8('1'));
      dec.push(utf8('0'));
      dec.push(utf8('0'));
      dec.push(utf8('0'));
      expectCode(() => dec.push(utf8('1')), 'RECORDIO_RECORD_TOO_LARGE');
    });

    void test('the default maximum is 64 MiB', () => {
      assert.deepEqual(new RecordIODecoder().push(utf8(`${64 * 1024 * 1024}\n`)), []);
      expectCode(() => new RecordIODecoder().push(utf8(`${64 * 1024 * 1024 + 1}\n`)), 'RECORDIO_RECORD_TOO_LARGE');
    });

    void test('a record exactly at the maximum is accepted', () => {
      assert.deepEqual(decodeAll([utf8('4\nabcd')], { maxRecordBytes: 4 }), [utf8('abcd')]);
    });

    void test('end() inside a record', () => {
      const dec = new RecordIODecoder();
      dec.push(utf8('10\nabc'));
      const err = expectCode(() => dec.end(), 'RECORDIO_TRUNCATED');
      assert.match(err.message, /3 of 10 bytes/);
    });

    void test('end() inside a header', () => {
      const dec = new RecordIODecoder();
      dec.push(utf8('3\nabc12'));
      expectCode(() => dec.end(), 'RECORDIO_TRUNCATED');
    });

    void test('end() right after a record boundary is clean', () => {
      const dec = new RecordIODecoder();
      assert.deepEqual(dec.push(utf8('3\nabc')), [utf8('abc')]);
      dec.end();
    });

    void test('a failed decoder refuses further input', () => {
      const dec = new RecordIODecoder();
      expectCode(() => dec.push(utf8('x')), 'RECORDIO_BAD_HEADER');
      expectCode(() => dec.push(utf8('3\nabc')), 'RECORDIO_DECODER_FAILED');
    });

    void test('rejects a non-positive maximum', () => {
      expectCode(() => new RecordIODecoder({ maxRecordBytes: 0 }), 'RECORDIO_BAD_OPTIONS');
    });
  });
});
