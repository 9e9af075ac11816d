import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigError,
  DEAD_LETTER_MAX_KEY_BYTES,
  DEAD_LETTER_MAX_VALUE_BYTES,
  deadLetterOf,
  isBadInput,
  SpamgateError,
} from '../src/index.ts';

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
  );
  assert.deepEqual(
    [dl.originalTopic, dl.originalPartition, dl.originalOffset, dl.errorClass, dl.errorCode, dl.service],
    ['sms.message-events', 3, 42, 'SpamgateError', 'INVALID_ADDRESS', 'feature-engine/a'],
  );
});

test('a dead letter leaves out a key or value too large to write or read again, and says where it is', () => {
  const source = {
    topic: 'sms.message-events',
    partition: 1,
    offset: '7',
    key: Buffer.alloc(DEAD_LETTER_MAX_KEY_BYTES + 1, 1),
    value: Buffer.alloc(DEAD_LETTER_MAX_VALUE_BYTES + 1, 2),
  };
  const err = new SpamgateError('x'.repeat(5_000), { code: 'TOO_LARGE', badInput: true });
  const dl = deadLetterOf(source, err, 'sink/a', 1);
  assert.equal(dl.key, null);
  assert.equal(dl.value, null);
  assert.ok(dl.errorMessage.length <= 2_000);
  assert.match(
    dl.errorMessage,
    /key of 4097 bytes and value of 65537 bytes not kept: read it at sms\.message-events\/1@7\]$/,
  );
  // At the limits, both are kept whole.
  const fits = deadLetterOf(
    { ...source, key: source.key.subarray(1), value: source.value.subarray(1) },
    err,
    'sink/a',
    1,
  );
  assert.equal(fits.key?.length, DEAD_LETTER_MAX_KEY_BYTES);
  assert.equal(fits.value?.length, DEAD_LETTER_MAX_VALUE_BYTES);
  assert.equal(fits.errorMessage, err.message.slice(0, 2_000));
});
