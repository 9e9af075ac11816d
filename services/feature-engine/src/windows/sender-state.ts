/**
 * One sender's sliding-window state: for each window a ring of slices (window-spec.ts), plus the
 * little running state some features need (the previous message's time and recipient, the
 * current 1 s and 10 s buckets, the sender's content templates, recent recipients). Pure: events
 * and times in, feature values out; no I/O, no clock. The Kafka shell around it owns watermarks,
 * emission and the changelog.
 */
import { hammingDistance, NEAR_DUPLICATE_DISTANCE } from '@spamgate/core';
import { NO_RELATION_FEATURES, type RelationFeatures } from '../relations/relation-book.ts';
import { createDistinctCounter, type DistinctCounter } from '../sketches/distinct-counter.ts';
import { sliceStart, type WindowSpec } from './window-spec.ts';

/** What the feature engine keeps of one message: no body, no recipient number. */
export interface MessageFacts {
  /** Event time, ms since the epoch. */
  readonly timeMs: number;
  /** Keyed 64-bit hash of the recipient as two unsigned 32-bit halves. */
  readonly recipientHi: number;
  readonly recipientLo: number;
  /**
   * The recipient's number shifted by a secret offset (distances between numbers survive, the
   * numbers do not), for the sequential-recipient score; NaN when the recipient is not numeric.
   */
  readonly recipientPosition: number;
  /** The recipient's exchange-level prefix (first 6 national digits), -1 when unknown. */
  readonly recipientPrefix: number;
  /** Keyed locality-sensitive fingerprint of the body; 0n for no body. */
  readonly fingerprint: bigint;
  /** 32-bit hashes of the URL registrable domains in the body. */
  readonly urlDomainHashes: readonly number[];
  /**
   * The same registrable domains as text, each once, in order of appearance (content/analyse.ts):
   * the sender's recent ones are published (url-domains.ts).
   */
  readonly urlDomains: readonly string[];
  readonly hasUrl: boolean;
  readonly hasCallbackNumber: boolean;
  /** Hour of day at the recipient (0-23), for the quiet-hours share. */
  readonly localHour: number;
}

export type FeedbackKind = 'DELIVERY_FAILURE' | 'SPAM_REPORT' | 'SUBSCRIBER_BLOCK' | 'UNKNOWN';

