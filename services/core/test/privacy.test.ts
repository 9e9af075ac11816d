import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  createSubscriberHasher,
  hashKeyId,
  hashKeySetting,
  loadConfig,
  normaliseAddress,
  SpamgateError,
  weakHashKey,
} from '../src/index.ts';

const KEY = 'test-key-0123456789abcdef';

test('a subscriber number hashes to a stable unsigned 64-bit value under one key', () => {
  const h = createSubscriberHasher(KEY);
  const a = h.hash('+12025550100');
  assert.match(a, /^\d{1,20}$/);
  assert.equal(h.hash('+12025550100'), a);
  assert.ok(h.hashBigInt('+12025550100') < 2n ** 64n);
  assert.equal(h.hash(' +1 (202) 555-0100 '), a, 'formatting does not change the hash');
  assert.notEqual(h.hash('+12025550101'), a);
});

test('another key gives unrelated hashes, and the number never appears in the output', () => {
  const a = createSubscriberHasher(KEY).hash('+12025550100');
  const b = createSubscriberHasher(`${KEY}-rotated`).hash('+12025550100');
  assert.notEqual(a, b);
  assert.ok(!a.includes('2025550100'));
});

test('hashes of many numbers do not collide', () => {
  const h = createSubscriberHasher(KEY);
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) seen.add(h.hash(`+1202${String(i).padStart(7, '0')}`));
  assert.equal(seen.size, 100_000);
});

test('a short key is refused', () => {
  assert.throws(
    () => createSubscriberHasher('short'),
    (e: unknown) => e instanceof SpamgateError && e.code === 'HASH_KEY_TOO_SHORT',
  );
});

test('non-numeric addresses are lower-cased, numeric ones lose formatting', () => {
  assert.equal(normaliseAddress('+1 202.555-0100'), '+12025550100');
  assert.equal(normaliseAddress('  MyBank '), 'mybank');
});

test('a hash key has an id that tells keys apart without revealing them', () => {
  const a = 'a-secret-key-0123456789';
  const id = hashKeyId(a);
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(hashKeyId(a), id, 'stable');
  assert.notEqual(hashKeyId(`${a}x`), id);
  assert.ok(!id.includes('secret'));
  // Not the hash of any number under the key: the id cannot be matched against hashed data.
  assert.notEqual(BigInt(`0x${id}`).toString(), createSubscriberHasher(a).hash('SPAMGATE HASH KEY ID V1'));
});

test('a hash key that is no secret is refused at start, by name and without its value', () => {
  assert.equal(weakHashKey('0123456789abcdef0123'), undefined);
  assert.equal(weakHashKey('7f3e9c1a5b2d8e4f'), undefined);
  assert.match(weakHashKey('short-key') ?? '', /shorter than 16 bytes/);
  assert.match(weakHashKey('a'.repeat(64)) ?? '', /fewer than 8 distinct/);
  assert.match(weakHashKey('1212121212121212') ?? '', /fewer than 8 distinct/);
  // The example docker-compose once shipped: whoever kept it has no secret.
  assert.match(weakHashKey('compose-dev-only-hash-key') ?? '', /published/);
  const spec = { hashKey: hashKeySetting };
  assert.throws(
    () => loadConfig(spec, { SPAMGATE_HASH_KEY: 'compose-dev-only-hash-key' }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /SPAMGATE_HASH_KEY/.test(err.message) &&
      /openssl rand -hex 24/.test(err.message) &&
      !err.message.includes('compose-dev-only'),
  );
  assert.throws(() => loadConfig(spec, {}), ConfigError, 'required');
  assert.equal(
    loadConfig(spec, { SPAMGATE_HASH_KEY: 'a1b2c3d4e5f60718293a' }).hashKey,
    'a1b2c3d4e5f60718293a',
  );
});
