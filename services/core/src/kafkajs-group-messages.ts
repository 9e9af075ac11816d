/**
 * A fix for kafkajs 2.2.4's producer, installed before kafkajs loads (kafkajs-module.ts).
 *
 * Before a send, kafkajs groups its messages per partition by copying the partition's list for
 * every message (producer/groupMessagesPerPartition.js, `[...current, message]`): quadratic in
 * the messages of one partition. A partition task's transaction writes all its changelog records
 * to one partition, thousands of them after a busy batch, so the copying grew with the square of
 * the batch (kafkajs PR #1576 makes the same change; it was never merged). This groups in one pass.
 */
import { replaceKafkajsModule } from './kafkajs-module.ts';

interface GroupArgs<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: M;
  }) => number;
}

/** The messages of one topic by the partition the partitioner gives each, in their order. */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const out: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = out[partition];
    if (list) list.push(message);
    else out[partition] = [message];
  }
  return out;
}

replaceKafkajsModule(
  'kafkajs/src/producer/groupMessagesPerPartition',
  groupMessagesPerPartition,
  'spamgate.kafkajs-group-messages',
);
