import { sliceStart, type WindowSpec } from '../windows/window-spec.ts';

/** Tunables; defaults in DEFAULT_RELATION_OPTIONS. */
export interface RelationOptions {
  /** A message from the recipient within this long after the sender's message is a reply to it. */
  readonly replyDelayMs: number;
  /** A recipient who messaged the sender within this look-back is a contact. */
  readonly contactLookbackMs: number;
  /**
   * The one message a sender may send after an opt-out without violating it: the confirmation
   * ("You are unsubscribed"), within this long (FCC 2024 consent rules: 5 minutes).
   */
  readonly optOutConfirmationMs: number;
  /** How long an opt-out is remembered after the book's newest event (until revoked by START). */
  readonly optOutRetentionMs: number;
  /** Most counterparts remembered per sender, least recently active forgotten first. */
  readonly maxCounterparts: number;
  /** Most opt-outs remembered per sender, oldest forgotten first. */
  readonly maxOptOuts: number;
  /** Most post-opt-out send times kept per sender (within the longest window), oldest dropped. */
  readonly maxViolations: number;
}

export const DEFAULT_RELATION_OPTIONS: RelationOptions = Object.freeze({
  replyDelayMs: 72 * 3_600_000,
  contactLookbackMs: 30 * 86_400_000,
  optOutConfirmationMs: 300_000,
  optOutRetentionMs: 365 * 86_400_000,
  maxCounterparts: 10_000,
  maxOptOuts: 50_000,
  maxViolations: 4_096,
});

/** One counterpart. Times are ms (whole seconds); NaN when it never happened. */
export interface Counterpart {
  /** The sender's latest message to them. */
  sentMs: number;
  /**
   * The sender's message to them before sentMs: what an answer read after a later message (a
   * partition behind the other) still answers.
   */
  prevSentMs: number;
  /** Their latest message to the sender other than an opt-out. */
  heardMs: number;
  /** The latest of the sender's messages they answered (not with an opt-out). */
  answeredMs: number;
  /** The latest of the sender's messages they answered with an opt-out. */
  optOutAnsweredMs: number;
  /** Content cluster of the sender's latest message to them (cluster-key.ts); NaN for none. */
  clusterId: number;
}

export interface OptOut {
  /** When they opted out (the earliest opt-out not revoked since). */
  ms: number;
  /** Whether the one permitted confirmation was sent. */
  confirmed: boolean;
  /**
   * Content cluster of the sender's message the opt-out answered (as recordHeard attributes it);
   * NaN for none: what a send past this opt-out is held against (SendVerdict.optOutCluster).
   */
  clusterId: number;
}

export interface RelationBook {
  /** Keyed by counterpartKey; insertion order is the order of last activity. */
  readonly counterparts: Map<number, Counterpart>;
  /** Keyed by counterpartKey; insertion order is opt-out order. */
  readonly optOuts: Map<number, OptOut>;
  /** Times of messages sent after an opt-out, ascending. */
  readonly violations: number[];
  /** Newest event time the book has seen. */
  latestMs: number;
  /**
   * The address whose book it is, as it sends, once it has sent: books are keyed by a keyed hash
   * (a book id) and an answer names only that, so this is how an answer finds the sender whose
   * features it changes. Never set from a recipient: an address that only receives stays a hash.
   */
  owner: string | undefined;
  /**
   * The 16-bit tag of the hash key (hashKeyTag) its id and entries are under; UNTAGGED for a
   * book of a release before tags, which is under the key the partition had then.
   */
  keyTag: number;
  /**
   * During a key rotation, in a book moved to its id under the new key: the keys of its
   * counterparts and opt-outs still under the previous key (docs/key-rotation.md); undefined
   * when none are.
   */
  previousKeyed: Set<number> | undefined;
}

/** The key tag of a book written before books recorded one. */
export const UNTAGGED = -1;

/** The relation features of one window (see catalog.ts for the published definitions). */
export interface RelationFeatures {
  readonly repliedRecipients: number;
  readonly replyRate: number;
  readonly optOuts: number;
  readonly optOutRate: number;
  readonly postOptOutSends: number;
}

export const NO_RELATION_FEATURES: RelationFeatures = Object.freeze({
  repliedRecipients: 0,
  replyRate: 0,
  optOuts: 0,
  optOutRate: 0,
  postOptOutSends: 0,
});

