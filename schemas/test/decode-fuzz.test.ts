// Mutation fuzzing of every decoder (issue 19): 100,000 mutated and random inputs per record, each
// with a writer fingerprint the codec knows, so the body is what gets tested. Every input either
// decodes or fails with a typed, dead-letterable SchemaDecodeError, and none takes over 50 ms.
// Seeded: a failure names the seed and the input (hex) to replay it with.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBadInput, mulberry32 } from '@spamgate/core';
import {
  createCodec,
  loadCurrentSchemas,
  loadHistory,
  MARKER,
  RECORD_NAMES,
  type RecordName,
  SchemaDecodeError,
} from '../src/index.ts';
import { SAMPLES } from './samples.ts';

const INPUTS_PER_RECORD = 100_000;
const SLOW_MS = 50;
const SEED = Number(process.env.SPAMGATE_FUZZ_SEED ?? 19);

/** Varints a liar would write: counts and lengths far past any body, negative ones, overlong ones. */
const HOSTILE_VARINTS: readonly number[][] = [
  [0x80, 0x87, 0x93, 0x1c], // 30,000,000 zig-zagged
  [0x80, 0x80, 0x80, 0x80, 0x02], // 2^28
  [0xfe, 0xff, 0xff, 0xff, 0x0f], // 2^31 - 1
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // -2^62
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02], // 2^63
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11 bytes
  [0x01], // -1
  [0x03], // -2
  [0x7e], // 63
];

type Random = () => number;

function int(random: Random, below: number): number {
  return Math.floor(random() * below);
}

/** One mutation of a valid body (bytes after the 10-byte header); the header is kept or swapped. */
function mutate(random: Random, body: Buffer): Buffer {
  const b = Buffer.from(body);
  const at = (): number => int(random, Math.max(1, b.length));
  switch (int(random, 8)) {
    case 0: {
      for (let i = int(random, 4) + 1; i > 0 && b.length > 0; i--) b[at()]! ^= 1 << int(random, 8);
      return b;
    }
    case 1: {
      const v = HOSTILE_VARINTS[int(random, HOSTILE_VARINTS.length)]!;
      const p = at();
      return Buffer.concat([b.subarray(0, p), Buffer.from(v), b.subarray(p + (random() < 0.5 ? 0 : 1))]);
    }
    case 2:
      return b.subarray(0, at());
    case 3: {
      const p = at();
      const junk = Buffer.alloc(int(random, 16) + 1);
      for (let i = 0; i < junk.length; i++) junk[i] = int(random, 256);
      return Buffer.concat([b.subarray(0, p), junk, b.subarray(p)]);
    }
    case 4: {
      const p = at();
      const q = p + int(random, b.length - p + 1);
      return Buffer.concat([b.subarray(0, q), b.subarray(p, q), b.subarray(q)]);
    }
    case 5: {
      const p = at();
      return Buffer.concat([b.subarray(0, p), b.subarray(p + int(random, 8) + 1)]);
    }
    case 6: {
      for (let i = int(random, 8) + 1; i > 0 && b.length > 0; i--)
        b[at()] = [0x00, 0x7f, 0x80, 0xff][int(random, 4)]!;
      return b;
    }
    default: {
      const r = Buffer.alloc(int(random, 96));
      for (let i = 0; i < r.length; i++) r[i] = int(random, 256);
      return r;
    }
  }
}

/** Writer fingerprints of a record: the current schema and each released version (resolved reads). */
function fingerprintsOf(record: RecordName): Buffer[] {
  const all = [loadCurrentSchemas().get(record)!.fingerprint];
  for (const v of loadHistory().get(record) ?? []) all.push(v.fingerprint);
  return all;
}

for (const record of RECORD_NAMES) {
  test(`${record}: ${INPUTS_PER_RECORD.toLocaleString('en')} mutated and random bodies decode or fail typed, each in under ${SLOW_MS} ms`, (t) => {
    const codec = createCodec();
    const random = mulberry32(SEED + RECORD_NAMES.indexOf(record));
    const valid = codec.encode(record, SAMPLES[record] as never);
    const fingerprints = fingerprintsOf(record);
    let decoded = 0;
    let slowest = 0;
    let body: Buffer = valid.subarray(10);
    // Most inputs fail, and capturing each error's stack would be most of the run's time.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    t.after(() => {
      Error.stackTraceLimit = stackTraceLimit;
    });
    for (let i = 0; i < INPUTS_PER_RECORD; i++) {
      // Half the time mutate a mutant: errors compound as they would in a hostile stream.
      body = mutate(random, random() < 0.5 ? valid.subarray(10) : body);
      const fp = fingerprints[int(random, fingerprints.length)]!;
      const bytes = Buffer.concat([MARKER, fp, body]);
      const started = performance.now();
      try {
        codec.decode(record, bytes);
        decoded++;
      } catch (err) {
        if (!(err instanceof SchemaDecodeError && isBadInput(err))) {
          assert.fail(`seed ${SEED}, input ${i} (${bytes.toString('hex')}): untyped ${String(err)}`);
        }
      }
      const ms = performance.now() - started;
      if (ms > SLOW_MS) {
        // A pause of the process (GC, the other shard) is not the input's: time it again alone.
        const again = Math.min(...[0, 1, 2].map(() => timeDecode(() => codec.decode(record, bytes))));
        assert.ok(
          again <= SLOW_MS,
          `seed ${SEED}, input ${i} (${bytes.toString('hex')}): ${again} ms to decode`,
        );
      }
      slowest = Math.max(slowest, ms);
    }
    // The mutations must reach the decoder's body paths, not just fail at the first byte.
    assert.ok(
      decoded > INPUTS_PER_RECORD / 50,
      `only ${decoded} inputs decoded: the fuzzer mutates too hard`,
    );
  });
}

function timeDecode(decode: () => unknown): number {
  const started = performance.now();
  try {
    decode();
  } catch {
    // the same typed error as before; only the time matters here
  }
  return performance.now() - started;
}
