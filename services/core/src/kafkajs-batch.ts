/**
 * kafkajs 2.2.4's Batch (consumer/batch.js: the records of one partition in one fetch response),
 * with the same fields and methods, installed before kafkajs loads. kafkajs parses every record's
 * offset into a Long to drop records before the fetched offset, and copies the array twice more
 * to drop aborted and control records: a tenth of a changelog restore's CPU. Here offsets are
 * compared as decimal strings, only until the first record at or past the fetched offset (a
 * partition's records come in offset order), and an array is copied only when something is
 * dropped. ARCHITECTURE.md, "Known constraints", lists every fix and why.
 */

import { replaceKafkajsModule } from './kafkajs-module.ts';
import { filterAbortedMessages } from './kafkajs-read-committed.ts';

interface BatchMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string | number; readonly inTransaction: boolean };
}

interface PartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: BatchMessage[];
  readonly abortedTransactions?:
    | { readonly producerId: string | number; readonly firstOffset: string | number }[]
    | null;
}

/** a >= b for non-negative integers written in decimal without leading zeros. */
export function offsetAtLeast(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a >= b;
}

/** The records at or after `fetchedOffset` (records come in offset order): the same array when all are. */
export function withinOffset<M extends { readonly offset: string }>(
  messages: M[],
  fetchedOffset: string,
): M[] {
  let first = 0;
  while (first < messages.length && !offsetAtLeast(messages[first]!.offset, fetchedOffset)) first++;
  return first === 0 ? messages : messages.slice(first);
}

/** The records without control records: the same array when there are none. */
function withoutControlRecords(messages: BatchMessage[]): BatchMessage[] {
  for (let i = 0; i < messages.length; i++)
    if (messages[i]!.isControlRecord) return messages.filter((m) => !m.isControlRecord);
  return messages;
}

class Batch {
  readonly fetchedOffset: string;
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: string;
  readonly rawMessages: BatchMessage[];
  readonly messagesWithinOffset: BatchMessage[];
  readonly messages: BatchMessage[];

  constructor(topic: string, fetchedOffset: string | number, partitionData: PartitionData) {
    this.fetchedOffset = String(fetchedOffset);
    this.topic = topic;
    this.partition = partitionData.partition;
    this.highWatermark = partitionData.highWatermark;
    this.rawMessages = partitionData.messages;
    this.messagesWithinOffset = withinOffset(this.rawMessages, this.fetchedOffset);
    this.messages = withoutControlRecords(
      filterAbortedMessages({
        messages: this.messagesWithinOffset,
        abortedTransactions: partitionData.abortedTransactions ?? null,
      }) as BatchMessage[],
    );
  }

  isEmpty(): boolean {
    return this.messages.length === 0;
  }

  isEmptyIncludingFiltered(): boolean {
    return this.messagesWithinOffset.length === 0;
  }

  /** Records were fetched, and every one was dropped (aborted, a control record or before the offset). */
  isEmptyDueToFiltering(): boolean {
    return this.isEmpty() && this.rawMessages.length > 0;
  }

  isEmptyControlRecord(): boolean {
    return this.isEmpty() && this.messagesWithinOffset.some((m) => m.isControlRecord);
  }

  /** Every record fetched was before the fetched offset (a compacted partition's older batch). */
  isEmptyDueToLogCompactedMessages(): boolean {
    return this.rawMessages.length > 0 && this.isEmptyIncludingFiltered();
  }

  firstOffset(): string | null {
    return this.isEmptyIncludingFiltered() ? null : this.messagesWithinOffset[0]!.offset;
  }

  lastOffset(): string {
    if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset;
    if (this.isEmptyIncludingFiltered()) return String(BigInt(this.highWatermark) - 1n);
    return this.messagesWithinOffset[this.messagesWithinOffset.length - 1]!.offset;
  }

  /** Records after the batch's last one: the partition's last offset minus lastOffset(). */
  offsetLag(): string {
    return String(BigInt(this.highWatermark) - 1n - BigInt(this.lastOffset()));
  }

  /** Records from the batch's first one to the partition's last. */
  offsetLagLow(): string {
    if (this.isEmptyIncludingFiltered()) return '0';
    return String(BigInt(this.highWatermark) - 1n - BigInt(this.firstOffset()!));
  }
}

replaceKafkajsModule('kafkajs/src/consumer/batch', Batch, 'spamgate.kafkajs-batch');
