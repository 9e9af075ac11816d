// 1,000,000 records of every kind the sink reads, through one in-process sink with its default
// settings against the real broker and ClickHouse: each table's rows, counted and summed with
// FINAL, equal what was produced (computed while producing); the sink inserted each row once;
// and every partition is committed to its end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqlTable } from '@spamgate/core';
import { TABLE_NAMES, type TableName } from '@spamgate/schemas';
import { eventually } from '@spamgate/test';
import { createClickHouseSink } from '../../src/sink.ts';
import { contentOverrideKey, recordFactory, senderMinuteStream } from '../records.ts';
import { type BulkRecord, codec, metricValue, produceBulk, useSinkHarness } from './harness.ts';

const h = useSinkHarness();

const TOTAL = 1_000_000;
/**
 * The stream is blocks of 200 records, mostly minutes as in production, with every other kind
 * in each block so that all eight tables fill at once: 940,000 minutes, 20,000 decisions, 10,000
 * sender features (4 rows each), 5,000 cluster features (3 rows each), 10,000 policy overrides
 * (every tenth a removal), 5,000 content decisions, 5,000 content overrides (every tenth a
 * removal) and 5,000 dead letters.
 */
const BLOCK = [
  ...Array<'minute'>(188).fill('minute'),
  ...Array<'decision'>(4).fill('decision'),
  ...Array<'senderFeatures'>(2).fill('senderFeatures'),
  'clusterFeatures',
  'override',
  'override',
  'contentDecision',
  'contentOverride',
  'deadLetter',
] as const;
/** Sender-minutes a minute: 940,000 minutes are 18.8 minutes of 50,000 active senders. */
const ACTIVE_SENDERS = 50_000;

/**
 * What each table must hold, as the SQL that computes it over the table with FINAL, starting
 * with count(). FINAL collapses a row the sink wrote twice, so a duplicate cannot stand in for a
 * lost row (a plain count() comes out right with one row lost and another written twice); and
 * every record produced has an identity of its own, so anything short is a row missing.
 */
const SUMS: Record<TableName, readonly string[]> = {
  sender_minute: [
    'count()',
    'sum(messages)',
    'sum(distinct_recipients)',
    'sum(url_messages)',
    'sum(spam_reports)',
    'sum(version)',
  ],
  decisions: ['count()', 'sum(throttle_rate_per_minute)', 'sum(published)', 'sum(length(reasons.code))'],
  sender_features: ['count()', 'sum(messages)', 'sum(peak10s)'],
  cluster_features: ['count()', 'sum(messages)', 'sum(distinct_senders)'],
  policy_overrides: ['count()', 'sum(removed)', 'sum(length(author))'],
  content_decisions: ['count()', 'sum(distinct_senders)', 'sum(length(callback_numbers))'],
  content_overrides: ['count()', 'sum(removed)', 'sum(length(target))'],
  dead_letters: ['count()', 'sum(value_bytes)', 'sum(original_offset)'],
};

function emptyTotals(): Record<TableName, Record<string, number>> {
  return Object.fromEntries(
    TABLE_NAMES.map((t) => [t, Object.fromEntries(SUMS[t].map((expression) => [expression, 0]))]),
  ) as Record<TableName, Record<string, number>>;
}