/** Tunables of the features; defaults in DEFAULT_FEATURE_OPTIONS. */
export interface FeatureOptions {
  /** Two consecutive recipients at most this far apart (and not equal) count as sequential. */
  readonly sequentialDistance: number;
  /** Local hours counted as quiet: from quietFrom (inclusive) to quietTo (exclusive), wrapping midnight. */
  readonly quietFrom: number;
  readonly quietTo: number;
  /** A recipient not messaged by the sender within this look-back is a new contact. */
  readonly newContactLookbackMs: number;
  /** Most recipients remembered per sender for the new-contact share (least recent forgotten first). */
  readonly maxRememberedRecipients: number;
  /** Most content templates tracked per sender. */
  readonly maxTemplates: number;
  /** Most distinct recipient prefixes counted per slice; the rest share one overflow bucket. */
  readonly maxPrefixesPerSlice: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = Object.freeze({
  sequentialDistance: 10,
  quietFrom: 21,
  quietTo: 8,
  newContactLookbackMs: 86_400_000,
  maxRememberedRecipients: 10_000,
  maxTemplates: 16,
  maxPrefixesPerSlice: 64,
});

const OVERFLOW_PREFIX = -2;

export interface Slice {
  start: number;
  messages: number;
  /** Messages with a body (a fingerprint), the denominator of template shares. */
  bodied: number;
  urlMessages: number;
  callbackMessages: number;
  quietHourMessages: number;
  newContactMessages: number;
  /** Messages to contacts: recipients who messaged the sender within the contact look-back. */
  contactMessages: number;
  /** Highest count of messages in one 1 s / 10 s bucket that started in this slice. */
  peak1s: number;
  peak10s: number;
  /** Inter-message gaps ending in this slice: count, sum and sum of squares, in seconds. */
  gaps: number;
  gapSum: number;
  gapSumSq: number;
  /** Consecutive-recipient pairs ending in this slice, and how many were sequential. */
  recipientPairs: number;
  sequentialPairs: number;
  deliveryFailures: number;
  spamReports: number;
  subscriberBlocks: number;
  recipients: DistinctCounter | null;
  urlDomains: DistinctCounter | null;
  /** Messages per content template id. */
  templates: Map<number, number> | null;
  /** Messages per recipient prefix (OVERFLOW_PREFIX collects the rest). */
  prefixes: Map<number, number> | null;
}

export function emptySlice(start: number): Slice {
  return {
    start,
    messages: 0,
    bodied: 0,
    urlMessages: 0,
    callbackMessages: 0,
    quietHourMessages: 0,
    newContactMessages: 0,
    contactMessages: 0,
    peak1s: 0,
    peak10s: 0,
    gaps: 0,
    gapSum: 0,
    gapSumSq: 0,
    recipientPairs: 0,
    sequentialPairs: 0,
    deliveryFailures: 0,
    spamReports: 0,
    subscriberBlocks: 0,
    recipients: null,
    urlDomains: null,
    templates: null,
    prefixes: null,
  };
}

/** A window's ring: slot i holds the slice whose index (start / sliceMs) is i modulo the slot count. */
export interface Ring {
  readonly spec: WindowSpec;
  readonly slots: (Slice | undefined)[];
}

/** The features of one window, as published in SenderFeatures and documented in FEATURES.md. */
export interface WindowFeatures {
  readonly window: string;
  readonly windowMs: number;
  readonly messages: number;
  readonly peak1s: number;
  readonly peak10s: number;
  readonly distinctRecipients: number;
  readonly fanOut: number;
  readonly newContactShare: number;
  readonly contactShare: number;
  readonly sequentialShare: number;
  readonly prefixEntropy: number;
  readonly topTemplateShare: number;
  readonly distinctTemplates: number;
  readonly urlShare: number;
  readonly distinctUrlDomains: number;
  readonly callbackShare: number;
  readonly timingCv: number;
  readonly quietHourShare: number;
  readonly deliveryFailures: number;
  readonly deliveryFailureRate: number;
  readonly spamReports: number;
  readonly subscriberBlocks: number;
  readonly registeredCapShare: number;
  readonly repliedRecipients: number;
  readonly replyRate: number;
  readonly optOuts: number;
  readonly optOutRate: number;
  readonly postOptOutSends: number;
}

export interface SenderState {
  readonly rings: Ring[];
  lastMessageMs: number;
  lastRecipientPosition: number;
  /** Current 1 s and 10 s buckets (start ms) and their counts, for peak rates. */
  bucket1s: number;
  count1s: number;
  bucket10s: number;
  count10s: number;
  /** Content templates: representative fingerprint and id, most recently matched last. */
  templates: { fingerprint: bigint; id: number }[];
  nextTemplateId: number;
  /** Recipient (low 32 bits of its hash) -> last time messaged; insertion order is recency. */
  recentRecipients: Map<number, number>;
  /** Latest event time seen for this sender. */
  latestMs: number;
}

export function createSenderState(windows: readonly WindowSpec[]): SenderState {
  return {
    rings: windows.map((spec) => ({ spec, slots: new Array(spec.lengthMs / spec.sliceMs) })),
    lastMessageMs: Number.NaN,
    lastRecipientPosition: Number.NaN,
    bucket1s: Number.NaN,
    count1s: 0,
    bucket10s: Number.NaN,
    count10s: 0,
    templates: [],
    nextTemplateId: 1,
    recentRecipients: new Map(),
    latestMs: Number.NEGATIVE_INFINITY,
  };
}

/**
 * The slice of `ring` for time t, created if needed; undefined when t is older than every slice
 * the ring still holds (the event is outside this window at any time from now on).
 */
function sliceFor(ring: Ring, t: number, latestMs: number): Slice | undefined {
  const { sliceMs, lengthMs } = ring.spec;
  const start = sliceStart(t, sliceMs);
  if (start <= sliceStart(latestMs, sliceMs) - lengthMs) return undefined;
  const n = ring.slots.length;
  const slot = (((start / sliceMs) % n) + n) % n;
  const current = ring.slots[slot];
  if (current && current.start === start) return current;
  if (current && current.start > start) return undefined; // the slot already holds a newer slice
  const fresh = emptySlice(start);
  ring.slots[slot] = fresh;
  return fresh;
}

function isQuiet(hour: number, o: FeatureOptions): boolean {
  return o.quietFrom <= o.quietTo
    ? hour >= o.quietFrom && hour < o.quietTo
    : hour >= o.quietFrom || hour < o.quietTo;
}

/** Which template a fingerprint belongs to: the first representative within the near-duplicate distance. */
function templateOf(state: RunningState, fingerprint: bigint, o: FeatureOptions): number {
  const reps = state.templates;
  for (let i = reps.length - 1; i >= 0; i--) {
    const rep = reps[i]!;
    if (hammingDistance(rep.fingerprint, fingerprint) <= NEAR_DUPLICATE_DISTANCE) {
      if (i !== reps.length - 1) {
        reps.splice(i, 1);
        reps.push(rep);
      }
      return rep.id;
    }
  }
  const id = state.nextTemplateId++;
  reps.push({ fingerprint, id });
  if (reps.length > o.maxTemplates) reps.shift(); // forget the least recently matched template
  return id;
}

/**
 * What one message contributes to the slices, worked out from the sender's running state at the
 * moment it arrived (gap to the previous message, sequential pair, bucket counts, new contact,
 * template). Applying it to the rings needs nothing else, which is what lets a cheap sender keep
 * these instead of rings and build the rings only when asked (light-entry.ts).
 */
export interface DerivedMessage {
  readonly timeMs: number;
  readonly recipientHi: number;
  readonly recipientLo: number;
  readonly recipientPrefix: number;
  readonly urlDomainHashes: readonly number[];
  readonly hasUrl: boolean;
  readonly hasCallbackNumber: boolean;
  readonly quiet: boolean;
  /** Neither a contact nor messaged by the sender within the new-contact look-back. */
  readonly newContact: boolean;
  /** A contact: the recipient messaged the sender within the contact look-back (relation-book.ts). */
  readonly contact: boolean;
  /** Milliseconds since the previous message (in arrival order); NaN for the first. */
  readonly gapMs: number;
  /** 1 sequential, 0 not, -1 no pair (first message, or a recipient that is not a number). */
  readonly pairSequential: number;
  /** Messages so far in this message's 1 s and 10 s bucket, this one included. */
  readonly count1s: number;
  readonly count10s: number;
  /** Content template id, 0 for no body. */
  readonly template: number;
}

/** The part of a sender's state that derives a message's contribution: everything but the rings. */
export type RunningState = Omit<SenderState, 'rings'>;

/**
 * The last time the sender messaged a recipient, if within the look-back of the sender's newest
 * event; older entries count as forgotten whether or not they are still stored.
 */
export function recentlySeen(state: RunningState, key: number, o: FeatureOptions): number | undefined {
  const seen = state.recentRecipients.get(key);
  return seen !== undefined && state.latestMs - seen <= o.newContactLookbackMs ? seen : undefined;
}

/**
 * Updates the running state for a message and returns what it adds to the slices. `contact`: the
 * recipient is one of the sender's contacts (the relation book knows; the windows cannot).
 */
export function deriveMessage(
  state: RunningState,
  m: MessageFacts,
  o: FeatureOptions,
  contact = false,
): DerivedMessage {
  const t = m.timeMs;
  if (t > state.latestMs) state.latestMs = t;

  // Running state, in arrival order: gaps, sequential pairs, peak buckets, new contacts.
  const gapMs = Number.isNaN(state.lastMessageMs) ? Number.NaN : Math.abs(t - state.lastMessageMs);
  state.lastMessageMs = t;
  let pairSequential = -1;
  if (!Number.isNaN(state.lastRecipientPosition) && !Number.isNaN(m.recipientPosition)) {
    const d = Math.abs(m.recipientPosition - state.lastRecipientPosition);
    pairSequential = d > 0 && d <= o.sequentialDistance ? 1 : 0;
  }
  state.lastRecipientPosition = m.recipientPosition;
  const b1 = sliceStart(t, 1_000);
  if (b1 === state.bucket1s) state.count1s++;
  else {
    state.bucket1s = b1;
    state.count1s = 1;
  }
  const b10 = sliceStart(t, 10_000);
  if (b10 === state.bucket10s) state.count10s++;
  else {
    state.bucket10s = b10;
    state.count10s = 1;
  }
  const key = m.recipientLo >>> 0;
  const lastSeen = recentlySeen(state, key, o);
  const newContact = !contact && (lastSeen === undefined || t - lastSeen > o.newContactLookbackMs);
  state.recentRecipients.delete(key);
  state.recentRecipients.set(key, lastSeen === undefined ? t : Math.max(t, lastSeen));
  if (state.recentRecipients.size > o.maxRememberedRecipients) {
    const oldest = state.recentRecipients.keys().next().value as number;
    state.recentRecipients.delete(oldest);
  }
  return {
    timeMs: t,
    recipientHi: m.recipientHi,
    recipientLo: m.recipientLo,
    recipientPrefix: m.recipientPrefix,
    urlDomainHashes: m.urlDomainHashes,
    hasUrl: m.hasUrl,
    hasCallbackNumber: m.hasCallbackNumber,
    quiet: isQuiet(m.localHour, o),
    newContact,
    contact,
    gapMs,
    pairSequential,
    count1s: state.count1s,
    count10s: state.count10s,
    template: m.fingerprint === 0n ? 0 : templateOf(state, m.fingerprint, o),
  };
}

/** Adds a derived message to every window's slice for its time, as of the sender's newest event. */
export function applyMessage(
  rings: readonly Ring[],
  latestMs: number,
  d: DerivedMessage,
  o: FeatureOptions = DEFAULT_FEATURE_OPTIONS,
): void {
  const t = d.timeMs;
  const b1 = sliceStart(t, 1_000);
  const b10 = sliceStart(t, 10_000);
  const gap = d.gapMs / 1000;
  for (const ring of rings) {
    const s = sliceFor(ring, t, latestMs);
    if (!s) continue;
    s.messages++;
    if (d.hasUrl) s.urlMessages++;
    if (d.hasCallbackNumber) s.callbackMessages++;
    if (d.quiet) s.quietHourMessages++;
    if (d.newContact) s.newContactMessages++;
    if (d.contact) s.contactMessages++;
    // A bucket belongs to the slice it starts in; slices are multiples of 10 s, so it fits.
    if (d.count1s > s.peak1s && sliceStart(b1, ring.spec.sliceMs) === s.start) s.peak1s = d.count1s;
    if (d.count10s > s.peak10s && sliceStart(b10, ring.spec.sliceMs) === s.start) s.peak10s = d.count10s;
    if (!Number.isNaN(gap)) {
      s.gaps++;
      s.gapSum += gap;
      s.gapSumSq += gap * gap;
    }
    if (d.pairSequential >= 0) {
      s.recipientPairs++;
      s.sequentialPairs += d.pairSequential;
    }
    s.recipients ??= createDistinctCounter();
    s.recipients.add(d.recipientHi, d.recipientLo);
    for (const h of d.urlDomainHashes) {
      s.urlDomains ??= createDistinctCounter();
      s.urlDomains.add(h, Math.imul(h, 0x9e3779b1));
    }
    if (d.template !== 0) {
      s.bodied++;
      s.templates ??= new Map();
      s.templates.set(d.template, (s.templates.get(d.template) ?? 0) + 1);
    }
    if (d.recipientPrefix >= 0) {
      s.prefixes ??= new Map();
      const p =
        s.prefixes.has(d.recipientPrefix) || s.prefixes.size < o.maxPrefixesPerSlice
          ? d.recipientPrefix
          : OVERFLOW_PREFIX;
      s.prefixes.set(p, (s.prefixes.get(p) ?? 0) + 1);
    }
  }
}

/** Adds a message to every window's slice for its time; returns what it contributed. */
export function addMessage(
  state: SenderState,
  m: MessageFacts,
  o: FeatureOptions = DEFAULT_FEATURE_OPTIONS,
  contact = false,
): DerivedMessage {
  const d = deriveMessage(state, m, o, contact); // moves latestMs first: slices are chosen as of this message
  applyMessage(state.rings, state.latestMs, d, o);
  return d;
}

/** Adds feedback to every window's slice for its time, as of the sender's newest event. */
export function applyFeedback(
  rings: readonly Ring[],
  latestMs: number,
  timeMs: number,
  kind: FeedbackKind,
): void {
  for (const ring of rings) {
    const s = sliceFor(ring, timeMs, latestMs);
    if (!s) continue;
    if (kind === 'DELIVERY_FAILURE') s.deliveryFailures++;
    else if (kind === 'SPAM_REPORT') s.spamReports++;
    else if (kind === 'SUBSCRIBER_BLOCK') s.subscriberBlocks++;
  }
}

/** Adds feedback about the sender (a delivery failure, a spam report, a block) at its event time. */
export function addFeedback(state: SenderState, timeMs: number, kind: FeedbackKind): void {
  if (timeMs > state.latestMs) state.latestMs = timeMs;
  applyFeedback(state.rings, state.latestMs, timeMs, kind);
}

/** The slices of a ring that belong to the window evaluated at time t. */
function slicesAt(ring: Ring, t: number): Slice[] {
  const { sliceMs, lengthMs } = ring.spec;
  const end = sliceStart(t, sliceMs);
  const out: Slice[] = [];
  for (const s of ring.slots) if (s && s.start <= end && s.start > end - lengthMs) out.push(s);
  return out;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);
const capShare = (messages: number, allowed: number | undefined): number =>
  allowed !== undefined && Number.isFinite(allowed) ? ratio(messages, allowed) : 0;

function entropyBits(counts: Map<number, number>): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  if (total === 0) return 0;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / total;
    h -= p * Math.log2(p);
  }
  return h;
}

