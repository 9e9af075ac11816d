import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Reader, StateCodecError, Writer } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import {
  keepsUrlDomain,
  MAX_URL_DOMAINS,
  NO_URL_DOMAINS,
  readUrlDomains,
  recordUrlDomains,
  type UrlDomainList,
  urlDomainsAt,
  writeUrlDomains,
} from '../src/windows/url-domains.ts';
import { DEFAULT_WINDOWS, type WindowSpec } from '../src/windows/window-spec.ts';
import { referenceUrlDomains } from './url-domains-reference.ts';

const T0 = 1_794_996_000_000; // on the hour
const DAY: WindowSpec = DEFAULT_WINDOWS[DEFAULT_WINDOWS.length - 1]!;
const names = (list: UrlDomainList) => list.map((e) => e.domain);

function record(messages: [number, string[]][], list: UrlDomainList = NO_URL_DOMAINS): UrlDomainList {
  let l = list;
  for (const [t, domains] of messages) l = recordUrlDomains(l, domains, t);
  return l;
}

test('domains are listed newest first, each once, and one seen again moves to the front', () => {
  const l = record([
    [T0, ['a.com', 'b.com']],
    [T0 + 1_000, ['c.com']],
    [T0 + 2_000, ['a.com', 'a.com']],
  ]);
  assert.deepEqual(
    l.map((e) => [e.domain, e.lastSeenMs - T0]),
    [
      ['a.com', 2_000],
      ['c.com', 1_000],
      ['b.com', 0],
    ],
  );
});

test('one message’s domains keep their order of appearance, and a later message at the same time goes first', () => {
  assert.deepEqual(names(record([[T0, ['x.com', 'y.com', 'x.com', 'z.com']]])), ['x.com', 'y.com', 'z.com']);
  assert.deepEqual(
    names(
      record([
        [T0, ['x.com', 'y.com']],
        [T0, ['z.com', 'y.com']],
      ]),
    ),
    ['z.com', 'y.com', 'x.com'],
  );
});

test('a late message goes in its place by event time and never makes a domain older', () => {
  const l = record([
    [T0 + 10_000, ['new.com']],
    [T0, ['old.com']],
    [T0 + 5_000, ['mid.com', 'new.com']],
  ]);
  assert.deepEqual(
    l.map((e) => [e.domain, e.lastSeenMs - T0]),
    [
      ['new.com', 10_000],
      ['mid.com', 5_000],
      ['old.com', 0],
    ],
  );
  assert.equal(recordUrlDomains(l, ['new.com'], T0), l, 'nothing changes: the same list');
});

test('at most 16 are kept: the oldest go, and a late domain older than all of them is not kept', () => {
  const many = Array.from({ length: 20 }, (_, i) => [T0 + i * 1_000, [`d${i}.com`]] as [number, string[]]);
  const l = record(many);
  assert.equal(l.length, MAX_URL_DOMAINS);
  assert.deepEqual(
    names(l),
    Array.from({ length: 16 }, (_, i) => `d${19 - i}.com`),
  );
  assert.deepEqual(names(recordUrlDomains(l, ['late.com'], T0)), names(l));
  const one = Array.from({ length: 20 }, (_, i) => `m${i}.com`);
  assert.deepEqual(names(record([[T0, one]])), one.slice(0, 16), 'one message: its first 16 links');
});

test('domains longer than a DNS name (253 bytes), empty or malformed are not kept', () => {
  const label = (n: number) => 'a'.repeat(n);
  const longest = `${label(63)}.${label(63)}.${label(63)}.${label(61)}`; // 253
  assert.equal(longest.length, 253);
  assert.equal(keepsUrlDomain(longest), true);
  assert.equal(keepsUrlDomain(`${longest}a`), false);
  assert.equal(keepsUrlDomain(`${'é'.repeat(126)}a`), true, '253 bytes of UTF-8');
  assert.equal(keepsUrlDomain('é'.repeat(127)), false, '254 bytes of UTF-8');
  assert.equal(keepsUrlDomain(''), false);
  assert.equal(keepsUrlDomain('bad\uD800.com'), false, 'a lone surrogate has no UTF-8 form');
  assert.deepEqual(names(record([[T0, ['', `${longest}a`, 'ok.com', 'bad\uD800.com']]])), ['ok.com']);
  assert.equal(recordUrlDomains(NO_URL_DOMAINS, [`${longest}a`], T0), NO_URL_DOMAINS);
});

