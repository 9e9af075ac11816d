import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callbackNumbers, createSubscriberHasher } from '@spamgate/core';
import type { MessageEvent } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import { decodePartitionMeta, encodePartitionMeta } from '../src/engine/entry-codec.ts';
import {
  callbackHashes,
  createFactKeys,
  hash32,
  messageFacts,
  recipientPrefix,
} from '../src/engine/facts.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import {
  EventTimeSkewError,
  type PartitionProcessor,
  type ProcessorOptions,
  type ProcessorOutput,
} from '../src/engine/processor-api.ts';
import type { MessageFacts } from '../src/windows/sender-state.ts';
import { processorOptionsFor } from './processor-options.ts';
import { referenceUrlDomains } from './url-domains-reference.ts';

const KEYS = createFactKeys('test-secret-0123456789abcdef');
const TEST_PROCESSOR_OPTIONS = processorOptionsFor(KEYS);
const T0 = 1_794_996_000_000; // on the hour
const FAR_FUTURE_CLOCK = T0 + 10 * 86_400_000;

type Input =
  | { kind: 'message'; event: MessageEvent }
  | { kind: 'feedback'; sender: string; t: number; f: 'SPAM_REPORT' | 'DELIVERY_FAILURE' };

/** A partition's input: several senders, bursts, some events a little late. */
function inputs(seed: number, n = 3_000): Input[] {
  const r = seededRandom(seed);
  const senders = Array.from({ length: 12 }, (_, i) => `+1202555${String(1000 + i)}`);
  let t = T0;
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * (r() < 0.95 ? 400 : 200_000));
    const sender = senders[Math.floor(r() ** 2 * senders.length)]!;
    // About 3% arrive up to 90 s late: some within the lateness, some past it.
    const eventTime = r() < 0.03 ? t - Math.floor(r() * 90_000) : t;
    if (r() < 0.08) {
      out.push({ kind: 'feedback', sender, t: eventTime, f: r() < 0.5 ? 'SPAM_REPORT' : 'DELIVERY_FAILURE' });
      continue;
    }
    const rec = Math.floor(r() * 300);
    out.push({
      kind: 'message',
      event: {
        messageId: `m-${i}`,
        eventTime,
        sender,
        senderKind: 'LONG_CODE',
        recipient: `+1303555${String(rec).padStart(4, '0')}`,
        body:
          r() < 0.5
            ? `Hi ${['Ann', 'Bob', 'Cy'][rec % 3]}, your parcel ${rec} waits at https://dl.example.com/${rec}`
            : null,
        campaignId: sender.endsWith('1000') ? 'C1' : null,
        originNetwork: null,
      },
    });
  }
  return out;
}

function feed(p: PartitionProcessor, input: Input): void {
  if (input.kind === 'message') {
    const { facts } = messageFacts(input.event, KEYS, 0);
    p.message(input.event.sender, input.event.senderKind, input.event.campaignId, facts, FAR_FUTURE_CLOCK);
  } else p.feedback(input.sender, input.t, input.f, FAR_FUTURE_CLOCK);
}

/**
 * Runs the inputs, draining every `every` events, then lets the watermark pass everything. A
 * restart rebuilds the processor from the changelog: from each key's latest record (what
 * compaction leaves), or from every record in the order written (what a restore reads of a
 * partition not compacted yet; the engine applies them as they come).
 */
function run(
  all: Input[],
  every: number,
  restartAt = -1,
  replay: 'latest' | 'every record' = 'latest',
): ProcessorOutput[] {
  let p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const out: ProcessorOutput[] = [];
  const changelog = new Map<string, Uint8Array | null>();
  const log: { key: string; value: Uint8Array | null }[] = [];
  const persist = () => {
    for (const { key, value } of p.takeChanged()) {
      changelog.set(key, value);
      log.push({ key, value });
    }
  };
  all.forEach((input, i) => {
    if (i === restartAt) {
      // What a new owner does: rebuild from the changelog (and the watermark) only.
      persist();
      const meta = encodePartitionMeta(p.watermark, p.closedBy);
      p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
      if (replay === 'latest') {
        for (const [sender, bytes] of changelog) if (bytes) p.restore(sender, bytes);
      } else {
        for (const { key, value } of log) {
          if (value) p.restore(key, value);
          else p.forget(key);
        }
      }
      const restored = decodePartitionMeta(meta);
      p.restoreWatermark(restored.watermark, restored.closedBy);
    }
    feed(p, input);
    if ((i + 1) % every === 0) {
      out.push(...p.drain(0));
      persist();
    }
  });
  out.push(...p.drain(0));
  p.advanceWatermark(p.watermark + 2 * 86_400_000);
  out.push(...p.drain(0));
  assert.equal(p.senderCount, 0, 'every sender idle a day later is evicted');
  return out;
}

