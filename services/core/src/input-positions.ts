/**
 * Which owned input partitions have been read to their end. An idle clock (a watermark or a
 * decision clock moved on with the wall clock) may move only while nothing waits to be read:
 * the time a partition spent down, waiting for its assignment or behind a backlog is not
 * idleness, and counting it moves event time past input that is still coming.
 *
 * Learned from the consumer's own batches (kafkajs reports each processed batch's lag, batches
 * of only transaction markers or aborted records included) and, when a partition is opened,
 * from its end offsets against the group's committed ones. See ARCHITECTURE.md, "One clock".
 */
import type { Consumer, Kafka } from 'kafkajs';

export interface InputPositions {
  /**
   * Starts tracking a partition with each input topic's records left to read. A batch the
   * consumer reported before this (one of only markers, which it resolves on its own) counts too.
   */
  open(partition: number, lags: ReadonlyMap<string, number>): void;
  /** Stops tracking a partition (revoked, dropped); what was learned of it is forgotten. */
  close(partition: number): void;
  /** A processed batch's lag (records after it); true when it made its partition caught up. */
  observe(topic: string, partition: number, lag: number): boolean;
  /** Whether every input topic of an open partition was read to its end at the last report. */
  caughtUp(partition: number): boolean;
}

export function createInputPositions(): InputPositions {
  const open = new Map<number, Map<string, number>>();
  /** Batches reported for partitions not open yet: the consumer fetches while a task opens. */
  const early = new Map<number, Map<string, number>>();
  const isCaughtUp = (lags: ReadonlyMap<string, number>) => [...lags.values()].every((l) => l <= 0);
  return {
    open(partition, lags) {
      const seen = early.get(partition);
      early.delete(partition);
      const merged = new Map(lags);
      for (const [topic, lag] of seen ?? []) merged.set(topic, Math.min(lag, merged.get(topic) ?? lag));
      open.set(partition, merged);
    },
    close(partition) {
      open.delete(partition);
      early.delete(partition);
    },
    observe(topic, partition, lag) {
      const lags = open.get(partition);
      if (!lags) {
        const seen = early.get(partition) ?? new Map<string, number>();
        seen.set(topic, lag);
        early.set(partition, seen);
        return false;
      }
      const before = isCaughtUp(lags);
      lags.set(topic, lag);
      return !before && isCaughtUp(lags);
    },
    caughtUp(partition) {
      const lags = open.get(partition);
      return lags !== undefined && isCaughtUp(lags);
    },
  };
}

/**
 * Each topic's records of `partition` past `committed` (the group's offsets, as committedOffsets
 * returns them): end minus committed offset, or minus the log start when nothing was committed.
 * A transaction's trailing commit marker counts as one until the consumer reads past it.
 */
export async function inputLags(
  kafka: Kafka,
  committed: ReadonlyMap<string, string>,
  topics: readonly string[],
  partition: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const ends = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition);
      const from = Number(committed.get(topic) ?? ends?.low ?? 0);
      out.set(topic, Math.max(0, Number(ends?.high ?? 0) - from));
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

/**
 * Reports every batch `consumer` processed to `positions`, and calls `onCaughtUp` when one made
 * its partition caught up (the moment its idleness starts).
 */
export function followPositions(
  consumer: Consumer,
  positions: InputPositions,
  onCaughtUp: (partition: number) => void,
): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (positions.observe(payload.topic, payload.partition, Number(payload.offsetLag)))
      onCaughtUp(payload.partition);
  });
}
