/**
 * Distinct counts of recipients per sender and time slice: exact for small sets, HyperLogLog for
 * large ones, mergeable into sliding windows and serializable for the changelog.
 *
 * Input is a keyed 64-bit recipient hash as two unsigned 32-bit halves (hi = the first four bytes of
 * the HMAC digest, lo = the next four; `hashBigInt` of @spamgate/core gives the same value as one
 * bigint). Two numbers, not a bigint: every bigint shift or mask allocates, so `addBigInt` is about
 * 14 times slower than `add` (bench-sketch.ts), while 32-bit halves stay in registers and feed
 * Math.clz32 directly. Read them from the digest with readUInt32BE(0) and readUInt32BE(4).
 *
 * The counter keeps the hash's top 53 bits, its fingerprint, which a JS number holds exactly and a
 * plain array stores unboxed in 8 bytes. Dropping 11 bits costs nothing measurable: among 10 million
 * distinct recipients the expected number of 53-bit collisions is 0.006.
 *
 * Two forms:
 * - sparse (exact): the sorted fingerprints, up to SPARSE_LIMIT of them. One fingerprint is kept as
 *   a bare number and more as an exact-size array that is replaced, never mutated, so clones share it.
 * - dense (estimate): 2^p HyperLogLog registers (registers.ts), built from the same 53 bits, so
 *   switching forms or merging gives the registers that adding every hash to one counter gives.
 */
import { SketchError } from './errors.ts';
import { FINGERPRINT_LOW_RANGE, Registers } from './registers.ts';

/** Default precision: 2^12 = 4096 registers (4 KiB), standard error 1.04 / sqrt(4096) = 1.6%. */
export const DEFAULT_PRECISION = 12;
/** Smallest precision: 16 registers, standard error 26%. */
export const MIN_PRECISION = 4;
/** Largest precision: 2^18 registers (256 KiB), standard error 0.2%. */
export const MAX_PRECISION = 18;

/**
 * Most distinct recipients held exactly; one more switches to registers. Chosen by measured bytes
 * (bench-sketch.ts, Node 24 x64): a sparse counter retains 88 + 8n bytes for n >= 2 recipients, a
 * dense one about 4.8 KB at p = 12. At 128 the fullest sparse counter (1.1 KB) is under a quarter of
 * a dense one, filling it costs about 100 ns per add (each insert copies the array), and fan-out
 * thresholds up to 128 are judged on exact counts. Past it the estimate starts as linear counting
 * over 4096 registers, about 1% off. Tuned for p = 12; the limit does not scale with the precision.
 */
export const SPARSE_LIMIT = 128;

/** Format version, the first byte of `serialize()`. */
export const SERIALIZATION_VERSION = 1;

export interface DistinctCounterOptions {
  /** Precision p of the dense form: 2^p registers, standard error 1.04 / 2^(p/2). Default 12. */
  readonly precision?: number;
}

export interface DistinctCounter {
  /** Precision p: the dense form has 2^p registers. */
  readonly precision: number;
  /** 'sparse' while every fingerprint is held and counts are exact, then 'dense' for good. */
  readonly mode: 'sparse' | 'dense';
  /**
   * Counts a recipient by its 64-bit hash given as unsigned (or signed, the bits are what count)
   * 32-bit halves; returns whether the counter's state changed (false for a repeat).
   */
  add(hi: number, lo: number): boolean;
  /** `add` for a hash held as a bigint (taken modulo 2^64); slower, it allocates. */
  addBigInt(hash: bigint): boolean;
  /** The number of distinct recipients: exact while sparse, a HyperLogLog estimate when dense. */
  estimate(): number;
  /**
   * The `k` smallest fingerprints (the top 53 bits of each hash), ascending, while the counter is
   * sparse; undefined once it is dense (the registers hold no fingerprints). A bottom-k sample:
   * two sets' samples share values in proportion to how much the sets overlap.
   */
  smallest(k: number): number[] | undefined;
  /** Adds every recipient of `other` (same precision) to this counter; returns this counter. */
  merge(other: DistinctCounter): this;
  /**
   * Empties the counter and keeps its registers' memory for its next dense merge: for a union
   * built again and again only to be estimated (a window's features), where fresh registers for
   * every build were much of a busy engine's allocation. Returns this counter.
   */
  reset(): this;
  /** An independent copy. */
  clone(): DistinctCounter;
  /** Approximate bytes of memory this counter retains (Node 24, 64-bit), for memory accounting. */
  byteSize(): number;
  /** The state as bytes; `deserializeDistinctCounter` restores it exactly. */
  serialize(): Uint8Array;
}

