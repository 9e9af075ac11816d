/**
 * Binary form of a SenderState, for the changelog that a partition's next owner restores from.
 * Restoring gives a state whose features, and whose behaviour on every later event, equal the
 * original's. Layout (little-endian), version 1:
 *   u8 version | running state | templates | recent recipients | rings (each: spec, slices)
 * The windows are part of the bytes; a state written under other windows is refused, since its
 * slices mean something else.
 */
import { SpamgateError } from '@spamgate/core';
import { type DistinctCounter, deserializeDistinctCounter } from '../sketches/distinct-counter.ts';
import { emptySlice, type SenderState, type Slice } from './sender-state.ts';
import { sliceStart, type WindowSpec } from './window-spec.ts';

export const STATE_CODEC_VERSION = 2;
/** Version 1 had no contactMessages counter; it still decodes (as 0), so an upgrade restores. */
const STATE_CODEC_V1 = 1;

export class StateCodecError extends SpamgateError {
  override name = 'StateCodecError';
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'STATE_BYTES_INVALID', retriable: false, cause });
  }
}

/**
 * Little-endian binary writer that grows as needed. Writers share one scratch buffer (encoding
 * is synchronous, so one at a time uses it); done() copies the bytes out, which makes each
 * encoding one allocation of its exact size instead of a series of doublings.
 */
let shared = new Uint8Array(64 * 1024);
let sharedInUse = false;

