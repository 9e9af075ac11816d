import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCodec, type MessageEvent, SchemaDecodeError } from '@spamgate/schemas';
import { createTestTopic, testKafka, uniqueName } from '@spamgate/test';

const codec = createCodec();

test('single-object encoded events survive a round trip through Kafka, and bad bytes fail with a typed error', async () => {
  const kafka = await testKafka();
  const topic = await createTestTopic(kafka, { partitions: 3 });
  const events: MessageEvent[] = Array.from({ length: 500 }, (_, i) => ({
    messageId: `m-${i}`,
    eventTime: 1_795_900_000_000 + i,
    sender: `+1202555${String(i % 50).padStart(4, '0')}`,
    senderKind: 'LONG_CODE',
    recipient: `+1303555${String(i).padStart(4, '0')}`,
    body: i % 2 ? `Hi ${i}, your code is ${i * 7}` : null,
    campaignId: i % 5 === 0 ? 'CAMP1' : null,
    originNetwork: null,
  }));
  const poison = [Buffer.from('not avro'), Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9])];
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      ...events.map((e) => ({ key: e.sender, value: codec.encode('MessageEvent', e) })),
      ...poison.map((value, i) => ({ key: `poison-${i}`, value })),
    ],
  });
  await producer.disconnect();

  const decoded = new Map<string, MessageEvent>();
  const failures: string[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('schemas') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        try {
          const e = codec.decode('MessageEvent', message.value!);
          assert.equal(String(message.key), e.sender, 'key = sender');
          decoded.set(e.messageId, e);
        } catch (err) {
          assert.ok(err instanceof SchemaDecodeError);
          failures.push(err.code);
        }
        if (decoded.size + failures.length === events.length + poison.length) resolve();
      },
    });
  });
  await consumer.disconnect();
  assert.equal(decoded.size, events.length);
  assert.deepEqual(failures.sort(), ['BAD_MARKER', 'UNKNOWN_FINGERPRINT']);
  assert.deepEqual({ ...decoded.get('m-7') }, events[7]);
});
