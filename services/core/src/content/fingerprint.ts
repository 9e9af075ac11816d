/**
 * Keyed content fingerprints: a 64-bit simhash (Charikar 2002) over character shingles of the
 * normalised body. Copies of one template with a few personalised tokens differ in a few bits;
 * unrelated texts differ in about half of the 64. The shingle hash is keyed, so a fingerprint
 * cannot be matched against fingerprints of guessed texts without the key (domain.md: key content
 * fingerprints too); a new key gives unrelated fingerprints, so rotating it starts template
 * statistics afresh.
 */
import { hkdfSync } from 'node:crypto';
import { SpamgateError } from '../errors.ts';
import { normaliseBody } from './normalise.ts';

/**
 * Shingle length in UTF-16 code units of the normalised text. On the test corpus
 * (content-fingerprint.test.ts), 4 at 18 bits and 5 at 19 bits merge the same 0.31% of unrelated
 * pairs, and 5 splits about 10% fewer template copies (1.04% against 1.17%); 6 is worse again.
 */
export const SHINGLE_CHARS = 5;

/**
 * Hamming distance (bits, of 64) at or below which two fingerprints count as the same template.
 * Chosen on the generated corpus of content-fingerprint.test.ts (30 templates with names, dates,
 * amounts, codes and per-recipient links, plus 500 personal messages), over 3 corpus seeds x 8
 * keys: at 19 bits, 1.03% of pairs of copies of one template fall apart (0.16 to 2.67% by key and
 * seed) and 0.32% of pairs of unrelated messages merge (0.20 to 0.49%); at 18 bits 1.79% and
 * 0.17%, at 20 bits 0.53% and 0.57%. Copies of one template are 7.7 bits apart on average,
 * unrelated messages 31.3. Short texts tolerate little: a 3-letter name in a 16-character message
 * ("Hi Ann, vote on Tuesday") moves about 20 bits, so such copies match under only about half of
 * all keys; the same name change in a 70-character message moves about 10.
 */
export const NEAR_DUPLICATE_DISTANCE = 19;

/** Minimum key length in bytes, as for subscriber hashing; shorter keys are refused. */
export const MIN_CONTENT_KEY_BYTES = 16;

/**
 * A content-fingerprint key: the secret expanded once into the tables of the shingle hash. Build
 * one per key with `createContentKey` and reuse it; the tables live in a closure, so logging the
 * key shows nothing.
 */
export interface ContentKey {
  /** The fingerprint of text already normalised by `normaliseBody`; 0n for empty text. */
  fingerprintNormalised(normalised: string): bigint;
}

const TABLE_LABEL = 'spamgate/content-fingerprint/v1/';
const HKDF_MAX_BYTES = 255 * 32;

/** A content key's secret as bytes; refused (CONTENT_KEY_TOO_SHORT) under MIN_CONTENT_KEY_BYTES. */
export function contentSecretBytes(secret: string | Uint8Array, what: string): Uint8Array {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.byteLength < MIN_CONTENT_KEY_BYTES) {
    throw new SpamgateError(`the ${what} key must be at least ${MIN_CONTENT_KEY_BYTES} bytes`, {
      code: 'CONTENT_KEY_TOO_SHORT',
    });
  }
  return bytes;
}

/**
 * `length` bytes of hash tables drawn from the secret with HKDF-SHA-256: it gives at most 255 x 32
 * bytes per label, so the tables are drawn in chunks labelled `${label}${chunk}`.
 */
export function hkdfTables(secretBytes: Uint8Array, label: string, length: number): Buffer {
  const material = Buffer.alloc(length);
  for (let chunk = 0, at = 0; at < material.length; chunk++, at += HKDF_MAX_BYTES) {
    const bytes = Math.min(HKDF_MAX_BYTES, material.length - at);
    material.set(new Uint8Array(hkdfSync('sha256', secretBytes, '', `${label}${chunk}`, bytes)), at);
  }
  return material;
}

/**
 * Expands a secret into the key of the shingle hash. The hash is simple tabulation hashing
 * (Zobrist; Patrascu and Thorup 2012): each code unit of a shingle, split into its low and high
 * byte, selects a random word from a table for its position, and the words are XORed, twice over
 * (two 32-bit halves). The tables (SHINGLE_CHARS positions x 512 entries x 64 bits, 20 KiB) are
 * drawn from the secret with HKDF-SHA-256, so the hash is keyed by the whole secret rather than by
 * a 32-bit seed that could be searched, and no HMAC per shingle (too slow for every message) is
 * needed. It is not a MAC: it keeps anyone without the key from fingerprinting guessed texts
 * to match stored fingerprints, so the key is as secret as the subscriber hash key. Build it once
 * per key (about a millisecond).
 */
