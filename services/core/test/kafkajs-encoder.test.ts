// kafkajs's protocol encoder and record batch encoder, replaced by @spamgate/core with ones that
// allocate less (src/kafkajs-encoder.ts, src/kafkajs-record-batch.ts), and the CRC-32C they use:
// every byte must be kafkajs's own.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { crc32c } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import { originalKafkajsModule } from './kafkajs-original.ts';

const require = createRequire(import.meta.url);

interface Enc {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  [write: string]: unknown;
}
type EncClass = new (size?: number) => Enc;

const Long = require('kafkajs/src/utils/long') as {
  fromNumber(n: number): unknown;
  fromValue(v: unknown): unknown;
};

test('CRC-32C matches the standard check value and kafkajs on every length and offset', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  const kafkajs = originalKafkajsModule<(b: Buffer) => number>('kafkajs/src/protocol/recordBatch/crc32C');
  const rnd = seededRandom(7);
  const bytes = Buffer.from(Array.from({ length: 1_100 }, () => Math.floor(rnd() * 256)));
  for (let n = 0; n <= 1_000; n += 1 + Math.floor(rnd() * 7)) {
    const start = Math.floor(rnd() * 90);
    assert.equal(crc32c(bytes, start, start + n), kafkajs(bytes.subarray(start, start + n)), `${start}+${n}`);
  }
});

/** A script of writes: every kind kafkajs's produce path uses, some nested, some large. */
function script(E: EncClass, rnd: () => number): Enc {
  const call = (e: Enc, m: string, ...a: unknown[]) => (e[m] as (...x: unknown[]) => Enc).apply(e, a);
  const leaf = (): Enc => {
    const e = new E();
    const n = Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) {
      const size = rnd() < 0.1 ? 5_000 + Math.floor(rnd() * 70_000) : Math.floor(rnd() * 300);
      switch (Math.floor(rnd() * 8)) {
        case 0:
          call(e, 'writeInt8', Math.floor(rnd() * 256) - 128);
          break;
        case 1:
          call(e, 'writeInt32', Math.floor(rnd() * 2 ** 31));
          break;
        case 2:
          call(e, 'writeInt64', Long.fromNumber(Math.floor(rnd() * 2 ** 52)));
          break;
        case 3:
          call(e, 'writeString', 'ü'.repeat(size % 200));
          break;
        case 4:
          call(e, 'writeBytes', Buffer.alloc(size, 3));
          break;
        case 5:
          call(e, 'writeVarInt', Math.floor(rnd() * 2 ** 31) - 2 ** 30);
          call(e, 'writeUVarInt', Math.floor(rnd() * 2 ** 32) - 2 ** 31);
          call(e, 'writeVarLong', Math.floor((rnd() - 0.5) * 2 ** (1 + Math.floor(rnd() * 60))));
          call(e, 'writeVarLong', Long.fromNumber(Math.floor((rnd() - 0.5) * 2 ** 62)));
          break;
        case 6:
          call(e, 'writeVarIntBytes', Buffer.alloc(size, 9));
          break;
        default:
          call(e, 'writeUInt32', Math.floor(rnd() * 2 ** 32));
      }
    }
    return e;
  };
  const outer = new E();
  const parts = Array.from({ length: Math.floor(rnd() * 5) }, leaf);
  call(outer, 'writeInt16', 7);
  call(outer, 'writeArray', parts);
  call(outer, 'writeEncoder', leaf());
  call(outer, 'writeEncoderArray', [leaf(), leaf()]);
  call(outer, 'writeVarIntArray', [leaf()]);
  return outer;
}