export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #ownsShared: boolean;
  constructor() {
    this.#ownsShared = !sharedInUse;
    if (this.#ownsShared) sharedInUse = true;
    this.#buf = this.#ownsShared ? shared : new Uint8Array(256);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }
  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    if (this.#ownsShared) shared = next;
  }
  u8(v: number): void {
    this.#ensure(1);
    this.#view.setUint8(this.#pos, v);
    this.#pos += 1;
  }
  u32(v: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
  }
  i32(v: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#pos, v, true);
    this.#pos += 4;
  }
  f64(v: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, v, true);
    this.#pos += 8;
  }
  u64(v: bigint): void {
    this.#ensure(8);
    this.#view.setBigUint64(this.#pos, BigInt.asUintN(64, v), true);
    this.#pos += 8;
  }
  /** Unsigned integer up to 2^53 in 7-bit groups, low first. */
  varint(v: number): void {
    let x = v;
    while (x >= 0x80) {
      this.u8((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.u8(x);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
  /** The bytes written, copied out; the writer must not be used after. */
  done(): Buffer {
    const out = Buffer.allocUnsafe(this.#pos);
    out.set(this.#buf.subarray(0, this.#pos));
    this.#release();
    return out;
  }
  /** The bytes written as a Latin-1 string (one char per byte); the writer must not be used after. */
  doneLatin1(): string {
    const out = Buffer.from(this.#buf.buffer, this.#buf.byteOffset, this.#pos).toString('latin1');
    this.#release();
    return out;
  }
  #release(): void {
    if (this.#ownsShared) sharedInUse = false;
    this.#ownsShared = false;
  }
}

/** Reads what Writer wrote; throws StateCodecError past the end. */
export class Reader {
  /** Made on the first multi-byte read: a restore peeks at millions of values by u8 and varint alone. */
  #dataView: DataView | undefined;
  #bytes: Uint8Array;
  #pos = 0;
  #end: number;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#end = bytes.length;
  }
  /** Points this reader at bytes[start, end): a peek at a header reuses one reader instead of making one per value. */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): this {
    if (bytes !== this.#bytes) this.#dataView = undefined;
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    return this;
  }
  get #view(): DataView {
    this.#dataView ??= new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    return this.#dataView;
  }
  #need(n: number): void {
    if (this.#pos + n > this.#end) throw new StateCodecError('state bytes end early');
  }
  u8(): number {
    this.#need(1);
    return this.#bytes[this.#pos++]!;
  }
  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.#view.getInt32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.#pos, true);
    this.#pos += 8;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return v;
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
      scale *= 0x80;
    }
    throw new StateCodecError('varint longer than 8 bytes');
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  end(): void {
    if (this.#pos !== this.#end) throw new StateCodecError(`${this.#end - this.#pos} bytes after the state`);
  }
}

const SLICE_COUNTERS = [
  'messages',
  'bodied',
  'urlMessages',
  'callbackMessages',
  'quietHourMessages',
  'newContactMessages',
  'peak1s',
  'peak10s',
  'gaps',
  'recipientPairs',
  'sequentialPairs',
  'deliveryFailures',
  'spamReports',
  'subscriberBlocks',
  'contactMessages',
] as const satisfies readonly (keyof Slice)[];
const SLICE_COUNTERS_V1 = SLICE_COUNTERS.slice(0, -1);

export function writeCounter(w: Writer, c: DistinctCounter | null): void {
  w.bytes(c ? c.serialize() : new Uint8Array(0));
}

export function readCounter(r: Reader): DistinctCounter | null {
  const b = r.bytes();
  return b.length === 0 ? null : deserializeDistinctCounter(b);
}

function writeMap(w: Writer, m: Map<number, number> | null): void {
  if (!m) {
    w.u32(0);
    return;
  }
  w.u32(m.size);
  for (const [k, v] of m) {
    w.i32(k);
    w.u32(v);
  }
}

function readMap(r: Reader): Map<number, number> | null {
  const n = r.u32();
  if (n === 0) return null;
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) m.set(r.i32(), r.u32());
  return m;
}

/** A ring of slices as both codecs see it: its window and its slots (slice.start set). */
interface CodedRing<S extends { start: number }> {
  readonly spec: WindowSpec;
  readonly slots: readonly (S | undefined)[];
}

/**
 * Writes rings of slices (sender state, content clusters): the ring count, then per ring its
 * window and its present slices in slot order, each as slot, start, then `writeSlice`.
 */
export function writeRings<S extends { start: number }>(
  w: Writer,
  rings: readonly CodedRing<S>[],
  writeSlice: (slice: S) => void,
): void {
  w.u8(rings.length);
  for (const ring of rings) {
    w.f64(ring.spec.lengthMs);
    w.f64(ring.spec.sliceMs);
    const present = ring.slots.flatMap((s, slot) => (s ? [[slot, s] as const] : []));
    w.u32(present.length);
    for (const [slot, s] of present) {
      w.u32(slot);
      w.f64(s.start);
      writeSlice(s);
    }
  }
}

/**
 * Reads rings written by writeRings, for `windows` (the ones they were written with; `what` names
 * the record in errors). Refuses other windows, more slices than slots, slots out of order, and
 * starts that are not a slice start or do not belong in their slot.
 */
export function readRings<S>(
  r: Reader,
  windows: readonly WindowSpec[],
  what: string,
  readSlice: (start: number, spec: WindowSpec) => S,
): { spec: WindowSpec; slots: (S | undefined)[] }[] {
  const n = r.u8();
  if (n !== windows.length)
    throw new StateCodecError(`${what} has ${n} windows, the engine ${windows.length}`);
  return windows.map((spec) => {
    const lengthMs = r.f64();
    const sliceMs = r.f64();
    if (lengthMs !== spec.lengthMs || sliceMs !== spec.sliceMs)
      throw new StateCodecError(`${what} window ${lengthMs}/${sliceMs} ms differs from ${spec.name}`);
    const slots: (S | undefined)[] = new Array(lengthMs / sliceMs);
    const present = r.u32();
    if (present > slots.length) throw new StateCodecError(`${present} slices in a ring of ${slots.length}`);
    let previous = -1;
    for (let i = 0; i < present; i++) {
      const slot = r.u32();
      if (slot >= slots.length || slot <= previous)
        throw new StateCodecError(`slice slot ${slot} out of order`);
      previous = slot;
      const start = r.f64();
      const index = start / sliceMs;
      if (
        !Number.isFinite(start) ||
        sliceStart(start, sliceMs) !== start ||
        ((index % slots.length) + slots.length) % slots.length !== slot
      )
        throw new StateCodecError(`slice start ${start} does not belong in slot ${slot}`);
      slots[slot] = readSlice(start, spec);
    }
    return { spec, slots };
  });
}

export function encodeSenderState(state: SenderState): Buffer {
  const w = new Writer();
  writeSenderState(w, state);
  return w.done();
}

/** Appends a state to a writer (for records that carry more than the state). */
export function writeSenderState(w: Writer, state: SenderState): void {
  w.u8(STATE_CODEC_VERSION);
  w.f64(state.latestMs);
  w.f64(state.lastMessageMs);
  w.f64(state.lastRecipientPosition);
  w.f64(state.bucket1s);
  w.u32(state.count1s);
  w.f64(state.bucket10s);
  w.u32(state.count10s);
  w.u32(state.nextTemplateId);
  w.u32(state.templates.length);
  for (const t of state.templates) {
    w.u64(t.fingerprint);
    w.u32(t.id);
  }
  w.u32(state.recentRecipients.size);
  for (const [k, t] of state.recentRecipients) {
    w.u32(k);
    w.f64(t);
  }
  writeRings(w, state.rings, (s) => {
    for (const k of SLICE_COUNTERS) w.u32(s[k]);
    w.f64(s.gapSum);
    w.f64(s.gapSumSq);
    writeCounter(w, s.recipients);
    writeCounter(w, s.urlDomains);
    writeMap(w, s.templates);
    writeMap(w, s.prefixes);
  });
}

/** Rebuilds a state from its bytes; `windows` must be the windows it was written with. */
export function decodeSenderState(bytes: Uint8Array, windows: readonly WindowSpec[]): SenderState {
  const r = new Reader(bytes);
  const state = readSenderState(r, windows);
  r.end();
  return state;
}

/** Reads a state written by writeSenderState. */
export function readSenderState(r: Reader, windows: readonly WindowSpec[]): SenderState {
  try {
    const version = r.u8();
    if (version !== STATE_CODEC_VERSION && version !== STATE_CODEC_V1)
      throw new StateCodecError(`unknown state version ${version}`);
    const counters = version === STATE_CODEC_V1 ? SLICE_COUNTERS_V1 : SLICE_COUNTERS;
    const state: SenderState = {
      latestMs: r.f64(),
      lastMessageMs: r.f64(),
      lastRecipientPosition: r.f64(),
      bucket1s: r.f64(),
      count1s: r.u32(),
      bucket10s: r.f64(),
      count10s: r.u32(),
      nextTemplateId: r.u32(),
      templates: [],
      recentRecipients: new Map(),
      rings: [],
    };
    const templates = r.u32();
    for (let i = 0; i < templates; i++) state.templates.push({ fingerprint: r.u64(), id: r.u32() });
    const recent = r.u32();
    for (let i = 0; i < recent; i++) state.recentRecipients.set(r.u32(), r.f64());
    const rings = readRings(r, windows, 'state', (start) => {
      const slice = emptySlice(start);
      for (const k of counters) slice[k] = r.u32();
      slice.gapSum = r.f64();
      slice.gapSumSq = r.f64();
      slice.recipients = readCounter(r);
      slice.urlDomains = readCounter(r);
      slice.templates = readMap(r);
      slice.prefixes = readMap(r);
      return slice;
    });
    state.rings.push(...rings);
    return state;
  } catch (err) {
    if (err instanceof StateCodecError) throw err;
    throw new StateCodecError(
      `state bytes are invalid: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}
