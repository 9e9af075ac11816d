/**
 * Rows of policy_overrides and content_overrides from the override topics' records (with their
 * Kafka position, which orders them), and back. Column rules: columns.ts.
 */
import type {
  ContentOverride,
  ContentOverrideAction,
  ContentOverrideScope,
  OverrideAction,
  OverrideScope,
  PolicyOverride,
} from '../generated/types.ts';
import {
  type ColumnSpec,
  type Row,
  RowMappingError,
  readNumber,
  readString,
  readTimeMs,
  type StoredRow,
  seconds,
  uint32,
  uint64,
} from './columns.ts';

export const POLICY_OVERRIDE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'recorded_at', type: 'DateTime' },
  { name: 'kafka_partition', type: 'UInt32' },
  { name: 'kafka_offset', type: 'UInt64' },
  { name: 'target', type: 'String' },
  { name: 'removed', type: 'UInt8' },
  { name: 'override_id', type: 'String' },
  { name: 'scope', type: 'String' },
  { name: 'action', type: 'String' },
  { name: 'reason', type: 'String' },
  { name: 'author', type: 'String' },
  { name: 'created_at', type: 'DateTime' },
  { name: 'expires_at', type: 'DateTime' },
];

/** Where a record of sms.policy-overrides or sms.content-overrides sits in Kafka: its identity in the audit table. */
export interface OverridePosition {
  readonly partition: number;
  readonly offset: number;
  /** The record's Kafka timestamp, ms. */
  readonly timestampMs: number;
  /** For a removal (tombstone): who removed it and why, from its headers (spamgate-author, spamgate-reason). */
  readonly removedBy?: { readonly author: string; readonly reason: string };
}

/** One record of sms.policy-overrides as a row; `override` null is a tombstone (removed = 1). */
export interface PolicyOverrideEntry extends OverridePosition {
  /** The record key: the sender or campaign id the override is on. */
  readonly target: string;
  readonly override: PolicyOverride | null;
}

/** The row of one record of sms.policy-overrides: key (the target) and value, null for a tombstone. */
export function policyOverrideRow(
  key: string | null,
  override: PolicyOverride | null,
  at: OverridePosition,
): Row {
  const target = key ?? override?.target;
  if (target === undefined)
    throw new RowMappingError('KEY_MISSING', 'key', 'a tombstone without a key removes nothing');
  return {
    recorded_at: seconds('timestamp', at.timestampMs),
    kafka_partition: uint32('partition', at.partition),
    kafka_offset: uint64('offset', at.offset),
    target,
    removed: override === null ? 1 : 0,
    override_id: override?.overrideId ?? '',
    scope: override?.scope ?? '',
    action: override?.action ?? '',
    reason: override?.reason ?? at.removedBy?.reason ?? '',
    author: override?.author ?? at.removedBy?.author ?? '',
    created_at: override === null ? 0 : seconds('createdAt', override.createdAt),
    expires_at: override?.expiresAt == null ? 0 : seconds('expiresAt', override.expiresAt),
  };
}

export function policyOverrideFromRow(row: StoredRow): PolicyOverrideEntry {
  const target = readString(row, 'target');
  const expiresAt = readTimeMs(row, 'expires_at');
  return {
    target,
    partition: readNumber(row, 'kafka_partition'),
    offset: readNumber(row, 'kafka_offset'),
    timestampMs: readTimeMs(row, 'recorded_at'),
    override:
      readNumber(row, 'removed') === 1
        ? null
        : {
            overrideId: readString(row, 'override_id'),
            scope: readString(row, 'scope') as OverrideScope,
            target,
            action: readString(row, 'action') as OverrideAction,
            reason: readString(row, 'reason'),
            author: readString(row, 'author'),
            createdAt: readTimeMs(row, 'created_at'),
            expiresAt: expiresAt === 0 ? null : expiresAt,
          },
  };
}

// ---------------------------------------------------------------------------------------------
// content_overrides: every record of sms.content-overrides, tombstones included

