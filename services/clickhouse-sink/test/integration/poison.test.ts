// A record ClickHouse itself refuses, among hundreds it takes: the sink in process against the real
// broker and the real ClickHouse dead-letters that one record with ClickHouse's reason, writes all
// its neighbours once, and commits the partition past it, without retrying or pausing the table.
// And a table altered so that it refuses every record is an outage to wait out, not poison.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, createSubscriberHasher, readToEnd } from '@spamgate/core';
import type { DeadLetter } from '@spamgate/schemas';
import { eventually, TEST_HASH_KEY, uniqueName } from '@spamgate/test';
import type { Message } from 'kafkajs';
import { createClickHouseSink, SINK_SERVICE } from '../../src/sink.ts';
import { recordFactory } from '../records.ts';
import { codec, literal, metricValue, QUICK_SINK, useSinkHarness } from './harness.ts';

const h = useSinkHarness();
const BASE = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;
const records = recordFactory(4242, BASE);

/**
 * The poison: the removal of an override with a reason of 1999 characters and an emoji. The sink
 * keeps the first 2000 UTF-16 units of a header, which ends the reason in the emoji's first half;
 * its row maps, JSON carries it as "\ud83d", and ClickHouse (18.16 and current) refuses the
 * insert: code 25, CANNOT_PARSE_ESCAPE_SEQUENCE, missing second part of surrogate pair. (Should
 * the sink ever cut headers by character, this test needs another value ClickHouse refuses.)
 */
const POISON_REASON = `${'x'.repeat(1_999)}🚫 appeal rejected`;

function removal(target: string, reason: string): Message {
  return { key: target, value: null, headers: { 'spamgate-author': 'ops', 'spamgate-reason': reason } };
}

test("a record ClickHouse refuses is dead-lettered with ClickHouse's reason while its neighbours land and the partition is committed past it", async () => {
  const overrides = Array.from({ length: 400 }, (_, i) => records.policyOverride(i));
  const removedBefore = overrides.slice(0, 50);
  const poisoned = overrides[50]!;
  const removedAfter = overrides.slice(51, 100);
  const reasonOf = (i: number) => `appeal ${i} granted`;
  const topic = h.topics.policyOverrides;

  // One partition: the poison sits between 350 records before it and 149 after.
  await h.produce(topic, [
    ...h.messages('PolicyOverride', overrides.slice(0, 300), (o) => o.target),
    ...removedBefore.map((o, i) => removal(o.target, reasonOf(i))),
  ]);
  // Sent on its own, outside a transaction, to learn its offset.
  const producer = h.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const [sent] = await producer
    .send({ topic, acks: -1, messages: [removal(poisoned.target, POISON_REASON)] })
    .finally(() => producer.disconnect());
  assert.equal(sent?.partition, 0);
  const poisonOffset = sent!.baseOffset!;
  await h.produce(topic, [
    ...removedAfter.map((o, i) => removal(o.target, reasonOf(51 + i))),
    ...h.messages('PolicyOverride', overrides.slice(300), (o) => o.target),
  ]);

  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'clickhouse-sink',
    instanceId: 'test',
    level: 'info',
    destination: { write: (line: string) => void logs.push(JSON.parse(line)) },
  });
  // A batch is whole kafkajs batches (150 rows, or one larger): the poison has neighbours in its own.
  const deps = h.sinkDeps({ ...QUICK_SINK, logger });
  const sink = createClickHouseSink({ ...deps, config: { ...deps.config, batchRows: 150 } });
  try {
    await sink.start();
    await h.waitForRows('policy_overrides', 499);
    await h.waitForCommitted(topic);
    assert.ok((await h.committed(topic)) > Number(poisonOffset) + 1, 'committed past the poison');

    // Every neighbour landed, once; the poison did not.
    const removals = await h.rows<{ target: string; reason: string; kafka_offset: string }>(
      `SELECT target, reason, kafka_offset FROM ${h.db.database}.policy_overrides FINAL WHERE removed = 1 ORDER BY kafka_offset`,
    );
    assert.deepEqual(
      removals.map((r) => [r.target, r.reason]),
      [
        ...removedBefore.map((o, i) => [o.target, reasonOf(i)]),
        ...removedAfter.map((o, i) => [o.target, reasonOf(51 + i)]),
      ],
    );
    assert.ok(removals.every((r) => r.kafka_offset !== poisonOffset));
    assert.equal(
      await h.count('policy_overrides', { where: `kafka_offset = ${literal(Number(poisonOffset))}` }),
      0,
    );
    const [sums] = await h.rows<{ overrides: string; created: string; reasons: string }>(
      `SELECT countIf(removed = 0) AS overrides, sumIf(toUInt64(created_at), removed = 0) AS created, ` +
        `sumIf(length(reason), removed = 1) AS reasons FROM ${h.db.database}.policy_overrides FINAL`,
    );
    assert.deepEqual(
      [Number(sums?.overrides), Number(sums?.created), Number(sums?.reasons)],
      [
        overrides.length,
        overrides.reduce((s, o) => s + Math.floor(o.createdAt / 1000), 0),
        [...removedBefore.map((_, i) => reasonOf(i)), ...removedAfter.map((_, i) => reasonOf(51 + i))].reduce(
          (s, r) => s + r.length,
          0,
        ),
      ],
    );

    // The poison is on sms.dead-letters, keyed and named as it was, with ClickHouse's reason.
    const letters: DeadLetter[] = [];
    await readToEnd(h.kafka, {
      topic: h.topics.deadLetters,
      groupId: uniqueName('poison-reader'),
      onRecords: ({ messages }) => {
        for (const m of messages) letters.push(codec.decode('DeadLetter', m.value!));
      },
    });
    const ours = letters.filter((l) => l.service === SINK_SERVICE);
    assert.equal(ours.length, 1, JSON.stringify(ours.map((l) => l.errorMessage)));
    const letter = ours[0]!;
    assert.deepEqual(
      {
        originalTopic: letter.originalTopic,
        originalPartition: letter.originalPartition,
        originalOffset: letter.originalOffset,
        key: letter.key,
        keyHash: letter.keyHash,
        value: letter.value,
        errorClass: letter.errorClass,
        errorCode: letter.errorCode,
      },
      {
        originalTopic: topic,
        originalPartition: 0,
        originalOffset: Number(poisonOffset),
        // Where the record is and a keyed hash of its key, never the key or value.
        key: null,
        keyHash: createSubscriberHasher(TEST_HASH_KEY).hash(poisoned.target),
        value: null,
        errorClass: 'RecordRefusedError',
        errorCode: 'CANNOT_PARSE_ESCAPE_SEQUENCE',
      },
    );
    assert.match(
      letter.errorMessage,
      /^ClickHouse refused the record's rows for table policy_overrides: code 25 CANNOT_PARSE_ESCAPE_SEQUENCE: .*surrogate pair/,
    );
    assert.ok(letter.errorMessage.length <= 700, `${letter.errorMessage.length} characters`);
    // ... and, read back from that topic by the same sink, in dead_letters.
    await eventually(
      async () =>
        (await h.count('dead_letters', {
          where: `service = ${literal(SINK_SERVICE)} AND error_code = 'CANNOT_PARSE_ESCAPE_SEQUENCE' AND original_offset = ${literal(Number(poisonOffset))}`,
        })) === 1
          ? true
          : undefined,
      { what: "the sink's dead letter in dead_letters" },
    );

    // Counted and logged as a dead letter; never retried as an outage, never paused, never not ready.
    const metric = (name: string, labels: Record<string, string>) => metricValue(deps.registry, name, labels);
    assert.equal(
      await metric('spamgate_sink_dead_letters_total', { topic, code: 'CANNOT_PARSE_ESCAPE_SEQUENCE' }),
      1,
    );
    assert.equal(await metric('spamgate_sink_insert_retries_total', { table: 'policy_overrides' }), 0);
    assert.equal(await metric('spamgate_sink_rows_written_total', { table: 'policy_overrides' }), 499);
    assert.equal(sink.readiness(), true);
    const logged = logs.filter((l) => l.msg === 'record refused by ClickHouse dead-lettered');
    assert.deepEqual(
      logged.map((l) => [l.table, l.topic, l.offset, l.code, l.clickhouseCode]),
      [['policy_overrides', topic, poisonOffset, 'CANNOT_PARSE_ESCAPE_SEQUENCE', 25]],
    );
    assert.ok(
      logs.some((l) => String(l.msg).startsWith('insert refused for its content; splitting the batch')),
    );
    // What ClickHouse quotes of a row stays out of the log.
    assert.ok(!logs.some((l) => JSON.stringify(l).includes('xxxxxxxxxx')));
  } finally {
    await sink.stop();
  }
});

