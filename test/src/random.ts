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
