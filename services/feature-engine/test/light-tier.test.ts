// The cheap tier against full state: a partition run with cheap senders must publish exactly
// what the same run publishes with every sender on full state, and hand the shell the same
// attributions (sequential pairs, sends after an opt-out, the clusters answers and feedback count
// against), through drains, promotions, forgetting, evictions and restores from the changelog.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCodecError } from '@spamgate/core';
import type { AddressKind, MessageEvent } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import { createFactKeys, messageFacts } from '../src/engine/facts.ts';
import {
  decodeLight,
  decodeLightBytes,
  encodeLight,
  LIGHT_TAG,
  peekLightBytes,
} from '../src/engine/light-codec.ts';
import { emptyLight } from '../src/engine/light-entry.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import type {
  HeardKind,
  MessageFlags,
  PartitionProcessor,
  ProcessorOptions,
  ProcessorOutput,
} from '../src/engine/processor-api.ts';
import { processorOptionsFor } from './processor-options.ts';

const KEYS = createFactKeys('light-secret-0123456789abcdef');
const TEST_PROCESSOR_OPTIONS = processorOptionsFor(KEYS);
const T0 = 1_794_996_000_000;
const CLOCK = T0 + 30 * 86_400_000;
const BODIES = [
  'running late, see you soon',
  'ok',
  'Hi {n}, your parcel {c} waits at https://dl.example.com/{c}',
  'Hi {n}, your parcel {c} is waiting at the depot. Confirm the delivery address at https://dl.example.com/{c} before Friday.',
  'call me back at 202-555-0199',
  'love you',
  'what time is dinner?',
  'Deals for {n}: https://{n}-deals.com/{c}, bit.ly/{c}, https://{c}-prizes.net and www.shop.example.co.uk/{c}',
  null,
];

type Input =
  | { kind: 'message'; event: MessageEvent }
  | {
      kind: 'feedback';
      sender: string;
      t: number;
      f: 'SPAM_REPORT' | 'DELIVERY_FAILURE' | 'SUBSCRIBER_BLOCK';
      /** The recipient the feedback names, if it names one. */
      recipient: string | null;
    }
  | { kind: 'heard'; sender: string; from: string; t: number; h: HeardKind };

/**
 * Many senders, most with a handful of events spread over two days (they stay cheap, forget old
 * events and fall idle), some busy (promoted), some late events, feedback, registrations and a
 * few senders whose kind changes.
 */
function inputs(seed: number, n = 4_000, stepMs = 3_000, recipients = 40): Input[] {
  const r = seededRandom(seed);
  const senders = Array.from({ length: 600 }, (_, i) => `+1415555${String(1000 + i)}`);
  let t = T0;
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() < 0.9 ? r() * stepMs : r() * 600_000);
    const busy = r() < 0.25;
    const sender = busy
      ? senders[Math.floor(r() * 6)]!
      : senders[6 + Math.floor(r() * (senders.length - 6))]!;
    const late = r() < 0.04;
    const eventTime = late ? t - Math.floor(r() * 120_000) : t;
    if (r() < 0.12) {
      // A recipient answering (replies, opt-outs, opt-ins): relation books, contacts.
      const from = `+1303555${String(Math.floor(r() * recipients)).padStart(4, '0')}`;
      const h = (['message', 'message', 'message', 'optOut', 'optIn'] as const)[Math.floor(r() * 5)]!;
      out.push({ kind: 'heard', sender, from, t: eventTime, h });
      continue;
    }
    if (r() < 0.1) {
      const f = (['SPAM_REPORT', 'DELIVERY_FAILURE', 'SUBSCRIBER_BLOCK'] as const)[Math.floor(r() * 3)]!;
      const named = r() < 0.7 ? `+1303555${String(Math.floor(r() * recipients)).padStart(4, '0')}` : null;
      out.push({ kind: 'feedback', sender, t: eventTime, f, recipient: named });
      continue;
    }
    const rec = Math.floor(r() * recipients);
    const template = BODIES[Math.floor(r() * BODIES.length)]!;
    const kind: AddressKind = sender.endsWith('1599') && r() < 0.5 ? 'TOLL_FREE' : 'LONG_CODE';
    out.push({
      kind: 'message',
      event: {
        messageId: `m-${i}`,
        eventTime,
        sender,
        senderKind: kind,
        recipient: r() < 0.05 ? 'GroupChat' : `+1303555${String(rec).padStart(4, '0')}`,
        body: template === null ? null : template.replace('{n}', `N${rec}`).replaceAll('{c}', `c${rec}`),
        campaignId: sender.endsWith('1001') || (r() < 0.01 && !busy) ? 'CAMP01' : null,
        originNetwork: null,
      },
    });
  }
  return out;
}

