/**
 * MasterInfo as a 1.11 master fills it (reference items 35, 200, §S.2 and §S.7):
 *  - `ip` is the IPv4 address packed in network byte order and read as a little-endian uint32
 *    (10.0.0.11 → 184549386), a historical quirk kept for compatibility;
 *  - capabilities AGENT_UPDATE, AGENT_DRAINING, QUOTA_V2 — the last one is unknown to the v1 proto of
 *    1.11, so on the scheduler API it appears as an empty object `{}`;
 *  - in ZooKeeper the master writes `JSON::protobuf(MasterInfo)` of the v0 message: keys in alphabetical
 *    order and v0 enum names (QUOTA_V2 spelled out).
 */
import { randomUUID } from 'node:crypto';
import type { MasterInfo } from '../../mesos/types.js';

export const MESOS_VERSION = '1.11.0';

export function packIPv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return 0;
  const [a, b, c, d] = parts as [number, number, number, number];
  return (((d << 24) >>> 0) + (c << 16) + (b << 8) + a) >>> 0;
}

export function createMasterInfo(opts: { id?: string; hostname: string; ip: string; port: number }): MasterInfo {
  return {
    id: opts.id ?? randomUUID(),
    ip: packIPv4(opts.ip),
    port: opts.port,
    pid: `master@${opts.ip}:${opts.port}`,
    hostname: opts.hostname,
    version: MESOS_VERSION,
    address: { hostname: opts.hostname, ip: opts.ip, port: opts.port },
    // The third capability is QUOTA_V2: absent from the 1.11 v1 enum, so it serializes as an empty object.
    capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, {}],
  };
}

/** The znode payload: v0 MasterInfo as JSON with keys sorted alphabetically at every level. */
export function masterInfoZooKeeperJson(info: MasterInfo): string {
  const v0 = {
    address: { hostname: info.address?.hostname, ip: info.address?.ip, port: info.address?.port },
    capabilities: [{ type: 'AGENT_UPDATE' }, { type: 'AGENT_DRAINING' }, { type: 'QUOTA_V2' }],
    hostname: info.hostname,
    id: info.id,
    ip: info.ip,
    pid: info.pid,
    port: info.port,
    version: info.version,
  };
  return JSON.stringify(sortKeys(v0));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
