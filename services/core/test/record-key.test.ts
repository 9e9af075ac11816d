import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRecordKey, isBadInput, KeyMismatchError } from '../src/index.ts';

test('a record keyed other than by its field is a KEY_MISMATCH dead letter; a missing key too', () => {
  checkRecordKey('MessageEvent', 'sender', Buffer.from('+12025550100'), '+12025550100');
  checkRecordKey('MessageEvent', 'sender', '+12025550100', '+12025550100');
  for (const key of [Buffer.from('+12025550101'), 'x', null, Buffer.from('+12025550100 ')]) {
    assert.throws(
      () => checkRecordKey('MessageEvent', 'sender', key, '+12025550100'),
      (e: unknown) =>
        e instanceof KeyMismatchError &&
        e.code === 'KEY_MISMATCH' &&
        isBadInput(e) &&
        /^MessageEvent has (a key of \d+ characters other than its sender|no key), but its topic is keyed by its sender$/.test(
          e.message,
        ),
    );
  }
});
