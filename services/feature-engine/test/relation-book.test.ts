// The relation book: replies, opt-outs, post-opt-out sends and contacts, against hand-worked
// cases and against a naive recomputation from the raw events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCodecError } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import {
  decodeRelationBook,
  encodeRelationBook,
  packedBookLatestMs,
  RELATION_BOOK_V1,
  RELATION_BOOK_V3,
  RELATION_BOOK_VERSION,
} from '../src/relations/book-codec.ts';
import { RELATION_KEY_PREFIX } from '../src/relations/book-store.ts';
import {
  counterpartKey,
  createRelationBook,
  DEFAULT_RELATION_OPTIONS,
  dominantClusters,
  forgetExpiredRelations,
  type RelationBook,
  type RelationFeatures,
  recordHeard,
  recordSent,
  relationFeaturesAt,
} from '../src/relations/relation-book.ts';
import { DEFAULT_WINDOWS, sliceStart, type WindowSpec } from '../src/windows/window-spec.ts';
import { TEST_BOOK_ID, TEST_PROCESSOR_OPTIONS } from './processor-options.ts';

const O = DEFAULT_RELATION_OPTIONS;
const T0 = 1_794_996_000_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const R1 = counterpartKey(0x12345678, 0x9abcdef0);
const R2 = counterpartKey(0x0badf00d, 0x00000001);

/** The features of the window named `name` at t. */
function at(book: RelationBook, t: number, name: string): RelationFeatures {
  const i = DEFAULT_WINDOWS.findIndex((w) => w.name === name);
  return relationFeaturesAt(book, t, DEFAULT_WINDOWS)[i]!;
}

test('a counterpart key keeps 53 bits of the 64-bit hash, exactly', () => {
  assert.equal(counterpartKey(0xffffffff, 0xffffffff), 2 ** 53 - 1);
  assert.equal(counterpartKey(0, 0x7ff), 0, 'the low 11 bits are dropped');
  assert.equal(counterpartKey(1, 0), 2 ** 21);
  assert.notEqual(R1, R2);
});

test('a reply within the delay is credited to the message it answers, an opt-out is not a reply', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O);
  recordSent(book, R2, T0 + 1_000, O);
  recordHeard(book, R1, T0 + 2 * HOUR, 'message', O);
  recordHeard(book, R2, T0 + 3 * HOUR, 'optOut', O);
  const day = at(book, T0 + 3 * HOUR, '24h');
  assert.deepEqual(day, {
    repliedRecipients: 1,
    replyRate: 0.5,
    optOuts: 1,
    optOutRate: 0.5,
    postOptOutSends: 0,
  });
  // The 1h window at 3 h no longer holds the messages: nothing to rate there.
  assert.deepEqual(at(book, T0 + 3 * HOUR, '1h'), {
    repliedRecipients: 0,
    replyRate: 0,
    optOuts: 0,
    optOutRate: 0,
    postOptOutSends: 0,
  });
  // At the time of the messages (asOf = the sender's newest message), the answers count already.
  assert.equal(at(book, T0 + 1_000, '1m').repliedRecipients, 1);
});

test('a message after the reply delay is not a reply; one before the message is not either', () => {
  const book = createRelationBook();
  recordHeard(book, R2, T0 - MIN, 'message', O); // before anything was sent
  recordSent(book, R1, T0, O);
  recordSent(book, R2, T0, O);
  recordHeard(book, R1, T0 + O.replyDelayMs + 1_000, 'message', O);
  assert.equal(at(book, T0, '24h').repliedRecipients, 0);
});

test('a reply read before the message it answers is still credited (arrival is not event order)', () => {
  const book = createRelationBook();
  recordHeard(book, R1, T0 + 5 * MIN, 'message', O);
  recordSent(book, R1, T0, O);
  assert.equal(at(book, T0, '10m').repliedRecipients, 1);
  assert.equal(at(book, T0, '10m').replyRate, 1);
});

