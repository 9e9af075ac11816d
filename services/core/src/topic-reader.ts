/**
 * Reading a topic outside a consumer group's assignment: every partition (or the chosen ones)
 * from the beginning, read_committed, with a throwaway group id that is deleted afterwards.
 *
 * - `readToEnd` reads up to the end offsets as they were when it was called, then stops: how a
 *   service restores state from a compacted changelog.
 * - `followTopic` keeps reading after that, and says when it first caught up: how every
 *   instance of a service holds a whole small table (operator overrides, cluster features).
 *
 * "Caught up" is checked after every batch kafkajs processes, including batches whose records
 * read_committed filtered out entirely (a partition that ends in an aborted transaction, or in a
 * commit marker), which eachBatch never sees.
 */
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';

export interface TopicRecords {
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
}

async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, { low: number; high: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map(
      (await admin.fetchTopicOffsets(topic)).map((o) => [
        o.partition,
        { low: Number(o.low), high: Number(o.high) },
      ]),
    );
  } finally {
    await admin.disconnect();
  }
}

async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([groupId]).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

interface Reading {
  readonly consumer: Consumer;
  /** Resolves once every partition reached the end it had when reading began. */
  readonly caughtUp: Promise<void>;
}

function startReading(
  kafka: Kafka,
  topic: string,
  groupId: string,
  ends: Map<number, { low: number; high: number }>,
  partitions: ReadonlySet<number> | undefined,
  onRecords: (records: TopicRecords) => void | Promise<void>,
  stopAtEnd: boolean,
): Reading {
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxBytesPerPartition: 8 * 1_048_576 });
  const pending = new Set<number>();
  for (const [p, e] of ends) if ((!partitions || partitions.has(p)) && e.high > e.low) pending.add(p);
  let resolveCaughtUp!: () => void;
  let rejectCaughtUp!: (err: unknown) => void;
  const caughtUp = new Promise<void>((resolve, reject) => {
    resolveCaughtUp = resolve;
    rejectCaughtUp = reject;
  });
  const wanted = (p: number) => !partitions || partitions.has(p);
  const reached = (p: number) => {
    pending.delete(p);
    if (stopAtEnd) consumer.pause([{ topic, partitions: [p] }]);
    if (pending.size === 0) resolveCaughtUp();
  };
  consumer.on(consumer.events.CRASH, ({ payload }) => rejectCaughtUp(payload.error));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const p = payload.partition;
    if (payload.topic !== topic || !pending.has(p)) return;
    if (Number(payload.lastOffset) >= ends.get(p)!.high - 1) reached(p);
  });
  const run = async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    if (pending.size === 0) resolveCaughtUp();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const p = batch.partition;
        if (!wanted(p) || (stopAtEnd && !pending.has(p))) {
          consumer.pause([{ topic, partitions: [p] }]);
          return;
        }
        await onRecords({ partition: p, messages: batch.messages });
      },
    });
  };
  run().catch(rejectCaughtUp);
  return { consumer, caughtUp };
}

/**
 * Reads `partitions` of `topic` (all when omitted) from the beginning to their current ends, in
 * offset order per partition. Returns the end offsets it read to.
 */
export async function readToEnd(
  kafka: Kafka,
  options: {
    readonly topic: string;
    readonly groupId: string;
    readonly partitions?: readonly number[];
    readonly onRecords: (records: TopicRecords) => void | Promise<void>;
    /** Stops the read when it aborts: the promise rejects with the signal's reason. */
    readonly signal?: AbortSignal;
  },
): Promise<Map<number, number>> {
  const ends = await endOffsets(kafka, options.topic);
  const wanted = options.partitions ? new Set(options.partitions) : undefined;
  const out = new Map<number, number>();
  for (const [p, e] of ends) if (!wanted || wanted.has(p)) out.set(p, e.high);
  if ([...ends].every(([p, e]) => (wanted && !wanted.has(p)) || e.high <= e.low)) return out;
  const reading = startReading(kafka, options.topic, options.groupId, ends, wanted, options.onRecords, true);
  const { signal } = options;
  const aborted =
    signal &&
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  try {
    await (aborted ? Promise.race([reading.caughtUp, aborted]) : reading.caughtUp);
  } finally {
    await reading.consumer.disconnect();
    await deleteGroup(kafka, options.groupId);
  }
  return out;
}

export interface FollowedTopic {
  /** Resolves once the records that existed when following began were all delivered. */
  readonly caughtUp: Promise<void>;
  /** False once kafkajs gave up on the reader (a crash it does not restart from). */
  healthy(): boolean;
  stop(): Promise<void>;
}

/** Reads every partition of `topic` from the beginning and keeps reading until stopped. */
export async function followTopic(
  kafka: Kafka,
  options: {
    readonly topic: string;
    readonly groupId: string;
    readonly logger: Logger;
    readonly onRecords: (records: TopicRecords) => void | Promise<void>;
  },
): Promise<FollowedTopic> {
  const ends = await endOffsets(kafka, options.topic);
  const reading = startReading(
    kafka,
    options.topic,
    options.groupId,
    ends,
    undefined,
    options.onRecords,
    false,
  );
  let healthy = true;
  reading.consumer.on(reading.consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    healthy = false;
    options.logger.error(
      { topic: options.topic, err: describeError(payload.error) },
      'following a topic stopped',
    );
  });
  reading.caughtUp.catch((err: unknown) =>
    options.logger.error({ topic: options.topic, err: describeError(err) }, 'following a topic failed'),
  );
  return {
    caughtUp: reading.caughtUp,
    healthy: () => healthy,
    async stop() {
      await reading.consumer.disconnect();
      await deleteGroup(kafka, options.groupId);
    },
  };
}