export const CONTENT_OVERRIDE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'recorded_at', type: 'DateTime' },
  { name: 'kafka_partition', type: 'UInt32' },
  { name: 'kafka_offset', type: 'UInt64' },
  { name: 'scope', type: 'String' },
  { name: 'target', type: 'String' },
  { name: 'removed', type: 'UInt8' },
  { name: 'override_id', type: 'String' },
  { name: 'action', type: 'String' },
  { name: 'reason', type: 'String' },
  { name: 'author', type: 'String' },
  { name: 'created_at', type: 'DateTime' },
  { name: 'expires_at', type: 'DateTime' },
];

/** What a content override is on: the scope and target its key names. */
export interface ContentOverrideTarget {
  readonly scope: ContentOverrideScope;
  readonly target: string;
}

/** One record of sms.content-overrides as a row; `override` null is a tombstone (removed = 1). */
export interface ContentOverrideEntry extends OverridePosition, ContentOverrideTarget {
  readonly override: ContentOverride | null;
}

const CONTENT_OVERRIDE_KEY = /^(CLUSTER|DOMAIN):([\s\S]+)$/;

/** The record key of a content override: `CLUSTER:<id>` or `DOMAIN:<domain>` (contentOverrideTarget reads it back). */
export const contentOverrideKey = (scope: ContentOverrideScope, target: string): string =>
  `${scope}:${target}`;

/** The scope and target a key of sms.content-overrides names (`DOMAIN:example.com`); undefined when it is not `<CLUSTER|DOMAIN>:<target>`. */
export function contentOverrideTarget(key: string): ContentOverrideTarget | undefined {
  const m = CONTENT_OVERRIDE_KEY.exec(key);
  return m ? { scope: m[1] as ContentOverrideScope, target: m[2]! } : undefined;
}

/**
 * The row of one record of sms.content-overrides: key and value, null for a tombstone. Scope
 * and target come from the key (what compaction and a removal go by), from the value when the
 * record has no key.
 */
export function contentOverrideRow(
  key: string | null,
  override: ContentOverride | null,
  at: OverridePosition,
): Row {
  let on: ContentOverrideTarget;
  if (key !== null) {
    const parsed = contentOverrideTarget(key);
    if (!parsed) {
      throw new RowMappingError(
        'KEY_INVALID',
        'key',
        `${JSON.stringify(key.slice(0, 200))} is not <CLUSTER|DOMAIN>:<target>`,
      );
    }
    on = parsed;
  } else if (override !== null) {
    on = override;
  } else {
    throw new RowMappingError('KEY_MISSING', 'key', 'a tombstone without a key removes nothing');
  }
  return {
    recorded_at: seconds('timestamp', at.timestampMs),
    kafka_partition: uint32('partition', at.partition),
    kafka_offset: uint64('offset', at.offset),
    scope: on.scope,
    target: on.target,
    removed: override === null ? 1 : 0,
    override_id: override?.overrideId ?? '',
    action: override?.action ?? '',
    reason: override?.reason ?? at.removedBy?.reason ?? '',
    author: override?.author ?? at.removedBy?.author ?? '',
    created_at: override === null ? 0 : seconds('createdAt', override.createdAt),
    expires_at: override?.expiresAt == null ? 0 : seconds('expiresAt', override.expiresAt),
  };
}

/** A content_overrides row as the record it was, with who removed it and why for a removal that says so. */
export function contentOverrideFromRow(row: StoredRow): ContentOverrideEntry {
  const scope = readString(row, 'scope') as ContentOverrideScope;
  const target = readString(row, 'target');
  const reason = readString(row, 'reason');
  const author = readString(row, 'author');
  const expiresAt = readTimeMs(row, 'expires_at');
  const position = {
    scope,
    target,
    partition: readNumber(row, 'kafka_partition'),
    offset: readNumber(row, 'kafka_offset'),
    timestampMs: readTimeMs(row, 'recorded_at'),
  };
  if (readNumber(row, 'removed') === 1) {
    return {
      ...position,
      ...(reason !== '' || author !== '' ? { removedBy: { author, reason } } : {}),
      override: null,
    };
  }
  return {
    ...position,
    override: {
      overrideId: readString(row, 'override_id'),
      scope,
      target,
      action: readString(row, 'action') as ContentOverrideAction,
      reason,
      author,
      createdAt: readTimeMs(row, 'created_at'),
      expiresAt: expiresAt === 0 ? null : expiresAt,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dead_letters: never the value, only its size and digest
