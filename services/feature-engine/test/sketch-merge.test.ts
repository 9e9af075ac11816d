import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDistinctCounter,
  type DistinctCounter,
  mergeDistinctCounters,
  SPARSE_LIMIT,
} from '../src/sketches/distinct-counter.ts';
import { SketchError } from '../src/sketches/errors.ts';
import { Registers } from '../src/sketches/registers.ts';
import { createRandom, type Recipient, recipientStream } from './sketch-streams.ts';

function counterOf(recipients: readonly Recipient[], precision?: number): DistinctCounter {
  const counter = createDistinctCounter({ precision });
  for (const r of recipients) counter.add(r.hi, r.lo);
  return counter;
}

/**
 * Two overlapping recipient lists drawn from one population, so their union has repeats across
 * the two; `sizes` are the list lengths.
 */
function overlapping(seed: number, sizes: readonly [number, number], population: number): Recipient[][] {
  const { recipients } = recipientStream(seed, sizes[0] + sizes[1], population);
  return [recipients.slice(0, sizes[0]), recipients.slice(sizes[0])];
}

// The serialized form is canonical (see serialization tests): equal bytes mean equal registers or
// equal fingerprint sets, and equal precision and form.

test('merging two sparse counters gives the counter of their union, sparse while the union fits', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const sizes: [number, number] = [seed % 7, (seed * 37) % 200];
    const [a, b] = overlapping(seed, sizes, 250);
    const union = counterOf([...a!, ...b!]);
    const merged = counterOf(a!).merge(counterOf(b!));
    assert.deepEqual(merged.serialize(), union.serialize(), `seed ${seed}`);
    const distinct = new Set([...a!, ...b!].map((r) => `${r.hi}:${r.lo}`)).size;
    assert.equal(merged.mode, distinct <= SPARSE_LIMIT ? 'sparse' : 'dense');
    if (distinct <= SPARSE_LIMIT) assert.equal(merged.estimate(), distinct);
  }
});

test('merging across the sparse limit gives registers identical to counting the union directly', () => {
  const cases: [number, number][] = [
    [100, 100],
    [SPARSE_LIMIT, 1],
    [5, 50_000],
    [50_000, 5],
    [3000, 3000],
    [60_000, 90_000],
  ];
  for (const [i, sizes] of cases.entries()) {
    for (let seed = 1; seed <= 10; seed++) {
      const [a, b] = overlapping(100 * i + seed, sizes, 2 * (sizes[0] + sizes[1]));
      const union = counterOf([...a!, ...b!]);
      assert.deepEqual(
        counterOf(a!).merge(counterOf(b!)).serialize(),
        union.serialize(),
        `${sizes} seed ${seed}`,
      );
      assert.deepEqual(
        counterOf(b!).merge(counterOf(a!)).serialize(),
        union.serialize(),
        `${sizes} reversed`,
      );
    }
  }
});

test('a window merged from slices equals a counter of the whole window, in any order and grouping', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const random = createRandom(seed);
    // 60 one-minute slices: mostly a handful of recipients, a few bursts, some empty.
    const slices = Array.from({ length: 60 }, (_, i) => {
      const size = i % 17 === 0 ? 2000 + (random() % 3000) : random() % 8;
      return recipientStream(seed * 1000 + i, size, 20_000).recipients;
    });
    const whole = counterOf(slices.flat()).serialize();
    const counters = slices.map((s) => counterOf(s));

    const forward = createDistinctCounter();
    for (const c of counters) forward.merge(c);
    assert.deepEqual(forward.serialize(), whole);

    const backward = createDistinctCounter();
    for (const c of counters.toReversed()) backward.merge(c);
    assert.deepEqual(backward.serialize(), whole);

    let level = counters.map((c) => c.clone());
    while (level.length > 1) {
      level = Array.from({ length: Math.ceil(level.length / 2) }, (_, i) =>
        mergeDistinctCounters(level[2 * i]!, ...level.slice(2 * i + 1, 2 * i + 2)),
      );
    }
    assert.deepEqual(level[0]!.serialize(), whole);
  }
});

