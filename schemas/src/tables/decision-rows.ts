/**
 * Rows of decisions and content_decisions from Decision and ContentDecision records, and back.
 * Column rules: columns.ts.
 */
import type {
  Action,
  ContentAction,
  ContentDecision,
  ContentDecisionTrigger,
  Decision,
  DecisionTrigger,
  Reason,
  ThrottleScope,
} from '../generated/types.ts';
import {
  type ColumnSpec,
  float64,
  orNull,
  type Row,
  readNullableNumber,
  readNumber,
  readNumbers,
  readString,
  readStrings,
  readTimeMs,
  type StoredRow,
  seconds,
  uint32,
  uint64,
} from './columns.ts';

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
