import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createDistinctCounter,
  DEFAULT_PRECISION,
  type DistinctCounter,
  SPARSE_LIMIT,
} from '../src/sketches/distinct-counter.ts';
import { SketchError } from '../src/sketches/errors.ts';
import { rankOf } from '../src/sketches/registers.ts';
import { createRandom, createRecipientHasher, hashBigInt, recipientStream } from './sketch-streams.ts';

/** Standard error of HyperLogLog with 2^p registers. */
const standardError = (precision: number): number => 1.04 / Math.sqrt(2 ** precision);

function counterOf(recipients: readonly { hi: number; lo: number }[], precision?: number): DistinctCounter {
  const counter = createDistinctCounter({ precision });
  for (const r of recipients) counter.add(r.hi, r.lo);
  return counter;
}

interface LargeRun {
  readonly distinct: number;
  readonly estimate: number;
}

const LARGE_SEEDS = 64;
const CHECKPOINTS = [129, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000];

/**
 * One stream per seed up to 200,000 distinct recipients (from a population of 400,000, so about a
 * third of the adds are repeats), estimated at each checkpoint. Computed once for the tests below.
 */
const largeRuns = ((): (() => LargeRun[]) => {
  let runs: LargeRun[] | undefined;
  return () => {
    if (runs !== undefined) return runs;
    runs = [];
    const out = new Uint32Array(2);
    for (let seed = 1; seed <= LARGE_SEEDS; seed++) {
      const random = createRandom(seed);
      const hasher = createRecipientHasher(seed);
      const seen = new Set<number>();
      const counter = createDistinctCounter();
      let next = 0;
      while (next < CHECKPOINTS.length) {
        const id = random() % 400_000;
        seen.add(id);
        hasher(id, out);
        counter.add(out[0]!, out[1]!);
        if (seen.size === CHECKPOINTS[next]) {
          runs.push({ distinct: seen.size, estimate: counter.estimate() });
          next++;
        }
      }
    }
    return runs;
  };
})();

test('counts exactly, as a brute-force set does, while it holds at most SPARSE_LIMIT recipients', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const population = 1 + (seed % 4) * 60; // 1, 61, 121, 181: some streams pass the limit
    const { recipients } = recipientStream(seed, 400, population);
    const counter = createDistinctCounter();
    const seen = new Set<string>();
    for (const r of recipients) {
      counter.add(r.hi, r.lo);
      seen.add(`${r.hi}:${r.lo}`);
      if (seen.size > SPARSE_LIMIT) break;
      assert.equal(counter.mode, 'sparse');
      assert.equal(counter.estimate(), seen.size, `seed ${seed}`);
    }
  }
});

test('an empty counter estimates 0', () => {
  assert.equal(createDistinctCounter().estimate(), 0);
  assert.equal(createDistinctCounter({ precision: 4 }).estimate(), 0);
});

test('switches to registers at the first recipient past SPARSE_LIMIT, for good', () => {
  const { recipients } = recipientStream(7, 5000, 1 << 30);
  const counter = createDistinctCounter();
  for (const [i, r] of recipients.entries()) {
    counter.add(r.hi, r.lo);
    assert.equal(counter.mode, i < SPARSE_LIMIT ? 'sparse' : 'dense', `after ${i + 1} recipients`);
  }
  // Just past the limit the estimate is linear counting over 4096 registers: within a recipient or two.
  const justPast = counterOf(recipients.slice(0, SPARSE_LIMIT + 1));
  assert.ok(Math.abs(justPast.estimate() - (SPARSE_LIMIT + 1)) < 3, String(justPast.estimate()));
});

test('estimates every stream from 129 to 200,000 recipients within four standard errors', () => {
  const bound = 4 * standardError(DEFAULT_PRECISION); // 6.5%
  const runs = largeRuns();
  assert.equal(runs.length, LARGE_SEEDS * CHECKPOINTS.length);
  for (const { distinct, estimate } of runs) {
    const error = estimate / distinct - 1;
    assert.ok(Math.abs(error) <= bound, `${distinct} recipients estimated as ${estimate}`);
  }
});

