/**
 * What every operator verb shares: the options that reach the API (`--api`, `--token`, `--ca-file`,
 * `--json`), building the client, and running an action so that any failure becomes a message on stderr
 * and the documented exit code (src/cli/output.ts).
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient } from '../api-client.js';
import { CliError, EXIT, exitCodeOf, printError } from '../output.js';

export interface ApiFlags {
  api: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  json?: boolean;
  requestTimeout: number;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export function positiveSeconds(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${v}"`);
  return n;
}

/** Adds the API options to a leaf command. */
export function apiOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--api <url>', 'admin API of a kmf scheduler').env('KMF_API_URL').default(DEFAULT_API_URL))
    .addOption(new Option('--token <token>', 'API token (admin for changes, read-only for reads)').env('KMF_API_TOKEN'))
    .addOption(new Option('--token-file <path>', 'file whose first line is the API token').env('KMF_API_TOKEN_FILE'))
    .addOption(new Option('--ca-file <path>', 'CA certificates (PEM) to trust for an https:// API').env('KMF_API_CA_FILE'))
    .addOption(new Option('--request-timeout <s>', 'give up on an API request after this many seconds').argParser(positiveSeconds).default(30))
    .option('--json', 'print JSON for scripts instead of tables');
}

function tokenOf(flags: ApiFlags): string | undefined {
  if (flags.token !== undefined && flags.token !== '') return flags.token;
  if (flags.tokenFile === undefined || flags.tokenFile === '') return undefined;
  let text: string;
  try {
    text = fs.readFileSync(flags.tokenFile, 'utf8');
  } catch (err) {
    throw new CliError(EXIT.usage, `cannot read --token-file ${flags.tokenFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
  if (line === undefined) throw new CliError(EXIT.usage, `--token-file ${flags.tokenFile} is empty`);
  return line.trim();
}

export function clientOf(flags: ApiFlags): ApiClient {
  const token = tokenOf(flags);
  return new ApiClient({
    url: flags.api,
    ...(token === undefined ? {} : { token }),
    ...(flags.caFile === undefined ? {} : { caFile: flags.caFile }),
    timeoutMs: Math.round(flags.requestTimeout * 1000),
  });
}

/**
 * Runs a verb with a client. Errors are printed and mapped to the exit code; the process exits with it
 * (once stdout has drained).
 */
export async function runVerb<F extends ApiFlags>(flags: F, fn: (api: ApiClient, flags: F) => Promise<void>): Promise<void> {
  let api: ApiClient | undefined;
  try {
    api = clientOf(flags);
    await fn(api, flags);
  } catch (err) {
    printError(err, flags.json === true);
    process.exitCode = exitCodeOf(err);
  } finally {
    await api?.close();
  }
}

/** Parses a whole number argument (a usage error otherwise). */
export function wholeNumber(min = 0) {
  return (v: string): number => {
    if (!/^\d{1,9}$/.test(v.trim()) || Number(v) < min) throw new InvalidArgumentError(`expected a whole number >= ${min}, got "${v}"`);
    return Number(v);
  };
}
