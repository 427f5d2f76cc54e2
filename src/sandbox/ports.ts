/**
 * Ports for the sandbox: ZooKeeper, the sim master and the admin API get free ports (the ones of the previous
 * run when they are still free, so URLs stay the same across restarts); the agents get a range of 100 ports
 * that every agent address can bind, chosen once per directory, below Linux' ephemeral range (32768+) so no
 * outgoing connection takes one of them.
 */
import net from 'node:net';
import { KmfError } from '../util/errors.js';

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = addr !== null && typeof addr !== 'string' ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new KmfError('sandbox_no_port', 'listen(0) gave no port'))));
    });
  });
}

/** `preferred` if it is free, else a fresh free port. */
export async function reusePort(preferred: number | undefined, host = '127.0.0.1'): Promise<number> {
  if (preferred !== undefined && preferred > 0 && (await portFree(preferred, host))) return preferred;
  return freePort(host);
}

export const AGENT_PORT_COUNT = 100;

/**
 * A range of AGENT_PORT_COUNT ports free on every host in `hosts`, starting at a random multiple of 100 in
 * [20000, 32000): two sandboxes (or a sandbox and a test) on one machine rarely pick the same one.
 */
export function pickAgentPorts(hosts: readonly string[], random: () => number = Math.random): Promise<{ begin: number; end: number }> {
  return pickPortRange(AGENT_PORT_COUNT, hosts, random);
}

/** A range of `count` consecutive ports free on every host, starting at a random multiple of `count` in [20000, 32000). */
export async function pickPortRange(count: number, hosts: readonly string[] = ['127.0.0.1'], random: () => number = Math.random): Promise<{ begin: number; end: number }> {
  const slots = Math.floor((32_000 - 20_000) / count);
  const first = Math.floor(random() * slots);
  for (let i = 0; i < slots; i++) {
    const begin = 20_000 + ((first + i) % slots) * count;
    const end = begin + count - 1;
    if (await rangeFree(begin, end, hosts)) return { begin, end };
  }
  throw new KmfError('no_free_ports', `no range of ${count} free ports between 20000 and 32000`);
}

async function rangeFree(begin: number, end: number, hosts: readonly string[]): Promise<boolean> {
  for (const host of hosts) {
    for (let p = begin; p <= end; p++) if (!(await portFree(p, host))) return false;
  }
  return true;
}
