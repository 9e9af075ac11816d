/**
 * A sender's decision-engine state and its changelog encoding (topic
 * spamgate.decision-engine.state, key = sender): the latest SenderFeatures as received (Avro,
 * so an override or a cluster can re-evaluate the sender without new features), and the
 * decider's memory (tracks of the active and shadow policies, what is in force).
 *
 * Encoding, version 1: byte 1, u32 length of the features, the features' Avro bytes (empty for
 * a sender known only from an operator override), then the decider state as UTF-8 JSON.
 */
import { SpamgateError } from '@spamgate/core';
import type { SenderDecisionState } from './decider.ts';

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
  const d = doc.d as SenderDecisionState | undefined;
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
      active: d.active,
      shadow: d.shadow ?? null,
      inForce: d.inForce,
      shadowInForce: d.shadowInForce ?? null,
    },
  };
}