/** Applies an input; returns what the processor handed back (a message's flags, or a cluster or NaN). */
function feed(p: PartitionProcessor, input: Input): MessageFlags | number {
  if (input.kind === 'message') {
    const { facts, content } = messageFacts(input.event, KEYS, 0);
    const cluster = content.clusterId ?? Number.NaN;
    return p.message(
      input.event.sender,
      input.event.senderKind,
      input.event.campaignId,
      facts,
      CLOCK,
      cluster,
    );
  }
  if (input.kind === 'heard') {
    const { hi, lo } = KEYS.recipientHash(input.from);
    return p.heard(KEYS.bookId(input.sender), hi, lo, input.t, input.h, CLOCK);
  }
  const named = input.recipient === null ? undefined : KEYS.recipientHash(input.recipient);
  return p.feedback(input.sender, input.t, input.f, CLOCK, named);
}

interface Run {
  out: ProcessorOutput[];
  /** What each input's call returned, in input order. */
  returned: (MessageFlags | number)[];
  maxLight: number;
  promoted: number;
}

/** Runs everything through one processor (rebuilt from its changelog at `restarts`), then a day of silence. */
function run(all: Input[], options: ProcessorOptions, every: number, restarts: number[] = []): Run {
  let p = createPartitionProcessor(options);
  const out: ProcessorOutput[] = [];
  const returned: (MessageFlags | number)[] = [];
  const changelog = new Map<string, Uint8Array | null>();
  let maxLight = 0;
  let promoted = 0;
  const persist = () => {
    for (const { key, value } of p.takeChanged()) changelog.set(key, value);
  };
  all.forEach((input, i) => {
    if (restarts.includes(i)) {
      persist();
      const watermark = p.watermark;
      const closedBy = p.closedBy;
      promoted += p.stats.promotedSenders;
      p = createPartitionProcessor(options);
      for (const [sender, bytes] of changelog) if (bytes) p.restore(sender, bytes);
      p.restoreWatermark(watermark, closedBy);
    }
    returned.push(feed(p, input));
    if ((i + 1) % every === 0) {
      out.push(...p.drain(0));
      persist();
      maxLight = Math.max(maxLight, p.lightSenderCount);
    }
  });
  out.push(...p.drain(0));
  p.advanceWatermark(p.watermark + 2 * 86_400_000);
  out.push(...p.drain(0));
  assert.equal(p.senderCount, 0, 'every sender idle two days later is evicted');
  return { out, returned, maxLight, promoted: promoted + p.stats.promotedSenders };
}

const fullOnly = (o: ProcessorOptions): ProcessorOptions => ({
  ...o,
  light: { maxEvents: 0, maxTemplates: 0 },
});

/**
 * Short windows and look-back, so that cheap senders forget events, meet the look-back's edge
 * and fall idle many times within a few thousand events.
 */
const SHORT: ProcessorOptions = {
  ...TEST_PROCESSOR_OPTIONS,
  windows: [
    { name: '1m', lengthMs: 60_000, sliceMs: 10_000 },
    { name: '10m', lengthMs: 600_000, sliceMs: 60_000 },
  ],
  features: { ...TEST_PROCESSOR_OPTIONS.features, newContactLookbackMs: 900_000 },
};

