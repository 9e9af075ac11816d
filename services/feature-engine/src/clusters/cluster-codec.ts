/**
 * A cluster's changelog value, in one of two forms told apart by the first byte:
 * - FULL_TAG: rings of slices (cluster-state.ts);
 * - LIGHT_TAG: the cheap form, the cluster's few events themselves (cluster-processor.ts keeps
 *   these bytes as a Latin-1 string and replays them into rings when it needs features).
 * Both start with the same header, so the processor reads emission bookkeeping without decoding:
 *   u8 tag | u8 flags (1 dirty, 2 close pending) | f64 lastEmittedAsOf | f64 latestMs
 * Little-endian (state-codec.ts Writer/Reader). Decoding checks everything it reads (tags,
 * lengths, ranges, slot positions) and throws StateCodecError on anything `encode` could not have
 * written, so a corrupt or hostile record fails clearly instead of building a state that
 * misbehaves later.
 *
 * Versions: the tag is the version too. The first release's tags (FULL_TAG_V1, LIGHT_TAG_V1) had
 * no replies, delivery failures, sequential or after-opt-out flags or call-back numbers; they
 * still decode, with those at zero, so a partition restores across the upgrade. FULL_TAG_V2's
 * slices had no first message time (they decode with it at the slice's end, the bound
 * sendingForMs had then) and no senders ignoring opt-outs, LIGHT_TAG_V2's messages no such flag
 * (both decode as none). FULL_TAG_V3's slices had no senders told STOP or ignoring it (they
 * decode as none); the cheap form gained two event types for those, so its tag stayed.
 * FULL_TAG_V4's slices had no sender blocks (none); the cheap form's messages gained a flag for
 * theirs. Only the current form is written.
 */
import { Reader, StateCodecError, Writer } from '@spamgate/core';
import { readCounter, readRings, writeCounter, writeRings } from '../windows/state-codec.ts';
import type { WindowSpec } from '../windows/window-spec.ts';
import {
  type ClusterMessage,
  type ClusterOutcomeKind,
  type ClusterRing,
  type ClusterSlice,
  emptyClusterSlice,
  type HashHalves,
  MAX_CALLBACKS_PER_MESSAGE,
} from './cluster-state.ts';

/** First byte of a full cluster's bytes (0xC9; never a sender record's first byte). */
export const FULL_TAG = 0xc9;
/** The fourth release's full form (slices without their senders' number blocks). */
export const FULL_TAG_V4 = 0xc7;
/** The third release's full form (slices without the senders told STOP or ignoring it). */
export const FULL_TAG_V3 = 0xc5;
/** The second release's full form (slices without their first message's time). */
export const FULL_TAG_V2 = 0xc3;
/** First byte of a cheap cluster's bytes. */
export const LIGHT_TAG = 0xc6;
/** The second release's cheap form (messages without the sender-ignores-opt-outs flag). */
export const LIGHT_TAG_V2 = 0xc4;
/** The first release's full and cheap forms (without the outcome and call-back counters). */
export const FULL_TAG_V1 = 0xc1;
export const LIGHT_TAG_V1 = 0xc2;

/** Whether a changelog value is a cheap cluster, of any version. */
export const isLightTag = (tag: number | undefined): boolean =>
  tag === LIGHT_TAG || tag === LIGHT_TAG_V2 || tag === LIGHT_TAG_V1;
/** Whether a changelog value is a full cluster, of any version. */
export const isFullTag = (tag: number | undefined): boolean =>
  tag === FULL_TAG ||
  tag === FULL_TAG_V4 ||
  tag === FULL_TAG_V3 ||
  tag === FULL_TAG_V2 ||
  tag === FULL_TAG_V1;

/** Longest campaign id or domain kept, in UTF-16 units; longer ones are cut (none real is that long). */
export const MAX_TEXT_LENGTH = 255;
/** Most keys a slice's count map may hold in the bytes, whatever the processor's limit. */
const MAX_MAP_ENTRIES = 255;

