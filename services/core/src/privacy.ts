/**
 * Keyed hashing of subscriber numbers. Hashing a phone number alone is not anonymisation (the
 * number space can be enumerated), so recipients are hashed with HMAC-SHA-256 under a secret
 * key from configuration; data teams can count and join on the hash but not read the number.
 * The key is rotatable: a new key gives new hashes (old and new do not join), which is the point.
 */
import { SpamgateError } from './errors.ts';
import { createHmacSha256 } from './hmac-sha256.ts';

/** Minimum key length in bytes; shorter keys are refused. */
export const MIN_HASH_KEY_BYTES = 16;

export interface SubscriberHasher {
  /** The first 8 bytes of HMAC-SHA-256(key, normalised number), as an unsigned 64-bit decimal string. */
  hash(number: string): string;
  /** The same value as a bigint. */
  hashBigInt(number: string): bigint;
  /** The same value as two unsigned 32-bit halves (no bigint on the hot path). */
  hashHalves(number: string): { hi: number; lo: number };
}

/** Normalises an address before hashing so "+1 (202) 555-0100" and "+12025550100" hash alike. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim();
  const digits = trimmed.replace(/[\s().-]/g, '');
  return /^\+?\d+$/.test(digits) ? digits : trimmed.toLowerCase();
}

export function createSubscriberHasher(key: string): SubscriberHasher {
  if (Buffer.byteLength(key, 'utf8') < MIN_HASH_KEY_BYTES) {
    throw new SpamgateError(`the subscriber hash key must be at least ${MIN_HASH_KEY_BYTES} bytes`, {
      code: 'HASH_KEY_TOO_SHORT',
    });
  }
  const hmac = createHmacSha256(key);
  const hashHalves = (number: string) => {
    const words = hmac(normaliseAddress(number));
    return { hi: words[0]! >>> 0, lo: words[1]! >>> 0 };
  };
  const hashBigInt = (number: string): bigint => {
    const { hi, lo } = hashHalves(number);
    return (BigInt(hi) << 32n) | BigInt(lo);
  };
  return { hashBigInt, hashHalves, hash: (number) => hashBigInt(number).toString() };
}