/** A new, empty counter. */
export function createDistinctCounter(options: DistinctCounterOptions = {}): DistinctCounter {
  const precision = options.precision ?? DEFAULT_PRECISION;
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
    throw new SketchError(
      `precision must be an integer from ${MIN_PRECISION} to ${MAX_PRECISION}, got ${precision}`,
      'SKETCH_PRECISION_INVALID',
    );
  }
  return new Counter(precision, NO_FINGERPRINTS);
}

/** A new counter holding the union of the given counters (all of one precision). */
export function mergeDistinctCounters(first: DistinctCounter, ...rest: DistinctCounter[]): DistinctCounter {
  const union = first.clone();
  for (const counter of rest) union.merge(counter);
  return union;
}

/**
 * Retained bytes measured on Node 24 x64 (heap and array buffers over many live counters, see
 * bench-sketch.ts): the counter object with its two fields; a boxed number (a lone fingerprint); a
 * plain array's header plus its double store's header; the registers object with its typed-array
 * views and buffer object, whose m + 256 bytes of contents are added separately. The allocator's own
 * overhead for that buffer is not visible to Node and not counted.
 */
const COUNTER_BYTES = 40;
const BOXED_NUMBER_BYTES = 16;
const ARRAY_BYTES = 48;
const REGISTERS_BYTES = 370;

/** The empty sparse state, shared by every empty counter (never mutated). */
const NO_FINGERPRINTS: readonly number[] = [];

/** Sparse state: one fingerprint as a number, otherwise a sorted array (never of length 1). */
type Fingerprints = number | readonly number[];

class Counter implements DistinctCounter {
  readonly #precision: number;
  #state: Fingerprints | Registers;
  /** Registers a reset kept, reused by the next merge that needs registers. */
  #spare: Registers | undefined;

  constructor(precision: number, state: Fingerprints | Registers) {
    this.#precision = precision;
    this.#state = state;
  }

  get precision(): number {
    return this.#precision;
  }

  get mode(): 'sparse' | 'dense' {
    return this.#state instanceof Registers ? 'dense' : 'sparse';
  }

