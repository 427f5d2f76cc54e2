/**
 * Pure Mesos resource arithmetic for offer matching.
 *
 * - Scalars are fixed point with 3 decimals, as Mesos does (reference item 132): amounts are held as
 *   integer "milli" units so 0.1 + 0.2 never becomes 0.30000000000000004 cpus.
 * - Ranges (ports) are lists of inclusive [begin, end] pairs.
 * - Reservations come in two wire formats (item 107): pre-refinement (`role` + optional `reservation`)
 *   for frameworks without RESERVATION_REFINEMENT, and `reservations[]` (a stack, last = current owner)
 *   for those with it. kmf answers an offer in the format it came in.
 * - Persistent volumes are reserved disk carrying `disk.persistence.id` (item 139); they and MOUNT disks
 *   cannot be split.
 */
import type { Label, Labels, Resource } from '../mesos/types.js';

export type ResourceFormat = 'pre-refinement' | 'refinement';

export type Ownership =
  | { kind: 'unreserved' }
  | { kind: 'static'; role: string }
  | { kind: 'dynamic'; role: string; principal?: string; labels: Record<string, string> };

export type Range = [begin: number, end: number];

export function toMilli(value: number): number {
  return Math.round(value * 1000);
}

export function fromMilli(milli: number): number {
  return milli / 1000;
}

export function formatMilli(milli: number): string {
  return String(fromMilli(milli));
}

export function labelsToRecord(labels: Labels | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels?.labels ?? []) out[l.key] = l.value ?? '';
  return out;
}

export function recordToLabels(record: Record<string, string>): Labels {
  const labels: Label[] = Object.keys(record)
    .sort()
    .map((key) => ({ key, value: record[key] ?? '' }));
  return { labels };
}

/**
 * The wire format of an offer. The pre-refinement master always writes `role` ("*" when unreserved),
 * while the refinement format never has `role`; without either marker we assume refinement.
 */
export function detectFormat(resources: readonly Resource[]): ResourceFormat {
  for (const r of resources) {
    if (r.reservations !== undefined && r.reservations.length > 0) return 'refinement';
    if (r.role !== undefined) return 'pre-refinement';
  }
  return 'refinement';
}

export function ownershipOf(r: Resource): Ownership {
  const stack = r.reservations;
  if (stack && stack.length > 0) {
    const top = stack[stack.length - 1];
    const role = top?.role ?? '*';
    if (top?.type === 'STATIC') return { kind: 'static', role };
    const o: Ownership = { kind: 'dynamic', role, labels: labelsToRecord(top?.labels) };
    if (top?.principal !== undefined) o.principal = top.principal;
    return o;
  }
  if (r.role !== undefined && r.role !== '*') {
    if (r.reservation) {
      const o: Ownership = { kind: 'dynamic', role: r.role, labels: labelsToRecord(r.reservation.labels) };
      if (r.reservation.principal !== undefined) o.principal = r.reservation.principal;
      return o;
    }
    return { kind: 'static', role: r.role };
  }
  return { kind: 'unreserved' };
}

export function volumeIdOf(r: Resource): string | undefined {
  return r.disk?.persistence?.id;
}

/** ROOT and PATH disks can be split; MOUNT/BLOCK/RAW disks and volumes are used whole. */
export function isDivisible(r: Resource): boolean {
  if (r.disk?.persistence) return false;
  const t = r.disk?.source?.type;
  return t === undefined || t === 'PATH' || t === 'UNKNOWN';
}

export function scalarMilli(r: Resource): number {
  return r.type === 'SCALAR' ? toMilli(r.scalar?.value ?? 0) : 0;
}

export function rangesOf(r: Resource): Range[] {
  if (r.type !== 'RANGES') return [];
  return normalizeRanges((r.ranges?.range ?? []).map((x): Range => [x.begin, x.end]));
}

export function normalizeRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter(([b, e]) => e >= b).sort((x, y) => x[0] - y[0]);
  const out: Range[] = [];
  for (const [b, e] of sorted) {
    const last = out[out.length - 1];
    if (last && b <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([b, e]);
  }
  return out;
}

export function rangesContain(ranges: readonly Range[], value: number): boolean {
  return ranges.some(([b, e]) => value >= b && value <= e);
}

export function rangesSize(ranges: readonly Range[]): number {
  return ranges.reduce((n, [b, e]) => n + (e - b + 1), 0);
}

