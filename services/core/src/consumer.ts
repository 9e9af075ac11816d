/**
 * An at-least-once batch consumer with the kafkajs rebalance pitfalls handled: offsets are
 * resolved only after the handler finished a batch, work on a revoked partition stops
 * (isStale), long batches heartbeat, and shutdown lets the in-flight batch finish and commit
 * before the consumer leaves the group. Services that need exactly-once (transactions with
 * sendOffsets) build on kafkajs directly; this is for everything else.
 */
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { instrumentConsumer, type Registry } from './metrics.ts';

export interface ConsumerBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
}

export interface BatchControls {
  /** Sends a heartbeat if one is due; call it inside long loops. */
  heartbeat(): Promise<void>;
  /** True once the partition was revoked (another instance owns it now): stop and return. On
   * shutdown this stays false, so the in-flight batch is finished and committed. */
  shouldStop(): boolean;
  /** Marks every message up to and including this offset as done. */
  resolveOffset(offset: string): void;
}

export interface BatchConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly registry: Registry;
  readonly lifecycle: Lifecycle;
  /**
   * Processes one batch. Messages not resolved when it returns are delivered again. Return
   * normally after resolving the processed prefix; throw to have kafkajs retry the batch.
   */
  readonly handleBatch: (batch: ConsumerBatch, controls: BatchControls) => Promise<void>;
  readonly fromBeginning?: boolean;
  readonly consumerConfig?: Partial<ConsumerConfig>;
}

export interface BatchConsumer {
  readonly consumer: Consumer;
  start(): Promise<void>;
  /** True once the consumer joined its group and was assigned partitions at least once. */
  isReady(): boolean;
}

export function createBatchConsumer(options: BatchConsumerOptions): BatchConsumer {
  const { kafka, groupId, logger, lifecycle } = options;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    ...options.consumerConfig,
  });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    logger.info({ groupId, memberAssignment: payload.memberAssignment }, 'joined consumer group');
  });
  instrumentConsumer(consumer, options.registry, groupId);

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch, heartbeat, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary } = payload;
    if (!isRunning() || isStale()) return;
    await options.handleBatch(
      { topic: batch.topic, partition: batch.partition, messages: batch.messages },
      { heartbeat, shouldStop: isStale, resolveOffset },
    );
    if (!isStale()) await commitOffsetsIfNecessary();
  };

  return {
    consumer,
    isReady: () => joined,
    async start() {
      await consumer.connect();
      for (const topic of options.topics) {
        await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      }
      lifecycle.onShutdown(`consumer ${groupId}`, async () => {
        // disconnect() stops fetching, waits for the running batch, commits what it resolved,
        // and leaves the group so the partitions move at once.
        await consumer.disconnect();
      });
      await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, eachBatch });
    },
  };
}
