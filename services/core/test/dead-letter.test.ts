import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, deadLetterOf, isBadInput, SpamgateError } from '../src/index.ts';

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