export const TWO_32 = 4_294_967_296;
export const TWO_21 = 2_097_152;

/** A counterpart's key: the top 53 bits of their keyed 64-bit hash, exact in a double. */
export function counterpartKey(hi: number, lo: number): number {
  return (hi >>> 0) * TWO_21 + ((lo >>> 0) >>> 11);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex32 = (w: number): string =>
  HEX[w >>> 24]! + HEX[(w >>> 16) & 0xff]! + HEX[(w >>> 8) & 0xff]! + HEX[w & 0xff]!;

/**
 * A relation book's id: the address's keyed 64-bit hash (the subscriber hasher's, given as its
 * halves) in 16 lower-case hex digits. Books, their changelog keys and the by-recipient topic
 * name an address only by it; at 64 bits two of 100 million addresses share one with
 * probability about 3e-4.
 */
export function bookId(hi: number, lo: number): string {
  return hex32(hi >>> 0) + hex32(lo >>> 0);
}

/** Whether `s` has a book id's form (bookId): what a hashed by-recipient record must carry. */
export function isBookId(s: string): boolean {
  return /^[0-9a-f]{16}$/.test(s);
}

/** Whole seconds, so that the changelog form (seconds) is exact. */
export const toSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

export function createRelationBook(): RelationBook {
  return {
    counterparts: new Map(),
    optOuts: new Map(),
    violations: [],
    latestMs: Number.NEGATIVE_INFINITY,
    owner: undefined,
    keyTag: UNTAGGED,
    previousKeyed: undefined,
  };
}

function counterpart(book: RelationBook, key: number): Counterpart {
  const c = book.counterparts.get(key) ?? {
    sentMs: Number.NaN,
    prevSentMs: Number.NaN,
    heardMs: Number.NaN,
    answeredMs: Number.NaN,
    optOutAnsweredMs: Number.NaN,
    clusterId: Number.NaN,
  };
  book.counterparts.delete(key); // re-inserted last: most recently active
  book.counterparts.set(key, c);
  return c;
}

/** max that treats NaN as absent. */
const later = (a: number, b: number): number => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));

function addViolation(book: RelationBook, t: number, o: RelationOptions): void {
  const v = book.violations;
  let i = v.length;
  while (i > 0 && v[i - 1]! > t) i--;
  v.splice(i, 0, t);
  if (v.length > o.maxViolations) v.shift();
}

function capCounterparts(book: RelationBook, o: RelationOptions): void {
  while (book.counterparts.size > o.maxCounterparts) {
    book.counterparts.delete(book.counterparts.keys().next().value as number);
  }
}

/** What the sender's message to a counterpart means, worked out as it is recorded. */
export interface SendVerdict {
  /** The counterpart messaged the sender within the contact look-back before this message. */
  readonly contact: boolean;
  /** The counterpart had opted out from the sender before it (the confirmation excepted). */
  readonly afterOptOut: boolean;
  /**
   * When afterOptOut: the content cluster whose message drew that opt-out (NaN if none or not
   * known), so the template a sender was told STOP about learns that the sender ignored it.
   */
  readonly optOutCluster: number;
}

/** Records the sender's message to `key` at `timeMs`, of content cluster `clusterId` (NaN: none). */
export function recordSent(
  book: RelationBook,
  key: number,
  timeMs: number,
  o: RelationOptions,
  clusterId = Number.NaN,
): SendVerdict {
  const t = toSeconds(timeMs);
  if (t > book.latestMs) book.latestMs = t;
  const c = counterpart(book, key);
  const contact = c.heardMs <= t && t - c.heardMs <= o.contactLookbackMs; // false for NaN
  const opt = book.optOuts.get(key);
  // Read after the counterpart's answer to it (arrival order is not event order).
  if (c.heardMs >= t && c.heardMs - t <= o.replyDelayMs) c.answeredMs = later(c.answeredMs, t);
  if (opt && opt.ms >= t && opt.ms - t <= o.replyDelayMs) c.optOutAnsweredMs = later(c.optOutAnsweredMs, t);
  if (!(t <= c.sentMs)) {
    c.prevSentMs = c.sentMs;
    c.sentMs = t;
    c.clusterId = clusterId;
  } else if (t < c.sentMs && !(t <= c.prevSentMs)) c.prevSentMs = t; // read out of order
  capCounterparts(book, o);
  if (opt && opt.ms <= t) {
    if (!opt.confirmed && t - opt.ms <= o.optOutConfirmationMs) opt.confirmed = true;
    else {
      addViolation(book, t, o);
      return { contact, afterOptOut: true, optOutCluster: opt.clusterId };
    }
  }
  return contact ? CONTACT : NO_CONTACT;
}

