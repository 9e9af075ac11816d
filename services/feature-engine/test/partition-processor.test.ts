import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageEvent } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import { decodePartitionMeta, encodePartitionMeta } from '../src/engine/entry-codec.ts';
import { createFactKeys, messageFacts, recipientPrefix } from '../src/engine/facts.ts';
import {
  createPartitionProcessor,
  DEFAULT_PROCESSOR_OPTIONS,
  EventTimeSkewError,
  type PartitionProcessor,
  type ProcessorOutput,
} from '../src/engine/partition-processor.ts';

const KEYS = createFactKeys('test-secret-0123456789abcdef');
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

/** Runs the inputs, draining every `every` events, then lets the watermark pass everything. */
function run(all: Input[], every: number, restartAt = -1): ProcessorOutput[] {
  let p = createPartitionProcessor();
  const out: ProcessorOutput[] = [];
  const changelog = new Map<string, Uint8Array | null>();
  const persist = () => {
    for (const { key, value } of p.takeChanged()) changelog.set(key, value);
  };
  all.forEach((input, i) => {
    if (i === restartAt) {
      // What a new owner does: rebuild from the changelog (and the watermark) only.
      persist();
      const meta = encodePartitionMeta(p.watermark);
      p = createPartitionProcessor();
      for (const [sender, bytes] of changelog) if (bytes) p.restore(sender, bytes);
      p.restoreWatermark(decodePartitionMeta(meta).watermark);
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
    for (const restartAt of [50, 1_000, 2_950]) {
      const restarted = run(all, 50, restartAt);
      const [mu, mr] = [minutes(uninterrupted), minutes(restarted)];
      assert.deepEqual(
        {
          onlyUninterrupted: mu.filter((x) => !mr.includes(x)).slice(0, 3),
          onlyRestarted: mr.filter((x) => !mu.includes(x)).slice(0, 3),
        },
        { onlyUninterrupted: [], onlyRestarted: [] },
        `seed ${seed} restart at ${restartAt}`,
      );
      assert.equal(mr.length, mu.length);
      assert.deepEqual(
        lastFeatures(restarted),
        lastFeatures(uninterrupted),
        `seed ${seed} restart at ${restartAt}`,
      );
    }
  }
});

test('events later than the allowed lateness are counted in the late column, not dropped', () => {
  const p = createPartitionProcessor();
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
  const p = createPartitionProcessor();
  const facts = messageFacts(
    {
      messageId: 'x',
      eventTime: T0 + DEFAULT_PROCESSOR_OPTIONS.maxFutureSkewMs + 1,
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
