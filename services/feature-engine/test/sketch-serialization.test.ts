import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDistinctCounter,
  type DistinctCounter,
  deserializeDistinctCounter,
  SERIALIZATION_VERSION,
  SPARSE_LIMIT,
} from '../src/sketches/distinct-counter.ts';
import { SketchError } from '../src/sketches/errors.ts';
import { createRandom, type Recipient, recipientStream } from './sketch-streams.ts';

function counterOf(recipients: readonly Recipient[], precision?: number): DistinctCounter {
  const counter = createDistinctCounter({ precision });
  for (const r of recipients) counter.add(r.hi, r.lo);
  return counter;
}

const isInvalidBytes = (e: unknown): boolean => e instanceof SketchError && e.code === 'SKETCH_BYTES_INVALID';

// Sizes covering every form: empty, a lone fingerprint, sparse arrays, the limit, registers listed
// (fewer than m/4 set) and registers packed.
const SIZES = [0, 1, 2, 5, SPARSE_LIMIT - 1, SPARSE_LIMIT, SPARSE_LIMIT + 1, 500, 1100, 5000, 200_000];

test('a restored counter has the same bytes and estimate, and further adds behave identically', () => {
  for (let seed = 1; seed <= 50; seed++) {
    for (const size of SIZES) {
      if (size === 200_000 && seed > 5) continue; // the largest size on a few seeds keeps this quick
      const { recipients } = recipientStream(seed * 100 + SIZES.indexOf(size), size, 4 * size + 1);
      const original = counterOf(recipients);
      const bytes = original.serialize();
      const restored = deserializeDistinctCounter(bytes);
      assert.deepEqual(restored.serialize(), bytes, `seed ${seed} size ${size}`);
      assert.equal(restored.estimate(), original.estimate());
      assert.equal(restored.mode, original.mode);
      assert.equal(restored.byteSize(), original.byteSize());
      // Carry on with 300 more adds (half repeats): both take the same path, sparse to dense included.
      const more = recipientStream(seed + 7, 150, 1 << 30).recipients;
      for (const r of [...more, ...recipients.slice(0, 150)]) {
        assert.equal(restored.add(r.hi, r.lo), original.add(r.hi, r.lo));
      }
      assert.deepEqual(restored.serialize(), original.serialize());
      assert.equal(restored.estimate(), original.estimate());
    }
  }
});

test('round trips at every precision', () => {
  for (const precision of [4, 5, 9, 12, 16, 18]) {
    for (const size of [0, 1, 40, 1000, 20_000]) {
      const counter = counterOf(recipientStream(precision * size + 1, size, 1 << 30).recipients, precision);
      const restored = deserializeDistinctCounter(counter.serialize());
      assert.equal(restored.precision, precision);
      assert.equal(restored.estimate(), counter.estimate(), `p ${precision} size ${size}`);
      assert.deepEqual(restored.serialize(), counter.serialize());
    }
  }
});

test('writes a version, precision and encoding byte, then 7 bytes per recipient while sparse', () => {
  const five = counterOf(recipientStream(1, 5, 1 << 30).recipients).serialize();
  assert.deepEqual([...five.subarray(0, 3)], [SERIALIZATION_VERSION, 12, 0]);
  assert.equal(five.length, 3 + 5 * 7); // 38 bytes for a sender with five recipients
  assert.equal(createDistinctCounter().serialize().length, 3);
  assert.equal(
    counterOf(recipientStream(2, SPARSE_LIMIT, 1 << 30).recipients).serialize().length,
    3 + 7 * SPARSE_LIMIT,
  );
});

test('writes registers as a list of the set ones until a quarter are set, then packed in 6 bits', () => {
  for (const size of [SPARSE_LIMIT + 1, 300, 900, 1100, 1300, 2000, 50_000]) {
    const { recipients } = recipientStream(size, size, 1 << 30);
    const counter = counterOf(recipients);
    const bytes = counter.serialize();
    // A register is set when some recipient's hash starts with its 12-bit index.
    const set = new Set(recipients.map((r) => r.hi >>> 20)).size;
    if (set < 4096 / 4) {
      assert.equal(bytes[2], 1, `${size}: listed`);
      assert.equal(bytes.length, 3 + 3 * set);
    } else {
      assert.equal(bytes[2], 2, `${size}: packed`);
      assert.equal(bytes.length, 3 + 3072);
    }
    assert.equal(deserializeDistinctCounter(bytes).estimate(), counter.estimate());
  }
});

test('equal states serialize to equal bytes whatever order the recipients came in', () => {
  for (const size of [5, SPARSE_LIMIT, 3000]) {
    const { recipients } = recipientStream(size, size, 1 << 30);
    assert.deepEqual(counterOf(recipients).serialize(), counterOf(recipients.toReversed()).serialize());
  }
});

