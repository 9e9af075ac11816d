/**
 * A relation book's changelog bytes (relation-book.ts has the book): versions 1 to 4, read and
 * written, and what a restore reads from a packed book without decoding it. ARCHITECTURE.md,
 * "Feature engine".
 */
import { Reader, StateCodecError, Writer } from '@spamgate/core';
import {
  type Counterpart,
  createRelationBook,
  type RelationBook,
  TWO_21,
  TWO_32,
  UNTAGGED,
} from './relation-book.ts';

/** First byte of a relation book's changelog value: version 3's layout with its key tag after this byte. */
export const RELATION_BOOK_VERSION = 4;
/** Version 2's layout and the owner after it: a book before key tags, still read and written untagged. */
export const RELATION_BOOK_V3 = 3;
/** Version 3 without the owner: what books were before they were keyed by a hash. Still decodes. */
export const RELATION_BOOK_V2 = 2;
/** The first release's layout: latestMs a float64, every key 8 bytes. Still decodes, and is still written for a time before 1970. */
export const RELATION_BOOK_V1 = 1;

/** Longest owner decoded: addresses are at most 64 characters (input-handlers.ts checkAddress). */
const MAX_OWNER_BYTES = 256;

const HAS_SENT = 1;
const HAS_HEARD = 2;
const HAS_ANSWERED = 4;
const HAS_OPT_OUT_ANSWERED = 8;
const HAS_PREV_SENT = 16;
const HAS_CLUSTER = 32;
/** Version 4: the counterpart's key is under the previous hash key (RelationBook.previousKeyed). */
const UNDER_PREVIOUS_KEY = 64;
const OPT_OUT_CONFIRMED = 1;
const OPT_OUT_CLUSTER = 2;
const OPT_OUT_UNDER_PREVIOUS_KEY = 4;

/**
 * Layout: u8 version | varint latestMs (version 1: f64) | varint counterparts | per counterpart:
 * the key (its high 21 bits in 3 bytes, then its low 32 bits in 4; version 1: 4 and 4), u8
 * presence flags, varint seconds before latestMs for each time present (sent, heard, answered,
 * opt-out answered, previous sent), the cluster id (as a key) if any | varint opt-outs | per
 * opt-out: key, u8 flags (1 confirmed, 2 cluster), varint seconds before latestMs, the cluster id
 * (as a key) if any | varint violations | varint seconds before latestMs each | (version 3)
 * varint owner length, the owner's UTF-8 bytes (length 0: none). Books written before opt-outs
 * kept their cluster have flags 0 or 1, and decode with none. Version 4 has the book's key tag
 * (u16) after the version byte, and entries under the previous key flag UNDER_PREVIOUS_KEY.
 */
/**
 * A book's changelog bytes; without `withOwner`, as if it had none (its owner no longer sends);
 * without `withPrevious`, as if no entry were under a previous key (no rotation is under way).
 */
export function encodeRelationBook(book: RelationBook, withOwner = true, withPrevious = true): Buffer {
  const owner = withOwner ? book.owner : undefined;
  const w = new Writer();
  const compact = Number.isSafeInteger(book.latestMs) && book.latestMs >= 0;
  const tagged = compact && book.keyTag !== UNTAGGED;
  const previous = tagged && withPrevious ? book.previousKeyed : undefined;
  w.u8(tagged ? RELATION_BOOK_VERSION : compact ? RELATION_BOOK_V3 : RELATION_BOOK_V1);
  if (tagged) w.u16(book.keyTag);
  if (compact) w.varint(book.latestMs);
  else w.f64(book.latestMs);
  const key = compact ? (k: number) => writeKey(w, k) : (k: number) => writeWideKey(w, k);
  const ago = (ms: number) => w.varint((book.latestMs - ms) / 1000);
  w.varint(book.counterparts.size);
  for (const [k, c] of book.counterparts) {
    key(k);
    const times = [c.sentMs, c.heardMs, c.answeredMs, c.optOutAnsweredMs, c.prevSentMs];
    let flags = 0;
    for (let i = 0; i < times.length; i++) if (!Number.isNaN(times[i])) flags |= 1 << i;
    if (!Number.isNaN(c.clusterId)) flags |= HAS_CLUSTER;
    if (previous?.has(k)) flags |= UNDER_PREVIOUS_KEY;
    w.u8(flags);
    for (const ms of times) if (!Number.isNaN(ms)) ago(ms);
    if (!Number.isNaN(c.clusterId)) key(c.clusterId);
  }
  w.varint(book.optOuts.size);
  for (const [k, opt] of book.optOuts) {
    key(k);
    const cluster = !Number.isNaN(opt.clusterId);
    w.u8(
      (opt.confirmed ? OPT_OUT_CONFIRMED : 0) |
        (cluster ? OPT_OUT_CLUSTER : 0) |
        (previous?.has(k) ? OPT_OUT_UNDER_PREVIOUS_KEY : 0),
    );
    ago(opt.ms);
    if (cluster) key(opt.clusterId);
  }
  w.varint(book.violations.length);
  for (const v of book.violations) ago(v);
  if (compact) {
    // Most books are of addresses that only receive: no owner costs one byte.
    const bytes = Buffer.from(owner ?? '', 'utf8');
    w.varint(bytes.length);
    for (const b of bytes) w.u8(b);
  }
  return w.done();
}