test('averages an absolute error close to theory (1.30% at p = 12) and no bias on large counts', () => {
  // For normal errors of standard deviation s the mean absolute error is s * sqrt(2 / pi).
  const expected = standardError(DEFAULT_PRECISION) * Math.sqrt(2 / Math.PI);
  const errors = largeRuns()
    .filter((r) => r.distinct >= 20_000)
    .map((r) => r.estimate / r.distinct - 1);
  const meanAbsolute = errors.reduce((sum, e) => sum + Math.abs(e), 0) / errors.length;
  const mean = errors.reduce((sum, e) => sum + e, 0) / errors.length;
  // 256 runs (64 seeds x 4 sizes, sizes of one seed correlated): about +-10% sampling spread.
  assert.ok(
    meanAbsolute > 0.7 * expected && meanAbsolute < 1.3 * expected,
    `mean absolute error ${meanAbsolute}`,
  );
  assert.ok(Math.abs(mean) < 0.005, `mean error ${mean}`);
});

test('in the small range, up to m/2 recipients, estimates by linear counting over empty registers', () => {
  // Ertl's estimator has linear counting as its small-range limit: m ln(m / empty registers).
  for (const size of [SPARSE_LIMIT + 1, 500, 1000, 2000]) {
    for (let seed = 1; seed <= 10; seed++) {
      const { recipients } = recipientStream(seed * 31 + size, size, 1 << 30);
      const empty = 4096 - new Set(recipients.map((r) => r.hi >>> 20)).size; // index = top 12 bits
      const linearCounting = 4096 * Math.log(4096 / empty);
      const estimate = counterOf(recipients).estimate();
      assert.ok(Math.abs(estimate / linearCounting - 1) < 0.005, `${size}: ${estimate} vs ${linearCounting}`);
    }
  }
});

test('keeps within four standard errors at every supported precision', () => {
  for (const precision of [4, 6, 8, 10, 14, 16, 18]) {
    for (let seed = 1; seed <= 8; seed++) {
      const { recipients, distinct } = recipientStream(1000 * precision + seed, 30_000, 1 << 30);
      const counter = counterOf(recipients, precision);
      const error = counter.estimate() / distinct - 1;
      assert.ok(Math.abs(error) <= 4 * standardError(precision), `p ${precision} seed ${seed}: ${error}`);
    }
  }
});

test('ignores repeats: adding a recipient again changes neither the state nor the estimate', () => {
  for (const size of [1, 5, SPARSE_LIMIT, SPARSE_LIMIT + 1, 3000, 50_000]) {
    const { recipients } = recipientStream(size, size, 1 << 30);
    const counter = counterOf(recipients);
    const bytes = counter.serialize();
    const estimate = counter.estimate();
    for (const r of recipients) assert.equal(counter.add(r.hi, r.lo), false);
    assert.deepEqual(counter.serialize(), bytes, `${size} recipients`);
    assert.equal(counter.estimate(), estimate);
  }
});

test('reports from add whether the state changed', () => {
  const counter = createDistinctCounter();
  assert.equal(counter.add(1, 2), true);
  assert.equal(counter.add(1, 2), false);
  assert.equal(counter.add(1, 3 << 11), true);
  // A hash counts through its top 53 bits: one differing only in the low 11 bits is the same recipient.
  assert.equal(counter.add(1, (3 << 11) | 0x7ff), false);
  assert.equal(counter.estimate(), 2);
});

