import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { createHmacSha256 } from '../src/hmac-sha256.ts';
import { seededRandom } from '../src/index.ts';

const digest = (words: Int32Array) => {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) b.writeInt32BE(words[i]!, 4 * i);
  return b.toString('hex');
};

test('the precomputed-pad HMAC-SHA-256 gives the bits of node:crypto for every key and message length', () => {
  const r = seededRandom(2104);
  const text = (n: number) =>
    Array.from({ length: n }, () =>
      String.fromCodePoint(r() < 0.9 ? 32 + Math.floor(r() * 95) : 0x400 + Math.floor(r() * 0x3000)),
    ).join('');
  // Short and long keys (over 64 bytes a key is hashed first); messages across the one-block
  // (55/56 bytes), two-block and multi-block boundaries, multi-byte UTF-8 included.
  for (const key of [
    'sixteen-byte-key',
    'k'.repeat(64),
    'a longer key that is well over sixty-four bytes of text, hashed first',
    text(20),
  ]) {
    const hmac = createHmacSha256(key);
    for (const n of [0, 1, 12, 54, 55, 56, 57, 63, 64, 65, 119, 120, 200, 1000]) {
      const m = text(n);
      assert.equal(
        digest(hmac(m)),
        createHmac('sha256', key).update(m, 'utf8').digest('hex'),
        `key ${key.length}, message ${n}`,
      );
    }
  }
});
