import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  analyseContent,
  callbackNumbers,
  contentFingerprint,
  createContentKey,
  extractUrls,
  hasCallbackOtherThanSender,
  isOptOut,
  registrableDomain,
} from '../src/content/index.ts';

const KEY = createContentKey('content-test-key-0123456789');
const SENDER = '+12025550100';

test('a phishing message yields its fingerprint, link domains and callback number', () => {
  const body =
    'Wells Fargo: your card is locked. Verify at https://ann-82.secure-verify.example.com/x?u=9 ' +
    'or bit.ly/Xk29a, or call 1-800-555-0199.';
  const analysis = analyseContent(body, SENDER, KEY);
  assert.deepEqual(analysis, {
    fingerprint: contentFingerprint(body, KEY),
    urlDomains: ['example.com', 'bit.ly'],
    hasUrl: true,
    hasCallbackNumber: true,
    callbackNumbers: ['18005550199'],
    isOptOut: false,
    isOptIn: false,
  });
});

test('the combined analysis agrees with the separate functions', () => {
  const bodies = [
    'STOP',
    'Opt-out please',
    'Hi Ann, vote on Tuesday at www.vote.example.org/ann',
    'Text us back at (202) 555-0100',
    'Call 202-555-0100 or +44 20 7946 0958, or 1 (415) 555-0132, or +44 20 7946 0958 again',
    'call (415) 555-0132, see a.b.example.co.uk/x and bit.ly/1 and bit.ly/2',
    'http://',
    'click http://!!!/x',
    'nothing special here',
  ];
  for (const body of bodies) {
    const analysis = analyseContent(body, SENDER, KEY);
    assert.equal(analysis.fingerprint, contentFingerprint(body, KEY), body);
    assert.deepEqual(analysis.urlDomains, [...new Set(extractUrls(body).map(registrableDomain))], body);
    assert.equal(analysis.hasCallbackNumber, hasCallbackOtherThanSender(body, SENDER), body);
    assert.deepEqual(analysis.callbackNumbers, callbackNumbers(body, SENDER), body);
    assert.equal(analysis.isOptOut, isOptOut(body), body);
  }
});

test('a link whose host cannot be read still counts as a link', () => {
  const analysis = analyseContent('click http://!!!/x', SENDER, KEY);
  assert.equal(analysis.hasUrl, true);
  assert.deepEqual(analysis.urlDomains, []);
});

test('an opt-out reply is flagged', () => {
  assert.equal(analyseContent(' Stop! ', SENDER, KEY).isOptOut, true);
  assert.equal(analyseContent("can't stop laughing", SENDER, KEY).isOptOut, false);
});

test('an opt-in (START, UNSTOP) is flagged, strictly: a false one would erase an opt-out', () => {
  for (const body of ['START', ' start! ', 'Unstop', 'please START', 'start please'])
    assert.equal(analyseContent(body, SENDER, KEY).isOptIn, true, body);
  for (const body of [
    'STOP',
    'start the car',
    "let's start over",
    'restart',
    'start start start',
    'UNSTOPPABLE',
  ])
    assert.equal(analyseContent(body, SENDER, KEY).isOptIn, false, body);
  assert.equal(analyseContent('START', SENDER, KEY).isOptOut, false);
});

test('a null or empty body gives fingerprint 0 and nothing else', () => {
  const none = {
    fingerprint: 0n,
    urlDomains: [],
    hasUrl: false,
    hasCallbackNumber: false,
    callbackNumbers: [],
    isOptOut: false,
    isOptIn: false,
  };
  assert.deepEqual(analyseContent(null, SENDER, KEY), none);
  assert.deepEqual(analyseContent(undefined, SENDER, KEY), none);
  assert.deepEqual(analyseContent('', SENDER, KEY), none);
  assert.deepEqual(analyseContent('  ?! ', SENDER, KEY), none);
});

test('no word of the body appears in the analysis', () => {
  const body = 'Secret words: pineapple zebra, see bit.ly/Xk29a';
  const text = JSON.stringify(analyseContent(body, SENDER, KEY), (_, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
  for (const word of ['secret', 'pineapple', 'zebra', 'xk29a'])
    assert.ok(!text.toLowerCase().includes(word), word);
});
