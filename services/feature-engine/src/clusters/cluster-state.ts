/**
 * One content cluster's sliding-window state: for each window a ring of slices (window-spec.ts),
 * like a sender's, but counting who sends the cluster's template rather than how one sender
 * behaves. Pure: events in, feature values out.
 *
 * Exact and approximate:
 * - messages, registered messages, sequential messages, messages after an opt-out, opt-outs, spam
 *   reports, replies, delivery failures: exact counts. sendingForMs: exact (the window's earliest
 *   message to asOf, at most the window); a cluster restored from a record of before slices kept
 *   their first message's time counts from the end of that slice, the lower bound it had.
 * - distinctSenders, distinctRecipients, distinctCampaigns, distinctUrlDomains,
 *   optOutIgnoringSenders, optedOutSenders, optOutIgnoredSenders: distinct counters
 *   (distinct-counter.ts), exact up to SPARSE_LIMIT (128) per window, then HyperLogLog (about 1.6%
 *   standard error). Campaign ids and domains are counted by a 64-bit hash of their text.
 * - senderSample: the 8 smallest sender fingerprints of the window's senders (their top 52 bits),
 *   the bottom-k of its slices' bottom-k samples, so exact however many senders the window has;
 *   empty once one of its slices has more senders than a counter holds exactly (128).
 *   senderBlockSample: the same over the senders' number blocks (ClusterMessage.senderBlock).
 * - campaignIds, urlDomains, callbackNumbers, topSenderShare: per slice, at most `maxTopEntries`
 *   (16) keys are counted, with the Misra-Gries rule: a new key that finds the map full is dropped
 *   together with one count of every kept key. Kept counts are therefore never too high, and too
 *   low by at most 1 / (maxTopEntries + 1) of the slice's units (its messages for senders, its
 *   registered messages for campaigns, its domain or call-back number mentions for those); a key
 *   holding more than that share of a slice is always kept. The dropped units need not be stored:
 *   for senders and campaigns they are the slice's count minus the kept counts. Everything is
 *   exact while no slice of the window saw more than maxTopEntries distinct keys. topSenderShare
 *   is the busiest kept sender's count over messages, never below 1 / distinctSenders (the
 *   busiest sender sends at least the average), so at most 1/17 below the truth (and then only
 *   past 16 senders in a slice).
 */
import type { ClusterWindowFeatures } from '@spamgate/schemas';
import { createDistinctCounter, type DistinctCounter } from '../sketches/distinct-counter.ts';
import { FINGERPRINT_LOW_RANGE } from '../sketches/registers.ts';
import { sliceStart, type WindowSpec } from '../windows/window-spec.ts';

/** Default cluster windows: a campaign's burst, its hour, its day. */
export const DEFAULT_CLUSTER_WINDOWS: readonly WindowSpec[] = Object.freeze([
  { name: '15m', lengthMs: 900_000, sliceMs: 60_000 },
  { name: '1h', lengthMs: 3_600_000, sliceMs: 300_000 },
  { name: '24h', lengthMs: 86_400_000, sliceMs: 3_600_000 },
]);

/** Default most keys counted per slice for campaigns, domains and senders. */
export const DEFAULT_MAX_TOP_ENTRIES = 16;
/** Most campaign ids, URL domains and call-back numbers listed in a window's features. */
export const TOP_LISTED = 8;
/**
 * Sender fingerprints in a window's senderSample: its bottom-k sample while each of its slices
 * counts its senders exactly (the decision engine's crew groups match half of it).
 */
export const SENDER_SAMPLE_SIZE = 8;
/** Most call-back numbers counted per message (the ClusterEvent contract carries at most 4). */
export const MAX_CALLBACKS_PER_MESSAGE = 4;

