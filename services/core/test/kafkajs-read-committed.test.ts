// kafkajs's read_committed filter, replaced by @spamgate/core: records of aborted transactions
// never reach a consumer, however the broker orders its list of aborted transactions.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { filterAbortedMessages } from '@spamgate/core';

const require = createRequire(import.meta.url);

/** A record of `producer` at `offset` (transactional unless producer is null). */
function record(offset: number, producer: string | null, key: Buffer | null = Buffer.from('k')) {
  return {
    offset: String(offset),
    key,
    isControlRecord: false,
    batchContext: { producerId: producer ?? '-1', inTransaction: producer !== null },
  };
}
const marker = (offset: number, producer: string, abort: boolean) => ({
  ...record(offset, producer, Buffer.from([0, 0, 0, abort ? 0 : 1])),
  isControlRecord: true,
});

/**
 * Three task producers writing one partition of a repartition topic: A aborted (killed), B
 * committed, C aborted, interleaved; the broker lists C before A.
 */
const partition = {
  messages: [
    record(0, 'A'),
    record(1, 'B'),
    record(2, 'A'),
    record(3, 'C'),
    record(4, null),
    record(5, 'B'),
    marker(6, 'B', false),
    record(7, 'C'),
    marker(8, 'A', true),
    marker(9, 'C', true),
    record(10, 'A'), // A's next transaction, committed
    marker(11, 'A', false),
  ],
  abortedTransactions: [
    { producerId: 'C', firstOffset: '3' },
    { producerId: 'A', firstOffset: '0' },
  ],
};
const delivered = (messages: { offset: string; isControlRecord?: boolean }[]) =>
  messages.filter((m) => !m.isControlRecord).map((m) => Number(m.offset));

test('records of aborted transactions are dropped, whatever the order of the broker’s list', () => {
  assert.deepEqual(delivered(filterAbortedMessages(partition)), [1, 4, 5, 10]);
  assert.deepEqual(
    delivered(
      filterAbortedMessages({
        ...partition,
        abortedTransactions: [...partition.abortedTransactions].reverse(),
      }),
    ),
    [1, 4, 5, 10],
  );
  assert.deepEqual(
    delivered(filterAbortedMessages({ ...partition, abortedTransactions: [] })),
    [0, 1, 2, 3, 4, 5, 7, 10],
  );
});

test('kafkajs consumers use the fixed filter (it was installed before kafkajs loaded)', () => {
  assert.equal(require('kafkajs/src/consumer/filterAbortedMessages'), filterAbortedMessages);
  // A kafkajs Batch, as its consumer builds one from a fetch response.
  const Batch = require('kafkajs/src/consumer/batch');
  const batch = new Batch('t', '0', { partition: 0, highWatermark: '12', ...partition });
  assert.deepEqual(
    batch.messages.map((m: { offset: string }) => Number(m.offset)),
    [1, 4, 5, 10],
  );
});
