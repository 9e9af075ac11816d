/**
 * Rows of spamgate's ClickHouse tables from the records of its topics, and back: the one place
 * where a record's fields meet column names (infra/clickhouse/migrations/ define the columns).
 *
 * Column names are the Avro field names in snake_case: an underscore before each upper-case
 * letter, lower-cased; digits stay with the word before them (peak1s, peak10s). A window's
 * `window` is `time_window` (a keyword in current ClickHouse); a decision's trigger is
 * `decision_trigger`. Avro longs are UInt64, doubles Float64, booleans UInt8, an optional int
 * Nullable(UInt32) where 0 is a value of its own. Times are DateTime (seconds, UTC) and, where
 * the record's milliseconds matter, UInt64 `<name>_ms` beside them.
 *
 * A row is the object JSONEachRow writes: numbers, strings, null and arrays, DateTime as epoch
 * seconds, a Nested column as one array per member (`clusters.cluster_id`). The mappings check
 * every value against its column, so that ClickHouse does not refuse a row: a value that does
 * not fit (a negative count, a time outside DateTime, a NaN) is a RowMappingError, and the sink
 * dead-letters the record instead of blocking its table. What gets past them and ClickHouse
 * refuses all the same (a string ending in half a surrogate pair, which JSON carries as a lone
 * \ud83d escape) the sink finds by splitting the insert, and dead-letters too (poison.ts).
 *
 * Reading back (`*FromRow(s)`) takes rows as ClickHouse's JSONEachRow returns them: UInt64 as
 * strings, DateTime as epoch seconds (`toUnixTimestamp(c) AS c`) or as the text ClickHouse writes,
 * read as UTC (the server's time zone; spamgate's servers run in UTC); the feature tables are read
 * through their `_ms` columns. SenderFeatures, ClusterFeatures and SenderMinute come back field
 * for field; decisions, content decisions and overrides too, except where a column cannot tell
 * two values apart, and the read gives one of them:
 *   - an optional string stored as '' (campaignId, overrideId, a reason's feature and window,
 *     policyAction, previousAction) reads as null, so an empty string reads as null too;
 *   - a reason's null observed or threshold is stored as 0 and reads as 0;
 *   - Decision.expiresAt, PolicyOverride's and ContentOverride's createdAt and expiresAt are kept
 *     to the second (DateTime; an expiry of null is 0, the epoch); a ContentDecision keeps every
 *     time to the millisecond, an expiry of null as 0 ms; Decision.throttleRatePerMinute is kept
 *     only for THROTTLE (null otherwise, as the contract says);
 *   - a decision row without decided_at_ms or throttle_scope (written by an earlier release;
 *     ClickHouse 18.16 stores 0 and '') reads decidedAt to the second and ALL_RECIPIENTS;
 *   - a content override's scope and target are read from its key when it has one (as
 *     policy_overrides' target is), so a value naming another target than its key reads as the key's;
 *   - a Float64 is written as JSON text: current ClickHouse parses it to the same double,
 *     ClickHouse 18.16's fast parser can miss by one unit in the last place for magnitudes far
 *     from 1 (below about 1e-5 or above 1e15); -0 reads as 0.
 * A DeadLetter's value is never stored (its size and SHA-256 are), so dead letters are not read back.
 */
import { createHash } from 'node:crypto';
import { SpamgateError, sql, sqlLiteral, sqlTable } from '@spamgate/core';
import type {
  Action,
  AddressKind,
  ClusterFeatures,
  ClusterWindowFeatures,
  ContentAction,
  ContentDecision,
  ContentDecisionTrigger,
  ContentOverride,
  ContentOverrideAction,
  ContentOverrideScope,
  DeadLetter,
  Decision,
  DecisionTrigger,
  OverrideAction,
  OverrideScope,
  PolicyOverride,
  Reason,
  SenderFeatures,
  SenderMinute,
  ThrottleScope,
  WindowFeatures,
} from '@spamgate/schemas';

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
    super(`${field}: ${message}`, { code, retriable: false });
    this.code = code;
    this.field = field;
  }
}

/** Latest instant a ClickHouse DateTime (unsigned 32-bit seconds) holds, in ms. */
const MAX_DATETIME_MS = (2 ** 32 - 1) * 1000;
const MAX_UINT32 = 2 ** 32 - 1;

