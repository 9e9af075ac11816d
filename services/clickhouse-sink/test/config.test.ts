// The sink's settings and topics agree with the topic catalog the provisioner creates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '@spamgate/core';
import { TABLES } from '@spamgate/schemas';
import { topicName as catalogTopicName, TOPICS } from '../../../infra/kafka/topics.ts';
import {
  clickHouseSinkSettings,
  RECORD_OF_TOPIC,
  sinkTopics,
  TABLE_OF_TOPIC,
  topicName,
} from '../src/config.ts';

test('every topic the sink reads is in the catalog, with the record the sink decodes', () => {
  const topics = sinkTopics('');
  for (const [kind, name] of Object.entries(topics) as [keyof typeof topics, string][]) {
    const spec = TOPICS.find((t) => t.name === name);
    assert.ok(spec, `${name} is in infra/kafka/topics.ts`);
    assert.equal(spec.valueSchema, RECORD_OF_TOPIC[kind], name);
    assert.ok(TABLES[TABLE_OF_TOPIC[kind]], `${name} goes to a table`);
  }
  assert.equal(new Set(Object.values(TABLE_OF_TOPIC)).size, Object.keys(TABLES).length, 'every table is fed');
});

test('topic names are prefixed by the catalog rule', () => {
  for (const prefix of ['', 'tenant', 'tenant-', 'a.b.']) {
    for (const name of Object.values(sinkTopics(''))) {
      assert.equal(topicName(prefix, name), catalogTopicName(prefix, name));
    }
  }
  assert.equal(sinkTopics('t1').senderFeatures, 't1.sms.sender-features');
  assert.equal(sinkTopics('t1').contentDecisions, 't1.sms.content-decisions');
  assert.equal(sinkTopics('t1').contentOverrides, 't1.sms.content-overrides');
});

test('batches default to 10000 rows or 1 s, and bad settings are all reported at once', () => {
  const config = loadConfig(clickHouseSinkSettings, { SPAMGATE_HASH_KEY: 'sink-config-test-key-0123' });
  assert.equal(config.batchRows, 10_000);
  assert.equal(config.batchAgeMs, 1_000);
  assert.equal(config.groupId, 'spamgate-clickhouse-sink');
  assert.equal(config.sessionTimeoutMs, 30_000);
  assert.throws(
    () =>
      loadConfig(clickHouseSinkSettings, {
        SPAMGATE_HASH_KEY: 'sink-config-test-key-0123',
        SPAMGATE_SINK_BATCH_ROWS: '0',
        SPAMGATE_SINK_BATCH_AGE: 'soon',
        SPAMGATE_SINK_SESSION_TIMEOUT: '1s',
      }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.map((p) => p.variable).join() ===
        'SPAMGATE_SINK_BATCH_ROWS,SPAMGATE_SINK_BATCH_AGE,SPAMGATE_SINK_SESSION_TIMEOUT',
  );
});
