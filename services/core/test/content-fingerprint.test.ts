import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ContentKey,
  contentFingerprint,
  createContentKey,
  hammingDistance,
  NEAR_DUPLICATE_DISTANCE,
  SHINGLE_CHARS,
} from '../src/content/index.ts';
import { SpamgateError } from '../src/errors.ts';
import { type Corpus, generateCorpus, mulberry32 } from './sms-corpus.ts';

const KEY = createContentKey('content-test-key-0123456789');

/** Share of template-copy pairs apart, and of unrelated pairs together, at the threshold. */
interface ErrorRates {
  readonly falseSplit: number;
  readonly falseMerge: number;
  readonly templatePairs: number;
  readonly unrelatedPairs: number;
}

function measure(corpus: Corpus, key: ContentKey): ErrorRates {
  const messages: { fingerprint: bigint; source: number }[] = [];
  corpus.templates.forEach((copies, t) => {
    for (const body of copies) messages.push({ fingerprint: contentFingerprint(body, key), source: t });
  });
  corpus.personal.forEach((body, i) => {
    messages.push({ fingerprint: contentFingerprint(body, key), source: corpus.templates.length + i });
  });
  let templatePairs = 0;
  let split = 0;
  let unrelatedPairs = 0;
  let merged = 0;
  for (let i = 0; i < messages.length; i++) {
    for (let j = i + 1; j < messages.length; j++) {
      const a = messages[i]!;
      const b = messages[j]!;
      const near = hammingDistance(a.fingerprint, b.fingerprint) <= NEAR_DUPLICATE_DISTANCE;
      if (a.source === b.source) {
        templatePairs++;
        if (!near) split++;
      } else {
        unrelatedPairs++;
        if (near) merged++;
      }
    }
  }
  return {
    falseSplit: split / templatePairs,
    falseMerge: merged / unrelatedPairs,
    templatePairs,
    unrelatedPairs,
  };
}

const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

test('on a generated corpus, copies of a template stay together and unrelated messages apart', () => {
  const corpus = generateCorpus(1, 30);
  const keys = ['content-test-key-0123456789', 'another-content-key-abcdef', 'a-third-content-key-xyz123'];
  let split = 0;
  let merge = 0;
  for (const secret of keys) {
    const r = measure(corpus, createContentKey(secret));
    console.log(
      `content fingerprint, key ${secret}: ` +
        `false split ${percent(r.falseSplit)} of ${r.templatePairs} template-copy pairs, ` +
        `false merge ${percent(r.falseMerge)} of ${r.unrelatedPairs} unrelated pairs ` +
        `(threshold ${NEAR_DUPLICATE_DISTANCE} bits, ${SHINGLE_CHARS}-character shingles)`,
    );
    split += r.falseSplit / keys.length;
    merge += r.falseMerge / keys.length;
  }
  console.log(
    `content fingerprint, mean over ${keys.length} keys: ` +
      `false split ${percent(split)}, false merge ${percent(merge)}`,
  );
  assert.ok(split < 0.02, `false split ${percent(split)} should be under 2%`);
  assert.ok(merge < 0.005, `false merge ${percent(merge)} should be under 0.5%`);
});

test('personalised copies of a long template fingerprint within the near-duplicate distance', () => {
  const template = (name: string, link: string): string =>
    `Hi ${name}, vote on Tuesday! Polls are open 7am to 8pm. Find your polling place at ${link} ` +
    'and bring a friend. Paid for by Rivera for Senate. Reply STOP to opt out';
  const ann = contentFingerprint(template('Ann', 'bit.ly/Xk29a'), KEY);
  const bob = contentFingerprint(template('Bob', 'bit.ly/pQ7rT'), KEY);
  const christopher = contentFingerprint(template('Christopher', 'https://bit.ly/zz81'), KEY);
  assert.ok(hammingDistance(ann, bob) <= NEAR_DUPLICATE_DISTANCE, `distance ${hammingDistance(ann, bob)}`);
  assert.ok(hammingDistance(ann, christopher) <= NEAR_DUPLICATE_DISTANCE);
  const other = contentFingerprint(
    'Your package could not be delivered. Update your address at usps-redelivery.top/x',
    KEY,
  );
  assert.ok(hammingDistance(ann, other) > NEAR_DUPLICATE_DISTANCE);
});

