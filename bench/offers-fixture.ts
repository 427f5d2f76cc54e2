/**
 * Realistic OFFERS events for benchmarks: each offer looks like the one a 1.11 master sends to a
 * MULTI_ROLE framework (mesos-http-api.md §S.3), enlarged to about 2 KB with the resources and
 * attributes of a typical production agent (reserved and unreserved cpus/mem/disk, port ranges,
 * a persistent volume, rack/zone attributes).
 */
import type { Event, Offer, Resource } from '../src/mesos/types.js';

const MASTER_ID = '6f1b3c1e-0f4a-4a55-9a2e-2d3c0c9b7a10';

function scalar(name: string, value: number, role: string, reserved: boolean): Resource {
  const r: Resource = { name, type: 'SCALAR', scalar: { value }, role: reserved ? role : '*', allocation_info: { role } };
  if (reserved) r.reservation = { principal: 'kmf', labels: { labels: [{ key: 'owner', value: 'kmf' }] } };
  return r;
}

export function buildOffer(i: number): Offer {
  const role = 'kafka';
  const agent = `${MASTER_ID}-S${i % 500}`;
  const host = `agent-${i % 500}.dc1.example.com`;
  return {
    id: { value: `${MASTER_ID}-O${i}` },
    framework_id: { value: `${MASTER_ID}-0000` },
    agent_id: { value: agent },
    hostname: host,
    url: { scheme: 'http', address: { hostname: host, ip: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 5051 }, path: '/slave(1)' },
    resources: [
      scalar('cpus', 15.5, role, false),
      scalar('cpus', 8, role, true),
      scalar('mem', 63_024, role, false),
      scalar('mem', 32_768, role, true),
      scalar('disk', 940_000, role, false),
      scalar('disk', 100_000, role, true),
      {
        name: 'disk',
        type: 'SCALAR',
        scalar: { value: 50_000 },
        role,
        allocation_info: { role },
        reservation: { principal: 'kmf' },
        disk: { persistence: { id: `broker-${i}-data`, principal: 'kmf' }, volume: { mode: 'RW', container_path: 'kafka-data' } },
      },
      {
        name: 'ports',
        type: 'RANGES',
        ranges: { range: [{ begin: 31000, end: 31099 }, { begin: 31200, end: 31999 }, { begin: 32100, end: 32767 }] },
        role: '*',
        allocation_info: { role },
      },
    ],
    attributes: [
      { name: 'rack', type: 'TEXT', text: { value: `r${i % 16}` } },
      { name: 'zone', type: 'TEXT', text: { value: `us-east-1${'abc'[i % 3] ?? 'a'}` } },
      { name: 'instance_type', type: 'TEXT', text: { value: 'm5.4xlarge' } },
      { name: 'generation', type: 'SCALAR', scalar: { value: 5 } },
      { name: 'kafka_capable', type: 'SET', set: { item: ['broker', 'controller', 'streams'] } },
    ],
    executor_ids: [{ value: `broker-${i}-executor` }],
    // Maintenance windows are rare; one offer in ten carries one (exercising the int64 path).
    ...(i % 10 === 0 ? { unavailability: { start: { nanoseconds: '1700000123456789012' }, duration: { nanoseconds: '3600000000000' } } } : {}),
    allocation_info: { role },
  };
}

export function buildOffersEvent(count: number): Event {
  const offers: Offer[] = [];
  for (let i = 0; i < count; i++) offers.push(buildOffer(i));
  return { type: 'OFFERS', offers: { offers } };
}
