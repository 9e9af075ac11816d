// Batching and commit bookkeeping, without Kafka or ClickHouse: batches are whole offset ranges,
// due by size or age, and a partition is committable only up to its written prefix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Row } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import {
  chunkByDay,
  createPartitionProgress,
  createTableBuffer,
  type RangeTicket,
  type RecordRows,
  type Segment,
} from '../src/batches.ts';

const noTicket: RangeTicket = { written() {} };

/** A segment of `count` records from offset `first`, each of `rowsPerRecord` rows. */
function segment(
  partition: number,
  first: number,
  count: number,
  readAt: number,
  ticket = noTicket,
  rowsPerRecord = 1,
): Segment {
  const records: RecordRows[] = Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition,
    offset: String(first + i),
    key: null,
    value: null,
    rows: Array.from({ length: rowsPerRecord }, (_, w): Row => ({ offset: first + i, partition, w })),
  }));
  return { topic: 't', partition, records, rows: count * rowsPerRecord, readAt, newestMs: readAt, ticket };
}

test('a buffer is due once it holds a batch of rows, or its oldest row waited the batch age', () => {
  const buffer = createTableBuffer('decisions');
  const limits = { maxRows: 100, maxAgeMs: 1_000 };
  assert.equal(buffer.isDue(0, limits), false, 'empty is never due');
  buffer.append(segment(0, 0, 60, 5_000));
  assert.equal(buffer.isDue(5_999, limits), false);
  assert.equal(buffer.isDue(6_000, limits), true, 'by age');
  buffer.append(segment(1, 0, 40, 5_900));
  assert.equal(buffer.isDue(5_901, limits), true, 'by size');
  assert.equal(buffer.oldestAt, 5_000);
});

test('a batch is cut in whole offset ranges, in the order they were read, up to the batch size', () => {
  const buffer = createTableBuffer('decisions');
  buffer.append(segment(0, 0, 30, 1));
  buffer.append(segment(1, 100, 50, 2));
  buffer.append(segment(0, 30, 40, 3));
  const first = buffer.take(100)!;
  assert.deepEqual(
    first.segments.map((s) => [s.partition, s.rows]),
    [
      [0, 30],
      [1, 50],
    ],
    'the third range would overflow the batch: it waits for the next',
  );
  assert.deepEqual(
    first.records.map((r) => Number(r.offset)),
    [...Array.from({ length: 30 }, (_, i) => i), ...Array.from({ length: 50 }, (_, i) => 100 + i)],
  );
  assert.equal(buffer.rows, 40);
  assert.equal(buffer.oldestAt, 3);
  // A range larger than a batch is a batch of its own, never split.
  buffer.append(segment(2, 0, 500, 4));
  assert.equal(buffer.take(100)!.rows, 40);
  assert.equal(buffer.take(100)!.rows, 500);
  // Rows count, not records: 30 records of 4 rows each are more than a batch of 100 rows.
  buffer.append(segment(3, 0, 20, 5, noTicket, 4));
  buffer.append(segment(3, 20, 10, 6, noTicket, 4));
  const byRows = buffer.take(100)!;
  assert.deepEqual([byRows.rows, byRows.records.length], [80, 20]);
  assert.equal(buffer.rows, 40);
  assert.equal(buffer.take(100)!.rows, 40);
  assert.equal(buffer.take(100), undefined);
  assert.equal(buffer.rows, 0);
});

test('discarding drops whole ranges and their rows', () => {
  const buffer = createTableBuffer('decisions');
  buffer.append(segment(0, 0, 10, 1));
  buffer.append(segment(1, 0, 20, 2));
  assert.equal(
    buffer.discard((s) => s.partition === 0),
    1,
  );
  assert.equal(buffer.rows, 20);
  assert.equal(buffer.oldestAt, 2);
  assert.throws(() => buffer.append(segment(0, 0, 0, 3)), /empty/);
});

test('a partition is committable only up to the end of its written prefix, whatever order writes finish in', () => {
  const progress = createPartitionProgress();
  assert.equal(progress.expectedFrom, undefined);
  const a = progress.read('100', '150');
  const b = progress.read('150', '160');
  const c = progress.read(undefined, '175'); // a batch kafkajs emptied itself continues where the last ended
  assert.equal(progress.expectedFrom, '175');
  assert.equal(progress.writtenUpTo, undefined);
  c.written();
  b.written();
  assert.equal(progress.writtenUpTo, undefined, 'the first range is not written yet');
  a.written();
  assert.equal(progress.writtenUpTo, '175');
  a.written(); // idempotent
  assert.equal(progress.writtenUpTo, '175');
});

test('a range that does not start where the last ended is refused', () => {
  const progress = createPartitionProgress();
  progress.read('0', '10');
  assert.throws(() => progress.read('11', '20'), /previous one ended at 10/);
  assert.throws(() => progress.read('10', '5'), /before it starts/);
});

test('random write orders commit exactly the written prefix', () => {
  const random = seededRandom(11);
  for (let round = 0; round < 200; round++) {
    const progress = createPartitionProgress();
    const ends: number[] = [];
    const tickets: RangeTicket[] = [];
    let offset = Math.floor(random() * 1000);
    const n = 1 + Math.floor(random() * 20);
    for (let i = 0; i < n; i++) {
      const next = offset + 1 + Math.floor(random() * 50);
      tickets.push(progress.read(String(offset), String(next)));
      ends.push(next);
      offset = next;
    }
    const written = new Set<number>();
    const order = tickets.map((_, i) => i).sort(() => random() - 0.5);
    for (const i of order) {
      tickets[i]!.written();
      written.add(i);
      let prefix = 0;
      while (written.has(prefix)) prefix++;
      assert.equal(progress.writtenUpTo, prefix === 0 ? undefined : String(ends[prefix - 1]));
    }
  }
});

test('an insert touches at most the given number of days, and keeps every row', () => {
  const rows = Array.from({ length: 1_000 }, (_, i) => ({ day: (i * 7) % 130, i }));
  const chunks = chunkByDay(rows, (r) => r.day, 50);
  assert.equal(chunks.length, 3);
  for (const chunk of chunks) assert.ok(new Set(chunk.map((r) => r.day)).size <= 50);
  assert.deepEqual(
    chunks
      .flat()
      .map((r) => r.i)
      .sort((a, b) => a - b),
    rows.map((r) => r.i),
  );
  // Within a day, the rows keep their order.
  const day3 = chunks.flat().filter((r) => r.day === 3);
  assert.deepEqual(
    day3.map((r) => r.i),
    rows.filter((r) => r.day === 3).map((r) => r.i),
  );
  const few = [{ day: 1 }, { day: 2 }];
  assert.deepEqual(
    chunkByDay(few, (r) => r.day, 50),
    [few],
  );
});
