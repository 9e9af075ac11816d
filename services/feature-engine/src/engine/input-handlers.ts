/**
 * What the feature engine does with one decoded input record, without Kafka or a codec: it checks
 * the record, applies it to its partition's processors, and returns the records to re-key by
 * recipient (replies, opt-outs and contacts are counted in the recipient's partition) and by
 * content cluster (the cluster's partition counts it across senders). The Kafka shell
 * (feature-engine.ts) decodes, calls these and writes what they return in the partition's
 * transaction; an in-process harness can route the same records back itself, so both drive the
 * processors with the same code.
 *
 * Bad input throws typed errors before anything changes (the shell dead-letters them):
 * InvalidAddressError, EventTimeSkewError, EventTimeInvalidError, InvalidClusterIdError.
 */
import { clusterIdString, parseClusterId, SpamgateError } from '@spamgate/core';
import type { ClusterEvent, FeedbackEvent, Hash64, MessageEvent, ReceivedMessage } from '@spamgate/schemas';
import type { ClusterFeaturesRecord, ClusterProcessor } from '../clusters/cluster-processor-api.ts';
import type { ClusterMessage, HashHalves } from '../clusters/cluster-state.ts';
import type { PreviousKeys } from '../relations/book-store.ts';
import { bookId, isBookId } from '../relations/relation-book.ts';
import { callbackHashes, type FactKeys, messageFacts } from './facts.ts';
import type { PartitionProcessor, ProcessorOutput } from './processor-api.ts';

/** The processors of one partition p: its senders, and the content clusters whose id hashes to p. */
export interface PartitionProcessors {
  readonly processor: PartitionProcessor;
  readonly clusters: ClusterProcessor;
}

/**
 * A record to deliver to another partition: by recipient (the key is the recipient's book id; the
 * partition is the one the default partitioner gives `partitionKey`, the clear address, where its
 * own messages go; the clear address goes no further than choosing it) or by content cluster (the
 * key is the cluster id, clusterIdString's form).
 */
export type Rekeyed =
  | {
      readonly to: 'byRecipient';
      readonly key: string;
      readonly partitionKey: string;
      readonly value: ReceivedMessage;
    }
  | { readonly to: 'byCluster'; readonly key: string; readonly value: ClusterEvent };

export interface InputHandlers {
  /** A message a sender sent: its windows, then copies by recipient and (with a cluster) by cluster. */
  message(p: PartitionProcessors, event: MessageEvent, wallClockMs: number): Rekeyed[];
  /** Feedback about a sender; a spam report or delivery failure naming its recipient goes to its cluster. */
  feedback(p: PartitionProcessors, event: FeedbackEvent, wallClockMs: number): Rekeyed[];
  /** A message to `event.recipient` from the by-recipient topic; a first answer goes to its cluster. */
  received(p: PartitionProcessors, event: ReceivedMessage, wallClockMs: number): Rekeyed[];
  /** A message or outcome of content cluster `clusterId` from the by-cluster topic. */
  clusterEvent(p: PartitionProcessors, clusterId: string, event: ClusterEvent, wallClockMs: number): void;
}

/** An address the engine cannot key state by: empty, too long, or holding control characters. */
export class InvalidAddressError extends SpamgateError {
  override name = 'InvalidAddressError';
  constructor(field: string, reason: string) {
    super(`${field} is not a usable address: ${reason}`, {
      code: 'INVALID_ADDRESS',
      retriable: false,
      badInput: true,
    });
  }
}

/** Longest address accepted: E.164 is 16 characters, alphanumeric sender ids 11; room for formats. */
const MAX_ADDRESS_CHARS = 64;

/**
 * Refuses addresses that cannot be state keys. Control characters are refused because the
 * changelog's own keys (PARTITION_META_KEY, relation books) start with NUL: a hostile sender
 * named like them would overwrite the partition's watermark.
 */
