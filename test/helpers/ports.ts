import net from 'node:net';

/**
 * A port that was free a moment ago: listen on 0, read the port, close. Another process can take it before the
 * caller binds it, so every user of this function retries with a fresh port when its server fails to bind.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') {
        server.close();
        reject(new Error('listen(0) gave no TCP address'));
        return;
      }
      const port = addr.port;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** `count` distinct free ports (kept listening until all are picked, so they differ from each other). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('listen(0) gave no TCP address');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * A range of `count` consecutive ports free on every address in `hosts`, for a sim agent's `ports:[a-b]`
 * resource: random in [20000, 32000), below Linux' ephemeral range (32768+) so no outgoing connection takes
 * one of them while a task is about to bind it, and different from run to run so concurrent test runs (or a
 * sandbox on the same machine) rarely collide.
 */
export { pickPortRange as freePortRange } from '../../src/sandbox/ports.js';
