/**
 * Arithmetic on lists of Mesos `Resource` messages, with the semantics of the master's `Resources` class:
 *
 *  - Two resources are the same "kind" (and merge when added) when everything but the value is equal:
 *    name, type, provider, allocation role, reservation stack, disk info, shared, revocable.
 *    Persistent volumes never merge: each volume is its own element and subtracts only when identical.
 *  - Scalars are fixed-point with 3 decimal digits (values are rounded to 0.001 on every operation).
 *  - Ranges are kept sorted and coalesced; subtraction cuts holes; sets are item sets.
 *  - Subtraction never goes negative; `contains(a, b)` means b can be subtracted from a without clamping.
 *
 * Everything here is pure and works on post-refinement resources (`reservations[]`, no `role`); use
 * `upgradeResource` on what schedulers send and `downgradeResource` for frameworks without
 * RESERVATION_REFINEMENT.
 */
import type { Range, Resource, ReservationInfo } from '../../mesos/types.js';
import { coalesceRanges } from '../resources-syntax.js';
import { isStrictSubroleOf, validateRole } from './roles.js';

export function toMilli(value: number): number {
  return Math.round(value * 1000);
}

export function fromMilli(milli: number): number {
  return milli / 1000;
}

/**
 * Copy a resource so that its value can change. Nested metadata (reservations, disk, allocation info)
 * is shared: nothing in the sim mutates it in place, it is always replaced.
 */
export function cloneResource(r: Resource): Resource {
  const copy: Resource = { ...r };
  if (r.scalar !== undefined) copy.scalar = { value: r.scalar.value };
  if (r.ranges !== undefined) copy.ranges = { range: (r.ranges.range ?? []).map((x) => ({ begin: x.begin, end: x.end })) };
  if (r.set !== undefined) copy.set = { item: [...(r.set.item ?? [])] };
  return copy;
}

/** The role a resource is reserved to ("*" when unreserved): the top of the reservation stack. */
export function reservationRole(r: Resource): string {
  const stack = r.reservations;
  if (stack !== undefined && stack.length > 0) return stack[stack.length - 1]?.role ?? '*';
  return '*';
}

export function isReserved(r: Resource): boolean {
  return (r.reservations?.length ?? 0) > 0;
}

export function isDynamicallyReserved(r: Resource): boolean {
  const stack = r.reservations ?? [];
  return stack.length > 0 && stack[stack.length - 1]?.type === 'DYNAMIC';
}

export function hasRefinedReservations(r: Resource): boolean {
  return (r.reservations?.length ?? 0) > 1;
}

export function isPersistentVolume(r: Resource): boolean {
  return r.disk?.persistence !== undefined;
}

/** Mesos' isAllocatableTo: unreserved, or reserved to the role or one of its ancestors. */
export function isAllocatableTo(r: Resource, role: string): boolean {
  if (!isReserved(r)) return true;
  const reserved = reservationRole(r);
  return reserved === role || isStrictSubroleOf(role, reserved);
}

function reservationKey(r: ReservationInfo): string {
  return JSON.stringify([r.type ?? 'UNKNOWN', r.role ?? '', r.principal ?? null, r.labels?.labels ?? []]);
}

const kindKeys = new WeakMap<Resource, string>();

/**
 * Everything but the value: two resources with equal keys merge on addition. Cached per object, since
 * the fields it covers never change once a resource exists (only values do).
 */
export function kindKey(r: Resource): string {
  // The common case (no reservation, disk, provider, sharing or revocability) needs no cache.
  if (r.reservations === undefined && r.disk === undefined && r.provider_id === undefined && r.shared === undefined && r.revocable === undefined) {
    return r.allocation_info === undefined ? `${r.name}\u0000${r.type}\u0000\u0001` : `${r.name}\u0000${r.type}\u0000${r.allocation_info.role ?? '\u0001'}`;
  }
  const cached = kindKeys.get(r);
  if (cached !== undefined) return cached;
  let key = `${r.name}\u0000${r.type}\u0000${r.allocation_info?.role ?? '\u0001'}`;
  if (r.provider_id !== undefined) key += `\u0000p:${r.provider_id.value}`;
  if (r.reservations !== undefined && r.reservations.length > 0) key += `\u0000r:${r.reservations.map(reservationKey).join('|')}`;
  if (r.disk !== undefined) key += `\u0000d:${JSON.stringify(r.disk)}`;
  if (r.shared !== undefined) key += '\u0000shared';
  if (r.revocable !== undefined) key += '\u0000revocable';
  kindKeys.set(r, key);
  return key;
}