/** Emission bookkeeping common to both forms. */
export interface ClusterMeta {
  /** Newest event time of the cluster (messages and outcomes). */
  latestMs: number;
  /** Changed since its last publication decision. */
  dirty: boolean;
  /** asOf of the last published record; -Infinity before the first. */
  lastEmittedAsOf: number;
  /** A record was published and the one for its shortest window emptying is still due. */
  closePending: boolean;
}

export interface FullCluster extends ClusterMeta {
  readonly rings: ClusterRing[];
  /** Estimated heap bytes (fullClusterBytes), as of the cluster's last encoding. */
  approxBytes: number;
}

export type LightEvent =
  | { readonly type: 'message'; readonly m: ClusterMessage }
  | {
      readonly type: 'outcome';
      readonly timeMs: number;
      readonly kind: ClusterOutcomeKind;
      /** The sender told STOP (OPT_OUT) or ignoring it (OPT_OUT_IGNORED), when known. */
      readonly sender?: HashHalves;
    };

export interface LightCluster extends ClusterMeta {
  events: LightEvent[];
}

const FLAG_DIRTY = 1;
const FLAG_CLOSE_PENDING = 2;
const HEADER_BYTES = 18;
const OFF_LAST_EMITTED = 2;
const OFF_LATEST = 10;

function writeHeader(w: Writer, tag: number, c: ClusterMeta): void {
  w.u8(tag);
  w.u8((c.dirty ? FLAG_DIRTY : 0) | (c.closePending ? FLAG_CLOSE_PENDING : 0));
  w.f64(c.lastEmittedAsOf);
  w.f64(c.latestMs);
}

/** Reads the header of a record whose tag is one of `tags`; returns the tag with the bookkeeping. */
function readHeader(r: Reader, tags: readonly number[]): ClusterMeta & { tag: number } {
  const tag = r.u8();
  if (!tags.includes(tag)) throw new StateCodecError(`cluster record tag ${tag}, expected one of ${tags}`);
  const flags = r.u8();
  if (flags > 3) throw new StateCodecError(`unknown cluster flags ${flags}`);
  const lastEmittedAsOf = r.f64();
  const latestMs = r.f64();
  if (!Number.isFinite(latestMs)) throw new StateCodecError(`cluster latest time ${latestMs}`);
  if (Number.isNaN(lastEmittedAsOf) || lastEmittedAsOf === Number.POSITIVE_INFINITY)
    throw new StateCodecError(`cluster emission time ${lastEmittedAsOf}`);
  return {
    tag,
    latestMs,
    lastEmittedAsOf,
    dirty: (flags & FLAG_DIRTY) !== 0,
    closePending: (flags & FLAG_CLOSE_PENDING) !== 0,
  };
}

/** The bookkeeping alone, without the tag. */
function metaOf({ latestMs, lastEmittedAsOf, dirty, closePending }: ClusterMeta): ClusterMeta {
  return { latestMs, lastEmittedAsOf, dirty, closePending };
}

/** Any JavaScript string exactly: its length, then its UTF-16 units as varints (ASCII: 1 byte each). */
function writeText(w: Writer, s: string): void {
  w.varint(s.length);
  for (let i = 0; i < s.length; i++) w.varint(s.charCodeAt(i));
}

function readText(r: Reader): string {
  const n = r.varint();
  if (n > MAX_TEXT_LENGTH) throw new StateCodecError(`text of ${n} units is longer than ${MAX_TEXT_LENGTH}`);
  const units: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = r.varint();
    if (u > 0xffff) throw new StateCodecError(`text unit ${u} is not UTF-16`);
    units.push(u);
  }
  return String.fromCharCode(...units);
}

function readCount(r: Reader): number {
  const n = r.varint();
  if (!Number.isSafeInteger(n)) throw new StateCodecError(`count ${n} out of range`);
  return n;
}

function readTime(r: Reader): number {
  const t = r.f64();
  if (!Number.isFinite(t)) throw new StateCodecError(`event time ${t}`);
  return t;
}

