/**
 * Keyed hashing of subscriber numbers. Hashing a phone number alone is not anonymisation (the
 * number space can be enumerated), so recipients are hashed with HMAC-SHA-256 under a secret
 * key from configuration; data teams can count and join on the hash but not read the number.
 * The key is rotatable: a new key gives new hashes (old and new do not join), which is the point.
 */
import { type ParseResult, type Setting, setting } from './config.ts';
import { SpamgateError } from './errors.ts';
import { createHmacSha256 } from './hmac-sha256.ts';

/** Minimum key length in bytes; shorter keys are refused. */
export const MIN_HASH_KEY_BYTES = 16;

/** Example keys published with spamgate: a deployment that kept one has no secret. */
const PUBLISHED_KEYS: ReadonlySet<string> = new Set(['compose-dev-only-hash-key']);
/** A key of fewer distinct characters ("aaaa...", "1111...") is guessable however long. */
const MIN_DISTINCT_KEY_CHARS = 8;

/** Why `key` is no secret to hash subscribers with, or undefined when it will do. */
export function weakHashKey(key: string): string | undefined {
  if (Buffer.byteLength(key, 'utf8') < MIN_HASH_KEY_BYTES) return `shorter than ${MIN_HASH_KEY_BYTES} bytes`;
  if (new Set(key).size < MIN_DISTINCT_KEY_CHARS)
    return `fewer than ${MIN_DISTINCT_KEY_CHARS} distinct characters`;
  if (PUBLISHED_KEYS.has(key)) return 'an example key published with spamgate';
  return undefined;
}

/**
 * SPAMGATE_HASH_KEY, one secret per deployment: every service hashes with it (the feature engine
 * its recipients and content, every service the keys of its dead letters), so hashes join.
 */
export const hashKeySetting: Setting<string> = {
  ...setting.string({
    variable: 'SPAMGATE_HASH_KEY',
    doc: "Secret for keyed hashes of subscriber numbers (recipients, dead letters' keys) and, unless SPAMGATE_CONTENT_KEY is set, content fingerprints (16 bytes or more, 8 distinct characters or more: openssl rand -hex 24); the same in every service.",
    expected: 'a random secret of at least 16 bytes and 8 distinct characters (openssl rand -hex 24)',
    secret: true,
  }),
  parse: parseSecretKey,
};

/** A secret key setting's value, refused when weakHashKey says it is no secret. */
function parseSecretKey(raw: string): ParseResult<string> {
  return weakHashKey(raw) === undefined ? { ok: true, value: raw } : { ok: false };
}

/** A secret key that may be left unset (never echoed in errors or docs). */
function optionalSecretKey(variable: string, doc: string): Setting<string | undefined> {
  return {
    variable,
    doc,
    expected: 'a random secret of at least 16 bytes and 8 distinct characters (openssl rand -hex 24)',
    optional: true,
    secret: true,
    parse: parseSecretKey,
  };
}

/**
 * SPAMGATE_PREVIOUS_HASH_KEY: the key SPAMGATE_HASH_KEY replaces, set for the transition window
 * of a rotation (docs/key-rotation.md): state under it is still read, and moved to the new key
 * as its numbers are seen again. Unset outside a rotation.
 */
export const previousHashKeySetting: Setting<string | undefined> = optionalSecretKey(
  'SPAMGATE_PREVIOUS_HASH_KEY',
  'During a hash-key rotation only: the key SPAMGATE_HASH_KEY replaces. State under it is read and moved to the new key as its numbers are seen again (docs/key-rotation.md); remove it when the feature engine reports the rotation finished.',
);

/**
 * SPAMGATE_CONTENT_KEY: the secret content fingerprints and cluster ids are keyed with. They name
 * templates, not people, so they have a key of their own that a rotation of SPAMGATE_HASH_KEY
 * leaves alone; unset, it is the hash key (as before it existed).
 */
export const contentKeySetting: Setting<string | undefined> = optionalSecretKey(
  'SPAMGATE_CONTENT_KEY',
  'Secret for content fingerprints and cluster ids (and sender number blocks); unset: SPAMGATE_HASH_KEY. When rotating the hash key, set it to the old hash key so clusters, content decisions and content overrides keep matching; the same in the feature engine and the firewall.',
);

/**
 * A hash key's 16-bit tag: the first four hex digits of its id (hashKeyId), what a relation book
 * records of the key it was keyed under. A rotation between two keys of one tag is refused.
 */
export function hashKeyTag(key: string): number {
  return Number.parseInt(hashKeyId(key).slice(0, 4), 16);
}

/**
 * A start that would lose state of a rotation not yet finished (HASH_KEY_ROTATION_UNFINISHED), or
 * a rotation that cannot begin: fatal at start, with what to do.
 */
export class HashKeyRotationError extends SpamgateError {
  override name = 'HashKeyRotationError';
  constructor(message: string) {
    super(`${message}; see docs/key-rotation.md`, { code: 'HASH_KEY_ROTATION_UNFINISHED', retriable: false });
  }
}

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

/**
 * The id of a hash key: 16 hex digits of HMAC-SHA-256(key, a fixed label). Stored with the state
 * the key's hashes are in, it tells a changed key without revealing either.
 */
export function hashKeyId(key: string): string {
  // Upper case: the subscriber hasher lower-cases what it hashes, so no hash in the data equals an id.
  const words = createHmacSha256(key)('SPAMGATE HASH KEY ID V1');
  return [words[0]!, words[1]!].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
}

/** State written under one hash key met with another (HASH_KEY_MISMATCH): fatal at start. */
export class HashKeyMismatchError extends SpamgateError {
  override name = 'HashKeyMismatchError';
  constructor(where: string, stored: string, configured: string) {
    super(
      `${where} was written under hash key ${stored}, but SPAMGATE_HASH_KEY is key ${configured}: its opt-outs, contacts and clusters hold the other key's hashes and would silently stop matching. Start with the key that wrote it; to change keys, see README "Changing the hash key"`,
      { code: 'HASH_KEY_MISMATCH', retriable: false },
    );
  }
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
