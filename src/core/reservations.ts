/**
 * Housekeeping of kmf's own dynamic reservations as they appear in offers:
 *  - a unit's reservation seen in an offer is confirmed (it really exists);
 *  - a retired reservation (its unit was replaced or removed) is destroyed and unreserved;
 *  - a labelled reservation of a unit that has none on record (its RESERVE was thought lost) is adopted;
 *  - anything else carrying kmf labels is left alone: kmf destroys only what it positively retired.
 */
import type { Operation, Resource } from '../mesos/types.js';
import type { DecisionContext, Draft } from './draft.js';
import { LABEL_FRAMEWORK, LABEL_RESERVATION, LABEL_UNIT, type OfferBundle } from './offer-match.js';
import { withoutVolume, withRanges, withScalar, type Chunk } from './resources.js';
import { isLive } from './state.js';

function ridOf(c: Chunk, frameworkName: string): string | undefined {
  if (c.owner.kind !== 'dynamic' || c.owner.labels[LABEL_FRAMEWORK] !== frameworkName) return undefined;
  return c.owner.labels[LABEL_RESERVATION];
}

function whole(c: Chunk): Resource {
  return c.name === 'ports' ? withRanges(c.resource, c.ranges) : c.volumeId !== undefined ? c.resource : withScalar(c.resource, c.milli);
}

/** Returns the cleanup operations for this bundle; removes the chunks it handles from the bundle. */
export function housekeepReservations(d: Draft, ctx: DecisionContext, bundle: OfferBundle): Operation[] {
  const fw = ctx.config.frameworkName;
  const { now } = ctx;
  const byRid = new Map<string, Chunk[]>();
  for (const c of bundle.chunks) {
    const rid = ridOf(c, fw);
    if (rid === undefined) continue;
    const list = byRid.get(rid);
    if (list) list.push(c);
    else byRid.set(rid, [c]);
  }

  const ops: Operation[] = [];
  const retired = new Map(d.retired.map((r) => [r.rid, r]));
  let retiredChanged = false;
  const cleanupChunks = new Set<Chunk>();
  for (const [rid, chunks] of byRid) {
    const r = retired.get(rid);
    if (r) {
      const volumes = chunks.filter((c) => c.volumeId !== undefined);
      if (volumes.length > 0) ops.push({ type: 'DESTROY', destroy: { volumes: volumes.map((c) => c.resource) } });
      ops.push({
        type: 'UNRESERVE',
        unreserve: { resources: chunks.map((c) => (c.volumeId !== undefined ? withoutVolume(c.resource) : whole(c))) },
      });
      for (const c of chunks) cleanupChunks.add(c);
      retired.set(rid, { ...r, cleanupSentAt: now });
      retiredChanged = true;
      d.event(now, 'reservation', `destroying retired reservation ${rid} on ${bundle.hostname}`, r.unit);
      continue;
    }
    const unitName = chunks[0]?.owner.kind === 'dynamic' ? chunks[0].owner.labels[LABEL_UNIT] : undefined;
    const unit = unitName === undefined ? undefined : d.units.get(unitName);
    if (!unit) continue;
    if (unit.reservation?.rid === rid) {
      if (!unit.reservation.confirmed) d.updateUnit(unit.name, { reservation: { ...unit.reservation, confirmed: true } });
      continue;
    }
    const hasLive = [...d.tasks.values()].some((t) => t.unit === unit.name && isLive(t));
    if (!unit.reservation && !hasLive && ctx.desired.units.get(unit.name)?.spec.goal !== 'removed') {
      const volumeId = chunks.find((c) => c.volumeId !== undefined)?.volumeId;
      d.updateUnit(unit.name, {
        reservation: {
          rid,
          agentId: bundle.agentId,
          hostname: bundle.hostname,
          attributes: bundle.facts.attributes,
          role: bundle.allocationRole ?? ctx.desired.units.get(unit.name)?.spec.role ?? ctx.config.role,
          ports: {},
          createdAt: now,
          confirmed: true,
          ...(volumeId === undefined ? {} : { volumeId }),
        },
      });
      d.event(now, 'reservation', `adopted reservation ${rid} found on ${bundle.hostname}`, unit.name);
    }
  }
  // A retired reservation whose cleanup was sent and that this agent no longer offers is gone.
  for (const r of d.retired) {
    if (r.agentId !== bundle.agentId || byRid.has(r.rid) || r.cleanupSentAt === undefined) continue;
    if (r.reservation && bundle.allocationRole !== undefined && r.reservation.role !== bundle.allocationRole) continue;
    retired.delete(r.rid);
    retiredChanged = true;
  }
  if (retiredChanged) d.setRetired([...retired.values()]);
  if (cleanupChunks.size > 0) bundle.chunks = bundle.chunks.filter((c) => !cleanupChunks.has(c));
  return ops;
}
