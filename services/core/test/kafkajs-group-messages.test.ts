// kafkajs's per-partition grouping of a send, replaced by @spamgate/core with a one-pass one.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '@spamgate/core';

const require = createRequire(import.meta.url);

test("kafkajs's producer groups with the one-pass grouping: same groups, same order", () => {
  const group = require('kafkajs/src/producer/groupMessagesPerPartition');
  const createSendMessages = require('kafkajs/src/producer/sendMessages');
  assert.equal(typeof createSendMessages, 'function');
  assert.equal(group[Symbol.for('spamgate.kafkajs-group-messages')], true, 'the fix is what kafkajs loads');
  const messages = Array.from({ length: 9 }, (_, i) => ({ value: `m${i}`, partition: i % 3 === 0 ? 2 : 0 }));
  const byPartition = group({
    topic: 't',
    partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }],
    messages,
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
  });
  assert.deepEqual(
    Object.fromEntries(
      Object.entries(byPartition).map(([p, ms]) => [p, (ms as { value: string }[]).map((m) => m.value)]),
    ),
    { 0: ['m1', 'm2', 'm4', 'm5', 'm7', 'm8'], 2: ['m0', 'm3', 'm6'] },
  );
  assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }), {});
});