test('merging leaves the merged-in counter unchanged and is idempotent', () => {
  for (const size of [0, 1, 5, SPARSE_LIMIT, 5000]) {
    const { recipients } = recipientStream(size + 17, size, 1 << 30);
    const other = counterOf(recipients);
    const otherBytes = other.serialize();
    const target = counterOf(recipientStream(size + 18, 40, 1 << 30).recipients);
    target.merge(other);
    const once = target.serialize();
    assert.deepEqual(other.serialize(), otherBytes, `${size}: the merged-in counter changed`);
    target.merge(other);
    assert.deepEqual(target.serialize(), once, `${size}: merging twice differs from once`);
    assert.deepEqual(other.merge(other).serialize(), otherBytes, `${size}: merging with itself changed it`);
  }
});

test('mergeDistinctCounters builds a new counter and leaves its inputs unchanged', () => {
  const parts = [3, 70, 4000, 0].map((size, i) =>
    counterOf(recipientStream(i + 1, size, 1 << 30).recipients),
  );
  const before = parts.map((c) => c.serialize());
  const all = mergeDistinctCounters(parts[0]!, ...parts.slice(1));
  assert.deepEqual(
    all.serialize(),
    counterOf(
      [3, 70, 4000, 0].flatMap((size, i) => recipientStream(i + 1, size, 1 << 30).recipients),
    ).serialize(),
  );
  assert.deepEqual(
    parts.map((c) => c.serialize()),
    before,
  );
  assert.deepEqual(mergeDistinctCounters(parts[1]!).serialize(), before[1]);
});

test('refuses to merge counters of different precision', () => {
  assert.throws(
    () => createDistinctCounter({ precision: 12 }).merge(createDistinctCounter({ precision: 14 })),
    (e: unknown) => e instanceof SketchError && e.code === 'SKETCH_PRECISION_MISMATCH',
  );
});

test('merges registers four at a time exactly as a register-wise maximum', () => {
  for (const precision of [4, 5, 12, 18]) {
    const random = createRandom(precision);
    const maxRank = 54 - precision;
    for (let round = 0; round < (precision === 18 ? 2 : 20); round++) {
      const m = 2 ** precision;
      // Small values, the maximum, and ties, in every byte lane.
      const value = (): number => (random() % 4 === 0 ? maxRank : random() % (maxRank + 1));
      const a = Uint8Array.from({ length: m }, value);
      const b = Uint8Array.from({ length: m }, (_, i) => (i % 5 === 0 ? a[i]! : value()));
      const merged = Registers.fromValues(precision, a);
      merged.merge(Registers.fromValues(precision, b));
      assert.deepEqual(
        merged.bytes,
        a.map((x, i) => Math.max(x, b[i]!)),
      );
      // The histogram the estimate uses is rebuilt after a merge.
      assert.equal(merged.nonZero(), merged.bytes.filter((x) => x > 0).length);
    }
  }
});

test('a reset counter merged again holds exactly the union a fresh one would, whatever it held before', () => {
  const next = createRandom(91);
  const random = () => next() / 2 ** 32;
  // Sparse and dense parts, so a reset counter goes dense, back to empty, and sparse or dense again.
  const parts = Array.from({ length: 12 }, (_, i) => {
    const size = random() < 0.4 ? Math.floor(random() * 20) : SPARSE_LIMIT + Math.floor(random() * 3_000);
    return counterOf(recipientStream(500 + i, size, 5_000).recipients);
  });
  const before = parts.map((p) => p.serialize());
  const reused = createDistinctCounter();
  for (let round = 0; round < 40; round++) {
    const chosen = parts.filter(() => random() < 0.35);
    const fresh = createDistinctCounter();
    reused.reset();
    for (const p of chosen) {
      fresh.merge(p);
      reused.merge(p);
    }
    assert.deepEqual(reused.serialize(), fresh.serialize(), `round ${round}`);
    assert.equal(reused.estimate(), fresh.estimate());
  }
  // The parts themselves are untouched by every union built from them.
  assert.deepEqual(
    parts.map((p) => p.serialize()),
    before,
  );
});