const CONTACT: SendVerdict = Object.freeze({ contact: true, afterOptOut: false, optOutCluster: Number.NaN });
const NO_CONTACT: SendVerdict = Object.freeze({
  contact: false,
  afterOptOut: false,
  optOutCluster: Number.NaN,
});

/**
 * How far back a send past an opt-out marks the sender's messages (ClusterEvent.senderIgnoresOptOuts),
 * unless the sender windows are shorter (the book keeps violations for the longest of them).
 */
export const IGNORES_OPT_OUTS_MS = 3_600_000;

/**
 * Whether the sender sent past an opt-out (the confirmation excepted) within `lookbackMs` up to
 * `timeMs`, that time included: what marks its messages as a sender ignoring opt-outs.
 */
export function ignoresOptOutsAt(book: RelationBook, timeMs: number, lookbackMs: number): boolean {
  const t = toSeconds(timeMs);
  const v = book.violations;
  for (let i = v.length - 1; i >= 0; i--) {
    if (v[i]! > t) continue;
    return t - v[i]! < lookbackMs;
  }
  return false;
}

/**
 * Records a message from counterpart `key` to the sender at `timeMs`: an opt-out, an opt-in
 * (START, UNSTOP: revokes an earlier opt-out) or any other message (a reply if it follows one of
 * the sender's within the reply delay). Returns the content cluster of the message it answers, to
 * attribute the answer to, when that is the sender's latest message to them, of a cluster, sent
 * at most the reply delay before, and the answer is the first of its kind to it: the first
 * opt-out (a repeated STOP is not a new one), or the first reply (an opt-in counts as a reply,
 * as in the sender's reply features; a conversation's further messages do not). Else NaN.
 */
export function recordHeard(
  book: RelationBook,
  key: number,
  timeMs: number,
  kind: 'message' | 'optOut' | 'optIn',
  o: RelationOptions,
): number {
  const t = toSeconds(timeMs);
  if (t > book.latestMs) book.latestMs = t;
  const c = counterpart(book, key);
  // An opt-out is not an exchange: it neither makes a contact nor counts as a reply.
  if (kind !== 'optOut') c.heardMs = later(c.heardMs, t);
  // The sender's latest message before this one; the one before the latest when a later message
  // was read first (two or more later ones, and the answer is credited to none).
  const answered = c.sentMs <= t ? c.sentMs : c.prevSentMs <= t ? c.prevSentMs : Number.NaN;
  const answers = t - answered <= o.replyDelayMs; // false for NaN
  // A reply to the latest message that was already answered adds nothing to its cluster.
  const firstReply = kind !== 'optOut' && !(c.answeredMs >= answered); // true for NaN
  if (answers && kind === 'optOut') c.optOutAnsweredMs = later(c.optOutAnsweredMs, answered);
  else if (answers) c.answeredMs = later(c.answeredMs, answered);
  capCounterparts(book, o);
  const cluster =
    answers && answered === c.sentMs && (kind === 'optOut' || firstReply) ? c.clusterId : Number.NaN;
  if (kind === 'optOut') {
    const held = book.optOuts.get(key);
    if (held && held.ms <= t) return Number.NaN; // already opted out: the earliest opt-out stands
    book.optOuts.delete(key);
    book.optOuts.set(key, { ms: t, confirmed: false, clusterId: cluster });
    while (book.optOuts.size > o.maxOptOuts) book.optOuts.delete(book.optOuts.keys().next().value as number);
    // A message the sender sent after this opt-out, read before it. Only the latest send is
    // known: earlier ones between the two are not counted (rare: it needs the opt-out to reach
    // this partition later than two of the sender's messages to the same person).
    if (c.sentMs > t) {
      const opt = book.optOuts.get(key)!;
      if (c.sentMs - t <= o.optOutConfirmationMs) opt.confirmed = true;
      else addViolation(book, c.sentMs, o);
    }
  } else if (kind === 'optIn') {
    const held = book.optOuts.get(key);
    if (held && held.ms <= t) book.optOuts.delete(key);
  }
  return cluster;
}

