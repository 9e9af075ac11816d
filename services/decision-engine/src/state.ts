/**
 * The decision engine's changelog encoding (topic spamgate.decision-engine.state): per sender
 * (key = sender) its latest SenderFeatures as received (Avro, so an override or a cluster can
 * re-evaluate it without new features) and the decider's memory; per content cluster the
 * partition owns (key CONTENT_KEY_PREFIX + id) its content decision state; and the partition's
 * clock (CLOCK_KEY). Keys starting with NUL cannot be senders: addresses never hold control
 * characters (inputs.ts refuses them).
 *
 * Sender encoding, version 1: byte 1, u32 length of the features, the features' Avro bytes
 * (empty for a sender known only from an operator override), then the decider state as JSON.
 */
import { SpamgateError } from '@spamgate/core';
import type { ContentState } from './content-decider.ts';
import type { InForce, SenderDecisionState, Track } from './decider.ts';

/** Changelog key prefix of a content cluster's state. */
export const CONTENT_KEY_PREFIX = '\u0000content:';
/** Changelog key of the partition's clock (event time, 8-byte big-endian double). */
export const CLOCK_KEY = '\u0000clock';

export interface SenderEntry {
  /** The sender's latest SenderFeatures, Avro as on sms.sender-features; empty when none yet. */
  features: Buffer;
  /** asOf of those features; 0 when none. */
  asOf: number;
  /** Campaign of the latest features (campaign overrides find their senders by it). */
  campaignId: string | null;
  /** Content clusters the latest features name (cluster updates find their senders by them). */
  clusterIds: readonly string[];
  decision: SenderDecisionState;
}

export class StateCodecError extends SpamgateError {
  override name = 'StateCodecError';
  constructor(message: string) {
    super(`decision-engine state: ${message}`, { code: 'STATE_CORRUPT', retriable: false });
  }
}

const VERSION = 1;

export function encodeEntry(entry: SenderEntry): Buffer {
  const json = Buffer.from(
    JSON.stringify({ a: entry.asOf, c: entry.campaignId, k: entry.clusterIds, d: entry.decision }),
    'utf8',
  );
  const out = Buffer.allocUnsafe(5 + entry.features.length + json.length);
  out[0] = VERSION;
  out.writeUInt32BE(entry.features.length, 1);
  entry.features.copy(out, 5);
  json.copy(out, 5 + entry.features.length);
  return out;
}

export function decodeEntry(bytes: Buffer): SenderEntry {
  if (bytes.length < 5) throw new StateCodecError(`${bytes.length} bytes is too short`);
  if (bytes[0] !== VERSION) throw new StateCodecError(`unknown version ${bytes[0]}`);
  const n = bytes.readUInt32BE(1);
  if (5 + n > bytes.length) throw new StateCodecError(`features of ${n} bytes overrun the record`);
  let doc: { a?: unknown; c?: unknown; k?: unknown; d?: unknown };
  try {
    doc = JSON.parse(bytes.subarray(5 + n).toString('utf8'));
  } catch (err) {
    throw new StateCodecError(`decider state is not JSON (${(err as Error).message})`);
  }
  const d = doc.d as (SenderDecisionState & Record<string, unknown>) | undefined;
  if (
    typeof d !== 'object' ||
    d === null ||
    !('active' in d) ||
    !('inForce' in d) ||
    typeof doc.a !== 'number' ||
    (doc.c !== null && typeof doc.c !== 'string') ||
    !Array.isArray(doc.k)
  )
    throw new StateCodecError('decider state lacks its fields');
  return {
    features: Buffer.from(bytes.subarray(5, 5 + n)),
    asOf: doc.a as number,
    campaignId: doc.c as string | null,
    clusterIds: doc.k as string[],
    decision: {
      active: upgradeTrack(d.active),
      shadow: d.shadow ? { version: d.shadow.version, track: upgradeTrack(d.shadow.track)! } : null,
      inForce: upgradeInForce(d.inForce),
      shadowInForce: upgradeInForce(d.shadowInForce ?? null),
    },
  };
}

/** State written before THROTTLEs had limits and a scope held one per-minute `rate`, on all recipients. */
function upgradeLimits<T extends Track | InForce>(x: T | null): T | null {
  if (x === null || x === undefined || 'throttle' in x) return x;
  const { rate, ...rest } = x as unknown as Record<string, unknown> & { rate?: number | null };
  return {
    ...rest,
    throttle: rate == null ? null : { perMinute: rate, perHour: null, scope: 'ALL_RECIPIENTS' },
  } as unknown as T;
}
const upgradeTrack = (t: Track | null) => upgradeLimits<Track>(t);
const upgradeInForce = (f: InForce | null) => upgradeLimits<InForce>(f);

export function encodeContentState(s: ContentState): Buffer {
  return Buffer.from(JSON.stringify(s), 'utf8');
}

export function decodeContentState(bytes: Uint8Array): ContentState {
  let s: ContentState;
  try {
    s = JSON.parse(Buffer.from(bytes).toString('utf8')) as ContentState;
  } catch (err) {
    throw new StateCodecError(`content state is not JSON (${(err as Error).message})`);
  }
  if (
    typeof s !== 'object' ||
    s === null ||
    !['ALLOW', 'MONITOR', 'BLOCK'].includes(s.action) ||
    typeof s.since !== 'number' ||
    !Array.isArray(s.urlDomains) ||
    !Array.isArray(s.callbackNumbers)
  )
    throw new StateCodecError('content state lacks its fields');
  return { ...s, at: typeof s.at === 'number' ? s.at : s.since };
}

export function encodeClock(t: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(t, 0);
  return b;
}

export function decodeClock(bytes: Uint8Array): number {
  if (bytes.length !== 8) throw new StateCodecError(`a clock of ${bytes.length} bytes`);
  const t = Buffer.from(bytes).readDoubleBE(0);
  if (!Number.isFinite(t)) throw new StateCodecError('a clock that is not a time');
  return t;
}
