import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestTopic, testKafka, uniqueName } from '@spamgate/test';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';

const RECORDS = 10_000;
const PARTITIONS = 6;

const type = avro.Type.forSchema({
  type: 'record',
  name: 'Probe',
  namespace: 'spamgate.test',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'sender', type: 'string' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'body', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
});

let kafka: Kafka;
before(async () => {
  kafka = await testKafka();
});

test('10,000 Avro records produced with kafkajs come back byte-exact through a consumer group', async () => {
  const topic = await createTestTopic(kafka, { partitions: PARTITIONS });
  const sent = new Map<string, Buffer>();
  const messages = [];
  for (let i = 0; i < RECORDS; i++) {
    const value = type.toBuffer({
      id: i,
      sender: `+1555${String(i % 997).padStart(7, '0')}`,
      at: 1_790_000_000_000 + i,
      body: i % 3 === 0 ? null : `msg ${i} ünïcødé 📨 'quoted' \\ back`,
      tags: i % 2 === 0 ? ['a', 'b'] : [],
    });
    const key = `k-${i}`;
    sent.set(key, value);
    messages.push({ key, value });
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < messages.length; i += 1_000) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1_000) });
  }
  await producer.disconnect();

  const received = new Map<string, Buffer>();
  const partitionsSeen = new Set<number>();
  const consumer = kafka.consumer({ groupId: uniqueName('roundtrip'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        assert.ok(message.key && message.value);
        partitionsSeen.add(partition);
        const key = message.key.toString();
        assert.equal(received.has(key), false, `record ${key} delivered twice`);
        received.set(key, message.value);
        if (received.size === RECORDS) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();

  assert.equal(received.size, RECORDS);
  assert.equal(partitionsSeen.size, PARTITIONS, 'keys spread over every partition');
  for (const [key, value] of sent) {
    const got = received.get(key);
    assert.ok(got, `record ${key} missing`);
    assert.ok(value.equals(got), `record ${key} differs`);
  }
  // And the bytes still decode to what was written.
  const sample = type.fromBuffer(received.get('k-4')!) as { id: number; tags: string[] };
  assert.equal(sample.id, 4);
  assert.deepEqual(sample.tags, ['a', 'b']);
});

after(async () => {
  // kafkajs clients are per test; nothing shared to close.
});
