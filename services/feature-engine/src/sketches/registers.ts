/**
 * HyperLogLog registers: the dense form of a distinct counter. Internal to the sketches; the public
 * surface is distinct-counter.ts.
 *
 * A recipient hash is used through its top 53 bits (the fingerprint, see distinct-counter.ts): the
 * first p bits pick the register, the register keeps the maximum rank (position of the first 1 bit)
 * of the remaining 53 - p bits. Using exactly the bits the exact (sparse) form keeps means a set of
 * fingerprints turns into the same registers as adding the hashes one by one, so merges and
 * switches between forms never change a result.
 */

/** 2^21: a fingerprint is hi * 2^21 + (lo >>> 11). */
export const FINGERPRINT_LOW_RANGE = 2_097_152;

/** alpha for m -> infinity, 1 / (2 ln 2), as in Ertl's estimator. */
const ALPHA_INF = 1 / (2 * Math.LN2);

/** Number of histogram slots: register values are at most 54 - MIN_PRECISION = 50 < 64. */
const HISTOGRAM_SLOTS = 64;

/** Rank of a hash at precision p: 1 + leading zeros of the 53 - p fingerprint bits after the index. */
export function rankOf(hi: number, lo: number, precision: number): number {
  const rest = hi << precision; // the bits of hi after the register index; the low p bits are 0
  if (rest !== 0) return Math.clz32(rest) + 1;
  const low = lo >>> 11; // the 21 bits of lo that belong to the fingerprint
  return low === 0 ? 54 - precision : 32 - precision + Math.clz32(low) - 10;
}

/**
 * 2^p one-byte registers with a histogram of their values (for the estimator), in one buffer:
 * words[0 .. m/4) are the registers four to a word, words[m/4 .. m/4 + 64) the histogram.
 */
export class Registers {
  readonly precision: number;
  /** The registers, one byte each. */
  readonly bytes: Uint8Array;
  /** The same memory as 32-bit words, for merging four registers at a time. */
  readonly words: Uint32Array;
  /** False after a bulk merge; rebuilt when an estimate needs it. */
  #histogramValid: boolean;

  /** Empty registers, or (words given) registers taking over that memory. */
  constructor(precision: number, words?: Uint32Array, histogramValid = false) {
    const m = 2 ** precision;
    this.precision = precision;
    if (words === undefined) {
      this.words = new Uint32Array(m / 4 + HISTOGRAM_SLOTS);
      this.words[m / 4] = m; // every register holds 0
      this.#histogramValid = true;
    } else {
      this.words = words;
      this.#histogramValid = histogramValid;
    }
    this.bytes = new Uint8Array(this.words.buffer, 0, m);
  }

  /** Every register back to 0, in place; returns these registers. */
  clear(): this {
    const m = this.bytes.length;
    this.words.fill(0);
    this.words[m / 4] = m;
    this.#histogramValid = true;
    return this;
  }

  /** Registers holding the given values (m of them, each at most 54 - p). */
  static fromValues(precision: number, values: Uint8Array): Registers {
    const registers = new Registers(precision);
    registers.bytes.set(values);
    registers.bytesWritten();
    return registers;
  }

  /** To be called after writing `bytes` directly (as a decoder does): the histogram is stale. */
  bytesWritten(): void {
    this.#histogramValid = false;
  }

  /** Raises one register to the hash's rank; returns whether it changed. */
  add(hi: number, lo: number): boolean {
    const p = this.precision;
    const index = hi >>> (32 - p);
    const rank = rankOf(hi, lo, p);
    const old = this.bytes[index]!;
    if (rank <= old) return false;
    this.bytes[index] = rank;
    if (this.#histogramValid) {
      const h = this.bytes.length >>> 2;
      this.words[h + old]!--;
      this.words[h + rank]!++;
    }
    return true;
  }

  addFingerprint(fingerprint: number): boolean {
    const hi = Math.floor(fingerprint / FINGERPRINT_LOW_RANGE);
    return this.add(hi, (fingerprint - hi * FINGERPRINT_LOW_RANGE) << 11);
  }

  /** Register-wise maximum with another set of registers of the same precision. */
  merge(other: Registers): void {
    const a = this.words;
    const b = other.words;
    const n = this.bytes.length >>> 2;
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      // Byte-wise max without unpacking: registers are < 128, so (x | 0x80) - y borrows nothing
      // across bytes and keeps bit 7 of a byte set exactly where x >= y.
      const xAtLeastY = (((x | 0x80808080) - y) & 0x80808080) >>> 7;
      const keepX = Math.imul(xAtLeastY, 0xff);
      a[i] = (x & keepX) | (y & ~keepX);
    }
    this.#histogramValid = false;
  }

  clone(): Registers {
    return new Registers(this.precision, this.words.slice(), this.#histogramValid);
  }

  /** Number of registers above zero. */
  nonZero(): number {
    this.#ensureHistogram();
    return this.bytes.length - this.words[this.bytes.length >>> 2]!;
  }

  /**
   * Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
   * 2017, algorithm 6). Its sigma term is linear counting's small-range correction and its tau term
   * the large-range correction, blended continuously: no switch-over point, so no bias bump where
   * the classic estimator swaps in linear counting at 2.5m (measured at p = 12, n = 10,000 over 300
   * streams: classic bias +1.4%, RMSE 3.0%; this estimator bias 0.0%, RMSE 1.3%).
   */
  estimate(): number {
    this.#ensureHistogram();
    const m = this.bytes.length;
    const h = m >>> 2;
    const q = 53 - this.precision; // fingerprint bits after the index; registers hold 0 .. q + 1
    const c = this.words;
    let z = m * tau(1 - c[h + q + 1]! / m);
    for (let k = q; k >= 1; k--) z = 0.5 * (z + c[h + k]!);
    z += m * sigma(c[h]! / m);
    return (ALPHA_INF * m * m) / z;
  }

  #ensureHistogram(): void {
    if (this.#histogramValid) return;
    const registers = this.bytes;
    const h = registers.length >>> 2;
    const c = this.words;
    c.fill(0, h);
    // An indexed loop: for-of over a typed array measured five times slower here (Node 24).
    for (let i = 0; i < registers.length; i++) c[h + registers[i]!]!++;
    this.#histogramValid = true;
  }
}

/** sigma(x) = x + sum_k x^(2^k) 2^(k-1) for x in [0, 1]; infinite at 1 (all registers empty). */
function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (z !== previous);
  return z;
}

/** tau(x) = (1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3 for x in [0, 1]. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (z !== previous);
  return z / 3;
}
