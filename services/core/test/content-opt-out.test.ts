import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isOptOut, OPT_OUT_KEYWORDS } from '../src/content/index.ts';

test('every keyword alone is an opt-out, in any case and with punctuation or whitespace around it', () => {
  for (const keyword of OPT_OUT_KEYWORDS) {
    for (const body of [
      keyword,
      keyword.toLowerCase(),
      ` ${keyword}! `,
      `${keyword}.`,
      `"${keyword}"`,
      `\n${keyword}\n`,
    ]) {
      assert.equal(isOptOut(body), true, JSON.stringify(body));
    }
  }
});

test('the keyword list is the FCC revocation keywords plus STOPALL', () => {
  assert.deepEqual([...OPT_OUT_KEYWORDS].sort(), [
    'CANCEL',
    'END',
    'OPT OUT',
    'QUIT',
    'REVOKE',
    'STOP',
    'STOPALL',
    'UNSUBSCRIBE',
  ]);
});

test('spelling variants of opt out and short polite requests are opt-outs', () => {
  const bodies = [
    'Opt-out',
    'opt out.',
    'OPTOUT',
    'Unsubscribe please',
    'please stop',
    'Stop texting me',
    'STOP STOP',
    'stop all',
    'Stop now!!',
    'Stop 🙏',
    'STÓP',
    'stop thank you',
    'revoke consent',
  ];
  for (const body of bodies) assert.equal(isOptOut(body), true, body);
});

test('sentences that merely contain a keyword are not opt-outs', () => {
  const bodies = [
    "Don't stop",
    "I can't stop laughing",
    'the END of the road',
    'stop 2',
    'Cancel my order',
    'Stop by the store later',
    'stop texting me now please thanks',
    'quit it',
    'when does it end',
    'please',
    'stopped',
    'opt',
    'stop https://x.example',
  ];
  for (const body of bodies) assert.equal(isOptOut(body), false, body);
});

test('an empty body is not an opt-out', () => {
  assert.equal(isOptOut(''), false);
  assert.equal(isOptOut(null), false);
  assert.equal(isOptOut(' ... '), false);
});