/** Epoch seconds of a time in ms, for a DateTime column; TIME_OUT_OF_RANGE outside DateTime. */
function seconds(field: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DATETIME_MS) {
    throw new RowMappingError('TIME_OUT_OF_RANGE', field, `${ms} ms is outside 1970-01-01..2106-02-07`);
  }
  return Math.floor(ms / 1000);
}

function uint64(field: string, n: number): number {
  // avsc refuses longs beyond 2^53 when decoding, so a safe integer is the whole range here.
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RowMappingError('VALUE_OUT_OF_RANGE', field, `${n} is not a non-negative integer`);
  }
  return n;
}

function uint32(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_UINT32) {
    throw new RowMappingError('VALUE_OUT_OF_RANGE', field, `${n} is not an integer from 0 to ${MAX_UINT32}`);
  }
  return n;
}

function float64(field: string, n: number): number {
  if (!Number.isFinite(n))
    throw new RowMappingError('VALUE_NOT_FINITE', field, `${n} is not a finite number`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reading stored rows

function column(row: StoredRow, name: string): unknown {
  const v = row[name];
  if (v === undefined) throw new RowMappingError('ROW_INVALID', name, 'the row has no such column');
  return v;
}

function readString(row: StoredRow, name: string): string {
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

function readNumber(row: StoredRow, name: string): number {
  return toNumber(name, column(row, name));
}

/** A Nullable column's value: null, or a number as readNumber reads it. */
function readNullableNumber(row: StoredRow, name: string): number | null {
  const v = column(row, name);
  return v === null ? null : toNumber(name, v);
}

function readArray(row: StoredRow, name: string): readonly unknown[] {
  const v = column(row, name);
  if (!Array.isArray(v)) throw new RowMappingError('ROW_INVALID', name, 'expected an array');
  return v;
}

function readStrings(row: StoredRow, name: string): string[] {
  return readArray(row, name).map((v) => {
    if (typeof v !== 'string') throw new RowMappingError('ROW_INVALID', name, 'expected an array of strings');
    return v;
  });
}

function readNumbers(row: StoredRow, name: string): number[] {
  return readArray(row, name).map((v) => toNumber(name, v));
}

/** Epoch ms of a DateTime as ClickHouse returns it: epoch seconds, or 'YYYY-MM-DD hh:mm:ss' read as UTC. */
function readTimeMs(row: StoredRow, name: string): number {
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

const orNull = (s: string): string | null => (s === '' ? null : s);

/** Columns as a SELECT list: names with a dot (Nested members) back-quoted. */
function selectList(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => `\`${c.name}\``).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Window features, field by field

type Numeric = 'UInt64' | 'Float64';

/** Every numeric field of WindowFeatures and its column type; `satisfies` fails to compile when the generated type gains a field. */
const WINDOW_FEATURE_TYPES = {
  windowMs: 'UInt64',
  messages: 'UInt64',
  distinctRecipients: 'UInt64',
  peak1s: 'UInt64',
  peak10s: 'UInt64',
  fanOut: 'Float64',
  newContactShare: 'Float64',
  contactShare: 'Float64',
  sequentialShare: 'Float64',
  prefixEntropy: 'Float64',
  topTemplateShare: 'Float64',
  distinctTemplates: 'UInt64',
  urlShare: 'Float64',
  distinctUrlDomains: 'UInt64',
  callbackShare: 'Float64',
  timingCv: 'Float64',
  quietHourShare: 'Float64',
  deliveryFailures: 'UInt64',
  deliveryFailureRate: 'Float64',
  spamReports: 'UInt64',
  subscriberBlocks: 'UInt64',
  registeredCapShare: 'Float64',
  repliedRecipients: 'UInt64',
  replyRate: 'Float64',
  optOuts: 'UInt64',
  optOutRate: 'Float64',
  postOptOutSends: 'UInt64',
} as const satisfies Record<Exclude<keyof WindowFeatures, 'window'>, Numeric>;

/** Every numeric field of ClusterWindowFeatures and its column type (arrays and the name apart). */
const CLUSTER_WINDOW_TYPES = {
  windowMs: 'UInt64',
  messages: 'UInt64',
  distinctSenders: 'UInt64',
  distinctRecipients: 'UInt64',
  optOuts: 'UInt64',
  spamReports: 'UInt64',
  optOutRate: 'Float64',
  registeredShare: 'Float64',
  distinctCampaigns: 'UInt64',
  topSenderShare: 'Float64',
  distinctUrlDomains: 'UInt64',
  replies: 'UInt64',
  deliveryFailures: 'UInt64',
  sequentialShare: 'Float64',
  postOptOutSends: 'UInt64',
  sendingForMs: 'UInt64',
  optOutIgnoringSenders: 'UInt64',
  optedOutSenders: 'UInt64',
  optOutIgnoredSenders: 'UInt64',
} as const satisfies Record<
  Exclude<
    keyof ClusterWindowFeatures,
    'window' | 'campaignIds' | 'urlDomains' | 'callbackNumbers' | 'senderSample' | 'senderBlockSample'
  >,
  Numeric
>;

/** The column of an Avro field: snake_case, digits kept with the word before them (see the module comment). */
export function columnName(field: string): string {
  if (field === 'window') return 'time_window';
  if (field === 'trigger') return 'decision_trigger';
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

interface NumericField<F extends string> {
  readonly field: F;
  readonly column: string;
  readonly type: Numeric;
}

function numericFields<F extends string>(types: Readonly<Record<F, Numeric>>): readonly NumericField<F>[] {
  return (Object.keys(types) as F[]).map((field) => ({
    field,
    column: columnName(field),
    type: types[field],
  }));
}

const WINDOW_FIELDS = numericFields(WINDOW_FEATURE_TYPES);
const CLUSTER_WINDOW_FIELDS = numericFields(CLUSTER_WINDOW_TYPES);

/** The WindowFeatures fields and the sender_features column each is stored in (for tests and readers). */
export const WINDOW_FEATURE_COLUMNS: readonly {
  readonly field: keyof WindowFeatures;
  readonly column: string;
}[] = [{ field: 'window', column: 'time_window' }, ...WINDOW_FIELDS];

/** The ClusterWindowFeatures fields and the cluster_features column each is stored in. */
export const CLUSTER_WINDOW_COLUMNS: readonly {
  readonly field: keyof ClusterWindowFeatures;
  readonly column: string;
}[] = [
  { field: 'window', column: 'time_window' },
  ...CLUSTER_WINDOW_FIELDS,
  { field: 'campaignIds', column: 'campaign_ids' },
  { field: 'urlDomains', column: 'url_domains' },
  { field: 'callbackNumbers', column: 'callback_numbers' },
  { field: 'senderSample', column: 'sender_sample' },
  { field: 'senderBlockSample', column: 'sender_block_sample' },
];

function writeNumbers<F extends string>(
  row: Row,
  fields: readonly NumericField<F>[],
  values: Readonly<Record<F, number>>,
  at: string,
): void {
  for (const f of fields) {
    const v = values[f.field];
    // The field's path is built only for an error: this runs for every number of every row.
    const ok = f.type === 'UInt64' ? Number.isSafeInteger(v) && v >= 0 : Number.isFinite(v);
    row[f.column] = ok
      ? v
      : f.type === 'UInt64'
        ? uint64(`${at}.${f.field}`, v)
        : float64(`${at}.${f.field}`, v);
  }
}

function readNumbersInto<F extends string>(
  out: Record<F, number>,
  fields: readonly NumericField<F>[],
  row: StoredRow,
): void {
  for (const f of fields) out[f.field] = readNumber(row, f.column);
}

function checkWindows(windows: readonly { readonly windowMs: number }[]): void {
  if (windows.length === 0)
    throw new RowMappingError('NO_WINDOWS', 'windows', 'a record without windows has no row');
  const seen = new Set<number>();
  for (const [i, w] of windows.entries()) {
    if (seen.has(w.windowMs)) {
      throw new RowMappingError(
        'DUPLICATE_WINDOW',
        `windows[${i}].windowMs`,
        `two windows of ${w.windowMs} ms`,
      );
    }
    seen.add(w.windowMs);
  }
}

/** Groups rows by a record's identity, keeping the order in which identities first appear. */
function groupRows(rows: readonly StoredRow[], key: (row: StoredRow) => string): StoredRow[][] {
  const groups = new Map<string, StoredRow[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return [...groups.values()].map((g) =>
    g.sort((a, b) => readNumber(a, 'window_ms') - readNumber(b, 'window_ms')),
  );
}

// ---------------------------------------------------------------------------------------------
// sender_features: one row per SenderFeatures record and window

export const SENDER_FEATURES_COLUMNS: readonly ColumnSpec[] = [
  { name: 'as_of', type: 'DateTime' },
  { name: 'as_of_ms', type: 'UInt64' },
  { name: 'emitted_at', type: 'DateTime' },
  { name: 'emitted_at_ms', type: 'UInt64' },
  { name: 'sender', type: 'String' },
  { name: 'sender_kind', type: 'String' },
  { name: 'campaign_id', type: 'String' },
  { name: 'time_window', type: 'String' },
  ...WINDOW_FIELDS.map((f) => ({ name: f.column, type: f.type })),
  { name: 'url_domains', type: 'Array(String)' },
  { name: 'clusters.cluster_id', type: 'Array(String)' },
  { name: 'clusters.recipients', type: 'Array(UInt64)' },
];

/** The rows of one SenderFeatures record, one per window; RowMappingError when a value does not fit. */
export function senderFeaturesRows(r: SenderFeatures): Row[] {
  checkWindows(r.windows);
  const asOf = seconds('asOf', r.asOf);
  const emittedAt = seconds('emittedAt', r.emittedAt);
  const clusterIds = r.clusters.map((c) => c.clusterId);
  const clusterRecipients = r.clusters.map((c, i) => uint64(`clusters[${i}].recipients`, c.recipients));
  return r.windows.map((w, i) => {
    const row: Row = {
      as_of: asOf,
      as_of_ms: r.asOf,
      emitted_at: emittedAt,
      emitted_at_ms: r.emittedAt,
      sender: r.sender,
      sender_kind: r.senderKind,
      campaign_id: r.campaignId ?? '',
      time_window: w.window,
    };
    writeNumbers(row, WINDOW_FIELDS, w, `windows[${i}]`);
    row.url_domains = r.urlDomains;
    row['clusters.cluster_id'] = clusterIds;
    row['clusters.recipients'] = clusterRecipients;
    return row;
  });
}

/**
 * SenderFeatures records rebuilt from sender_features rows (read with FINAL, see
 * senderFeaturesQuery): one record per (sender, as_of_ms), in the order those first appear,
 * windows shortest first. Rows of a record missing from the input give a record without them.
 */
export function senderFeaturesFromRows(rows: readonly StoredRow[]): SenderFeatures[] {
  return groupRows(rows, (row) => `${readString(row, 'sender')}\u0000${readNumber(row, 'as_of_ms')}`).map(
    (group) => {
      const first = group[0]!;
      const clusterIds = readStrings(first, 'clusters.cluster_id');
      const clusterRecipients = readNumbers(first, 'clusters.recipients');
      if (clusterIds.length !== clusterRecipients.length) {
        throw new RowMappingError('ROW_INVALID', 'clusters', 'cluster ids and recipients differ in length');
      }
      return {
        sender: readString(first, 'sender'),
        senderKind: readString(first, 'sender_kind') as AddressKind,
        campaignId: orNull(readString(first, 'campaign_id')),
        asOf: readNumber(first, 'as_of_ms'),
        emittedAt: readNumber(first, 'emitted_at_ms'),
        windows: group.map((row) => {
          const w = { window: readString(row, 'time_window') } as WindowFeatures;
          readNumbersInto(w, WINDOW_FIELDS, row);
          return w;
        }),
        clusters: clusterIds.map((clusterId, i) => ({ clusterId, recipients: clusterRecipients[i]! })),
        urlDomains: readStrings(first, 'url_domains'),
      };
    },
  );
}

/** Time range of a read, ms since the epoch: fromMs inclusive, toMs exclusive. */
export interface TimeRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** ` AND column IN ('v1', 'v2', ...)`; an empty list matches nothing. */
function inCondition(column: string, values: readonly string[] | undefined): string {
  if (values === undefined) return '';
  return values.length === 0
    ? ' AND 0'
    : ` AND ${column} IN (${values.map((v) => sqlLiteral(v)).join(', ')})`;
}

function rangeCondition(range: TimeRange): string {
  const from = Math.max(0, Math.floor(range.fromMs));
  const to = Math.max(0, Math.ceil(range.toMs));
  // as_of bounds the partitions read (toDate(as_of)); as_of_ms is the exact range.
  return sql`as_of >= toDateTime(${Math.floor(from / 1000)}) AND as_of <= toDateTime(${Math.min(
    Math.floor(to / 1000),
    MAX_UINT32,
  )}) AND as_of_ms >= ${from} AND as_of_ms < ${to}`;
}

/**
 * The query whose rows (JSONEachRow) senderFeaturesFromRows rebuilds records from: every
 * SenderFeatures with asOf in the range (of the given senders, when given), duplicates collapsed
 * with FINAL, ordered by asOf, sender and window. Works on 18.16 and current ClickHouse.
 */
export function senderFeaturesQuery(
  database: string,
  range: TimeRange & { readonly senders?: readonly string[] },
): string {
  return featuresQuery(database, 'sender_features', SENDER_FEATURES_COLUMNS, range, 'sender', range.senders);
}

/** A range of a features table (one row per record and window), FINAL, in asOf, key and window order. */
function featuresQuery(
  database: string,
  table: 'sender_features' | 'cluster_features',
  columns: readonly ColumnSpec[],
  range: TimeRange,
  keyColumn: string,
  keys: readonly string[] | undefined,
): string {
  return `SELECT ${selectList(columns)} FROM ${sqlTable(database, table).text} FINAL
WHERE ${rangeCondition(range)}${inCondition(keyColumn, keys)}
ORDER BY as_of_ms, ${keyColumn}, window_ms`;
}

// ---------------------------------------------------------------------------------------------
// cluster_features: one row per ClusterFeatures record and window

export const CLUSTER_FEATURES_COLUMNS: readonly ColumnSpec[] = [
  { name: 'as_of', type: 'DateTime' },
  { name: 'as_of_ms', type: 'UInt64' },
  { name: 'emitted_at', type: 'DateTime' },
  { name: 'emitted_at_ms', type: 'UInt64' },
  { name: 'cluster_id', type: 'String' },
  { name: 'time_window', type: 'String' },
  ...CLUSTER_WINDOW_FIELDS.map((f) => ({ name: f.column, type: f.type })),
  { name: 'campaign_ids', type: 'Array(String)' },
  { name: 'url_domains', type: 'Array(String)' },
  { name: 'callback_numbers', type: 'Array(String)' },
  { name: 'sender_sample', type: 'Array(UInt64)' },
  { name: 'sender_block_sample', type: 'Array(UInt64)' },
];

/** The rows of one ClusterFeatures record, one per window; RowMappingError when a value does not fit. */
export function clusterFeaturesRows(r: ClusterFeatures): Row[] {
  checkWindows(r.windows);
  const asOf = seconds('asOf', r.asOf);
  const emittedAt = seconds('emittedAt', r.emittedAt);
  return r.windows.map((w, i) => {
    const row: Row = {
      as_of: asOf,
      as_of_ms: r.asOf,
      emitted_at: emittedAt,
      emitted_at_ms: r.emittedAt,
      cluster_id: r.clusterId,
      time_window: w.window,
    };
    writeNumbers(row, CLUSTER_WINDOW_FIELDS, w, `windows[${i}]`);
    row.campaign_ids = w.campaignIds;
    row.url_domains = w.urlDomains;
    row.callback_numbers = w.callbackNumbers;
    row.sender_sample = w.senderSample;
    row.sender_block_sample = w.senderBlockSample;
    return row;
  });
}

/** ClusterFeatures records rebuilt from cluster_features rows, like senderFeaturesFromRows. */
export function clusterFeaturesFromRows(rows: readonly StoredRow[]): ClusterFeatures[] {
  return groupRows(rows, (row) => `${readString(row, 'cluster_id')}\u0000${readNumber(row, 'as_of_ms')}`).map(
    (group) => {
      const first = group[0]!;
      return {
        clusterId: readString(first, 'cluster_id'),
        asOf: readNumber(first, 'as_of_ms'),
        emittedAt: readNumber(first, 'emitted_at_ms'),
        windows: group.map((row) => {
          const w = { window: readString(row, 'time_window') } as ClusterWindowFeatures;
          readNumbersInto(w, CLUSTER_WINDOW_FIELDS, row);
          w.campaignIds = readStrings(row, 'campaign_ids');
          w.urlDomains = readStrings(row, 'url_domains');
          w.callbackNumbers = readStrings(row, 'callback_numbers');
          w.senderSample = readNumbers(row, 'sender_sample');
          w.senderBlockSample = readNumbers(row, 'sender_block_sample');
          return w;
        }),
      };
    },
  );
}

/** The query for clusterFeaturesFromRows, like senderFeaturesQuery (of the given clusters, when given). */
export function clusterFeaturesQuery(
  database: string,
  range: TimeRange & { readonly clusterIds?: readonly string[] },
): string {
  return featuresQuery(
    database,
    'cluster_features',
    CLUSTER_FEATURES_COLUMNS,
    range,
    'cluster_id',
    range.clusterIds,
  );
}

// ---------------------------------------------------------------------------------------------
// sender_minute

export const SENDER_MINUTE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'minute', type: 'DateTime' },
  { name: 'sender', type: 'String' },
  { name: 'sender_kind', type: 'String' },
  { name: 'campaign_id', type: 'String' },
  { name: 'messages', type: 'UInt64' },
  { name: 'distinct_recipients', type: 'UInt64' },
  { name: 'url_messages', type: 'UInt64' },
  { name: 'delivery_failures', type: 'UInt64' },
  { name: 'spam_reports', type: 'UInt64' },
  { name: 'subscriber_blocks', type: 'UInt64' },
  { name: 'late_events', type: 'UInt64' },
  { name: 'version', type: 'UInt64' },
];

export function senderMinuteRow(r: SenderMinute): Row {
  if (r.minute % 60_000 !== 0) {
    throw new RowMappingError('MINUTE_NOT_ALIGNED', 'minute', `${r.minute} is not a multiple of 60000 ms`);
  }
  return {
    minute: seconds('minute', r.minute),
    sender: r.sender,
    sender_kind: r.senderKind,
    campaign_id: r.campaignId ?? '',
    messages: uint64('messages', r.messages),
    distinct_recipients: uint64('distinctRecipients', r.distinctRecipients),
    url_messages: uint64('urlMessages', r.urlMessages),
    delivery_failures: uint64('deliveryFailures', r.deliveryFailures),
    spam_reports: uint64('spamReports', r.spamReports),
    subscriber_blocks: uint64('subscriberBlocks', r.subscriberBlocks),
    late_events: uint64('lateEvents', r.lateEvents),
    version: uint64('version', r.version),
  };
}

export function senderMinuteFromRow(row: StoredRow): SenderMinute {
  return {
    sender: readString(row, 'sender'),
    senderKind: readString(row, 'sender_kind') as AddressKind,
    campaignId: orNull(readString(row, 'campaign_id')),
    minute: readTimeMs(row, 'minute'),
    messages: readNumber(row, 'messages'),
    distinctRecipients: readNumber(row, 'distinct_recipients'),
    urlMessages: readNumber(row, 'url_messages'),
    deliveryFailures: readNumber(row, 'delivery_failures'),
    spamReports: readNumber(row, 'spam_reports'),
    subscriberBlocks: readNumber(row, 'subscriber_blocks'),
    lateEvents: readNumber(row, 'late_events'),
    version: readNumber(row, 'version'),
  };
}

// ---------------------------------------------------------------------------------------------
// Reasons: a Nested column of decisions and content_decisions, one array per member

const REASON_COLUMNS: readonly ColumnSpec[] = [
  { name: 'reasons.code', type: 'Array(String)' },
  { name: 'reasons.feature', type: 'Array(String)' },
  { name: 'reasons.time_window', type: 'Array(String)' },
  { name: 'reasons.observed', type: 'Array(Float64)' },
  { name: 'reasons.threshold', type: 'Array(Float64)' },
];

function reasonColumns(reasons: readonly Reason[]): Row {
  return {
    'reasons.code': reasons.map((x) => x.code),
    'reasons.feature': reasons.map((x) => x.feature ?? ''),
    'reasons.time_window': reasons.map((x) => x.window ?? ''),
    'reasons.observed': reasons.map((x, i) =>
      x.observed === null ? 0 : float64(`reasons[${i}].observed`, x.observed),
    ),
    'reasons.threshold': reasons.map((x, i) =>
      x.threshold === null ? 0 : float64(`reasons[${i}].threshold`, x.threshold),
    ),
  };
}

function reasonsFromRow(row: StoredRow): Reason[] {
  const codes = readStrings(row, 'reasons.code');
  const features = readStrings(row, 'reasons.feature');
  const windows = readStrings(row, 'reasons.time_window');
  const observed = readNumbers(row, 'reasons.observed');
  const thresholds = readNumbers(row, 'reasons.threshold');
  return codes.map((code, i) => ({
    code,
    feature: orNull(features[i] ?? ''),
    window: orNull(windows[i] ?? ''),
    observed: observed[i] ?? null,
    threshold: thresholds[i] ?? null,
  }));
}

// ---------------------------------------------------------------------------------------------
// decisions

export const DECISION_COLUMNS: readonly ColumnSpec[] = [
  { name: 'decision_id', type: 'String' },
  { name: 'sender', type: 'String' },
  { name: 'action', type: 'String' },
  { name: 'throttle_rate_per_minute', type: 'UInt32' },
  { name: 'score', type: 'Float64' },
  ...REASON_COLUMNS,
  { name: 'policy_version', type: 'String' },
  { name: 'shadow', type: 'UInt8' },
  { name: 'override_id', type: 'String' },
  { name: 'based_on_event_time', type: 'DateTime' },
  { name: 'based_on_event_ms', type: 'UInt64' },
  { name: 'decided_at', type: 'DateTime' },
  { name: 'expires_at', type: 'DateTime' },
  { name: 'policy_action', type: 'String' },
  { name: 'previous_action', type: 'String' },
  { name: 'decision_trigger', type: 'String' },
  { name: 'published', type: 'UInt8' },
  { name: 'throttle_rate_per_hour', type: 'Nullable(UInt32)' },
  { name: 'throttle_scope', type: 'String' },
  { name: 'decided_at_ms', type: 'UInt64' },
];

export function decisionRow(r: Decision): Row {
  return {
    decision_id: r.decisionId,
    sender: r.sender,
    action: r.action,
    throttle_rate_per_minute:
      r.throttleRatePerMinute === null ? 0 : uint32('throttleRatePerMinute', r.throttleRatePerMinute),
    score: float64('score', r.score),
    ...reasonColumns(r.reasons),
    policy_version: r.policyVersion,
    shadow: r.shadow ? 1 : 0,
    override_id: r.overrideId ?? '',
    based_on_event_time: seconds('basedOnEventTime', r.basedOnEventTime),
    based_on_event_ms: r.basedOnEventTime,
    decided_at: seconds('decidedAt', r.decidedAt),
    expires_at: r.expiresAt === null ? 0 : seconds('expiresAt', r.expiresAt),
    policy_action: r.policyAction ?? '',
    previous_action: r.previousAction ?? '',
    decision_trigger: r.trigger,
    published: r.published ? 1 : 0,
    throttle_rate_per_hour:
      r.throttleRatePerHour === null ? null : uint32('throttleRatePerHour', r.throttleRatePerHour),
    throttle_scope: r.throttleScope,
    decided_at_ms: r.decidedAt,
  };
}

export function decisionFromRow(row: StoredRow): Decision {
  const action = readString(row, 'action') as Action;
  const expiresAt = readTimeMs(row, 'expires_at');
  // A row inserted without the columns of migration 0006 (a sink of an earlier release) holds
  // their defaults on current ClickHouse, but '' and 0 on 18.16, which fills a field JSONEachRow
  // omits with its type's default: both read as the defaults.
  const decidedAtMs = readNumber(row, 'decided_at_ms');
  return {
    decisionId: readString(row, 'decision_id'),
    sender: readString(row, 'sender'),
    action,
    throttleRatePerMinute: action === 'THROTTLE' ? readNumber(row, 'throttle_rate_per_minute') : null,
    score: readNumber(row, 'score'),
    reasons: reasonsFromRow(row),
    policyVersion: readString(row, 'policy_version'),
    overrideId: orNull(readString(row, 'override_id')),
    basedOnEventTime: readNumber(row, 'based_on_event_ms'),
    decidedAt: decidedAtMs === 0 ? readTimeMs(row, 'decided_at') : decidedAtMs,
    expiresAt: expiresAt === 0 ? null : expiresAt,
    policyAction: orNull(readString(row, 'policy_action')) as Action | null,
    previousAction: orNull(readString(row, 'previous_action')) as Action | null,
    trigger: readString(row, 'decision_trigger') as DecisionTrigger,
    shadow: readNumber(row, 'shadow') === 1,
    published: readNumber(row, 'published') === 1,
    throttleRatePerHour: readNullableNumber(row, 'throttle_rate_per_hour'),
    throttleScope: (orNull(readString(row, 'throttle_scope')) ?? 'ALL_RECIPIENTS') as ThrottleScope,
  };
}

// ---------------------------------------------------------------------------------------------
// content_decisions: every record of sms.content-decisions

export const CONTENT_DECISION_COLUMNS: readonly ColumnSpec[] = [
  { name: 'decision_id', type: 'String' },
  { name: 'cluster_id', type: 'String' },
  { name: 'action', type: 'String' },
  { name: 'url_domains', type: 'Array(String)' },
  { name: 'callback_numbers', type: 'Array(String)' },
  { name: 'score', type: 'Float64' },
  ...REASON_COLUMNS,
  { name: 'policy_version', type: 'String' },
  { name: 'override_id', type: 'String' },
  { name: 'campaign_ids', type: 'Array(String)' },
  { name: 'distinct_senders', type: 'UInt64' },
  { name: 'distinct_recipients', type: 'UInt64' },
  { name: 'based_on_event_time', type: 'DateTime' },
  { name: 'based_on_event_ms', type: 'UInt64' },
  { name: 'decided_at', type: 'DateTime' },
  { name: 'decided_at_ms', type: 'UInt64' },
  { name: 'expires_at', type: 'DateTime' },
  { name: 'expires_at_ms', type: 'UInt64' },
  { name: 'previous_action', type: 'String' },
  { name: 'decision_trigger', type: 'String' },
];

export function contentDecisionRow(r: ContentDecision): Row {
  return {
    decision_id: r.decisionId,
    cluster_id: r.clusterId,
    action: r.action,
    url_domains: r.urlDomains,
    callback_numbers: r.callbackNumbers,
    score: float64('score', r.score),
    ...reasonColumns(r.reasons),
    policy_version: r.policyVersion,
    override_id: r.overrideId ?? '',
    campaign_ids: r.campaignIds,
    distinct_senders: uint64('distinctSenders', r.distinctSenders),
    distinct_recipients: uint64('distinctRecipients', r.distinctRecipients),
    based_on_event_time: seconds('basedOnEventTime', r.basedOnEventTime),
    based_on_event_ms: r.basedOnEventTime,
    decided_at: seconds('decidedAt', r.decidedAt),
    decided_at_ms: r.decidedAt,
    expires_at: r.expiresAt === null ? 0 : seconds('expiresAt', r.expiresAt),
    expires_at_ms: r.expiresAt ?? 0,
    previous_action: r.previousAction ?? '',
    decision_trigger: r.trigger,
  };
}

export function contentDecisionFromRow(row: StoredRow): ContentDecision {
  const expiresAt = readNumber(row, 'expires_at_ms');
  return {
    decisionId: readString(row, 'decision_id'),
    clusterId: readString(row, 'cluster_id'),
    action: readString(row, 'action') as ContentAction,
    urlDomains: readStrings(row, 'url_domains'),
    callbackNumbers: readStrings(row, 'callback_numbers'),
    score: readNumber(row, 'score'),
    reasons: reasonsFromRow(row),
    policyVersion: readString(row, 'policy_version'),
    overrideId: orNull(readString(row, 'override_id')),
    campaignIds: readStrings(row, 'campaign_ids'),
    distinctSenders: readNumber(row, 'distinct_senders'),
    distinctRecipients: readNumber(row, 'distinct_recipients'),
    basedOnEventTime: readNumber(row, 'based_on_event_ms'),
    decidedAt: readNumber(row, 'decided_at_ms'),
    expiresAt: expiresAt === 0 ? null : expiresAt,
    previousAction: orNull(readString(row, 'previous_action')) as ContentAction | null,
    trigger: readString(row, 'decision_trigger') as ContentDecisionTrigger,
  };
}

// ---------------------------------------------------------------------------------------------
// policy_overrides: every record of sms.policy-overrides, tombstones included

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

export const DEAD_LETTER_COLUMNS: readonly ColumnSpec[] = [
  { name: 'failed_at', type: 'DateTime' },
  { name: 'service', type: 'String' },
  { name: 'original_topic', type: 'String' },
  { name: 'original_partition', type: 'UInt32' },
  { name: 'original_offset', type: 'UInt64' },
  { name: 'key_base64', type: 'String' },
  { name: 'value_bytes', type: 'UInt64' },
  { name: 'value_sha256', type: 'String' },
  { name: 'error_class', type: 'String' },
  { name: 'error_code', type: 'String' },
  { name: 'error_message', type: 'String' },
];

/** The row of a DeadLetter: the value only as its size and hex SHA-256 ('' when there was none). */
export function deadLetterRow(r: DeadLetter): Row {
  return {
    failed_at: seconds('failedAt', r.failedAt),
    service: r.service,
    original_topic: r.originalTopic,
    original_partition: uint32('originalPartition', r.originalPartition),
    original_offset: uint64('originalOffset', r.originalOffset),
    key_base64: r.key ? Buffer.from(r.key).toString('base64') : '',
    value_bytes: r.value ? r.value.length : 0,
    value_sha256: r.value ? createHash('sha256').update(r.value).digest('hex') : '',
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