test('restores a sparse state longer than SPARSE_LIMIT, as another build may write, as registers', () => {
  const { recipients } = recipientStream(5, 200, 1 << 30);
  // Format version 1, sparse: the fingerprints (top 53 bits of each hash) sorted, 7 bytes each.
  const fingerprints = [...new Set(recipients.map((r) => (BigInt(r.hi) << 21n) | BigInt(r.lo >>> 11)))].sort(
    (a, b) => (a < b ? -1 : 1),
  );
  const bytes = new Uint8Array(3 + 7 * fingerprints.length);
  bytes.set([1, 12, 0]);
  const view = new DataView(bytes.buffer);
  for (const [i, f] of fingerprints.entries()) {
    view.setUint8(3 + 7 * i, Number(f >> 48n));
    view.setUint16(4 + 7 * i, Number((f >> 32n) & 0xffffn));
    view.setUint32(6 + 7 * i, Number(f & 0xffffffffn));
  }
  const restored = deserializeDistinctCounter(bytes);
  assert.equal(restored.mode, 'dense');
  assert.deepEqual(restored.serialize(), counterOf(recipients).serialize());
});

test('rejects truncated, corrupt or unknown-version bytes with SKETCH_BYTES_INVALID', () => {
  const sparse = counterOf(recipientStream(1, 5, 1 << 30).recipients).serialize();
  const listed = counterOf(recipientStream(2, 500, 1 << 30).recipients).serialize();
  const packed = counterOf(recipientStream(3, 5000, 1 << 30).recipients).serialize();
  const withByte = (bytes: Uint8Array, at: number, value: number): Uint8Array => {
    const copy = bytes.slice();
    copy[at] = value;
    return copy;
  };
  const swapped = sparse.slice();
  swapped.set(sparse.subarray(3, 10), 10);
  swapped.set(sparse.subarray(10, 17), 3);
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['header only, cut', sparse.subarray(0, 2)],
    ['unknown version', withByte(sparse, 0, 2)],
    ['version 0', withByte(sparse, 0, 0)],
    ['precision too small', withByte(sparse, 1, 3)],
    ['precision too large', withByte(sparse, 1, 19)],
    ['unknown encoding', withByte(sparse, 2, 3)],
    ['sparse body cut mid-fingerprint', sparse.subarray(0, sparse.length - 1)],
    ['fingerprint wider than 53 bits', withByte(sparse, 3, 0x20)],
    ['fingerprints out of order', swapped],
    ['fingerprint repeated', Uint8Array.from([...sparse.subarray(0, 10), ...sparse.subarray(3, 10)])],
    ['listed body cut', listed.subarray(0, listed.length - 2)],
    ['listed register index beyond m', Uint8Array.from([1, 12, 1, 0xff, 0xff, 0xc1])],
    ['listed register of value 0', Uint8Array.from([1, 12, 1, 0, 0, 0x40])],
    ['listed register above 54 - p', Uint8Array.from([1, 12, 1, 0, 0, 43])],
    ['listed indexes not increasing', Uint8Array.from([1, 12, 1, 0, 0, 0x41, 0, 0, 0x41])],
    ['packed body cut', packed.subarray(0, packed.length - 3)],
    ['packed register above 54 - p', withByte(packed, 3, 0xff)],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => deserializeDistinctCounter(bytes), isInvalidBytes, name);
  }
});

test('throws nothing but SketchError on randomly damaged bytes, and what it accepts round trips', () => {
  const random = createRandom(99);
  const originals = [0, 1, 5, 100, 500, 5000].map((size) =>
    counterOf(recipientStream(size + 3, size, 1 << 30).recipients).serialize(),
  );
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const original = originals[i % originals.length]!;
    let bytes = original.slice();
    const damage = random() % 3;
    if (damage === 0 && bytes.length > 0) {
      const at = random() % bytes.length;
      bytes[at] = bytes[at]! ^ (1 << (random() % 8));
    }
    if (damage === 1) bytes = bytes.subarray(0, random() % (bytes.length + 1));
    if (damage === 2) bytes = Uint8Array.from([...bytes, random() & 0xff]);
    let restored: DistinctCounter;
    try {
      restored = deserializeDistinctCounter(bytes);
    } catch (e) {
      assert.ok(isInvalidBytes(e), String(e));
      continue;
    }
    accepted++;
    assert.ok(Number.isFinite(restored.estimate()));
    assert.equal(deserializeDistinctCounter(restored.serialize()).estimate(), restored.estimate());
  }
  assert.ok(accepted > 0 && accepted < 3000, `${accepted} of 3000 damaged inputs accepted`);
});

test('restores from a slice of a larger buffer, such as a Kafka message, without sharing its memory', () => {
  for (const size of [5, 500, 5000]) {
    const counter = counterOf(recipientStream(size, size, 1 << 30).recipients);
    const message = Buffer.concat([Buffer.from([9, 9, 9]), counter.serialize(), Buffer.from([7])]);
    const bytes = message.subarray(3, message.length - 1);
    const restored = deserializeDistinctCounter(bytes);
    assert.deepEqual(restored.serialize(), counter.serialize());
    message.fill(0);
    assert.equal(restored.estimate(), counter.estimate());
  }
});