export function checkAddress(field: string, address: string): void {
  if (address.length === 0) throw new InvalidAddressError(field, 'empty');
  if (address.length > MAX_ADDRESS_CHARS)
    throw new InvalidAddressError(field, `longer than ${MAX_ADDRESS_CHARS} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(address))
    throw new InvalidAddressError(field, 'contains control characters');
}

/**
 * The book a by-recipient record updates: the id it carries, or (a record of a release before book
 * ids) its clear address's. A malformed one is an InvalidAddressError, dead-lettered.
 */
function recipientBookOf(event: ReceivedMessage, keys: FactKeys): string {
  if (!event.recipientHashed) {
    checkAddress('recipient', event.recipient);
    return keys.bookId(event.recipient);
  }
  if (!isBookId(event.recipient)) throw new InvalidAddressError('recipient', 'not a book id (16 hex digits)');
  return event.recipient;
}

/**
 * What a by-recipient record written during a key rotation names under the previous key (both
 * or neither); a malformed book id is an InvalidAddressError, dead-lettered.
 */
function previousHeardOf(event: ReceivedMessage): PreviousKeys | undefined {
  const book = event.previousRecipient ?? null;
  const from = event.previousFromHash ?? null;
  if (book === null || from === null) return undefined;
  if (!isBookId(book)) throw new InvalidAddressError('previousRecipient', 'not a book id (16 hex digits)');
  return { book, counterpartHi: from.readUInt32BE(0), counterpartLo: from.readUInt32BE(4) };
}

/** A keyed 64-bit hash given as halves, as the 8 big-endian bytes of the Avro Hash64 type. */
function hash64({ hi, lo }: { hi: number; lo: number }): Hash64 {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(hi >>> 0, 0);
  b.writeUInt32BE(lo >>> 0, 4);
  return b;
}

/** A sender block's hash as Hash64 bytes, or null for a sender that is not a number. */
const blockHash = (block: { hi: number; lo: number } | null): Hash64 | null => (block ? hash64(block) : null);

/** Hash64 bytes as two unsigned 32-bit halves: what hash64 was given. */
const halvesOf = (h: Hash64): HashHalves => ({
  hi: h.readUInt32BE(0),
  lo: h.readUInt32BE(4),
});

/**
 * The empty domain and call-back lists of outcome events, shared (frozen: they are read, encoded
 * or counted, never filled).
 */
const NONE = Object.freeze([]) as unknown as never[];
/** Shared by every message with no call-back number. */
const NO_BIGINTS: readonly bigint[] = Object.freeze([]);

/** A Hash64 (8 bytes, as Avro's fixed type guarantees) as an unsigned 64-bit integer. */
const hashValue = (h: Hash64): bigint => h.readBigUInt64BE(0);

export function createInputHandlers(options: {
  readonly keys: FactKeys;
  readonly utcOffsetHours: number;
}): InputHandlers {
  const { keys, utcOffsetHours } = options;

  /** An outcome of a message of `cluster`, re-keyed to its cluster. */
  function outcome(
    cluster: number,
    kind: ClusterEvent['kind'],
    eventTime: number,
    senderHash: Hash64,
    recipientHash: Hash64,
    messageId: string | null,
  ): Rekeyed {
    return {
      to: 'byCluster',
      key: clusterIdString(cluster),
      value: {
        eventTime,
        kind,
        senderHash,
        recipientHash,
        campaignId: null,
        urlDomains: NONE,
        messageId,
        sequential: false,
        callbackHashes: NONE,
        afterOptOut: false,
        senderIgnoresOptOuts: false,
        senderBlockHash: null,
      },
    };
  }

  return {
    message(p, event, wallClockMs) {
      checkAddress('sender', event.sender);
      checkAddress('recipient', event.recipient);
      const { facts, content } = messageFacts(event, keys, utcOffsetHours);
      const cluster = content.clusterId ?? Number.NaN;
      // One keyed hash of the sender: its book id here, its Hash64 in what is re-keyed.
      const senderHalves = keys.recipientHash(event.sender);
      // During a key rotation, both addresses under the previous key too: what is still under it
      // is found by these, here and in the recipient's partition.
      const previousSender = keys.previous?.recipientHash(event.sender);
      const previousRecipient = keys.previous?.recipientHash(event.recipient);
      const { sequential, afterOptOut, senderIgnoresOptOuts, optOutCluster } = p.processor.message(
        event.sender,
        event.senderKind,
        event.campaignId,
        facts,
        wallClockMs,
        cluster,
        bookId(senderHalves.hi, senderHalves.lo),
        previousSender &&
          previousRecipient && {
            book: bookId(previousSender.hi, previousSender.lo),
            counterpartHi: previousRecipient.hi,
            counterpartLo: previousRecipient.lo,
          },
      );
      // To the partition of the recipient (same key, same partitioner as the input), where a reply
      // from the recipient's side is credited to it: no body, the sender only hashed.
      const senderHash = hash64(senderHalves);
      // Past an opt-out: the template that drew it learns that this sender ignored it.
      const ignored =
        afterOptOut && !Number.isNaN(optOutCluster)
          ? outcome(
              optOutCluster,
              'OPT_OUT_IGNORED',
              event.eventTime,
              senderHash,
              hash64({ hi: facts.recipientHi, lo: facts.recipientLo }),
              event.messageId,
            )
          : undefined;
      const recipientBook = bookId(facts.recipientHi, facts.recipientLo);
      const received: Rekeyed = {
        to: 'byRecipient',
        key: recipientBook,
        partitionKey: event.recipient,
        value: {
          messageId: event.messageId,
          eventTime: event.eventTime,
          recipient: recipientBook,
          fromHash: senderHash,
          kind: content.isOptOut ? 'OPT_OUT' : content.isOptIn ? 'OPT_IN' : 'MESSAGE',
          recipientHashed: true,
          previousRecipient: previousRecipient ? bookId(previousRecipient.hi, previousRecipient.lo) : null,
          previousFromHash: previousSender ? hash64(previousSender) : null,
        },
      };
      if (content.clusterId === null) return ignored ? [received, ignored] : [received];
      // To the partition of its content cluster, where it is counted across every sender.
      const out: Rekeyed[] = [
        received,
        {
          to: 'byCluster',
          key: clusterIdString(content.clusterId),
          value: {
            eventTime: event.eventTime,
            kind: 'MESSAGE',
            senderHash,
            recipientHash: hash64({ hi: facts.recipientHi, lo: facts.recipientLo }),
            campaignId: event.campaignId,
            urlDomains: content.urlDomains.length === 0 ? NONE : [...content.urlDomains],
            messageId: event.messageId,
            sequential,
            callbackHashes: callbackHashes(content, keys),
            afterOptOut,
            senderIgnoresOptOuts,
            senderBlockHash: blockHash(keys.senderBlock(event.sender)),
          },
        },
      ];
      if (ignored) out.push(ignored);
      return out;
    },

    feedback(p, event, wallClockMs) {
      checkAddress('sender', event.sender);
      const recipient = event.recipient === null ? undefined : keys.recipientHash(event.recipient);
      const cluster = p.processor.feedback(event.sender, event.eventTime, event.kind, wallClockMs, recipient);
      // A spam report or a delivery failure of a message of a content cluster counts against it too.
      if (Number.isNaN(cluster) || !recipient) return [];
      if (event.kind !== 'SPAM_REPORT' && event.kind !== 'DELIVERY_FAILURE') return [];
      const sender = keys.hash64(event.sender);
      return [outcome(cluster, event.kind, event.eventTime, sender, hash64(recipient), event.messageId)];
    },

    received(p, event, wallClockMs) {
      const book = recipientBookOf(event, keys);
      const previous = previousHeardOf(event);
      const from = event.fromHash;
      const kind = event.kind === 'OPT_OUT' ? 'optOut' : event.kind === 'OPT_IN' ? 'optIn' : 'message';
      const cluster = p.processor.heard(
        book,
        from.readUInt32BE(0),
        from.readUInt32BE(4),
        event.eventTime,
        kind,
        wallClockMs,
        previous,
      );
      // The first answer to a message of a content cluster counts for the cluster: an opt-out, or
      // a reply (an opt-in is one, as in the sender's reply features).
      if (Number.isNaN(cluster)) return [];
      return [
        outcome(
          cluster,
          kind === 'optOut' ? 'OPT_OUT' : 'REPLY',
          event.eventTime,
          Buffer.from(book, 'hex'), // the book id is the recipient's hash: who answered
          from,
          event.messageId,
        ),
      ];
    },

    clusterEvent(p, clusterId, event, wallClockMs) {
      parseClusterId(clusterId); // a typed error (a dead letter) for a key that is not a cluster id
      if (event.kind !== 'MESSAGE') {
        // The sender told STOP, or ignoring it: what optedOutSenders and optOutIgnoredSenders count.
        const told = event.kind === 'OPT_OUT' || event.kind === 'OPT_OUT_IGNORED';
        const sender = told ? halvesOf(event.senderHash) : undefined;
        p.clusters.outcome(clusterId, event.eventTime, event.kind, wallClockMs, sender);
        return;
      }
      const sender = event.senderHash;
      const recipient = event.recipientHash;
      const message: ClusterMessage = {
        timeMs: event.eventTime,
        senderHi: sender.readUInt32BE(0),
        senderLo: sender.readUInt32BE(4),
        recipientHi: recipient.readUInt32BE(0),
        recipientLo: recipient.readUInt32BE(4),
        campaignId: event.campaignId,
        urlDomains: event.urlDomains,
        sequential: event.sequential,
        callbackHashes: event.callbackHashes.length === 0 ? NO_BIGINTS : event.callbackHashes.map(hashValue),
        afterOptOut: event.afterOptOut,
        senderIgnoresOptOuts: event.senderIgnoresOptOuts,
        senderBlock: event.senderBlockHash === null ? null : halvesOf(event.senderBlockHash),
      };
      p.clusters.message(clusterId, message, wallClockMs);
    },
  };
}

/** What a partition's processors hand over at a commit: sender records and cluster records. */
export interface PartitionOutputs {
  readonly senders: ProcessorOutput[];
  readonly clusters: ClusterFeaturesRecord[];
}

/**
 * Drains a partition's processors for its next commit, as the shell does: senders first; then the
 * clusters, whose watermark first takes the senders' (cluster events come from every partition,
 * so theirs alone would stall when this partition's clusters go quiet; the senders' carries the
 * idle time). An in-process harness that drains the same way publishes what the engine would.
 */
export function drainPartition(p: PartitionProcessors, emittedAtMs: number): PartitionOutputs {
  const senders = p.processor.drain(emittedAtMs);
  p.clusters.advanceWatermark(p.processor.watermark);
  return { senders, clusters: p.clusters.drain(emittedAtMs) };
}
