/**
 * Rows of sender_features, cluster_features and sender_minute from SenderFeatures, ClusterFeatures
 * and SenderMinute records, and back; and the queries that read features for a time range (the
 * report, what-if). Column rules: columns.ts.
 */
import { sql, sqlLiteral, sqlTable } from '@spamgate/core';
import type {
  AddressKind,
  ClusterFeatures,
  ClusterWindowFeatures,
  SenderFeatures,
  SenderMinute,
  WindowFeatures,
} from '../generated/types.ts';
import {
  type ColumnSpec,
  float64,
  MAX_UINT32,
  orNull,
  type Row,
  RowMappingError,
  readNumber,
  readNumbers,
  readString,
  readStrings,
  readTimeMs,
  type StoredRow,
  seconds,
  selectList,
  uint64,
} from './columns.ts';

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
