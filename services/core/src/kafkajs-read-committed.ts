/**
 * A fix for kafkajs 2.2.4's read_committed isolation, installed before kafkajs loads.
 *
 * A fetch response lists the transactions aborted in the fetched range (producer id, first
 * offset). kafkajs (consumer/filterAbortedMessages.js) walks the records and starts ignoring a
 * producer when a record's offset reaches the *first* listed transaction's first offset, one
 * transaction per record, in the order the broker listed them. When several producers' aborted
 * transactions interleave in one partition (a transactional producer per partition task, killed
 * mid-transaction, writing into the same partitions of a repartition topic), the broker's list
 * follows the order the transactions ended in (its transaction index), not the order they
 * started in, and more than one transaction starts before a record: kafkajs then delivers
 * records of aborted transactions to read_committed consumers. spamgate's feature engine found it
 * as opt-outs counted twice after a SIGKILL (once from the aborted transaction, once from its
 * retry); Kafka's Java consumer, reading the same partition, skipped them.
 *
 * The filter below does what the Java consumer does (Fetcher's abortedProducerIds): transactions
 * ordered by first offset, every one whose first offset the record has reached is started, an
 * abort marker of a producer ends it. It replaces kafkajs's module (kafkajs-module.ts) before
 * kafkajs is first loaded: this module is among the first imports of @spamgate/core.
 */
import { replaceKafkajsModule } from './kafkajs-module.ts';

interface RawMessage {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string | number; readonly inTransaction: boolean };
}

interface AbortedTransaction {
  readonly producerId: string | number;
  readonly firstOffset: string | number;
}

/** The key of an abort marker (control record version 0, type 0). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(message: RawMessage): boolean {
  return message.key != null && Buffer.from(message.key).equals(ABORT_MARKER_KEY);
}

/** The records of a fetched range that belong to no aborted transaction, control records kept. */
export function filterAbortedMessages({
  messages,
  abortedTransactions,
}: {
  messages: RawMessage[];
  abortedTransactions?: AbortedTransaction[] | null;
}): RawMessage[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) =>
    BigInt(a.firstOffset) < BigInt(b.firstOffset)
      ? -1
      : BigInt(a.firstOffset) > BigInt(b.firstOffset)
        ? 1
        : 0,
  );
  const aborted = new Set<string>();
  let next = 0;
  return messages.filter((message) => {
    const offset = BigInt(message.offset);
    while (next < pending.length && offset >= BigInt(pending[next]!.firstOffset))
      aborted.add(String(pending[next++]!.producerId));
    const producer = String(message.batchContext.producerId);
    if (isAbortMarker(message) && message.isControlRecord !== false) {
      aborted.delete(producer);
      return true; // control records are dropped by kafkajs after this filter
    }
    return !(message.batchContext.inTransaction && aborted.has(producer));
  });
}

// A second copy of this module (another path to it) recognises the installed fix by its mark.
replaceKafkajsModule(
  'kafkajs/src/consumer/filterAbortedMessages',
  filterAbortedMessages,
  'spamgate.kafkajs-read-committed',
);
