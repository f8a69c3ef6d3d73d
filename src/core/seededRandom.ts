/**
 * Small seeded generators, so a simulation, a fuzz or a benchmark can be replayed from its seed.
 * Not for keys or anything secret.
 */

/** mulberry32: numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** xorshift32: unsigned 32-bit integers (a seed of 0 counts as 1). */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** xorshift32 scaled: a whole number below `n` on each call. */
export function seededBelow(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n) => next() % n;
}