/** What a window's distinct counts are merged into, reset for each (DistinctCounter.reset). */
const UNION_RECIPIENTS = createDistinctCounter();
const UNION_DOMAINS = createDistinctCounter();

/**
 * Every window's features at event time t (usually the partition's watermark or the latest event).
 * `allowed` gives the most messages the sender's registration allows in a window of that length
 * (schemas/src/registrations.ts); without it, or when it is not finite, registeredCapShare is 0. `relations`
 * are the sender's relation features per window (relation-book.ts), zero without them.
 */
export function featuresAt(
  state: SenderState,
  t: number,
  allowed?: (windowMs: number) => number,
  relations?: readonly RelationFeatures[],
): WindowFeatures[] {
  return state.rings.map((ring, index) => {
    const slices = slicesAt(ring, t);
    let messages = 0;
    let bodied = 0;
    let url = 0;
    let callback = 0;
    let quiet = 0;
    let fresh = 0;
    let contacts = 0;
    let peak1s = 0;
    let peak10s = 0;
    let gaps = 0;
    let gapSum = 0;
    let gapSumSq = 0;
    let pairs = 0;
    let sequential = 0;
    let failures = 0;
    let reports = 0;
    let blocks = 0;
    const recipients = UNION_RECIPIENTS.reset();
    const domains = UNION_DOMAINS.reset();
    const templates = new Map<number, number>();
    const prefixes = new Map<number, number>();
    for (const s of slices) {
      messages += s.messages;
      bodied += s.bodied;
      url += s.urlMessages;
      callback += s.callbackMessages;
      quiet += s.quietHourMessages;
      fresh += s.newContactMessages;
      contacts += s.contactMessages;
      peak1s = Math.max(peak1s, s.peak1s);
      peak10s = Math.max(peak10s, s.peak10s);
      gaps += s.gaps;
      gapSum += s.gapSum;
      gapSumSq += s.gapSumSq;
      pairs += s.recipientPairs;
      sequential += s.sequentialPairs;
      failures += s.deliveryFailures;
      reports += s.spamReports;
      blocks += s.subscriberBlocks;
      if (s.recipients) recipients.merge(s.recipients);
      if (s.urlDomains) domains.merge(s.urlDomains);
      if (s.templates) for (const [id, c] of s.templates) templates.set(id, (templates.get(id) ?? 0) + c);
      if (s.prefixes) for (const [p, c] of s.prefixes) prefixes.set(p, (prefixes.get(p) ?? 0) + c);
    }
    // Counts are published as integers; a HyperLogLog estimate is rounded.
    const distinctRecipients = Math.round(recipients.estimate());
    let topTemplate = 0;
    for (const c of templates.values()) topTemplate = Math.max(topTemplate, c);
    const meanGap = ratio(gapSum, gaps);
    const variance = gaps > 1 ? Math.max(0, gapSumSq / gaps - meanGap * meanGap) : 0;
    return {
      window: ring.spec.name,
      windowMs: ring.spec.lengthMs,
      messages,
      peak1s,
      peak10s,
      distinctRecipients,
      fanOut: ratio(distinctRecipients, messages),
      newContactShare: ratio(fresh, messages),
      contactShare: ratio(contacts, messages),
      sequentialShare: ratio(sequential, pairs),
      prefixEntropy: entropyBits(prefixes),
      topTemplateShare: ratio(topTemplate, bodied),
      distinctTemplates: templates.size,
      urlShare: ratio(url, messages),
      distinctUrlDomains: Math.round(domains.estimate()),
      callbackShare: ratio(callback, messages),
      timingCv: meanGap > 0 && gaps > 1 ? Math.sqrt(variance) / meanGap : 0,
      quietHourShare: ratio(quiet, messages),
      deliveryFailures: failures,
      deliveryFailureRate: ratio(failures, messages),
      spamReports: reports,
      subscriberBlocks: blocks,
      registeredCapShare: capShare(messages, allowed?.(ring.spec.lengthMs)),
      ...(relations?.[index] ?? NO_RELATION_FEATURES),
    };
  });
}

/** True when every window is empty at time t: the sender can be evicted. */
export function isIdle(state: SenderState, t: number): boolean {
  const longest = state.rings[state.rings.length - 1];
  if (!longest) return true;
  return slicesAt(longest, t).every(
    (s) => s.messages === 0 && s.deliveryFailures + s.spamReports + s.subscriberBlocks === 0,
  );
}
