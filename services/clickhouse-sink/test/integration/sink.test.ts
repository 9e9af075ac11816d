// The sink as a process against real Kafka and ClickHouse: every kind of record lands once,
// through a SIGKILL mid-stream and a restart; a malformed record goes to the dead letters while
// its neighbours land; aborted transactions never reach ClickHouse; a graceful stop commits all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ClusterFeatures,
  type ContentDecision,
  clusterFeaturesFromRows,
  clusterFeaturesQuery,
  contentDecisionFromRow,
  type Decision,
  decisionFromRow,
  type SenderFeatures,
  type StoredRow,
  senderFeaturesFromRows,
  senderFeaturesQuery,
  type TableName,
} from '@spamgate/schemas';
import { assertLagMetrics, docQueries, eventually } from '@spamgate/test';
import type { Message } from 'kafkajs';
import { SINK_SERVICE } from '../../src/sink.ts';
import { contentOverrideKey, recordFactory } from '../records.ts';
import { assertClose, literal, sumQuery, useSinkHarness } from './harness.ts';

const h = useSinkHarness();

const BASE = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const records = recordFactory(2026, BASE);
const COUNTS = {
  decisions: 3_000,
  overrides: 600,
  contentDecisions: 800,
  contentOverrides: 300,
  senderFeatures: 2_500,
  clusterFeatures: 1_500,
  minutes: 3_000,
  deadLetters: 300,
};

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const decisions = range(COUNTS.decisions).map((i) => records.decision(i));
const overrides = range(COUNTS.overrides).map((i) => records.policyOverride(i));
const contentDecisions = range(COUNTS.contentDecisions).map((i) => records.contentDecision(i));
const contentOverrides = range(COUNTS.contentOverrides).map((i) => records.contentOverride(i));
const senderFeatures = range(COUNTS.senderFeatures).map((i) => records.senderFeatures(i));
const clusterFeatures = range(COUNTS.clusterFeatures).map((i) => records.clusterFeatures(i));
const minutes = range(COUNTS.minutes).map((i) => records.senderMinute(i));
const deadLetters = range(COUNTS.deadLetters).map((i) => records.deadLetter(i));

/** Every kind's messages, in two halves: produced before and after the kill. */
function halves(): { topic: string; messages: Message[] }[][] {
  const t = h.topics;
  const all = [
    { topic: t.decisionEvaluations, messages: h.messages('Decision', decisions, (d) => d.sender) },
    {
      topic: t.policyOverrides,
      messages: [
        ...h.messages('PolicyOverride', overrides, (o) => o.target),
        // Removals of the first 100: tombstones, recorded with removed = 1.
        ...overrides.slice(0, 100).map((o) => ({ key: o.target, value: null })),
      ],
    },
    {
      topic: t.contentDecisions,
      messages: h.messages('ContentDecision', contentDecisions, (d) => d.clusterId),
    },
    {
      topic: t.contentOverrides,
      messages: [
        ...h.messages('ContentOverride', contentOverrides, contentOverrideKey),
        // Removals of the first 50, with who removed them and why.
        ...contentOverrides.slice(0, 50).map((o) => ({
          key: contentOverrideKey(o),
          value: null,
          headers: { 'spamgate-author': 'noc-ann', 'spamgate-reason': `appeal ${o.overrideId}` },
        })),
      ],
    },
    { topic: t.senderFeatures, messages: h.messages('SenderFeatures', senderFeatures, (f) => f.sender) },
    {
      topic: t.clusterFeatures,
      messages: h.messages('ClusterFeatures', clusterFeatures, (f) => f.clusterId),
    },
    { topic: t.senderMinutes, messages: h.messages('SenderMinute', minutes, (m) => m.sender) },
    { topic: t.deadLetters, messages: h.messages('DeadLetter', deadLetters, (d) => d.originalTopic) },
  ];
  return [
    all.map((x) => ({ topic: x.topic, messages: x.messages.slice(0, Math.floor(x.messages.length / 2)) })),
    all.map((x) => ({ topic: x.topic, messages: x.messages.slice(Math.floor(x.messages.length / 2)) })),
  ];
}

const EXPECTED_ROWS: Record<TableName, number> = {
  decisions: COUNTS.decisions,
  policy_overrides: COUNTS.overrides + 100,
  content_decisions: COUNTS.contentDecisions,
  content_overrides: COUNTS.contentOverrides + 50,
  sender_features: COUNTS.senderFeatures * 4,
  cluster_features: COUNTS.clusterFeatures * 3,
  // One minute record in the stream is malformed: it is a dead letter instead of a row.
  sender_minute: COUNTS.minutes,
  // The 300 produced, plus the sink's own for the malformed minute; the bad record on the
  // dead-letter topic is skipped.
  dead_letters: COUNTS.deadLetters + 1,
};

async function totalRows(): Promise<number> {
  let n = 0;
  for (const table of Object.keys(EXPECTED_ROWS) as TableName[]) n += await h.count(table);
  return n;
}