  add(hi: number, lo: number): boolean {
    const state = this.#state;
    if (state instanceof Registers) return state.add(hi, lo);
    const next = withFingerprint(this.#precision, state, (hi >>> 0) * FINGERPRINT_LOW_RANGE + (lo >>> 11));
    if (next === state) return false;
    this.#state = next;
    return true;
  }

  addBigInt(hash: bigint): boolean {
    return this.add(Number(BigInt.asUintN(32, hash >> 32n)), Number(BigInt.asUintN(32, hash)));
  }

  estimate(): number {
    const state = this.#state;
    if (state instanceof Registers) return state.estimate();
    return typeof state === 'number' ? 1 : state.length;
  }

  smallest(k: number): number[] | undefined {
    const state = this.#state;
    if (state instanceof Registers) return undefined;
    return typeof state === 'number' ? (k > 0 ? [state] : []) : state.slice(0, Math.max(0, k));
  }

  merge(other: DistinctCounter): this {
    if (!(other instanceof Counter)) throw new TypeError('can only merge counters made by this module');
    if (other.#precision !== this.#precision) {
      throw new SketchError(
        `cannot merge a counter of precision ${other.#precision} into one of precision ${this.#precision}`,
        'SKETCH_PRECISION_MISMATCH',
      );
    }
    const mine = this.#state;
    const theirs = other.#state;
    if (theirs instanceof Registers) {
      const registers =
        mine instanceof Registers ? mine : toRegisters(this.#precision, mine, this.#takeSpare());
      registers.merge(theirs);
      this.#state = registers;
    } else if (mine instanceof Registers) {
      forEachFingerprint(theirs, (f) => mine.addFingerprint(f));
    } else {
      const union = unionOf(mine, theirs);
      this.#state =
        union.length > SPARSE_LIMIT
          ? toRegisters(this.#precision, union, this.#takeSpare())
          : fingerprintsOf(union);
    }
    return this;
  }

  reset(): this {
    if (this.#state instanceof Registers) this.#spare = this.#state;
    this.#state = NO_FINGERPRINTS;
    return this;
  }

  #takeSpare(): Registers | undefined {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare?.clear();
  }

  clone(): Counter {
    const state = this.#state;
    return new Counter(this.#precision, state instanceof Registers ? state.clone() : state);
  }

  byteSize(): number {
    const state = this.#state;
    if (state instanceof Registers) return COUNTER_BYTES + REGISTERS_BYTES + state.words.byteLength;
    if (typeof state === 'number') return COUNTER_BYTES + BOXED_NUMBER_BYTES;
    return COUNTER_BYTES + (state.length === 0 ? 0 : ARRAY_BYTES + 8 * state.length);
  }

  serialize(): Uint8Array {
    return encode(this.#precision, this.#state);
  }
}

/**
 * The state after adding one fingerprint: `state` itself if it was there already. A module function
 * rather than a private method, which would cost every counter 8 bytes for V8's private brand.
 */
function withFingerprint(
  precision: number,
  state: Fingerprints,
  fingerprint: number,
): Fingerprints | Registers {
  if (typeof state === 'number') {
    if (state === fingerprint) return state;
    return state < fingerprint ? [state, fingerprint] : [fingerprint, state];
  }
  const at = lowerBound(state, fingerprint);
  if (state[at] === fingerprint) return state;
  if (state.length === 0) return fingerprint;
  // toSpliced makes an exact-size copy; push would reserve 16 or more spare slots.
  if (state.length < SPARSE_LIMIT) return state.toSpliced(at, 0, fingerprint);
  const registers = toRegisters(precision, state);
  registers.addFingerprint(fingerprint);
  return registers;
}

function fingerprintsOf(sorted: readonly number[]): Fingerprints {
  if (sorted.length === 0) return NO_FINGERPRINTS;
  return sorted.length === 1 ? sorted[0]! : sorted;
}

function forEachFingerprint(state: Fingerprints, visit: (fingerprint: number) => void): void {
  if (typeof state === 'number') visit(state);
  else for (const f of state) visit(f);
}

/** Registers holding the fingerprints: `into` (empty, of the same precision) or new ones. */
function toRegisters(precision: number, state: Fingerprints, into?: Registers): Registers {
  const registers = into ?? new Registers(precision);
  forEachFingerprint(state, (f) => registers.addFingerprint(f));
  return registers;
}

/** Index of the first element >= value in a sorted array. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The sorted union of two sparse states. */
function unionOf(a: Fingerprints, b: Fingerprints): readonly number[] {
  const left = typeof a === 'number' ? [a] : a;
  const right = typeof b === 'number' ? [b] : b;
  if (right.length === 0 || left === right) return left;
  if (left.length === 0) return right;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    const x = left[i]!;
    const y = right[j]!;
    out.push(Math.min(x, y));
    if (x <= y) i++;
    if (y <= x) j++;
  }
  while (i < left.length) out.push(left[i++]!);
  while (j < right.length) out.push(right[j++]!);
  return out.length === left.length ? left : out.length === right.length ? right : out.slice();
}

/*
 * Serialized form, version 1 (big-endian):
 *   byte 0  version (1)
 *   byte 1  precision p
 *   byte 2  encoding:
 *     0 sparse: 7 bytes per fingerprint (53 bits, top 3 bits zero), strictly increasing
 *     1 dense, listed: 3 bytes per non-zero register, index << 6 | value, indexes increasing
 *     2 dense, packed: every register in 6 bits, 3 bytes per 4 registers (3m/4 bytes)
 * A dense counter is listed while fewer than m/4 registers are set (then listing is the shorter).
 * The encoding is a function of the state, so equal states serialize to equal bytes.
 */
const HEADER_BYTES = 3;
const ENCODING_SPARSE = 0;
const ENCODING_LISTED = 1;
const ENCODING_PACKED = 2;
const FINGERPRINT_BYTES = 7;
const LISTED_BYTES = 3;
/** 2^32, to split a fingerprint into its high 21 and low 32 bits. */
const TWO_POW_32 = 4_294_967_296;

function encode(precision: number, state: Fingerprints | Registers): Uint8Array {
  if (!(state instanceof Registers)) {
    const fingerprints = typeof state === 'number' ? [state] : state;
    const out = header(precision, ENCODING_SPARSE, fingerprints.length * FINGERPRINT_BYTES);
    const view = new DataView(out.buffer);
    let at = HEADER_BYTES;
    for (const f of fingerprints) {
      const high = Math.floor(f / TWO_POW_32); // 21 bits
      view.setUint8(at, high >>> 16);
      view.setUint16(at + 1, high & 0xffff);
      view.setUint32(at + 3, f - high * TWO_POW_32);
      at += FINGERPRINT_BYTES;
    }
    return out;
  }
  const registers = state.bytes;
  const m = registers.length;
  const nonZero = state.nonZero();
  if (nonZero < m / 4) {
    const out = header(precision, ENCODING_LISTED, nonZero * LISTED_BYTES);
    let at = HEADER_BYTES;
    for (let i = 0; i < m; i++) {
      const value = registers[i]!;
      if (value === 0) continue;
      const entry = (i << 6) | value;
      out[at] = entry >>> 16;
      out[at + 1] = entry >>> 8;
      out[at + 2] = entry;
      at += LISTED_BYTES;
    }
    return out;
  }
  const out = header(precision, ENCODING_PACKED, (m / 4) * 3);
  for (let i = 0, at = HEADER_BYTES; i < m; i += 4, at += 3) {
    const word =
      (registers[i]! << 18) | (registers[i + 1]! << 12) | (registers[i + 2]! << 6) | registers[i + 3]!;
    out[at] = word >>> 16;
    out[at + 1] = word >>> 8;
    out[at + 2] = word;
  }
  return out;
}

function header(precision: number, encoding: number, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  out[0] = SERIALIZATION_VERSION;
  out[1] = precision;
  out[2] = encoding;
  return out;
}

/**
 * Restores a counter from `serialize()` output: same estimate, and further adds and merges behave
 * as on the original. Throws SketchError (SKETCH_BYTES_INVALID) on anything else, including a state
 * that `serialize` could not have written (unsorted fingerprints, register values out of range).
 */
export function deserializeDistinctCounter(bytes: Uint8Array): DistinctCounter {
  if (bytes.length < HEADER_BYTES) invalid(`${bytes.length} bytes is shorter than the header`);
  const version = bytes[0]!;
  const precision = bytes[1]!;
  const encoding = bytes[2]!;
  if (version !== SERIALIZATION_VERSION) invalid(`unknown format version ${version}`);
  if (precision < MIN_PRECISION || precision > MAX_PRECISION) invalid(`precision ${precision} out of range`);
  const body = bytes.subarray(HEADER_BYTES);
  switch (encoding) {
    case ENCODING_SPARSE:
      return new Counter(precision, decodeSparse(precision, body));
    case ENCODING_LISTED:
      return new Counter(precision, decodeListed(precision, body));
    case ENCODING_PACKED:
      return new Counter(precision, decodePacked(precision, body));
    default:
      return invalid(`unknown encoding ${encoding}`);
  }
}

function decodeSparse(precision: number, body: Uint8Array): Fingerprints | Registers {
  if (body.length % FINGERPRINT_BYTES !== 0) invalid(`sparse body of ${body.length} bytes`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const fingerprints: number[] = [];
  let previous = -1;
  for (let at = 0; at < body.length; at += FINGERPRINT_BYTES) {
    const high = (view.getUint8(at) << 16) | view.getUint16(at + 1);
    if (high >= FINGERPRINT_LOW_RANGE) invalid('fingerprint wider than 53 bits');
    const f = high * TWO_POW_32 + view.getUint32(at + 3);
    if (f <= previous) invalid('fingerprints not strictly increasing');
    fingerprints.push(f);
    previous = f;
  }
  // A state from a build with a larger limit is still valid: it continues in dense form.
  if (fingerprints.length > SPARSE_LIMIT) return toRegisters(precision, fingerprints);
  return fingerprintsOf(fingerprints.slice()); // slice: an exact-size copy, push left spare slots
}

function decodeListed(precision: number, body: Uint8Array): Registers {
  if (body.length % LISTED_BYTES !== 0) invalid(`listed body of ${body.length} bytes`);
  const registers = new Registers(precision);
  const target = registers.bytes;
  const maxRank = 54 - precision;
  let previous = -1;
  for (let at = 0; at < body.length; at += LISTED_BYTES) {
    const entry = (body[at]! << 16) | (body[at + 1]! << 8) | body[at + 2]!;
    const index = entry >>> 6;
    const value = entry & 0x3f;
    if (index >= target.length || index <= previous) invalid('register indexes not increasing within range');
    if (value === 0 || value > maxRank) invalid(`register value ${value} out of range`);
    target[index] = value;
    previous = index;
  }
  registers.bytesWritten();
  return registers;
}

function decodePacked(precision: number, body: Uint8Array): Registers {
  const registers = new Registers(precision);
  const target = registers.bytes;
  const m = target.length;
  if (body.length !== (m / 4) * 3) invalid(`packed body of ${body.length} bytes for ${m} registers`);
  const maxRank = 54 - precision;
  for (let i = 0, at = 0; i < m; i += 4, at += 3) {
    const word = (body[at]! << 16) | (body[at + 1]! << 8) | body[at + 2]!;
    const a = word >>> 18;
    const b = (word >>> 12) & 0x3f;
    const c = (word >>> 6) & 0x3f;
    const d = word & 0x3f;
    if (a > maxRank || b > maxRank || c > maxRank || d > maxRank) invalid('register value out of range');
    target[i] = a;
    target[i + 1] = b;
    target[i + 2] = c;
    target[i + 3] = d;
  }
  registers.bytesWritten();
  return registers;
}

function invalid(reason: string): never {
  throw new SketchError(`not a serialized distinct counter: ${reason}`, 'SKETCH_BYTES_INVALID');
}