const minutes = (out: ProcessorOutput[]) =>
  out
    .filter((o) => o.kind === 'minute')
    .map((o) => JSON.stringify(o.value))
    .sort();

function lastFeatures(out: ProcessorOutput[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of out)
    if (o.kind === 'features') m.set(o.sender, JSON.stringify({ ...o.value, emittedAt: 0 }));
  return m;
}

test('minute aggregates do not depend on batching, and every event is counted once', () => {
  for (const seed of [1, 2, 3]) {
    const all = inputs(seed);
    const a = run(all, 1);
    const b = run(all, 97);
    const [ma, mb] = [minutes(a), minutes(b)];
    const onlyA = ma.filter((x) => !mb.includes(x));
    const onlyB = mb.filter((x) => !ma.includes(x));
    assert.deepEqual(
      { onlyA: onlyA.slice(0, 3), onlyB: onlyB.slice(0, 3) },
      { onlyA: [], onlyB: [] },
      `seed ${seed}`,
    );
    assert.equal(ma.length, mb.length);
    let counted = 0;
    for (const o of a) {
      if (o.kind === 'minute')
        counted += o.value.messages + o.value.deliveryFailures + o.value.spamReports + o.value.lateEvents;
    }
    assert.equal(counted, all.length, 'on-time plus late equals every input');
  }
});

test('a new owner restored from the changelog produces what an uninterrupted run produces', () => {
  for (const seed of [4, 5, 6]) {
    const all = inputs(seed);
    const uninterrupted = run(all, 50);
    for (const [restartAt, replay] of [
      [50, 'latest'],
      [1_000, 'latest'],
      [2_950, 'latest'],
      [1_000, 'every record'],
      [2_950, 'every record'],
    ] as const) {
      const restarted = run(all, 50, restartAt, replay);
      const [mu, mr] = [minutes(uninterrupted), minutes(restarted)];
      assert.deepEqual(
        {
          onlyUninterrupted: mu.filter((x) => !mr.includes(x)).slice(0, 3),
          onlyRestarted: mr.filter((x) => !mu.includes(x)).slice(0, 3),
        },
        { onlyUninterrupted: [], onlyRestarted: [] },
        `seed ${seed} restart at ${restartAt} from ${replay}`,
      );
      assert.equal(mr.length, mu.length);
      assert.deepEqual(
        lastFeatures(restarted),
        lastFeatures(uninterrupted),
        `seed ${seed} restart at ${restartAt} from ${replay}`,
      );
    }
  }
});