function isEmpty(r: Resource): boolean {
  switch (r.type) {
    case 'SCALAR':
      return toMilli(r.scalar?.value ?? 0) <= 0;
    case 'RANGES':
      return (r.ranges?.range ?? []).length === 0;
    case 'SET':
      return (r.set?.item ?? []).length === 0;
    case 'TEXT':
      return true;
  }
}

function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let out = coalesceRanges(a);
  for (const cut of b) {
    const next: Range[] = [];
    for (const r of out) {
      if (cut.end < r.begin || cut.begin > r.end) {
        next.push(r);
        continue;
      }
      if (cut.begin > r.begin) next.push({ begin: r.begin, end: cut.begin - 1 });
      if (cut.end < r.end) next.push({ begin: cut.end + 1, end: r.end });
    }
    out = next;
  }
  return out;
}

function rangesContain(a: readonly Range[], b: readonly Range[]): boolean {
  const have = coalesceRanges(a);
  return b.every((want) => have.some((r) => r.begin <= want.begin && want.end <= r.end));
}

/** Value-level addition of two resources of the same kind (mutates `into`). */
function addValue(into: Resource, r: Resource): void {
  switch (into.type) {
    case 'SCALAR':
      into.scalar = { value: fromMilli(toMilli(into.scalar?.value ?? 0) + toMilli(r.scalar?.value ?? 0)) };
      break;
    case 'RANGES':
      into.ranges = { range: coalesceRanges([...(into.ranges?.range ?? []), ...(r.ranges?.range ?? [])]) };
      break;
    case 'SET':
      into.set = { item: [...new Set([...(into.set?.item ?? []), ...(r.set?.item ?? [])])] };
      break;
    case 'TEXT':
      break;
  }
}

function subtractValue(from: Resource, r: Resource): void {
  switch (from.type) {
    case 'SCALAR':
      from.scalar = { value: fromMilli(Math.max(0, toMilli(from.scalar?.value ?? 0) - toMilli(r.scalar?.value ?? 0))) };
      break;
    case 'RANGES':
      from.ranges = { range: subtractRanges(from.ranges?.range ?? [], r.ranges?.range ?? []) };
      break;
    case 'SET': {
      const remove = new Set(r.set?.item ?? []);
      from.set = { item: (from.set?.item ?? []).filter((i) => !remove.has(i)) };
      break;
    }
    case 'TEXT':
      break;
  }
}

function valueContains(have: Resource, want: Resource): boolean {
  switch (have.type) {
    case 'SCALAR':
      return toMilli(have.scalar?.value ?? 0) >= toMilli(want.scalar?.value ?? 0);
    case 'RANGES':
      return rangesContain(have.ranges?.range ?? [], want.ranges?.range ?? []);
    case 'SET': {
      const items = new Set(have.set?.item ?? []);
      return (want.set?.item ?? []).every((i) => items.has(i));
    }
    case 'TEXT':
      return false;
  }
}

function sameResource(a: Resource, b: Resource): boolean {
  return kindKey(a) === kindKey(b) && valueContains(a, b) && valueContains(b, a);
}

/** A copy for arithmetic: same kind, so the cached kind key carries over. */
function copyForArithmetic(r: Resource): Resource {
  const copy = cloneResource(r);
  if (r.reservations !== undefined || r.disk !== undefined) {
    const key = kindKeys.get(r);
    if (key !== undefined) kindKeys.set(copy, key);
  }
  return copy;
}

/** Add one resource to a normalized list (mutating it). */
function addOne(list: Resource[], r: Resource): void {
  if (isEmpty(r)) return;
  if (!isPersistentVolume(r)) {
    const key = kindKey(r);
    const same = list.find((x) => !isPersistentVolume(x) && kindKey(x) === key);
    if (same !== undefined) {
      addValue(same, r);
      return;
    }
  }
  const copy = copyForArithmetic(r);
  if (copy.type === 'SCALAR' && copy.scalar !== undefined) copy.scalar = { value: fromMilli(toMilli(copy.scalar.value)) };
  if (copy.type === 'RANGES') copy.ranges = { range: coalesceRanges(copy.ranges?.range ?? []) };
  list.push(copy);
}