test('a domain is published while its time lies in the longest window’s slices at asOf', () => {
  const l = record([
    [T0, ['old.com']],
    [T0 + 3_600_000, ['new.com']],
  ]);
  assert.equal(urlDomainsAt(l, T0 + 3_600_000, DAY), l);
  assert.deepEqual(names(urlDomainsAt(l, T0 + 86_400_000 - 1, DAY)), ['new.com', 'old.com']);
  assert.deepEqual(names(urlDomainsAt(l, T0 + 86_400_000, DAY)), ['new.com'], 'its slice left the window');
  assert.equal(urlDomainsAt(l, T0 + 2 * 86_400_000, DAY), NO_URL_DOMAINS);
});

test('the published list equals a brute-force recomputation, whatever was dropped before', () => {
  const windows: WindowSpec[] = [DAY, { name: '10m', lengthMs: 600_000, sliceMs: 60_000 }];
  for (let seed = 1; seed <= 200; seed++) {
    const r = seededRandom(seed);
    const window = windows[seed % 2]!;
    const pool = 4 + Math.floor(r() * 40);
    const messages: { t: number; domains: string[] }[] = [];
    let list = NO_URL_DOMAINS;
    let newest = T0;
    let asOf = T0;
    for (let i = 0; i < 300; i++) {
      newest += Math.floor(r() * (r() < 0.9 ? 60_000 : window.lengthMs / 2));
      // Some arrive late: a little, or by most of a window.
      const t = r() < 0.15 ? newest - Math.floor(r() * window.lengthMs) : newest;
      const domains = Array.from({ length: Math.floor(r() * r() * 6) }, () =>
        r() < 0.02 ? 'x'.repeat(254) : `d${Math.floor(r() * pool)}.example`,
      );
      messages.push({ t, domains });
      list = recordUrlDomains(list, domains, t);
      if (r() < 0.3) {
        // An emission: asOf is never before the newest event nor the last asOf.
        asOf = Math.max(asOf, newest + (r() < 0.3 ? Math.floor(r() * window.lengthMs) : 0));
        const published = urlDomainsAt(list, asOf, window);
        assert.deepEqual(
          names(published),
          referenceUrlDomains(messages, asOf, window),
          `seed ${seed} message ${i}`,
        );
        list = published; // what the processor keeps
      }
    }
  }
});

function roundTrip(list: UrlDomainList, latestMs?: number): UrlDomainList {
  const w = new Writer();
  writeUrlDomains(w, list, latestMs);
  const r = new Reader(w.done());
  const back = readUrlDomains(r, latestMs);
  r.end();
  return back;
}

test('a list survives its bytes in both forms, absolute times and ms before the newest event', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const r = seededRandom(seed);
    const messages = Array.from(
      { length: Math.floor(r() * 40) },
      (_, i) =>
        [T0 + i * Math.floor(r() * 100_000), [`s${Math.floor(r() * 30)}.example`, 'ünïcode.example']] as [
          number,
          string[],
        ],
    );
    const list = record(messages);
    const latest = messages.length > 0 ? messages[messages.length - 1]![0] + Math.floor(r() * 1_000) : T0;
    assert.deepEqual(roundTrip(list), list, `seed ${seed}`);
    assert.deepEqual(roundTrip(list, latest), list, `seed ${seed} relative`);
  }
  assert.equal(roundTrip(NO_URL_DOMAINS), NO_URL_DOMAINS);
  const w = new Writer();
  writeUrlDomains(w, NO_URL_DOMAINS);
  assert.equal(w.done().length, 1, 'no domain costs one byte');
  const fractional = record([[T0 + 0.5, ['a.com']]]);
  assert.deepEqual(roundTrip(fractional), fractional, 'absolute times are exact doubles');
  assert.throws(() => roundTrip(record([[T0 + 5, ['a.com']]]), T0), StateCodecError, 'seen after latestMs');
});

test('damaged domain bytes are refused with StateCodecError', () => {
  const bytes = (...parts: number[][]) => new Reader(Uint8Array.from(parts.flat()));
  const f64 = (v: number) => [...new Uint8Array(new Float64Array([v]).buffer)];
  const text = (s: string) => [s.length, ...Buffer.from(s)];
  const refused = [
    bytes([17], ...Array.from({ length: 17 }, (_, i) => [...text(`d${i}.io`), ...f64(T0)])),
    bytes([1], [0], f64(T0)), // empty domain
    bytes([1], [2, 0xc3, 0x28], f64(T0)), // not UTF-8
    bytes([2], text('a.io'), f64(T0), text('a.io'), f64(T0 - 1)), // twice
    bytes([2], text('a.io'), f64(T0), text('b.io'), f64(T0 + 1)), // out of order
    bytes([1], text('a.io'), f64(Number.NaN)),
    bytes([1], text('a.io')), // ends early
  ];
  for (const [i, r] of refused.entries())
    assert.throws(() => readUrlDomains(r), StateCodecError, `case ${i}`);
  assert.throws(() => readUrlDomains(bytes([1], text('a.io'), [0]), Number.NaN), StateCodecError);
});