test('cheap senders publish exactly what full state publishes, through promotions and restores', () => {
  const listedDomains = new Set<number>();
  for (const [seed, options, all] of [
    [11, TEST_PROCESSOR_OPTIONS, inputs(11)],
    [12, TEST_PROCESSOR_OPTIONS, inputs(12)],
    [13, SHORT, inputs(13, 4_000, 400, 3)],
    [14, SHORT, inputs(14, 4_000, 600, 2)],
  ] as const) {
    for (const [every, restarts] of [
      [1, []],
      [37, [500, 2_222]],
      [400, [1_000, 3_999]],
    ] as const) {
      const full = run(all, fullOnly(options), every, [...restarts]);
      const light = run(all, options, every, [...restarts]);
      // Drained as often but never restarted: the same attributions. (Not across drain rates: a
      // sender evicted after a day of silence starts afresh, so its next message has no pair.)
      if (restarts.length > 0)
        assert.deepEqual(
          full.returned,
          run(all, fullOnly(options), every).returned,
          `seed ${seed} every ${every}: attributions after restores`,
        );
      assert.equal(full.maxLight, 0);
      assert.ok(light.maxLight > 20, `seed ${seed}: many senders stay cheap (${light.maxLight})`);
      assert.ok(light.promoted > 5, `seed ${seed}: busy senders are promoted (${light.promoted})`);
      // The relation side is exercised: contacts shape the derived messages both tiers keep.
      const windows = light.out.flatMap((o) => (o.kind === 'features' ? o.value.windows : []));
      assert.ok(
        light.out.some((o) => o.kind === 'features' && o.value.clusters.length > 0),
        `seed ${seed}: some senders name their clusters`,
      );
      const domainCounts = light.out.flatMap((o) =>
        o.kind === 'features' ? [o.value.urlDomains.length] : [],
      );
      for (const n of domainCounts) listedDomains.add(n);
      assert.ok(
        domainCounts.some((n) => n >= 4),
        `seed ${seed}: some senders list several URL domains`,
      );
      for (const f of ['contactShare', 'repliedRecipients', 'optOuts', 'postOptOutSends'] as const)
        assert.ok(
          windows.some((w) => w[f] > 0),
          `seed ${seed}: some features have ${f} > 0`,
        );
      // What the shell re-keys: the messages' flags, and the clusters answers and feedback count against.
      assert.deepEqual(light.returned, full.returned, `seed ${seed} every ${every}: attributions`);
      const flags = light.returned.filter((r): r is MessageFlags => typeof r === 'object');
      assert.ok(
        flags.some((f) => f.sequential),
        `seed ${seed}: some messages walk the numbers`,
      );
      assert.ok(
        flags.some((f) => f.afterOptOut),
        `seed ${seed}: some messages go to recipients who opted out`,
      );
      const attributed = all.filter(
        (input, i) => input.kind !== 'message' && !Number.isNaN(light.returned[i] as number),
      );
      for (const kind of ['heard', 'feedback'] as const)
        assert.ok(
          attributed.some((input) => input.kind === kind),
          `seed ${seed}: some ${kind} inputs are attributed to a cluster`,
        );
      assert.equal(light.out.length, full.out.length, `seed ${seed} every ${every}: output count`);
      for (let i = 0; i < full.out.length; i++)
        assert.deepEqual(light.out[i], full.out[i], `seed ${seed} every ${every}: output ${i}`);
    }
  }
  for (const n of [0, 1, 16]) assert.ok(listedDomains.has(n), `some senders list ${n} URL domains`);
});

