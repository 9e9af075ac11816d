/**
 * Reads what spamgate did during a simulator run from ClickHouse: enforced (non-shadow) decisions
 * per sender, messages per sender and minute, the busiest senders and dead letters. Every query
 * reads with FINAL, so it is right before merges collapse replayed or retried rows, and uses
 * only what ClickHouse 18.16 and current versions share.
 *
 * Time is event time throughout: decisions are placed by `based_on_event_ms` (the event time of
 * the evidence), which is comparable with the labels' first-message times whatever the pace of
 * the run; `decided_at_ms` (wall clock) is kept beside it for the decision lag.
 * Within one event time, decided_at_ms orders the decisions (an EXPIRY shares its evidence with the
 * BLOCK it lifts).
 */
import { type ClickHouseClient, SqlFragment, sqlLiteral, sqlTable, topicName } from '@spamgate/core';
import type { Labels } from '../labels.ts';
import {
  ACTIONS,
  type Action,
  actionOf,
  type DecisionChange,
  type FirstAction,
  type Observed,
  type Offender,
  type SenderObservation,
  type SenderTimeline,
} from './model.ts';

export interface CollectOptions {
  readonly clickhouse: ClickHouseClient;
  /** Database holding spamgate's tables. */
  readonly database: string;
  readonly labels: Labels;
  /** Busiest senders in the top offenders table; default 10. */
  readonly offenders?: number;
  /** Busiest senders charted, besides the busiest sender of each scenario; default 6. */
  readonly chartSenders?: number;
}

/** Decisions based on evidence up to this long after the run's last event are read too. */
const DECISION_GRACE_MS = 3_600_000;
const TOP_REASONS = 3;

type Row = Record<string, unknown>;

async function rows(client: ClickHouseClient, query: string): Promise<Row[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<Row>();
}

