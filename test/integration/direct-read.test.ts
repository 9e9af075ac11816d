// Core's readTopicDirect against the real broker: every committed record of every partition, in
// partition order, nothing of an aborted transaction, and no consumer group anywhere; on the
// secured listener a principal with READ on the topic alone (no group right at all) reads it,
// which is how every service reads spamgate.schemas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTopicDirect } from '@spamgate/core';
import { createKafkaLogin, securedBrokers, securedKafka, testKafka, uniqueName } from '@spamgate/test';
import kafkajs, { type Kafka } from 'kafkajs';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** What a direct read of `topic` returns, as "partition:value" in the order read. */
async function readAll(kafka: Kafka, topic: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  await readTopicDirect(kafka, {
    topic,
    ...(signal ? { signal } : {}),
    onRecords: ({ partition, messages }) => {
      for (const m of messages) out.push(`${partition}:${m.value?.toString() ?? 'null'}`);
    },
  });
  return out;
}

test('a direct read returns every committed record by partition, and none of an aborted transaction', async () => {
  const kafka = await testKafka();
  const topic = uniqueName('direct-read');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const tx = kafka.producer({
      transactionalId: uniqueName('direct-read-tx'),
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await Promise.all([plain.connect(), tx.connect()]);
    try {
      // 2,500 records in partition 0: more than one fetch's worth of batches.
      const many = Array.from({ length: 2_500 }, (_, i) => ({
        partition: 0,
        value: `p0-${i}`.padEnd(600, '.'),
      }));
      for (let i = 0; i < many.length; i += 500)
        await plain.send({ topic, acks: -1, messages: many.slice(i, i + 500) });
      await plain.send({ topic, acks: -1, messages: [{ partition: 1, value: 'p1-a' }] });
      const aborted = await tx.transaction();
      await aborted.send({
        topic,
        messages: [
          { partition: 1, value: 'p1-aborted' },
          { partition: 2, value: 'p2-aborted' },
        ],
      });
      await aborted.abort();
      const committed = await tx.transaction();
      await committed.send({ topic, messages: [{ partition: 1, value: 'p1-committed' }] });
      await committed.commit();
      await plain.send({ topic, acks: -1, messages: [{ partition: 2, value: 'p2-a' }] });
    } finally {
      await Promise.all([plain.disconnect(), tx.disconnect()]);
    }
    const read = await readAll(kafka, topic);
    assert.equal(read.length, 2_500 + 3);
    assert.deepEqual(
      read.slice(0, 3).map((r) => r.slice(0, 8)),
      ['0:p0-0..', '0:p0-1..', '0:p0-2..'],
    );
    assert.equal(read[2_499]!.slice(0, 9), '0:p0-2499');
    assert.deepEqual(
      read.slice(2_500),
      ['1:p1-a', '1:p1-committed', '2:p2-a'],
      'aborted records are not read',
    );
    // An empty topic reads as nothing; an aborted signal stops the read with its reason.
    const empty = uniqueName('direct-read-empty');
    await admin.createTopics({ topics: [{ topic: empty, numPartitions: 2 }], waitForLeaders: true });
    assert.deepEqual(await readAll(kafka, empty), []);
    const stop = new AbortController();
    stop.abort(new Error('stopped by the caller'));
    await assert.rejects(readAll(kafka, topic, stop.signal), /stopped by the caller/);
    await admin.deleteTopics({ topics: [topic, empty] });
  } finally {
    await admin.disconnect();
  }
});

test('on the secured listener, READ on the topic alone is enough: no consumer group is used, so none need be granted', async () => {
  const brokers = await securedBrokers();
  const kafka = await testKafka();
  const topic = uniqueName('direct-read-acl');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ partition: 1, value: 'schema-json' }] });
    await producer.disconnect();
    const reader = await createKafkaLogin('direct-reader');
    const outsider = await createKafkaLogin('direct-outsider');
    await admin.createAcls({
      acl: [
        {
          resourceType: AclResourceTypes.TOPIC,
          resourceName: topic,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: reader.principal,
          host: '*',
          operation: AclOperationTypes.READ,
          permissionType: AclPermissionTypes.ALLOW,
        },
      ],
    });
    assert.deepEqual(await readAll(securedKafka(reader, brokers), topic), ['1:schema-json']);
    await assert.rejects(
      readAll(securedKafka(outsider, brokers), topic),
      /authoriz|not authorized|Not authorized/i,
    );
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
});
