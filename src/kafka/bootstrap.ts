/**
 * The bootstrap server list clients should use: the advertised endpoint (agent host, offered port) of every
 * broker that has a placement, in node-id order. Pure; the scheduler passes what it knows about its tasks.
 */
export interface BrokerPlacement {
  nodeId: number;
  host: string;
  port: number;
  /** Whether the broker's task is running (or believed to be); others are listed only if nothing runs. */
  running: boolean;
}

/**
 * Running brokers first-class; if none runs (a cold start, a full outage), the last known placements, so a
 * client configured now works once they are back.
 */
export function bootstrapServers(placements: readonly BrokerPlacement[]): string[] {
  const sorted = [...placements].sort((a, b) => a.nodeId - b.nodeId);
  const running = sorted.filter((p) => p.running);
  const chosen = running.length > 0 ? running : sorted;
  return [...new Set(chosen.map((p) => `${formatHost(p.host)}:${p.port}`))];
}

/** `host:port,host:port` for bootstrap.servers. */
export function bootstrapString(placements: readonly BrokerPlacement[]): string {
  return bootstrapServers(placements).join(',');
}

/** IPv6 literals need brackets in host:port form. */
function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
