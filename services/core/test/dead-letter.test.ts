import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  ConfigError,
  createSubscriberHasher,
  deadLetterOf,
  isBadInput,
  SpamgateError,
  writerFingerprintOf,
} from '../src/index.ts';

const hasher = createSubscriberHasher('dead-letter-test-key');

test('a record is dead-lettered only for errors that say the record is at fault', () => {
  const record = new SpamgateError('sender is not a number', { code: 'INVALID_ADDRESS', badInput: true });
  assert.equal(isBadInput(record), true);
  // Not retriable is not the record's fault: corrupt state, an output that does not encode, a
  // bad setting fail the batch, so that nothing acknowledged is dead-lettered in their place.
  assert.equal(
    isBadInput(new SpamgateError('state bytes end early', { code: 'STATE_BYTES_INVALID' })),
    false,
  );
  assert.equal(isBadInput(new ConfigError([{ variable: 'X', value: 'y', expected: 'z' }])), false);
  assert.equal(isBadInput(new Error('boom')), false);
  assert.equal(isBadInput('boom'), false);
  const dl = deadLetterOf(
    {
      topic: 'sms.message-events',
      partition: 3,
      offset: '42',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
    },
    record,
    'feature-engine/a',
    1_000,
    hasher,
  );
  assert.deepEqual(
    [dl.originalTopic, dl.originalPartition, dl.originalOffset, dl.errorClass, dl.errorCode, dl.service],
    ['sms.message-events', 3, 42, 'SpamgateError', 'INVALID_ADDRESS', 'feature-engine/a'],
  );
});

test('a dead letter keeps where the record is and keyed hashes, never its key or value', () => {
  const recipient = '+12025550123';
  const body = 'Your parcel is held: pay the fee at http://bad.example/x';
  // A single-object encoded value: C3 01, the 8-byte fingerprint, then the body's bytes.
  const value = Buffer.concat([Buffer.from('c301a1b2c3d4e5f60718', 'hex'), Buffer.from(body)]);
  const err = new SpamgateError('x'.repeat(5_000), { code: 'EVENT_TIME_SKEW', badInput: true });
  const source = {
    topic: 'spamgate.feature-engine.by-recipient',
    partition: 1,
    offset: '7',
    key: Buffer.from(recipient),
    value,
  };
  const dl = deadLetterOf(source, err, 'feature-engine/a', 1, hasher);
  assert.equal(dl.key, null);
  assert.equal(dl.value, null);
  // The key's hash is the recipient hash ClickHouse's tables hold (it joins them); the value is
  // only its size, digest and writer.
  assert.equal(dl.keyHash, hasher.hash(recipient));
  assert.equal(dl.keyHash, hasher.hash('+1 (202) 555-0123'));
  assert.equal(dl.valueBytes, value.length);
  assert.equal(dl.valueSha256, createHash('sha256').update(value).digest('hex'));
  assert.equal(dl.writerFingerprint, 'a1b2c3d4e5f60718');
  const text = JSON.stringify(dl);
  for (const secret of [recipient, '2025550123', 'parcel', value.toString('base64')])
    assert.ok(!text.includes(secret), `the dead letter holds ${secret}`);
  assert.equal(dl.errorMessage, err.message.slice(0, 2_000));
  // Another key gives another hash; no key, no value: nulls and 0.
  assert.notEqual(
    deadLetterOf({ ...source, key: Buffer.from('+12025550124') }, err, 's', 1, hasher).keyHash,
    dl.keyHash,
  );
  const empty = deadLetterOf({ ...source, key: null, value: null }, err, 's', 1, hasher);
  assert.deepEqual(
    [empty.keyHash, empty.valueBytes, empty.valueSha256, empty.writerFingerprint],
    [null, 0, null, null],
  );
});

test('a writer fingerprint is read only from a single-object header', () => {
  assert.equal(writerFingerprintOf(Buffer.from('c3010102030405060708', 'hex')), '0102030405060708');
  assert.equal(writerFingerprintOf(Buffer.from('c30101020304050607', 'hex')), null, 'too short');
  assert.equal(writerFingerprintOf(Buffer.from('c3020102030405060708', 'hex')), null);
  assert.equal(writerFingerprintOf(Buffer.from('plain text body')), null);
  assert.equal(writerFingerprintOf(null), null);
});
