/**
 * What the partition processor (partition-processor.ts) is to its callers: its options and their
 * defaults, the interface the shell and the input handlers drive, what it outputs, and the errors
 * it refuses input with. ARCHITECTURE.md, "Feature engine".
 */
import { SpamgateError } from '@spamgate/core';
import {
  type AddressKind,
  NO_REGISTRATIONS,
  type Registrations,
  type SenderFeatures,
  type SenderMinute,
} from '@spamgate/schemas';
import type { PreviousKeys, RotationStatus } from '../relations/book-store.ts';
import { DEFAULT_RELATION_OPTIONS, type RelationOptions } from '../relations/relation-book.ts';
import {
  DEFAULT_FEATURE_OPTIONS,
  type FeatureOptions,
  type FeedbackKind,
  type MessageFacts,
} from '../windows/sender-state.ts';
import { DEFAULT_WINDOWS, type WindowSpec } from '../windows/window-spec.ts';
import { DEFAULT_LIGHT_LIMITS, type LightLimits } from './light-entry.ts';
import type { SenderEntry } from './sender-entry.ts';

export interface ProcessorOptions {
  readonly windows: readonly WindowSpec[];
  readonly features: FeatureOptions;
  /** Events up to this much older than the newest one are on time. Default 30 s. */
  readonly allowedLatenessMs: number;
  /** Least event time between two SenderFeatures of one sender. Default 1 s. */
  readonly emitIntervalMs: number;
  /** Events further than this ahead of the wall clock are refused. Default 5 min. */
  readonly maxFutureSkewMs: number;
  /** When a sender leaves the cheap tier for full state (light-entry.ts). */
  readonly light: LightLimits;
  /** Registered throughput of campaigns, for registeredCapShare. */
  readonly registrations: Registrations;
  /** Replies, contacts and opt-outs (relation-book.ts). */
  readonly relations: RelationOptions;
  /**
   * An address's relation-book id (relation-book.ts bookId over the deployment's subscriber
   * hasher: FactKeys.bookId). No default: it needs the hash key.
   */
  readonly bookId: (address: string) => string;
  /** The tag of the hash key bookId is under (hashKeyTag): what the books written record. */
  readonly keyTag: number;
  /**
   * The key a rotation replaces, while SPAMGATE_PREVIOUS_HASH_KEY is set: its tag and its book
   * ids. Books under it are moved to the new key as their addresses are seen (setRotation).
   */
  readonly previousKey?: { readonly tag: number; readonly bookId: (address: string) => string };
}

/** Every option but the keyed ones. */
export type ProcessorDefaults = Omit<ProcessorOptions, 'bookId' | 'keyTag' | 'previousKey'>;

export const DEFAULT_PROCESSOR_OPTIONS: ProcessorDefaults = Object.freeze({
  windows: DEFAULT_WINDOWS,
  features: DEFAULT_FEATURE_OPTIONS,
  allowedLatenessMs: 30_000,
  emitIntervalMs: 1_000,
  maxFutureSkewMs: 300_000,
  light: DEFAULT_LIGHT_LIMITS,
  registrations: NO_REGISTRATIONS,
  relations: DEFAULT_RELATION_OPTIONS,
});

/** What a counterpart's message to a sender was, for its relation book. */
export type HeardKind = 'message' | 'optOut' | 'optIn';

/** An event whose time is absurdly far in the future (clock skew, a bad producer). */
export class EventTimeSkewError extends SpamgateError {
  override name = 'EventTimeSkewError';
  constructor(eventTime: number, wallClock: number, maxSkewMs: number) {
    super(`event time ${new Date(eventTime).toISOString()} is more than ${maxSkewMs} ms ahead of the clock`, {
      code: 'EVENT_TIME_SKEW',
      retriable: false,
      badInput: true,
    });
    void wallClock;
  }
}

/**
 * Heap bytes a sender costs, estimated from its encoded size: measured on Node 24 at 3 to 2,000
 * messages per sender, a full entry takes 3.2 to 5.9 times its changelog bytes plus ~2 KB of
 * empty rings; a cheap sender its string plus ~100 bytes of map entry, key and string header.
 */
export const FULL_ENTRY_BASE_BYTES = 2_000;
export function fullEntryBytes(encodedLength: number): number {
  return FULL_ENTRY_BASE_BYTES + Math.round(3.5 * encodedLength);
}
export function lightEntryBytes(packedLength: number): number {
  return 100 + packedLength;
}

/** What applying a message found out about it, for its record re-keyed to its content cluster. */
export interface MessageFlags {
  /**
   * It formed a sequential pair with the sender's previous message (recipients different numbers
   * at most `features.sequentialDistance` apart, in arrival order): what sequentialShare counts.
   */
  readonly sequential: boolean;
  /**
   * Its recipient had opted out from the sender, and it is not the one confirmation allowed:
   * what postOptOutSends counts.
   */
  readonly afterOptOut: boolean;
  /**
   * Its sender sent past an opt-out (the confirmation excepted) within the hour up to it, this
   * message included: what the cluster feature optOutIgnoringSenders counts.
   */
  readonly senderIgnoresOptOuts: boolean;
  /**
   * When afterOptOut: the content cluster whose message drew the opt-out it went past (NaN if
   * none or not known), told that its sender ignored it (ClusterEvent OPT_OUT_IGNORED).
   */
  readonly optOutCluster: number;
}

/** The four MessageFlags of a message not past an opt-out, shared and frozen, so that message() allocates none. */
const FLAGS: readonly MessageFlags[] = Array.from({ length: 4 }, (_, i) =>
  Object.freeze({
    sequential: (i & 1) !== 0,
    afterOptOut: false,
    senderIgnoresOptOuts: (i & 2) !== 0,
    optOutCluster: Number.NaN,
  }),
);
/** The shared flags object for a message's two verdicts. */
export const flagsOf = (sequential: boolean, ignores: boolean): MessageFlags =>
  FLAGS[(sequential ? 1 : 0) + (ignores ? 2 : 0)]!;

