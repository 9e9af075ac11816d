// A rotation of the hash key keeps every opt-out: state written under key A, restored under key B
// with A as the previous key, moves to B as its numbers are seen again, a send past an opt-out
// made under A is still one, and the rotation ends only when no opt-out is left under A (or the
// opt-out retention has passed). The key record decides what a start does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HashKeyMismatchError, HashKeyRotationError, hashKeyId, hashKeyTag } from '@spamgate/core';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';
import { createFactKeys, type FactKeys } from '../src/engine/facts.ts';
import {
  createInputHandlers,
  InvalidAddressError,
  type PartitionProcessors,
  type Rekeyed,
} from '../src/engine/input-handlers.ts';
import { decideKeyStart, decodeKeyRecord, encodeKeyRecord } from '../src/engine/key-record.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import {
  decodeRelationBook,
  encodeRelationBook,
  RELATION_BOOK_V3,
  relationBookKeyTag,
} from '../src/relations/book-codec.ts';
import { RELATION_KEY_PREFIX } from '../src/relations/book-store.ts';
import { counterpartKey, createRelationBook, UNTAGGED } from '../src/relations/relation-book.ts';
import { textMessage } from './message-event.ts';
import { processorOptionsFor } from './processor-options.ts';

const KEY_A = 'rotation-key-a-0123456789abcdef';
const KEY_B = 'rotation-key-b-fedcba9876543210';
const A = createFactKeys(KEY_A);
const B = createFactKeys(KEY_B, { previous: KEY_A });
const T0 = 1_794_996_000_000;
const CLOCK = T0 + 400 * 86_400_000;
const S = '+12025550100'; // told STOP by R, keeps sending after the rotation
const R = '+13035550140';
const Q = '+14155550999'; // a two-way contact of S
const S2 = '+12025550177'; // told STOP by R2 before the rotation
const R2 = '+13035550177';

type Log = { key: string; value: Uint8Array | null }[];

/** A world of two partitions (senders S and S2 in one, everyone else in the other) under `keys`. */
function world(keys: FactKeys) {
  const handlers = createInputHandlers({ keys, utcOffsetHours: 0 });
  const options = processorOptionsFor(keys);
  const make = (): PartitionProcessors => ({
    processor: createPartitionProcessor(options),
    clusters: createClusterProcessor(),
  });
  const senders = make();
  const others = make();
  const where = (address: string) => (address === S || address === S2 ? senders : others);
  const send = (from: string, to: string, t: number, body: string): Rekeyed[] => {
    const out = handlers.message(where(from), textMessage(from, to, t, body), CLOCK);
    for (const r of out) if (r.to === 'byRecipient') handlers.received(where(r.partitionKey), r.value, CLOCK);
    return out;
  };
  return { senders, others, send };
}

/** Replays a changelog into a processor, as a restore does. */
function restore(p: PartitionProcessors, log: Log): void {
  for (const { key, value } of log) {
    if (value === null) p.processor.forget(key);
    else p.processor.restore(key, value);
  }
}

/** The book `address` has under `keys`, as the last record of its id in `log` holds it. */
function bookIn(log: Log, keys: FactKeys, address: string) {
  const key = RELATION_KEY_PREFIX + keys.bookId(address);
  const last = log.filter((r) => r.key === key).at(-1);
  return last?.value ? decodeRelationBook(last.value) : undefined;
}

/** Two phases under key A: the state a rotation starts from. */
function underKeyA(): { senders: Log; others: Log } {
  const a = world(A);
  a.send(S, R, T0, 'Your appointment is tomorrow at 10');
  a.send(R, S, T0 + 60_000, 'STOP');
  a.send(S, Q, T0 + 120_000, 'Lunch on Friday?');
  a.send(Q, S, T0 + 180_000, 'sure, noon works');
  a.send(S2, R2, T0 + 240_000, 'Your appointment is tomorrow at 11');
  a.send(R2, S2, T0 + 300_000, 'STOP');
  return { senders: a.senders.processor.takeChanged(), others: a.others.processor.takeChanged() };
}