test('a cheap sender survives its bytes and refuses damaged ones', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const event = (t: number, recipient: string): MessageEvent => ({
    messageId: `m${t}`,
    eventTime: t,
    sender: '+14155550000',
    senderKind: 'LONG_CODE',
    recipient,
    body: 'running late, see you soon https://example.com/x',
    campaignId: null,
    originNetwork: null,
  });
  for (const [t, rec] of [
    [T0, '+13035550001'],
    [T0 + 4_000, '+13035550002'],
    [T0 + 3_600_000, '+13035550001'],
  ] as const)
    p.message('+14155550000', 'LONG_CODE', null, messageFacts(event(t, rec), KEYS, 0).facts, CLOCK);
  p.feedback('+14155550000', T0 + 5_000, 'DELIVERY_FAILURE', CLOCK);
  assert.equal(p.lightSenderCount, 1);
  const [record] = p.takeChanged();
  assert.ok(record?.value);
  const bytes = Buffer.from(record.value);
  assert.equal(bytes[0], LIGHT_TAG);
  const light = decodeLightBytes(bytes);
  assert.equal(light.events.length, 4);
  assert.deepEqual(light.urlDomains, [{ domain: 'example.com', lastSeenMs: T0 + 3_600_000 }]);
  assert.deepEqual(decodeLight(encodeLight(light)), light);
  assert.ok(bytes.length < 200, `a three-message sender packs into ${bytes.length} bytes`);
  assert.throws(() => decodeLightBytes(bytes.subarray(0, bytes.length - 3)), StateCodecError);
  assert.throws(() => decodeLightBytes(Buffer.concat([bytes, Buffer.from([0])])), StateCodecError);
  assert.throws(() => decodeLightBytes(Buffer.from([LIGHT_TAG, 0, 99])), StateCodecError);
  // Damaged bytes of either form: a StateCodecError or an entry, never another error.
  const r = seededRandom(31);
  for (const form of [bytes, Buffer.from(encodeLight({ ...light, lastEmittedAsOf: 0.5 }), 'latin1')])
    for (let i = 0; i < 2_000; i++) {
      const damaged = Buffer.from(form.subarray(0, 1 + Math.floor(r() * form.length)));
      damaged[Math.floor(r() * damaged.length)] = Math.floor(r() * 256);
      for (const read of [decodeLightBytes, peekLightBytes])
        try {
          read(damaged);
        } catch (err) {
          assert.ok(
            err instanceof StateCodecError,
            `${read.name} of damaged ${damaged.toString('hex')}: ${err}`,
          );
        }
    }
  assert.deepEqual(decodeLight(encodeLight(emptyLight())), emptyLight());
});

test('minute and window closes write no record; a restore brings a cheap sender up to them', () => {
  const quiet = '+14155550000';
  const busy = '+14155550001';
  const send = (q: PartitionProcessor, sender: string, t: number) =>
    q.message(
      sender,
      'LONG_CODE',
      null,
      messageFacts(
        {
          messageId: `m${sender}${t}`,
          eventTime: t,
          sender,
          senderKind: 'LONG_CODE',
          recipient: '+13035550001',
          body: 'running late, see you soon',
          campaignId: null,
          originNetwork: null,
        },
        KEYS,
        0,
      ).facts,
      CLOCK,
    );
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  send(p, quiet, T0 + 5_000);
  assert.deepEqual(
    p.drain(0).map((o) => [o.kind, o.sender]),
    [['features', quiet]],
  );
  const record = p.takeChanged().find((c) => c.key === quiet)?.value;
  assert.ok(record, 'its message and first features write its record');
  // Another sender moves the watermark past the quiet one's minute and its 1m window's close.
  send(p, busy, T0 + 200_000);
  const closes = p.drain(0).filter((o) => o.sender === quiet);
  assert.deepEqual(
    closes.map((o) => o.kind),
    ['minute', 'features'],
    'its minute and its window close are published',
  );
  const written = p.takeChanged().map((c) => c.key);
  assert.ok(written.includes(busy) && !written.includes(quiet), `written: ${written}`);
  const meta = { watermark: p.watermark, closedBy: p.closedBy };
  assert.equal(meta.closedBy, T0 + 120_000);

  // A new owner restores the quiet sender's record, which predates both closes, and goes on as
  // the first owner does: neither close is made again, and the same input gives the same output.
  const restored = (closedBy?: number) => {
    const q = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
    q.restore(quiet, record);
    q.restoreWatermark(meta.watermark, closedBy);
    return q;
  };
  const next = (q: PartitionProcessor) => {
    send(q, quiet, T0 + 400_000);
    const out = q.drain(0);
    q.advanceWatermark(T0 + 900_000);
    return [...out, ...q.drain(0)]
      .filter((o) => o.sender === quiet)
      .map((o) => ({ kind: o.kind, ...o.value, emittedAt: 0 }));
  };
  const restoredOut = next(restored(meta.closedBy));
  assert.ok(restoredOut.length >= 3, 'a message, its minute and its window close');
  assert.deepEqual(restoredOut, next(p));
  // Without the point the closes were made at (a record of the first release), they would be made again.
  assert.notDeepEqual(next(restored()), restoredOut, 'the test can tell');
});

