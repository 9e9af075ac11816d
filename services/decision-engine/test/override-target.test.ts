import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseSenderTarget } from '../src/override-target.ts';
import { UsageError } from '../src/usage.ts';

test('a sender typed with spaces, dashes or brackets is stored as the E.164 the engine compares', () => {
  for (const typed of ['+1 202 555 0100', ' +1 (202) 555-0100 ', '+1.202.555.0100', '+12025550100'])
    assert.equal(normaliseSenderTarget(typed), '+12025550100', typed);
  assert.equal(normaliseSenderTarget('+44 20 7183 8750'), '+442071838750');
  assert.equal(normaliseSenderTarget('86753'), '86753', 'a short code');
  assert.equal(normaliseSenderTarget('ACME Bank'), 'ACME Bank', 'an alphanumeric sender id, as typed');
});

test('what is not a sender the engine could ever see is refused, with what to type instead', () => {
  const cases: [string, RegExp][] = [
    ['+0 202 555 0100', /not an E\.164 number/],
    ['+1202', /not an E\.164 number/],
    ['+1234567890123456', /not an E\.164 number/],
    ['2025550100', /write a number in E\.164.*\+2025550100/],
    ['ACME-BANK-PAYMENTS', /neither an E\.164 number/],
    ['a\u0000b', /neither/],
    ['', /neither/],
  ];
  for (const [typed, message] of cases)
    assert.throws(
      () => normaliseSenderTarget(typed),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      typed,
    );
});
