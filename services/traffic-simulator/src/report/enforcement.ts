/**
 * Enforcement, the measure that matters: every message of the run's ledger replayed through the
 * reference firewall (@spamgate/core firewall) against the decisions in force at its time, as
 * ClickHouse recorded them, then counted per scenario: spam delivered, legitimate messages
 * stopped, and by what. docs/report.md, "Enforcement", defines every figure.
 *
 * Time: in a run paced by the wall clock (the demo) a message meets the firewall when it was
 * sent and a decision is in force from when it was published (decided_at_ms), so pipeline latency
 * counts. A run sent as fast as possible has no such timing; it is replayed in event time, each
 * decision in force from the evidence it rests on, and says so.
 */
import {
  type ClickHouseClient,
  type ContentDecisionView,
  createEnforcementTally,
  type EnforcementCounts,
  replayEnforcement,
  type SenderDecisionView,
  sqlTable,
  type ThrottleBinding,
  type Timed,
} from '@spamgate/core';
import type { Labels } from '../labels.ts';
import type { LedgerEntry } from '../ledger.ts';

export type EnforcementTime = 'wall-clock' | 'event-time';

export interface ScenarioEnforcement extends EnforcementCounts {
  readonly id: string;
  readonly spam: boolean;
  /** delivered / messages (null without messages). */
  readonly deliveredShare: number | null;
}

export interface ContentDecisionTiming {
  readonly clusterId: string;
  readonly action: string;
  /** decided_at_ms - based_on_event_ms: from the evidence crossing the threshold to the decision (wall-clock runs). */
  readonly lagMs: number;
}