/** Runs a decoder, turning any failure (a sketch's, a range) into StateCodecError. */
function decoding<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof StateCodecError) throw err;
    throw new StateCodecError(
      `${what} bytes are invalid: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}

// ---- full form ---------------------------------------------------------------------------------

function writeTextCounts(w: Writer, m: Map<string, number> | null): void {
  w.varint(m ? m.size : 0);
  if (m)
    for (const [k, c] of m) {
      writeText(w, k);
      w.varint(c);
    }
}

function readTextCounts(r: Reader): Map<string, number> | null {
  const n = r.varint();
  if (n > MAX_MAP_ENTRIES) throw new StateCodecError(`count map of ${n} entries`);
  if (n === 0) return null;
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) m.set(readText(r), readCount(r));
  if (m.size !== n) throw new StateCodecError('count map repeats a key');
  return m;
}

/**
 * Slice layout: varint messages, registered, opt-outs, spam reports | counters of senders,
 * recipients, campaigns, domains | campaign and domain counts | sender counts; then (not in
 * FULL_TAG_V1) varint replies, delivery failures, sequential messages, messages after an opt-out
 * | call-back counts (varint n, then per entry u64 hash, varint count); then (FULL_TAG only) the
 * counter of senders ignoring opt-outs and, in a slice with messages, varint first message time -
 * slice start; then (FULL_TAG and FULL_TAG_V4) the counters of senders told STOP and of those
 * ignoring it; then (FULL_TAG only) the counter of the senders' number blocks.
 */
export function encodeFullCluster(c: FullCluster): Buffer {
  const w = new Writer();
  writeHeader(w, FULL_TAG, c);
  writeRings(w, c.rings, (s) => {
    w.varint(s.messages);
    w.varint(s.registered);
    w.varint(s.optOuts);
    w.varint(s.spamReports);
    writeCounter(w, s.senders);
    writeCounter(w, s.recipients);
    writeCounter(w, s.campaigns);
    writeCounter(w, s.domains);
    writeTextCounts(w, s.campaignCounts);
    writeTextCounts(w, s.domainCounts);
    w.varint(s.senderCounts ? s.senderCounts.size : 0);
    if (s.senderCounts)
      for (const [k, n] of s.senderCounts) {
        w.varint(k);
        w.varint(n);
      }
    w.varint(s.replies);
    w.varint(s.deliveryFailures);
    w.varint(s.sequential);
    w.varint(s.postOptOutSends);
    w.varint(s.callbackCounts ? s.callbackCounts.size : 0);
    if (s.callbackCounts)
      for (const [h, n] of s.callbackCounts) {
        w.u64(h);
        w.varint(n);
      }
    writeCounter(w, s.ignoringSenders);
    if (s.messages > 0) w.varint(s.firstMs - s.start);
    writeCounter(w, s.optedOutSenders);
    writeCounter(w, s.ignoredSenders);
    writeCounter(w, s.senderBlocks);
  });
  return w.done();
}

function readSlice(r: Reader, start: number, sliceMs: number, tag: number): ClusterSlice {
  const s = emptyClusterSlice(start);
  s.messages = readCount(r);
  s.registered = readCount(r);
  s.optOuts = readCount(r);
  s.spamReports = readCount(r);
  s.senders = readCounter(r);
  s.recipients = readCounter(r);
  s.campaigns = readCounter(r);
  s.domains = readCounter(r);
  s.campaignCounts = readTextCounts(r);
  s.domainCounts = readTextCounts(r);
  const n = r.varint();
  if (n > MAX_MAP_ENTRIES) throw new StateCodecError(`sender count map of ${n} entries`);
  if (n > 0) {
    s.senderCounts = new Map();
    for (let i = 0; i < n; i++) s.senderCounts.set(readCount(r), readCount(r));
    if (s.senderCounts.size !== n) throw new StateCodecError('sender count map repeats a key');
  }
  if (tag !== FULL_TAG_V1) {
    s.replies = readCount(r);
    s.deliveryFailures = readCount(r);
    s.sequential = readCount(r);
    s.postOptOutSends = readCount(r);
    const k = r.varint();
    if (k > MAX_MAP_ENTRIES) throw new StateCodecError(`call-back count map of ${k} entries`);
    if (k > 0) {
      s.callbackCounts = new Map();
      for (let i = 0; i < k; i++) s.callbackCounts.set(r.u64(), readCount(r));
      if (s.callbackCounts.size !== k) throw new StateCodecError('call-back count map repeats a key');
    }
  }
  const current = tag === FULL_TAG || tag === FULL_TAG_V4 || tag === FULL_TAG_V3;
  if (current) s.ignoringSenders = readCounter(r);
  if (s.messages > 0) {
    const offset = current ? r.varint() : sliceMs;
    if (!Number.isSafeInteger(offset) || offset > sliceMs)
      throw new StateCodecError(`first message ${offset} ms into a slice of ${sliceMs} ms`);
    s.firstMs = start + offset;
  }
  if (tag === FULL_TAG || tag === FULL_TAG_V4) {
    s.optedOutSenders = readCounter(r);
    s.ignoredSenders = readCounter(r);
  }
  if (tag === FULL_TAG) s.senderBlocks = readCounter(r);
  if (s.registered > s.messages) throw new StateCodecError('more registered messages than messages');
  if (s.sequential > s.messages) throw new StateCodecError('more sequential messages than messages');
  if (s.postOptOutSends > s.messages)
    throw new StateCodecError('more messages after an opt-out than messages');
  return s;
}

/** Rebuilds a full cluster (any version); `windows` must be the windows it was written with. */
export function decodeFullCluster(bytes: Uint8Array, windows: readonly WindowSpec[]): FullCluster {
  return decoding('cluster', () => {
    const r = new Reader(bytes);
    const meta = readHeader(r, [FULL_TAG, FULL_TAG_V4, FULL_TAG_V3, FULL_TAG_V2, FULL_TAG_V1]);
    const rings: ClusterRing[] = readRings(r, windows, 'cluster', (start, spec) =>
      readSlice(r, start, spec.sliceMs, meta.tag),
    );
    r.end();
    return { ...metaOf(meta), rings, approxBytes: 0 };
  });
}

// ---- cheap form --------------------------------------------------------------------------------

const EVENT_MESSAGE = 0;
/** Event type codes of the outcomes; LIGHT_TAG_V1 has the first two only. */
const OUTCOME_CODES: readonly ClusterOutcomeKind[] = ['OPT_OUT', 'SPAM_REPORT', 'REPLY', 'DELIVERY_FAILURE'];
const OUTCOME_CODES_V1 = 2;
const outcomeCode = (kind: ClusterOutcomeKind): number => 1 + OUTCOME_CODES.indexOf(kind);
/** An opt-out with the sender told (u32 x 2 after the time); code 1 is one without. */
const EVENT_OPT_OUT_FROM = 5;
/** A send past an opt-out the cluster drew, with its sender (u32 x 2 after the time). */
const EVENT_OPT_OUT_IGNORED = 6;
/** A message's flag bits, below its call-back number count. */
const MESSAGE_SEQUENTIAL = 1;
const MESSAGE_AFTER_OPT_OUT = 2;
/** Above the call-back count (at most 4: bits 2-4); not in LIGHT_TAG_V2. */
const MESSAGE_SENDER_IGNORES_OPT_OUTS = 0x20;
/** The sender's number block follows (u32 x 2, after the call-back hashes); LIGHT_TAG only. */
const MESSAGE_SENDER_BLOCK = 0x40;
const CALLBACK_BITS = 0x1c;

/**
 * Packs a cheap cluster into a Latin-1 string (one char per byte; its changelog value is the same
 * bytes). Layout: header | u8 events | per event u8 type, f64 time, for an opt-out told to a
 * known sender (type 5) or an ignored one (type 6) u32 x 2 sender hash halves, and for a message: u32 x 4
 * sender and recipient hash halves, campaign (varint 0, or 1 and the text), u8 domains and each
 * text; then (not in LIGHT_TAG_V1) u8 flags (0x40 a sender block, 0x20 the sender ignores
 * opt-outs, both LIGHT_TAG only | call-back numbers << 2 | 2 after an opt-out | 1 sequential),
 * each u64 hash and, with 0x40, u32 x 2 the sender block's hash halves.
 */
export function encodeLight(c: LightCluster): string {
  const w = new Writer();
  writeHeader(w, LIGHT_TAG, c);
  w.u8(c.events.length);
  for (const e of c.events) {
    if (e.type === 'outcome') {
      const sender = e.kind === 'OPT_OUT' || e.kind === 'OPT_OUT_IGNORED' ? e.sender : undefined;
      if (sender === undefined) {
        // The processor keeps none (it counts nothing without its sender): no code exists for one.
        if (e.kind === 'OPT_OUT_IGNORED') throw new TypeError('an OPT_OUT_IGNORED event without its sender');
        w.u8(outcomeCode(e.kind));
        w.f64(e.timeMs);
      } else {
        w.u8(e.kind === 'OPT_OUT' ? EVENT_OPT_OUT_FROM : EVENT_OPT_OUT_IGNORED);
        w.f64(e.timeMs);
        w.u32(sender.hi >>> 0);
        w.u32(sender.lo >>> 0);
      }
      continue;
    }
    const m = e.m;
    w.u8(EVENT_MESSAGE);
    w.f64(m.timeMs);
    w.u32(m.senderHi >>> 0);
    w.u32(m.senderLo >>> 0);
    w.u32(m.recipientHi >>> 0);
    w.u32(m.recipientLo >>> 0);
    if (m.campaignId === null) w.varint(0);
    else {
      w.varint(1);
      writeText(w, m.campaignId);
    }
    w.u8(m.urlDomains.length);
    for (const d of m.urlDomains) writeText(w, d);
    w.u8(
      (m.senderBlock !== null ? MESSAGE_SENDER_BLOCK : 0) |
        (m.senderIgnoresOptOuts ? MESSAGE_SENDER_IGNORES_OPT_OUTS : 0) |
        (m.callbackHashes.length << 2) |
        (m.afterOptOut ? MESSAGE_AFTER_OPT_OUT : 0) |
        (m.sequential ? MESSAGE_SEQUENTIAL : 0),
    );
    for (const h of m.callbackHashes) w.u64(h);
    if (m.senderBlock !== null) {
      w.u32(m.senderBlock.hi >>> 0);
      w.u32(m.senderBlock.lo >>> 0);
    }
  }
  return w.doneLatin1();
}

/** Shared by every message without a call-back number (most of them). */
const NO_HASHES: readonly bigint[] = Object.freeze([]);

/** Decodes a cheap cluster of any version (the current one is what the processor keeps). */
export function decodeLightBytes(bytes: Uint8Array): LightCluster {
  return decoding('cheap cluster', () => {
    const r = new Reader(bytes);
    const meta = readHeader(r, [LIGHT_TAG, LIGHT_TAG_V2, LIGHT_TAG_V1]);
    const v1 = meta.tag === LIGHT_TAG_V1;
    const knownFlags =
      MESSAGE_SEQUENTIAL |
      MESSAGE_AFTER_OPT_OUT |
      CALLBACK_BITS |
      (meta.tag === LIGHT_TAG ? MESSAGE_SENDER_IGNORES_OPT_OUTS | MESSAGE_SENDER_BLOCK : 0);
    const n = r.u8();
    const events: LightEvent[] = [];
    for (let i = 0; i < n; i++) {
      const type = r.u8();
      const timeMs = readTime(r);
      if (type > EVENT_MESSAGE && type <= (v1 ? OUTCOME_CODES_V1 : OUTCOME_CODES.length)) {
        events.push({ type: 'outcome', timeMs, kind: OUTCOME_CODES[type - 1]! });
        continue;
      }
      if (meta.tag === LIGHT_TAG && (type === EVENT_OPT_OUT_FROM || type === EVENT_OPT_OUT_IGNORED)) {
        const sender = { hi: r.u32(), lo: r.u32() };
        events.push({
          type: 'outcome',
          timeMs,
          kind: type === EVENT_OPT_OUT_FROM ? 'OPT_OUT' : 'OPT_OUT_IGNORED',
          sender,
        });
        continue;
      }
      if (type !== EVENT_MESSAGE) throw new StateCodecError(`unknown cluster event type ${type}`);
      const senderHi = r.u32();
      const senderLo = r.u32();
      const recipientHi = r.u32();
      const recipientLo = r.u32();
      const hasCampaign = r.varint();
      if (hasCampaign > 1) throw new StateCodecError(`campaign flag ${hasCampaign}`);
      const campaignId = hasCampaign === 1 ? readText(r) : null;
      const urlDomains: string[] = [];
      const domains = r.u8();
      for (let k = 0; k < domains; k++) urlDomains.push(readText(r));
      let sequential = false;
      let afterOptOut = false;
      let senderIgnoresOptOuts = false;
      let callbackHashes = NO_HASHES;
      let senderBlock: HashHalves | null = null;
      if (!v1) {
        const flags = r.u8();
        if ((flags & ~knownFlags) !== 0) throw new StateCodecError(`unknown message flags ${flags}`);
        const callbacks = (flags & CALLBACK_BITS) >> 2;
        if (callbacks > MAX_CALLBACKS_PER_MESSAGE)
          throw new StateCodecError(`${callbacks} call-back numbers in one message`);
        sequential = (flags & MESSAGE_SEQUENTIAL) !== 0;
        afterOptOut = (flags & MESSAGE_AFTER_OPT_OUT) !== 0;
        senderIgnoresOptOuts = (flags & MESSAGE_SENDER_IGNORES_OPT_OUTS) !== 0;
        if (callbacks > 0) {
          const hashes: bigint[] = [];
          for (let k = 0; k < callbacks; k++) hashes.push(r.u64());
          if (new Set(hashes).size !== callbacks) throw new StateCodecError('a call-back number repeats');
          callbackHashes = hashes;
        }
        if ((flags & MESSAGE_SENDER_BLOCK) !== 0) senderBlock = { hi: r.u32(), lo: r.u32() };
      }
      events.push({
        type: 'message',
        m: {
          timeMs,
          senderHi,
          senderLo,
          recipientHi,
          recipientLo,
          campaignId,
          urlDomains,
          sequential,
          callbackHashes,
          afterOptOut,
          senderIgnoresOptOuts,
          senderBlock,
        },
      });
    }
    r.end();
    return { ...metaOf(meta), events };
  });
}

/** Scratch buffer for decoding and peeking at packed strings. */
let scratch = Buffer.alloc(4096);

export function decodeLight(packed: string): LightCluster {
  if (packed.length > scratch.length) scratch = Buffer.alloc(packed.length * 2);
  const n = scratch.write(packed, 0, 'latin1');
  return decodeLightBytes(scratch.subarray(0, n));
}

/** The header of a packed cheap cluster, and its event count, read without decoding the events. */
export function peekLight(packed: string): ClusterMeta & { events: number } {
  scratch.write(packed, 0, HEADER_BYTES + 1, 'latin1');
  const flags = scratch[1]!;
  return {
    dirty: (flags & FLAG_DIRTY) !== 0,
    closePending: (flags & FLAG_CLOSE_PENDING) !== 0,
    lastEmittedAsOf: scratch.readDoubleLE(OFF_LAST_EMITTED),
    latestMs: scratch.readDoubleLE(OFF_LATEST),
    events: scratch[HEADER_BYTES]!,
  };
}