test('bodies that normalise alike have the same fingerprint', () => {
  assert.equal(
    contentFingerprint('Your code is 123456. Do not share it.', KEY),
    contentFingerprint('YOUR CODE IS 998877 — do not share it!', KEY),
  );
});

test('a fingerprint is a stable unsigned 64-bit value under one key', () => {
  const body = 'URGENT: your account is locked, verify at bit.ly/Xk29a';
  const fingerprint = contentFingerprint(body, KEY);
  assert.equal(typeof fingerprint, 'bigint');
  assert.ok(fingerprint >= 0n && fingerprint < 2n ** 64n);
  assert.equal(contentFingerprint(body, createContentKey('content-test-key-0123456789')), fingerprint);
});

test('another key gives unrelated fingerprints', () => {
  const other = createContentKey('content-test-key-rotated-0001');
  const corpus = generateCorpus(2, 1);
  const bodies = [...corpus.templates.map((copies) => copies[0]!), ...corpus.personal.slice(0, 70)];
  let total = 0;
  for (const body of bodies) {
    const distance = hammingDistance(contentFingerprint(body, KEY), contentFingerprint(body, other));
    assert.ok(distance > NEAR_DUPLICATE_DISTANCE, `${distance} bits apart under two keys`);
    total += distance;
  }
  const mean = total / bodies.length;
  assert.ok(mean > 28 && mean < 36, `mean distance ${mean} should be about 32`);
});

test('the fingerprint sets each bit that more than half of the shingle hashes set', () => {
  // A text of exactly SHINGLE_CHARS characters has one shingle, so its fingerprint is that
  // shingle's hash: the reference builds every longer fingerprint from those by counting.
  const shingleHash = (s: string): bigint => KEY.fingerprintNormalised(s);
  const reference = (text: string): bigint => {
    const shingles = text.length - SHINGLE_CHARS + 1;
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < shingles; i++) {
      const h = shingleHash(text.slice(i, i + SHINGLE_CHARS));
      for (let b = 0; b < 64; b++) if ((h >> BigInt(b)) & 1n) counts[b]!++;
    }
    let fingerprint = 0n;
    for (let b = 0; b < 64; b++) if (2 * counts[b]! > shingles) fingerprint |= 1n << BigInt(b);
    return fingerprint;
  };
  const rand = mulberry32(7);
  const alphabet = [...'abcdefgh #<>:.éж東😀'];
  for (const length of [
    SHINGLE_CHARS,
    SHINGLE_CHARS + 1,
    6,
    7,
    8,
    9,
    16,
    17,
    64,
    127,
    128,
    255,
    256,
    257,
    1000,
    4097,
  ]) {
    let text = '';
    while (text.length < length) text += alphabet[Math.floor(rand() * alphabet.length)]!;
    text = text.slice(0, length);
    assert.equal(KEY.fingerprintNormalised(text), reference(text), `length ${length}`);
  }
});

test('a body with no content has fingerprint 0', () => {
  assert.equal(contentFingerprint('', KEY), 0n);
  assert.equal(contentFingerprint(null, KEY), 0n);
  assert.equal(contentFingerprint(undefined, KEY), 0n);
  assert.equal(contentFingerprint(' ...!? ', KEY), 0n);
  assert.notEqual(contentFingerprint('ok', KEY), 0n);
});

test('hamming distance counts the differing bits of two 64-bit values', () => {
  assert.equal(hammingDistance(0n, 0n), 0);
  assert.equal(hammingDistance(0n, 2n ** 64n - 1n), 64);
  assert.equal(hammingDistance(0b1011n, 0b0110n), 3);
  assert.equal(hammingDistance(1n << 63n, 1n), 2);
  assert.equal(
    hammingDistance(0x0123456789abcdefn, 0xfedcba9876543210n),
    hammingDistance(0xfedcba9876543210n, 0x0123456789abcdefn),
  );
});

test('a short key is refused', () => {
  assert.throws(
    () => createContentKey('short'),
    (e: unknown) => e instanceof SpamgateError && e.code === 'CONTENT_KEY_TOO_SHORT',
  );
});

test('the key material does not show when a key is logged', () => {
  assert.equal(JSON.stringify(KEY), '{}');
});