test('shedding drops the least active senders’ window state but keeps their open minutes', () => {
  const p = createPartitionProcessor({
    ...TEST_PROCESSOR_OPTIONS,
    light: { maxEvents: 0, maxTemplates: 0 },
  });
  const send = (sender: string, t: number) =>
    p.message(
      sender,
      'LONG_CODE',
      null,
      messageFacts(
        {
          messageId: `${sender}-${t}`,
          eventTime: t,
          sender,
          senderKind: 'LONG_CODE',
          recipient: `+1303555${String(t % 10_000).padStart(4, '0')}`,
          body: 'hello there',
          campaignId: null,
          originNetwork: null,
        },
        KEYS,
        0,
      ).facts,
      CLOCK,
    );
  for (let i = 0; i < 50; i++) send('+14155550001', T0 + i * 100); // busy
  for (let i = 0; i < 5; i++) send('+14155550002', T0 + i * 100); // quiet
  send('+14155550003', T0 + 1_000); // quietest
  p.takeChanged(); // sizes are estimated when entries are encoded
  const before = p.stateBytes;
  const first = p.shed(1);
  assert.equal(first.senders, 1, 'one sender frees a byte');
  assert.ok(first.bytes > 0);
  assert.equal(p.stateBytes, before - first.bytes);
  assert.equal(p.shed(1).senders, 1);
  assert.equal(p.stats.shedSenders, 2);
  assert.deepEqual(
    p.takeChanged().map((c) => c.key),
    ['+14155550002', '+14155550003'],
    'the shed senders go to the changelog',
  );
  assert.equal(
    p.entry('+14155550001')!.state.rings[0]!.slots.some(Boolean),
    true,
    'the busiest keeps its state',
  );
  for (const s of ['+14155550002', '+14155550003']) {
    const e = p.entry(s)!;
    assert.equal(
      e.state.rings.every((r) => !r.slots.some(Boolean)),
      true,
      `${s} lost its windows`,
    );
    assert.equal(e.minutes.size, 1, `${s} keeps its open minute`);
  }
  p.advanceWatermark(T0 + 120_000);
  const minutes = p.drain(0).filter((o) => o.kind === 'minute');
  assert.deepEqual(
    minutes.map((o) => (o.kind === 'minute' ? [o.sender, o.value.messages] : [])),
    [
      ['+14155550001', 50],
      ['+14155550002', 5],
      ['+14155550003', 1],
    ],
  );
});

test('shedding forgets the least recently active cheap senders once full state is exhausted', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  for (let i = 0; i < 10; i++) p.feedback(`+1415555000${i}`, T0 + i * 1_000, 'DELIVERY_FAILURE', CLOCK);
  assert.equal(p.lightSenderCount, 10);
  p.advanceWatermark(T0 + 600_000);
  p.drain(0); // closes their minutes: nothing open, so they may go
  p.takeChanged();
  const before = p.stateBytes;
  const r = p.shed(1);
  assert.deepEqual([r.senders, p.senderCount, p.stateBytes], [1, 9, before - r.bytes]);
  assert.deepEqual(p.takeChanged(), [{ key: '+14155550000', value: null }], 'a tombstone for the oldest');
});

