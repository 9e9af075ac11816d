/**
 * Micro-benchmark of the distinct counter: operations per second and retained bytes per counter.
 * Run: node services/feature-engine/src/sketches/bench-sketch.ts
 * Not part of the service; numbers depend on the machine, compare them on one machine only.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createDistinctCounter,
  type DistinctCounter,
  deserializeDistinctCounter,
  SPARSE_LIMIT,
} from './distinct-counter.ts';

/** 1M random 64-bit hashes as (hi, lo) pairs from a fixed seed, so runs are comparable. */
const HASHES = 1_000_000;
const halves = new Uint32Array(2 * HASHES);
{
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = 1;
  for (let i = 0; i < halves.length; i++) {
    // sfc32
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    halves[i] = t;
  }
}

/** Runs `body` (which does `ops` operations) until a second has passed; prints operations per second. */
function rate(name: string, ops: number, body: () => void): void {
  body(); // warm-up: let the optimizing compiler see the code first
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0;
  while (elapsedNs < 1e9) {
    body();
    done += ops;
    elapsedNs = Number(process.hrtime.bigint() - start);
  }
  const perSecond = done / (elapsedNs / 1e9);
  console.log(
    `${name.padEnd(52)} ${format(perSecond).padStart(8)}/s  ${(1e9 / perSecond).toFixed(1).padStart(8)} ns/op`,
  );
}

function format(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(0);
}

function filled(count: number, offset = 0): DistinctCounter {
  const counter = createDistinctCounter();
  for (let i = offset; i < offset + count; i++) counter.add(halves[2 * i]!, halves[2 * i + 1]!);
  return counter;
}

let sink = 0; // results go here so the compiler cannot drop the work

console.log(`distinct counter, precision 12, sparse limit ${SPARSE_LIMIT}, Node ${process.version}`);

rate('add, dense (1M distinct hashes into a fresh counter)', HASHES, () => {
  const counter = createDistinctCounter();
  for (let i = 0; i < HASHES; i++) counter.add(halves[2 * i]!, halves[2 * i + 1]!);
  sink += counter.estimate();
});
const big = filled(HASHES);
rate('add, dense, repeats (1M hashes already counted)', HASHES, () => {
  for (let i = 0; i < HASHES; i++) big.add(halves[2 * i]!, halves[2 * i + 1]!);
});
rate('addBigInt, dense (hash as one bigint)', 100_000, () => {
  const counter = createDistinctCounter();
  for (let i = 0; i < 100_000; i++) {
    counter.addBigInt((BigInt(halves[2 * i]!) << 32n) | BigInt(halves[2 * i + 1]!));
  }
  sink += counter.estimate();
});
rate('add, sparse (ordinary sender: 5 adds to a fresh counter)', 100_000 * 5, () => {
  for (let s = 0; s < 100_000; s++) {
    const counter = createDistinctCounter();
    for (let i = 0; i < 5; i++) counter.add(halves[2 * (s + i)]!, halves[2 * (s + i) + 1]!);
    sink += counter.estimate();
  }
});
rate(`add, sparse up to the limit (${SPARSE_LIMIT} adds to a fresh counter)`, 10_000 * SPARSE_LIMIT, () => {
  for (let s = 0; s < 10_000; s++) {
    const counter = createDistinctCounter();
    for (let i = s; i < s + SPARSE_LIMIT; i++) counter.add(halves[2 * i]!, halves[2 * i + 1]!);
    sink += counter.estimate();
  }
});

const denseSlices = Array.from({ length: 60 }, (_, i) => filled(20_000, i * 10_000));
rate('merge, dense into dense (60 slices into a window)', 60, () => {
  const window = createDistinctCounter();
  for (const slice of denseSlices) window.merge(slice);
  sink += window.estimate();
});
const sparseSlices = Array.from({ length: 60 }, (_, i) => filled(1 + (i % 3), i * 7));
rate('merge, sparse into sparse (60 slices of 1-3 into a window)', 60 * 1000, () => {
  for (let r = 0; r < 1000; r++) {
    const window = createDistinctCounter();
    for (const slice of sparseSlices) window.merge(slice);
    sink += window.estimate();
  }
});
const smallSlices = Array.from({ length: 60 }, (_, i) => filled(5, i * 5));
rate('merge, sparse into dense (60 slices of 5)', 60 * 1000, () => {
  for (let r = 0; r < 1000; r++) {
    const window = denseSlices[0]!.clone();
    for (const slice of smallSlices) window.merge(slice);
    sink += window.estimate();
  }
});
rate('estimate, dense, after a merge (rebuilds the histogram)', 1000, () => {
  for (let r = 0; r < 1000; r++) sink += big.clone().merge(denseSlices[0]!).estimate();
});
rate('estimate, dense, unchanged since the last one', 100_000, () => {
  for (let r = 0; r < 100_000; r++) sink += big.estimate();
});
const denseBytes = big.serialize();
rate(`serialize + deserialize, dense (${denseBytes.length} bytes)`, 1000, () => {
  for (let r = 0; r < 1000; r++) sink += deserializeDistinctCounter(big.serialize()).precision;
});
const small = filled(5);
rate(`serialize + deserialize, sparse of 5 (${small.serialize().length} bytes)`, 100_000, () => {
  for (let r = 0; r < 100_000; r++) sink += deserializeDistinctCounter(small.serialize()).precision;
});

// Retained bytes per counter: heap plus array buffers over many live counters.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function retained(name: string, count: number, make: (i: number) => DistinctCounter): void {
  const keep: DistinctCounter[] = new Array(count).fill(null);
  gc();
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < count; i++) keep[i] = make(i);
  gc();
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const modelled = keep[0]!.byteSize();
  console.log(
    `${name.padEnd(52)} ${(bytes / count).toFixed(0).padStart(6)} B measured, byteSize() ${modelled}`,
  );
}
retained('memory, empty counter', 100_000, () => createDistinctCounter());
for (const n of [1, 2, 5, 10, SPARSE_LIMIT]) {
  retained(`memory, ${n} recipient${n === 1 ? '' : 's'}`, 100_000, (i) => filled(n, i % 1000));
}
retained('memory, dense (1000 recipients)', 5_000, (i) => filled(1000, i * 10));

if (sink === 42) console.log(''); // keeps `sink` alive