test("kafkajs loads the pooled encoder, and every write gives kafkajs's bytes", () => {
  const Fast = require('kafkajs/src/protocol/encoder') as EncClass;
  assert.equal((Fast as unknown as Record<symbol, boolean>)[Symbol.for('spamgate.kafkajs-encoder')], true);
  const Original = originalKafkajsModule<EncClass>('kafkajs/src/protocol/encoder');
  assert.notEqual(Fast, Original);
  for (let seed = 1; seed <= 200; seed++) {
    const ours = script(Fast, seededRandom(seed));
    const theirs = script(Original, seededRandom(seed));
    assert.deepEqual(ours.buffer, theirs.buffer, `seed ${seed}`);
  }
  const writeEncoder = new Fast().writeEncoder as (v: unknown) => Enc;
  assert.throws(() => writeEncoder.call(new Fast(), {}), /instance of Encoder/);
});

interface BatchModule {
  RecordBatch(args: object): Promise<Enc>;
}

test("a record batch is written once, in kafkajs's bytes, compressed or not", async () => {
  const ours = require('kafkajs/src/protocol/recordBatch/v0') as BatchModule;
  assert.equal(
    (ours as unknown as Record<symbol, boolean>)[Symbol.for('spamgate.kafkajs-record-batch')],
    true,
  );
  const theirs = originalKafkajsModule<BatchModule>('kafkajs/src/protocol/recordBatch/v0');
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => Enc;
  const rnd = seededRandom(11);
  for (let i = 0; i < 60; i++) {
    const records = Array.from({ length: Math.floor(rnd() * 40) }, (_, j) =>
      Record({
        offsetDelta: j,
        timestampDelta: Math.floor(rnd() * 1000),
        key: rnd() < 0.2 ? null : Buffer.alloc(Math.floor(rnd() * 20), j),
        value: Buffer.alloc(rnd() < 0.05 ? 100_000 : Math.floor(rnd() * 500), j + 1),
      }),
    );
    const args = {
      compression: i % 10 === 9 ? 1 : 0, // 1: gzip, left to kafkajs
      records,
      firstTimestamp: 1_796_000_000_000 + i,
      maxTimestamp: 1_796_000_000_999 + i,
      lastOffsetDelta: Math.max(0, records.length - 1),
      transactional: i % 2 === 0,
      producerId: Long.fromValue(1_000 + i),
      producerEpoch: i % 7,
      firstSequence: i * 13,
      partitionLeaderEpoch: i % 3,
      ...(i % 4 === 0 ? {} : { firstOffset: Long.fromValue(i * 100) }),
    };
    const a = await ours.RecordBatch(args);
    const b = await theirs.RecordBatch(args);
    assert.deepEqual(a.buffer, b.buffer, `batch ${i}`);
    if (args.compression === 0) assert.equal(a.buf.length, a.offset, 'the buffer is the batch, nothing more');
  }
});

test("varlong sizes and partitions of keys are kafkajs's", () => {
  const Fast = require('kafkajs/src/protocol/encoder') as { sizeOfVarLong(v: unknown): number };
  const Original = originalKafkajsModule<{ sizeOfVarLong(v: unknown): number }>(
    'kafkajs/src/protocol/encoder',
  );
  const rnd = seededRandom(5);
  for (let i = 0; i < 2_000; i++) {
    const n = Math.floor((rnd() - 0.5) * 2 ** Math.floor(rnd() * 64));
    assert.equal(Fast.sizeOfVarLong(n), Original.sizeOfVarLong(n), String(n));
  }
  const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (k: unknown) => number;
  assert.equal((murmur2 as unknown as Record<symbol, boolean>)[Symbol.for('spamgate.kafkajs-murmur2')], true);
  const original = originalKafkajsModule<(k: unknown) => number>(
    'kafkajs/src/producer/partitioners/default/murmur2',
  );
  for (let i = 0; i < 3_000; i++) {
    const bytes = Buffer.from(Array.from({ length: i % 41 }, () => Math.floor(rnd() * 256)));
    assert.equal(murmur2(bytes), original(bytes), bytes.toString('hex'));
    const text = `+1${Math.floor(rnd() * 1e10)}ü`.slice(0, 1 + (i % 17));
    assert.equal(murmur2(text), original(text), text);
  }
  // The Java client's own cases (Kafka's UtilsTest.testMurmur2).
  const java: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of java) assert.equal(murmur2(Buffer.from(key)), hash, key);
});
