import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { readRuntimeManifest } from '../../src/util/runtime-manifest.js';
import { freePort } from './ports.js';
import { registerExitCleanup, spawnManaged, type ManagedProcess } from './processes.js';

/**
 * A real ZooKeeper standalone server (ZooKeeperServerMain from the jars scripts/runtime.sh put in
 * .kmf/runtime/zookeeper/lib) on an ephemeral port with its own temporary data dir.
 */
export interface ZooKeeperServer {
  /** `127.0.0.1:PORT`, without a chroot. */
  readonly connectString: string;
  readonly port: number;
  /** The temporary directory holding zoo.cfg, data/ and zookeeper.log (removed by stop()/kill()). */
  readonly dataDir: string;
  readonly process: ManagedProcess;
  /** SIGTERM (then SIGKILL) the server's process group and remove its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the server's process group and remove its directory. Idempotent. */
  kill(): Promise<void>;
}

export interface StartZooKeeperOptions {
  /**
   * ZooKeeper's tick. Session timeouts are clamped to [minSessionTimeoutMs, maxSessionTimeoutMs], which default to
   * 2 and 20 ticks; the defaults here allow short sessions (1 s) for expiry tests.
   */
  readonly tickTimeMs?: number;
  readonly minSessionTimeoutMs?: number;
  readonly maxSessionTimeoutMs?: number;
  /** How long to wait for `srvr` to report a Mode. */
  readonly startTimeoutMs?: number;
  /** Bind attempts (a port picked free can be taken before ZooKeeper binds it). */
  readonly attempts?: number;
}

export async function startZooKeeper(opts: StartZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const attempts = opts.attempts ?? 5;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof BindError)) throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

class BindError extends Error {}

async function startOnce(opts: StartZooKeeperOptions): Promise<ZooKeeperServer> {
  const manifest = readRuntimeManifest();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmf-zk-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const tick = opts.tickTimeMs ?? 500;
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(
    cfg,
    [
      `tickTime=${tick}`,
      `minSessionTimeout=${opts.minSessionTimeoutMs ?? 2 * tick}`,
      `maxSessionTimeout=${opts.maxSessionTimeoutMs ?? 60_000}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      // The AdminServer needs Jetty, which is not on the classpath (and would take another port).
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr,ruok,stat,mntr,cons',
      'maxClientCnxns=0',
      // No snapshots/purges worth speaking of in a test's lifetime.
      'autopurge.purgeInterval=0',
      '',
    ].join('\n'),
  );
  const proc = spawnManaged({
    name: `zookeeper:${port}`,
    command: manifest.javaBin,
    args: [
      '-Xms64m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-cp',
      path.join(manifest.zookeeper.lib, '*'),
      manifest.zookeeper.mainClass,
      cfg,
    ],
    logFile: path.join(dir, 'zookeeper.log'),
  });

  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const unregister = registerExitCleanup(removeDir);
  const cleanup = (): void => {
    unregister();
    removeDir();
  };
  const server: ZooKeeperServer = {
    connectString: `127.0.0.1:${port}`,
    port,
    dataDir: dir,
    process: proc,
    stop: async () => {
      await proc.stop(5_000);
      cleanup();
    },
    kill: async () => {
      await proc.kill();
      cleanup();
    },
  };

  try {
    await waitServing(port, proc, opts.startTimeoutMs ?? 30_000);
  } catch (err) {
    const bind = /Address already in use|BindException/.test(proc.tail(200));
    await server.kill();
    if (bind) throw new BindError(`ZooKeeper could not bind port ${port}`);
    throw err;
  }
  return server;
}

/**
 * Polls the `srvr` four-letter word until it reports `Mode:`. `ruok` is not enough: it answers `imok` before the
 * server is serving requests.
 */
async function waitServing(port: number, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!proc.running()) throw new Error(`ZooKeeper exited before serving:\n${proc.tail()}`);
    last = await fourLetterWord(port, 'srvr').catch((err: unknown) => String(err));
    if (/^Mode: /m.test(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ZooKeeper on port ${port} not serving after ${timeoutMs} ms (last srvr: ${last.trim()})\n${proc.tail()}`);
}

/** Sends a four-letter word (srvr, ruok, mntr, cons, stat) and returns the whole answer. */
export function fourLetterWord(port: number, word: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host, port }, () => socket.end(word));
    socket.setTimeout(2_000, () => socket.destroy(new Error(`${word}: timed out`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
