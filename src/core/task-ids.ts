/**
 * Task ids carry the unit and the launch generation, so any task Mesos reports can be mapped back to
 * its unit even without a stored record: `broker-2__g3__1f2e3d4c`, `app-x.3__g1__0badcafe` (unit
 * `app-x/3`: `/` is not allowed in Mesos task ids, so it is written as `.`; unit names have no dots).
 */
import { hex8, type Rng } from './rng.js';

const TASK_ID = /^([a-z0-9.-]+)__g(\d+)__([0-9a-f]{8})$/;
const RESERVATION_ID = /^([a-z0-9.-]+)__r(\d+)__([0-9a-f]{8})$/;

export function encodeUnitName(unit: string): string {
  return unit.replaceAll('/', '.');
}

export function decodeUnitName(encoded: string): string {
  return encoded.replaceAll('.', '/');
}

export function makeTaskId(unit: string, generation: number, rng: Rng): string {
  return `${encodeUnitName(unit)}__g${generation}__${hex8(rng)}`;
}

export interface ParsedTaskId {
  unit: string;
  generation: number;
  nonce: string;
}

export function parseTaskId(taskId: string): ParsedTaskId | undefined {
  const m = TASK_ID.exec(taskId);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { unit: decodeUnitName(m[1]), generation: Number(m[2]), nonce: m[3] };
}

/** Reservation ids double as persistence (volume) ids: unique per role per agent, as Mesos requires. */
export function makeReservationId(unit: string, generation: number, rng: Rng): string {
  return `${encodeUnitName(unit)}__r${generation}__${hex8(rng)}`;
}

export function parseReservationId(rid: string): { unit: string; generation: number } | undefined {
  const m = RESERVATION_ID.exec(rid);
  if (!m?.[1] || !m[2]) return undefined;
  return { unit: decodeUnitName(m[1]), generation: Number(m[2]) };
}
