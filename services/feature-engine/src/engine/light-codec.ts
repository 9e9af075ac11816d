/**
 * A cheap sender's bytes (light-entry.ts says what a cheap sender is). In memory the bytes are a
 * JavaScript string: V8 stores a Latin-1 string in one byte per char with a 16-byte header, where
 * a Buffer per sender would cost more than the data. The same bytes are the sender's changelog
 * value.
 *
 * Layout, little-endian: a fixed header that drain reads without decoding, then varint counters,
 * templates and events, then, only when flag bit HAS_URL_DOMAINS is set, the sender's recent URL
 * domains (url-domains.ts; about the domain's length plus 2 to 5 bytes each). Two forms, told
 * apart by the first byte: LIGHT_TAG writes the newest event time as a varint and every other
 * time as a varint distance from it (a message's gap is left out when it is the distance to the
 * message kept before it), LIGHT_TAG_WIDE every time as a float64. The wide form is what releases
 * before the compact one wrote, and what a sender whose times do not fit (not whole ms, before
 * 1970) is still written in; both decode.
 */

import { Reader, StateCodecError, Writer } from '@spamgate/core';
import type { AddressKind } from '@spamgate/schemas';
import type { DerivedMessage, FeedbackKind } from '../windows/sender-state.ts';
import { NO_URL_DOMAINS, readUrlDomains, writeUrlDomains } from '../windows/url-domains.ts';
import { sliceStart } from '../windows/window-spec.ts';
import { earliestOpenMinute, type LightEntry, latestOpenMinute } from './light-entry.ts';

const MINUTE_MS = 60_000;

/**
 * First byte of a cheap sender's bytes in the compact form; a full entry's first byte is its
 * version, 1 or 3 (entry-codec.ts).
 */
export const LIGHT_TAG = 4;
/** First byte of the wide form: every time a float64 (see the header). */
export const LIGHT_TAG_WIDE = 2;
/** Whether a changelog value's first byte says it is a cheap sender (either form). */
export const isLightTag = (first: number | undefined): boolean =>
  first === LIGHT_TAG || first === LIGHT_TAG_WIDE;

export const ADDRESS_KINDS: readonly AddressKind[] = [
  'UNKNOWN',
  'LONG_CODE',
  'SHORT_CODE',
  'TOLL_FREE',
  'ALPHANUMERIC',
];
const FEEDBACK_KINDS: readonly FeedbackKind[] = [
  'DELIVERY_FAILURE',
  'SPAM_REPORT',
  'SUBSCRIBER_BLOCK',
  'UNKNOWN',
];

/** Offsets of the fixed headers, read by peekLight without decoding the rest. */
const OFF_FLAGS = 1;
// Header flag bits (at OFF_FLAGS).
const DIRTY = 1;
const HAS_URL_DOMAINS = 2;
/** LightEntry.stale: set by a restore in memory; the changelog never carries it. */
const STALE = 4;
// The wide form: tag, flags, kind, then five float64s (the last, the recipient position, is not peeked).
const WIDE_LAST_EMITTED = 3;
const WIDE_LATEST = 11;
const WIDE_OPEN_MINUTE = 19;
const WIDE_LAST_MESSAGE = 27;
const WIDE_HEADER_BYTES = 43;
// The compact form: tag, flags, kind, then varints: the newest event time and four header times
// (see toField), which peekLight reads without decoding the rest.
const HEADER_START = 3;
/** Longest compact header: a varint of at most 8 bytes for each of its five times. */
const MAX_HEADER_BYTES = HEADER_START + 5 * 8;
/** Header times a compact varint holds: within 2^50 ms of the newest event either way. */
const MAX_DISTANCE = 2 ** 50;

/**
 * Whether a time fits a compact header field: `special` (the field's one non-finite value: never
 * emitted, no open minute, no message yet), or a whole ms within MAX_DISTANCE of the newest event.
 */
