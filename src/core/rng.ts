/**
 * Randomness is an input of the core, never `Math.random()`: a seeded generator makes every decision
 * (task ids, jitter) reproducible in tests; the runtime seeds it from a real random source.
 */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

/** sfc32 seeded through splitmix32: small, fast, good enough for ids and jitter (not for secrets). */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return {
    next(): number {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((c << 21) | (c >>> 11)) >>> 0;
      c = (c + t) >>> 0;
      return t / 4294967296;
    },
  };
}

/** 8 lower-case hex digits. */
export function hex8(rng: Rng): string {
  return Math.floor(rng.next() * 4294967296)
    .toString(16)
    .padStart(8, '0');
}