test('when the shortest window closes on a silent sender, its features are published once more', () => {
  for (const options of [TEST_PROCESSOR_OPTIONS, fullOnly(TEST_PROCESSOR_OPTIONS)]) {
    const p = createPartitionProcessor(options);
    for (let i = 0; i < 3; i++)
      p.message(
        '+14155550009',
        'LONG_CODE',
        null,
        messageFacts(
          {
            messageId: `b${i}`,
            eventTime: T0 + 5_000 + i * 100,
            sender: '+14155550009',
            senderKind: 'LONG_CODE',
            recipient: `+130355500${10 + i}`,
            body: 'see you',
            campaignId: null,
            originNetwork: null,
          },
          KEYS,
          0,
        ).facts,
        CLOCK,
      );
    p.advanceWatermark(T0 + 20_000);
    const first = p.drain(0).filter((o) => o.kind === 'features');
    assert.equal(first.length, 1, 'the burst is published');
    p.advanceWatermark(T0 + 59_000);
    assert.equal(p.drain(0).filter((o) => o.kind === 'features').length, 0, 'the 1m window is still open');
    p.advanceWatermark(T0 + 61_000);
    const closed = p.drain(0).flatMap((o) => (o.kind === 'features' ? [o.value] : []));
    assert.equal(closed.length, 1, 'published on window close');
    assert.equal(closed[0]!.asOf, T0 + 60_000);
    assert.deepEqual(
      closed[0]!.windows.map((w) => [w.window, w.messages]),
      [
        ['1m', 0],
        ['10m', 3],
        ['1h', 3],
        ['24h', 3],
      ],
    );
    p.advanceWatermark(T0 + 3_600_000);
    assert.equal(p.drain(0).filter((o) => o.kind === 'features').length, 0, 'and only once');
  }
});

test('one drain can publish more records than a function call takes arguments', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const n = 150_000;
  for (let i = 0; i < n; i++) p.feedback(`+1${String(4_150_000_000 + i)}`, T0 + i, 'SPAM_REPORT', CLOCK);
  p.advanceWatermark(T0 + 86_400_000);
  const out = p.drain(0);
  assert.equal(out.filter((o) => o.kind === 'minute').length, n);
  assert.equal(out.filter((o) => o.kind === 'features').length, n);
});

test('a sender shed of its windows keeps its URL domains; a forgotten one loses them with its tombstone', () => {
  for (const options of [TEST_PROCESSOR_OPTIONS, fullOnly(TEST_PROCESSOR_OPTIONS)]) {
    const p = createPartitionProcessor(options);
    const send = (sender: string, t: number, domain: string) =>
      p.message(
        sender,
        'LONG_CODE',
        null,
        messageFacts(
          {
            messageId: `${sender}-${t}`,
            eventTime: t,
            sender,
            senderKind: 'LONG_CODE',
            recipient: `+1303555${String(t % 10_000).padStart(4, '0')}`,
            body: `see https://${domain}/x`,
            campaignId: null,
            originNetwork: null,
          },
          KEYS,
          0,
        ).facts,
        CLOCK,
      );
    for (let i = 0; i < 20; i++) send('+14155550001', T0 + i * 100, 'busy.example'); // full state
    send('+14155550002', T0 + 500, 'quiet.example');
    p.advanceWatermark(T0 + 120_000);
    p.drain(0); // closes their minutes: nothing open
    p.takeChanged();
    const domains = (s: string) => p.entry(s)?.urlDomains.map((e) => e.domain);
    // The least active sender with full state loses its windows first (the quiet one is cheap
    // unless the tier is off).
    const [shed, domain] =
      p.lightSenderCount === 0 ? ['+14155550002', 'quiet.example'] : ['+14155550001', 'busy.example'];
    assert.equal(p.shed(1).senders, 1);
    assert.equal(p.entry(shed)!.state.rings[0]!.slots.some(Boolean), false);
    assert.deepEqual(domains(shed), [domain], 'kept without its windows');
    p.shed(Number.MAX_SAFE_INTEGER);
    assert.equal(p.senderCount, 0);
    assert.deepEqual(
      p.takeChanged().filter((c) => !c.key.startsWith('\u0000')),
      [
        { key: '+14155550001', value: null },
        { key: '+14155550002', value: null },
      ],
    );
    send('+14155550002', T0 + 130_000, 'again.example');
    p.advanceWatermark(T0 + 200_000);
    const out = p.drain(0).flatMap((o) => (o.kind === 'features' ? [o.value.urlDomains] : []));
    assert.deepEqual(out.at(-1), ['again.example'], 'a forgotten sender starts again');
  }
});