function fitsField(latestMs: number, t: number, special: number): boolean {
  if (!Number.isFinite(t)) return Object.is(t, special);
  return Number.isSafeInteger(t) && Math.abs(latestMs - t) <= MAX_DISTANCE;
}
/** A header time as a varint: 0 for its non-finite value, else its zigzagged distance before the newest event, plus 1. */
function toField(latestMs: number, t: number): number {
  if (!Number.isFinite(t)) return 0;
  const d = latestMs - t;
  return (d >= 0 ? 2 * d : -2 * d - 1) + 1;
}
function fromField(latestMs: number, v: number, special: number): number {
  if (v === 0) return special;
  const z = v - 1;
  return latestMs - (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
}

/** Whether every time of a cheap sender fits the compact form (its events' times by distance). */
function fitsCompact(light: LightEntry, openMinute: number): boolean {
  const latest = light.latestMs;
  if (!Number.isSafeInteger(latest) || latest < 0) return false;
  if (
    !fitsField(latest, light.lastEmittedAsOf, Number.NEGATIVE_INFINITY) ||
    !fitsField(latest, openMinute, Number.POSITIVE_INFINITY) ||
    !fitsField(latest, latestOpenMinute(light), Number.NEGATIVE_INFINITY) ||
    !fitsField(latest, light.lastMessageMs, Number.NaN)
  )
    return false;
  const position = light.lastRecipientPosition;
  if (!Number.isNaN(position) && !(Number.isSafeInteger(position) && position >= 0 && position < 2 ** 52))
    return false;
  for (const e of light.events) {
    const t = e.type === 'message' ? e.d.timeMs : e.timeMs;
    if (!Number.isSafeInteger(t) || t > latest) return false;
  }
  return true;
}

/** Holds a cheap sender's bytes while they are decoded or peeked at. */
let scratch = Buffer.alloc(4096);
/** The reader peekLight reuses over scratch. */
const PEEK = new Reader(scratch);

/** Whether a derived message fits the packed form (integral times, finite bounded counters). */
export function packable(d: DerivedMessage): boolean {
  return (
    Number.isSafeInteger(d.timeMs) &&
    (Number.isNaN(d.gapMs) || Number.isSafeInteger(d.gapMs)) &&
    d.urlDomainHashes.length < 256
  );
}

// Event flag bits.
const F_MESSAGE = 1;
const F_LATE = 2;
const F_EMITTED = 4;
const F_URL = 8;
const F_CALLBACK = 16;
const F_QUIET = 32;
const F_NEW_CONTACT = 64;
const F_GAP = 128;
// Second flag byte.
const F2_PAIR = 3;
const F2_CONTACT = 4;
/** Compact form only: the gap is the time since the message before it in the list, so not written. */
const F2_GAP_FROM_PREVIOUS = 8;

/** Packs a light entry into a Latin-1 string (its changelog value is the same bytes). */
export function encodeLight(light: LightEntry): string {
  const openMinute = earliestOpenMinute(light);
  const compact = fitsCompact(light, openMinute);
  const latest = light.latestMs;
  const w = new Writer();
  w.u8(compact ? LIGHT_TAG : LIGHT_TAG_WIDE);
  w.u8(
    (light.dirty ? DIRTY : 0) |
      (light.urlDomains.length > 0 ? HAS_URL_DOMAINS : 0) |
      (light.stale ? STALE : 0),
  );
  w.u8(ADDRESS_KINDS.indexOf(light.kind));
  if (compact) {
    w.varint(latest);
    w.varint(toField(latest, light.lastEmittedAsOf));
    w.varint(toField(latest, openMinute));
    w.varint(toField(latest, latestOpenMinute(light)));
    w.varint(toField(latest, light.lastMessageMs));
    w.varint(Number.isNaN(light.lastRecipientPosition) ? 0 : light.lastRecipientPosition + 1);
  } else {
    w.f64(light.lastEmittedAsOf);
    w.f64(latest);
    w.f64(openMinute);
    w.f64(light.lastMessageMs);
    w.f64(light.lastRecipientPosition);
  }
  const time = compact ? (t: number) => w.varint(latest - t) : (t: number) => w.f64(t);
  w.varint(light.count1s);
  w.varint(light.count10s);
  w.varint(light.nextTemplateId);
  w.u8(light.templates.length);
  for (const t of light.templates) {
    w.u64(t.fingerprint);
    w.varint(t.id);
  }
  w.u8(light.events.length);
  /** Time of the last message written (NaN before the first). */
  let previousMs = Number.NaN;
  for (const e of light.events) {
    const common = (e.late ? F_LATE : 0) | (e.emitted ? F_EMITTED : 0);
    if (e.type === 'feedback') {
      w.u8(common);
      w.u8(FEEDBACK_KINDS.indexOf(e.kind));
      time(e.timeMs);
      if (e.late) w.f64(e.minute);
      continue;
    }
    const d = e.d;
    const hasGap = !Number.isNaN(d.gapMs);
    // Most gaps are the distance to the message kept before (a sender's messages arrive in order).
    const gapFromPrevious = compact && hasGap && d.gapMs === d.timeMs - previousMs;
    previousMs = d.timeMs;
    w.u8(
      common |
        F_MESSAGE |
        (d.hasUrl ? F_URL : 0) |
        (d.hasCallbackNumber ? F_CALLBACK : 0) |
        (d.quiet ? F_QUIET : 0) |
        (d.newContact ? F_NEW_CONTACT : 0) |
        (hasGap ? F_GAP : 0),
    );
    // Second flags byte: the pair (0 none, 1 not sequential, 2 sequential) in the low bits, then
    // flags added later (older bytes have them 0, which is what they meant).
    w.u8(d.pairSequential + 1 + (d.contact ? F2_CONTACT : 0) + (gapFromPrevious ? F2_GAP_FROM_PREVIOUS : 0));
    time(d.timeMs);
    if (e.late) w.f64(e.minute);
    w.u32(d.recipientHi);
    w.u32(d.recipientLo);
    if (hasGap && !gapFromPrevious) w.varint(d.gapMs);
    w.varint(d.count1s);
    w.varint(d.count10s);
    w.varint(d.template);
    w.varint(d.recipientPrefix + 1);
    w.u8(d.urlDomainHashes.length);
    for (const h of d.urlDomainHashes) w.u32(h);
  }
  if (light.urlDomains.length > 0) writeUrlDomains(w, light.urlDomains, light.latestMs);
  return w.doneLatin1();
}

export function decodeLight(packed: string): LightEntry {
  if (packed.length > scratch.length) scratch = Buffer.alloc(packed.length * 2);
  const n = scratch.write(packed, 0, 'latin1');
  return decodeLightBytes(scratch.subarray(0, n));
}

/** The tag, flags and kind that open a cheap sender's bytes, checked; the reader is left after them. */
function readLightHeader(r: Reader): {
  readonly compact: boolean;
  readonly flags: number;
  readonly kind: AddressKind;
} {
  const tag = r.u8();
  if (!isLightTag(tag)) throw new StateCodecError('not a cheap sender');
  const flags = r.u8();
  if (flags & ~(DIRTY | HAS_URL_DOMAINS | STALE))
    throw new StateCodecError(`bad cheap sender flags ${flags}`);
  const kind = ADDRESS_KINDS[r.u8()];
  if (!kind) throw new StateCodecError('unknown sender kind');
  return { compact: tag === LIGHT_TAG, flags, kind };
}

/** The times of the header, either form; the reader is left after them. */
function readTimes(r: Reader, compact: boolean) {
  if (!compact) {
    const lastEmittedAsOf = r.f64();
    const latestMs = r.f64();
    r.f64(); // earliest open minute: derived from the events
    return { lastEmittedAsOf, latestMs, lastMessageMs: r.f64(), lastRecipientPosition: r.f64() };
  }
  const latestMs = r.varint();
  const lastEmittedAsOf = fromField(latestMs, r.varint(), Number.NEGATIVE_INFINITY);
  r.varint(); // earliest and latest open minutes: derived from the events
  r.varint();
  const lastMessageMs = fromField(latestMs, r.varint(), Number.NaN);
  const position = r.varint();
  return {
    lastEmittedAsOf,
    latestMs,
    lastMessageMs,
    lastRecipientPosition: position === 0 ? Number.NaN : position - 1,
  };
}

export function decodeLightBytes(bytes: Buffer): LightEntry {
  const r = new Reader(bytes);
  const { compact, flags: header, kind } = readLightHeader(r);
  const dirty = (header & DIRTY) !== 0;
  const stale = (header & STALE) !== 0;
  const { lastEmittedAsOf, latestMs, lastMessageMs, lastRecipientPosition } = readTimes(r, compact);
  const time = compact ? () => latestMs - r.varint() : () => r.f64();
  const light: LightEntry = {
    kind,
    dirty,
    stale,
    lastEmittedAsOf,
    latestMs,
    lastMessageMs,
    lastRecipientPosition,
    count1s: r.varint(),
    count10s: r.varint(),
    nextTemplateId: r.varint(),
    templates: [],
    events: [],
    urlDomains: NO_URL_DOMAINS,
  };
  const templates = r.u8();
  for (let i = 0; i < templates; i++) light.templates.push({ fingerprint: r.u64(), id: r.varint() });
  const events = r.u8();
  const flags2Allowed = F2_PAIR | F2_CONTACT | (compact ? F2_GAP_FROM_PREVIOUS : 0);
  let previousMs = Number.NaN;
  for (let i = 0; i < events; i++) {
    const flags = r.u8();
    const late = (flags & F_LATE) !== 0;
    const emitted = (flags & F_EMITTED) !== 0;
    if ((flags & F_MESSAGE) === 0) {
      const fk = FEEDBACK_KINDS[r.u8()];
      if (!fk) throw new StateCodecError('unknown feedback kind');
      const timeMs = time();
      const minute = late ? r.f64() : sliceStart(timeMs, MINUTE_MS);
      light.events.push({ type: 'feedback', timeMs, kind: fk, minute, late, emitted });
      continue;
    }
    const flags2 = r.u8();
    if (flags2 & ~flags2Allowed || (flags2 & F2_PAIR) > 2)
      throw new StateCodecError(`bad message flags ${flags2}`);
    const pairSequential = (flags2 & F2_PAIR) - 1;
    const timeMs = time();
    const minute = late ? r.f64() : sliceStart(timeMs, MINUTE_MS);
    const recipientHi = r.u32();
    const recipientLo = r.u32();
    if (flags2 & F2_GAP_FROM_PREVIOUS && (Number.isNaN(previousMs) || (flags & F_GAP) === 0))
      throw new StateCodecError('a gap from a message before the first, or without a gap');
    const gapMs =
      (flags & F_GAP) === 0 ? Number.NaN : flags2 & F2_GAP_FROM_PREVIOUS ? timeMs - previousMs : r.varint();
    previousMs = timeMs;
    const count1s = r.varint();
    const count10s = r.varint();
    const template = r.varint();
    const recipientPrefix = r.varint() - 1;
    const urlDomainHashes: number[] = [];
    const domains = r.u8();
    for (let k = 0; k < domains; k++) urlDomainHashes.push(r.u32());
    light.events.push({
      type: 'message',
      minute,
      late,
      emitted,
      d: {
        timeMs,
        recipientHi,
        recipientLo,
        recipientPrefix,
        urlDomainHashes,
        hasUrl: (flags & F_URL) !== 0,
        hasCallbackNumber: (flags & F_CALLBACK) !== 0,
        quiet: (flags & F_QUIET) !== 0,
        newContact: (flags & F_NEW_CONTACT) !== 0,
        contact: (flags2 & F2_CONTACT) !== 0,
        gapMs,
        pairSequential,
        count1s,
        count10s,
        template,
      },
    });
  }
  if (header & HAS_URL_DOMAINS) {
    light.urlDomains = readUrlDomains(r, latestMs);
    if (light.urlDomains.length === 0) throw new StateCodecError('url domain flag without domains');
  }
  r.end();
  return light;
}

/**
 * What a restore needs of a cheap sender's bytes (whether it is dirty, its newest event time),
 * with the header checked; the events are decoded when the sender is first used, as always.
 */
export function peekLightBytes(bytes: Buffer): { readonly dirty: boolean; readonly latestMs: number } {
  const r = new Reader(bytes);
  const { compact, flags } = readLightHeader(r);
  const latestMs = compact ? r.varint() : readTimes(r, false).latestMs;
  return { dirty: (flags & DIRTY) !== 0, latestMs };
}

/** The header fields drain needs, read without decoding the events. */
export interface LightPeek {
  readonly dirty: boolean;
  /** LightEntry.stale. */
  readonly stale: boolean;
  readonly lastEmittedAsOf: number;
  readonly latestMs: number;
  readonly earliestOpenMinute: number;
  /** Latest minute with an event not yet emitted (-Infinity: none); NaN in the wide form, which does not hold it. */
  readonly latestOpenMinute: number;
  readonly lastMessageMs: number;
}

export function peekLight(packed: string): LightPeek {
  const n = scratch.write(packed, 0, Math.max(MAX_HEADER_BYTES, WIDE_HEADER_BYTES), 'latin1');
  const dirty = (scratch[OFF_FLAGS]! & DIRTY) !== 0;
  const stale = (scratch[OFF_FLAGS]! & STALE) !== 0;
  if (scratch[0] !== LIGHT_TAG)
    return {
      dirty,
      stale,
      lastEmittedAsOf: scratch.readDoubleLE(WIDE_LAST_EMITTED),
      latestMs: scratch.readDoubleLE(WIDE_LATEST),
      earliestOpenMinute: scratch.readDoubleLE(WIDE_OPEN_MINUTE),
      latestOpenMinute: Number.NaN,
      lastMessageMs: scratch.readDoubleLE(WIDE_LAST_MESSAGE),
    };
  // One reader for every peek: drain peeks at every dirty cheap sender.
  const r = PEEK.reset(scratch, HEADER_START, n);
  const latestMs = r.varint();
  return {
    dirty,
    stale,
    lastEmittedAsOf: fromField(latestMs, r.varint(), Number.NEGATIVE_INFINITY),
    latestMs,
    earliestOpenMinute: fromField(latestMs, r.varint(), Number.POSITIVE_INFINITY),
    latestOpenMinute: fromField(latestMs, r.varint(), Number.NEGATIVE_INFINITY),
    lastMessageMs: fromField(latestMs, r.varint(), Number.NaN),
  };
}

/** Marks a restored sender's bytes (either form) stale in place: LightEntry.stale. */
export function markStale(bytes: Uint8Array): void {
  bytes[OFF_FLAGS]! |= STALE;
}
