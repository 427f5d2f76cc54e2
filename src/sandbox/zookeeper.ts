/**
 * The sandbox's ZooKeeper: a standalone server from the runtime's jars (ZooKeeperServerMain, as the integration
 * tests start it), its data in the sandbox directory so the scheduler's state survives a restart.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sleep } from '../util/backoff.js';
import { KmfError } from '../util/errors.js';
import type { RuntimeManifest } from '../util/runtime-manifest.js';
import type { SandboxLayout } from './layout.js';
import { spawnGroup, type SandboxChild } from './process-group.js';

export function zooKeeperConfig(layout: SandboxLayout, port: number): string {
  return [
    'tickTime=1000',
    'minSessionTimeout=2000',
    'maxSessionTimeout=60000',
    `dataDir=${path.join(layout.zkDir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    // The AdminServer needs Jetty, which is not among the runtime's jars (and would take another port).
    'admin.enableServer=false',
    '4lw.commands.whitelist=srvr,ruok,stat,mntr',
    'maxClientCnxns=0',
    // Keep the last snapshots only: a sandbox lives for days at most.
    'autopurge.snapRetainCount=3',
    'autopurge.purgeInterval=1',
    '',
  ].join('\n');
}

export function startZooKeeper(layout: SandboxLayout, manifest: RuntimeManifest, port: number): SandboxChild {
  fs.mkdirSync(path.join(layout.zkDir, 'data'), { recursive: true });
  const cfg = path.join(layout.zkDir, 'zoo.cfg');
  fs.writeFileSync(cfg, zooKeeperConfig(layout, port));
  return spawnGroup({
    name: 'kmf-sandbox-zookeeper',
    command: manifest.javaBin,
    args: [
      '-Xms32m',
      '-Xmx128m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-cp',
      path.join(manifest.zookeeper.lib, '*'),
      manifest.zookeeper.mainClass,
      cfg,
    ],
    logFile: path.join(layout.logsDir, 'zookeeper.log'),
  });
}

/** Sends a four-letter word and returns the whole answer. */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(word));
    socket.setTimeout(2_000, () => socket.destroy(new Error(`${word}: timed out`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** Waits until `srvr` reports a Mode (`ruok` answers before the server serves requests). */
export async function waitZooKeeperServing(zk: SandboxChild, port: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!zk.running()) {
      const bind = /Address already in use|BindException/.test(zk.tail(100));
      throw new KmfError('sandbox_zookeeper_failed', bind ? `ZooKeeper could not bind 127.0.0.1:${port} (in use)` : `ZooKeeper exited while starting:\n${zk.tail(15)}`, {
        retriable: bind,
      });
    }
    const answer = await fourLetterWord(port, 'srvr').catch(() => '');
    if (/^Mode: /m.test(answer)) return;
    await sleep(150, signal);
  }
  throw new KmfError('sandbox_timeout', `ZooKeeper on 127.0.0.1:${port} not serving after ${Math.round(timeoutMs / 1000)} s`);
}
