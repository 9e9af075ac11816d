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
