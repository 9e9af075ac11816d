/**
 * Everything the feature engine does for one input partition, without I/O: per-sender window
 * state, the partition's watermark, closed-minute aggregates, and when to emit SenderFeatures.
 * Given the same events in the same order it produces the same outputs, whatever the batching,
 * which is what lets a restarted or moved partition continue exactly where its owner stopped.
 *
 * Time: the watermark is the largest event time seen minus the allowed lateness. An event older
 * than the watermark is late: it still updates every window whose slices hold it, and it is
 * counted in the late column of its sender's minute that is open at the watermark. An event more
 * than maxFutureSkewMs ahead of the wall clock is refused (the shell dead-letters it).
 */
import { clusterIdString, SpamgateError } from '@spamgate/core';
import {
  type AddressKind,
  allowedInWindow,
  capOf,
  NO_REGISTRATIONS,
  type Registrations,
  type SenderFeatures,
  type SenderMinute,
} from '@spamgate/schemas';
import {
  adoptPreviousBook,
  dropUnmarked,
  markAllPrevious,
  previousKeyedOptOuts,
  rekeyEntry,
} from '../relations/book-rotation.ts';
import {
  counterpartKey,
  createRelationBook,
  DEFAULT_RELATION_OPTIONS,
  decodeRelationBook,
  dominantClusters,
  encodeRelationBook,
  forgetExpiredRelations,
  IGNORES_OPT_OUTS_MS,
  ignoresOptOutsAt,
  isBookId,
  isEmptyBook,
  latestClusterTo,
  packedBookLatestMs,
  type RelationBook,
  type RelationOptions,
  recordHeard,
  recordSent,
  relationBookCounterparts,
  relationBookKeyTag,
  relationFeaturesAt,
  UNTAGGED,
} from '../relations/relation-book.ts';
import { createDistinctCounter } from '../sketches/distinct-counter.ts';
import {
  addFeedback,
  addMessage,
  createSenderState,
  DEFAULT_FEATURE_OPTIONS,
  type DerivedMessage,
  deriveMessage,
  type FeatureOptions,
  type FeedbackKind,
  featuresAt,
  type MessageFacts,
} from '../windows/sender-state.ts';
import { NO_URL_DOMAINS, recordUrlDomains, urlDomainsAt } from '../windows/url-domains.ts';
import { DEFAULT_WINDOWS, sliceStart, type WindowSpec } from '../windows/window-spec.ts';
import { decodeSenderEntry, encodeSenderEntry } from './entry-codec.ts';
import {
  decodeLight,
  decodeLightBytes,
  encodeLight,
  isLightTag,
  LIGHT_TAG,
  type LightPeek,
  markStale,
  packable,
  peekLight,
  peekLightBytes,
} from './light-codec.ts';
import {
  absorbRunning,
  type CatchUp,
  catchUpLight,
  DEFAULT_LIGHT_LIMITS,
  earliestOpenMinute,
  emptyLight,
  expandState,
  forgetExpired,
  knowsTemplate,
  type LightEntry,
  type LightLimits,
  missedWindowClose,
  runningOf,
} from './light-entry.ts';
import type { MinuteAggregate, SenderEntry } from './sender-entry.ts';

const MINUTE_MS = 60_000;

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

/**
 * What a message's addresses hash to under the previous key, during a rotation: the sender's book
 * id and the recipient's hash halves (input-handlers.ts computes them while the key is set).
 */
export interface PreviousKeyHashes {
  readonly senderBook: string;
  readonly recipientHi: number;
  readonly recipientLo: number;
}

/** What an answer's addresses hash to under the previous key: the answered book, the answerer. */
export interface PreviousHeardHashes {
  readonly book: string;
  readonly counterpartHi: number;
  readonly counterpartLo: number;
}

/** A hash-key rotation under way in the partition (docs/key-rotation.md). */
export interface RotationStatus {
  /** The watermark when it began. */
  readonly sinceMs: number;
  /** Books still under their id of the previous key. */
  readonly previousBooks: number;
  /** Opt-outs still keyed under the previous key: the rotation ends when none are left. */
  readonly previousOptOuts: number;
}

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

/**
 * Changelog key of a relation book: its book id (a keyed hash, never the number) after a NUL and
 * "r" (addresses never hold control characters, the shell refuses them, so it cannot collide with
 * a sender or with PARTITION_META_KEY). A release before book ids wrote the clear address there
 * instead; a restore re-keys such a book and deletes the old key at the next commit.
 */
export const RELATION_KEY_PREFIX = '\u0000r';

/** Books with more counterparts than this stay decoded between batches; smaller ones are packed. */
const PACKED_BOOK_MAX_COUNTERPARTS = 64;

/** Estimated heap bytes of a relation book: packed (its Latin-1 string) or decoded (its maps). */
export function relationBookBytes(book: RelationBook | string): number {
  if (typeof book === 'string') return 100 + book.length;
  return 300 + 120 * book.counterparts.size + 90 * book.optOuts.size + 9 * book.violations.length;
}

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
const flagsOf = (sequential: boolean, ignores: boolean): MessageFlags =>
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
    previous?: PreviousKeyHashes,
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
    previous?: PreviousHeardHashes,
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

function emptyMinute(kind: AddressKind, campaignId: string | null): MinuteAggregate {
  return {
    kind,
    campaignId,
    messages: 0,
    recipients: null,
    urlMessages: 0,
    deliveryFailures: 0,
    spamReports: 0,
    subscriberBlocks: 0,
    lateEvents: 0,
  };
}

/** A message counted in its minute aggregate (the cheap tier rebuilds minutes with the same code). */
function countMessage(
  agg: MinuteAggregate,
  kind: AddressKind,
  campaignId: string | null,
  late: boolean,
  hasUrl: boolean,
  recipientHi: number,
  recipientLo: number,
): boolean {
  agg.kind = kind;
  agg.campaignId = campaignId;
  if (late) {
    agg.lateEvents++;
    return true;
  }
  agg.messages++;
  if (hasUrl) agg.urlMessages++;
  agg.recipients ??= createDistinctCounter();
  agg.recipients.add(recipientHi, recipientLo);
  return false;
}