/** Subtract one resource from a normalized list (mutating it); clamps at zero. */
function subtractOne(list: Resource[], r: Resource): void {
  if (isPersistentVolume(r)) {
    const index = list.findIndex((x) => sameResource(x, r));
    if (index !== -1) list.splice(index, 1);
    return;
  }
  const key = kindKey(r);
  const index = list.findIndex((x) => !isPersistentVolume(x) && kindKey(x) === key);
  if (index === -1) return;
  const target = list[index];
  if (target === undefined) return;
  subtractValue(target, r);
  if (isEmpty(target)) list.splice(index, 1);
}

/** Merge same-kind resources, drop empty ones. */
export function normalize(rs: readonly Resource[]): Resource[] {
  const out: Resource[] = [];
  for (const r of rs) addOne(out, r);
  return out;
}

/** Add `b` into the normalized list `into`, in place (for accounting lists the caller owns). */
export function addInto(into: Resource[], b: readonly Resource[]): void {
  for (const r of b) addOne(into, r);
}

/** Subtract `b` from the normalized list `from`, in place. */
export function subtractFrom(from: Resource[], b: readonly Resource[]): void {
  for (const r of b) subtractOne(from, r);
}

export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out = normalize(a);
  for (const r of b) addOne(out, r);
  return out;
}

export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  const out = normalize(a);
  for (const r of normalize(b)) subtractOne(out, r);
  return out;
}

/** b ⊆ a: every resource of b can be taken out of a without clamping. */
export function containsResources(a: readonly Resource[], b: readonly Resource[]): boolean {
  const remaining = normalize(a);
  for (const want of normalize(b)) {
    if (isPersistentVolume(want)) {
      const index = remaining.findIndex((x) => sameResource(x, want));
      if (index === -1) return false;
      remaining.splice(index, 1);
      continue;
    }
    const key = kindKey(want);
    const have = remaining.find((x) => !isPersistentVolume(x) && kindKey(x) === key);
    if (have === undefined || !valueContains(have, want)) return false;
    subtractOne(remaining, want);
  }
  return true;
}

export function resourcesEqual(a: readonly Resource[], b: readonly Resource[]): boolean {
  return containsResources(a, b) && containsResources(b, a);
}

/** Remove allocation info (the agent's totals and accounting are unallocated). */
export function unallocate(rs: readonly Resource[]): Resource[] {
  return rs.map((r) => {
    const copy = cloneResource(r);
    delete copy.allocation_info;
    return copy;
  });
}

/** Tag resources as allocated to a role. */
export function allocate(rs: readonly Resource[], role: string): Resource[] {
  return rs.map((r) => ({ ...cloneResource(r), allocation_info: { role } }));
}

/** Set allocation info on resources that lack it (what the master does to operation resources). */
export function injectAllocationInfo(rs: readonly Resource[] | undefined, role: string): Resource[] {
  return (rs ?? []).map((r) => (r.allocation_info === undefined ? { ...r, allocation_info: { role } } : r));
}

export function scalar(rs: readonly Resource[], name: string): number {
  let milli = 0;
  for (const r of rs) if (r.name === name && r.type === 'SCALAR') milli += toMilli(r.scalar?.value ?? 0);
  return fromMilli(milli);
}

export function hasScalar(rs: readonly Resource[], name: string): boolean {
  return rs.some((r) => r.name === name && r.type === 'SCALAR');
}

/** Pre-refinement (`role`, `reservation`) → post-refinement (`reservations[]`). */
export function upgradeResource(r: Resource): Resource {
  const copy = cloneResource(r);
  if ((copy.reservations ?? []).length === 0) {
    const role = copy.role;
    if (role !== undefined && role !== '*') {
      const reservation: ReservationInfo = { type: copy.reservation !== undefined ? 'DYNAMIC' : 'STATIC', role };
      if (copy.reservation?.principal !== undefined) reservation.principal = copy.reservation.principal;
      if (copy.reservation?.labels !== undefined) reservation.labels = copy.reservation.labels;
      copy.reservations = [reservation];
    } else {
      delete copy.reservations;
    }
  }
  delete copy.role;
  delete copy.reservation;
  return copy;
}