/** The records of the test, adding what each contributes to `totals` as it is made. */
function* stream(totals: Record<TableName, Record<string, number>>): Generator<BulkRecord> {
  const t = h.topics;
  const base = Math.floor((Date.now() - 6 * 3_600_000) / 60_000) * 60_000;
  const minutes = senderMinuteStream(1_000_000, base, ACTIVE_SENDERS);
  const records = recordFactory(1_000_001, base);
  const add = (table: TableName, values: Record<string, number>) => {
    const sums = totals[table];
    sums['count()']! += 1;
    for (const [expression, v] of Object.entries(values)) sums[expression]! += v;
  };
  const n = {
    minute: 0,
    decision: 0,
    senderFeatures: 0,
    clusterFeatures: 0,
    override: 0,
    contentDecision: 0,
    contentOverride: 0,
    deadLetter: 0,
  };
  for (let i = 0; i < TOTAL; i++) {
    const kind = BLOCK[i % BLOCK.length]!;
    const k = n[kind]++;
    switch (kind) {
      case 'minute': {
        const m = minutes(k);
        add('sender_minute', {
          'sum(messages)': m.messages,
          'sum(distinct_recipients)': m.distinctRecipients,
          'sum(url_messages)': m.urlMessages,
          'sum(spam_reports)': m.spamReports,
          'sum(version)': m.version,
        });
        yield { topic: t.senderMinutes, key: m.sender, value: codec.encode('SenderMinute', m) };
        break;
      }
      case 'decision': {
        const d = records.decision(k);
        add('decisions', {
          'sum(throttle_rate_per_minute)': d.throttleRatePerMinute ?? 0,
          'sum(published)': d.published ? 1 : 0,
          'sum(length(reasons.code))': d.reasons.length,
        });
        yield { topic: t.decisionEvaluations, key: d.sender, value: codec.encode('Decision', d) };
        break;
      }
      case 'senderFeatures': {
        const f = records.senderFeatures(k);
        for (const w of f.windows)
          add('sender_features', { 'sum(messages)': w.messages, 'sum(peak10s)': w.peak10s });
        yield { topic: t.senderFeatures, key: f.sender, value: codec.encode('SenderFeatures', f) };
        break;
      }
      case 'clusterFeatures': {
        const c = records.clusterFeatures(k);
        for (const w of c.windows) {
          add('cluster_features', {
            'sum(messages)': w.messages,
            'sum(distinct_senders)': w.distinctSenders,
          });
        }
        yield { topic: t.clusterFeatures, key: c.clusterId, value: codec.encode('ClusterFeatures', c) };
        break;
      }
      case 'override': {
        const o = records.policyOverride(k);
        // Every tenth is the removal (a tombstone) of its target's override.
        const removal = k % 10 === 9;
        add('policy_overrides', {
          'sum(removed)': removal ? 1 : 0,
          'sum(length(author))': removal ? 0 : o.author.length,
        });
        yield {
          topic: t.policyOverrides,
          key: o.target,
          value: removal ? null : codec.encode('PolicyOverride', o),
        };
        break;
      }
      case 'contentDecision': {
        const d = records.contentDecision(k);
        add('content_decisions', {
          'sum(distinct_senders)': d.distinctSenders,
          'sum(length(callback_numbers))': d.callbackNumbers.length,
        });
        yield { topic: t.contentDecisions, key: d.clusterId, value: codec.encode('ContentDecision', d) };
        break;
      }
      case 'contentOverride': {
        const o = records.contentOverride(k);
        // Every tenth is the removal (a tombstone) of its scope and target's override.
        const removal = k % 10 === 9;
        add('content_overrides', { 'sum(removed)': removal ? 1 : 0, 'sum(length(target))': o.target.length });
        yield {
          topic: t.contentOverrides,
          key: contentOverrideKey(o),
          value: removal ? null : codec.encode('ContentOverride', o),
        };
        break;
      }
      case 'deadLetter': {
        const d = records.deadLetter(k);
        add('dead_letters', {
          'sum(value_bytes)': d.valueBytes,
          'sum(original_offset)': d.originalOffset,
        });
        yield { topic: t.deadLetters, key: d.originalTopic, value: codec.encode('DeadLetter', d) };
        break;
      }
    }
  }
}

/** The SUMS of a table as ClickHouse computes them with FINAL. */
async function stored(table: TableName): Promise<Record<string, number>> {
  const expressions = SUMS[table];
  const [row] = await h.rows<Record<string, string | number>>(
    `SELECT ${expressions.map((e, i) => `${e} AS c${i}`).join(', ')} FROM ${sqlTable(h.db.database, table).text} FINAL`,
  );
  return Object.fromEntries(expressions.map((e, i) => [e, Number(row?.[`c${i}`])]));
}

test('1,000,000 records through the sink leave exactly their rows and sums in ClickHouse, every offset committed', async () => {
  const deps = h.sinkDeps();
  const sink = createClickHouseSink(deps);
  const started = Date.now();
  try {
    await sink.start();
    const totals = emptyTotals();
    const produced = await produceBulk(h.kafka, stream(totals));
    const producedAt = Date.now();
    assert.equal(produced, TOTAL);

    // The sink commits a partition only up to what ClickHouse acknowledged: once every
    // partition is committed to its end, every row is in, and nothing is left to read again.
    await eventually(
      async () => {
        for (const topic of Object.values(h.topics)) {
          if ((await h.committed(topic)) !== (await h.endOffsets(topic))) return undefined;
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 250, what: 'every partition committed to its end' },
    );
    const landedAt = Date.now();
    for (const table of TABLE_NAMES) assert.deepEqual(await stored(table), totals[table], table);

    // Each row was inserted once: the guarantee allows a row written twice only after a replay
    // (a rebalance, or an insert retried after it may have landed), and there was none.
    const metric = (name: string, labels?: Record<string, string>) =>
      metricValue(deps.registry, name, labels);
    const replays =
      (await metric('spamgate_consumer_rebalances_total')) +
      (await metric('spamgate_consumer_crashes_total')) +
      (await metric('spamgate_sink_insert_retries_total'));
    const written = Object.fromEntries(
      await Promise.all(
        TABLE_NAMES.map(async (table) => [
          table,
          await metric('spamgate_sink_rows_written_total', { table }),
        ]),
      ),
    );
    const expectedRows = Object.fromEntries(TABLE_NAMES.map((table) => [table, totals[table]['count()']]));
    if (replays === 0) assert.deepEqual(written, expectedRows, 'rows inserted by the sink');
    else for (const table of TABLE_NAMES) assert.ok(written[table]! >= expectedRows[table]!, table);

    const rows = TABLE_NAMES.reduce((n, table) => n + totals[table]['count()']!, 0);
    const seconds = (at: number) => ((at - started) / 1000).toFixed(1);
    process.stderr.write(
      `[million test] ${TOTAL.toLocaleString('en')} records produced ${seconds(producedAt)} s after the ` +
        `sink started; all ${rows.toLocaleString('en')} rows in and committed at ${seconds(landedAt)} s; ` +
        `${replays} replays\n`,
    );
  } finally {
    await sink.stop();
  }
});