const num = (v: unknown): number => Number(v ?? 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

/** `toDateTime(<seconds>)`: an event-time bound (DateTime columns are whole seconds, UTC). */
const at = (ms: number, round: (x: number) => number = Math.floor): SqlFragment =>
  new SqlFragment(`toDateTime(${round(ms / 1000)})`);

/** `('a', 'b')` for IN: 18.16 takes a tuple there, not an array literal. Never empty (callers check). */
function senderList(senders: readonly string[]): string {
  return `(${senders.map((s) => sqlLiteral(s)).join(', ')})`;
}

/**
 * When a decision was made, ms: decided_at_ms, or decided_at for a row an earlier release's sink
 * wrote without it during an upgrade (18.16 stores 0 for the omitted column).
 */
const DECIDED_MS = 'if(decided_at_ms = 0, toUInt64(decided_at) * 1000, decided_at_ms)';

/** Aggregates of each sender's enforced evaluations (one row per sender). */
export function decisionStatsQuery(database: string, fromMs: number, toMs: number): string {
  const acted = `action IN ('THROTTLE', 'BLOCK')`;
  return `SELECT
    sender,
    count() AS evaluations,
    argMaxIf(action, (based_on_event_ms, ${DECIDED_MS}), published = 1) AS final_action,
    max(multiIf(action = 'BLOCK', 3, action = 'THROTTLE', 2, action = 'ALLOW', 0, 1)) AS strongest_rank,
    countIf(${acted}) AS acted,
    minIf(based_on_event_ms, ${acted}) AS first_acted_ms,
    argMinIf(${DECIDED_MS}, based_on_event_ms, ${acted}) AS first_acted_decided,
    countIf(action = 'BLOCK') AS blocks,
    minIf(based_on_event_ms, action = 'BLOCK') AS first_block_ms,
    argMinIf(${DECIDED_MS}, based_on_event_ms, action = 'BLOCK') AS first_block_decided
FROM ${sqlTable(database, 'decisions').text} FINAL
WHERE shadow = 0
  AND based_on_event_time >= ${at(fromMs)} AND based_on_event_time <= ${at(toMs, Math.ceil)}
GROUP BY sender`;
}

/** Messages per sender over the run. */
export function messageTotalsQuery(database: string, fromMs: number, toMs: number): string {
  return `SELECT sender, sum(messages) AS messages, sum(url_messages) AS url_messages, sum(spam_reports) AS spam_reports
FROM ${sqlTable(database, 'sender_minute').text} FINAL
WHERE minute >= ${at(fromMs)} AND minute <= ${at(toMs)}
GROUP BY sender`;
}

/** A sender's action changes from its published decisions, in order (starting from ALLOW). */
export function changesOf(
  published: readonly {
    action: Action;
    eventMs: number;
    decidedAtMs: number;
    trigger: string;
    reasons: readonly string[];
  }[],
): DecisionChange[] {
  const sorted = [...published].sort((a, b) => a.eventMs - b.eventMs || a.decidedAtMs - b.decidedAtMs);
  const out: DecisionChange[] = [];
  let inForce: Action = 'ALLOW';
  for (const d of sorted) {
    if (d.action === inForce) continue; // a re-issued BLOCK or a new THROTTLE rate: no change of action
    out.push({
      atMs: d.eventMs,
      decidedAtMs: d.decidedAtMs,
      from: inForce,
      to: d.action,
      trigger: d.trigger,
      reasons: d.reasons,
    });
    inForce = d.action;
  }
  return out;
}

/** The `n` busiest of `among` (every sender by default) by messages, then by address; senders without messages are left out. */
export function busiestSenders(
  messages: ReadonlyMap<string, number>,
  n: number,
  among: Iterable<string> = messages.keys(),
): string[] {
  return [...among]
    .filter((s) => (messages.get(s) ?? 0) > 0)
    .sort((a, b) => (messages.get(b) ?? 0) - (messages.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, n);
}

/** The senders to chart: the `top` busiest, and the busiest sender of each scenario; busiest first. */
export function chartSendersOf(labels: Labels, messages: ReadonlyMap<string, number>, top: number): string[] {
  const chosen = new Set(busiestSenders(messages, top));
  for (const s of labels.scenarios) {
    const first = busiestSenders(
      messages,
      1,
      s.senders.map((l) => l.sender),
    )[0];
    if (first !== undefined) chosen.add(first);
  }
  return busiestSenders(messages, chosen.size, chosen);
}

function firstAction(count: unknown, eventMs: unknown, decidedMs: unknown): FirstAction | null {
  return num(count) > 0 ? { eventMs: num(eventMs), decidedAtMs: num(decidedMs) } : null;
}

/** Reads the run's outcome from ClickHouse. */
export async function collect(options: CollectOptions): Promise<Observed> {
  const { clickhouse: client, database, labels } = options;
  const fromMs = Math.floor(labels.startedAt / 60_000) * 60_000;
  const toMs = labels.endedAt;
  const decisionsToMs = toMs + DECISION_GRACE_MS;

  const [stats, totals] = await Promise.all([
    rows(client, decisionStatsQuery(database, fromMs, decisionsToMs)),
    rows(client, messageTotalsQuery(database, fromMs, toMs)),
  ]);
  const volume = new Map(
    totals.map((r) => [
      str(r.sender),
      { messages: num(r.messages), urlMessages: num(r.url_messages), spamReports: num(r.spam_reports) },
    ]),
  );
  const decided = new Map(stats.map((r) => [str(r.sender), r]));
  const senders: SenderObservation[] = [...new Set([...volume.keys(), ...decided.keys()])]
    .sort()
    .map((sender) => {
      const r = decided.get(sender);
      return {
        sender,
        messages: volume.get(sender)?.messages ?? 0,
        evaluations: num(r?.evaluations),
        finalAction: r === undefined || str(r.final_action) === '' ? 'ALLOW' : actionOf(r.final_action),
        strongestAction: ACTIONS[num(r?.strongest_rank)] ?? 'ALLOW',
        firstThrottleOrBlock: r ? firstAction(r.acted, r.first_acted_ms, r.first_acted_decided) : null,
        firstBlock: r ? firstAction(r.blocks, r.first_block_ms, r.first_block_decided) : null,
      };
    });
  const bySender = new Map(senders.map((s) => [s.sender, s]));
  const messages = new Map([...volume].map(([s, v]) => [s, v.messages]));

  const offenderSenders = busiestSenders(messages, options.offenders ?? 10);
  const chartSenders = chartSendersOf(labels, messages, options.chartSenders ?? 6);
  const decisionsRange = `based_on_event_time >= ${at(fromMs)} AND based_on_event_time <= ${at(decisionsToMs, Math.ceil)}`;
  const decisions = sqlTable(database, 'decisions').text;
  const [reasonRows, seriesRows, publishedRows] = await Promise.all([
    offenderSenders.length === 0
      ? []
      : rows(
          client,
          `SELECT sender, code, count() AS evaluations
FROM
(
    SELECT sender, arrayJoin(reasons.code) AS code
    FROM ${decisions} FINAL
    WHERE shadow = 0 AND sender IN ${senderList(offenderSenders)} AND ${decisionsRange}
)
GROUP BY sender, code
ORDER BY sender, evaluations DESC, code`,
        ),
    chartSenders.length === 0
      ? []
      : rows(
          client,
          `SELECT sender, toUInt32(minute) AS minute_s, messages
FROM ${sqlTable(database, 'sender_minute').text} FINAL
WHERE sender IN ${senderList(chartSenders)} AND minute >= ${at(fromMs)} AND minute <= ${at(toMs)}
ORDER BY sender, minute_s`,
        ),
    chartSenders.length === 0
      ? []
      : rows(
          client,
          `SELECT sender, action, based_on_event_ms, ${DECIDED_MS} AS decided_ms, decision_trigger, reasons.code AS reason_codes
FROM ${decisions} FINAL
WHERE shadow = 0 AND published = 1 AND sender IN ${senderList(chartSenders)} AND ${decisionsRange}
ORDER BY sender, based_on_event_ms, decided_ms`,
        ),
  ]);

  const reasons = new Map<string, { code: string; evaluations: number }[]>();
  for (const r of reasonRows) {
    const list = reasons.get(str(r.sender)) ?? [];
    if (list.length < TOP_REASONS) list.push({ code: str(r.code), evaluations: num(r.evaluations) });
    reasons.set(str(r.sender), list);
  }
  const offenders: Offender[] = offenderSenders.map((sender) => {
    const v = volume.get(sender);
    const o = bySender.get(sender);
    return {
      sender,
      messages: v?.messages ?? 0,
      urlMessages: v?.urlMessages ?? 0,
      spamReports: v?.spamReports ?? 0,
      finalAction: o?.finalAction ?? 'ALLOW',
      strongestAction: o?.strongestAction ?? 'ALLOW',
      topReasons: reasons.get(sender) ?? [],
    };
  });

  const perMinute = new Map<string, Map<number, number>>();
  for (const r of seriesRows) {
    const m = perMinute.get(str(r.sender)) ?? new Map<number, number>();
    m.set(num(r.minute_s) * 1000, num(r.messages));
    perMinute.set(str(r.sender), m);
  }
  const published = new Map<string, Parameters<typeof changesOf>[0][number][]>();
  for (const r of publishedRows) {
    const list = published.get(str(r.sender)) ?? [];
    list.push({
      action: actionOf(r.action),
      eventMs: num(r.based_on_event_ms),
      decidedAtMs: num(r.decided_ms),
      trigger: str(r.decision_trigger),
      reasons: Array.isArray(r.reason_codes) ? r.reason_codes.map(str) : [],
    });
    published.set(str(r.sender), list);
  }
  const lastMinute = Math.floor(toMs / 60_000) * 60_000;
  const timelines: SenderTimeline[] = chartSenders.map((sender) => {
    const m = perMinute.get(sender);
    const minutes: { minuteMs: number; messages: number }[] = [];
    for (let t = fromMs; t <= lastMinute; t += 60_000)
      minutes.push({ minuteMs: t, messages: m?.get(t) ?? 0 });
    return { sender, minutes, changes: changesOf(published.get(sender) ?? []) };
  });

  return {
    fromMs,
    toMs,
    senders,
    offenders,
    timelines,
    deadLetters: await deadLetters(client, database, labels),
  };
}

async function deadLetters(
  client: ClickHouseClient,
  database: string,
  labels: Labels,
): Promise<Observed['deadLetters']> {
  const prefix = topicName(labels.topicPrefix, '');
  // Dead letters carry no event time: the run's own ones are those of its topics. substring()
  // counts bytes, as Buffer.byteLength does (startsWith is not in 18.16).
  const where =
    prefix === ''
      ? ''
      : `WHERE substring(original_topic, 1, ${Buffer.byteLength(prefix)}) = ${sqlLiteral(prefix)}`;
  const byCause = (
    await rows(
      client,
      `SELECT service, original_topic, error_code, count() AS records
FROM ${sqlTable(database, 'dead_letters').text} FINAL
${where}
GROUP BY service, original_topic, error_code
ORDER BY records DESC, service, original_topic, error_code`,
    )
  ).map((r) => ({
    service: str(r.service),
    originalTopic: str(r.original_topic),
    errorCode: str(r.error_code),
    records: num(r.records),
  }));
  return { total: byCause.reduce((sum, c) => sum + c.records, 0), byCause };
}