/** One message of a cluster, as the re-keying stage hands it over (no body, no numbers). */
export interface ClusterMessage {
  /** Event time, ms since the epoch. */
  readonly timeMs: number;
  /** Keyed 64-bit hash of the sender address, two unsigned 32-bit halves. */
  readonly senderHi: number;
  readonly senderLo: number;
  /** Keyed 64-bit hash of the recipient. */
  readonly recipientHi: number;
  readonly recipientLo: number;
  /** Registered campaign of the message (10DLC campaign / toll-free verification id), null if unregistered. */
  readonly campaignId: string | null;
  /** Registrable domains of the URLs in the message (e.g. "bit.ly", "example.com"). */
  readonly urlDomains: readonly string[];
  /**
   * The recipient is at most 10 numbers from the recipient of the same sender's previous message
   * (number walking, as the sender's sequentialShare counts a pair).
   */
  readonly sequential: boolean;
  /**
   * Keyed 64-bit hashes of the call-back numbers in the body (unsigned, as the subscriber hasher
   * gives them), each once, at most MAX_CALLBACKS_PER_MESSAGE.
   */
  readonly callbackHashes: readonly bigint[];
  /**
   * The recipient had opted out from the sender, and this is not the one confirmation allowed
   * (the sender's relation book decides, as the sender's postOptOutSends counts it).
   */
  readonly afterOptOut: boolean;
  /**
   * Its sender sent past an opt-out (the confirmation excepted) within the hour up to it (the
   * sender's relation book decides): what optOutIgnoringSenders counts.
   */
  readonly senderIgnoresOptOuts: boolean;
  /** Keyed hash of the sender's number block (ClusterEvent.senderBlockHash); null for none. */
  readonly senderBlock: HashHalves | null;
}

/**
 * A recipient outcome attributed to a cluster, or (OPT_OUT_IGNORED) a sender texting again past
 * an opt-out the cluster drew, which is no outcome of the cluster's own messages.
 */
export type ClusterOutcomeKind = 'OPT_OUT' | 'SPAM_REPORT' | 'REPLY' | 'DELIVERY_FAILURE' | 'OPT_OUT_IGNORED';

/** A keyed 64-bit hash as two unsigned 32-bit halves. */
export interface HashHalves {
  readonly hi: number;
  readonly lo: number;
}

export interface ClusterSlice {
  start: number;
  /** Event time of the slice's earliest message; Infinity without one. */
  firstMs: number;
  messages: number;
  /** Messages with a campaign id. */
  registered: number;
  /** Messages flagged sequential (ClusterMessage.sequential). */
  sequential: number;
  /** Messages flagged afterOptOut (ClusterMessage.afterOptOut). */
  postOptOutSends: number;
  optOuts: number;
  spamReports: number;
  replies: number;
  deliveryFailures: number;
  senders: DistinctCounter | null;
  /** Senders of the slice's messages flagged senderIgnoresOptOuts. */
  ignoringSenders: DistinctCounter | null;
  /** Number blocks of the slice's senders (ClusterMessage.senderBlock). */
  senderBlocks: DistinctCounter | null;
  /** Senders told STOP about the cluster in the slice (OPT_OUT and OPT_OUT_IGNORED outcomes). */
  optedOutSenders: DistinctCounter | null;
  /** Senders that went past an opt-out the cluster drew (OPT_OUT_IGNORED outcomes). */
  ignoredSenders: DistinctCounter | null;
  recipients: DistinctCounter | null;
  campaigns: DistinctCounter | null;
  domains: DistinctCounter | null;
  /**
   * Messages per campaign id / per domain / per sender fingerprint / per call-back number hash,
   * bounded (see the header).
   */
  campaignCounts: Map<string, number> | null;
  domainCounts: Map<string, number> | null;
  senderCounts: Map<number, number> | null;
  callbackCounts: Map<bigint, number> | null;
}

export function emptyClusterSlice(start: number): ClusterSlice {
  return {
    start,
    firstMs: Number.POSITIVE_INFINITY,
    messages: 0,
    registered: 0,
    sequential: 0,
    postOptOutSends: 0,
    optOuts: 0,
    spamReports: 0,
    replies: 0,
    deliveryFailures: 0,
    senders: null,
    ignoringSenders: null,
    senderBlocks: null,
    optedOutSenders: null,
    ignoredSenders: null,
    recipients: null,
    campaigns: null,
    domains: null,
    campaignCounts: null,
    domainCounts: null,
    senderCounts: null,
    callbackCounts: null,
  };
}

/** A window's ring: slot i holds the slice whose index (start / sliceMs) is i modulo the slot count. */
export interface ClusterRing {
  readonly spec: WindowSpec;
  readonly slots: (ClusterSlice | undefined)[];
}

export function createRings(windows: readonly WindowSpec[]): ClusterRing[] {
  return windows.map((spec) => ({ spec, slots: new Array(spec.lengthMs / spec.sliceMs) }));
}

/** The features of one window, as published: the Avro ClusterWindowFeatures record's type. */
export type { ClusterWindowFeatures };

/** The 53 bits of a 64-bit hash that the distinct counters keep, as one exact number. */
export function fingerprintOf(hi: number, lo: number): number {
  return (hi >>> 0) * FINGERPRINT_LOW_RANGE + (lo >>> 11);
}