test("an answer is attributed to the cluster of the sender's latest message, once, within the reply delay", () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O, 42);
  recordSent(book, R2, T0, O, 42);
  // The first reply and the first opt-out each name the cluster of the message they answer.
  assert.equal(recordHeard(book, R1, T0 + MIN, 'message', O), 42);
  assert.equal(recordHeard(book, R2, T0 + MIN, 'optOut', O), 42);
  // The rest of the conversation, or a repeated STOP, answers nothing new.
  assert.ok(Number.isNaN(recordHeard(book, R1, T0 + 2 * MIN, 'message', O)));
  assert.ok(Number.isNaN(recordHeard(book, R2, T0 + 2 * MIN, 'optOut', O)));
  // A new message of another cluster is answered afresh (START counts as a reply, as in replyRate).
  recordSent(book, R1, T0 + HOUR, O, 77);
  assert.equal(recordHeard(book, R1, T0 + HOUR + MIN, 'optIn', O), 77);
  // After the reply delay, or to a message of no cluster, nothing is attributed.
  recordSent(book, R1, T0 + 2 * HOUR, O, 77);
  assert.ok(Number.isNaN(recordHeard(book, R1, T0 + 2 * HOUR + O.replyDelayMs + 1_000, 'message', O)));
  recordSent(book, R2, T0 + 2 * HOUR, O);
  assert.ok(Number.isNaN(recordHeard(book, R2, T0 + 2 * HOUR + MIN, 'message', O)));
});

test('an answer to an earlier message than the latest is not attributed to a cluster', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O, 42);
  recordSent(book, R1, T0 + 30 * MIN, O, 77); // read before the answer that came between
  assert.ok(Number.isNaN(recordHeard(book, R1, T0 + 10 * MIN, 'message', O)), 'the book knows only 77 now');
  assert.equal(at(book, T0 + 30 * MIN, '1h').repliedRecipients, 1, 'the sender still gets its reply');
  // A reply read before the message it answers is credited to the sender, not to a cluster.
  const b2 = createRelationBook();
  assert.ok(Number.isNaN(recordHeard(b2, R1, T0 + 5 * MIN, 'message', O)));
  recordSent(b2, R1, T0, O, 42);
  assert.ok(Number.isNaN(recordHeard(b2, R1, T0 + 6 * MIN, 'message', O)), 'already answered');
});

test('sends after an opt-out are counted, except one confirmation within 5 minutes', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O);
  recordHeard(book, R1, T0 + MIN, 'optOut', O);
  assert.equal(recordSent(book, R1, T0 + 2 * MIN, O).afterOptOut, false, 'the confirmation');
  assert.equal(recordSent(book, R1, T0 + 3 * MIN, O).afterOptOut, true);
  assert.equal(recordSent(book, R1, T0 + 2 * HOUR, O).afterOptOut, true);
  assert.equal(recordSent(book, R2, T0 + 2 * HOUR, O).afterOptOut, false, 'another recipient');
  assert.equal(at(book, T0 + 2 * HOUR, '24h').postOptOutSends, 2);
  assert.equal(at(book, T0 + 2 * HOUR, '10m').postOptOutSends, 1);
  // A later STOP does not move the opt-out; START revokes it.
  recordHeard(book, R1, T0 + 3 * HOUR, 'optOut', O);
  assert.equal(book.optOuts.get(R1)?.ms, T0 + MIN);
  recordHeard(book, R1, T0 + 4 * HOUR, 'optIn', O);
  assert.equal(recordSent(book, R1, T0 + 5 * HOUR, O).afterOptOut, false);
  assert.equal(at(book, T0 + 5 * HOUR, '24h').postOptOutSends, 2, 'the earlier ones still count');
});

