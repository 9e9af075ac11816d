// The sliced sender state against a brute-force recomputation from the raw events, over many
// random streams: every window feature must equal the naive value (exactly, since these streams
// stay within the sketches' exact range).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEAR_DUPLICATE_DISTANCE } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import { NO_RELATION_FEATURES } from '../src/relations/relation-book.ts';
import {
  addFeedback,
  addMessage,
  createSenderState,
  DEFAULT_FEATURE_OPTIONS,
  type FeedbackKind,
  featuresAt,
  isIdle,
  type MessageFacts,
  type WindowFeatures,
} from '../src/windows/sender-state.ts';
import { DEFAULT_WINDOWS, sliceStart, validateWindows, type WindowSpec } from '../src/windows/window-spec.ts';

type Event =
  | { kind: 'message'; m: MessageFacts; family: number }
  | { kind: 'feedback'; t: number; f: FeedbackKind };

function randomFingerprint(r: () => number): bigint {
  return (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
}

function stream(seed: number): Event[] {
  const r = seededRandom(seed);
  const families = Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomFingerprint(r));
  const n = Math.floor(r() * 400);
  const events: Event[] = [];
  let t = 1_795_000_000_000 + Math.floor(r() * 86_400_000);
  const recipients = 1 + Math.floor(r() * 90);
  const base = 2_025_550_000 + Math.floor(r() * 1000);
  for (let i = 0; i < n; i++) {
    // Bursty: mostly sub-second gaps, sometimes minutes or hours.
    const mode = r();
    t +=
      mode < 0.6
        ? Math.floor(r() * 800)
        : mode < 0.9
          ? Math.floor(r() * 120_000)
          : Math.floor(r() * 7_200_000);
    if (r() < 0.1) {
      const f = (['DELIVERY_FAILURE', 'SPAM_REPORT', 'SUBSCRIBER_BLOCK', 'UNKNOWN'] as const)[
        Math.floor(r() * 4)
      ]!;
      events.push({ kind: 'feedback', t, f });
      continue;
    }
    const rec = Math.floor(r() * recipients);
    const walking = r() < 0.3;
    const family = r() < 0.15 ? -1 : Math.floor(r() * families.length);
    let fingerprint = family < 0 ? 0n : families[family]!;
    // Personalisation: flip at most half the near-duplicate distance, so families never blur.
    for (let k = 0; k < Math.floor(r() * (Math.floor(NEAR_DUPLICATE_DISTANCE / 2) + 1)); k++) {
      if (fingerprint !== 0n) fingerprint ^= 1n << BigInt(Math.floor(r() * 64));
    }
    const domains = r() < 0.3 ? [Math.floor(r() * 5) + 1] : [];
    events.push({
      kind: 'message',
      family,
      m: {
        timeMs: t,
        recipientHi: rec * 7919,
        recipientLo: rec * 104_729 + 1,
        recipientPosition: walking ? base + i : base + rec * 37,
        recipientPrefix: 202_555 + (rec % 7),
        fingerprint,
        urlDomainHashes: domains,
        urlDomains: domains.map((d) => `d${d}.example`),
        hasUrl: domains.length > 0,
        hasCallbackNumber: r() < 0.05,
        localHour: Math.floor(t / 3_600_000) % 24,
      },
    });
  }
  return events;
}

