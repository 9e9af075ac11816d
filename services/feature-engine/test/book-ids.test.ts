// Relation books are named by a keyed hash (a book id), never by a number: in the changelog, in
// the by-recipient topic and in memory. A sender's book knows its owner, so an answer still finds
// the features to republish after a restore; a book an earlier release keyed by the clear address
// is re-keyed at the next commit and its clear key deleted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCodec } from '@spamgate/schemas';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';
import { createFactKeys } from '../src/engine/facts.ts';
import { createInputHandlers, type PartitionProcessors, type Rekeyed } from '../src/engine/input-handlers.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import {
  decodeRelationBook,
  encodeRelationBook,
  RELATION_BOOK_V2,
  RELATION_BOOK_V3,
} from '../src/relations/book-codec.ts';
import { RELATION_KEY_PREFIX } from '../src/relations/book-store.ts';
import { bookId, createRelationBook, isBookId, recordHeard } from '../src/relations/relation-book.ts';
import { textMessage } from './message-event.ts';
import { processorOptionsFor } from './processor-options.ts';

const keys = createFactKeys('book-ids-secret-0123456789abcdef');
const OPTIONS = processorOptionsFor(keys);
const handlers = createInputHandlers({ keys, utcOffsetHours: 0 });
const codec = createCodec();
const T0 = 1_794_996_000_000;
const CLOCK = T0 + 86_400_000;
const S = '+12025550100'; // sends to R and to QUIET
const R = '+13035550140'; // answers STOP
const QUIET = '+14155550999'; // only ever receives

const partitions = (): PartitionProcessors => ({
  processor: createPartitionProcessor(OPTIONS),
  clusters: createClusterProcessor(),
});

const message = textMessage;

/** Every changelog record a processor writes, in order. */
function changelogOf(p: PartitionProcessors, log: { key: string; value: Uint8Array | null }[]): void {
  log.push(...p.processor.takeChanged());
}

/** Whether `bytes` hold `text`, read as UTF-8 or Latin-1. */
const holds = (bytes: Uint8Array | string | null, text: string): boolean =>
  bytes !== null &&
  (typeof bytes === 'string'
    ? bytes.includes(text)
    : Buffer.from(bytes).toString('utf8').includes(text) ||
      Buffer.from(bytes).toString('latin1').includes(text));

test('a book id is the 64-bit subscriber hash in hex, and normalised numbers share it', () => {
  const id = keys.bookId(R);
  assert.ok(isBookId(id));
  const { hi, lo } = keys.recipientHash(R);
  assert.equal(id, bookId(hi, lo));
  assert.equal(BigInt(`0x${id}`), keys.hash64(R).readBigUInt64BE(0));
  assert.equal(keys.bookId('+1 (303) 555-0140'), id);
  assert.notEqual(createFactKeys('another-secret-0123456789abcdef').bookId(R), id);
  assert.equal(bookId(0, 1), '0000000000000001');
  for (const bad of ['', '0000000000000001a', 'ABCDEF0123456789', '+1303555014000000'])
    assert.ok(!isBookId(bad));
});

test('no changelog record and no by-recipient record names a number that only receives; a sender owns its book', () => {
  const [A, B] = [partitions(), partitions()]; // S in A; R and QUIET in B
  const log: { key: string; value: Uint8Array | null }[] = [];
  const rekeyed: Rekeyed[] = [];
  const deliver = (records: Rekeyed[]) => {
    for (const r of records) {
      if (r.to !== 'byRecipient') continue;
      rekeyed.push(r);
      handlers.received(r.partitionKey === S ? A : B, r.value, CLOCK);
    }
  };
  deliver(handlers.message(A, message(S, R, T0, 'Your code is 1234'), CLOCK));
  deliver(handlers.message(A, message(S, QUIET, T0 + 1_000, 'Your code is 5678'), CLOCK));
  deliver(handlers.message(B, message(R, S, T0 + 60_000, 'STOP'), CLOCK));
  changelogOf(A, log);
  changelogOf(B, log);

  const books = log.filter((c) => c.key.startsWith(RELATION_KEY_PREFIX));
  assert.deepEqual(
    books.map((c) => c.key).sort(),
    [S, R, QUIET].map((a) => RELATION_KEY_PREFIX + keys.bookId(a)).sort(),
    'every book under its id',
  );
  for (const { key, value } of log) {
    assert.ok(!key.includes(QUIET) && !holds(value, QUIET), `${JSON.stringify(key)} names ${QUIET}`);
    assert.ok(!holds(value, QUIET.slice(1)));
  }
  const owner = (address: string) =>
    decodeRelationBook(books.find((c) => c.key === RELATION_KEY_PREFIX + keys.bookId(address))!.value!).owner;
  assert.deepEqual([owner(S), owner(R), owner(QUIET)], [S, R, undefined], 'senders own their books');

  // By recipient: keyed and named by the id, placed by the address (partitionKey, never written).
  assert.equal(rekeyed.length, 3);
  for (const r of rekeyed) {
    assert.equal(r.to, 'byRecipient');
    if (r.to !== 'byRecipient') continue;
    assert.deepEqual(
      [r.key, r.value.recipient, r.value.recipientHashed],
      [keys.bookId(r.partitionKey), r.key, true],
    );
    const bytes = codec.encode('ReceivedMessage', r.value);
    for (const address of [S, R, QUIET]) assert.ok(!holds(bytes, address) && !holds(r.key, address));
  }
});

