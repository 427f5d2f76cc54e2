/**
 * The timeline: what kmf decided and why (launches, kills, declines with their reasons, failures,
 * recoveries, reconciliation, leadership) and every change an operator made, with who made it.
 *
 *   GET /api/v1/events?after=SEQ&limit=N&kind=launch,failure&unit=NAME&who=NAME&since=TIME&newest=true
 *
 * Oldest first; page with `after` = the `next` of the previous page. `newest=true` gives the newest
 * `limit` matching entries instead (what `kmf events` shows first). The timeline is the leader's, in
 * memory and bounded: a new leader starts a new one (the durable facts are in ZooKeeper).
 * `GET /api/v1/timeline` is the same operation under its first name.
 */
import { z } from 'zod';
import type { TimelineKind } from '../../core/actions.js';
import type { RuntimeTimelineKind } from '../../runtime/timeline.js';
import { defineRoute, type ApiRoute } from '../route.js';
import { EventPageSchema, queryBool, queryInt } from '../schemas.js';
import type { ApiDeps } from './context.js';

export const EVENT_KINDS = [
  'launch',
  'reserve',
  'task-status',
  'failure',
  'backoff',
  'escalated',
  'adopted',
  'kill',
  'unknown-task',
  'reconciliation',
  'lost',
  'reservation',
  'render-error',
  'intent',
  'leadership',
  'subscription',
  'desired',
  'operator',
  'decline',
] as const satisfies ReadonlyArray<TimelineKind | RuntimeTimelineKind>;

// Every kind the scheduler can record is listed (a new kind is a compile error here until it is).
type Unlisted = Exclude<TimelineKind | RuntimeTimelineKind, (typeof EVENT_KINDS)[number]>;
const everyKindListed: [Unlisted] extends [never] ? true : never = true;
void everyKindListed;

const kindList = z
  .string()
  .transform((s, ctx) => {
    const kinds = s.split(',').map((k) => k.trim()).filter((k) => k !== '');
    for (const k of kinds) {
      if (!(EVENT_KINDS as readonly string[]).includes(k)) ctx.addIssue({ code: 'custom', message: `has the unknown kind "${k}" (kinds: ${EVENT_KINDS.join(', ')})` });
    }
    return kinds;
  })
  .optional()
  .meta({ description: `Comma-separated kinds: ${EVENT_KINDS.join(', ')}` });

/** An instant: milliseconds since the epoch, or an ISO 8601 time. */
const instant = z
  .string()
  .transform((s, ctx) => {
    const ms = /^\d{1,16}$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : NaN;
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `must be milliseconds since the epoch or an ISO 8601 time such as 2026-01-31T12:00:00Z (got ${JSON.stringify(s.slice(0, 40))})` });
      return z.NEVER;
    }
    return ms;
  })
  .optional()
  .meta({ description: 'Only entries at or after this time: ms since the epoch or ISO 8601' });

const EventsQuery = z.strictObject({
  after: queryInt(0, Number.MAX_SAFE_INTEGER, 'Cursor: only entries with seq > after (the previous page\'s next)'),
  limit: queryInt(1, 1000, 'Page size, 1 to 1000 (default 100)'),
  kind: kindList,
  unit: z.string().min(1).max(300).optional().meta({ description: 'Only entries about this unit, e.g. app-web/0' }),
  who: z.string().min(1).max(64).optional().meta({ description: 'Only changes made by this operator (token name)' }),
  since: instant,
  newest: queryBool('The newest `limit` entries (still oldest first) instead of the oldest after `after`'),
});

export function eventRoutes({ service }: ApiDeps): ApiRoute[] {
  const build = (path: string, operationId: string, summary: string): ApiRoute =>
    defineRoute({
      method: 'GET',
      path,
      operationId,
      summary,
      description: 'What kmf decided and why, and every change an operator made with who made it; paged and filterable.',
      tags: ['events'],
      access: 'read',
      query: EventsQuery,
      responses: { 200: { description: 'A page of the timeline', schema: EventPageSchema } },
      handler: ({ query }) => {
        const limit = query.limit ?? 100;
        const page = service.timeline({
          ...(query.after === undefined ? {} : { after: query.after }),
          limit,
          ...(query.kind === undefined || query.kind.length === 0 ? {} : { kinds: query.kind }),
          ...(query.unit === undefined ? {} : { unit: query.unit }),
          ...(query.who === undefined ? {} : { who: query.who }),
          ...(query.since === undefined ? {} : { since: query.since }),
          ...(query.newest === true ? { newest: true } : {}),
        });
        // A short page scanned everything there is: the next page starts after the newest entry.
        const last = page.entries.at(-1)?.seq;
        const next = page.entries.length < limit || query.newest === true ? Math.max(page.lastSeq, last ?? 0) : (last ?? page.lastSeq);
        return { body: { ...page, next } };
      },
    });
  return [build('/api/v1/events', 'listEvents', 'The timeline of decisions and operator actions'), build('/api/v1/timeline', 'listTimeline', 'The timeline (same as /api/v1/events)')];
}