function reference(events: Event[], spec: WindowSpec, t: number): WindowFeatures {
  const end = sliceStart(t, spec.sliceMs);
  const inWindow = (x: number) => {
    const s = sliceStart(x, spec.sliceMs);
    return s <= end && s > end - spec.lengthMs;
  };
  const o = DEFAULT_FEATURE_OPTIONS;
  const messages = events.filter((e): e is Extract<Event, { kind: 'message' }> => e.kind === 'message');
  const inW = messages.filter((e) => inWindow(e.m.timeMs));
  const count = (pred: (e: (typeof inW)[number]) => boolean) => inW.filter(pred).length;
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const bucketCounts = (width: number) => {
    const c = new Map<number, number>();
    for (const e of messages)
      c.set(sliceStart(e.m.timeMs, width), (c.get(sliceStart(e.m.timeMs, width)) ?? 0) + 1);
    let peak = 0;
    for (const [b, n] of c) if (inWindow(b)) peak = Math.max(peak, n);
    return peak;
  };
  const gaps: number[] = [];
  let pairs = 0;
  let sequential = 0;
  let fresh = 0;
  const lastSeen = new Map<number, number>();
  messages.forEach((e, i) => {
    const prev = messages[i - 1];
    const seen = lastSeen.get(e.m.recipientLo);
    const isNew = seen === undefined || e.m.timeMs - seen > o.newContactLookbackMs;
    lastSeen.set(e.m.recipientLo, Math.max(seen ?? e.m.timeMs, e.m.timeMs));
    if (!inWindow(e.m.timeMs)) return;
    if (isNew) fresh++;
    if (prev) {
      gaps.push(Math.abs(e.m.timeMs - prev.m.timeMs) / 1000);
      const d = Math.abs(e.m.recipientPosition - prev.m.recipientPosition);
      pairs++;
      if (d > 0 && d <= o.sequentialDistance) sequential++;
    }
  });
  const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0;
  const meanSq = gaps.length ? gaps.reduce((a, b) => a + b * b, 0) / gaps.length : 0;
  const families = new Map<number, number>();
  for (const e of inW) if (e.family >= 0) families.set(e.family, (families.get(e.family) ?? 0) + 1);
  const bodied = [...families.values()].reduce((a, b) => a + b, 0);
  const prefixes = new Map<number, number>();
  for (const e of inW) prefixes.set(e.m.recipientPrefix, (prefixes.get(e.m.recipientPrefix) ?? 0) + 1);
  let entropy = 0;
  for (const c of prefixes.values()) entropy -= (c / inW.length) * Math.log2(c / inW.length);
  const feedback = events.filter(
    (e): e is Extract<Event, { kind: 'feedback' }> => e.kind === 'feedback' && inWindow(e.t),
  );
  const failures = feedback.filter((f) => f.f === 'DELIVERY_FAILURE').length;
  const quiet = (h: number) => h >= o.quietFrom || h < o.quietTo;
  const distinctRecipients = new Set(inW.map((e) => e.m.recipientLo)).size;
  return {
    window: spec.name,
    windowMs: spec.lengthMs,
    messages: inW.length,
    peak1s: bucketCounts(1_000),
    peak10s: bucketCounts(10_000),
    distinctRecipients,
    fanOut: ratio(distinctRecipients, inW.length),
    newContactShare: ratio(fresh, inW.length),
    sequentialShare: ratio(sequential, pairs),
    prefixEntropy: inW.length ? entropy : 0,
    topTemplateShare: ratio(Math.max(0, ...families.values()), bodied),
    distinctTemplates: families.size,
    urlShare: ratio(
      count((e) => e.m.hasUrl),
      inW.length,
    ),
    distinctUrlDomains: new Set(inW.flatMap((e) => e.m.urlDomainHashes)).size,
    callbackShare: ratio(
      count((e) => e.m.hasCallbackNumber),
      inW.length,
    ),
    timingCv: gaps.length > 1 && mean > 0 ? Math.sqrt(Math.max(0, meanSq - mean * mean)) / mean : 0,
    quietHourShare: ratio(
      count((e) => quiet(e.m.localHour)),
      inW.length,
    ),
    deliveryFailures: failures,
    deliveryFailureRate: ratio(failures, inW.length),
    spamReports: feedback.filter((f) => f.f === 'SPAM_REPORT').length,
    subscriberBlocks: feedback.filter((f) => f.f === 'SUBSCRIBER_BLOCK').length,
    registeredCapShare: 0,
    // Contacts and the relation features come from the relation book (relation-book.test.ts);
    // the windows alone, as here, have none.
    contactShare: 0,
    ...NO_RELATION_FEATURES,
  };
}

