/**
 * Reading a whole topic with Fetch requests to its partitions' leaders, outside any consumer
 * group: nothing to join, leave, delete or be granted. The schema topic is read this way, by any
 * instance that meets an unknown writer fingerprint (issue 19), so that a stream of made-up
 * fingerprints costs fetches, never group churn on the coordinator. Each partition is read from
 * its first offset to the end it had when the read began, read_committed, over kafkajs's own
 * cluster and brokers (the client's TLS and SASL settings) and its Batch (aborted and control
 * records dropped). kafkajs has no public API for it: the internals used are listed in
 * ARCHITECTURE.md, "Known constraints", and test/direct-read tests run them on a real broker.
 */
import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { TopicRecords } from './topic-reader.ts';

const require = createRequire(import.meta.url);

/** kafkajs's READ_COMMITTED (protocol/isolationLevel.js). */
const READ_COMMITTED = 1;
/** Fetches in a row that may return nothing below a partition's end before the read fails. */
const MAX_EMPTY_FETCHES = 25;
/** Bytes asked for per fetch: the broker still returns a first batch larger than this whole. */
const FETCH_BYTES = 1_048_576;

interface FetchedPartition {
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: unknown[];
}

interface Broker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<Broker>;
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

interface Batch {
  readonly messages: KafkaMessage[];
  lastOffset(): string;
}

type BatchClass = new (topic: string, fetchedOffset: string, partition: FetchedPartition) => Batch;

/** The cluster factory a Kafka client keeps under a private symbol (kafkajs 2.x, src/index.js). */
function clusterOf(kafka: Kafka): Cluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create = symbol && (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof create !== 'function')
    throw new Error('this kafkajs keeps no cluster factory: direct reads need kafkajs 2.x');
  return create({
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    isolationLevel: READ_COMMITTED,
  }) as Cluster;
}

export interface DirectReadOptions {
  readonly topic: string;
  /** Stops the read: it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Longest the broker may hold a fetch that has nothing yet, ms (default 200). */
  readonly maxWaitMs?: number;
  readonly onRecords: (records: TopicRecords) => void | Promise<void>;
}

/** Reads every partition of `topic` from its start to its end as of the call; no consumer group. */
export async function readTopicDirect(kafka: Kafka, options: DirectReadOptions): Promise<void> {
  const { topic, signal } = options;
  signal?.throwIfAborted();
  const Batch = require('kafkajs/src/consumer/batch') as BatchClass;
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const partitions = cluster
      .findTopicPartitionMetadata(topic)
      .map((m) => ({ partition: m.partitionId }))
      .sort((a, b) => a.partition - b.partition);
    const offsets = async (fromBeginning: boolean) =>
      new Map(
        (await cluster.fetchTopicsOffset([{ topic, fromBeginning, partitions }]))
          .flatMap((t) => t.partitions)
          .map((p) => [p.partition, BigInt(p.offset)]),
      );
    const [starts, ends] = [await offsets(true), await offsets(false)];
    for (const { partition } of partitions) {
      let next = starts.get(partition) ?? 0n;
      const end = ends.get(partition) ?? 0n;
      let empty = 0;
      while (next < end) {
        signal?.throwIfAborted();
        const fetched = await fetchOnce(cluster, topic, partition, next, options.maxWaitMs ?? 200);
        if (fetched.messages.length === 0) {
          // Nothing at all below an end the broker gave: it ended there (deleted records), or
          // the fetch came too soon after a leader change; never a reason to skip ahead.
          if (BigInt(fetched.highWatermark) <= next) break;
          if (++empty >= MAX_EMPTY_FETCHES)
            throw new Error(`${topic}/${partition} returned nothing at offset ${next} below its end ${end}`);
          continue;
        }
        empty = 0;
        const batch = new Batch(topic, String(next), fetched);
        if (batch.messages.length > 0) await options.onRecords({ partition, messages: batch.messages });
        // Past every record the fetch held, kept or dropped (aborted, control, compacted away).
        const after = BigInt(batch.lastOffset()) + 1n;
        if (after > next) next = after;
      }
    }
  } finally {
    await cluster.disconnect().catch(() => {});
  }
}

/** One fetch of a partition from its leader; after a leader change, once more with fresh metadata. */
async function fetchOnce(
  cluster: Cluster,
  topic: string,
  partition: number,
  offset: bigint,
  maxWaitMs: number,
): Promise<FetchedPartition> {
  for (let attempt = 0; ; attempt++) {
    try {
      const [nodeId] = Object.keys(cluster.findLeaderForPartitions(topic, [partition]));
      if (nodeId === undefined) throw new Error(`no leader for ${topic}/${partition}`);
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        replicaId: -1,
        isolationLevel: READ_COMMITTED,
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: FETCH_BYTES,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: FETCH_BYTES }] }],
      });
      const fetched = responses.flatMap((r) => r.partitions).find((p) => p.partition === partition);
      if (!fetched) throw new Error(`no ${topic}/${partition} in the fetch response`);
      return fetched;
    } catch (err) {
      if (attempt >= 2) throw err;
      await cluster.refreshMetadata();
    }
  }
}