function countFeedback(agg: MinuteAggregate, kind: FeedbackKind, late: boolean): boolean {
  if (late) {
    agg.lateEvents++;
    return true;
  }
  if (kind === 'DELIVERY_FAILURE') agg.deliveryFailures++;
  else if (kind === 'SPAM_REPORT') agg.spamReports++;
  else if (kind === 'SUBSCRIBER_BLOCK') agg.subscriberBlocks++;
  return false;
}

function minuteOf(minutes: Map<number, MinuteAggregate>, start: number): MinuteAggregate {
  let agg = minutes.get(start);
  if (!agg) {
    // Kind and registration come from the minute's messages only: taking them from the sender
    // would make a feedback-only minute depend on how the two input topics interleave.
    agg = emptyMinute('UNKNOWN', null);
    minutes.set(start, agg);
  }
  return agg;
}

/** The open minute aggregates of a cheap sender, counted as the full tier counts them. */
function lightMinutes(light: LightEntry): Map<number, MinuteAggregate> {
  const minutes = new Map<number, MinuteAggregate>();
  for (const e of light.events) {
    if (e.emitted) continue;
    const agg = minuteOf(minutes, e.minute);
    if (e.type === 'message')
      countMessage(agg, light.kind, null, e.late, e.d.hasUrl, e.d.recipientHi, e.d.recipientLo);
    else countFeedback(agg, e.kind, e.late);
  }
  return minutes;
}

function minuteRecord(sender: string, start: number, agg: MinuteAggregate): ProcessorOutput {
  return {
    kind: 'minute',
    sender,
    value: {
      sender,
      senderKind: agg.kind,
      campaignId: agg.campaignId,
      minute: start,
      messages: agg.messages,
      distinctRecipients: Math.round(agg.recipients?.estimate() ?? 0),
      urlMessages: agg.urlMessages,
      deliveryFailures: agg.deliveryFailures,
      spamReports: agg.spamReports,
      subscriberBlocks: agg.subscriberBlocks,
      lateEvents: agg.lateEvents,
      version: 1,
    },
  };
}