/**
 * A 64-bit hash of a short text (campaign id, domain) for the distinct counters: FNV-1a over the
 * UTF-16 code units with two offsets, each finished with murmur3's fmix32 so every bit mixes
 * (HyperLogLog needs uniform leading bits). Not keyed: these texts are not personal data.
 */
export function hashText(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return [fmix32(a ^ s.length), fmix32(b + Math.imul(s.length, 0x9e3779b1))];
}

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Counts one unit for `key`, Misra-Gries style, in a map of at most `limit` keys. */
export function countBounded<K>(map: Map<K, number>, key: K, limit: number): void {
  const c = map.get(key);
  if (c !== undefined) map.set(key, c + 1);
  else if (map.size < limit) map.set(key, 1);
  else {
    // The new key and one count of every kept key are dropped together: a key keeps its place
    // exactly when it is more frequent than the dropped units say the others could be.
    for (const [k, v] of map) {
      if (v <= 1) map.delete(k);
      else map.set(k, v - 1);
    }
  }
}

/**
 * The slice of `ring` for time t as of the cluster's newest event, created if needed; undefined
 * when t is older than every slice the ring still holds.
 */
function sliceFor(ring: ClusterRing, t: number, latestMs: number): ClusterSlice | undefined {
  const { sliceMs, lengthMs } = ring.spec;
  const start = sliceStart(t, sliceMs);
  if (start <= sliceStart(latestMs, sliceMs) - lengthMs) return undefined;
  const n = ring.slots.length;
  const slot = (((start / sliceMs) % n) + n) % n;
  const current = ring.slots[slot];
  if (current && current.start === start) return current;
  // A slot holds an older slice only once it has left the window (it is reused here).
  const fresh = emptyClusterSlice(start);
  ring.slots[slot] = fresh;
  return fresh;
}

/**
 * Adds a message to every window's slice for its time, as of the cluster's newest event. Its
 * domains must be listed each once (the processor normalises messages).
 */
export function applyClusterMessage(
  rings: readonly ClusterRing[],
  latestMs: number,
  m: ClusterMessage,
  limit: number,
): void {
  const sender = fingerprintOf(m.senderHi, m.senderLo);
  const domains = m.urlDomains;
  const campaignHash = m.campaignId === null ? null : hashText(m.campaignId);
  const domainHashes = domains.map(hashText);
  for (const ring of rings) {
    const s = sliceFor(ring, m.timeMs, latestMs);
    if (!s) continue;
    s.messages++;
    if (m.timeMs < s.firstMs) s.firstMs = m.timeMs;
    if (m.sequential) s.sequential++;
    if (m.afterOptOut) s.postOptOutSends++;
    s.senders ??= createDistinctCounter();
    s.senders.add(m.senderHi, m.senderLo);
    if (m.senderIgnoresOptOuts) {
      s.ignoringSenders ??= createDistinctCounter();
      s.ignoringSenders.add(m.senderHi, m.senderLo);
    }
    if (m.senderBlock !== null) {
      s.senderBlocks ??= createDistinctCounter();
      s.senderBlocks.add(m.senderBlock.hi, m.senderBlock.lo);
    }
    s.recipients ??= createDistinctCounter();
    s.recipients.add(m.recipientHi, m.recipientLo);
    s.senderCounts ??= new Map();
    countBounded(s.senderCounts, sender, limit);
    if (m.campaignId !== null && campaignHash) {
      s.registered++;
      s.campaigns ??= createDistinctCounter();
      s.campaigns.add(campaignHash[0], campaignHash[1]);
      s.campaignCounts ??= new Map();
      countBounded(s.campaignCounts, m.campaignId, limit);
    }
    for (let i = 0; i < domains.length; i++) {
      const h = domainHashes[i]!;
      s.domains ??= createDistinctCounter();
      s.domains.add(h[0], h[1]);
      s.domainCounts ??= new Map();
      countBounded(s.domainCounts, domains[i]!, limit);
    }
    for (const h of m.callbackHashes) {
      s.callbackCounts ??= new Map();
      countBounded(s.callbackCounts, h, limit);
    }
  }
}

/**
 * Adds an outcome to every window's slice for its time, as of the cluster's newest event. An
 * OPT_OUT with its sender counts the sender as told STOP; an OPT_OUT_IGNORED counts its sender
 * as told and as having ignored it, and no outcome.
 */
