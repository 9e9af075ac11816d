/**
 * Turns a MessageEvent into the MessageFacts the windows keep: the body is analysed here and
 * goes no further; the recipient becomes a keyed hash, an exchange-level prefix, and a position
 * shifted by a secret offset; call-back numbers become keyed hashes. Subscriber hashes derive from
 * the hash key, content keys from the content key (the hash key unless set), so that a rotation
 * of the first leaves templates alone (docs/key-rotation.md).
 */
import { createHmac } from 'node:crypto';
import {
  analyseClusteredContent,
  type ClusteredContentAnalysis,
  type ClusterKey,
  type ContentAnalysis,
  type ContentKey,
  createClusterKey,
  createContentKey,
  createSubscriberHasher,
  hashKeyTag,
  normaliseAddress,
} from '@spamgate/core';
import type { Hash64, MessageEvent } from '@spamgate/schemas';
import { MAX_CALLBACKS_PER_MESSAGE } from '../clusters/cluster-state.ts';
import { bookId } from '../relations/relation-book.ts';
import type { MessageFacts } from '../windows/sender-state.ts';

export interface FactKeys {
  /** The subscriber hash of an address (createSubscriberHasher) as two unsigned 32-bit halves. */
  readonly recipientHash: (address: string) => { hi: number; lo: number };
  /** The same hash as the 8 big-endian bytes of the Avro Hash64 type. */
  readonly hash64: (address: string) => Hash64;
  /** The same hash as a relation-book id (relation-book.ts bookId): how books and by-recipient name an address. */
  readonly bookId: (address: string) => string;
  /** The hash key's tag (hashKeyTag): what relation books record of the key they are under. */
  readonly tag: number;
  /**
   * During a rotation (SPAMGATE_PREVIOUS_HASH_KEY set): the previous key's subscriber hash, book
   * ids and tag, to find what is still under it (docs/key-rotation.md).
   */
  readonly previous?: {
    readonly tag: number;
    readonly recipientHash: (address: string) => { hi: number; lo: number };
    readonly bookId: (address: string) => string;
  };
  readonly positionOffset: number;
  /**
   * The keyed hash of an address's number block (the number without its last digit, so ten
   * consecutive numbers share it), with a key of its own; null for an address that is not a
   * number of 8 digits or more. Templates sent from the same blocks are one crew's.
   */
  readonly senderBlock: (address: string) => { hi: number; lo: number } | null;
  readonly content: ContentKey;
  readonly cluster: ClusterKey;
}

/** The secrets beside the hash key (privacy.ts previousHashKeySetting, contentKeySetting). */
export interface FactSecrets {
  /** The key a rotation replaces, while it is under way. */
  readonly previous?: string | undefined;
  /** The content key: content fingerprints, cluster ids and number blocks. Default: the hash key. */
  readonly content?: string | undefined;
}

/** Derives every keyed transform from one secret (at least 16 bytes), and the content key. */
export function createFactKeys(secret: string, secrets: FactSecrets = {}): FactKeys {
  const hasher = createSubscriberHasher(secret);
  const offset = createHmac('sha256', secret).update('recipient-position-offset').digest().readUIntBE(0, 5);
  const contentSecret = secrets.content ?? secret;
  const blocks = createSubscriberHasher(`${contentSecret}/sender-block`);
  const previous = secrets.previous === undefined ? undefined : createSubscriberHasher(secrets.previous);
  return {
    recipientHash: (address) => hasher.hashHalves(address),
    hash64: (address) => {
      const { hi, lo } = hasher.hashHalves(address);
      const b = Buffer.allocUnsafe(8);
      b.writeUInt32BE(hi, 0);
      b.writeUInt32BE(lo, 4);
      return b;
    },
    bookId: (address) => {
      const { hi, lo } = hasher.hashHalves(address);
      return bookId(hi, lo);
    },
    tag: hashKeyTag(secret),
    previous:
      previous === undefined
        ? undefined
        : {
            tag: hashKeyTag(secrets.previous!),
            recipientHash: (address) => previous.hashHalves(address),
            bookId: (address) => {
              const { hi, lo } = previous.hashHalves(address);
              return bookId(hi, lo);
            },
          },
    positionOffset: offset,
    senderBlock: (address) => {
      const n = normaliseAddress(address);
      return /^\+?\d{8,15}$/.test(n) ? blocks.hashHalves(n.slice(0, -1)) : null;
    },
    content: createContentKey(`${contentSecret}/content`),
    cluster: createClusterKey(`${contentSecret}/cluster`),
  };
}

/** The keyed processor options (ProcessorOptions bookId, keyTag, previousKey) that `keys` give. */
export function keyedProcessorOptions(keys: FactKeys): {
  readonly bookId: (address: string) => string;
  readonly keyTag: number;
  readonly previousKey?: { readonly tag: number; readonly bookId: (address: string) => string };
} {
  const previous = keys.previous;
  return {
    bookId: keys.bookId,
    keyTag: keys.tag,
    ...(previous && { previousKey: { tag: previous.tag, bookId: previous.bookId } }),
  };
}

/** FNV-1a, 32 bits: domains only need spreading, the counter hashes them again. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The national significant number's first six digits (NANP: after the leading 1). */
export function recipientPrefix(address: string): number {
  const n = normaliseAddress(address);
  if (!/^\+?\d{7,15}$/.test(n)) return -1;
  const digits = n.replace(/^\+/, '');
  const national = digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
  return Number(national.slice(0, 6));
}

export function messageFacts(
  event: MessageEvent,
  keys: FactKeys,
  utcOffsetHours: number,
): { facts: MessageFacts; content: ClusteredContentAnalysis } {
  const content = analyseClusteredContent(event.body, event.sender, keys.content, keys.cluster);
  const { hi, lo } = keys.recipientHash(event.recipient);
  const normalised = normaliseAddress(event.recipient);
  const numeric = /^\+?\d{1,15}$/.test(normalised) ? Number(normalised.replace(/^\+/, '')) : Number.NaN;
  const hour = Math.floor(event.eventTime / 3_600_000) % 24;
  return {
    content,
    facts: {
      timeMs: event.eventTime,
      recipientHi: hi,
      recipientLo: lo,
      recipientPosition: numeric + keys.positionOffset,
      recipientPrefix: recipientPrefix(event.recipient),
      fingerprint: content.fingerprint,
      urlDomainHashes: content.urlDomains.map(hash32),
      urlDomains: content.urlDomains,
      hasUrl: content.hasUrl,
      hasCallbackNumber: content.hasCallbackNumber,
      localHour: (((hour + utcOffsetHours) % 24) + 24) % 24,
    },
  };
}

/** Shared by every message without a call-back number (most of them); frozen, so never filled. */
const NO_HASHES = Object.freeze([]) as unknown as Hash64[];

/**
 * The keyed hashes (subscriber hashes, as Hash64 bytes) of the first MAX_CALLBACKS_PER_MESSAGE
 * call-back numbers the analysis found, in order of appearance: what a ClusterEvent carries, and
 * what a firewall computes from a number it finds in a body, with the same key.
 */
export function callbackHashes(content: ContentAnalysis, keys: FactKeys): Hash64[] {
  const numbers = content.callbackNumbers;
  if (numbers.length === 0) return NO_HASHES;
  const n = Math.min(numbers.length, MAX_CALLBACKS_PER_MESSAGE);
  const out = new Array<Hash64>(n);
  for (let i = 0; i < n; i++) out[i] = keys.hash64(numbers[i]!);
  return out;
}
