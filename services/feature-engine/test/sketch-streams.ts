/**
 * Seeded recipient streams for the sketch tests. Recipients are ids drawn from a population, so
 * repeats happen as they do in traffic; each id maps to a 64-bit hash through a keyed Feistel network,
 * which is a bijection, so distinct ids are exactly distinct hashes and a Set of ids is the
 * brute-force truth.
 */

/** sfc32: a small, fast, seedable PRNG with 32-bit output. */
export function createRandom(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next(); // move away from the correlated first outputs
  return next;
}

/** Hashes a recipient id (below 2^32) to 64 bits; writes hi to out[0] and lo to out[1]. */
export type RecipientHasher = (id: number, out: Uint32Array) => void;

/** A keyed bijection from ids to 64-bit hashes: four Feistel rounds with murmur3's finalizer. */
export function createRecipientHasher(seed: number): RecipientHasher {
  const random = createRandom(seed ^ 0x5bd1e995);
  const keys = [random(), random(), random(), random()];
  const left0 = random();
  return (id, out) => {
    let left = left0;
    let right = id >>> 0;
    for (const key of keys) {
      const mixed = (left ^ fmix32(right ^ key)) >>> 0;
      left = right;
      right = mixed;
    }
    out[0] = left;
    out[1] = right;
  };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 64-bit hash of one recipient as a bigint (hi << 32 | lo). */
export function hashBigInt(hasher: RecipientHasher, id: number): bigint {
  const out = new Uint32Array(2);
  hasher(id, out);
  return (BigInt(out[0]!) << 32n) | BigInt(out[1]!);
}

export interface Recipient {
  readonly hi: number;
  readonly lo: number;
}

/**
 * A stream of `length` recipients from a population of `population` ids (repeats included), and the
 * number of distinct ones by brute force.
 */
export function recipientStream(
  seed: number,
  length: number,
  population: number,
): { readonly recipients: Recipient[]; readonly distinct: number } {
  const random = createRandom(seed);
  const hasher = createRecipientHasher(seed);
  const out = new Uint32Array(2);
  const seen = new Set<number>();
  const recipients: Recipient[] = [];
  for (let i = 0; i < length; i++) {
    const id = random() % population;
    seen.add(id);
    hasher(id, out);
    recipients.push({ hi: out[0]!, lo: out[1]! });
  }
  return { recipients, distinct: seen.size };
}