export function applyClusterOutcome(
  rings: readonly ClusterRing[],
  latestMs: number,
  timeMs: number,
  kind: ClusterOutcomeKind,
  sender?: HashHalves,
): void {
  for (const ring of rings) {
    const s = sliceFor(ring, timeMs, latestMs);
    if (!s) continue;
    if (kind === 'OPT_OUT') s.optOuts++;
    else if (kind === 'SPAM_REPORT') s.spamReports++;
    else if (kind === 'REPLY') s.replies++;
    else if (kind === 'DELIVERY_FAILURE') s.deliveryFailures++;
    if (sender === undefined || (kind !== 'OPT_OUT' && kind !== 'OPT_OUT_IGNORED')) continue;
    s.optedOutSenders ??= createDistinctCounter();
    s.optedOutSenders.add(sender.hi, sender.lo);
    if (kind === 'OPT_OUT_IGNORED') {
      s.ignoredSenders ??= createDistinctCounter();
      s.ignoredSenders.add(sender.hi, sender.lo);
    }
  }
}

/** Whether time t falls in the window of `spec` evaluated at asOf. */
export function inWindow(spec: WindowSpec, t: number, asOf: number): boolean {
  const end = sliceStart(asOf, spec.sliceMs);
  const s = sliceStart(t, spec.sliceMs);
  return s <= end && s > end - spec.lengthMs;
}

/** The slices of a ring that belong to the window evaluated at time t. */
export function slicesAt(ring: ClusterRing, t: number): ClusterSlice[] {
  const { sliceMs, lengthMs } = ring.spec;
  const end = sliceStart(t, sliceMs);
  const out: ClusterSlice[] = [];
  for (const s of ring.slots) if (s && s.start <= end && s.start > end - lengthMs) out.push(s);
  return out;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);

function addCounts<K>(into: Map<K, number>, from: Map<K, number> | null): void {
  if (from) for (const [k, c] of from) into.set(k, (into.get(k) ?? 0) + c);
}

/** The keys with the highest counts, by count descending then key ascending (numerically for hashes). */
function topKeys<K extends string | bigint>(counts: Map<K, number>, n: number): K[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([k]) => k);
}

/**
 * The counters a window's unions are merged into, reset for each (DistinctCounter.reset): only
 * their estimates and samples leave clusterFeaturesAt and distinctSendersAt.
 */
const UNION = {
  senders: createDistinctCounter(),
  ignoringSenders: createDistinctCounter(),
  optedOutSenders: createDistinctCounter(),
  ignoredSenders: createDistinctCounter(),
  recipients: createDistinctCounter(),
  campaigns: createDistinctCounter(),
  domains: createDistinctCounter(),
};

/**
 * A window's bottom-k sender sample, gathered slice by slice: the k smallest of a union are the k
 * smallest of its parts' k smallest, so the window needs no exact sender set of its own, only
 * every slice's. One slice past its exact limit (no sample) empties the window's.
 */
class SampleUnion {
  readonly #values: number[] = [];
  #complete = true;

  reset(): this {
    this.#values.length = 0;
    this.#complete = true;
    return this;
  }

