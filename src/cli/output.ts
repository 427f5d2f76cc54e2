/**
 * How the operator verbs talk back: tables for people, `--json` for scripts (one JSON document on stdout),
 * errors on stderr, and exit codes scripts can rely on:
 *
 *   0  success
 *   1  unexpected error (a bug, or the API answered 500)
 *   2  usage error or invalid request (bad flags, 400, 413, 415)
 *   3  not found (404)
 *   4  conflict (409: e.g. a rolling update is under way; --force overrides where offered)
 *   5  unavailable (cannot connect, TLS failure, no leader / 503, timeout of a request)
 *   6  authentication or authorization (401 missing or unknown token, 403 read-only token)
 *   7  --wait ended badly: the plan reached ERROR, or --wait-timeout passed
 */
import { ApiError } from './api-client.js';

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  unavailable: 5,
  auth: 6,
  waitFailed: 7,
} as const;

/** A failure the CLI itself detects (bad flag value, a --wait that ended in ERROR). */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ApiError) {
    if (err.status === 0) return err.code === 'usage' ? EXIT.usage : EXIT.unavailable;
    if (err.status === 401 || err.status === 403) return EXIT.auth;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
    if (err.status === 503 || err.status === 502 || err.status === 504 || err.status === 307) return EXIT.unavailable;
    if (err.status >= 400 && err.status < 500) return EXIT.usage;
    return EXIT.unexpected;
  }
  return EXIT.unexpected;
}

/** Prints an error for people (stderr), with every issue the API listed. */
export function printError(err: unknown, json: boolean): void {
  if (json && err instanceof ApiError && err.status > 0) {
    process.stderr.write(`${JSON.stringify({ error: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }), status: err.status })}\n`);
    return;
  }
  const msg = err instanceof Error ? err.message : String(err);
  const prefix = err instanceof ApiError && err.status > 0 ? `kmf: ${err.code} (${err.status}): ` : 'kmf: ';
  process.stderr.write(`${prefix}${msg}\n`);
  if (err instanceof ApiError) {
    const issues = err.details?.['issues'];
    if (Array.isArray(issues) && issues.length > 1) for (const i of issues) process.stderr.write(`  - ${String(i)}\n`);
  }
}

export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

/** Left-aligned columns separated by two spaces; cells are single-line. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | undefined>>): string {
  const cells = rows.map((r) => headers.map((_, i) => oneLine(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

function oneLine(v: string | number | boolean | undefined): string {
  if (v === undefined) return '-';
  return String(v).replace(/\s*\n\s*/g, ' ');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `2026-01-31 12:00:00` in local time, for tables. */
export function when(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
