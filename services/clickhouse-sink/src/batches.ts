/**
 * The sink's bookkeeping, without I/O: which rows wait for which table, and how far each input
 * partition may be committed.
 *
 * A segment is what one kafkajs batch of one partition became: the records of a contiguous offset
 * range, each with its rows. Table buffers hold whole segments, and a batch for ClickHouse is cut
 * from the front of a buffer in whole segments, so a retried batch is exactly the same batch; an
 * insert takes whole records, so the rows of a record are written, or refused, together. A
 * partition's progress lists its ranges in offset order; only the prefix whose ranges are all
 * written (or dead-lettered) may be committed, whatever order inserts finish in.
 */
import type { Row, TableName } from '@spamgate/schemas';

/** One Kafka record as the rows of its table, with what its dead letter needs should ClickHouse refuse them. */
export interface RecordRows {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The record's key and value as read (copies: a view would hold kafkajs' whole fetch buffer). */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Its rows (one per window for a features record), never empty; inserted together. */
  readonly rows: readonly Row[];
}

/** A contiguous offset range of one input partition, ready for ClickHouse. */
export interface Segment {
  readonly topic: string;
  readonly partition: number;
  /** The range's records that have rows, in offset order (dead-lettered ones are not here). */
  readonly records: readonly RecordRows[];
  /** Rows of all its records. */
  readonly rows: number;
  /** When the range was read, ms: a buffer's age is its oldest segment's. */
  readonly readAt: number;
  /** The newest Kafka timestamp among its records, ms: how fresh the table is once it is written. */
  readonly newestMs: number;
  /** Marks the range written, so its partition may be committed past it. */
  readonly ticket: RangeTicket;
}

/** Records cut from a table buffer to be written together (retried as they are until ClickHouse takes them). */
export interface Batch {
  readonly table: TableName;
  readonly segments: readonly Segment[];
  /** The segments' records, in order. */
  readonly records: readonly RecordRows[];
  /** Rows of all its records. */
  readonly rows: number;
}

export interface TableBuffer {
  readonly table: TableName;
  /** Rows waiting, not yet cut into a batch. */
  readonly rows: number;
  /** readAt of the oldest waiting segment, undefined when empty. */
  readonly oldestAt: number | undefined;
  append(segment: Segment): void;
  /** Whether a batch is due: maxRows rows wait, or the oldest has waited maxAgeMs. */
  isDue(now: number, limits: { readonly maxRows: number; readonly maxAgeMs: number }): boolean;
  /**
   * Cuts the next batch: whole segments from the front until it holds maxRows rows or the buffer
   * is empty (one segment larger than maxRows is a batch of its own). Undefined when empty.
   */
  take(maxRows: number): Batch | undefined;
  /** Drops every waiting segment for which `drop` is true (partitions read again after a rebalance). */
  discard(drop: (segment: Segment) => boolean): number;
}

export function createTableBuffer(table: TableName): TableBuffer {
  let segments: Segment[] = [];
  let rows = 0;
  return {
    table,
    get rows() {
      return rows;
    },
    get oldestAt() {
      // Segments are appended as they are read, so the first is the oldest.
      return segments[0]?.readAt;
    },
    append(segment) {
      if (segment.rows === 0) throw new Error('an empty segment has nothing to write');
      segments.push(segment);
      rows += segment.rows;
    },
    isDue(now, { maxRows, maxAgeMs }) {
      const oldest = segments[0];
      return oldest !== undefined && (rows >= maxRows || now - oldest.readAt >= maxAgeMs);
    },
    take(maxRows) {
      if (segments.length === 0) return undefined;
      let n = 0;
      let count = 0;
      while (n < segments.length && (count === 0 || count + segments[n]!.rows <= maxRows)) {
        count += segments[n]!.rows;
        n++;
      }
      const taken = segments.slice(0, n);
      segments = segments.slice(n);
      rows -= count;
      const records: RecordRows[] = [];
      for (const s of taken) for (const r of s.records) records.push(r);
      return { table, segments: taken, records, rows: count };
    },
    discard(drop) {
      const kept = segments.filter((s) => !drop(s));
      const dropped = segments.length - kept.length;
      segments = kept;
      rows = kept.reduce((sum, s) => sum + s.rows, 0);
      return dropped;
    },
  };
}

/** One range of a partition's progress; written() may be called once, from any order. */
export interface RangeTicket {
  written(): void;
}

export interface PartitionProgress {
  /**
   * The offset the next range must start at (where the last one read ended), undefined before
   * the first range: then any start is accepted, it is where the consumer was positioned.
   */
  readonly expectedFrom: string | undefined;
  /**
   * Records the range from `fromOffset` up to `nextOffset` (exclusive) as read. `fromOffset`
   * undefined: continues where the last range ended. Throws if the range does not start there.
   */
  read(fromOffset: string | undefined, nextOffset: string): RangeTicket;
  /** The end of the written prefix: every record before it is written. Undefined before any. */
  readonly writtenUpTo: string | undefined;
  /** The offset last committed for this partition (set by the caller after the broker took it). */
  committed: string | undefined;
}

export function createPartitionProgress(): PartitionProgress {
  const ranges: { readonly next: bigint; done: boolean }[] = [];
  let expected: bigint | undefined;
  let writtenUpTo: bigint | undefined;
  const advance = (): void => {
    while (ranges.length > 0 && ranges[0]!.done) writtenUpTo = ranges.shift()!.next;
  };
  return {
    committed: undefined,
    get expectedFrom() {
      return expected?.toString();
    },
    get writtenUpTo() {
      return writtenUpTo?.toString();
    },
    read(fromOffset, nextOffset) {
      const from = fromOffset === undefined ? expected : BigInt(fromOffset);
      if (expected !== undefined && from !== expected) {
        throw new Error(`range starts at ${fromOffset}, the previous one ended at ${expected}`);
      }
      const next = BigInt(nextOffset);
      if (from !== undefined && next < from)
        throw new Error(`range ends at ${nextOffset} before it starts at ${from}`);
      expected = next;
      const range = { next, done: false };
      ranges.push(range);
      let called = false;
      return {
        written() {
          if (called) return;
          called = true;
          range.done = true;
          advance();
        },
      };
    },
  };
}

/** Splits rows (or records) into groups of at most maxDays distinct days (insert blocks touching fewer partitions). */
export function chunkByDay<R>(rows: readonly R[], dayOf: (row: R) => number, maxDays: number): R[][] {
  const byDay = new Map<number, R[]>();
  for (const row of rows) {
    const day = dayOf(row);
    const list = byDay.get(day);
    if (list) list.push(row);
    else byDay.set(day, [row]);
  }
  if (byDay.size <= maxDays) return [rows.slice()];
  const chunks: R[][] = [];
  let current: R[] = [];
  let days = 0;
  for (const list of byDay.values()) {
    if (days === maxDays) {
      chunks.push(current);
      current = [];
      days = 0;
    }
    for (const row of list) current.push(row);
    days++;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
