/**
 * Does a unit fit an offer, and with exactly which resources? The answer is either a placement (the
 * resources to RESERVE, the volume to CREATE, the task's resources, surplus to UNRESERVE, the chosen
 * ports) or the first reason it does not fit, used for plan WAITING reasons and decline reasons.
 *
 * Which resources a unit may use:
 *  - relaunch into its reservation (TRANSIENT): only the agent of the reservation; resources labelled
 *    with the unit's reservation id first (same ports, same volume), topped up from unreserved resources
 *    (reserved on the fly) if the spec grew, with the reserved surplus released if it shrank;
 *  - fresh placement of a reservable unit (volume or `reserve`): unreserved resources, reserved on the fly;
 *  - a unit without reservation: unreserved resources and resources reserved to its role by someone else
 *    (static, or dynamic without kmf labels).
 */
import type { Offer, Resource } from '../mesos/types.js';
import type { PreparedUnit } from '../model/desired.js';
import { attributesToRecord, checkConstraints, type AgentFacts, type Peer } from './constraints.js';
import {
  asReserved,
  asVolume,
  detectFormat,
  lowestFree,
  rangesContain,
  rangesSize,
  subtractValue,
  toChunks,
  toMilli,
  withRanges,
  withScalar,
  type Chunk,
  type Range,
  type ResourceFormat,
} from './resources.js';
import type { ReservationRecord } from './state.js';

export const LABEL_FRAMEWORK = 'kmf_fw';
export const LABEL_UNIT = 'kmf_unit';
export const LABEL_RESERVATION = 'kmf_rid';

/** Offers of one agent and one allocation role, usable together in one ACCEPT (item 114). */
export interface OfferBundle {
  offerIds: string[];
  agentId: string;
  hostname: string;
  allocationRole: string | undefined;
  format: ResourceFormat;
  facts: AgentFacts;
  chunks: Chunk[];
}

export function bundleOffers(offers: readonly Offer[]): OfferBundle[] {
  const byKey = new Map<string, { offers: Offer[] }>();
  for (const o of offers) {
    const key = `${o.agent_id.value}\u0000${o.allocation_info?.role ?? ''}`;
    const entry = byKey.get(key);
    if (entry) entry.offers.push(o);
    else byKey.set(key, { offers: [o] });
  }
  const out: OfferBundle[] = [];
  for (const { offers: group } of byKey.values()) {
    const first = group[0];
    if (!first) continue;
    const resources = group.flatMap((o) => o.resources ?? []);
    out.push({
      offerIds: group.map((o) => o.id.value),
      agentId: first.agent_id.value,
      hostname: first.hostname,
      allocationRole: first.allocation_info?.role,
      format: detectFormat(resources),
      facts: { agentId: first.agent_id.value, hostname: first.hostname, attributes: attributesToRecord(first.attributes) },
      chunks: toChunks(resources),
    });
  }
  return out;
}

export interface MatchRequest {
  unit: PreparedUnit;
  role: string;
  frameworkName: string;
  principal: string | undefined;
  /** The reservation to relaunch into; undefined for a fresh placement. */
  reservation: ReservationRecord | undefined;
  /** Other placed members of the unit's group (for constraints); only called when constraints apply. */
  peers: () => readonly Peer[];
  now: number;
  /** Called once, on success of a fresh reservable placement. */
  newReservationId: () => string;
}

export interface Placement {
  bundle: OfferBundle;
  ports: Record<string, number>;
  taskResources: Resource[];
  reserve: Resource[];
  create: Resource[];
  unreserve: Resource[];
  /** The reservation the task runs in (existing, updated, or new); undefined for unreserved units. */
  reservation: ReservationRecord | undefined;
  volumePath: string | undefined;
  takes: Array<{ chunk: Chunk; milli: number; ports: number[] }>;
}

export type Rejection =
  | { kind: 'role'; offered: string; wanted: string }
  | { kind: 'agent'; wantedHost: string }
  | { kind: 'avoid'; hostname: string }
  | { kind: 'constraint'; constraint: string; reason: string }
  | { kind: 'scalar'; name: string; needMilli: number; haveMilli: number }
  | { kind: 'ports'; need: number; have: number }
  | { kind: 'port'; port: number; name: string }
  | { kind: 'volume'; needMilli: number; haveMilli: number }
  | { kind: 'reservedVolume'; volumeId: string };

export type MatchResult = { ok: true; placement: Placement } | { ok: false; rejection: Rejection };

interface Use {
  milli: number;
  ports: Set<number>;
}

