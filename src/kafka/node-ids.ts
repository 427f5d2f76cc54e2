/**
 * Identities of a Kafka cluster that kmf decides once and persists: the cluster id, every node.id, and the
 * metadata directory id of each initial KRaft controller. Pure (randomness is injected).
 *
 * Node id layout: brokers count up from 0 (`broker 0, 1, 2` is what operators type), dedicated controllers
 * live at 1000 and up so the two never collide and a glance at an id tells the role. Ids are never reused: a
 * removed broker's id stays retired (`nextBrokerId` only grows), because a reused id would inherit the old
 * broker's partition assignments and registration history in the cluster metadata. Replacing a broker on a
 * fresh disk is the one case that keeps the id on purpose.
 */
import crypto from 'node:crypto';

export const CONTROLLER_ID_BASE = 1000;
/** Kafka's node.id is an int32; kmf keeps them well inside it. */
export const MAX_NODE_ID = 2_147_483_647;

/**
 * A Kafka `Uuid` as `kafka-storage random-uuid` prints it: 16 random bytes, URL-safe base64 without padding
 * (22 characters). Like Kafka, avoid ids starting with '-' (they look like a command-line flag) and the
 * reserved low values (all-zero "unassigned", 1 "lost", 2 "migrating" directory ids).
 */
export function randomKafkaUuid(randomBytes: (n: number) => Buffer = crypto.randomBytes): string {
  for (;;) {
    const bytes = randomBytes(16);
    if (isReservedUuid(bytes)) continue;
    const id = bytes.toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const UUID_TEXT = /^[A-Za-z0-9_-]{22}$/;

/** Whether `s` is a usable Kafka Uuid (cluster.id or directory.id). */
export function isKafkaUuid(s: string): boolean {
  if (!UUID_TEXT.test(s) || s.startsWith('-')) return false;
  const bytes = Buffer.from(s, 'base64url');
  // 22 base64 characters carry 132 bits; the last 4 must be zero for a canonical 16-byte encoding.
  if (bytes.length !== 16 || bytes.toString('base64url') !== s) return false;
  return !isReservedUuid(bytes);
}

function isReservedUuid(bytes: Buffer): boolean {
  // Values 0..99 are reserved for Kafka's sentinel ids; none of them is a real random id.
  for (let i = 0; i < 15; i++) if (bytes[i] !== 0) return false;
  return (bytes[15] ?? 0) < 100;
}

export function isNodeId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_NODE_ID;
}

/**
 * `count` new broker ids: the lowest ids at or above `nextBrokerId` not used by any node (a dedicated
 * controller, or a broker still in the spec). Returns the ids and the new `nextBrokerId`.
 */
export function allocateBrokerIds(
  used: Iterable<number>,
  nextBrokerId: number,
  count: number,
): { ids: number[]; nextBrokerId: number } {
  const taken = new Set(used);
  const ids: number[] = [];
  let next = nextBrokerId;
  while (ids.length < count) {
    if (next >= CONTROLLER_ID_BASE && next < CONTROLLER_ID_BASE + 100) next = CONTROLLER_ID_BASE + 100;
    if (!taken.has(next)) ids.push(next);
    next++;
  }
  return { ids, nextBrokerId: next };
}

/** Dedicated controllers: 1000, 1001, … */
export function dedicatedControllerIds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => CONTROLLER_ID_BASE + i);
}
