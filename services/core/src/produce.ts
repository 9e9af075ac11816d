/**
 * Splitting a transaction's outputs into produce requests the broker accepts: each request at
 * most `maxBytes` of keys and values (and at least one record), topics kept in order.
 */
import './kafkajs-fixes.ts';
import { type Message, Partitioners, type PartitionMetadata } from 'kafkajs';

/** Bytes of records per produce request; under the broker's and topics' 1 MiB default. */
export const MAX_REQUEST_BYTES = 768 * 1024;

export interface TopicMessages {
  readonly topic: string;
  readonly messages: Message[];
}

export function requestsOf(topicMessages: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let run: Message[] = [];
    for (const m of messages) {
      const size = 70 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
      if (bytes + size > maxBytes && (run.length > 0 || current.length > 0)) {
        if (run.length > 0) current.push({ topic, messages: run });
        requests.push(current);
        current = [];
        run = [];
        bytes = 0;
      }
      run.push(m);
      bytes += size;
    }
    if (run.length > 0) current.push({ topic, messages: run });
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/**
 * The partition Kafka's default partitioner (murmur2, as in the Java client and kafkajs) gives a
 * key among `partitions`: where a producer that names no partition writes the key's records.
 */
export function partitionOfKey(key: string | Buffer, partitions: number): number {
  let metadata = metadataOf.get(partitions);
  if (!metadata) {
    // Made once per count: the feature engine asks for every message it re-keys.
    metadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0 }));
    metadataOf.set(partitions, metadata);
  }
  return defaultPartitioner({
    topic: 'spamgate',
    partitionMetadata: metadata as unknown as PartitionMetadata[],
    message: { key, value: null },
  });
}

const metadataOf = new Map<number, { partitionId: number; leader: number }[]>();

const defaultPartitioner = Partitioners.DefaultPartitioner();