export interface Enforcement {
  readonly time: EnforcementTime;
  /** Messages in the ledger, and whether they carried content keys (the run knew the hash key). */
  readonly messages: number;
  readonly contentKeys: boolean;
  readonly spam: EnforcementCounts;
  readonly legitimate: EnforcementCounts;
  readonly spamDeliveredShare: number | null;
  readonly legitimateStoppedShare: number | null;
  readonly scenarios: readonly ScenarioEnforcement[];
  /** THROTTLEs in force for at least one of their sender's messages, and those that stopped none. */
  readonly throttles: number;
  readonly nonBinding: readonly ThrottleBinding[];
  readonly contentDecisions: readonly ContentDecisionTiming[];
  readonly senderDecisions: number;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

async function rows(client: ClickHouseClient, query: string): Promise<Row[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<Row>();
}

/** Published, enforced sender decisions, oldest first. */
export function publishedDecisionsQuery(database: string): string {
  return `SELECT decision_id, sender, action, throttle_rate_per_minute, throttle_rate_per_hour, throttle_scope,
    toUInt32(expires_at) AS expires_s, decided_at_ms, based_on_event_ms
FROM ${sqlTable(database, 'decisions').text} FINAL
WHERE shadow = 0 AND published = 1
ORDER BY decided_at_ms, based_on_event_ms, decision_id`;
}

/** Every content decision, oldest first. */
export function contentDecisionsQuery(database: string): string {
  return `SELECT decision_id, cluster_id, action, url_domains, callback_numbers, override_id, expires_at_ms,
    decided_at_ms, based_on_event_ms
FROM ${sqlTable(database, 'content_decisions').text} FINAL
ORDER BY decided_at_ms, based_on_event_ms, decision_id`;
}

/** A run paced by the wall clock sends each message within moments of its event time. */
export function timeOf(ledger: readonly LedgerEntry[]): EnforcementTime {
  if (ledger.length === 0) return 'wall-clock';
  const lags = ledger.map((m) => m.w - m.t).sort((a, b) => a - b);
  const median = lags[Math.floor(lags.length / 2)]!;
  return Math.abs(median) <= 10_000 ? 'wall-clock' : 'event-time';
}

export function senderDecisionOf(r: Row): SenderDecisionView {
  const expires = num(r.expires_s);
  const perMinute = num(r.throttle_rate_per_minute);
  const perHour = r.throttle_rate_per_hour;
  return {
    decisionId: str(r.decision_id),
    sender: str(r.sender),
    action: str(r.action),
    // A THROTTLE without a per-minute limit is stored as 0: no limit (limits start at 1).
    throttleRatePerMinute: perMinute > 0 ? perMinute : null,
    throttleRatePerHour: perHour === null || perHour === undefined ? null : num(perHour),
    throttleScope: str(r.throttle_scope) || 'ALL_RECIPIENTS',
    expiresAt: expires > 0 ? expires * 1000 : null,
  };
}

export function contentDecisionOf(r: Row): ContentDecisionView {
  const expires = num(r.expires_at_ms);
  return {
    decisionId: str(r.decision_id),
    clusterId: str(r.cluster_id),
    action: str(r.action),
    urlDomains: Array.isArray(r.url_domains) ? r.url_domains.map(str) : [],
    callbackNumbers: Array.isArray(r.callback_numbers) ? r.callback_numbers.map(str) : [],
    expiresAt: expires > 0 ? expires : null,
    overrideId: str(r.override_id) || null,
  };
}

/** Replays the ledger against the decisions ClickHouse holds for the run. */
export async function collectEnforcement(options: {
  readonly clickhouse: ClickHouseClient;
  readonly database: string;
  readonly labels: Labels;
  readonly ledger: readonly LedgerEntry[];
}): Promise<Enforcement> {
  const [senderRows, contentRows] = await Promise.all([
    rows(options.clickhouse, publishedDecisionsQuery(options.database)),
    rows(options.clickhouse, contentDecisionsQuery(options.database)),
  ]);
  return enforcementOf(options.labels, options.ledger, senderRows, contentRows);
}

/** The replay and its figures (pure): `senderRows` and `contentRows` as the queries above return them. */
export function enforcementOf(
  labels: Labels,
  ledger: readonly LedgerEntry[],
  senderRows: readonly Row[],
  contentRows: readonly Row[],
): Enforcement {
  const time = timeOf(ledger);
  const when = (r: Row) => (time === 'wall-clock' ? num(r.decided_at_ms) : num(r.based_on_event_ms));
  const senderDecisions: Timed<SenderDecisionView>[] = senderRows.map((r) => ({
    inForceAt: when(r),
    decision: senderDecisionOf(r),
  }));
  const contentDecisions: Timed<ContentDecisionView>[] = contentRows.map((r) => ({
    inForceAt: when(r),
    decision: contentDecisionOf(r),
  }));
  const spam = new Map(labels.scenarios.map((s) => [s.id, s.spam]));
  const messages = [...ledger]
    .map((m) => ({
      time: time === 'wall-clock' ? m.w : m.t,
      sender: m.sender,
      recipient: m.recipient,
      content: m.content,
      label: m.label,
    }))
    .sort((a, b) => a.time - b.time);
  const tally = createEnforcementTally();
  for (const { message, verdict } of replayEnforcement({ messages, senderDecisions, contentDecisions }))
    tally.record(
      { sender: message.sender, group: message.label, spam: spam.get(message.label) ?? false },
      verdict,
    );
  const f = tally.figures();
  const scenarios: ScenarioEnforcement[] = [...f.groups]
    .map(([id, c]) => ({ id, ...c, deliveredShare: c.messages === 0 ? null : c.delivered / c.messages }))
    .sort(
      (a, b) =>
        labels.scenarios.findIndex((s) => s.id === a.id) - labels.scenarios.findIndex((s) => s.id === b.id),
    );
  return {
    time,
    messages: ledger.length,
    contentKeys: ledger.some((m) => m.content.clusterId !== null),
    spam: f.spam,
    legitimate: f.legitimate,
    spamDeliveredShare: f.spamDeliveredShare,
    legitimateStoppedShare: f.legitimateStoppedShare,
    scenarios,
    throttles: f.throttles.length,
    nonBinding: f.throttles.filter((t) => t.stopped === 0),
    contentDecisions: contentRows.map((r) => ({
      clusterId: str(r.cluster_id),
      action: str(r.action),
      lagMs: num(r.decided_at_ms) - num(r.based_on_event_ms),
    })),
    senderDecisions: senderRows.length,
  };
}
