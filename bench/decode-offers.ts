/**
 * How fast the scheduler client turns OFFERS events into objects, per content type and event size,
 * and how long one 5,000-offer event blocks the event loop.
 *
 * Targets (figures, never assertions): >= 100,000 offers/s with protobuf and >= 50,000 offers/s
 * with JSON on one core; a 5,000-offer event blocks the event loop for < 100 ms.
 *
 * Run: node --import tsx bench/decode-offers.ts   (or `npm run bench` for every benchmark)
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeEvent, encodeEvent, type ContentType } from '../src/mesos/codec.js';
import { buildOffersEvent } from './fixtures/offers.js';

const CONTENT_TYPES: readonly ContentType[] = ['application/x-protobuf', 'application/json'];
const SIZES = [1, 100, 5000] as const;
/** Wall-clock budget per measurement batch; several batches give a median. */
const BATCH_MS = 250;
const BATCHES = 5;

function label(ct: ContentType): string {
  return ct === 'application/json' ? 'json' : 'protobuf';
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

interface Row {
  codec: string;
  offers: number;
  bytesPerOffer: number;
  medianRate: number;
  bestRate: number;
}

/** Decode the same body for BATCH_MS, BATCHES times; offers decoded per second in each batch. */
function measureThroughput(body: Buffer, ct: ContentType, offersPerEvent: number): number[] {
  // Warm up the decoder (JIT, string interning) outside the measured batches.
  for (let i = 0; i < Math.max(3, Math.ceil(500 / offersPerEvent)); i++) decodeEvent(body, ct);
  const rates: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    let decoded = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      decodeEvent(body, ct);
      decoded += offersPerEvent;
      elapsed = performance.now() - start;
    } while (elapsed < BATCH_MS);
    rates.push((decoded / elapsed) * 1000);
  }
  return rates;
}

interface Blocking {
  codec: string;
  syncMedianMs: number;
  syncMaxMs: number;
  loopDelayMaxMs: number;
}

/**
 * Decode one 5,000-offer event per event-loop turn, as the client does when such a record
 * arrives, and measure (a) each synchronous decode and (b) the event-loop delay histogram.
 */
async function measureBlocking(body: Buffer, ct: ContentType, runs: number): Promise<Blocking> {
  decodeEvent(body, ct); // warm
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const times: number[] = [];
  histogram.enable();
  for (let i = 0; i < runs; i++) {
    await nextTurn();
    const t = performance.now();
    decodeEvent(body, ct);
    times.push(performance.now() - t);
  }
  await nextTurn();
  histogram.disable();
  return {
    codec: label(ct),
    syncMedianMs: median(times),
    syncMaxMs: Math.max(...times),
    loopDelayMaxMs: histogram.max / 1e6,
  };
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  console.log('decode-offers: OFFERS events decoded with decodeEvent (scheduler client path)');
  const flags = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].filter((f) => f.includes('semi-space'));
  console.log(`node ${process.version}, ${BATCHES} batches of ${BATCH_MS} ms per cell`);
  // Big events are dominated by young-generation GC; the semi-space size matters (see codec.ts).
  console.log(`young generation: ${flags.length > 0 ? flags.join(' ') : 'V8 default semi-space (try --max-semi-space-size=64)'}\n`);

  const rows: Row[] = [];
  const bigBodies = new Map<ContentType, Buffer>();
  for (const size of SIZES) {
    const event = buildOffersEvent(size);
    for (const ct of CONTENT_TYPES) {
      const body = encodeEvent(event, ct);
      if (size === 5000) bigBodies.set(ct, body);
      const rates = measureThroughput(body, ct, size);
      rows.push({ codec: label(ct), offers: size, bytesPerOffer: body.length / size, medianRate: median(rates), bestRate: Math.max(...rates) });
    }
  }
  console.log(
    table(
      ['codec', 'offers/event', 'bytes/offer', 'offers/s (median)', 'offers/s (best)'],
      rows.map((r) => [r.codec, String(r.offers), fmt(r.bytesPerOffer), fmt(r.medianRate), fmt(r.bestRate)]),
    ),
  );

  console.log('\nevent-loop blocking of one 5,000-offer event (target < 100 ms)');
  const blocking: Blocking[] = [];
  for (const ct of CONTENT_TYPES) {
    const body = bigBodies.get(ct);
    if (body !== undefined) blocking.push(await measureBlocking(body, ct, 15));
  }
  console.log(
    table(
      ['codec', 'decode ms (median)', 'decode ms (max)', 'event-loop delay max ms'],
      blocking.map((b) => [b.codec, b.syncMedianMs.toFixed(1), b.syncMaxMs.toFixed(1), b.loopDelayMaxMs.toFixed(1)]),
    ),
  );
}

await main();