class Tentative {
  readonly uses = new Map<Chunk, Use>();
  private use(c: Chunk): Use {
    let u = this.uses.get(c);
    if (!u) {
      u = { milli: 0, ports: new Set() };
      this.uses.set(c, u);
    }
    return u;
  }
  avail(c: Chunk): number {
    return c.milli - (this.uses.get(c)?.milli ?? 0);
  }
  freeRanges(c: Chunk): Range[] {
    const used = this.uses.get(c)?.ports;
    if (!used || used.size === 0) return c.ranges;
    let r = c.ranges;
    for (const p of used) r = subtractValue(r, p);
    return r;
  }
  takeMilli(c: Chunk, m: number): void {
    this.use(c).milli += m;
  }
  takePort(c: Chunk, p: number): void {
    this.use(c).ports.add(p);
  }
}

export function reservationLabels(frameworkName: string, unit: string, rid: string): Record<string, string> {
  return { [LABEL_FRAMEWORK]: frameworkName, [LABEL_UNIT]: unit, [LABEL_RESERVATION]: rid };
}

export function isOwnedBy(c: Chunk, frameworkName: string, rid: string): boolean {
  return c.owner.kind === 'dynamic' && c.owner.labels[LABEL_FRAMEWORK] === frameworkName && c.owner.labels[LABEL_RESERVATION] === rid;
}

