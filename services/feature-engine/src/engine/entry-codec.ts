/**
 * Changelog records of the feature engine. Key = sender (UTF-8), value = the sender's entry
 * (window state, registration, emission bookkeeping, open minutes, recent URL domains), or a
 * tombstone when the sender was evicted. One more key, PARTITION_META_KEY, carries the
 * partition's watermark.
 *
 * Versions of a full entry (its first byte): 1 had no URL domains and still decodes (with none:
 * a sender restored from it lists only domains seen after the upgrade); 3 adds them after the
 * open minutes, one byte when there are none. 2 and 4 are never full entries: they are the cheap
 * tier's tags (light-codec.ts LIGHT_TAG_WIDE and LIGHT_TAG), which is how a restore tells the forms
 * apart; a next full version is 5.
 */

import { Reader, StateCodecError, Writer } from '@spamgate/core';
import { readCounter, readSenderState, writeCounter, writeSenderState } from '../windows/state-codec.ts';
import { NO_URL_DOMAINS, readUrlDomains, writeUrlDomains } from '../windows/url-domains.ts';
import type { WindowSpec } from '../windows/window-spec.ts';
import { ADDRESS_KINDS } from './light-codec.ts';
import type { MinuteAggregate, SenderEntry } from './sender-entry.ts';

/** Not a valid sender address (senders never contain NUL), so it cannot collide with one. */
export const PARTITION_META_KEY = '\u0000partition';

const ENTRY_VERSION = 3;
/** Version 1: no URL domains. */
const ENTRY_V1 = 1;
/** The partition meta record has its own version: 2 adds the minute closes' point (closedBy). */
const PARTITION_META_VERSION = 2;
const PARTITION_META_V1 = 1;

export function encodeSenderEntry(entry: SenderEntry): Buffer {
  const w = new Writer();
  w.u8(ENTRY_VERSION);
  w.u8(ADDRESS_KINDS.indexOf(entry.kind));
  w.bytes(Buffer.from(entry.campaignId ?? '', 'utf8'));
  w.u8(entry.campaignId === null ? 0 : 1);
  w.f64(entry.lastEmittedAsOf);
  w.u8(entry.dirty ? 1 : 0);
  w.u32(entry.minutes.size);
  for (const [start, m] of entry.minutes) {
    w.f64(start);
    w.u8(ADDRESS_KINDS.indexOf(m.kind));
    w.bytes(Buffer.from(m.campaignId ?? '', 'utf8'));
    w.u8(m.campaignId === null ? 0 : 1);
    w.u32(m.messages);
    w.u32(m.urlMessages);
    w.u32(m.deliveryFailures);
    w.u32(m.spamReports);
    w.u32(m.subscriberBlocks);
    w.u32(m.lateEvents);
    writeCounter(w, m.recipients);
  }
  writeUrlDomains(w, entry.urlDomains);
  writeSenderState(w, entry.state);
  return w.done();
}

export function decodeSenderEntry(
  sender: string,
  bytes: Uint8Array,
  windows: readonly WindowSpec[],
): SenderEntry {
  const r = new Reader(bytes);
  try {
    const version = r.u8();
    if (version !== ENTRY_VERSION && version !== ENTRY_V1)
      throw new StateCodecError(`unknown entry version ${version}`);
    const kind = ADDRESS_KINDS[r.u8()];
    if (!kind) throw new StateCodecError('unknown sender kind');
    const campaign = Buffer.from(r.bytes()).toString('utf8');
    const hasCampaign = r.u8() === 1;
    const lastEmittedAsOf = r.f64();
    const dirty = r.u8() === 1;
    const minutes = new Map<number, MinuteAggregate>();
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const start = r.f64();
      const minuteKind = ADDRESS_KINDS[r.u8()];
      if (!minuteKind) throw new StateCodecError('unknown sender kind in a minute');
      const minuteCampaign = Buffer.from(r.bytes()).toString('utf8');
      const minuteHasCampaign = r.u8() === 1;
      minutes.set(start, {
        kind: minuteKind,
        campaignId: minuteHasCampaign ? minuteCampaign : null,
        messages: r.u32(),
        urlMessages: r.u32(),
        deliveryFailures: r.u32(),
        spamReports: r.u32(),
        subscriberBlocks: r.u32(),
        lateEvents: r.u32(),
        recipients: readCounter(r),
      });
    }
    const urlDomains = version === ENTRY_V1 ? NO_URL_DOMAINS : readUrlDomains(r);
    const state = readSenderState(r, windows);
    r.end();
    return {
      sender,
      kind,
      campaignId: hasCampaign ? campaign : null,
      lastEmittedAsOf,
      dirty,
      minutes,
      urlDomains,
      state,
      approxBytes: 0,
    };
  } catch (err) {
    if (err instanceof StateCodecError) throw err;
    throw new StateCodecError(
      `entry bytes are invalid: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
}

/** A partition's watermark and its minute closes as of a transaction (PartitionProcessor.closedBy). */
export interface PartitionMeta {
  readonly watermark: number;
  /** -Infinity in version 1, whose senders' records held every minute close themselves. */
  readonly closedBy: number;
}

/** Version 1 (the watermark alone) without `closedBy`: what the content clusters' watermark still uses. */
export function encodePartitionMeta(watermark: number, closedBy?: number): Buffer {
  const w = new Writer();
  w.u8(closedBy === undefined ? PARTITION_META_V1 : PARTITION_META_VERSION);
  w.f64(watermark);
  if (closedBy !== undefined) w.f64(closedBy);
  return w.done();
}

export function decodePartitionMeta(bytes: Uint8Array): PartitionMeta {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== PARTITION_META_VERSION && version !== PARTITION_META_V1)
    throw new StateCodecError(`unknown partition meta version ${version}`);
  const watermark = r.f64();
  const closedBy = version === PARTITION_META_V1 ? Number.NEGATIVE_INFINITY : r.f64();
  r.end();
  return { watermark, closedBy };
}
