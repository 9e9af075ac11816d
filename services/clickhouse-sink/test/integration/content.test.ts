// The content topics through an in-process sink, against the real broker and ClickHouse: a
// content decision published twice (as a decision engine does after a crash, outside any
// transaction) is written twice and reads once with FINAL, every field intact; content
// overrides and their removals land in the audit table with who removed them and why; a record
// whose key names no scope is dead-lettered while its neighbours land.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubscriberHasher } from '@spamgate/core';
import {
  type ContentDecision,
  contentDecisionFromRow,
  contentOverrideFromRow,
  type StoredRow,
} from '@spamgate/schemas';
import { TEST_HASH_KEY } from '@spamgate/test';
import type { Message } from 'kafkajs';
import { createClickHouseSink, SINK_SERVICE } from '../../src/sink.ts';
import { contentOverrideKey, recordFactory } from '../records.ts';
import { assertClose, codec, literal, metricValue, QUICK_SINK, useSinkHarness } from './harness.ts';

const h = useSinkHarness();
const BASE = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const records = recordFactory(3_107, BASE);

/** Sends as the decision engine publishes decisions: idempotent, acks=all, no transaction. */
async function publish(topic: string, messages: Message[]): Promise<void> {
  const producer = h.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

test('a content decision published twice is written twice and reads once with FINAL, every field intact', async () => {
  const decisions = Array.from({ length: 300 }, (_, i) => records.contentDecision(i));
  const messages = h.messages('ContentDecision', decisions, (d) => d.clusterId);
  const deps = h.sinkDeps(QUICK_SINK);
  const sink = createClickHouseSink(deps);
  try {
    await publish(h.topics.contentDecisions, messages);
    await sink.start();
    await h.waitForCommitted(h.topics.contentDecisions);
    // The same records again, after the first copies were written and committed.
    await publish(h.topics.contentDecisions, messages);
    await h.waitForCommitted(h.topics.contentDecisions);
  } finally {
    await sink.stop();
  }

  const written = await metricValue(deps.registry, 'spamgate_sink_rows_written_total', {
    table: 'content_decisions',
  });
  assert.equal(written, 600, 'both copies were inserted');
  assert.equal(await h.count('content_decisions'), 300, 'and read as one with FINAL');
  const stored = await h.rows<StoredRow>(
    `SELECT * FROM ${h.db.database}.content_decisions FINAL ORDER BY decision_id`,
  );
  const byId = (a: ContentDecision, b: ContentDecision) => (a.decisionId < b.decisionId ? -1 : 1);
  assertClose(stored.map(contentDecisionFromRow), [...decisions].sort(byId));
  // Keyed hashes beyond 2^53 are kept digit for digit (strings, never numbers).
  const [big] = await h.rows<{ n: string }>(
    `SELECT count() AS n FROM ${h.db.database}.content_decisions FINAL ARRAY JOIN callback_numbers AS c
     WHERE toUInt64(c) > 9007199254740992`,
  );
  assert.ok(Number(big?.n) > 0, 'some call-back hashes exceed 2^53');
});

test('content overrides and their removals land in the audit table; a key that names no scope is dead-lettered', async () => {
  const overrides = Array.from({ length: 200 }, (_, i) => records.contentOverride(i));
  const removed = overrides.slice(0, 40);
  const reasonOf = (i: number) => `appeal ${i} granted`;
  const noScope = {
    key: 'example.com',
    value: codec.encode('ContentOverride', records.contentOverride(999)),
  };
  await h.produce(h.topics.contentOverrides, [
    ...h.messages('ContentOverride', overrides.slice(0, 100), contentOverrideKey),
    noScope,
    ...h.messages('ContentOverride', overrides.slice(100), contentOverrideKey),
    ...removed.map((o, i) => ({
      key: contentOverrideKey(o),
      value: null,
      headers: { 'spamgate-author': 'noc-ann', 'spamgate-reason': reasonOf(i) },
    })),
  ]);

  const sink = createClickHouseSink(h.sinkDeps(QUICK_SINK));
  try {
    await sink.start();
    await h.waitForRows('content_overrides', overrides.length + removed.length);
    await h.waitForCommitted(h.topics.contentOverrides);
    await h.waitForRows('dead_letters', 1);
  } finally {
    await sink.stop();
  }

  const entries = (
    await h.rows<StoredRow>(`SELECT * FROM ${h.db.database}.content_overrides FINAL ORDER BY kafka_offset`)
  ).map(contentOverrideFromRow);
  assert.deepEqual(
    entries.flatMap((e) => (e.override ? [e.override] : [])),
    overrides,
  );
  assert.deepEqual(
    entries.flatMap((e) => (e.override ? [] : [[e.scope, e.target, e.removedBy]])),
    removed.map((o, i) => [o.scope, o.target, { author: 'noc-ann', reason: reasonOf(i) }]),
  );
  // Every record of the topic is a row of its own, in the order the topic holds them.
  assert.ok(entries.every((e, i) => i === 0 || e.offset > entries[i - 1]!.offset));

  const letters = await h.rows<{ original_topic: string; error_code: string; key_hash: string }>(
    `SELECT original_topic, error_code, key_hash FROM ${h.db.database}.dead_letters FINAL
     WHERE service = ${literal(SINK_SERVICE)}`,
  );
  assert.deepEqual(letters, [
    {
      original_topic: h.topics.contentOverrides,
      error_code: 'KEY_INVALID',
      key_hash: createSubscriberHasher(TEST_HASH_KEY).hash(noScope.key),
    },
  ]);
});