test('after a restore an answer finds its sender through the book it owns, and republishes its features', () => {
  const A = partitions();
  handlers.message(A, message(S, R, T0, 'Your code is 1234'), CLOCK);
  A.processor.drain(CLOCK);
  const log = A.processor.takeChanged();
  const restored = createPartitionProcessor(OPTIONS);
  for (const { key, value } of log) if (value) restored.restore(key, value);
  restored.restoreWatermark(A.processor.watermark);
  restored.drain(CLOCK);
  // R's STOP, from R's partition: it names S by S's book id only.
  const stop = handlers.message(partitions(), message(R, S, T0 + 30_000, 'STOP'), CLOCK);
  const toS = stop.find((r) => r.to === 'byRecipient')!;
  handlers.received({ processor: restored, clusters: createClusterProcessor() }, toS.value as never, CLOCK);
  restored.advanceWatermark(T0 + 10 * 60_000);
  const features = restored.drain(CLOCK).filter((o) => o.kind === 'features');
  assert.deepEqual(
    [...new Set(features.map((o) => o.sender))],
    [S],
    'the opt-out reached the sender that owns the book',
  );
  const last = features.at(-1)!;
  assert.ok(last.kind === 'features' && last.value.windows.some((w) => w.optOuts === 1), 'with the opt-out');
});

/** A book of the release before book ids: version 2, no owner. */
function legacyBook(latestMs: number): Buffer {
  const book = createRelationBook();
  recordHeard(book, 1234, latestMs, 'optOut', OPTIONS.relations);
  const v3 = encodeRelationBook(book);
  assert.equal(v3[0], RELATION_BOOK_V3);
  assert.equal(v3.at(-1), 0, 'no owner: one zero byte after version 2');
  return Buffer.concat([Buffer.from([RELATION_BOOK_V2]), v3.subarray(1, v3.length - 1)]);
}

test('books an earlier release keyed by clear numbers are re-keyed at the next commit, and the clear keys deleted', () => {
  const sender = partitions();
  handlers.message(sender, message(S, R, T0, 'hello'), CLOCK);
  const senderState = sender.processor.takeChanged().filter((c) => !c.key.startsWith(RELATION_KEY_PREFIX));
  const legacy = [
    ...senderState,
    { key: RELATION_KEY_PREFIX + S, value: legacyBook(T0 + 1_000) },
    { key: RELATION_KEY_PREFIX + QUIET, value: legacyBook(T0 + 2_000) },
  ];
  const p = createPartitionProcessor(OPTIONS);
  for (const { key, value } of legacy) if (value) p.restore(key, value);
  assert.equal(p.relationBookCount, 2);
  const rewrite = p.takeChanged();
  assert.deepEqual(
    rewrite.map((c) => [c.key, c.value === null]),
    [
      ...[S, QUIET].map((a) => [RELATION_KEY_PREFIX + keys.bookId(a), false]).sort(),
      [RELATION_KEY_PREFIX + S, true],
      [RELATION_KEY_PREFIX + QUIET, true],
    ],
    'under their ids, then tombstones of the clear keys, in one commit',
  );
  const book = (a: string) =>
    decodeRelationBook(
      rewrite.find((c) => c.key === RELATION_KEY_PREFIX + keys.bookId(a))?.value ?? Buffer.of(),
    );
  assert.equal(book(S).owner, S, 'a sender with state owns its book');
  assert.equal(book(QUIET).owner, undefined, 'an address that only received is not written in clear');
  assert.equal(book(QUIET).optOuts.size, 1, 'the opt-out kept');
  for (const { key, value } of rewrite)
    assert.ok(!holds(value, QUIET) && (value === null || !key.includes(QUIET)));
  assert.deepEqual(p.takeChanged(), [], 'once');

  // The whole log read again, in the order written: each book once, under its id, opt-out kept.
  const again = createPartitionProcessor(OPTIONS);
  for (const { key, value } of [...legacy, ...rewrite]) {
    if (value) again.restore(key, value);
    else again.forget(key);
  }
  assert.equal(again.relationBookCount, 2);
  assert.deepEqual(again.takeChanged(), [], 'nothing left to re-key');
  // A clear key's tombstone drops the book restored from it, and never a newer one under the id.
  const dropped = createPartitionProcessor(OPTIONS);
  dropped.restore(RELATION_KEY_PREFIX + QUIET, legacyBook(T0));
  dropped.forget(RELATION_KEY_PREFIX + QUIET);
  assert.equal(dropped.relationBookCount, 0);
  assert.deepEqual(dropped.takeChanged(), []);
});
