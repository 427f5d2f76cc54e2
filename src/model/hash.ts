/**
 * Stable hashing of specs: the same spec gives the same version on every machine and after a restart,
 * whatever the key order of the objects it was built from.
 */

/** JSON with object keys sorted; `undefined` members are dropped like JSON.stringify does. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : stableStringify(v))).join(',')}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

/**
 * 64-bit FNV-1a, printed as 16 hex digits. Not cryptographic: versions only need to change when the
 * spec changes, and a collision would at worst skip one rolling restart.
 */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString(16).padStart(16, '0');
}

export function hashOf(value: unknown): string {
  return fnv1a64(stableStringify(value));
}
