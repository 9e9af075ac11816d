// kafkajs's record decoder, replaced by @spamgate/core with one that reads offsets and timestamps
// as numbers: every field of every kind of record must be what kafkajs's own decoder returns.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '@spamgate/core';
import { originalKafkajsModule } from './kafkajs-original.ts';

const require = createRequire(import.meta.url);

type Decode = (decoder: unknown, batchContext?: object) => Record<string, unknown>;

const DECODER = 'kafkajs/src/protocol/recordBatch/record/v0/decoder';
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { offset: number };
const Encoder = require('kafkajs/src/protocol/encoder') as new () => {
  writeVarInt(v: number): unknown;
  writeInt8(v: number): unknown;
  writeVarLong(v: unknown): unknown;
  writeVarIntBytes(v: unknown): unknown;
  writeVarIntString(v: string | null): unknown;
  buffer: Buffer;
};
const Long = require('kafkajs/src/utils/long') as { fromString(s: string): unknown };
const TimestampTypes = require('kafkajs/src/protocol/timestampTypes') as Record<string, number>;

interface Case {
  readonly timestampDelta: string;
  readonly offsetDelta: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { key: string | null; value: Buffer | null }[];
}

/** A record body (without its length prefix), written field by field with kafkajs's encoder. */
function body(c: Case): Buffer {
  const e = new Encoder();
  e.writeInt8(0);
  e.writeVarLong(Long.fromString(c.timestampDelta));
  e.writeVarInt(c.offsetDelta);
  e.writeVarIntBytes(c.key);
  e.writeVarIntBytes(c.value);
  e.writeVarInt(c.headers.length);
  for (const h of c.headers) {
    e.writeVarIntString(h.key);
    e.writeVarIntBytes(h.value);
  }
  return e.buffer;
}

test("kafkajs's consumer decodes records with the number-based decoder, field for field as kafkajs did", () => {
  const replaced = require(DECODER) as Decode;
  assert.equal(
    (replaced as unknown as Record<symbol, boolean>)[Symbol.for('spamgate.kafkajs-record-decoder')],
    true,
    'the fix is what kafkajs loads',
  );
  const kafkajs = originalKafkajsModule<Decode>(DECODER);
  assert.notEqual(kafkajs, replaced);

  const contexts = [
    {
      firstOffset: '0',
      firstTimestamp: '1765000000000',
      magicByte: 2,
      timestampType: 0,
      maxTimestamp: '1765000000999',
    },
    // Offsets and timestamps past 2^53, where numbers are no longer exact.
    {
      firstOffset: '9007199254740990',
      firstTimestamp: '9223372036854775000',
      magicByte: 2,
      timestampType: 0,
    },
    { firstOffset: '-1', firstTimestamp: '-1', magicByte: 2, timestampType: 0, isControlBatch: true },
    {
      firstOffset: '42',
      firstTimestamp: '1765000000000',
      magicByte: 2,
      timestampType: TimestampTypes.LOG_APPEND_TIME,
      maxTimestamp: '1765000000500',
    },
  ];
  const deltas = [
    '0',
    '1',
    '-1',
    '63',
    '-64',
    '300',
    '-300',
    '281474976710655',
    '-281474976710656',
    '562949953421311',
    '562949953421312',
    '-562949953421313',
    '9007199254740993',
    '-9007199254740993',
    '36028797018963967',
    '4611686018427387903',
    '-4611686018427387904',
    '9223372036854775807',
  ];
  const cases: Case[] = [];
  for (const [i, timestampDelta] of deltas.entries()) {
    cases.push({
      timestampDelta,
      offsetDelta: [0, 1, 63, 64, 8_191, 8_192, 2_147_483_647][i % 7]!,
      key: i % 3 === 0 ? null : Buffer.from(`+1202555${String(i).padStart(4, '0')}`),
      value: i % 4 === 0 ? null : Buffer.alloc(i * 37, i),
      headers:
        i % 5 === 0
          ? [
              { key: 'trace', value: Buffer.from('abc') },
              { key: 'many', value: Buffer.from('x') },
              { key: 'many', value: null },
              { key: 'many', value: Buffer.from('z') },
              { key: null, value: Buffer.from('nameless') },
              { key: 'ünï', value: Buffer.alloc(0) },
            ]
          : [],
    });
  }
  let compared = 0;
  for (const ctx of contexts) {
    for (const c of cases) {
      const bytes = body(c);
      const a = new Decoder(bytes);
      const b = new Decoder(bytes);
      const ours = replaced(a, ctx);
      const theirs = kafkajs(b, ctx);
      assert.deepEqual(ours, theirs, `${JSON.stringify(ctx)} ${c.timestampDelta} ${c.offsetDelta}`);
      assert.equal(a.offset, bytes.length, 'the whole record was read');
      compared++;
    }
  }
  assert.equal(compared, contexts.length * deltas.length);
});