test('a table altered under the sink refuses every record: that is waited out like an outage, never dead-lettered', async () => {
  const decisions = Array.from({ length: 200 }, (_, i) => records.decision(i));
  const table = `${h.db.database}.decisions`;
  const deps = h.sinkDeps(QUICK_SINK);
  const sink = createClickHouseSink(deps);
  const metric = (name: string, labels: Record<string, string>) => metricValue(deps.registry, name, labels);
  try {
    await sink.start();
    // Someone changes a column's type under the running sink: every row's policy version (a
    // string) is now refused, code 27.
    await h.db.client.command({ query: `ALTER TABLE ${table} MODIFY COLUMN policy_version UInt64` });
    await h.produce(
      h.topics.decisionEvaluations,
      h.messages('Decision', decisions, (d) => d.sender),
    );
    await eventually(
      async () =>
        (await metric('spamgate_sink_insert_retries_total', { table: 'decisions' })) >= 3 ? true : undefined,
      { what: 'the refused decisions retried' },
    );
    assert.match(
      String(sink.readiness()),
      /inserts failing: decisions since .*decisions\.policy_version String/,
    );
    assert.equal(await metric('spamgate_sink_paused', { table: 'decisions' }), 1);
    assert.equal(await h.committed(h.topics.decisionEvaluations), 0);
    assert.equal(await h.count('decisions'), 0);

    await h.db.client.command({ query: `ALTER TABLE ${table} MODIFY COLUMN policy_version String` });
    await h.waitForRows('decisions', decisions.length);
    await h.waitForCommitted(h.topics.decisionEvaluations);
    assert.equal(
      await metric('spamgate_sink_dead_letters_total', {
        topic: h.topics.decisionEvaluations,
        code: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
      }),
      0,
    );
    const [sum] = await h.rows<{ v: string }>(
      `SELECT sum(throttle_rate_per_minute) AS v FROM ${table} FINAL`,
    );
    assert.equal(
      Number(sum?.v),
      decisions.reduce((s, d) => s + (d.throttleRatePerMinute ?? 0), 0),
    );
    assert.equal(sink.readiness(), true);
  } finally {
    await sink.stop();
  }
});
