// kafkajs's record encoder, replaced by @spamgate/core with one that allocates exactly: the
// bytes of every kind of record must be kafkajs's own.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '@spamgate/core';
import { originalKafkajsModule } from './kafkajs-original.ts';

const require = createRequire(import.meta.url);

test("kafkajs's producer encodes records with the exact-size encoder, byte for byte as kafkajs did", () => {
  const replaced = require('kafkajs/src/protocol/recordBatch/record/v0');
  assert.equal(
    replaced[Symbol.for('spamgate.kafkajs-record-encoder')],
    true,
    'the fix is what kafkajs loads',
  );
  const original = originalKafkajsModule<(args: object) => { buffer: Buffer }>(
    'kafkajs/src/protocol/recordBatch/record/v0',
  );
  assert.notEqual(original, replaced);
  const Long = require('kafkajs/src/utils/long');
  const cases = [
    { key: Buffer.from('+12025550100'), value: Buffer.alloc(200, 7) },
    { key: null, value: null },
    {
      key: 'a string key',
      value: 'ünïcode value',
      offsetDelta: 300,
      timestampDelta: Long.fromNumber(123_456_789),
    },
    { key: Buffer.alloc(0), value: Buffer.alloc(70_000, 1), offsetDelta: 70_000, timestampDelta: 5 },
    { key: 'k', value: 'v', headers: { trace: 'abc', many: ['x', Buffer.from('yz')] } },
  ];
  for (const c of cases) {
    const ours = replaced(c);
    assert.deepEqual(ours.buffer, original(c).buffer, JSON.stringify(Object.keys(c)));
    assert.equal(ours.buf.length, ours.buffer.length, 'the buffer is the record, nothing more');
  }
});
