/**
 * `kmf events`: the timeline of what kmf decided and why, and who changed what.
 *
 *   kmf events [--kind launch,failure] [--unit app-web/0] [--who alice] [--since 10m|ISO] [--limit N] [--follow]
 *
 * Without --follow: the newest --limit entries (default 50). With --follow: those, then new entries as they
 * come, until interrupted.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { print, printJson, table, when } from '../output.js';
import type { EventPage } from '../views.js';
import { apiOptions, runVerb, wholeNumber, type ApiFlags } from './api-command.js';

interface EventFlags extends ApiFlags {
  kind?: string;
  unit?: string;
  who?: string;
  since?: string;
  limit: number;
  follow?: boolean;
}

/** `10m`, `2h`, `30s`, `1d` ago, or an ISO time, as the API's `since` (ISO). */
export function parseSince(v: string, now = Date.now()): string {
  const rel = /^(\d+)\s*(s|m|h|d)$/.exec(v.trim());
  if (rel) {
    const mult = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(rel[1]) * mult).toISOString();
  }
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms)) throw new InvalidArgumentError(`expected a duration like 10m, 2h, 1d or an ISO time, got "${v}"`);
  return new Date(ms).toISOString();
}

function rows(page: EventPage): string[][] {
  return page.entries.map((e) => [when(e.at), e.kind, e.unit ?? '-', e.who ?? '-', e.message]);
}

export function register(program: Command): void {
  apiOptions(
    program
      .command('events')
      .description('the timeline: launches, kills, declines with reasons, failures, recoveries, and operator actions with who made them')
      .option('--kind <kinds>', 'comma-separated kinds, e.g. launch,kill,failure,decline,operator')
      .option('--unit <unit>', 'only this unit, e.g. app-web/0')
      .option('--who <name>', 'only changes made by this operator (token name)')
      .option('--since <when>', 'only entries since: 10m, 2h, 1d, or an ISO time', (v: string) => parseSince(v))
      .option('--limit <n>', 'how many of the newest entries (1 to 1000)', wholeNumber(1), 50)
      .option('--follow', 'keep printing new entries until interrupted'),
  ).action(async (flags: EventFlags) =>
    runVerb(flags, async (api) => {
      const query = { kind: flags.kind, unit: flags.unit, who: flags.who, since: flags.since };
      let page = await api.get<EventPage>('/api/v1/events', { ...query, limit: Math.min(flags.limit, 1000), newest: true });
      if (flags.json === true && flags.follow !== true) {
        printJson(page);
        return;
      }
      const emit = (p: EventPage, header: boolean): void => {
        if (flags.json === true) for (const e of p.entries) process.stdout.write(`${JSON.stringify(e)}\n`);
        else if (p.entries.length > 0 || header) {
          const t = table(['TIME', 'KIND', 'UNIT', 'WHO', 'MESSAGE'], rows(p));
          print(header ? t : t.split('\n').slice(1).join('\n'));
        }
      };
      emit(page, true);
      if (flags.follow !== true) return;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1_000));
        page = await api.get<EventPage>('/api/v1/events', { ...query, after: page.next, limit: 1000 });
        emit(page, false);
      }
    }),
  );
}
