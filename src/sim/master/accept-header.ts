/**
 * `Accept` negotiation for SUBSCRIBE and RECONCILE_OPERATIONS (reference item 17), following libprocess'
 * Request::acceptsMediaType: a missing header accepts everything; otherwise the most specific matching
 * media range (exact, then `type/*`, then `*\/*`) decides, and q=0 means "not acceptable".
 * JSON is checked first, so it wins whenever both are acceptable.
 */
import type { ContentType } from '../../mesos/codec.js';

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim());
    if (range === undefined || range === '') continue;
    const [type, subtype] = range.toLowerCase().split('/');
    if (type === undefined || subtype === undefined || type === '' || subtype === '') continue;
    let q = 1;
    for (const p of params) {
      const [name, value] = p.split('=').map((s) => s.trim());
      if (name?.toLowerCase() === 'q' && value !== undefined) {
        const parsed = Number(value);
        q = Number.isFinite(parsed) ? parsed : 0;
      }
    }
    out.push({ type, subtype, q });
  }
  return out;
}

export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined) return true;
  const [type, subtype] = mediaType.toLowerCase().split('/');
  const ranges = parseAccept(header);
  const exact = ranges.find((r) => r.type === type && r.subtype === subtype);
  if (exact !== undefined) return exact.q > 0;
  const typeWildcard = ranges.find((r) => r.type === type && r.subtype === '*');
  if (typeWildcard !== undefined) return typeWildcard.q > 0;
  const any = ranges.find((r) => r.type === '*' && r.subtype === '*');
  if (any !== undefined) return any.q > 0;
  return false;
}

/** The event encoding for a SUBSCRIBE, or undefined when neither is acceptable (406). */
export function negotiateEventContentType(header: string | undefined): ContentType | undefined {
  if (acceptsMediaType(header, 'application/json')) return 'application/json';
  if (acceptsMediaType(header, 'application/x-protobuf')) return 'application/x-protobuf';
  return undefined;
}
