/**
 * Every table the sink writes: its columns and the DateTime column it is partitioned by; and the
 * dead_letters row, which stores a dead letter's key and value only as hashes.
 */
import { createHash } from 'node:crypto';
import { type SubscriberHasher, writerFingerprintOf } from '@spamgate/core';
import type { DeadLetter } from '../generated/types.ts';
import { type ColumnSpec, type Row, seconds, type TableName, uint32, uint64 } from './columns.ts';
import { CONTENT_DECISION_COLUMNS, DECISION_COLUMNS } from './decision-rows.ts';
import { CLUSTER_FEATURES_COLUMNS, SENDER_FEATURES_COLUMNS, SENDER_MINUTE_COLUMNS } from './feature-rows.ts';
import { CONTENT_OVERRIDE_COLUMNS, POLICY_OVERRIDE_COLUMNS } from './override-rows.ts';

export const DEAD_LETTER_COLUMNS: readonly ColumnSpec[] = [
  { name: 'failed_at', type: 'DateTime' },
  { name: 'service', type: 'String' },
  { name: 'original_topic', type: 'String' },
  { name: 'original_partition', type: 'UInt32' },
  { name: 'original_offset', type: 'UInt64' },
  { name: 'key_hash', type: 'UInt64' },
  { name: 'value_bytes', type: 'UInt64' },
  { name: 'value_sha256', type: 'String' },
  { name: 'writer_fingerprint', type: 'String' },
  { name: 'error_class', type: 'String' },
  { name: 'error_code', type: 'String' },
  { name: 'error_message', type: 'String' },
];

/**
 * The row of a DeadLetter: where the record is, why it failed, its key as a keyed hash (0 when
 * it had none) and its value only as size, SHA-256 and writer fingerprint. A letter of a release
 * before DeadLetter v2 still carries the bytes: they are hashed here, and never stored.
 */
export function deadLetterRow(r: DeadLetter, hasher: SubscriberHasher): Row {
  const keyHash = r.keyHash ?? (r.key ? hasher.hash(Buffer.from(r.key).toString('utf8')) : '0');
  const value = r.value ? Buffer.from(r.value) : null;
  return {
    failed_at: seconds('failedAt', r.failedAt),
    service: r.service,
    original_topic: r.originalTopic,
    original_partition: uint32('originalPartition', r.originalPartition),
    original_offset: uint64('originalOffset', r.originalOffset),
    key_hash: keyHash,
    value_bytes: value ? value.length : uint64('valueBytes', r.valueBytes),
    value_sha256: value ? createHash('sha256').update(value).digest('hex') : (r.valueSha256 ?? ''),
    writer_fingerprint: (value ? writerFingerprintOf(value) : r.writerFingerprint) ?? '',
    error_class: r.errorClass,
    error_code: r.errorCode,
    error_message: r.errorMessage,
  };
}

// ---------------------------------------------------------------------------------------------

export interface TableSpec {
  readonly name: TableName;
  /** Every column the sink writes, with its type as system.columns names it. */
  readonly columns: readonly ColumnSpec[];
  /** The DateTime column the table is partitioned by (toDate of it), in epoch seconds in a Row. */
  readonly partitionColumn: string;
}

export const TABLES: Readonly<Record<TableName, TableSpec>> = Object.freeze({
  decisions: { name: 'decisions', columns: DECISION_COLUMNS, partitionColumn: 'based_on_event_time' },
  policy_overrides: {
    name: 'policy_overrides',
    columns: POLICY_OVERRIDE_COLUMNS,
    partitionColumn: 'recorded_at',
  },
  content_decisions: {
    name: 'content_decisions',
    columns: CONTENT_DECISION_COLUMNS,
    partitionColumn: 'based_on_event_time',
  },
  content_overrides: {
    name: 'content_overrides',
    columns: CONTENT_OVERRIDE_COLUMNS,
    partitionColumn: 'recorded_at',
  },
  sender_features: { name: 'sender_features', columns: SENDER_FEATURES_COLUMNS, partitionColumn: 'as_of' },
  cluster_features: { name: 'cluster_features', columns: CLUSTER_FEATURES_COLUMNS, partitionColumn: 'as_of' },
  sender_minute: { name: 'sender_minute', columns: SENDER_MINUTE_COLUMNS, partitionColumn: 'minute' },
  dead_letters: { name: 'dead_letters', columns: DEAD_LETTER_COLUMNS, partitionColumn: 'failed_at' },
});

/** The day (days since the epoch, UTC) a row's partition is: toDate of its partition column. */
export function partitionDay(table: TableSpec, row: Row): number {
  return Math.floor((row[table.partitionColumn] as number) / 86_400);
}