test('a send past an opt-out names the cluster the opt-out answered, whatever it sends, and the bytes keep it', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O, 42);
  recordSent(book, R2, T0, O, 42);
  assert.equal(recordHeard(book, R1, T0 + MIN, 'optOut', O), 42);
  recordSent(book, R2, T0 + HOUR, O); // R2's latest message has no cluster now
  recordHeard(book, R2, T0 + HOUR + MIN, 'optOut', O); // answers a message of no cluster
  // The confirmation is of another cluster (the bot's "are you sure?"): the opt-out still names 42.
  const confirmation = recordSent(book, R1, T0 + 2 * MIN, O, 7);
  assert.deepEqual([confirmation.afterOptOut, confirmation.optOutCluster], [false, Number.NaN]);
  const pitch = recordSent(book, R1, T0 + 3 * MIN, O, 99);
  assert.deepEqual([pitch.afterOptOut, pitch.optOutCluster], [true, 42]);
  assert.equal(recordSent(book, R2, T0 + HOUR + 2 * MIN, O, 99).afterOptOut, false, 'the one confirmation');
  const none = recordSent(book, R2, T0 + 2 * HOUR, O, 99);
  assert.deepEqual([none.afterOptOut, none.optOutCluster], [true, Number.NaN], 'past it, of no cluster');
  // Through the changelog's bytes, and from a book written before opt-outs kept their cluster.
  const back = decodeRelationBook(encodeRelationBook(book));
  assert.equal(recordSent(back, R1, T0 + 4 * HOUR, O).optOutCluster, 42);
  assert.deepEqual(back.optOuts.get(R1), { ms: T0 + MIN, confirmed: true, clusterId: 42 });
  const { clusterId: _, ...before } = back.optOuts.get(R2)!;
  assert.deepEqual(before, { ms: T0 + HOUR + MIN, confirmed: true });
});

test('an opt-out read after a later send still counts that send', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O);
  recordSent(book, R1, T0 + HOUR, O); // sent after the opt-out below, read before it
  recordHeard(book, R1, T0 + 10 * MIN, 'optOut', O);
  assert.equal(at(book, T0 + HOUR, '24h').postOptOutSends, 1);
  // Within the confirmation time it was the confirmation.
  const b2 = createRelationBook();
  recordSent(b2, R1, T0 + 11 * MIN, O);
  recordHeard(b2, R1, T0 + 10 * MIN, 'optOut', O);
  assert.equal(at(b2, T0 + 11 * MIN, '24h').postOptOutSends, 0);
  assert.equal(recordSent(b2, R1, T0 + 12 * MIN, O).afterOptOut, true, 'the confirmation is used up');
});

test('an answer read after a later message still answers the one before it', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O);
  recordSent(book, R1, T0 + 30 * MIN, O); // read before the STOP that came between
  recordHeard(book, R1, T0 + 10 * MIN, 'optOut', O);
  recordSent(book, R2, T0, O);
  recordSent(book, R2, T0 + 30 * MIN, O);
  recordHeard(book, R2, T0 + 10 * MIN, 'message', O);
  assert.deepEqual(at(book, T0 + 30 * MIN, '1h'), {
    repliedRecipients: 1,
    replyRate: 0.5,
    optOuts: 1,
    optOutRate: 0.5,
    postOptOutSends: 1,
  });
  // Sends read in reverse order keep the previous one too.
  const b2 = createRelationBook();
  recordSent(b2, R1, T0 + 30 * MIN, O);
  recordSent(b2, R1, T0, O);
  recordHeard(b2, R1, T0 + 10 * MIN, 'message', O);
  assert.equal(at(b2, T0 + 30 * MIN, '1h').repliedRecipients, 1);
});

test('a recipient who messaged the sender within 30 days is a contact', () => {
  const book = createRelationBook();
  recordHeard(book, R1, T0, 'message', O);
  assert.equal(recordSent(book, R1, T0 + HOUR, O).contact, true);
  assert.equal(recordSent(book, R2, T0 + HOUR, O).contact, false, 'never heard from');
  assert.equal(recordSent(book, R1, T0 + 29 * DAY, O).contact, true);
  assert.equal(recordSent(book, R1, T0 + 31 * DAY, O).contact, false, 'the exchange is too old');
  // An opt-out is not an exchange.
  recordHeard(book, R2, T0 + 32 * DAY, 'optOut', O);
  assert.equal(recordSent(book, R2, T0 + 32 * DAY + HOUR, O).contact, false);
  // Messaging someone repeatedly does not make them a contact: only their own messages do.
  const b2 = createRelationBook();
  recordSent(b2, R2, T0, O);
  assert.equal(recordSent(b2, R2, T0 + MIN, O).contact, false);
});

