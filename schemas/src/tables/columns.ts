/**
 * ClickHouse columns of spamgate's tables: their types, the checks a value passes before it is
 * written (RowMappingError otherwise, which the sink dead-letters) and the readers of stored rows.
 * The rules every mapping follows are in docs/contract.md, "Writing rows and reading them back";
 * ARCHITECTURE.md, "The event contract", says why they live in the contract package.
 */
import { SpamgateError } from '@spamgate/core';

export type TableName =
  | 'decisions'
  | 'policy_overrides'
  | 'content_decisions'
  | 'content_overrides'
  | 'sender_features'
  | 'cluster_features'
  | 'sender_minute'
  | 'dead_letters';

export const TABLE_NAMES: readonly TableName[] = [
  'decisions',
  'policy_overrides',
  'content_decisions',
  'content_overrides',
  'sender_features',
  'cluster_features',
  'sender_minute',
  'dead_letters',
];

/** A row to insert with JSONEachRow: column name to value (null only in a Nullable column). */
export type Row = Record<string, string | number | null | readonly string[] | readonly number[]>;

/** A row as ClickHouse returns it (JSONEachRow): numbers may come as strings. */
export type StoredRow = Readonly<Record<string, unknown>>;

export type ColumnType =
  | 'String'
  | 'UInt8'
  | 'UInt32'
  | 'UInt64'
  | 'Nullable(UInt32)'
  | 'Float64'
  | 'DateTime'
  | 'Array(String)'
  | 'Array(UInt64)'
  | 'Array(Float64)';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

export type RowMappingErrorCode =
  /** A number outside its column's range (a negative count, a fraction where an integer goes). */
  | 'VALUE_OUT_OF_RANGE'
  /** NaN or an infinity, which a Float64 column could hold but JSON cannot carry. */
  | 'VALUE_NOT_FINITE'
  /** A time before 1970 or after 2106, outside ClickHouse's DateTime. */
  | 'TIME_OUT_OF_RANGE'
  /** Two windows of one record with the same length: they would collapse into one row. */
  | 'DUPLICATE_WINDOW'
  /** A features record without windows, which would leave no row at all. */
  | 'NO_WINDOWS'
  /** A SenderMinute whose minute is not a multiple of 60000 ms. */
  | 'MINUTE_NOT_ALIGNED'
  /** An override tombstone without a key: it removes nothing anyone can name. */
  | 'KEY_MISSING'
  /** A content-override key that is not `<CLUSTER|DOMAIN>:<target>`. */
  | 'KEY_INVALID'
  /** A stored row lacks a column or holds a value of the wrong kind (reading back). */
  | 'ROW_INVALID';

/** A record (or a stored row) that does not fit its table. Never retriable: the same input fails the same way. */
export class RowMappingError extends SpamgateError {
  override name = 'RowMappingError';
  override readonly code: RowMappingErrorCode;
  /** The field or column concerned, e.g. windows[2].messages. */
  readonly field: string;

  constructor(code: RowMappingErrorCode, field: string, message: string) {
    super(`${field}: ${message}`, { code, retriable: false, badInput: true });
    this.code = code;
    this.field = field;
  }
}

/** Latest instant a ClickHouse DateTime (unsigned 32-bit seconds) holds, in ms. */
const MAX_DATETIME_MS = (2 ** 32 - 1) * 1000;
export const MAX_UINT32 = 2 ** 32 - 1;

/** Epoch seconds of a time in ms, for a DateTime column; TIME_OUT_OF_RANGE outside DateTime. */
export function seconds(field: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DATETIME_MS) {
    throw new RowMappingError('TIME_OUT_OF_RANGE', field, `${ms} ms is outside 1970-01-01..2106-02-07`);
  }
  return Math.floor(ms / 1000);
}

export function uint64(field: string, n: number): number {
  // avsc refuses longs beyond 2^53 when decoding, so a safe integer is the whole range here.
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RowMappingError('VALUE_OUT_OF_RANGE', field, `${n} is not a non-negative integer`);
  }
  return n;
}

export function uint32(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_UINT32) {
    throw new RowMappingError('VALUE_OUT_OF_RANGE', field, `${n} is not an integer from 0 to ${MAX_UINT32}`);
  }
  return n;
}

export function float64(field: string, n: number): number {
  if (!Number.isFinite(n))
    throw new RowMappingError('VALUE_NOT_FINITE', field, `${n} is not a finite number`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reading stored rows

export function column(row: StoredRow, name: string): unknown {
  const v = row[name];
  if (v === undefined) throw new RowMappingError('ROW_INVALID', name, 'the row has no such column');
  return v;
}

export function readString(row: StoredRow, name: string): string {
  const v = column(row, name);
  if (typeof v !== 'string')
    throw new RowMappingError('ROW_INVALID', name, `expected a string, got ${typeof v}`);
  return v;
}

/** A number from a number, or from the string ClickHouse writes a UInt64 (or a Float64 in quotes) as. */
function toNumber(name: string, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (Number.isNaN(n))
    throw new RowMappingError('ROW_INVALID', name, `expected a number, got ${JSON.stringify(v)}`);
  return n;
}

export function readNumber(row: StoredRow, name: string): number {
  return toNumber(name, column(row, name));
}

/** A Nullable column's value: null, or a number as readNumber reads it. */
export function readNullableNumber(row: StoredRow, name: string): number | null {
  const v = column(row, name);
  return v === null ? null : toNumber(name, v);
}

function readArray(row: StoredRow, name: string): readonly unknown[] {
  const v = column(row, name);
  if (!Array.isArray(v)) throw new RowMappingError('ROW_INVALID', name, 'expected an array');
  return v;
}

export function readStrings(row: StoredRow, name: string): string[] {
  return readArray(row, name).map((v) => {
    if (typeof v !== 'string') throw new RowMappingError('ROW_INVALID', name, 'expected an array of strings');
    return v;
  });
}

export function readNumbers(row: StoredRow, name: string): number[] {
  return readArray(row, name).map((v) => toNumber(name, v));
}

/** Epoch ms of a DateTime as ClickHouse returns it: epoch seconds, or 'YYYY-MM-DD hh:mm:ss' read as UTC. */
export function readTimeMs(row: StoredRow, name: string): number {
  const v = column(row, name);
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    // 18.16 writes the epoch as 0000-00-00 00:00:00.
    if (v.startsWith('0000-00-00')) return 0;
    const t = Date.parse(`${v.replace(' ', 'T')}Z`);
    if (!Number.isNaN(t)) return t;
  }
  throw new RowMappingError('ROW_INVALID', name, `expected a DateTime, got ${JSON.stringify(v)}`);
}

export const orNull = (s: string): string | null => (s === '' ? null : s);

/** Columns as a SELECT list: names with a dot (Nested members) back-quoted. */
export function selectList(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => `\`${c.name}\``).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Window features, field by field
