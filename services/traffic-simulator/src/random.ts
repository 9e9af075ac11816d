/**
 * Seeded randomness. Every scenario draws from its own stream, derived from the run's seed and
 * the scenario's id, so adding or changing one scenario leaves the others' traffic as it was.
 * sfc32 (128-bit state) seeded through splitmix32: fast, and far longer than a run needs.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Exponential with the given mean: the gap between Poisson arrivals. */
  exponential(mean: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Log-normal with the given median and shape sigma (of the underlying normal). */
  logNormal(median: number, sigma: number): number;
  /** Number of failures before the first success, success probability p (mean (1 - p) / p). */
  geometric(p: number): number;
  /** A new independent stream, named: the same name gives the same stream. */
  fork(name: string): Random;
}

/** 32-bit FNV-1a of a string, then mixed: seeds from names. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A stream for `seed` (any 32-bit integer) and a name. */
export function createRandom(seed: number, name = ''): Random {
  let s = hashString(name, seed >>> 0);
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    return mix32(s);
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const rootSeed = split();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4_294_967_296;
  };
  for (let i = 0; i < 12; i++) next();
  const normal = (): number => {
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    uniform: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    exponential: (mean) => -Math.log(1 - next()) * mean,
    normal,
    logNormal: (median, sigma) => median * Math.exp(sigma * normal()),
    geometric: (p) => (p >= 1 ? 0 : Math.floor(Math.log(1 - next()) / Math.log(1 - p))),
    fork: (forkName) => createRandom(rootSeed, forkName),
  };
}