async function sum(table: TableName, expression: string): Promise<number> {
  const [row] = await h.rows<{ v: string | number }>(sumQuery(h.db.database, table, expression));
  return Number(row?.v);
}

test('every record lands once through a hard kill and a restart, and a malformed one is dead-lettered', async () => {
  const [first, second] = halves();
  const env = { SPAMGATE_SINK_BATCH_ROWS: '400', SPAMGATE_SINK_BATCH_AGE: '200ms' };
  const started = Date.now();

  // Phase 1 while the first sink reads it, killed once part of it is in ClickHouse, before the
  // rest is produced.
  let sink = h.startSink(env);
  await sink.waitForLog((l) => l.msg === 'partitions assigned', 60_000);
  let producing = true;
  const phase1 = (async () => {
    for (const { topic, messages } of first!) await h.produce(topic, messages);
    producing = false;
  })();
  await eventually(async () => ((await totalRows()) > 1_000 ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 20,
    what: 'the first sink to write some rows',
  });
  sink.child.kill('SIGKILL');
  await sink.exited;
  const atKill = await totalRows();
  const killedMidStream = producing;
  await phase1;
  const produced = first!.reduce((n, x) => n + x.messages.length, 0);

  // Phase 2 while no sink runs: the rest, a transaction that aborts, one malformed record
  // among good ones, and one on the dead-letter topic itself.
  for (const { topic, messages } of second!) await h.produce(topic, messages);
  await h.produce(
    h.topics.decisionEvaluations,
    h.messages('Decision', [records.decision(99_999)], (d) => d.sender),
    {
      abort: true,
    },
  );
  const good = [records.senderMinute(COUNTS.minutes), records.senderMinute(COUNTS.minutes + 1)];
  const malformed = { key: good[0]!.sender, value: Buffer.from('definitely not avro') };
  // The record before the malformed one is good[0]; its twin good[1] comes after.
  await h.produce(
    h.topics.senderMinutes,
    [...h.messages('SenderMinute', [good[0]!], (m) => m.sender), malformed],
    {
      perTransaction: 2,
    },
  );
  await h.produce(
    h.topics.senderMinutes,
    h.messages('SenderMinute', [good[1]!], (m) => m.sender),
  );
  await h.produce(h.topics.deadLetters, [{ key: 'x', value: Buffer.from('not a dead letter either') }]);

  sink = h.startSink(env);
  const expected = { ...EXPECTED_ROWS, sender_minute: EXPECTED_ROWS.sender_minute + 2 };
  for (const [table, rows] of Object.entries(expected) as [TableName, number][]) {
    await h.waitForRows(table, rows, sink, 90_000);
  }
  const seconds = (Date.now() - started) / 1000;
  const stored = await h.count('sender_features', { final: false });
  process.stderr.write(
    `[sink test] ${produced} records in phase 1, ${atKill} rows written before the kill ` +
      `(${killedMidStream ? 'while phase 1 was still produced' : 'after phase 1 was produced'}); all ` +
      `${Object.values(expected).reduce((a, b) => a + b, 0)} rows in ${seconds.toFixed(1)} s; ` +
      `sender_features holds ${stored} rows before merges for ${expected.sender_features}\n`,
  );

  // Sums over the collapsed tables equal the sums over what was produced.
  const allMinutes = [...minutes, ...good];
  assert.equal(
    await sum('sender_minute', 'sum(messages)'),
    allMinutes.reduce((s, m) => s + m.messages, 0),
  );
  assert.equal(
    await sum('sender_minute', 'sum(version)'),
    allMinutes.reduce((s, m) => s + m.version, 0),
  );
  assert.equal(
    await sum('decisions', 'sum(throttle_rate_per_minute)'),
    decisions.reduce((s, d) => s + (d.throttleRatePerMinute ?? 0), 0),
  );
  assert.equal(await sum('decisions', 'sum(published)'), decisions.filter((d) => d.published).length);
  assert.equal(
    await sum('decisions', 'sum(length(reasons.code))'),
    decisions.reduce((s, d) => s + d.reasons.length, 0),
  );
  assert.equal(await sum('policy_overrides', 'sum(removed)'), 100);
  assert.equal(await sum('content_overrides', 'sum(removed)'), 50);
  assert.equal(
    await sum('content_overrides', "countIf(removed = 1 AND author = 'noc-ann' AND reason LIKE 'appeal %')"),
    50,
  );
  assert.equal(
    await sum('decisions', 'sum(ifNull(throttle_rate_per_hour, 0))'),
    decisions.reduce((s, d) => s + (d.throttleRatePerHour ?? 0), 0),
  );
  assert.equal(
    await sum('cluster_features', 'sum(replies)'),
    clusterFeatures.reduce((s, c) => s + c.windows.reduce((t, w) => t + w.replies, 0), 0),
  );
  assert.equal(
    await sum('cluster_features', 'sum(messages)'),
    clusterFeatures.reduce((s, c) => s + c.windows.reduce((t, w) => t + w.messages, 0), 0),
  );
  assert.equal(
    await sum('sender_features', 'sum(peak10s)'),
    senderFeatures.reduce((s, f) => s + f.windows.reduce((t, w) => t + w.peak10s, 0), 0),
  );
  assert.equal(
    await sum('dead_letters', 'sum(value_bytes)'),
    deadLetters.reduce((s, d) => s + d.valueBytes, 0) + malformed.value.length,
  );

  // The aborted decision never arrived; the malformed minute is a dead letter of the sink.
  assert.equal(
    await h.count('decisions', { where: `decision_id = ${literal(records.decision(99_999).decisionId)}` }),
    0,
  );
  const letters = await h.rows<{
    service: string;
    original_topic: string;
    error_code: string;
    value_bytes: string;
  }>(
    `SELECT service, original_topic, error_code, value_bytes FROM ${h.db.database}.dead_letters FINAL WHERE service = ${literal(SINK_SERVICE)}`,
  );
  assert.deepEqual(letters, [
    {
      service: SINK_SERVICE,
      original_topic: h.topics.senderMinutes,
      error_code: 'BAD_MARKER',
      value_bytes: String(malformed.value.length),
    },
  ]);
  for (const m of good) {
    assert.equal(
      await h.count('sender_minute', { where: `sender = ${literal(m.sender)} AND messages = ${m.messages}` }),
      1,
    );
  }
  assert.ok(
    sink.logs.some(
      (l) => l.msg === 'malformed record on the dead-letter topic skipped (never dead-lettered again)',
    ),
  );

  // Records come back from their rows, every field.
  const window = { fromMs: BASE - 60_000, toMs: BASE + 86_400_000 };
  const features = senderFeaturesFromRows(await h.rows(senderFeaturesQuery(h.db.database, window)));
  const order = (a: SenderFeatures, b: SenderFeatures) => a.asOf - b.asOf || a.sender.localeCompare(b.sender);
  assertClose(features, [...senderFeatures].sort(order));
  const clusters = clusterFeaturesFromRows(await h.rows(clusterFeaturesQuery(h.db.database, window)));
  const byCluster = (a: ClusterFeatures, b: ClusterFeatures) =>
    a.asOf - b.asOf || a.clusterId.localeCompare(b.clusterId);
  assertClose(clusters, [...clusterFeatures].sort(byCluster));
  const byId = <T extends { decisionId: string }>(a: T, b: T) => (a.decisionId < b.decisionId ? -1 : 1);
  const storedDecisions = await h.rows<StoredRow>(
    `SELECT * FROM ${h.db.database}.decisions FINAL ORDER BY decision_id`,
  );
  assertClose(storedDecisions.map(decisionFromRow), [...decisions].sort(byId<Decision>));
  const storedContent = await h.rows<StoredRow>(
    `SELECT * FROM ${h.db.database}.content_decisions FINAL ORDER BY decision_id`,
  );
  assertClose(storedContent.map(contentDecisionFromRow), [...contentDecisions].sort(byId<ContentDecision>));

  // Every query docs/queries.md gives a data team runs on what the sink wrote, and the ones over
  // decisions, overrides and dead letters find rows (six here; "today" ones not just after midnight).
  const answered: string[] = [];
  for (const [id, query] of docQueries()) {
    const rs = await h.db.client.query({ query, format: 'JSONEachRow' });
    if ((await rs.json()).length > 0) answered.push(id);
  }
  assert.ok(answered.length >= 4, `queries with rows: ${answered.join(', ')}`);

  // The ops endpoint: ready, and the rows written per table in the metrics.
  const listening = await sink.waitForLog((l) => String(l.msg).startsWith('ops endpoint listening'));
  const ops = `http://127.0.0.1:${listening.port}`;
  const ready = await fetch(`${ops}/readyz`);
  assert.equal(ready.status, 200, await ready.text());
  await assertLagMetrics(sink, h.groupId, 'spamgate_sink_event_time_lag_seconds');
  const metrics = await (await fetch(`${ops}/metrics`)).text();
  assert.match(metrics, /spamgate_sink_rows_written_total\{[^}]*table="sender_features"[^}]*\} \d+/);
  assert.match(metrics, /spamgate_sink_paused\{[^}]*table="decisions"[^}]*\} 0/);
  assert.match(metrics, /spamgate_sink_dead_letters_total\{[^}]*code="BAD_MARKER"[^}]*\} 1/);

  // A graceful stop commits everything written, up to the end of every topic (markers included).
  sink.child.kill('SIGTERM');
  assert.deepEqual(await sink.exited, { code: 0, signal: null });
  for (const topic of Object.values(h.topics)) {
    assert.equal(await h.committed(topic), await h.endOffsets(topic), `${topic} committed to its end`);
  }
});
