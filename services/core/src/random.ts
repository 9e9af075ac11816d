/**
 * A seeded xorshift32 generator for tests and benchmarks: the same seed gives the same stream on
 * every machine, so a failing random case can be replayed. Returns numbers in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/**
 * A seeded mulberry32 generator, uniform in [0, 1): the generated SMS corpus and the assigner's
 * property test were built on it, and their seeds (and the rates measured on them) depend on it.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
