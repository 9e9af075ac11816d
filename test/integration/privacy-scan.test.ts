// The privacy scan's detector (test/src/privacy-scan.ts), pure: it must find what it looks for
// wherever bytes put it, or the demo test's scan would pass by finding nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCodec } from '@spamgate/schemas';
import { findSecrets, secretsOf } from '@spamgate/test';

const BODY = 'Your parcel is held at the depot: pay the fee at http://bad.example/x';
const secrets = secretsOf(
  [BODY, 'STOP'],
  ['+12025550123', '+1 (202) 555-0199', '+12025550100'],
  ['+12025550100'],
);

test('recipient numbers are found in text and inside binary records, with or without +', () => {
  assert.deepEqual(findSecrets('{"to":"+12025550123"}', secrets), { bodies: 0, numbers: 1 });
  assert.deepEqual(
    findSecrets('key 2025550199 tail', secrets).numbers,
    0,
    'without the country code it is not the number',
  );
  assert.deepEqual(findSecrets('x12025550199y', secrets).numbers, 1);
  // Inside a longer digit run (a field that glues digits to it) too.
  assert.equal(findSecrets('9912025550123', secrets).numbers, 1);
  // An Avro record that carries one (as a release before book ids wrote): its bytes are in it as they are.
  const record = createCodec().encode('ReceivedMessage', {
    messageId: 'm-1',
    eventTime: 1,
    recipient: '+12025550123',
    fromHash: Buffer.alloc(8),
    kind: 'MESSAGE',
    recipientHashed: false,
    previousRecipient: null,
    previousFromHash: null,
  });
  assert.equal(findSecrets(record.toString('latin1'), secrets).numbers, 1);
});

test('a number that also sends is a sender, stored in clear where enforcement needs it: not looked for', () => {
  assert.equal(findSecrets('+12025550100', secrets).numbers, 0);
  assert.deepEqual([...secrets.numbers].sort(), ['12025550123', '12025550199']);
});

test('bodies are found by their first 20 characters anywhere in printable text; short ones are not looked for', () => {
  assert.equal(findSecrets(`x\u0001\u0002${BODY}\u0000`, secrets).bodies, 1);
  assert.equal(findSecrets(`msg="${BODY.slice(0, 25)}..."`, secrets).bodies, 1);
  assert.equal(findSecrets('STOP STOP STOP', secrets).bodies, 0);
  assert.equal(findSecrets('bad.example fee', secrets).bodies, 0, 'a domain from it is not its text');
  assert.deepEqual(findSecrets('nothing here at all, 1234567', secrets), { bodies: 0, numbers: 0 });
});