/**
 * Post-refinement → pre-refinement, for frameworks without RESERVATION_REFINEMENT (item 107):
 * unreserved gets `role: "*"`, one reservation becomes `role` (+ `reservation{principal,labels}` when dynamic).
 * Returns undefined for refined reservations, which such frameworks are never offered.
 */
export function downgradeResource(r: Resource): Resource | undefined {
  const stack = r.reservations ?? [];
  if (stack.length > 1) return undefined;
  const copy = cloneResource(r);
  delete copy.reservations;
  const top = stack[0];
  if (top === undefined) {
    copy.role = '*';
  } else {
    copy.role = top.role ?? '*';
    if (top.type === 'DYNAMIC') {
      const reservation: ReservationInfo = {};
      if (top.principal !== undefined) reservation.principal = top.principal;
      if (top.labels !== undefined) reservation.labels = top.labels;
      copy.reservation = reservation;
    }
  }
  return copy;
}

/**
 * `Resources::validate` for one resource (pre- or post-refinement format), with the 1.11 messages.
 * Returns an error message or undefined.
 */
export function validateResource(r: Resource): string | undefined {
  if (r.name === '') return 'Empty resource name';
  switch (r.type) {
    case 'SCALAR': {
      if (r.scalar === undefined || r.ranges !== undefined || r.set !== undefined) return 'Invalid scalar resource';
      const v = r.scalar.value;
      if (Number.isNaN(v)) return 'Invalid scalar resource';
      if (v !== 0 && toMilli(v) <= 0) return 'Invalid scalar resource: value <= 0';
      break;
    }
    case 'RANGES': {
      if (r.scalar !== undefined || r.ranges === undefined || r.set !== undefined) return 'Invalid ranges resource';
      const ranges = r.ranges.range ?? [];
      for (const [i, range] of ranges.entries()) {
        if (range.begin > range.end) return 'Invalid ranges resource: begin > end';
        for (const other of ranges.slice(i + 1)) {
          if (range.begin <= other.begin && other.begin <= range.end) return 'Invalid ranges resource: overlapping ranges';
        }
      }
      break;
    }
    case 'SET': {
      if (r.scalar !== undefined || r.ranges !== undefined || r.set === undefined) return 'Invalid set resource';
      const items = r.set.item ?? [];
      if (new Set(items).size !== items.length) return 'Invalid set resource: duplicated elements';
      break;
    }
    case 'TEXT':
      return 'Unsupported resource type';
  }
  if (r.disk !== undefined && r.name !== 'disk') return `DiskInfo should not be set for ${r.name} resource`;

  const stack = r.reservations ?? [];
  if (stack.length === 0) {
    const error = validateRole(r.role ?? '*');
    if (error !== undefined) return error;
    if (r.reservation !== undefined) {
      if (r.reservation.type !== undefined) {
        return "'Resource.ReservationInfo.type' must not be set for the 'Resource.reservation' field";
      }
      if (r.reservation.role !== undefined) {
        return "'Resource.ReservationInfo.role' must not be set for the 'Resource.reservation' field";
      }
      if ((r.role ?? '*') === '*') return 'Invalid reservation: role "*" cannot be dynamically reserved';
    }
    return undefined;
  }
  for (const reservation of stack) {
    if (reservation.type === undefined) return "Invalid reservation: 'Resource.ReservationInfo.type' field must be set.";
    if (reservation.role === undefined) return "Invalid reservation: 'Resource.ReservationInfo.role' field must be set.";
    const error = validateRole(reservation.role);
    if (error !== undefined) return error;
    if (reservation.role === '*') return 'Invalid reservation: role "*" cannot be reserved';
  }
  let ancestor = stack[0]?.role ?? '';
  for (const reservation of stack.slice(1)) {
    if (reservation.type === 'STATIC') return 'Invalid refined reservation: A refined reservation cannot be STATIC';
    const descendant = reservation.role ?? '';
    if (!isStrictSubroleOf(descendant, ancestor)) {
      return `Invalid refined reservation: role '${descendant}' is not a refinement of '${ancestor}'`;
    }
    ancestor = descendant;
  }
  if (stack.length === 1) {
    const only = stack[0];
    if (r.role !== undefined && r.role !== only?.role) {
      return "Invalid resource format: 'Resource.role' field is inconsistent with 'Resource.reservations'";
    }
  } else if (r.role !== undefined || r.reservation !== undefined) {
    return "Invalid resource format: 'Resource.role' and 'Resource.reservation' must not be set with refined reservations";
  }
  return undefined;
}