test('a book forgets what no longer matters and keeps opt-outs for their retention', () => {
  const book = createRelationBook();
  recordSent(book, R1, T0, O);
  recordHeard(book, R2, T0, 'optOut', O);
  forgetExpiredRelations(book, DEFAULT_WINDOWS, O, T0 + 40 * DAY);
  assert.equal(book.counterparts.size, 0);
  assert.equal(book.optOuts.size, 1, 'opt-outs outlive contacts');
  forgetExpiredRelations(book, DEFAULT_WINDOWS, O, T0 + 366 * DAY);
  assert.equal(book.optOuts.size, 0);
  // Caps: least recently active counterparts go first.
  const small = { ...O, maxCounterparts: 3, maxOptOuts: 2 };
  const b2 = createRelationBook();
  for (let i = 1; i <= 5; i++) recordSent(b2, i, T0 + i * 1_000, small);
  assert.deepEqual([...b2.counterparts.keys()], [3, 4, 5]);
  for (let i = 1; i <= 3; i++) recordHeard(b2, i, T0 + 10_000 + i, 'optOut', small);
  assert.deepEqual([...b2.optOuts.keys()], [2, 3]);
});

test("a sender's dominant clusters count the recipients whose latest message was of each", () => {
  const book = createRelationBook();
  for (let r = 1; r <= 5; r++) recordSent(book, r, T0, O, 77);
  for (let r = 6; r <= 8; r++) recordSent(book, r, T0, O, 42);
  recordSent(book, 9, T0, O); // no cluster (a personal message)
  recordSent(book, 5, T0 + MIN, O, 42); // recipient 5's latest message is of cluster 42 now
  const day = DEFAULT_WINDOWS.at(-1)!;
  assert.deepEqual(dominantClusters(book, T0 + MIN, day), [
    { clusterId: 42, recipients: 4 },
    { clusterId: 77, recipients: 4 },
  ]);
  assert.deepEqual(dominantClusters(book, T0 + MIN, day, 1), [{ clusterId: 42, recipients: 4 }]);
  assert.deepEqual(dominantClusters(book, T0 + 2 * DAY, day), [], 'outside the window');
  const back = decodeRelationBook(encodeRelationBook(book));
  assert.deepEqual(dominantClusters(back, T0 + MIN, day), dominantClusters(book, T0 + MIN, day));
});

// ---- against a naive recomputation -----------------------------------------------------------

type Ev = { side: 'sent' | 'heard'; key: number; t: number; kind: 'message' | 'optOut' | 'optIn' };

const inWindow = (x: number, t: number, w: WindowSpec): boolean => {
  const end = sliceStart(t, w.sliceMs);
  const s = sliceStart(x, w.sliceMs);
  return s <= end && s > end - w.lengthMs;
};

/**
 * The definitions, from the event list in event-time order: a reply answers the sender's latest
 * message to that person before it, within the delay; a recipient replied in a window if the
 * latest message they answered lies in it; a send after a standing opt-out violates it, except
 * the first within the confirmation time.
 */