/** The content cluster of the sender's latest message to `key` (for feedback naming them); NaN if unknown. */
export function latestClusterTo(book: RelationBook, key: number): number {
  return book.counterparts.get(key)?.clusterId ?? Number.NaN;
}

/** Whether time x lies in the window evaluated at t (the slices of window-spec.ts). */
function inWindow(x: number, t: number, spec: WindowSpec): boolean {
  const end = sliceStart(t, spec.sliceMs);
  const s = sliceStart(x, spec.sliceMs);
  return s <= end && s > end - spec.lengthMs;
}

/**
 * The relation features of every window at event time t. Rates are over the distinct recipients
 * the sender messaged in the window that the book still remembers (its most recent
 * maxCounterparts), with the answers that arrived up to now.
 */
export function relationFeaturesAt(
  book: RelationBook,
  t: number,
  windows: readonly WindowSpec[],
): RelationFeatures[] {
  const n = windows.length;
  const sent = new Array<number>(n).fill(0);
  const replied = new Array<number>(n).fill(0);
  const opted = new Array<number>(n).fill(0);
  const violations = new Array<number>(n).fill(0);
  const longest = Math.max(...windows.map((w) => w.lengthMs + w.sliceMs));
  for (const c of book.counterparts.values()) {
    if (!(t - c.sentMs <= longest)) continue; // never messaged, or long ago
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      if (!inWindow(c.sentMs, t, w)) continue;
      sent[i]!++;
      if (inWindow(c.answeredMs, t, w)) replied[i]!++;
      if (inWindow(c.optOutAnsweredMs, t, w)) opted[i]!++;
    }
  }
  for (const v of book.violations)
    for (let i = 0; i < n; i++) if (inWindow(v, t, windows[i]!)) violations[i]!++;
  return windows.map((_, i) => ({
    repliedRecipients: replied[i]!,
    replyRate: sent[i]! > 0 ? replied[i]! / sent[i]! : 0,
    optOuts: opted[i]!,
    optOutRate: sent[i]! > 0 ? opted[i]! / sent[i]! : 0,
    postOptOutSends: violations[i]!,
  }));
}

/** A content cluster the sender sends, by recipients whose latest message from it was of the cluster. */
export interface DominantCluster {
  readonly clusterId: number;
  readonly recipients: number;
}

/**
 * The sender's dominant content clusters at t: over the recipients messaged in `window`, the
 * cluster of the latest message each got, counted, most first (ties by id), at most `limit`.
 */
export function dominantClusters(
  book: RelationBook,
  t: number,
  window: WindowSpec,
  limit = 3,
): DominantCluster[] {
  const counts = new Map<number, number>();
  for (const c of book.counterparts.values())
    if (!Number.isNaN(c.clusterId) && inWindow(c.sentMs, t, window))
      counts.set(c.clusterId, (counts.get(c.clusterId) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, limit)
    .map(([clusterId, recipients]) => ({ clusterId, recipients }));
}

/**
 * Drops what can no longer matter as of the book's newest event (or `now`, the watermark, when later): counterparts neither messaged
 * within the reply delay and the longest window nor heard within the contact look-back, opt-outs
 * past their retention, violations outside the longest window.
 */
export function forgetExpiredRelations(
  book: RelationBook,
  windows: readonly WindowSpec[],
  o: RelationOptions,
  now = book.latestMs,
): void {
  const t = Math.max(now, book.latestMs);
  const sentHorizon = Math.max(o.replyDelayMs, ...windows.map((w) => w.lengthMs + w.sliceMs));
  for (const [key, c] of book.counterparts) {
    const sentMatters = t - c.sentMs <= sentHorizon;
    const heardMatters = t - c.heardMs <= Math.max(o.contactLookbackMs, o.replyDelayMs);
    if (!sentMatters && !heardMatters) book.counterparts.delete(key);
  }
  for (const [key, opt] of book.optOuts) if (t - opt.ms > o.optOutRetentionMs) book.optOuts.delete(key);
  const longest = Math.max(...windows.map((w) => w.lengthMs + w.sliceMs));
  let drop = 0;
  while (drop < book.violations.length && t - book.violations[drop]! > longest) drop++;
  if (drop > 0) book.violations.splice(0, drop);
}

/** True when the book holds nothing: it can be dropped. */
export function isEmptyBook(book: RelationBook): boolean {
  return book.counterparts.size === 0 && book.optOuts.size === 0 && book.violations.length === 0;
}