export function validateResources(rs: readonly Resource[]): string | undefined {
  for (const r of rs) {
    const error = validateResource(r);
    if (error !== undefined) return error;
  }
  return undefined;
}

function formatScalar(value: number): string {
  // C++ ostream default formatting (6 significant digits) for the usual magnitudes.
  const rounded = fromMilli(toMilli(value));
  return Number.isInteger(rounded) ? String(rounded) : String(Number(rounded.toPrecision(6)));
}

/** Human-readable form used in master messages, e.g. `cpus(allocated: dev):0.5; ports(allocated: dev):[31000-31000]`. */
export function stringifyResource(r: Resource): string {
  let out = r.name;
  if (r.allocation_info?.role !== undefined) out += `(allocated: ${r.allocation_info.role})`;
  const stack = r.reservations ?? [];
  if (stack.length > 0) {
    const items = stack.map((res) => {
      const parts = [res.type ?? 'UNKNOWN', res.role ?? ''];
      if (res.principal !== undefined) parts.push(res.principal);
      return `(${parts.join(',')})`;
    });
    out += `(reservations: [${items.join(',')}])`;
  } else if (r.role !== undefined && r.role !== '*') {
    out += `(${r.role})`;
  }
  if (r.disk !== undefined) {
    let disk = '';
    if (r.disk.persistence !== undefined) disk += r.disk.persistence.id;
    if (r.disk.volume !== undefined) disk += `:${r.disk.volume.container_path}`;
    out += `[${disk}]`;
  }
  if (r.revocable !== undefined) out += '{REV}';
  if (r.shared !== undefined) out += '<SHARED>';
  out += ':';
  switch (r.type) {
    case 'SCALAR':
      out += formatScalar(r.scalar?.value ?? 0);
      break;
    case 'RANGES':
      out += `[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(', ')}]`;
      break;
    case 'SET':
      out += `{${(r.set?.item ?? []).join(', ')}}`;
      break;
    case 'TEXT':
      break;
  }
  return out;
}

export function stringifyResources(rs: readonly Resource[]): string {
  return rs.map(stringifyResource).join('; ');
}

/** Scalar totals by name, ranges as the number of values they hold (for /master/state summaries). */
export function quantities(rs: readonly Resource[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rs) {
    let amount = 0;
    if (r.type === 'SCALAR') amount = r.scalar?.value ?? 0;
    else if (r.type === 'RANGES') amount = (r.ranges?.range ?? []).reduce((n, x) => n + x.end - x.begin + 1, 0);
    else if (r.type === 'SET') amount = (r.set?.item ?? []).length;
    out.set(r.name, fromMilli(toMilli((out.get(r.name) ?? 0) + amount)));
  }
  return out;
}

/**
 * A resource conversion (what RESERVE/UNRESERVE/CREATE/DESTROY do): `consumed` must be contained in
 * `from`, and is replaced by `converted`. Returns an error message when not contained.
 */
export function applyConversion(
  from: readonly Resource[],
  consumed: readonly Resource[],
  converted: readonly Resource[],
): { ok: true; resources: Resource[] } | { ok: false; error: string } {
  if (!containsResources(from, consumed)) {
    return {
      ok: false,
      error: `${stringifyResources(normalize(from))} does not contain ${stringifyResources(normalize(consumed))}`,
    };
  }
  return { ok: true, resources: addResources(subtractResources(from, consumed), converted) };
}

/** The resource without its top reservation (UNRESERVE) or with one more (RESERVE's source). */
export function popReservation(r: Resource): Resource {
  const copy = cloneResource(r);
  const stack = [...(copy.reservations ?? [])];
  stack.pop();
  if (stack.length === 0) delete copy.reservations;
  else copy.reservations = stack;
  return copy;
}

/** A persistent volume with its persistence/volume stripped: the disk it was created from. */
export function stripPersistence(r: Resource): Resource {
  const copy = cloneResource(r);
  if (copy.disk !== undefined) {
    const disk = { ...copy.disk };
    delete disk.persistence;
    delete disk.volume;
    if (disk.source === undefined) delete copy.disk;
    else copy.disk = disk;
  }
  delete copy.shared;
  return copy;
}