/** A book's header (version, time, counterpart count), checked; the reader is left after it. */
function readBookHeader(r: Reader): {
  readonly compact: boolean;
  /** Whether an owner follows the violations (version 3 and later). */
  readonly owned: boolean;
  /** Version 4's key tag, else UNTAGGED. */
  readonly keyTag: number;
  readonly latestMs: number;
  readonly counterparts: number;
} {
  const version = r.u8();
  if (version < RELATION_BOOK_V1 || version > RELATION_BOOK_VERSION)
    throw new StateCodecError(`unknown relation book version ${version}`);
  const keyTag = version === RELATION_BOOK_VERSION ? r.u16() : UNTAGGED;
  const compact = version !== RELATION_BOOK_V1;
  const latestMs = compact ? r.varint() : r.f64();
  if (!Number.isSafeInteger(latestMs)) throw new StateCodecError('relation book time is not a whole ms');
  return { compact, owned: version >= RELATION_BOOK_V3, keyTag, latestMs, counterparts: r.varint() };
}

/** The key tag of an encoded book (UNTAGGED before version 4), read from its first bytes alone. */
export function relationBookKeyTag(bytes: Uint8Array): number {
  if (bytes[0] !== RELATION_BOOK_VERSION) return UNTAGGED;
  if (bytes.length < 3) throw new StateCodecError('state bytes end early');
  return bytes[1]! | (bytes[2]! << 8); // little-endian, as Writer.u16
}

/**
 * How many counterparts an encoded book holds, read from its header without decoding the rest
 * (a restore keeps a small book packed and decodes it when it is first used, as it always does).
 */
export function relationBookCounterparts(bytes: Uint8Array): number {
  return readBookHeader(new Reader(bytes)).counterparts;
}

/** A book's first bytes, copied out of its string for packedBookLatestMs, and the reader over them. */
const HEAD = Buffer.alloc(11);
const headReader = new Reader(HEAD);

/**
 * The newest event time of a book packed in a Latin-1 string (one char per byte), read without
 * decoding the book: every book is looked at once a minute, so no Buffer or Reader per book.
 */
export function packedBookLatestMs(packed: string): number {
  const n = HEAD.write(packed, 0, HEAD.length, 'latin1');
  const r = headReader.reset(HEAD, HEAD[0] === RELATION_BOOK_VERSION ? 3 : 1, n);
  return HEAD[0] === RELATION_BOOK_V1 ? r.f64() : r.varint();
}

export function decodeRelationBook(bytes: Uint8Array): RelationBook {
  const r = new Reader(bytes);
  const header = readBookHeader(r);
  const book = createRelationBook();
  book.latestMs = header.latestMs;
  book.keyTag = header.keyTag;
  const maxFlags = header.keyTag === UNTAGGED ? 63 : 127;
  const underPrevious = (key: number) => {
    book.previousKeyed ??= new Set();
    book.previousKeyed.add(key);
  };
  const at = () => book.latestMs - r.varint() * 1000;
  const readKey = header.compact ? () => readCompactKey(r) : () => readWideKey(r);
  const count = header.counterparts;
  for (let i = 0; i < count; i++) {
    const key = readKey();
    const flags = r.u8();
    if (flags > maxFlags) throw new StateCodecError(`bad counterpart flags ${flags}`);
    if (flags & UNDER_PREVIOUS_KEY) underPrevious(key);
    const sentMs = flags & HAS_SENT ? at() : Number.NaN;
    const heardMs = flags & HAS_HEARD ? at() : Number.NaN;
    const answeredMs = flags & HAS_ANSWERED ? at() : Number.NaN;
    const optOutAnsweredMs = flags & HAS_OPT_OUT_ANSWERED ? at() : Number.NaN;
    const prevSentMs = flags & HAS_PREV_SENT ? at() : Number.NaN;
    const clusterId = flags & HAS_CLUSTER ? readKey() : Number.NaN;
    const c: Counterpart = { sentMs, prevSentMs, heardMs, answeredMs, optOutAnsweredMs, clusterId };
    book.counterparts.set(key, c);
  }
  const optOuts = r.varint();
  for (let i = 0; i < optOuts; i++) {
    const key = readKey();
    const flags = r.u8();
    if (flags > (maxFlags === 63 ? 3 : 7)) throw new StateCodecError('bad opt-out flag');
    if (flags & OPT_OUT_UNDER_PREVIOUS_KEY) underPrevious(key);
    const ms = at();
    const clusterId = flags & OPT_OUT_CLUSTER ? readKey() : Number.NaN;
    book.optOuts.set(key, { confirmed: (flags & OPT_OUT_CONFIRMED) !== 0, ms, clusterId });
  }
  const violations = r.varint();
  for (let i = 0; i < violations; i++) book.violations.push(at());
  if (header.owned) {
    const n = r.varint();
    if (n > MAX_OWNER_BYTES) throw new StateCodecError(`relation book owner of ${n} bytes`);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = r.u8();
    book.owner = n === 0 ? undefined : b.toString('utf8');
  }
  r.end();
  return book;
}

/** A 53-bit key in 7 bytes: its high 21 bits in 3, then its low 32 bits. */
function writeKey(w: Writer, key: number): void {
  const hi = Math.floor(key / TWO_32);
  w.u8(hi & 0xff);
  w.u8((hi >>> 8) & 0xff);
  w.u8(hi >>> 16);
  w.u32(key % TWO_32);
}

function readCompactKey(r: Reader): number {
  const hi = r.u8() + r.u8() * 0x100 + r.u8() * 0x10000;
  if (hi >= TWO_21) throw new StateCodecError('counterpart key out of range');
  return hi * TWO_32 + r.u32();
}

/** Version 1's keys: the high 21 bits in a u32. */
function writeWideKey(w: Writer, key: number): void {
  w.u32(Math.floor(key / TWO_32));
  w.u32(key % TWO_32);
}

function readWideKey(r: Reader): number {
  const hi = r.u32();
  if (hi >= TWO_21) throw new StateCodecError('counterpart key out of range');
  return hi * TWO_32 + r.u32();
}