function assertClose(actual: WindowFeatures, expected: WindowFeatures, label: string): void {
  for (const key of Object.keys(expected) as (keyof WindowFeatures)[]) {
    const a = actual[key];
    const e = expected[key];
    if (typeof e === 'number' && typeof a === 'number') {
      assert.ok(
        Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e)),
        `${label} ${key}: got ${a}, expected ${e}`,
      );
    } else assert.equal(a, e, `${label} ${key}`);
  }
}

test('the default windows are valid and bad ones are reported', () => {
  assert.deepEqual(validateWindows(DEFAULT_WINDOWS), []);
  assert.match(
    validateWindows([{ name: 'x', lengthMs: 65_000, sliceMs: 5_000 }]).join('; '),
    /multiple of 10 s/,
  );
  assert.match(
    validateWindows([{ name: 'y', lengthMs: 65_000, sliceMs: 10_000 }]).join('; '),
    /not a multiple of its slice/,
  );
  assert.match(
    validateWindows([...DEFAULT_WINDOWS, { name: '1m', lengthMs: 60_000, sliceMs: 10_000 }]).join('; '),
    /declared twice/,
  );
});

test('every window feature equals a brute-force recomputation over 300 random streams', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const events = stream(seed);
    const state = createSenderState(DEFAULT_WINDOWS);
    const checkpoints = new Set([
      Math.floor(events.length / 3),
      Math.floor((2 * events.length) / 3),
      events.length - 1,
    ]);
    events.forEach((e, i) => {
      if (e.kind === 'message') addMessage(state, e.m);
      else addFeedback(state, e.t, e.f);
      if (!checkpoints.has(i)) return;
      const t = e.kind === 'message' ? e.m.timeMs : e.t;
      const got = featuresAt(state, t);
      DEFAULT_WINDOWS.forEach((spec, w) => {
        assertClose(
          got[w]!,
          reference(events.slice(0, i + 1), spec, t),
          `seed ${seed} event ${i} window ${spec.name}`,
        );
      });
    });
  }
});

test('a sender whose 24 h window has emptied is idle; one with recent traffic is not', () => {
  const state = createSenderState(DEFAULT_WINDOWS);
  const events = stream(7).filter((e) => e.kind === 'message');
  for (const e of events) addMessage(state, e.m);
  const last = (events.at(-1) as Extract<Event, { kind: 'message' }>).m.timeMs;
  assert.equal(isIdle(state, last), false);
  assert.equal(isIdle(state, last + 86_400_000 + 3_600_000), true);
});

test('a late event inside the windows is counted in its own slice', () => {
  const state = createSenderState(DEFAULT_WINDOWS);
  const m = (timeMs: number): MessageFacts => ({
    timeMs,
    recipientHi: timeMs,
    recipientLo: timeMs,
    recipientPosition: Number.NaN,
    recipientPrefix: -1,
    fingerprint: 0n,
    urlDomainHashes: [],
    urlDomains: [],
    hasUrl: false,
    hasCallbackNumber: false,
    localHour: 12,
  });
  const t0 = 1_794_996_000_000; // on the hour, so slice edges are easy to reason about
  addMessage(state, m(t0 + 600_000));
  addMessage(state, m(t0 + 30_000)); // 9.5 minutes late
  const [oneMinute, tenMinutes] = featuresAt(state, t0 + 600_000);
  assert.equal(oneMinute?.messages, 1);
  assert.equal(
    tenMinutes?.messages,
    1,
    'the 10 m window covers the slices starting after t0: the late event is outside it',
  );
  const hour = featuresAt(state, t0 + 600_000)[2];
  assert.equal(hour?.messages, 2);
  addMessage(state, m(t0 - 2 * 86_400_000)); // beyond every window: ignored, not an error
  assert.equal(featuresAt(state, t0 + 600_000)[3]?.messages, 2);
});
