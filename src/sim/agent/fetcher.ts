/**
 * The Mesos fetcher (reference §N, items 191-196), for CommandInfo.uris of tasks and executors.
 *
 * For each URI, in order, before the task starts:
 *   - source: `http://` / `https://` (redirects followed, final status must be 200), `file://<absolute>` or a
 *     bare absolute path (copied); other schemes and relative paths are errors;
 *   - destination `<sandbox>/<name>`: name = output_file (relative, sub-directories created; absolute is an
 *     error) or the URI's basename after the last `/` (query string included);
 *   - executable → chmod 0755, never extracted; else, if extract (the default), archives ending in .tar,
 *     .tgz, .tar.gz, .tbz2, .tar.bz2, .txz, .tar.xz (system `tar`) and .zip (`unzip`) are unpacked into the
 *     sandbox and also kept, and a bare .gz is gunzipped next to itself without the suffix;
 *   - cache: true keeps one copy per URI in the agent's cache dir; archives are then extracted straight from
 *     the cache and not copied into the sandbox.
 * Any failure rejects with a FetchError; the agent turns it into TASK_FAILED / REASON_CONTAINER_LAUNCH_FAILED.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CommandURI } from '../../mesos/types.js';
import { KmfError, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { runTracked, type ProcessGroupRegistry } from './process-registry.js';

export class FetchError extends KmfError {
  constructor(message: string, cause?: unknown) {
    super('SIM_FETCH_FAILED', message, cause === undefined ? {} : { cause });
    this.name = 'FetchError';
  }
}

export type ArchiveKind = 'tar' | 'zip' | 'gz';

const TAR_SUFFIXES = ['.tar', '.tgz', '.tar.gz', '.tbz2', '.tar.bz2', '.txz', '.tar.xz'];

/** Which extractor a file name calls for (case-sensitive suffixes, as in Mesos). */
export function archiveKind(name: string): ArchiveKind | undefined {
  if (TAR_SUFFIXES.some((s) => name.endsWith(s))) return 'tar';
  if (name.endsWith('.zip')) return 'zip';
  if (name.endsWith('.gz')) return 'gz';
  return undefined;
}

export type UriSource = { kind: 'http'; url: string } | { kind: 'local'; path: string };

/** Classify a URI value. Throws FetchError for unsupported schemes, malformed URIs and relative paths. */
export function uriSource(value: string): UriSource {
  if (value === '') throw new FetchError('URI is empty');
  if (/[\\'\0]/.test(value)) throw new FetchError(`Invalid characters found in URI '${value}'`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!isAbsolute(value)) {
      throw new FetchError(
        `A relative path was passed for the resource '${value}' but the Mesos framework home was not specified`,
      );
    }
    return { kind: 'local', path: value };
  }
  if (scheme === 'file') {
    const path = decodeURIComponent(value.slice('file://'.length));
    if (!isAbsolute(path)) throw new FetchError(`file:// URI '${value}' must hold an absolute path`);
    return { kind: 'local', path };
  }
  if (scheme === 'http' || scheme === 'https') return { kind: 'http', url: value };
  throw new FetchError(`Unsupported URI scheme '${scheme}' in '${value}' (the simulator fetches http, https and file URIs)`);
}