export function createPartitionProcessor(options: ProcessorOptions): PartitionProcessor {
  /** Full entries, or a cheap sender's packed bytes (light-codec.ts). */
  const senders = new Map<string, SenderEntry | string>();
  /** Within the longest window: the relation books keep violations that long. */
  const ignoresLookbackMs = Math.min(
    IGNORES_OPT_OUTS_MS,
    Math.max(...options.windows.map((w) => w.lengthMs)),
  );
  let lightCount = 0;
  let stateBytes = 0;
  const sizeOf = (v: SenderEntry | string | undefined): number =>
    v === undefined ? 0 : typeof v === 'string' ? lightEntryBytes(v.length) : v.approxBytes;
  const changed = new Set<string>();
  const evicted = new Set<string>();
  let maxEventTime = Number.NEGATIVE_INFINITY;
  let watermark = Number.NEGATIVE_INFINITY;
  const stats = {
    lateEvents: 0,
    evictedSenders: 0,
    promotedSenders: 0,
    shedSenders: 0,
    shedRelationBooks: 0,
  };
  const longestWindowMs = Math.max(...options.windows.map((w) => w.lengthMs));
  /** The window URL domains are published over. */
  const longestWindow = options.windows.find((w) => w.lengthMs === longestWindowMs)!;
  const shortest = options.windows[0]!;
  /**
   * When the shortest window no longer holds the sender's newest event: its features are
   * published once more then (on window close), so consumers see a burst end even if the sender
   * stays silent. Senders with no message, or shed ones, have nothing to close.
   */
  const windowCloseAt = (latestMs: number): number =>
    sliceStart(latestMs, shortest.sliceMs) + shortest.lengthMs;
  const closeDue = (
    full: boolean,
    dirty: boolean,
    lastMessageMs: number,
    latestMs: number,
    lastEmittedAsOf: number,
  ) =>
    full &&
    !dirty &&
    !Number.isNaN(lastMessageMs) &&
    lastEmittedAsOf < windowCloseAt(latestMs) &&
    windowCloseAt(latestMs) <= sliceStart(watermark, MINUTE_MS);
  /** Senders changed since their last emission: the only ones a drain between minutes visits. */
  const dirtySenders = new Set<string>();
  /** The watermark's minute at the last full scan; minutes close only when it moves. */
  let scannedMinute = Number.NaN;

  /**
   * Relation books by book id: decoded, or (small ones between batches) their bytes as a Latin-1
   * string.
   */
  const books = new Map<string, RelationBook | string>();
  /** Books opened since the last takeChanged; their size is out of bookBytes until then. */
  const changedBooks = new Set<string>();
  const droppedBooks = new Set<string>();
  /** Clear-address book keys of an earlier release, restored under their id: deleted at the next commit. */
  const legacyBookKeys = new Set<string>();
  /** Ids whose book came from such a key, and no book-id record since: a tombstone of it drops them. */
  const fromLegacy = new Set<string>();
  let bookBytes = 0;
  /** Restored books tagged other than options.keyTag (or untagged): what setRotation sorts out. */
  const foreignTags = new Map<string, number>();
  /** During a rotation: when it began, books still under their previous-key id, and opt-outs left. */
  let rotationSince: number | undefined;
  const previousBooks = new Set<string>();
  const previousOptOuts = new Map<string, number>();
  const relationHorizonMs = Math.max(
    options.relations.contactLookbackMs,
    options.relations.replyDelayMs,
    longestWindowMs,
  );

  /** The book with this id, decoded and marked changed (created when `create`). */
  function openBook(id: string, create: boolean): RelationBook | undefined {
    const held = books.get(id);
    if (held === undefined && !create) return undefined;
    if (!changedBooks.has(id)) {
      if (held !== undefined) bookBytes -= relationBookBytes(held);
      changedBooks.add(id);
    }
    droppedBooks.delete(id);
    if (typeof held === 'object') return held;
    let book: RelationBook;
    if (held === undefined) {
      book = createRelationBook();
      book.keyTag = options.keyTag;
    } else book = decodeRelationBook(Buffer.from(held, 'latin1'));
    books.set(id, book);
    return book;
  }

  /** A book gone from the partition: nothing of it is under the previous key any more. */
  function bookGone(id: string): void {
    foreignTags.delete(id);
    previousBooks.delete(id);
    previousOptOuts.delete(id);
  }

  /**
   * The book with this id (under the current key), opened and created, after moving into it the
   * same address's book under the previous key (`previousId`), if a rotation left one.
   */
  function openCurrentBook(id: string, previousId: string | undefined): RelationBook {
    if (previousId !== undefined && previousId !== id && previousBooks.has(previousId)) {
      const from = openBook(previousId, false)!;
      const into = openBook(id, true)!;
      adoptPreviousBook(into, from, options.relations);
      into.keyTag = options.keyTag;
      books.delete(previousId);
      changedBooks.delete(previousId); // its size is out of bookBytes already
      droppedBooks.add(previousId);
      bookGone(previousId);
      return into;
    }
    return openBook(id, true)!;
  }

  /**
   * The id a sender's features read its book under: during a rotation, its book under the
   * previous key is moved first, so a sender that has not sent since the rotation keeps its
   * replies and opt-outs.
   */
  function featureBookId(sender: string): string {
    const id = bookIdOf(sender);
    if (previousBooks.size === 0 || books.has(id) || options.previousKey === undefined) return id;
    const previousId = options.previousKey.bookId(sender);
    if (previousBooks.has(previousId)) openCurrentBook(id, previousId);
    return id;
  }

  /**
   * Book ids of the senders that sent since the last drain, which publishes most of them: their
   * features read their books, and a keyed hash per publication cost about a tenth of the
   * engine's time. Cleared by every drain, so it holds one batch's senders at most.
   */
  const recentBookIds = new Map<string, string>();
  const bookIdOf = (sender: string): string => recentBookIds.get(sender) ?? options.bookId(sender);

  /** A sender's own book, opened, with the sender as its owner (moved from `previousId` if a rotation left it there). */
  function openOwnBook(sender: string, id: string, previousId?: string): RelationBook {
    recentBookIds.set(sender, id);
    const book = openCurrentBook(id, previousId);
    book.owner = sender;
    return book;
  }

  /** The book with this id to read, without marking it changed. */
  function readBook(id: string): RelationBook | undefined {
    const held = books.get(id);
    return typeof held === 'string' ? decodeRelationBook(Buffer.from(held, 'latin1')) : held;
  }

  /** Whether a book is that of an address with sender state (its owner sends, and is held). */
  const ownerHeld = (book: RelationBook): boolean => book.owner !== undefined && senders.has(book.owner);

  /** The newest event time of a book, packed or not. */
  function bookLatest(held: RelationBook | string): number {
    return typeof held === 'object' ? held.latestMs : packedBookLatestMs(held);
  }

  /** Forgets what the watermark has left behind in books idle past every look-back. */
  function expireBooks(): void {
    for (const [id, held] of books) {
      if (watermark - bookLatest(held) <= relationHorizonMs) continue;
      const book = openBook(id, false)!;
      forgetExpiredRelations(book, options.windows, options.relations, watermark);
    }
  }

  /** Drops the least recently active books that `eligible` accepts until `target` bytes are freed. */
  function shedBooks(target: number, eligible: (book: RelationBook) => boolean): number {
    if (target <= 0) return 0;
    const candidates: { id: string; latest: number }[] = [];
    for (const [id, held] of books) {
      const book = typeof held === 'object' ? held : decodeRelationBook(Buffer.from(held, 'latin1'));
      if (eligible(book)) candidates.push({ id, latest: book.latestMs });
    }
    candidates.sort((a, b) => a.latest - b.latest || (a.id < b.id ? -1 : 1));
    let freed = 0;
    for (const { id } of candidates) {
      if (freed >= target) break;
      const held = books.get(id)!;
      const size = relationBookBytes(held);
      if (changedBooks.delete(id))
        freed += 0; // its size was already out of bookBytes
      else {
        bookBytes -= size;
        freed += size;
      }
      books.delete(id);
      fromLegacy.delete(id);
      droppedBooks.add(id);
      bookGone(id);
      stats.shedRelationBooks++;
    }
    return freed;
  }

  /**
   * A book an earlier release keyed by the clear address: held under the address's id, with the
   * address as its owner in memory (takeChanged writes it only if the address has sender state),
   * and re-written under the id at the next commit, which also deletes the clear key. Of two books
   * of one address (a partition moved back and forth across an upgrade) the newer is kept.
   */
  function restoreLegacyBook(address: string, bytes: Uint8Array): void {
    const id = options.bookId(address);
    const book = decodeRelationBook(bytes);
    const held = books.get(id);
    if (held !== undefined && bookLatest(held) > book.latestMs) {
      legacyBookKeys.add(address);
      return;
    }
    if (held !== undefined && !changedBooks.has(id)) bookBytes -= relationBookBytes(held);
    book.owner = address;
    books.set(id, book);
    changedBooks.add(id); // its size stays out of bookBytes until takeChanged
    droppedBooks.delete(id);
    fromLegacy.add(id);
    legacyBookKeys.add(address);
  }

  /** A sender's features may change with its book: publish them again (if it has any). */
  function outcomeChanged(sender: string): void {
    const held = senders.get(sender);
    if (held === undefined) return;
    if (typeof held === 'string') {
      const light = openLight(held);
      if (light.dirty) return;
      light.dirty = true;
      storeLight(sender, light);
    } else held.dirty = true;
    touch(sender);
  }

  function set(sender: string, value: SenderEntry | string): void {
    const before = senders.get(sender);
    if (typeof before === 'string') lightCount--;
    if (typeof value === 'string') lightCount++;
    stateBytes += sizeOf(value) - sizeOf(before);
    senders.set(sender, value);
  }

  function remove(sender: string): void {
    const before = senders.get(sender);
    if (typeof before === 'string') lightCount--;
    stateBytes -= sizeOf(before);
    senders.delete(sender);
  }

  function expand(sender: string, light: LightEntry): SenderEntry {
    return {
      sender,
      state: expandState(light, options.windows, options.features),
      kind: light.kind,
      campaignId: null,
      lastEmittedAsOf: light.lastEmittedAsOf,
      dirty: light.dirty,
      minutes: lightMinutes(light),
      urlDomains: light.urlDomains,
      approxBytes: FULL_ENTRY_BASE_BYTES,
    };
  }

  /** The sender's full entry: held, created, or a cheap sender (`light`, decoded) promoted. */
  function fullEntry(sender: string, light: LightEntry | undefined): SenderEntry {
    const held = senders.get(sender);
    if (typeof held === 'object') return held;
    let e: SenderEntry;
    if (light && held !== undefined) {
      e = expand(sender, light);
      stats.promotedSenders++;
    } else
      e = {
        sender,
        state: createSenderState(options.windows),
        kind: 'UNKNOWN',
        campaignId: null,
        lastEmittedAsOf: Number.NEGATIVE_INFINITY,
        dirty: false,
        minutes: new Map(),
        urlDomains: NO_URL_DOMAINS,
        approxBytes: FULL_ENTRY_BASE_BYTES,
      };
    set(sender, e);
    evicted.delete(sender);
    return e;
  }

  /** The cheap sender held (decoded), a fresh one when the sender is new, undefined when full. */
  function lightEntry(sender: string): LightEntry | undefined {
    const held = senders.get(sender);
    if (typeof held === 'object') return undefined;
    if (held === undefined) return options.light.maxEvents > 0 ? emptyLight() : undefined;
    const light = openLight(held);
    forgetExpired(light, options.windows, options.features);
    return light;
  }

  function storeLight(sender: string, light: LightEntry): void {
    set(sender, encodeLight(light));
    evicted.delete(sender);
  }

  /** What restored senders' bytes may lag (LightEntry.stale): set by restoreWatermark. */
  let catchUp: CatchUp = { closedBy: Number.NEGATIVE_INFINITY, windowCloseAt, longestWindow };

  /** A cheap sender's bytes decoded, brought up to the restore's watermark if they were restored. */
  function openLight(packed: string): LightEntry {
    const light = decodeLight(packed);
    if (light.stale) catchUpLight(light, catchUp, options.windows, options.features);
    return light;
  }

  /**
   * A cheap sender's header as catchUpLight would leave it, without decoding: what drain and
   * shedding decide by. Bytes restored (stale) may still hold minutes the restore's watermark had
   * closed and a window close it had published; only a minute from the restore's own on can
   * still be open (a late event counts in the minute open when it came), so the earliest open one
   * is taken to be that minute when the bytes do not say which. The wide form, which does not hold
   * its latest open minute, is decoded.
   */
  function effectivePeek(packed: string): LightPeek {
    const peek = peekLight(packed);
    if (!peek.stale) return peek;
    const closedBy = catchUp.closedBy;
    if (Number.isNaN(peek.latestOpenMinute)) {
      const light = openLight(packed);
      return {
        ...peek,
        stale: false,
        lastEmittedAsOf: light.lastEmittedAsOf,
        earliestOpenMinute: earliestOpenMinute(light),
        latestOpenMinute: Number.NaN,
      };
    }
    const earliest =
      peek.latestOpenMinute + MINUTE_MS <= closedBy
        ? Number.POSITIVE_INFINITY
        : Math.max(peek.earliestOpenMinute, closedBy);
    const close = missedWindowClose(peek, catchUp);
    return {
      ...peek,
      earliestOpenMinute: earliest,
      lastEmittedAsOf: Number.isNaN(close) ? peek.lastEmittedAsOf : close,
    };
  }

  /** Where an event counts: its own minute, or, when that minute has closed, the one open now. */
  function attribution(t: number): { start: number; late: boolean } {
    const late = t < watermark && sliceStart(t, MINUTE_MS) + MINUTE_MS <= watermark;
    return { start: late ? sliceStart(watermark, MINUTE_MS) : sliceStart(t, MINUTE_MS), late };
  }

  function observe(t: number, wallClockMs: number): void {
    if (t > wallClockMs + options.maxFutureSkewMs)
      throw new EventTimeSkewError(t, wallClockMs, options.maxFutureSkewMs);
  }

  /**
   * The partition's newest event time (or, after an idle advance, the watermark plus the allowed
   * lateness). A sender whose last change is emitIntervalMs behind it is published: a burst's
   * last message goes out about one interval after it, not one interval after the watermark.
   */
  function streamTime(): number {
    return Math.max(maxEventTime, watermark + options.allowedLatenessMs);
  }

  function advance(t: number): void {
    if (t > maxEventTime) maxEventTime = t;
    const w = maxEventTime - options.allowedLatenessMs;
    if (w > watermark) watermark = w;
  }

  function touch(sender: string): void {
    changed.add(sender);
    dirtySenders.add(sender);
  }

  function allowedFor(campaignId: string | null): ((windowMs: number) => number) | undefined {
    const cap = capOf(options.registrations, campaignId);
    return cap && ((windowMs: number) => allowedInWindow(cap, windowMs));
  }

  function features(e: SenderEntry, asOf: number, emittedAt: number): SenderFeatures {
    const book = readBook(featureBookId(e.sender));
    const relations = book && relationFeaturesAt(book, asOf, options.windows);
    const longest = options.windows[options.windows.length - 1]!;
    const clusters = book ? dominantClusters(book, asOf, longest) : [];
    return {
      sender: e.sender,
      senderKind: e.kind,
      campaignId: e.campaignId,
      asOf,
      emittedAt,
      windows: featuresAt(e.state, asOf, allowedFor(e.campaignId), relations),
      clusters: clusters.map((c) => ({ clusterId: clusterIdString(c.clusterId), recipients: c.recipients })),
      urlDomains: urlDomainsAt(e.urlDomains, asOf, longestWindow).map((d) => d.domain),
    };
  }

  /** A cheap sender's message, and what it contributed; undefined when it needs full state instead. */
  function lightMessage(
    sender: string,
    light: LightEntry,
    kind: AddressKind,
    campaignId: string | null,
    facts: MessageFacts,
    contact: boolean,
  ): DerivedMessage | undefined {
    const limits = options.light;
    if (campaignId !== null) return undefined;
    if (!Number.isNaN(light.lastMessageMs) && light.kind !== kind) return undefined;
    if (light.events.length >= limits.maxEvents) return undefined;
    if (light.templates.length >= limits.maxTemplates && !knowsTemplate(light, facts.fingerprint))
      return undefined;
    const running = runningOf(light);
    const d = deriveMessage(running, facts, options.features, contact);
    if (!packable(d)) return undefined;
    absorbRunning(light, running);
    light.urlDomains = recordUrlDomains(light.urlDomains, facts.urlDomains, facts.timeMs);
    const { start, late } = attribution(facts.timeMs);
    light.kind = kind;
    light.dirty = true;
    light.events.push({ type: 'message', d, minute: start, late, emitted: false });
    if (late) stats.lateEvents++;
    storeLight(sender, light);
    return d;
  }

  function lightFeedback(sender: string, light: LightEntry, timeMs: number, kind: FeedbackKind): boolean {
    if (light.events.length >= options.light.maxEvents || !Number.isSafeInteger(timeMs)) return false;
    if (timeMs > light.latestMs) light.latestMs = timeMs;
    const { start, late } = attribution(timeMs);
    light.dirty = true;
    light.events.push({ type: 'feedback', timeMs, kind, minute: start, late, emitted: false });
    if (late) stats.lateEvents++;
    storeLight(sender, light);
    return true;
  }

  /** Closes a cheap sender's minutes, emits its features when due, evicts it when idle. */
  function drainLight(
    sender: string,
    packed: string,
    full: boolean,
    emittedAtMs: number,
    out: ProcessorOutput[],
  ): void {
    const peek = effectivePeek(packed);
    const closing = full && peek.earliestOpenMinute + MINUTE_MS <= watermark;
    const idle =
      watermark - peek.latestMs >= longestWindowMs && peek.earliestOpenMinute === Number.POSITIVE_INFINITY;
    const due =
      peek.dirty &&
      (peek.latestMs - peek.lastEmittedAsOf >= options.emitIntervalMs ||
        streamTime() - peek.latestMs >= options.emitIntervalMs);
    const closeWindow = closeDue(full, false, peek.lastMessageMs, peek.latestMs, peek.lastEmittedAsOf);
    if (!closing && !due && !(idle && peek.dirty) && !closeWindow) {
      if (!peek.dirty) dirtySenders.delete(sender);
      if (full && idle && !peek.dirty) evict(sender);
      return;
    }
    const light = openLight(packed);
    if (closing) {
      const minutes = lightMinutes(light);
      for (const start of [...minutes.keys()].sort((a, b) => a - b)) {
        if (start + MINUTE_MS > watermark) break;
        out.push(minuteRecord(sender, start, minutes.get(start)!));
        for (const e of light.events) if (e.minute === start) e.emitted = true;
      }
    }
    // Only publishing a dirty sender changes its record: minute closes, the window close and
    // forgetting expired events follow from the watermark (catchUpLight redoes them after a
    // restore), so they change the bytes held and write nothing to the changelog.
    const publish = due || (idle && light.dirty);
    if (publish) {
      const asOf = Math.max(light.latestMs, light.lastEmittedAsOf);
      out.push({ kind: 'features', sender, value: features(expand(sender, light), asOf, emittedAtMs) });
      light.lastEmittedAsOf = asOf;
      light.dirty = false;
      light.urlDomains = urlDomainsAt(light.urlDomains, asOf, longestWindow); // what was not published never will be
    }
    if (closeDue(full, light.dirty, light.lastMessageMs, light.latestMs, light.lastEmittedAsOf)) {
      const asOf = windowCloseAt(light.latestMs);
      out.push({ kind: 'features', sender, value: features(expand(sender, light), asOf, emittedAtMs) });
      light.lastEmittedAsOf = asOf;
      light.urlDomains = urlDomainsAt(light.urlDomains, asOf, longestWindow);
    }
    if (!light.dirty) dirtySenders.delete(sender);
    const nowIdle =
      watermark - light.latestMs >= longestWindowMs && earliestOpenMinute(light) === Number.POSITIVE_INFINITY;
    if (full && nowIdle && !light.dirty) {
      evict(sender);
      return;
    }
    forgetExpired(light, options.windows, options.features);
    storeLight(sender, light);
    if (publish) changed.add(sender);
  }

  function evict(sender: string): void {
    remove(sender);
    changed.delete(sender);
    evicted.add(sender);
    stats.evictedSenders++;
  }

  /** Events in the sender's newest hour-long (or shortest longer) window, for shedding. */
  function activity(e: SenderEntry): number {
    const fs = featuresAt(e.state, e.state.latestMs);
    const w = fs.find((f) => f.windowMs >= 3_600_000) ?? fs[fs.length - 1];
    return w ? w.messages + w.deliveryFailures + w.spamReports + w.subscriberBlocks : 0;
  }

  return {
    options,
    get watermark() {
      return watermark;
    },
    get closedBy() {
      // At least what was restored: senders still held stale are caught up to it when used, so a
      // restore after this one must know it too.
      const scanned = Number.isNaN(scannedMinute) ? Number.NEGATIVE_INFINITY : scannedMinute * MINUTE_MS;
      return Math.max(scanned, catchUp.closedBy);
    },
    get senderCount() {
      return senders.size;
    },
    get lightSenderCount() {
      return lightCount;
    },
    get stateBytes() {
      return stateBytes + bookBytes;
    },
    get relationBookCount() {
      return books.size;
    },
    entry(sender) {
      const held = senders.get(sender);
      if (held === undefined || typeof held === 'object') return held;
      return expand(sender, openLight(held));
    },
    stats,
    message(sender, kind, campaignId, facts, wallClockMs, clusterId = Number.NaN, senderBook, previous) {
      observe(facts.timeMs, wallClockMs);
      const rotating = rotationSince !== undefined ? previous : undefined;
      const book = openOwnBook(sender, senderBook ?? options.bookId(sender), rotating?.senderBook);
      const recipient = counterpartKey(facts.recipientHi, facts.recipientLo);
      if (rotating !== undefined && book.previousKeyed !== undefined)
        rekeyEntry(book, recipient, counterpartKey(rotating.recipientHi, rotating.recipientLo));
      const { contact, afterOptOut, optOutCluster } = recordSent(
        book,
        recipient,
        facts.timeMs,
        options.relations,
        clusterId,
      );
      const light = lightEntry(sender);
      let d = light && lightMessage(sender, light, kind, campaignId, facts, contact);
      if (!d) {
        const e = fullEntry(sender, light);
        e.kind = kind;
        e.campaignId = campaignId;
        const { start, late } = attribution(facts.timeMs);
        d = addMessage(e.state, facts, options.features, contact);
        e.urlDomains = recordUrlDomains(e.urlDomains, facts.urlDomains, facts.timeMs);
        if (
          countMessage(
            minuteOf(e.minutes, start),
            kind,
            campaignId,
            late,
            facts.hasUrl,
            facts.recipientHi,
            facts.recipientLo,
          )
        )
          stats.lateEvents++;
        e.dirty = true;
      }
      touch(sender);
      advance(facts.timeMs);
      if (afterOptOut)
        return { sequential: d.pairSequential === 1, afterOptOut, senderIgnoresOptOuts: true, optOutCluster };
      return flagsOf(d.pairSequential === 1, ignoresOptOutsAt(book, facts.timeMs, ignoresLookbackMs));
    },
    feedback(sender, timeMs, kind, wallClockMs, recipient) {
      observe(timeMs, wallClockMs);
      const attributed = kind === 'SPAM_REPORT' || kind === 'DELIVERY_FAILURE';
      const book = attributed && recipient ? readBook(bookIdOf(sender)) : undefined;
      const cluster = book ? latestClusterTo(book, counterpartKey(recipient!.hi, recipient!.lo)) : Number.NaN;
      const light = lightEntry(sender);
      if (!light || !lightFeedback(sender, light, timeMs, kind)) {
        const e = fullEntry(sender, light);
        const { start, late } = attribution(timeMs);
        addFeedback(e.state, timeMs, kind);
        if (countFeedback(minuteOf(e.minutes, start), kind, late)) stats.lateEvents++;
        e.dirty = true;
      }
      touch(sender);
      advance(timeMs);
      return cluster;
    },
    heard(id, counterpartHi, counterpartLo, timeMs, kind, wallClockMs, previous) {
      observe(timeMs, wallClockMs);
      const rotating = rotationSince !== undefined ? previous : undefined;
      const book = openCurrentBook(id, rotating?.book);
      const key = counterpartKey(counterpartHi, counterpartLo);
      if (rotating !== undefined && book.previousKeyed !== undefined)
        rekeyEntry(book, key, counterpartKey(rotating.counterpartHi, rotating.counterpartLo));
      const cluster = recordHeard(book, key, timeMs, kind, options.relations);
      if (book.owner !== undefined) outcomeChanged(book.owner);
      advance(timeMs);
      return cluster;
    },
    advanceWatermark(t) {
      if (t > watermark) watermark = t;
    },
    drain(emittedAtMs) {
      const out: ProcessorOutput[] = [];
      // A minute can only close, and a sender only fall idle, when the watermark enters a new
      // minute (new minutes always end after the watermark): only then visit every sender.
      const minuteNow = Math.floor(watermark / MINUTE_MS);
      const full = minuteNow !== scannedMinute;
      if (full) {
        scannedMinute = minuteNow;
        expireBooks();
      }
      const keys = full ? [...senders.keys()].sort() : [...dirtySenders].filter((s) => senders.has(s)).sort();
      // Closed minutes first (all of them, for every sender), then features, then evictions.
      const featureOut: ProcessorOutput[] = [];
      for (const sender of keys) {
        const held = senders.get(sender)!;
        if (typeof held === 'string') {
          const minutesOut: ProcessorOutput[] = [];
          drainLight(sender, held, full, emittedAtMs, minutesOut);
          for (const o of minutesOut) (o.kind === 'minute' ? out : featureOut).push(o);
          continue;
        }
        const e = held;
        if (full) {
          for (const [start, agg] of [...e.minutes].sort((a, b) => a[0] - b[0])) {
            if (start + MINUTE_MS > watermark) break;
            e.minutes.delete(start);
            changed.add(sender);
            out.push(minuteRecord(sender, start, agg));
          }
        }
        const latest = e.state.latestMs;
        // Idle: nothing in the longest window before the watermark, and no open minute.
        const idle = watermark - latest >= longestWindowMs && e.minutes.size === 0;
        // Emit when changed and the interval passed, or once the watermark moved past the
        // sender's last event by the interval (so a sender's last burst is always published).
        const due =
          e.dirty &&
          (latest - e.lastEmittedAsOf >= options.emitIntervalMs ||
            streamTime() - latest >= options.emitIntervalMs);
        if (due || (idle && e.dirty)) {
          const asOf = Math.max(latest, e.lastEmittedAsOf);
          featureOut.push({ kind: 'features', sender, value: features(e, asOf, emittedAtMs) });
          e.lastEmittedAsOf = asOf;
          e.dirty = false;
          e.urlDomains = urlDomainsAt(e.urlDomains, asOf, longestWindow); // what was not published never will be
          changed.add(sender);
        }
        if (closeDue(full, e.dirty, e.state.lastMessageMs, latest, e.lastEmittedAsOf)) {
          const asOf = windowCloseAt(latest);
          featureOut.push({ kind: 'features', sender, value: features(e, asOf, emittedAtMs) });
          e.lastEmittedAsOf = asOf;
          e.urlDomains = urlDomainsAt(e.urlDomains, asOf, longestWindow);
          changed.add(sender);
        }
        if (!e.dirty) dirtySenders.delete(sender);
        if (full && idle && !e.dirty) evict(sender);
      }
      // Not push(...featureOut): a drain can emit more features than a call takes arguments.
      for (const o of featureOut) out.push(o);
      recentBookIds.clear();
      return out;
    },
    takeChanged() {
      const out: { key: string; value: Uint8Array | null }[] = [];
      for (const sender of [...changed].sort()) {
        const held = senders.get(sender);
        let value: Uint8Array | null = null;
        if (typeof held === 'string') value = Buffer.from(held, 'latin1');
        else if (held) {
          value = encodeSenderEntry(held);
          const bytes = fullEntryBytes(value.length);
          stateBytes += bytes - held.approxBytes;
          held.approxBytes = bytes;
        }
        out.push({ key: sender, value });
      }
      for (const sender of [...evicted].sort()) out.push({ key: sender, value: null });
      changed.clear();
      evicted.clear();
      for (const id of [...changedBooks].sort()) {
        const book = books.get(id);
        if (typeof book !== 'object') continue;
        forgetExpiredRelations(book, options.windows, options.relations);
        fromLegacy.delete(id);
        if (isEmptyBook(book)) {
          books.delete(id);
          droppedBooks.add(id);
          bookGone(id);
          continue;
        }
        const underPrevious = previousBooks.has(id);
        if (rotationSince === undefined) book.previousKeyed = undefined;
        else dropUnmarked(book);
        // An untagged book is under the key it was written with: the previous one in a rotation.
        if (book.keyTag === UNTAGGED) book.keyTag = underPrevious ? options.previousKey!.tag : options.keyTag;
        if (rotationSince !== undefined) {
          const left = previousKeyedOptOuts(book, underPrevious);
          if (left > 0) previousOptOuts.set(id, left);
          else previousOptOuts.delete(id);
        }
        // The owner is written only while it has sender state: a book restored from a clear key
        // holds that address, which may be one that only ever received.
        const bytes = encodeRelationBook(book, ownerHeld(book), rotationSince !== undefined);
        const kept = book.counterparts.size <= PACKED_BOOK_MAX_COUNTERPARTS ? bytes.toString('latin1') : book;
        books.set(id, kept);
        bookBytes += relationBookBytes(kept);
        out.push({ key: RELATION_KEY_PREFIX + id, value: bytes });
      }
      for (const id of [...droppedBooks].sort()) out.push({ key: RELATION_KEY_PREFIX + id, value: null });
      // After the books under their ids, in the same transaction: a restore that reads both
      // keeps the id's.
      for (const address of [...legacyBookKeys].sort())
        out.push({ key: RELATION_KEY_PREFIX + address, value: null });
      changedBooks.clear();
      droppedBooks.clear();
      legacyBookKeys.clear();
      return out;
    },
    shed(target) {
      const booksBefore = stats.shedRelationBooks;
      let freed = 0;
      let count = 0;
      // First the relation books of addresses that only receive (no sender state, no opt-out):
      // what is lost is who messaged them, which matters only if they start sending.
      freed += shedBooks(target - freed, (book) => !ownerHeld(book) && book.optOuts.size === 0);
      const full: { sender: string; e: SenderEntry; activity: number }[] = [];
      for (const [sender, held] of senders)
        if (typeof held === 'object') full.push({ sender, e: held, activity: activity(held) });
      full.sort(
        (a, b) =>
          a.activity - b.activity ||
          a.e.state.latestMs - b.e.state.latestMs ||
          (a.sender < b.sender ? -1 : 1),
      );
      for (const { sender, e } of full) {
        if (freed >= target) break;
        if (!e.state.rings.some((r) => r.slots.some(Boolean)) && e.state.recentRecipients.size === 0)
          continue; // nothing left to shed
        const fresh = createSenderState(options.windows);
        fresh.latestMs = e.state.latestMs; // idleness and eviction stay where they were
        e.state = fresh;
        // Features of the lost detail would be wrong, not just late: nothing is published
        // for this sender until its next event.
        e.dirty = false;
        dirtySenders.delete(sender);
        const after = fullEntryBytes(encodeSenderEntry(e).length);
        freed += e.approxBytes - after;
        stateBytes -= e.approxBytes - after;
        e.approxBytes = after;
        changed.add(sender);
        count++;
      }
      if (freed < target) {
        // Then forget whole senders with no open minute, least recently active first: cheap
        // ones, and full ones whose detail is gone or was never enough to shed.
        const idle: { sender: string; latest: number }[] = [];
        for (const [sender, held] of senders) {
          if (typeof held === 'string') {
            const peek = effectivePeek(held);
            if (peek.earliestOpenMinute === Number.POSITIVE_INFINITY)
              idle.push({ sender, latest: peek.latestMs });
          } else if (held.minutes.size === 0) idle.push({ sender, latest: held.state.latestMs });
        }
        idle.sort((a, b) => a.latest - b.latest || (a.sender < b.sender ? -1 : 1));
        for (const { sender } of idle) {
          if (freed >= target) break;
          freed += sizeOf(senders.get(sender));
          remove(sender);
          dirtySenders.delete(sender);
          changed.delete(sender);
          evicted.add(sender);
          count++;
        }
      }
      // Then any book, least recently active first, those holding opt-outs last: forgetting an
      // opt-out forgets the evidence of sends after it.
      if (freed < target) freed += shedBooks(target - freed, (book) => book.optOuts.size === 0);
      if (freed < target) freed += shedBooks(target - freed, () => true);
      stats.shedSenders += count;
      return { senders: count, relationBooks: stats.shedRelationBooks - booksBefore, bytes: freed };
    },
    restore(key, bytes) {
      if (key.startsWith(RELATION_KEY_PREFIX)) {
        const id = key.slice(RELATION_KEY_PREFIX.length);
        if (!isBookId(id)) {
          restoreLegacyBook(id, bytes);
          return;
        }
        const held = books.get(id);
        if (changedBooks.delete(id))
          fromLegacy.delete(id); // a legacy book restored under this id: superseded
        else if (held !== undefined) bookBytes -= relationBookBytes(held);
        const kept =
          relationBookCounterparts(bytes) <= PACKED_BOOK_MAX_COUNTERPARTS
            ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
            : decodeRelationBook(bytes);
        books.set(id, kept);
        bookBytes += relationBookBytes(kept);
        // Only a rotation asks which books are under another key: without a previous key, none.
        if (options.previousKey !== undefined) {
          const tag = relationBookKeyTag(bytes);
          if (tag === options.keyTag) foreignTags.delete(id);
          else foreignTags.set(id, tag);
        }
        return;
      }
      const sender = key;
      let latest: number;
      if (isLightTag(bytes[0])) {
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const light = peekLightBytes(buffer); // the header; the bytes themselves are kept
        // Held stale: caught up with the watermark restored with it when first used (the flag is
        // set in the bytes only while they are copied out, so the caller's buffer is left as it was).
        const flags = buffer[1]!;
        markStale(buffer);
        // The wide form (an earlier release's bytes, or times that did not fit) is re-packed, so
        // that a restore after an upgrade holds the compact form wherever it fits.
        set(
          sender,
          bytes[0] === LIGHT_TAG ? buffer.toString('latin1') : encodeLight(decodeLightBytes(buffer)),
        );
        buffer[1] = flags;
        if (light.dirty) dirtySenders.add(sender);
        else dirtySenders.delete(sender);
        latest = light.latestMs;
      } else {
        const entry = decodeSenderEntry(sender, bytes, options.windows);
        entry.approxBytes = fullEntryBytes(bytes.length);
        set(sender, entry);
        if (entry.dirty) dirtySenders.add(sender);
        else dirtySenders.delete(sender);
        latest = entry.state.latestMs;
      }
      // A sender's newest event time only grows from one record of it to the next, and an
      // evicted sender's was behind the watermark: the maximum over all records read is the
      // maximum over the latest ones.
      if (latest > maxEventTime) maxEventTime = latest;
    },
    forget(key) {
      if (key.startsWith(RELATION_KEY_PREFIX)) {
        const rest = key.slice(RELATION_KEY_PREFIX.length);
        const legacy = !isBookId(rest);
        const id = legacy ? options.bookId(rest) : rest;
        // A clear key's tombstone drops only the book restored from that key, not a newer id's;
        // the key itself is deleted already.
        if (legacy) legacyBookKeys.delete(rest);
        if (legacy && !fromLegacy.has(id)) return;
        const held = books.get(id);
        if (held === undefined) return;
        if (changedBooks.delete(id)) fromLegacy.delete(id);
        else bookBytes -= relationBookBytes(held);
        books.delete(id);
        bookGone(id);
        return;
      }
      remove(key);
      dirtySenders.delete(key);
    },
    setRotation(sinceMs) {
      rotationSince = sinceMs;
      previousBooks.clear();
      previousOptOuts.clear();
      if (sinceMs !== undefined) {
        const previous = options.previousKey;
        if (previous === undefined) throw new Error('a rotation needs ProcessorOptions.previousKey');
        for (const [id, tag] of foreignTags)
          if (tag === UNTAGGED || tag === previous.tag) previousBooks.add(id);
        // Books of a release before book ids, re-keyed by their clear address: the id is under
        // the new key already, their entries under the previous one.
        for (const id of fromLegacy) {
          const book = books.get(id);
          if (typeof book === 'object') markAllPrevious(book);
        }
        for (const id of books.keys()) {
          const left = previousKeyedOptOuts(readBook(id)!, previousBooks.has(id));
          if (left > 0) previousOptOuts.set(id, left);
        }
      }
      foreignTags.clear();
    },
    get rotation() {
      if (rotationSince === undefined) return undefined;
      let optOuts = 0;
      for (const n of previousOptOuts.values()) optOuts += n;
      return { sinceMs: rotationSince, previousBooks: previousBooks.size, previousOptOuts: optOuts };
    },
    endRotationIfDone() {
      if (rotationSince === undefined) return false;
      const retentionPassed = watermark - rotationSince > options.relations.optOutRetentionMs;
      if (previousOptOuts.size > 0 && !retentionPassed) return false;
      // What is left under the previous key can no longer be matched once the key is removed.
      for (const id of previousBooks) {
        const held = books.get(id);
        if (held !== undefined && !changedBooks.delete(id)) bookBytes -= relationBookBytes(held);
        books.delete(id);
        droppedBooks.add(id);
      }
      previousBooks.clear();
      previousOptOuts.clear();
      rotationSince = undefined;
      return true;
    },
    restoreWatermark(w, closedBy = Number.NEGATIVE_INFINITY) {
      if (w > watermark) watermark = w;
      if (closedBy > catchUp.closedBy) catchUp = { ...catchUp, closedBy };
      if (w + options.allowedLatenessMs > maxEventTime) maxEventTime = w + options.allowedLatenessMs;
    },
  };
}
