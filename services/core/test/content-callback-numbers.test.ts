import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callbackNumbers, hasCallbackOtherThanSender, phoneDigits } from '../src/content/index.ts';

const SENDER = '+12025550100';

test('North American numbers are found in their usual forms and normalised to 11 digits', () => {
  const forms = [
    '(415) 555-0132',
    '415-555-0132',
    '415.555.0132',
    '415 555 0132',
    '4155550132',
    '1-415-555-0132',
    '+1 415 555 0132',
    '+14155550132',
  ];
  for (const form of forms)
    assert.deepEqual(callbackNumbers(`Call ${form} today`, SENDER), ['14155550132'], form);
});

test('international numbers are found in +E.164 form, with or without spaces', () => {
  assert.deepEqual(callbackNumbers('Ring +44 20 7946 0958 or +442079460959', SENDER), [
    '442079460958',
    '442079460959',
  ]);
});

test('codes, amounts, dates and invalid area codes are not phone numbers', () => {
  for (const body of [
    'Your code is 284719',
    'Pay $1,234.56',
    'Due 2024-05-06',
    'Ref 1234567890',
    'Order 123-456-7890',
    'id 41555501321',
  ]) {
    assert.deepEqual(callbackNumbers(body, SENDER), [], body);
  }
});

test("the sender's own number is not a callback number, however it is written", () => {
  assert.deepEqual(callbackNumbers('Text us back at (202) 555-0100', SENDER), []);
  assert.equal(hasCallbackOtherThanSender('Text us back at (202) 555-0100', SENDER), false);
  assert.equal(hasCallbackOtherThanSender('Text us back at (202) 555-0100', '2025550100'), false);
  assert.equal(hasCallbackOtherThanSender('Call our fraud line 1-800-555-0199', SENDER), true);
});

test('every number counts for an alphanumeric or short-code sender', () => {
  assert.equal(hasCallbackOtherThanSender('Call 800-555-0199', 'MyBank'), true);
  assert.equal(hasCallbackOtherThanSender('Call 800-555-0199', '72345'), true);
});

test('each number is returned once', () => {
  assert.deepEqual(callbackNumbers('Call 800-555-0199, again: (800) 555-0199', SENDER), ['18005550199']);
});

test('a body without numbers has no callback number', () => {
  assert.equal(hasCallbackOtherThanSender('Hi there', SENDER), false);
  assert.equal(hasCallbackOtherThanSender(null, SENDER), false);
  assert.deepEqual(callbackNumbers('', SENDER), []);
});

test('addresses normalise to digits with the country code, alphanumeric IDs to null', () => {
  assert.equal(phoneDigits('+1 (202) 555-0100'), '12025550100');
  assert.equal(phoneDigits('202.555.0100'), '12025550100');
  assert.equal(phoneDigits('72345'), '72345');
  assert.equal(phoneDigits('MyBank'), null);
});
