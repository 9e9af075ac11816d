// The sink as a process, fed issue 19's hostile records on every topic it reads: each lands in
// dead_letters with its reason (by way of sms.dead-letters, which the sink reads too; those on
// sms.dead-letters itself are skipped and logged), and so does a row under another key; none
// stops it, and the rows after them land.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerSchemas, SCHEMAS_TOPIC, topicName } from '@spamgate/core';
import type { RecordName } from '@spamgate/schemas';
import { hostileCode, hostileRecords, testLogger } from '@spamgate/test';
import { RECORD_OF_TOPIC, type SinkTopics } from '../../src/config.ts';
import { recordFactory } from '../records.ts';
import { useSinkHarness } from './harness.ts';

const h = useSinkHarness();

test('hostile records on every input topic land in dead_letters, and the sink goes on', {
  timeout: 180_000,
}, async () => {
  const hostile = hostileRecords();
  await registerSchemas(h.kafka, {
    topic: topicName(h.prefix, SCHEMAS_TOPIC),
    schemas: [hostile.schema],
    logger: testLogger('writer'),
  });
  const inputs = Object.entries(RECORD_OF_TOPIC) as [keyof SinkTopics, RecordName][];
  for (const [name] of inputs) {
    await h.produce(
      h.topics[name],
      hostile.records.map((r, i) => ({ key: `hostile-${i}`, value: r.value })),
    );
  }
  const records = recordFactory(19, Math.floor((Date.now() - 600_000) / 60_000) * 60_000);
  // A valid row under a key that is not its sender.
  await h.produce(
    h.topics.senderMinutes,
    h.messages('SenderMinute', [records.senderMinute(2)], () => 'mis-keyed'),
  );
  await h.produce(
    h.topics.senderMinutes,
    h.messages('SenderMinute', [records.senderMinute(1)], (m) => m.sender),
  );
  const sink = h.startSink();
  await h.waitForRows('sender_minute', 1, sink);
  // Malformed records on sms.dead-letters itself are counted and skipped, never dead-lettered again.
  const expected = inputs
    .filter(([name]) => name !== 'deadLetters')
    .flatMap(([name, record]) => hostile.records.map((r) => `${h.topics[name]} ${hostileCode(r, record)}`))
    .concat(`${h.topics.senderMinutes} KEY_MISMATCH`);
  await h.waitForRows('dead_letters', expected.length, sink);
  const rows = await h.rows<{ original_topic: string; error_code: string }>(
    `SELECT original_topic, error_code FROM ${h.db.database}.dead_letters FINAL`,
  );
  assert.deepEqual(rows.map((r) => `${r.original_topic} ${r.error_code}`).sort(), expected.sort());
  assert.equal(sink.child.exitCode, null, 'the sink is still running');
  for (const [name] of inputs) await h.waitForCommitted(h.topics[name]);
  assert.deepEqual(
    sink.logs
      .filter((l) => l.msg?.startsWith('malformed record on the dead-letter topic skipped'))
      .map((l) => l.code)
      .sort(),
    hostile.records.map((r) => hostileCode(r, 'DeadLetter')).sort(),
  );
  assert.equal(sink.child.exitCode, null, 'the sink is still running');
});

test('an override its producer back-dated is recorded at the time the broker took it', {
  timeout: 120_000,
}, async () => {
  const records = recordFactory(20, Math.floor(Date.now() / 60_000) * 60_000);
  const override = records.policyOverride(1);
  const yearAgo = Date.now() - 400 * 86_400_000;
  const before = Math.floor(Date.now() / 1000) - 5;
  await h.produce(h.topics.policyOverrides, [
    { ...h.messages('PolicyOverride', [override], (o) => o.target)[0]!, timestamp: String(yearAgo) },
  ]);
  const sink = h.startSink();
  await h.waitForRows('policy_overrides', 1, sink);
  const [row] = await h.rows<{ at: string }>(
    `SELECT toUInt32(recorded_at) AS at FROM ${h.db.database}.policy_overrides FINAL`,
  );
  // Not a year ago, where a retention drop would take it: LogAppendTime on the override topics.
  assert.ok(Number(row!.at) >= before, `recorded at ${row!.at}, produced with ${yearAgo / 1000}`);
});
