// The sink in process, with ClickHouse failing on purpose for one table: its inserts are retried
// with backoff while its topic is paused and nothing of it is committed; other tables go on; once
// ClickHouse takes the inserts again, every row lands once. And a sink refuses to run on a
// database the migrations have not built.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickHouseClient } from '@spamgate/core';
import { createTestDatabase, eventually } from '@spamgate/test';
import { createClickHouseSink, SinkSchemaError } from '../../src/sink.ts';
import { recordFactory } from '../records.ts';
import { metricValue, QUICK_SINK, useSinkHarness } from './harness.ts';

const h = useSinkHarness();
const BASE = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;
const records = recordFactory(99, BASE);

test('while ClickHouse refuses one table, its topic is paused and uncommitted, and every row lands once it recovers', async () => {
  const minutes = Array.from({ length: 2_000 }, (_, i) => records.senderMinute(i));
  const decisions = Array.from({ length: 600 }, (_, i) => records.decision(i));
  await h.produce(
    h.topics.senderMinutes,
    h.messages('SenderMinute', minutes, (m) => m.sender),
  );
  await h.produce(
    h.topics.decisionEvaluations,
    h.messages('Decision', decisions, (d) => d.sender),
  );

  let down = true;
  let refused = 0;
  const real = h.db.client;
  const flaky: Pick<ClickHouseClient, 'insert' | 'query'> = {
    query: (params) => real.query(params),
    insert: (params) => {
      if (down && String(params.table).endsWith('`sender_minute`')) {
        refused++;
        return Promise.reject(new Error('Code: 210. DB::NetException: Connection refused (simulated)'));
      }
      return real.insert(params);
    },
  };
  const deps = h.sinkDeps({ ...QUICK_SINK, clickhouse: flaky });
  const sink = createClickHouseSink(deps);
  try {
    await sink.start();
    // Other tables are not held up by the failing one.
    await h.waitForRows('decisions', decisions.length);
    await h.waitForCommitted(h.topics.decisionEvaluations);
    await eventually(
      async () =>
        (await metricValue(deps.registry, 'spamgate_sink_insert_retries_total', {
          table: 'sender_minute',
        })) >= 4
          ? true
          : undefined,
      { what: 'retries of sender_minute' },
    );
    assert.equal(
      await metricValue(deps.registry, 'spamgate_sink_paused', { table: 'sender_minute' }),
      1,
      'paused while failing',
    );
    assert.equal(await metricValue(deps.registry, 'spamgate_sink_paused', { table: 'decisions' }), 0);
    assert.equal(await h.committed(h.topics.senderMinutes), 0, 'nothing committed past unwritten records');
    assert.equal(await h.count('sender_minute'), 0);
    assert.match(String(sink.readiness()), /inserts failing: sender_minute since .*Connection refused/);

    down = false;
    await h.waitForRows('sender_minute', minutes.length);
    await h.waitForCommitted(h.topics.senderMinutes);
    assert.equal(
      await metricValue(deps.registry, 'spamgate_sink_paused', { table: 'sender_minute' }),
      0,
      'resumed',
    );
    assert.equal(sink.readiness(), true);
    assert.equal(
      await metricValue(deps.registry, 'spamgate_sink_rows_written_total', { table: 'sender_minute' }),
      minutes.length,
      'the retried batches were written once each',
    );
    assert.ok(refused >= 4);
    const [sum] = await h.rows<{ v: string }>(
      `SELECT sum(messages) AS v FROM ${h.db.database}.sender_minute FINAL`,
    );
    assert.equal(
      Number(sum?.v),
      minutes.reduce((s, m) => s + m.messages, 0),
    );
  } finally {
    await sink.stop();
    await sink.stop(); // idempotent
  }
});

test('a sink refuses to start on a database without its tables, naming what is missing', async () => {
  const empty = await createTestDatabase('sink_empty');
  try {
    const sink = createClickHouseSink(
      h.sinkDeps({ ...QUICK_SINK, clickhouse: empty.client, database: empty.database }),
    );
    await assert.rejects(sink.start(), (err: unknown) => {
      assert.ok(err instanceof SinkSchemaError);
      assert.equal(err.code, 'SINK_SCHEMA_MISSING');
      assert.ok(err.missing.includes('sender_features.peak1s UInt64'));
      assert.match(err.message, /npm run migrate/);
      return true;
    });
    await sink.stop();
  } finally {
    await empty.drop();
  }
});

test('records retention deleted while the sink was paused are skipped with an error, and the rest lands', async () => {
  let down = false;
  const real = h.db.client;
  const flaky: Pick<ClickHouseClient, 'insert' | 'query'> = {
    query: (params) => real.query(params),
    insert: (params) =>
      down && String(params.table).endsWith('`sender_minute`')
        ? Promise.reject(new Error('Code: 210. DB::NetException: Connection refused (simulated)'))
        : real.insert(params),
  };
  const deps = h.sinkDeps({ ...QUICK_SINK, clickhouse: flaky });
  const sink = createClickHouseSink(deps);
  const topic = h.topics.senderMinutes;
  const produce = async (from: number, n: number) =>
    h.produce(
      topic,
      h
        .messages(
          'SenderMinute',
          Array.from({ length: n }, (_, i) => records.senderMinute(5_000 + from + i)),
          (m) => m.sender,
        )
        .map((m) => ({ ...m, partition: 0 })),
    );
  const before = await h.count('sender_minute');
  try {
    await sink.start();
    await produce(0, 50);
    await h.waitForRows('sender_minute', before + 50);
    // Inserts fail: the next records are read, then the topic is paused.
    down = true;
    await produce(50, 10);
    await eventually(
      async () =>
        (await metricValue(deps.registry, 'spamgate_sink_paused', { table: 'sender_minute' })) === 1
          ? true
          : undefined,
      {
        what: 'the minutes paused',
      },
    );
    // Unread while paused: 30 records that retention deletes, then 20 that stay.
    await produce(60, 30);
    const [p0] = await h.admin.fetchTopicOffsets(topic).then((o) => o.filter((x) => x.partition === 0));
    await produce(90, 20);
    await h.admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: p0!.high }] });
    down = false;
    await h.waitForRows('sender_minute', before + 50 + 10 + 20);
    assert.equal(
      await metricValue(deps.registry, 'spamgate_sink_deleted_offsets_total', { topic }),
      31,
      '30 records and their marker',
    );
    await h.waitForCommitted(topic);
  } finally {
    await sink.stop();
  }
});