/** The name of the fetched file inside the sandbox (item 193). */
export function destinationName(uri: CommandURI): string {
  const out = uri.output_file;
  if (out !== undefined && out !== '') {
    if (isAbsolute(out)) throw new FetchError(`Output file path '${out}' must be relative`);
    if (/[\\'\0]/.test(out)) throw new FetchError(`Invalid characters found in output file '${out}'`);
    const norm = normalize(out);
    if (norm === '..' || norm.startsWith(`..${sep}`) || norm.endsWith(sep) || norm === '.') {
      throw new FetchError(`Output file path '${out}' must name a file inside the sandbox`);
    }
    return norm;
  }
  const value = uri.value;
  const schemeEnd = value.indexOf('://');
  if (schemeEnd >= 0 && value.indexOf('/', schemeEnd + 3) < 0) {
    throw new FetchError(`Malformed URI (missing path): ${value}`);
  }
  const name = value.slice(value.lastIndexOf('/') + 1);
  if (name === '' || name === '.' || name === '..') throw new FetchError(`URI '${value}' does not name a file`);
  return name;
}

export interface FetchContext {
  sandbox: string;
  registry: ProcessGroupRegistry;
  logger: Logger;
  /** Directory for `cache: true` URIs (per agent). Without it, caching is ignored. */
  cacheDir?: string;
  /** Aborts an in-flight download (task killed during launch, agent stopped). */
  signal?: AbortSignal;
  /** A download with no data for this long fails (Mesos --fetcher_stall_timeout, 1 min). */
  stallTimeoutMs?: number;
}

const MAX_REDIRECTS = 10;

/** Fetch every URI into the sandbox, sequentially (item 195). */
export async function fetchUris(uris: readonly CommandURI[], ctx: FetchContext): Promise<void> {
  for (const uri of uris) {
    if (ctx.signal?.aborted === true) throw new FetchError('Fetch aborted');
    try {
      await fetchOne(uri, ctx);
    } catch (err) {
      if (err instanceof FetchError) throw err;
      throw new FetchError(`Failed to fetch '${uri.value}': ${errorMessage(err)}`, err);
    }
  }
}

async function fetchOne(uri: CommandURI, ctx: FetchContext): Promise<void> {
  const source = uriSource(uri.value);
  const name = destinationName(uri);
  const dest = join(ctx.sandbox, name);
  await fsp.mkdir(dirname(dest), { recursive: true });
  const useCache = uri.cache === true && ctx.cacheDir !== undefined;
  const executable = uri.executable === true;
  const extract = uri.extract !== false && !executable;
  const kind = extract ? archiveKind(name) : undefined;

  let archivePath = dest;
  if (useCache && ctx.cacheDir !== undefined) {
    const cached = await ensureCached(source, uri.value, ctx.cacheDir, ctx);
    if (kind === 'tar' || kind === 'zip') {
      archivePath = cached;
    } else {
      await fsp.copyFile(cached, dest);
    }
  } else {
    await obtain(source, dest, ctx);
  }
  ctx.logger.debug('fetched', { uri: uri.value, dest });

  if (executable) {
    await fsp.chmod(dest, 0o755);
    return;
  }
  if (kind === undefined) return;
  await extractArchive(kind, archivePath, dest, ctx);
}

async function ensureCached(source: UriSource, value: string, cacheDir: string, ctx: FetchContext): Promise<string> {
  await fsp.mkdir(cacheDir, { recursive: true });
  const base = value.slice(value.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_');
  const file = join(cacheDir, `${createHash('sha256').update(value).digest('hex').slice(0, 24)}-${base}`);
  try {
    await fsp.access(file);
    return file;
  } catch {
    // Not cached yet: fetch to a temp name, then rename, so a concurrent reader never sees half a file.
  }
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await obtain(source, tmp, ctx);
    await fsp.rename(tmp, file);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return file;
}

async function obtain(source: UriSource, dest: string, ctx: FetchContext): Promise<void> {
  switch (source.kind) {
    case 'local':
      try {
        await fsp.copyFile(source.path, dest);
      } catch (err) {
        throw new FetchError(`Failed to copy '${source.path}': ${errorMessage(err)}`, err);
      }
      return;
    case 'http':
      await download(source.url, dest, ctx);
      return;
  }
}

function get(url: URL, ctx: FetchContext): Promise<IncomingMessage> {
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requester(url, { method: 'GET', agent: false, signal: ctx.signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function download(url: string, dest: string, ctx: FetchContext): Promise<void> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await get(current, ctx).catch((err: unknown) => {
      throw new FetchError(`Error downloading resource '${url}': ${errorMessage(err)}`, err);
    });
    const code = res.statusCode ?? 0;
    const location = res.headers.location;
    if (code >= 300 && code < 400 && location !== undefined) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new FetchError(`Error downloading resource '${url}': too many redirects`);
      current = new URL(location, current);
      continue;
    }
    if (code !== 200) {
      res.resume();
      throw new FetchError(`Error downloading resource '${url}', received HTTP return code ${code}`);
    }
    const stallMs = ctx.stallTimeoutMs ?? 60_000;
    let stall: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (stall !== undefined) clearTimeout(stall);
      stall = setTimeout(() => res.destroy(new Error(`no data for ${stallMs} ms`)), stallMs);
    };
    arm();
    res.on('data', arm);
    try {
      await pipeline(res, createWriteStream(dest));
    } catch (err) {
      throw new FetchError(`Error downloading resource '${url}': ${errorMessage(err)}`, err);
    } finally {
      if (stall !== undefined) clearTimeout(stall);
    }
    return;
  }
}

async function extractArchive(kind: ArchiveKind, archive: string, dest: string, ctx: FetchContext): Promise<void> {
  switch (kind) {
    case 'tar': {
      // GNU tar recognises gzip/bzip2/xz compression by itself when reading a file.
      const r = await runTracked(ctx.registry, 'tar', ['-C', ctx.sandbox, '-xf', archive]);
      if (r.spawnError !== undefined || r.code !== 0) {
        throw new FetchError(`Failed to extract archive '${archive}': ${r.spawnError?.message ?? (r.stderr || `tar exited with ${String(r.code ?? r.signal)}`)}`);
      }
      return;
    }
    case 'zip': {
      const r = await runTracked(ctx.registry, 'unzip', ['-o', '-q', archive, '-d', ctx.sandbox]);
      if (r.spawnError !== undefined || r.code !== 0) {
        throw new FetchError(`Failed to extract archive '${archive}': ${r.spawnError?.message ?? (r.stderr || `unzip exited with ${String(r.code ?? r.signal)}`)}`);
      }
      return;
    }
    case 'gz': {
      const out = dest.slice(0, -'.gz'.length);
      const fh = await fsp.open(out, 'w');
      try {
        const r = await runTracked(ctx.registry, 'gunzip', ['-d', '-c', archive], { stdout: fh.fd });
        if (r.spawnError !== undefined || r.code !== 0) {
          throw new FetchError(`Failed to gunzip '${archive}': ${r.spawnError?.message ?? (r.stderr || `gunzip exited with ${String(r.code ?? r.signal)}`)}`);
        }
      } finally {
        await fh.close();
      }
      return;
    }
  }
}