test('books written under the previous key are tagged with it, and the tag survives the bytes', () => {
  const { senders } = underKeyA();
  const own = senders.find((r) => r.key === RELATION_KEY_PREFIX + A.bookId(S))!;
  assert.equal(relationBookKeyTag(own.value!), hashKeyTag(KEY_A));
  assert.equal(A.tag, hashKeyTag(KEY_A));
  assert.notEqual(A.tag, B.tag);
  // A book of a release before tags reads as untagged, and is written untagged again.
  const old = createRelationBook();
  old.latestMs = T0;
  old.optOuts.set(counterpartKey(1, 2), { ms: T0, confirmed: false, clusterId: Number.NaN });
  const bytes = encodeRelationBook(old);
  assert.equal(bytes[0], RELATION_BOOK_V3);
  assert.equal(decodeRelationBook(bytes).keyTag, UNTAGGED);
  // Marks of entries under the previous key are kept with the book, and dropped outside a rotation.
  const marked = decodeRelationBook(bytes);
  marked.keyTag = B.tag;
  marked.previousKeyed = new Set([counterpartKey(1, 2)]);
  assert.deepEqual(
    [...decodeRelationBook(encodeRelationBook(marked)).previousKeyed!],
    [counterpartKey(1, 2)],
  );
  assert.equal(decodeRelationBook(encodeRelationBook(marked, true, false)).previousKeyed, undefined);
});

test('after a rotation, a send past an opt-out made under the previous key is still one, and contacts stay contacts', () => {
  const logA = underKeyA();
  const b = world(B);
  restore(b.senders, logA.senders);
  restore(b.others, logA.others);
  const since = T0 + 3_600_000;
  b.senders.processor.setRotation(since);
  b.others.processor.setRotation(since);
  assert.deepEqual(b.senders.processor.rotation, { sinceMs: since, previousBooks: 2, previousOptOuts: 2 });
  assert.equal(b.others.processor.rotation!.previousOptOuts, 0, "recipients' books hold no opt-out");

  // S writes to R again: the opt-out R made under key A stops being silently forgotten.
  b.send(S, R, since + 60_000, 'Your appointment is tomorrow at 10');
  // And to Q, who answered S under key A: still a two-way contact.
  b.send(S, Q, since + 120_000, 'Still on for Friday?');
  const log1 = b.senders.processor.takeChanged();
  const own = bookIn(log1, B, S)!;
  assert.equal(own.owner, S);
  assert.equal(own.keyTag, B.tag);
  assert.deepEqual(own.violations, [since + 60_000], 'the send past the opt-out is counted');
  const rKey = counterpartKey(B.recipientHash(R).hi, B.recipientHash(R).lo);
  const qKey = counterpartKey(B.recipientHash(Q).hi, B.recipientHash(Q).lo);
  assert.ok(own.optOuts.has(rKey), "R's opt-out is under key B now");
  assert.equal(own.optOuts.get(rKey)!.ms, T0 + 60_000, 'kept from when it was made');
  assert.equal(own.counterparts.get(qKey)!.heardMs, T0 + 180_000, "Q's answer is kept");
  assert.ok(
    log1.some((r) => r.key === RELATION_KEY_PREFIX + A.bookId(S) && r.value === null),
    "S's book under key A is deleted in the same commit",
  );
  assert.deepEqual(b.senders.processor.rotation, { sinceMs: since, previousBooks: 1, previousOptOuts: 1 });
  assert.equal(b.senders.processor.endRotationIfDone(), false, "S2's opt-out is still under key A");

  // A restart in the middle of the rotation finds the same: tags and marks are in the changelog.
  const again = world(B);
  restore(again.senders, [...logA.senders, ...log1]);
  again.senders.processor.setRotation(since);
  assert.deepEqual(again.senders.processor.rotation, {
    sinceMs: since,
    previousBooks: 1,
    previousOptOuts: 1,
  });

  // An answer reaches a book still under key A through the previous id the record carries.
  const answered = b.send(R2, S2, since + 180_000, 'who is this?');
  const rekeyed = answered.find((r) => r.to === 'byRecipient');
  assert.ok(rekeyed?.to === 'byRecipient');
  assert.equal(rekeyed.value.previousRecipient, A.bookId(S2));
  assert.deepEqual(rekeyed.value.previousFromHash, A.hash64(R2));
  b.send(S2, R2, since + 240_000, 'Your appointment is tomorrow at 11');
  const log2 = b.senders.processor.takeChanged();
  assert.deepEqual(bookIn(log2, B, S2)!.violations, [since + 240_000]);
  assert.deepEqual(b.senders.processor.rotation, { sinceMs: since, previousBooks: 0, previousOptOuts: 0 });
  assert.equal(b.senders.processor.endRotationIfDone(), true);
  assert.equal(b.senders.processor.rotation, undefined);

  // The other partition's books under key A hold no opt-out: it ends at once, deleting them.
  assert.equal(b.others.processor.endRotationIfDone(), true);
  const log3 = b.others.processor.takeChanged();
  for (const address of [R, Q, R2])
    assert.ok(
      log3.some((r) => r.key === RELATION_KEY_PREFIX + A.bookId(address) && r.value === null),
      `${address}'s book under key A is deleted`,
    );
});