  /** Adds one slice's smallest fingerprints (ascending), or undefined if it has none. */
  add(part: readonly number[] | undefined): void {
    if (part === undefined) this.#complete = false;
    else if (this.#complete) for (const v of part) this.#values.push(v);
  }

  /** The SENDER_SAMPLE_SIZE smallest distinct values, halved to the top 52 bits. */
  smallest(): number[] {
    if (!this.#complete) return [];
    const sorted = this.#values.sort((a, b) => a - b);
    const out: number[] = [];
    for (let i = 0; i < sorted.length && out.length < SENDER_SAMPLE_SIZE; i++) {
      // Halved: the top 52 bits, which Avro longs in JavaScript (avsc) carry exactly.
      if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(Math.floor(sorted[i]! / 2));
    }
    return out;
  }
}

const SAMPLE = new SampleUnion();
const BLOCK_SAMPLE = new SampleUnion();

/** Every window's features at event time asOf. */
export function clusterFeaturesAt(rings: readonly ClusterRing[], asOf: number): ClusterWindowFeatures[] {
  return rings.map((ring) => {
    let messages = 0;
    let registered = 0;
    let sequential = 0;
    let postOptOutSends = 0;
    let optOuts = 0;
    let spamReports = 0;
    let replies = 0;
    let deliveryFailures = 0;
    const senders = UNION.senders.reset();
    const ignoringSenders = UNION.ignoringSenders.reset();
    const optedOutSenders = UNION.optedOutSenders.reset();
    const ignoredSenders = UNION.ignoredSenders.reset();
    const recipients = UNION.recipients.reset();
    const campaigns = UNION.campaigns.reset();
    const domains = UNION.domains.reset();
    const campaignCounts = new Map<string, number>();
    const domainCounts = new Map<string, number>();
    const senderCounts = new Map<number, number>();
    const callbackCounts = new Map<bigint, number>();
    let firstMessage = Number.POSITIVE_INFINITY;
    const sample = SAMPLE.reset();
    const blockSample = BLOCK_SAMPLE.reset();
    for (const s of slicesAt(ring, asOf)) {
      if (s.messages > 0 && s.firstMs < firstMessage) firstMessage = s.firstMs;
      messages += s.messages;
      registered += s.registered;
      sequential += s.sequential;
      postOptOutSends += s.postOptOutSends;
      optOuts += s.optOuts;
      spamReports += s.spamReports;
      replies += s.replies;
      deliveryFailures += s.deliveryFailures;
      if (s.senders) {
        senders.merge(s.senders);
        sample.add(s.senders.smallest(SENDER_SAMPLE_SIZE));
      }
      if (s.ignoringSenders) ignoringSenders.merge(s.ignoringSenders);
      if (s.senderBlocks) blockSample.add(s.senderBlocks.smallest(SENDER_SAMPLE_SIZE));
      if (s.optedOutSenders) optedOutSenders.merge(s.optedOutSenders);
      if (s.ignoredSenders) ignoredSenders.merge(s.ignoredSenders);
      if (s.recipients) recipients.merge(s.recipients);
      if (s.campaigns) campaigns.merge(s.campaigns);
      if (s.domains) domains.merge(s.domains);
      addCounts(campaignCounts, s.campaignCounts);
      addCounts(domainCounts, s.domainCounts);
      addCounts(senderCounts, s.senderCounts);
      addCounts(callbackCounts, s.callbackCounts);
    }
    // Counts are published as integers; a HyperLogLog estimate is rounded.
    const distinctSenders = Math.round(senders.estimate());
    const distinctRecipients = Math.round(recipients.estimate());
    const told = Math.round(optedOutSenders.estimate());
    let top = 0;
    for (const c of senderCounts.values()) if (c > top) top = c;
    return {
      window: ring.spec.name,
      windowMs: ring.spec.lengthMs,
      messages,
      distinctSenders,
      distinctRecipients,
      optOuts,
      spamReports,
      optOutRate: ratio(optOuts, distinctRecipients),
      registeredShare: ratio(registered, messages),
      campaignIds: topKeys(campaignCounts, TOP_LISTED),
      distinctCampaigns: Math.round(campaigns.estimate()),
      topSenderShare: messages > 0 ? Math.max(top / messages, ratio(1, distinctSenders)) : 0,
      urlDomains: topKeys(domainCounts, TOP_LISTED),
      distinctUrlDomains: Math.round(domains.estimate()),
      replies,
      deliveryFailures,
      sequentialShare: ratio(sequential, messages),
      // Decimal, as createSubscriberHasher's hash() writes a number's keyed hash.
      callbackNumbers: topKeys(callbackCounts, TOP_LISTED).map(String),
      postOptOutSends,
      sendingForMs: messages > 0 ? Math.min(ring.spec.lengthMs, Math.max(0, asOf - firstMessage)) : 0,
      optOutIgnoringSenders: Math.min(Math.round(ignoringSenders.estimate()), distinctSenders),
      senderSample: sample.smallest(),
      senderBlockSample: blockSample.smallest(),
      optedOutSenders: told,
      // Every sender counted here is counted as told too; two estimates could cross.
      optOutIgnoredSenders: Math.min(Math.round(ignoredSenders.estimate()), told),
    };
  });
}

/** Distinct senders of the longest window at asOf (the publication threshold), without the rest. */
export function distinctSendersAt(rings: readonly ClusterRing[], asOf: number): number {
  const ring = rings[rings.length - 1];
  if (!ring) return 0;
  const senders = UNION.senders.reset();
  for (const s of slicesAt(ring, asOf)) if (s.senders) senders.merge(s.senders);
  return Math.round(senders.estimate());
}

/** Messages and outcomes in the longest window at asOf: how active a cluster is, for shedding. */
export function eventsAt(rings: readonly ClusterRing[], asOf: number): number {
  const ring = rings[rings.length - 1];
  if (!ring) return 0;
  let n = 0;
  for (const s of slicesAt(ring, asOf))
    n += s.messages + s.optOuts + s.spamReports + s.replies + s.deliveryFailures;
  return n;
}