test('a restore that applies every changelog record in order, tombstones included, ends where the latest records do', () => {
  const DAY = 86_400_000;
  const later = (x: Input): Input =>
    x.kind === 'message'
      ? { ...x, event: { ...x.event, eventTime: x.event.eventTime + 3 * DAY } }
      : { ...x, t: x.t + 3 * DAY };
  const all = inputs(7);
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const log: { key: string; value: Uint8Array | null }[] = [];
  const persist = () => log.push(...p.takeChanged());
  const play = (xs: Input[]) =>
    xs.forEach((x, i) => {
      feed(p, x);
      if ((i + 1) % 50 === 0) {
        p.drain(0);
        persist();
      }
    });
  play(all.slice(0, 1_500));
  // Two days without input: every sender and relation book is evicted, which writes tombstones.
  p.advanceWatermark(p.watermark + 2 * DAY);
  p.drain(0);
  persist();
  const tombstones = log.filter((r) => r.value === null).length;
  assert.ok(tombstones > 0, 'the run wrote tombstones');
  // Some of those senders come back; the others' latest records stay tombstones.
  const gone = (x: Input) => /100[0-5]$/.test(x.kind === 'message' ? x.event.sender : x.sender);
  play(
    all
      .slice(1_500)
      .filter((x) => !gone(x))
      .map(later),
  );
  p.drain(0);
  persist();

  const fromLatest = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const latest = new Map(log.map((r) => [r.key, r.value]));
  for (const [key, value] of latest) if (value) fromLatest.restore(key, value);
  const fromLog = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  for (const { key, value } of log) {
    if (value) fromLog.restore(key, value);
    else fromLog.forget(key);
  }
  assert.ok(log.length > latest.size, 'keys were written more than once');
  assert.ok([...latest.values()].includes(null), 'some keys end in a tombstone');
  for (const q of [fromLatest, fromLog]) q.restoreWatermark(p.watermark);
  assert.equal(fromLog.senderCount, fromLatest.senderCount);
  assert.equal(fromLog.relationBookCount, fromLatest.relationBookCount);
  assert.equal(fromLog.stateBytes, fromLatest.stateBytes);
  assert.equal(fromLog.lightSenderCount, fromLatest.lightSenderCount);
  assert.equal(fromLog.senderCount, p.senderCount);
  // And both go on to publish the same, to the last sender evicted.
  for (const q of [fromLatest, fromLog]) q.advanceWatermark(q.watermark + 2 * DAY);
  assert.deepEqual(
    fromLog.drain(0).map((o) => JSON.stringify(o)),
    fromLatest.drain(0).map((o) => JSON.stringify(o)),
  );
  assert.deepEqual(fromLog.takeChanged(), fromLatest.takeChanged());
});

test('events later than the allowed lateness are counted in the late column, not dropped', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const msg = (t: number, id: string): MessageEvent => ({
    messageId: id,
    eventTime: t,
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    recipient: '+13035550100',
    body: null,
    campaignId: null,
    originNetwork: null,
  });
  for (const [t, id] of [
    [T0 + 10_000, 'a'],
    [T0 + 200_000, 'b'],
    [T0 + 20_000, 'late'],
  ] as const) {
    p.message('+12025550100', 'LONG_CODE', null, messageFacts(msg(t, id), KEYS, 0).facts, FAR_FUTURE_CLOCK);
  }
  assert.equal(p.stats.lateEvents, 1);
  p.advanceWatermark(T0 + 400_000);
  const rows = p
    .drain(0)
    .flatMap((o) =>
      o.kind === 'minute' ? [[o.value.minute - T0, o.value.messages, o.value.lateEvents]] : [],
    );
  assert.deepEqual(rows, [
    [0, 1, 0],
    [120_000, 0, 1], // the minute open at the watermark (200 s - 30 s) when the late event came
    [180_000, 1, 0],
  ]);
});

test('an event far in the future is refused and changes nothing', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const facts = messageFacts(
    {
      messageId: 'x',
      eventTime: T0 + TEST_PROCESSOR_OPTIONS.maxFutureSkewMs + 1,
      sender: 's',
      senderKind: 'UNKNOWN',
      recipient: '+13035550100',
      body: null,
      campaignId: null,
      originNetwork: null,
    },
    KEYS,
    0,
  ).facts;
  assert.throws(() => p.message('s', 'UNKNOWN', null, facts, T0), EventTimeSkewError);
  assert.equal(p.senderCount, 0);
  assert.equal(p.watermark, Number.NEGATIVE_INFINITY);
});