function naive(events: readonly Ev[], t: number, w: WindowSpec): RelationFeatures {
  const sent = new Map<number, number>();
  const answered = new Map<number, number>();
  const optAnswered = new Map<number, number>();
  const optOut = new Map<number, { ms: number; confirmed: boolean }>();
  const violations: number[] = [];
  for (const e of events) {
    const last = sent.get(e.key);
    if (e.side === 'sent') {
      sent.set(e.key, e.t);
      const o = optOut.get(e.key);
      if (o && o.ms <= e.t) {
        if (!o.confirmed && e.t - o.ms <= O.optOutConfirmationMs) o.confirmed = true;
        else violations.push(e.t);
      }
      continue;
    }
    const answers = last !== undefined && e.t - last <= O.replyDelayMs;
    if (e.kind === 'optOut') {
      if (answers) optAnswered.set(e.key, last);
      if (!optOut.has(e.key)) optOut.set(e.key, { ms: e.t, confirmed: false });
    } else {
      if (answers) answered.set(e.key, last);
      if (e.kind === 'optIn') optOut.delete(e.key);
    }
  }
  let n = 0;
  let replied = 0;
  let opted = 0;
  for (const [key, s] of sent) {
    if (!inWindow(s, t, w)) continue;
    n++;
    if (answered.has(key) && inWindow(answered.get(key)!, t, w)) replied++;
    if (optAnswered.has(key) && inWindow(optAnswered.get(key)!, t, w)) opted++;
  }
  return {
    repliedRecipients: replied,
    replyRate: n ? replied / n : 0,
    optOuts: opted,
    optOutRate: n ? opted / n : 0,
    postOptOutSends: violations.filter((v) => inWindow(v, t, w)).length,
  };
}

test('in event-time order, the book agrees with the definitions in every window', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const r = seededRandom(seed);
    const events: Ev[] = [];
    let t = T0;
    for (let i = 0; i < 3_000; i++) {
      t += 1_000 * Math.floor(r() < 0.8 ? r() * 60 : r() * 7_200);
      const key = 1 + Math.floor(r() * (seed % 2 ? 15 : 200));
      const x = r();
      if (x < 0.55) events.push({ side: 'sent', key, t, kind: 'message' });
      else events.push({ side: 'heard', key, t, kind: x < 0.85 ? 'message' : x < 0.95 ? 'optOut' : 'optIn' });
    }
    const book = createRelationBook();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.side === 'sent') recordSent(book, e.key, e.t, O);
      else recordHeard(book, e.key, e.t, e.kind, O);
      if (i % 97 === 0 || i === events.length - 1) {
        const got = relationFeaturesAt(book, e.t, DEFAULT_WINDOWS);
        DEFAULT_WINDOWS.forEach((w, k) => {
          const want = naive(events.slice(0, i + 1), e.t, w);
          assert.deepEqual(got[k], want, `seed ${seed} event ${i} ${w.name}`);
        });
      }
    }
    const day = relationFeaturesAt(book, t, DEFAULT_WINDOWS).at(-1)!;
    assert.ok(
      day.repliedRecipients > 0 && day.optOuts > 0 && day.postOptOutSends > 0,
      `seed ${seed} exercises all`,
    );
  }
});

test('a book survives its bytes exactly and refuses damaged ones with StateCodecError', () => {
  const r = seededRandom(9);
  const book = createRelationBook();
  for (let i = 0; i < 500; i++) {
    const key = counterpartKey(Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32));
    const t = T0 + Math.floor(r() * 3 * DAY);
    if (r() < 0.5) recordSent(book, key, t, O);
    else recordHeard(book, key, t, r() < 0.3 ? 'optOut' : 'message', O);
    if (r() < 0.1) recordSent(book, key, t + 60 * MIN, O);
  }
  const bytes = encodeRelationBook(book);
  const back = decodeRelationBook(bytes);
  assert.deepEqual(back, book);
  assert.deepEqual(encodeRelationBook(back), bytes);
  for (const damaged of [bytes.subarray(0, bytes.length - 3), Buffer.concat([bytes, Buffer.from([0])])])
    assert.throws(() => decodeRelationBook(damaged), StateCodecError);
  const wrongVersion = Buffer.from(bytes);
  wrongVersion[0] = 99;
  assert.throws(() => decodeRelationBook(wrongVersion), StateCodecError);
  for (let i = 0; i < 200; i++) {
    const junk = Buffer.from(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
    junk[0] = i % 2 === 0 ? RELATION_BOOK_V1 : RELATION_BOOK_VERSION;
    try {
      decodeRelationBook(junk);
    } catch (err) {
      assert.ok(err instanceof StateCodecError, `junk ${i}: ${String(err)}`);
    }
  }
});

