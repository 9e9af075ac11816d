/**
 * The pieces every exactly-once partition owner repeats (the feature engine, the decision
 * engine): a transactional producer per input partition that fences the previous owner, the
 * offsets committed with the state being restored, the end of a changelog partition, and a
 * transaction's records sent in requests the broker accepts.
 */
import './kafkajs-fixes.ts';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { TRANSACTIONAL_PRODUCER_RETRY } from './kafka.ts';
import { MAX_REQUEST_BYTES, requestsOf, type TopicMessages } from './produce.ts';

/**
 * Connects the transactional producer of one partition and fences its previous owner:
 * initialising the transactional id makes the broker abort the previous owner's open
 * transaction, so the changelog read after this is final.
 */
export async function openFencedProducer(kafka: Kafka, transactionalId: string): Promise<Producer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
    retry: { ...TRANSACTIONAL_PRODUCER_RETRY },
  });
  await producer.connect();
  await (await producer.transaction()).abort();
  return producer;
}

/** The group's committed offset of `partition` in each topic that has one. */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
  partition: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const o = committed?.partitions.find((x) => x.partition === partition)?.offset;
      if (o !== undefined && Number(o) >= 0) out.set(topic, o);
    }
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** The high watermark of one partition (its next offset, transaction markers included). */
export async function partitionEnd(kafka: Kafka, topic: string, partition: number): Promise<number> {
  return Number((await partitionOffsets(kafka, topic, partition))?.high ?? 0);
}

/** The first offset one partition still holds (where a group with nothing committed starts). */
export async function partitionStart(kafka: Kafka, topic: string, partition: number): Promise<number> {
  return Number((await partitionOffsets(kafka, topic, partition))?.low ?? 0);
}

async function partitionOffsets(kafka: Kafka, topic: string, partition: number) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends a transaction's records in requests under the broker's 1 MiB batches. Returns the end of
 * the changelog partition after them (last offset + 1, before the commit marker), or undefined
 * when nothing was written to it.
 */
export async function sendInTransaction(
  txn: Transaction,
  topicMessages: readonly TopicMessages[],
  changelog: { readonly topic: string; readonly partition: number },
): Promise<number | undefined> {
  let end: number | undefined;
  for (const request of requestsOf(topicMessages, MAX_REQUEST_BYTES)) {
    const metadata = await txn.sendBatch({ topicMessages: request, acks: -1 });
    const sent = request.find((t) => t.topic === changelog.topic)?.messages.length ?? 0;
    const written = metadata.find(
      (m) => m.topicName === changelog.topic && m.partition === changelog.partition,
    );
    if (written && sent > 0) end = Number(written.baseOffset) + sent;
  }
  return end;
}