test('a by-recipient record whose previous book id is not one is refused as a bad address, before anything changes', () => {
  const b = world(B);
  const handlers = createInputHandlers({ keys: B, utcOffsetHours: 0 });
  const record = {
    messageId: 'x',
    eventTime: T0,
    recipient: B.bookId(S),
    fromHash: B.hash64(R),
    kind: 'OPT_OUT' as const,
    recipientHashed: true,
    previousRecipient: '+12025550100',
    previousFromHash: A.hash64(R),
  };
  assert.throws(() => handlers.received(b.senders, record, CLOCK), InvalidAddressError);
  assert.equal(b.senders.processor.relationBookCount, 0);
});

test('a rotation whose opt-outs are never seen again ends when the opt-out retention has passed', () => {
  const logA = underKeyA();
  const b = world(B);
  restore(b.senders, logA.senders);
  b.senders.processor.setRotation(T0);
  assert.equal(b.senders.processor.endRotationIfDone(), false);
  b.senders.processor.advanceWatermark(T0 + 366 * 86_400_000);
  assert.equal(b.senders.processor.endRotationIfDone(), true);
  const log = b.senders.processor.takeChanged();
  assert.ok(log.some((r) => r.key === RELATION_KEY_PREFIX + A.bookId(S) && r.value === null));
});

test('the key record: carry on, begin a rotation, carry one on, or refuse with what to do', () => {
  const a = hashKeyId(KEY_A);
  const b = hashKeyId(KEY_B);
  const c = hashKeyId('rotation-key-c-0123456789abcdef');
  const where = 'partition 0';
  assert.deepEqual(decideKeyStart(where, undefined, b, undefined, 5), {
    record: { key: b },
    rotationSinceMs: undefined,
  });
  assert.deepEqual(decideKeyStart(where, { key: b }, b, a, 5).rotationSinceMs, undefined, 'nothing under a');
  const begun = decideKeyStart(where, { key: a }, b, a, 5);
  assert.deepEqual(begun, { record: { key: b, previous: a, sinceMs: 5 }, rotationSinceMs: 5 });
  assert.deepEqual(decideKeyStart(where, begun.record, b, a, 9), begun, 'carried on from when it began');
  assert.throws(() => decideKeyStart(where, { key: a }, b, undefined, 5), HashKeyMismatchError);
  assert.throws(() => decideKeyStart(where, { key: c }, b, a, 5), HashKeyMismatchError);
  assert.throws(
    () => decideKeyStart(where, begun.record, b, undefined, 5),
    (e: Error) =>
      e instanceof HashKeyRotationError &&
      (e as HashKeyRotationError).code === 'HASH_KEY_ROTATION_UNFINISHED' &&
      e.message.includes('SPAMGATE_PREVIOUS_HASH_KEY') &&
      e.message.includes(a),
  );
  assert.throws(() => decideKeyStart(where, begun.record, b, c, 5), HashKeyRotationError);
  assert.throws(
    () => decideKeyStart(where, begun.record, c, b, 5),
    HashKeyRotationError,
    'a rotation at a time',
  );
  // Two keys of one tag cannot be told apart in a book: such a rotation is refused.
  let twin: string | undefined;
  for (let i = 0; twin === undefined; i++) {
    const k = `twin-candidate-${i}-0123456789abcdef`;
    if (hashKeyTag(k) === hashKeyTag(KEY_A) && k !== KEY_A) twin = k;
  }
  assert.throws(() => decideKeyStart(where, { key: a }, hashKeyId(twin), a, 5), /share the tag/);

  for (const record of [{ key: b }, begun.record])
    assert.deepEqual(decodeKeyRecord(encodeKeyRecord(record)), record);
  assert.equal(encodeKeyRecord({ key: b }).toString(), b, 'outside a rotation, the bare id as before');
  for (const bad of ['', 'not json', '{"key":"x"}', JSON.stringify({ key: b, previous: a, sinceMs: 'x' })])
    assert.throws(() => decodeKeyRecord(Buffer.from(bad)), /hash key record/);
});