/** A book the first layout (version 1) wrote, by the engine of commit c25c8ba: two counterparts, one opted out and sent to after. */
const BOOK_V1 = Buffer.from('AQAAQsHhHnpCAopGAgCbVxPPB7QBeLQBvnUBAB8YoAEBAAG+dQEAHxigAQE8AA==', 'base64');

test('a book of the first layout reads as the same book, is written compact, and reads back from a string in place', () => {
  const book = createRelationBook();
  recordSent(book, counterpartKey(0x12345678, 0x9abcdef0), T0, O);
  recordHeard(book, counterpartKey(0x12345678, 0x9abcdef0), T0 + 60_000, 'message', O);
  recordHeard(book, counterpartKey(0x0badf00d, 0x00c0ffee), T0 + 120_000, 'optOut', O);
  recordSent(book, counterpartKey(0x0badf00d, 0x00c0ffee), T0 + 180_000, O);
  assert.equal(BOOK_V1[0], RELATION_BOOK_V1);
  assert.deepEqual(decodeRelationBook(BOOK_V1), book);
  const compact = encodeRelationBook(book);
  assert.equal(compact[0], RELATION_BOOK_V3, 'untagged: the layout before key tags');
  assert.equal(
    BOOK_V1.length - compact.length,
    2 + 3 * 1 - 1,
    'the time in 6 bytes, each of 3 keys in 7, no owner in 1',
  );
  assert.deepEqual(decodeRelationBook(compact), book);
  // Tagged with its hash key (version 4): two bytes more, and the same book read back.
  const tagged = encodeRelationBook({ ...book, keyTag: 0xbeef });
  assert.equal(tagged[0], RELATION_BOOK_VERSION);
  assert.equal(tagged.length, compact.length + 2);
  assert.deepEqual(decodeRelationBook(tagged), { ...book, keyTag: 0xbeef });
  for (const bytes of [BOOK_V1, compact, tagged])
    assert.equal(packedBookLatestMs(bytes.toString('latin1')), T0 + 180_000);
  assert.throws(() => packedBookLatestMs(compact.subarray(0, 3).toString('latin1')), StateCodecError);
});

test('a partition drops a book once the watermark leaves it past every look-back, and tombstones it', () => {
  const p = createPartitionProcessor(TEST_PROCESSOR_OPTIONS);
  const clock = T0 + 400 * DAY;
  const from = { hi: 0x1234, lo: 0x5678 };
  const [contact, optedOut] = [TEST_BOOK_ID('+13035550100'), TEST_BOOK_ID('+13035550101')];
  p.heard(contact, from.hi, from.lo, T0, 'message', clock); // receives only: a contact entry
  p.heard(optedOut, from.hi, from.lo, T0, 'optOut', clock); // holds an opt-out
  p.drain(0);
  assert.deepEqual(
    p.takeChanged().map((c) => [c.key, c.value !== null]),
    [contact, optedOut].sort().map((id) => [RELATION_KEY_PREFIX + id, true]),
  );
  assert.equal(p.relationBookCount, 2);
  p.advanceWatermark(T0 + 29 * DAY);
  p.drain(0);
  assert.deepEqual(p.takeChanged(), [], 'within the contact look-back nothing changes');
  p.advanceWatermark(T0 + 31 * DAY);
  p.drain(0);
  assert.deepEqual(
    p.takeChanged().map((c) => [c.key, c.value !== null]),
    [
      [RELATION_KEY_PREFIX + optedOut, true], // the contact entry forgotten, the opt-out kept
      [RELATION_KEY_PREFIX + contact, false],
    ],
  );
  assert.equal(p.relationBookCount, 1);
  p.advanceWatermark(T0 + 366 * DAY);
  p.drain(0);
  assert.deepEqual(
    p.takeChanged().map((c) => [c.key, c.value !== null]),
    [[RELATION_KEY_PREFIX + optedOut, false]],
    'the opt-out outlives the contact until its retention',
  );
  assert.equal(p.stateBytes, 0);
});