export function createContentKey(secret: string | Uint8Array): ContentKey {
  const secretBytes = contentSecretBytes(secret, 'content fingerprint');
  const entries = SHINGLE_CHARS * 512;
  const material = hkdfTables(secretBytes, TABLE_LABEL, entries * 8);
  const low = new Int32Array(entries);
  const high = new Int32Array(entries);
  for (let i = 0; i < entries; i++) {
    low[i] = material.readInt32LE(i * 8);
    high[i] = material.readInt32LE(i * 8 + 4);
  }
  // The same words for code units below 256 with their (zero) high byte's word folded in, so the
  // common case takes one lookup per position instead of two.
  const latinLow = new Int32Array(SHINGLE_CHARS * 256);
  const latinHigh = new Int32Array(SHINGLE_CHARS * 256);
  for (let p = 0; p < SHINGLE_CHARS; p++) {
    for (let c = 0; c < 256; c++) {
      latinLow[(p << 8) | c] = low[(p << 9) | c]! ^ low[(p << 9) | 0x100]!;
      latinHigh[(p << 8) | c] = high[(p << 9) | c]! ^ high[(p << 9) | 0x100]!;
    }
  }
  // Bit-sliced counters: bit b of plane j is bit j of the count of shingles whose hash has bit b
  // set. Shingle hashes are added two at a time with a carry-save adder whose low three planes
  // live in local variables, so a shingle costs a few word operations instead of 64 increments.
  // Scratch shared by calls of this key; safe because a call never yields.
  const planesLow = new Int32Array(32);
  const planesHigh = new Int32Array(32);

  function fingerprintNormalised(text: string): bigint {
    const length = text.length;
    if (length === 0) return 0n;
    const k = Math.min(SHINGLE_CHARS, length);
    const shingles = length - k + 1;
    const planes = Math.max(3, 32 - Math.clz32(shingles));
    planesLow.fill(0, 3, planes);
    planesHigh.fill(0, 3, planes);
    let onesLow = 0;
    let twosLow = 0;
    let foursLow = 0;
    let onesHigh = 0;
    let twosHigh = 0;
    let foursHigh = 0;
    let pendingLow = 0;
    let pendingHigh = 0;
    for (let i = 0; i < shingles; i++) {
      let hashLow = 0;
      let hashHigh = 0;
      for (let p = 0; p < k; p++) {
        const c = text.charCodeAt(i + p);
        if (c < 0x100) {
          hashLow ^= latinLow[(p << 8) | c]!;
          hashHigh ^= latinHigh[(p << 8) | c]!;
        } else {
          const a = (p << 9) | (c & 0xff);
          const b = (p << 9) | 0x100 | (c >>> 8);
          hashLow ^= low[a]! ^ low[b]!;
          hashHigh ^= high[a]! ^ high[b]!;
        }
      }
      if ((i & 1) === 0 && i !== shingles - 1) {
        pendingLow = hashLow;
        pendingHigh = hashHigh;
        continue;
      }
      // Adds this hash and the pending one (0 for a lone last shingle): ones + a + b, carries up.
      let sum = onesLow ^ pendingLow;
      let carry = (onesLow & pendingLow) | (sum & hashLow);
      onesLow = sum ^ hashLow;
      sum = twosLow & carry;
      twosLow ^= carry;
      carry = foursLow & sum;
      foursLow ^= sum;
      for (let j = 3; carry !== 0; j++) {
        const plane = planesLow[j]!;
        planesLow[j] = plane ^ carry;
        carry &= plane;
      }
      sum = onesHigh ^ pendingHigh;
      carry = (onesHigh & pendingHigh) | (sum & hashHigh);
      onesHigh = sum ^ hashHigh;
      sum = twosHigh & carry;
      twosHigh ^= carry;
      carry = foursHigh & sum;
      foursHigh ^= sum;
      for (let j = 3; carry !== 0; j++) {
        const plane = planesHigh[j]!;
        planesHigh[j] = plane ^ carry;
        carry &= plane;
      }
      pendingLow = 0;
      pendingHigh = 0;
    }
    planesLow[0] = onesLow;
    planesLow[1] = twosLow;
    planesLow[2] = foursLow;
    planesHigh[0] = onesHigh;
    planesHigh[1] = twosHigh;
    planesHigh[2] = foursHigh;
    // Bit b of the fingerprint is set when more than half of the shingles set it (ties give 0).
    const half = shingles >>> 1;
    const bitsLow = moreThan(planesLow, planes, half);
    const bitsHigh = moreThan(planesHigh, planes, half);
    return (BigInt(bitsHigh >>> 0) << 32n) | BigInt(bitsLow >>> 0);
  }

  return Object.freeze({ fingerprintNormalised });
}

/** Per bit position, whether the bit-sliced count exceeds `limit`: a bit-parallel comparison. */
function moreThan(planes: Int32Array, count: number, limit: number): number {
  let greater = 0;
  let equal = -1;
  for (let j = count - 1; j >= 0; j--) {
    const plane = planes[j]!;
    if ((limit >>> j) & 1) equal &= plane;
    else {
      greater |= equal & plane;
      equal &= ~plane;
    }
  }
  return greater;
}

/**
 * The content fingerprint of a body: the simhash of `normaliseBody(body)` under `key`, an unsigned
 * 64-bit bigint. Each of the body's SHINGLE_CHARS-character shingles (the whole text if it is
 * shorter) is hashed to 64 bits with the keyed hash of `createContentKey`, and bit b of the
 * fingerprint is set when more than half of the shingles set bit b of their hash. 0n when the body
 * is null, empty or normalises to nothing (punctuation only).
 *
 * Throughput, normalisation included: about 140,000 bodies of ~120 characters per second on one
 * core (Node 24, shared AMD EPYC VM; 400,000 per second for the hash alone); `analyseContent`
 * about 130,000.
 */
export function contentFingerprint(body: string | null | undefined, key: ContentKey): bigint {
  return key.fingerprintNormalised(normaliseBody(body));
}

/** The number of bits (0 to 64) in which two unsigned 64-bit fingerprints differ. */
export function hammingDistance(a: bigint, b: bigint): number {
  const x = BigInt.asUintN(64, a ^ b);
  return popCount32(Number(x & 0xffffffffn)) + popCount32(Number(x >> 32n));
}

function popCount32(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
