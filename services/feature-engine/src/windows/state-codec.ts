/**
 * Binary form of a SenderState, for the changelog that a partition's next owner restores from.
 * Restoring gives a state whose features, and whose behaviour on every later event, equal the
 * original's. Layout (little-endian), version 1:
 *   u8 version | running state | templates | recent recipients | rings (each: spec, slices)
 * The windows are part of the bytes; a state written under other windows is refused, since its
 * slices mean something else.
 */
import { Reader, StateCodecError, Writer } from '@spamgate/core';
import { type DistinctCounter, deserializeDistinctCounter } from '../sketches/distinct-counter.ts';
import { emptySlice, type SenderState, type Slice } from './sender-state.ts';
import { sliceStart, type WindowSpec } from './window-spec.ts';

export const STATE_CODEC_VERSION = 2;
/** Version 1 had no contactMessages counter; it still decodes (as 0), so an upgrade restores. */
const STATE_CODEC_V1 = 1;

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