test('takes the hash as unsigned or signed 32-bit halves or as one bigint, with the same result', () => {
  const hasher = createRecipientHasher(3);
  const out = new Uint32Array(2);
  const unsigned = createDistinctCounter();
  const signed = createDistinctCounter();
  const big = createDistinctCounter();
  for (let id = 0; id < 2000; id++) {
    hasher(id, out);
    unsigned.add(out[0]!, out[1]!);
    signed.add(out[0]! | 0, out[1]! | 0);
    big.addBigInt(hashBigInt(hasher, id));
    if (id === 50 || id === 1999) {
      assert.deepEqual(signed.serialize(), unsigned.serialize());
      assert.deepEqual(big.serialize(), unsigned.serialize());
    }
  }
  // A bigint counts modulo 2^64.
  const wrapped = createDistinctCounter();
  wrapped.addBigInt((1n << 64n) + 12345n);
  wrapped.addBigInt(12345n);
  assert.equal(wrapped.estimate(), 1);
});

test('a sender with five recipients retains 128 bytes, 40 of them the fingerprints', () => {
  const counter = counterOf(recipientStream(5, 5, 1 << 30).recipients);
  assert.equal(counter.estimate(), 5);
  assert.ok(counter.byteSize() <= 128, String(counter.byteSize()));
  assert.equal(createDistinctCounter().byteSize(), 40);
  assert.equal(counterOf([{ hi: 0x80000000, lo: 0 }]).byteSize(), 56);
  const full = counterOf(recipientStream(9, SPARSE_LIMIT, 1 << 30).recipients);
  assert.ok(full.byteSize() <= 88 + 8 * SPARSE_LIMIT, String(full.byteSize()));
  // Registers at p = 12 cost 4 KiB plus a histogram and object headers; p = 16 sixteen times that.
  const dense = counterOf(recipientStream(11, 1000, 1 << 30).recipients);
  assert.ok(dense.byteSize() > 4096 && dense.byteSize() < 5000, String(dense.byteSize()));
  const fine = counterOf(recipientStream(11, 1000, 1 << 30).recipients, 16);
  assert.ok(fine.byteSize() > 65_536 && fine.byteSize() < 67_000, String(fine.byteSize()));
});

test('refuses a precision outside 4 to 18 or not an integer', () => {
  for (const precision of [3, 19, 12.5, Number.NaN]) {
    assert.throws(
      () => createDistinctCounter({ precision }),
      (e: unknown) => e instanceof SketchError && e.code === 'SKETCH_PRECISION_INVALID' && !e.retriable,
    );
  }
  assert.equal(createDistinctCounter({ precision: 4 }).precision, 4);
  assert.equal(createDistinctCounter({ precision: 18 }).precision, 18);
  assert.equal(createDistinctCounter().precision, DEFAULT_PRECISION);
});

test('a clone is independent of its original, sparse or dense', () => {
  for (const size of [0, 1, 5, 3000]) {
    const { recipients } = recipientStream(size + 1, size, 1 << 30);
    const original = counterOf(recipients);
    const bytes = original.serialize();
    const copy = original.clone();
    assert.deepEqual(copy.serialize(), bytes);
    for (const r of recipientStream(size + 2, 200, 1 << 30).recipients) copy.add(r.hi, r.lo);
    assert.deepEqual(original.serialize(), bytes, `original of ${size} recipients changed`);
    assert.ok(copy.estimate() > original.estimate());
  }
});

test('ranks a hash by the leading zeros after its register index, across both halves, up to 54 - p', () => {
  const p = 12;
  assert.equal(rankOf(0xfff80000, 0, p), 1); // first bit after the index is 1
  assert.equal(rankOf(0xfff00001, 0, p), 20); // the last bit of hi
  assert.equal(rankOf(0xfff00000, 0x80000000, p), 21); // the first bit of lo
  assert.equal(rankOf(0xfff00000, 0x00000800, p), 41); // the last of lo's 21 fingerprint bits
  assert.equal(rankOf(0xfff00000, 0x000007ff, p), 42); // the 11 low bits of lo do not count
  assert.equal(rankOf(0, 0, 4), 50);
  assert.equal(rankOf(0, 0, 18), 36);
});
