/**
 * The readiness contract of a Streams instance: it serves `GET /state` on its port named "state" (also in env
 * PORT) and answers `{"state":"<KafkaStreams.State>"}` (a bare state name as the whole body is accepted too).
 * An instance becomes ready when the state is RUNNING; once ready it stays ready through REBALANCING (a peer
 * joining or leaving rebalances every instance: that is not this instance failing), and stops being ready on
 * any other state or when it does not answer.
 */
import { request } from 'undici';

export const STATE_PORT = 'state';

export const STREAMS_STATES = ['CREATED', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING', 'PENDING_ERROR', 'ERROR'] as const;
export type StreamsState = (typeof STREAMS_STATES)[number];

function isStreamsState(s: string): s is StreamsState {
  return (STREAMS_STATES as readonly string[]).includes(s);
}

/** The state named by a /state body, or undefined if the body is neither form of the contract. */
export function parseStateBody(body: string): StreamsState | undefined {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const v: unknown = JSON.parse(text);
      const s = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)['state'] : undefined;
      return typeof s === 'string' && isStreamsState(s.toUpperCase()) ? (s.toUpperCase() as StreamsState) : undefined;
    } catch {
      return undefined;
    }
  }
  const upper = text.toUpperCase();
  return isStreamsState(upper) ? upper : undefined;
}

/** Readiness from the observed state and the current verdict (see the contract above). */
export function readinessFromState(state: StreamsState | undefined, wasReady: boolean): boolean {
  if (state === 'RUNNING') return true;
  if (state === 'REBALANCING') return wasReady;
  return false;
}

/** Asks one instance for its state; undefined when it does not answer (yet) or answers outside the contract. */
export async function probeState(host: string, port: number, timeoutMs = 1_500): Promise<StreamsState | undefined> {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  try {
    const res = await request(`http://${h}:${port}/state`, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // The header/body timeouts do not cover connecting (undici's default connect timeout is 10 s): an
      // unreachable instance must not hold up the whole readiness round.
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    return parseStateBody(text);
  } catch {
    return undefined;
  }
}