test('message facts keep no number: recipients become keyed hashes, prefixes and shifted positions', () => {
  const event: MessageEvent = {
    messageId: 'm',
    eventTime: T0,
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    recipient: '+13035550123',
    body: 'Call 800-555-0199 now: https://bit.ly/x1',
    campaignId: null,
    originNetwork: null,
  };
  const { facts } = messageFacts(event, KEYS, -5);
  assert.equal(recipientPrefix('+13035550123'), 303_555);
  assert.notEqual(facts.recipientPosition, 13_035_550_123);
  const next = messageFacts({ ...event, recipient: '+13035550124' }, KEYS, -5).facts;
  assert.equal(next.recipientPosition - facts.recipientPosition, 1, 'distances survive the shift');
  assert.equal(facts.hasUrl, true);
  assert.equal(facts.hasCallbackNumber, true);
  assert.equal(facts.localHour, ((Math.floor(T0 / 3_600_000) % 24) + 19) % 24);
  assert.ok(
    !JSON.stringify(facts, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('3035550123'),
  );
});

test('call-back numbers become subscriber hashes, the first four, as a firewall would compute them', () => {
  const hasher = createSubscriberHasher('test-secret-0123456789abcdef');
  const sender = '+12025550100';
  const text =
    'Call 800-555-0101, 800-555-0102 or (800) 555-0103; +44 20 7946 0958, or 800-555-0105, not ' +
    'us at 202-555-0100, and 800-555-0101 again';
  const { content } = messageFacts({ ...msgFrom(sender, text) }, KEYS, 0);
  const numbers = callbackNumbers(text, sender);
  assert.deepEqual(content.callbackNumbers, numbers, 'one scan finds what callbackNumbers finds');
  assert.equal(numbers.length, 5);
  assert.deepEqual(
    callbackHashes(content, KEYS).map((h) => h.readBigUInt64BE(0).toString()),
    numbers.slice(0, 4).map((n) => hasher.hash(n)),
  );
  assert.deepEqual(callbackHashes(messageFacts(msgFrom(sender, 'no number'), KEYS, 0).content, KEYS), []);
});

test('message() says whether it walked the numbers and whether its recipient had opted out, as sequentialShare and postOptOutSends count; feedback names its cluster', () => {
  for (const options of [
    TEST_PROCESSOR_OPTIONS,
    { ...TEST_PROCESSOR_OPTIONS, light: { maxEvents: 0, maxTemplates: 0 } },
  ]) {
    const p = createPartitionProcessor(options);
    const sent = (recipient: number, t: number, cluster = Number.NaN) =>
      p.message('S', 'LONG_CODE', null, { ...walk(t, recipient) }, FAR_FUTURE_CLOCK, cluster);
    // 100, 101 (walked), 101 (same number), 111 (10 apart: walked), 122 (11 apart).
    const flags = [
      sent(100, T0),
      sent(101, T0 + 1_000, 42),
      sent(101, T0 + 2_000),
      sent(111, T0 + 3_000),
      sent(122, T0 + 4_000),
    ];
    assert.deepEqual(
      flags.map((f) => [f.sequential, f.afterOptOut]),
      [
        [false, false],
        [true, false],
        [false, false],
        [true, false],
        [false, false],
      ],
    );
    p.advanceWatermark(T0 + 60_000);
    const features = p
      .drain(0)
      .flatMap((o) => (o.kind === 'features' ? [o.value] : []))
      .at(-1)!;
    assert.equal(features.windows[1]!.sequentialShare, 2 / 4, 'the same pairs (10m window)');
    // A delivery failure or a spam report naming a recipient is attributed to the cluster of the
    // sender's latest message to them; a block, or a recipient never messaged, is not.
    const to = (n: number) => ({ hi: walk(0, n).recipientHi, lo: walk(0, n).recipientLo });
    assert.ok(
      Number.isNaN(p.feedback('S', T0 + 5_000, 'DELIVERY_FAILURE', FAR_FUTURE_CLOCK, to(101))),
      'its latest message to 101 had no cluster',
    );
    sent(101, T0 + 6_000, 42);
    assert.equal(p.feedback('S', T0 + 7_000, 'DELIVERY_FAILURE', FAR_FUTURE_CLOCK, to(101)), 42);
    assert.equal(p.feedback('S', T0 + 7_000, 'SPAM_REPORT', FAR_FUTURE_CLOCK, to(101)), 42);
    assert.ok(Number.isNaN(p.feedback('S', T0 + 7_000, 'SUBSCRIBER_BLOCK', FAR_FUTURE_CLOCK, to(101))));
    assert.ok(Number.isNaN(p.feedback('S', T0 + 7_000, 'SPAM_REPORT', FAR_FUTURE_CLOCK, to(999))));
    assert.ok(Number.isNaN(p.feedback('S', T0 + 7_000, 'SPAM_REPORT', FAR_FUTURE_CLOCK)));
    // 101 opts out: the one confirmation within 5 min is excused, every later message is flagged;
    // a message to someone else is not.
    p.heard(KEYS.bookId('S'), to(101).hi, to(101).lo, T0 + 8_000, 'optOut', FAR_FUTURE_CLOCK);
    const after = [
      sent(101, T0 + 9_000, 42),
      sent(101, T0 + 10_000, 42),
      sent(102, T0 + 11_000, 42),
      sent(101, T0 + 400_000),
    ];
    assert.deepEqual(
      after.map((f) => f.afterOptOut),
      [false, true, false, true],
    );
    p.advanceWatermark(T0 + 500_000);
    const later = p
      .drain(0)
      .flatMap((o) => (o.kind === 'features' ? [o.value] : []))
      .at(-1)!;
    assert.equal(later.windows[3]!.postOptOutSends, 2, 'the flagged messages (24h window)');
  }
});

/** A message of `sender` with `body`, for the facts tests. */
function msgFrom(sender: string, body: string): MessageEvent {
  return {
    messageId: 'c',
    eventTime: T0,
    sender,
    senderKind: 'LONG_CODE',
    recipient: '+13035550123',
    body,
    campaignId: null,
    originNetwork: null,
  };
}

/** Facts of a bodiless message to recipient number n (positions n apart are n numbers apart). */
function walk(timeMs: number, n: number): MessageFacts {
  return {
    timeMs,
    recipientHi: Math.imul(n + 1, 2_654_435_761) >>> 0,
    recipientLo: Math.imul(n + 7, 40_503) >>> 0,
    recipientPosition: 3_035_550_000 + n,
    recipientPrefix: 303_555,
    fingerprint: 0n,
    urlDomainHashes: [],
    urlDomains: [],
    hasUrl: false,
    hasCallbackNumber: false,
    localHour: 12,
  };
}

// ---- recent URL domains (SenderFeatures.urlDomains) ---------------------------------------------

/** Far enough ahead for every event of these tests. */
const CLOCK = T0 + 365 * 86_400_000;
const FULL_ONLY: ProcessorOptions = {
  ...TEST_PROCESSOR_OPTIONS,
  light: { maxEvents: 0, maxTemplates: 0 },
};
const LONGEST = TEST_PROCESSOR_OPTIONS.windows[TEST_PROCESSOR_OPTIONS.windows.length - 1]!;

/** A message's facts with the given links, straight from their domains (no body to analyse). */
function linked(timeMs: number, recipient: number, domains: readonly string[]): MessageFacts {
  return {
    timeMs,
    recipientHi: Math.imul(recipient + 1, 2_654_435_761) >>> 0,
    recipientLo: Math.imul(recipient + 7, 40_503) >>> 0,
    recipientPosition: 3_035_550_000 + recipient,
    recipientPrefix: 303_555,
    fingerprint: 0n,
    urlDomainHashes: domains.map(hash32),
    urlDomains: domains,
    hasUrl: domains.length > 0,
    hasCallbackNumber: false,
    localHour: 12,
  };
}

/** The urlDomains of the sender's last SenderFeatures in `out`. */
const published = (out: ProcessorOutput[], sender: string): string[] | undefined =>
  out.flatMap((o) => (o.kind === 'features' && o.sender === sender ? [o.value.urlDomains] : [])).at(-1);

test('urlDomains list the registrable domains of a sender’s links, newest first, each once, in both tiers', () => {
  for (const options of [TEST_PROCESSOR_OPTIONS, FULL_ONLY]) {
    const p = createPartitionProcessor(options);
    const bodies = [
      'Your parcel: https://track.parcels-now.com/a1 or http://bit.ly/x',
      'hi there',
      'Pay at www.secure-pay.co.uk/login, then https://PARCELS-NOW.com/b',
    ];
    for (const [i, text] of bodies.entries())
      p.message(
        'S',
        'LONG_CODE',
        null,
        messageFacts(
          {
            messageId: `u${i}`,
            eventTime: T0 + i * 10_000,
            sender: 'S',
            senderKind: 'LONG_CODE',
            recipient: '+13035550100',
            body: text,
            campaignId: null,
            originNetwork: null,
          },
          KEYS,
          0,
        ).facts,
        CLOCK,
      );
    p.advanceWatermark(T0 + 60_000);
    assert.deepEqual(published(p.drain(0), 'S'), ['secure-pay.co.uk', 'parcels-now.com', 'bit.ly']);
  }
});

test('urlDomains keep 16, and a domain older than the longest window is neither published nor kept', () => {
  for (const options of [TEST_PROCESSOR_OPTIONS, FULL_ONLY]) {
    const p = createPartitionProcessor(options);
    p.message('S', 'LONG_CODE', null, linked(T0, 1, ['old.example']), CLOCK);
    const twenty = Array.from({ length: 20 }, (_, i) => `d${i}.example`);
    p.message('S', 'LONG_CODE', null, linked(T0 + 3_600_000, 2, twenty), CLOCK);
    p.advanceWatermark(T0 + 3_700_000);
    assert.deepEqual(published(p.drain(0), 'S'), twenty.slice(0, 16), 'the first 16 links of the message');
    // One link an hour later: old.example (cut by the cap) stays out; d0..d14 are still in the window.
    p.message('S', 'LONG_CODE', null, linked(T0 + 7_200_000, 3, ['new.example']), CLOCK);
    p.advanceWatermark(T0 + 7_300_000);
    assert.deepEqual(published(p.drain(0), 'S'), ['new.example', ...twenty.slice(0, 15)]);
    // A message without a link 24 h after the 20 links: their hour's slice has left the window.
    p.message('S', 'LONG_CODE', null, linked(T0 + 3_600_000 + 86_400_000, 4, []), CLOCK);
    p.advanceWatermark(T0 + 3_700_000 + 86_400_000);
    assert.deepEqual(published(p.drain(0), 'S'), ['new.example']);
    assert.deepEqual(
      p.entry('S')!.urlDomains.map((e) => e.domain),
      ['new.example'],
      'and the state no longer holds them',
    );
    const record = p.takeChanged().find((c) => c.key === 'S')!;
    assert.equal(Buffer.from(record.value!).includes('d0.example'), false, 'nor does the changelog');
  }
});

test('a sender restored from the changelog keeps exactly its urlDomains, in both tiers', () => {
  for (const options of [TEST_PROCESSOR_OPTIONS, FULL_ONLY]) {
    const p = createPartitionProcessor(options);
    p.message('S', 'LONG_CODE', null, linked(T0, 1, ['a.example', 'b.example']), CLOCK);
    p.message('S', 'LONG_CODE', null, linked(T0 + 5_000, 2, ['c.example', 'a.example']), CLOCK);
    p.message('S', 'LONG_CODE', null, linked(T0 + 1_000, 3, ['late.example']), CLOCK);
    p.message('T', 'LONG_CODE', null, linked(T0 + 2_000, 4, []), CLOCK);
    const records = p.takeChanged();
    assert.equal(p.lightSenderCount, options === FULL_ONLY ? 0 : 2);
    const q = createPartitionProcessor(options);
    for (const { key, value } of records) if (value) q.restore(key, value);
    q.restoreWatermark(p.watermark);
    for (const s of ['S', 'T']) assert.deepEqual(q.entry(s)!.urlDomains, p.entry(s)!.urlDomains, s);
    assert.deepEqual(
      q.entry('S')!.urlDomains.map((e) => [e.domain, e.lastSeenMs - T0]),
      [
        ['c.example', 5_000],
        ['a.example', 5_000],
        ['late.example', 1_000],
        ['b.example', 0],
      ],
      'one message’s links in order of appearance; a late one in its place by event time',
    );
    for (const x of [p, q]) {
      x.message('S', 'LONG_CODE', null, linked(T0 + 6_000, 5, ['b.example']), CLOCK);
      x.advanceWatermark(T0 + 60_000);
    }
    const [a, b] = [p.drain(0), q.drain(0)];
    assert.deepEqual(published(b, 'S'), ['b.example', 'c.example', 'a.example', 'late.example']);
    assert.deepEqual(b, a);
    assert.deepEqual(q.takeChanged(), p.takeChanged(), 'and writes the same bytes from then on');
  }
});

test('urlDomains equal a brute-force recomputation through drains, late events, evictions and restores', () => {
  const senders = Array.from({ length: 25 }, (_, i) => `+1202555${String(2000 + i)}`);
  for (const seed of [21, 22, 23]) {
    const r = seededRandom(seed);
    const stream: { sender: string; facts: MessageFacts }[] = [];
    let t = T0;
    for (let i = 0; i < 2_500; i++) {
      t += Math.floor(r() < 0.97 ? r() * 60_000 : r() * 40 * 3_600_000);
      const at = r() < 0.05 ? t - Math.floor(r() * 120_000) : t; // some later than the allowed lateness
      const domains = Array.from({ length: Math.floor(r() * r() * 5) }, () =>
        r() < 0.02 ? `${'x'.repeat(250)}.com` : `d${Math.floor(r() * 30)}.example`,
      );
      stream.push({
        sender: senders[Math.floor(r() ** 2 * senders.length)]!,
        facts: linked(at, i % 50, domains),
      });
    }
    for (const options of [TEST_PROCESSOR_OPTIONS, FULL_ONLY]) {
      for (const [every, restarts] of [
        [1, []],
        [40, [700, 1_900]],
      ] as const) {
        let p = createPartitionProcessor(options);
        const changelog = new Map<string, Uint8Array | null>();
        const history = new Map<string, { t: number; domains: readonly string[] }[]>();
        let checked = 0;
        let listed = 0;
        const persist = () => {
          for (const { key, value } of p.takeChanged()) {
            changelog.set(key, value);
            if (value === null) history.delete(key); // evicted: forgotten (idle a whole longest window)
          }
        };
        const drain = () => {
          for (const o of p.drain(0)) {
            if (o.kind !== 'features') continue;
            const expected = referenceUrlDomains(history.get(o.sender) ?? [], o.value.asOf, LONGEST);
            assert.deepEqual(o.value.urlDomains, expected, `seed ${seed} ${o.sender} at ${o.value.asOf}`);
            checked++;
            if (expected.length > 1) listed++;
          }
          persist();
        };
        stream.forEach(({ sender, facts }, i) => {
          if ((restarts as readonly number[]).includes(i)) {
            persist(); // what the last transaction committed
            const watermark = p.watermark;
            p = createPartitionProcessor(options);
            for (const [key, value] of changelog) if (value) p.restore(key, value);
            p.restoreWatermark(watermark);
          }
          p.message(sender, 'LONG_CODE', null, facts, CLOCK);
          history.set(sender, [
            ...(history.get(sender) ?? []),
            { t: facts.timeMs, domains: facts.urlDomains },
          ]);
          if ((i + 1) % every === 0) drain();
        });
        p.advanceWatermark(p.watermark + 2 * 86_400_000);
        drain();
        assert.equal(p.senderCount, 0);
        assert.ok(
          checked > 500 && listed > 100,
          `seed ${seed}: ${checked} records, ${listed} with 2+ domains`,
        );
      }
    }
  }
});

test('a burst’s last message is published once the partition’s newest event is one emit interval past it', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const message = (sender: string, t: number, i: number): Input => ({
    kind: 'message',
    event: {
      messageId: `burst-${i}`,
      eventTime: t,
      sender,
      senderKind: 'LONG_CODE',
      recipient: `+1303555${String(1000 + i)}`,
      body: 'see you at 8',
      campaignId: null,
      originNetwork: null,
    },
  });
  const featuresOf = (out: ProcessorOutput[], sender: string) =>
    out.flatMap((o) => (o.kind === 'features' && o.sender === sender ? [o.value.asOf] : []));
  feed(p, message('+12025550001', T0, 0));
  assert.deepEqual(featuresOf(p.drain(0), '+12025550001'), [T0], 'the first message is published at once');
  feed(p, message('+12025550001', T0 + 200, 1));
  assert.deepEqual(featuresOf(p.drain(0), '+12025550001'), [], 'held: within the emit interval of the last');
  // Another sender's traffic moves the partition's stream time; the watermark stays 30 s behind.
  feed(p, message('+12025550002', T0 + 900, 2));
  assert.deepEqual(featuresOf(p.drain(0), '+12025550001'), [], 'stream time 0.7 s past it: still held');
  feed(p, message('+12025550002', T0 + 1_200, 3));
  assert.deepEqual(
    featuresOf(p.drain(0), '+12025550001'),
    [T0 + 200],
    'published once stream time is 1 s past it, long before the watermark is',
  );
  assert.ok(p.watermark < T0 + 200);
});