export function subtractValue(ranges: readonly Range[], value: number): Range[] {
  const out: Range[] = [];
  for (const [b, e] of ranges) {
    if (value < b || value > e) out.push([b, e]);
    else {
      if (b <= value - 1) out.push([b, value - 1]);
      if (value + 1 <= e) out.push([value + 1, e]);
    }
  }
  return out;
}

/** Lowest value of `ranges` not in `exclude`, if any. */
export function lowestFree(ranges: readonly Range[], exclude: ReadonlySet<number>): number | undefined {
  for (const [b, e] of ranges) {
    for (let v = b; v <= e; v++) if (!exclude.has(v)) return v;
  }
  return undefined;
}

export function portsToRanges(ports: readonly number[]): Range[] {
  return normalizeRanges(ports.map((p): Range => [p, p]));
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The same resource (identity: role, reservation, disk, allocation) with another scalar amount. */
export function withScalar(r: Resource, milli: number): Resource {
  const out = clone(r);
  out.scalar = { value: fromMilli(milli) };
  delete out.ranges;
  delete out.set;
  return out;
}

export function withRanges(r: Resource, ranges: readonly Range[]): Resource {
  const out = clone(r);
  out.ranges = { range: normalizeRanges(ranges).map(([begin, end]) => ({ begin, end })) };
  delete out.scalar;
  delete out.set;
  return out;
}

/** Convert an unreserved resource into a dynamic reservation (the RESERVE target, item 127). */
export function asReserved(
  r: Resource,
  format: ResourceFormat,
  role: string,
  principal: string | undefined,
  labels: Record<string, string>,
): Resource {
  const out = clone(r);
  if (format === 'pre-refinement') {
    out.role = role;
    out.reservation = principal === undefined ? { labels: recordToLabels(labels) } : { principal, labels: recordToLabels(labels) };
    delete out.reservations;
  } else {
    delete out.role;
    delete out.reservation;
    const info: NonNullable<Resource['reservations']>[number] = { type: 'DYNAMIC', role, labels: recordToLabels(labels) };
    if (principal !== undefined) info.principal = principal;
    out.reservations = [...(r.reservations ?? []), info];
  }
  return out;
}

/** Reserved disk turned into a persistent volume (the CREATE target, item 128). */
export function asVolume(r: Resource, persistenceId: string, principal: string | undefined, containerPath: string): Resource {
  const out = clone(r);
  const persistence: { id: string; principal?: string } = { id: persistenceId };
  if (principal !== undefined) persistence.principal = principal;
  out.disk = { ...(out.disk ?? {}), persistence, volume: { container_path: containerPath, mode: 'RW' } };
  return out;
}

/** A volume after DESTROY: plain reserved disk again (what UNRESERVE must then name). */
export function withoutVolume(r: Resource): Resource {
  const out = clone(r);
  if (out.disk) {
    delete out.disk.persistence;
    delete out.disk.volume;
    if (Object.keys(out.disk).length === 0) delete out.disk;
  }
  return out;
}

/**
 * A piece of an offer the matcher can take from. `milli`/`ranges` shrink as units are matched
 * within one decision; the offered `resource` keeps the identity used to build operation resources.
 */
export interface Chunk {
  readonly resource: Resource;
  readonly name: string;
  readonly owner: Ownership;
  readonly divisible: boolean;
  readonly volumeId: string | undefined;
  milli: number;
  ranges: Range[];
}

export function toChunks(resources: readonly Resource[]): Chunk[] {
  return resources
    .filter((r) => r.revocable === undefined && r.shared === undefined && r.provider_id === undefined)
    .map((r) => ({
      resource: r,
      name: r.name,
      owner: ownershipOf(r),
      divisible: isDivisible(r),
      volumeId: volumeIdOf(r),
      milli: scalarMilli(r),
      ranges: rangesOf(r),
    }));
}

/** Sum of a scalar by name (milli), whatever the ownership. */
export function totalMilli(resources: readonly Resource[], name: string): number {
  return resources.filter((r) => r.name === name).reduce((n, r) => n + scalarMilli(r), 0);
}

/** Every port of a resource list. */
export function allPorts(resources: readonly Resource[]): number[] {
  const out: number[] = [];
  for (const r of resources) {
    if (r.name !== 'ports') continue;
    for (const [b, e] of rangesOf(r)) for (let p = b; p <= e; p++) out.push(p);
  }
  return out;
}