export type ProcessorOutput =
  | { readonly kind: 'features'; readonly sender: string; readonly value: SenderFeatures }
  | { readonly kind: 'minute'; readonly sender: string; readonly value: SenderMinute };

export interface PartitionProcessor {
  readonly options: ProcessorOptions;
  /** Largest event time seen minus the allowed lateness; -Infinity before any event. */
  readonly watermark: number;
  /**
   * Start of the watermark's minute at the last drain that closed minutes: every minute ending by
   * then has been emitted, and every window close due by then published (-Infinity before any).
   * Written to the changelog with the watermark, for restoreWatermark.
   */
  readonly closedBy: number;
  /** Senders held, and how many of them are in the cheap tier. */
  readonly senderCount: number;
  readonly lightSenderCount: number;
  /** Estimated heap bytes of all sender state (fullEntryBytes, lightEntryBytes). */
  readonly stateBytes: number;
  /** A sender's entry as full state (a cheap sender expanded); undefined when not held. */
  entry(sender: string): SenderEntry | undefined;
  /**
   * Applies a message, of content cluster `clusterId` (NaN: none). Returns whether it walked the
   * numbers and whether it went to someone who had opted out (MessageFlags), as derived when it
   * was applied: the same in either tier, and never recomputed. Throws EventTimeSkewError
   * (nothing changed) for an event far in the future. `senderBook` is the sender's book id when
   * the caller has its hash already (the handlers do); else it is computed.
   */
  message(
    sender: string,
    kind: AddressKind,
    campaignId: string | null,
    facts: MessageFacts,
    wallClockMs: number,
    clusterId?: number,
    senderBook?: string,
    previous?: PreviousKeys,
  ): MessageFlags;
  /**
   * Applies feedback about the sender. For a spam report or a delivery failure naming its
   * recipient (keyed hash halves), returns the content cluster of the sender's latest message to
   * them, to attribute it to; NaN otherwise.
   */
  feedback(
    sender: string,
    timeMs: number,
    kind: FeedbackKind,
    wallClockMs: number,
    recipient?: { hi: number; lo: number },
  ): number;
  /**
   * A counterpart's message to the address whose book is `book` (a book id, from the repartition
   * topic): a reply, an opt-out or an opt-in, for its relation book. Throws EventTimeSkewError
   * like message. Returns the content cluster of the message it answers, to attribute the answer
   * to (recordHeard says when), else NaN.
   */
  heard(
    book: string,
    counterpartHi: number,
    counterpartLo: number,
    timeMs: number,
    kind: HeardKind,
    wallClockMs: number,
    previous?: PreviousKeys,
  ): number;
  /**
   * After a restore: whether a rotation of the hash key is under way in this partition, since
   * when (the key record says; undefined: none). Books restored under the previous key's tag,
   * or untagged, are then under the previous key, and move as they are used.
   */
  setRotation(sinceMs: number | undefined): void;
  /** The rotation under way, if any. */
  readonly rotation: RotationStatus | undefined;
  /**
   * Ends the rotation if it is done: no opt-out left under the previous key, or the opt-out
   * retention passed since it began. What is left under the previous key is deleted at the next
   * commit. Returns whether it ended.
   */
  endRotationIfDone(): boolean;
  /** Relation books held: of senders, and of addresses that have only received. */
  readonly relationBookCount: number;
  /** Moves the watermark forward to t if it is behind (the shell's idle-partition fallback). */
  advanceWatermark(t: number): void;
  /**
   * The outputs due now, in a deterministic order: closed minutes, then SenderFeatures of changed
   * senders whose emit interval passed (or whose windows emptied), then evictions of idle senders.
   */
  drain(emittedAtMs: number): ProcessorOutput[];
  /**
   * Changelog records of what changed since the last call: senders (key = sender) and relation
   * books (key = RELATION_KEY_PREFIX + book id), their bytes, or null when evicted.
   */
  takeChanged(): { key: string; value: Uint8Array | null }[];
  /**
   * Sheds detail under memory pressure until about `bytes` are freed: first the relation books of
   * addresses that only receive (no sender state, no opt-out), least recently active first; then
   * the least active senders with full state (fewest events in their newest hour, then least recently active) lose
   * their window state and keep only their open minute aggregates, so per-minute counts stay
   * complete while their features start again from their next event; then, if that is not
   * enough, the least recently active senders with no open minute are forgotten; then other
   * relation books, those holding opt-outs last (an opt-out forgotten is evidence lost). A sender
   * that loses its window state keeps its recent URL domains (exact, small, and the deny list's
   * evidence); a forgotten sender's go with it. Call it before drain, so the changelog of the
   * same commit carries the result.
   */
  shed(bytes: number): { senders: number; relationBooks: number; bytes: number };
  /** Counters since creation: late events, evicted senders, promotions, shed senders and books. */
  readonly stats: {
    lateEvents: number;
    evictedSenders: number;
    promotedSenders: number;
    shedSenders: number;
    shedRelationBooks: number;
  };
  /**
   * Restores a sender or a relation book from a changelog record (key as takeChanged gives it).
   * Records may come in changelog order, several per key: each replaces what the key held.
   */
  restore(key: string, bytes: Uint8Array): void;
  /** Applies a changelog tombstone: the sender or relation book is gone. */
  forget(key: string): void;
  /**
   * The watermark restored with the state, and the `closedBy` written with it (-Infinity when the
   * record predates it): cheap senders restored are brought up to it when first used.
   */
  restoreWatermark(watermark: number, closedBy?: number): void;
}