export function matchUnit(bundle: OfferBundle, req: MatchRequest): MatchResult {
  const { unit, role, reservation: res } = req;
  const spec = unit.spec;
  if (bundle.allocationRole !== undefined && bundle.allocationRole !== role) {
    return { ok: false, rejection: { kind: 'role', offered: bundle.allocationRole, wanted: role } };
  }
  if (res && bundle.agentId !== res.agentId) return { ok: false, rejection: { kind: 'agent', wantedHost: res.hostname } };
  if (!res && (spec.constraints ?? []).length > 0) {
    const v = checkConstraints(spec.constraints ?? [], bundle.facts, req.peers());
    if (!v.ok) return { ok: false, rejection: { kind: 'constraint', constraint: v.constraint, reason: v.reason } };
  }

  const reservable = unit.reservable;
  const reserveRole = bundle.allocationRole ?? role;
  const rid = res?.rid;
  const own = (c: Chunk): boolean => rid !== undefined && isOwnedBy(c, req.frameworkName, rid);
  const free = (c: Chunk): boolean => {
    if (c.owner.kind === 'unreserved') return true;
    if (reservable || c.owner.role !== role) return false;
    return c.owner.kind === 'static' || c.owner.labels[LABEL_FRAMEWORK] === undefined;
  };

  const t = new Tentative();
  const taskResources: Resource[] = [];
  const reserve: Resource[] = [];
  const create: Resource[] = [];
  const unreserve: Resource[] = [];
  let newRid: string | undefined;
  const ensureRid = (): string => {
    newRid ??= rid ?? req.newReservationId();
    return newRid;
  };
  const labels = (): Record<string, string> => reservationLabels(req.frameworkName, spec.name, ensureRid());
  const fromFree = (r: Resource): Resource => {
    if (!reservable) return r;
    const reserved = asReserved(r, bundle.format, reserveRole, req.principal, labels());
    reserve.push(reserved);
    return reserved;
  };

  // Scalars: own reservation first, then free resources.
  const scalars: Array<[string, number]> = [
    ['cpus', toMilli(spec.resources.cpus)],
    ['mem', toMilli(spec.resources.memMb)],
  ];
  if (spec.resources.diskMb) scalars.push(['disk', toMilli(spec.resources.diskMb)]);
  for (const [name, need] of scalars) {
    const candidates = bundle.chunks.filter((c) => c.name === name && c.divisible && c.volumeId === undefined);
    const ordered = [...candidates.filter(own), ...candidates.filter((c) => !own(c) && free(c))];
    let left = need;
    for (const c of ordered) {
      if (left <= 0) break;
      const m = Math.min(left, t.avail(c));
      if (m <= 0) continue;
      t.takeMilli(c, m);
      left -= m;
      const piece = withScalar(c.resource, m);
      taskResources.push(own(c) ? piece : fromFree(piece));
    }
    if (left > 0) {
      const have = ordered.reduce((n, c) => n + Math.max(0, c.milli), 0);
      return { ok: false, rejection: { kind: 'scalar', name, needMilli: need, haveMilli: have } };
    }
  }

  // Ports: the reservation's port of the same name if offered, a pinned port, or the lowest free one.
  const portChunks = bundle.chunks.filter((c) => c.name === 'ports' && c.ranges.length > 0);
  const ownPorts = portChunks.filter(own);
  const freePorts = portChunks.filter((c) => !own(c) && free(c));
  const ports: Record<string, number> = {};
  const chosen = new Set<number>();
  const takePort = (c: Chunk, p: number): void => {
    t.takePort(c, p);
    chosen.add(p);
    const piece = withRanges(c.resource, [[p, p]]);
    taskResources.push(own(c) ? piece : fromFree(piece));
  };
  const findChunk = (list: Chunk[], p: number): Chunk | undefined =>
    list.find((c) => !chosen.has(p) && rangesContain(t.freeRanges(c), p));
  const wanted = spec.ports ?? [];
  for (const p of wanted) {
    const want = p.port ?? res?.ports[p.name];
    if (want !== undefined) {
      const c = findChunk(ownPorts, want) ?? findChunk(freePorts, want);
      if (c) {
        takePort(c, want);
        ports[p.name] = want;
        continue;
      }
      if (p.port !== undefined) return { ok: false, rejection: { kind: 'port', port: p.port, name: p.name } };
    }
    let picked: { c: Chunk; p: number } | undefined;
    for (const c of [...ownPorts, ...freePorts]) {
      const v = lowestFree(t.freeRanges(c), chosen);
      if (v !== undefined) {
        picked = { c, p: v };
        break;
      }
    }
    if (!picked) {
      const have = [...ownPorts, ...freePorts].reduce((n, c) => n + rangesSize(c.ranges), 0);
      return { ok: false, rejection: { kind: 'ports', need: wanted.length, have } };
    }
    takePort(picked.c, picked.p);
    ports[p.name] = picked.p;
  }

  // Volume: the reservation's own volume, else a new one on reserved or free disk (one piece).
  let volumeId: string | undefined;
  const volumePath = spec.volume?.containerPath;
  if (spec.volume) {
    const need = toMilli(spec.volume.sizeMb);
    const containerPath = spec.volume.containerPath;
    const existing = res?.volumeId;
    if (existing !== undefined) {
      // The unit's data lives in this volume: use it or wait for it, never create another one in its name.
      const offered = bundle.chunks.find((c) => own(c) && c.volumeId === existing && t.avail(c) > 0);
      if (!offered) return { ok: false, rejection: { kind: 'reservedVolume', volumeId: existing } };
      t.takeMilli(offered, offered.milli);
      taskResources.push(offered.resource);
      volumeId = existing;
    } else {
      const disks = bundle.chunks.filter((c) => c.name === 'disk' && c.volumeId === undefined);
      const fits = (c: Chunk): boolean => (c.divisible ? t.avail(c) >= need : t.avail(c) === c.milli && c.milli >= need);
      const c = disks.find((x) => own(x) && fits(x)) ?? disks.find((x) => !own(x) && free(x) && fits(x));
      if (!c) {
        const have = disks.filter((x) => own(x) || free(x)).reduce((n, x) => Math.max(n, t.avail(x)), 0);
        return { ok: false, rejection: { kind: 'volume', needMilli: need, haveMilli: have } };
      }
      const m = c.divisible ? need : c.milli;
      t.takeMilli(c, m);
      const piece = withScalar(c.resource, m);
      const reserved = own(c) ? piece : fromFree(piece);
      volumeId = ensureRid();
      const vol = asVolume(reserved, volumeId, req.principal, containerPath);
      create.push(vol);
      taskResources.push(vol);
    }
  }

  // Surplus of the old reservation (spec shrank, a port was renamed): release it.
  if (rid !== undefined) {
    for (const c of bundle.chunks) {
      if (!own(c) || c.volumeId !== undefined) continue;
      if (c.name === 'ports') {
        const left = t.freeRanges(c);
        if (left.length > 0) {
          unreserve.push(withRanges(c.resource, left));
          for (const [b, e] of left) for (let p = b; p <= e; p++) t.takePort(c, p);
        }
      } else if (c.divisible && t.avail(c) > 0) {
        unreserve.push(withScalar(c.resource, t.avail(c)));
        t.takeMilli(c, t.avail(c));
      }
    }
  }

  let reservation: ReservationRecord | undefined;
  if (res) {
    reservation = { ...res, ports: { ...ports } };
    if (volumeId !== undefined) reservation.volumeId = volumeId;
  } else if (reservable) {
    reservation = {
      rid: ensureRid(),
      agentId: bundle.agentId,
      hostname: bundle.hostname,
      attributes: bundle.facts.attributes,
      role: reserveRole,
      ports: { ...ports },
      createdAt: req.now,
      confirmed: false,
    };
    if (volumeId !== undefined) reservation.volumeId = volumeId;
  }

  const takes = [...t.uses.entries()].map(([chunk, u]) => ({ chunk, milli: u.milli, ports: [...u.ports] }));
  return {
    ok: true,
    placement: { bundle, ports, taskResources, reserve, create, unreserve, reservation, volumePath, takes },
  };
}

/** Remove a placement's resources from its bundle so later units of the same decision see the rest. */
export function consume(placement: Placement): void {
  for (const { chunk, milli, ports } of placement.takes) {
    chunk.milli -= milli;
    for (const p of ports) chunk.ranges = subtractValue(chunk.ranges, p);
  }
}
