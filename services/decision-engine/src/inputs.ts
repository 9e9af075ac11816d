/**
 * Checks on the records the decision engine reads, beyond what Avro decoding guarantees: a
 * record that decodes but cannot be right (a sender that is not its key, a negative count, a
 * share above 1, a time in another century) is refused with a typed error and dead-lettered,
 * never evaluated: a decision resting on it could block someone.
 */
import { checkRecordKey, SpamgateError } from '@spamgate/core';
import type { ClusterFeatures, ContentDecision, SenderFeatures } from '@spamgate/schemas';

export class InvalidFeaturesError extends SpamgateError {
  override name = 'InvalidFeaturesError';
  constructor(record: string, reason: string) {
    super(`${record} refused: ${reason}`, { code: 'INVALID_FEATURES', retriable: false, badInput: true });
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** 2000-01-01 and a day past the wall clock bound plausible event times. */
const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;
/**
 * Shares of a whole (docs/features.md unit 0-1). Not fanOut (distinct recipients are an estimate
 * and may exceed messages by its error), nor deliveryFailureRate (failures arriving in a window
 * may be for messages sent before it, so it may exceed 1; the demo's number walker does).
 */
const SHARES = new Set([
  'newContactShare',
  'contactShare',
  'sequentialShare',
  'topTemplateShare',
  'urlShare',
  'callbackShare',
  'quietHourShare',
  'replyRate',
  'optOutRate',
  'registeredShare',
  'topSenderShare',
]);

function checkTime(record: string, field: string, t: number, now: number): void {
  if (!Number.isSafeInteger(t) || t < EARLIEST || t > now + DAY_MS)
    throw new InvalidFeaturesError(record, `${field} ${t} is not a plausible time`);
}

function checkNumbers(record: string, window: Record<string, unknown>): void {
  // for...in, not Object.entries: this runs for every window of every features record.
  for (const k in window) {
    const v = window[k];
    if (typeof v !== 'number') continue;
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidFeaturesError(record, `${k} = ${v} in window ${String(window.window)}`);
    if (SHARES.has(k) && v > 1 + 1e-9) throw new InvalidFeaturesError(record, `share ${k} = ${v} exceeds 1`);
  }
}

export function checkSenderFeatures(key: string, f: SenderFeatures, now: number): void {
  const record = 'SenderFeatures';
  checkRecordKey(record, 'sender', key, f.sender);
  if (f.sender.length === 0 || f.sender.length > 64 || CONTROL.test(f.sender))
    throw new InvalidFeaturesError(record, 'sender must be 1-64 characters without control characters');
  checkTime(record, 'asOf', f.asOf, now);
  if (f.windows.length > 16) throw new InvalidFeaturesError(record, `${f.windows.length} windows`);
  for (const w of f.windows) checkNumbers(record, w as unknown as Record<string, unknown>);
  if (f.clusters.length > 16) throw new InvalidFeaturesError(record, `${f.clusters.length} clusters`);
  for (const c of f.clusters)
    if (!/^[0-9a-f]{14}$/.test(c.clusterId))
      throw new InvalidFeaturesError(record, 'cluster id is not 14 hex digits');
  if (f.urlDomains.length > 64) throw new InvalidFeaturesError(record, `${f.urlDomains.length} URL domains`);
  for (const d of f.urlDomains)
    if (d.length > 253 || CONTROL.test(d))
      throw new InvalidFeaturesError(record, 'a URL domain is not a domain');
  if (f.campaignId !== null && (f.campaignId.length > 64 || CONTROL.test(f.campaignId)))
    throw new InvalidFeaturesError(
      record,
      'campaignId must be at most 64 characters without control characters',
    );
}

export function checkClusterFeatures(key: string, f: ClusterFeatures, now: number): void {
  const record = 'ClusterFeatures';
  checkRecordKey(record, 'clusterId', key, f.clusterId);
  if (!/^[0-9a-f]{14}$/.test(f.clusterId))
    throw new InvalidFeaturesError(record, 'cluster id is not 14 hex digits');
  checkTime(record, 'asOf', f.asOf, now);
  if (f.windows.length > 16) throw new InvalidFeaturesError(record, `${f.windows.length} windows`);
  for (const w of f.windows) {
    checkNumbers(record, w as unknown as Record<string, unknown>);
    // A template cannot have been sending longer than its window holds (it would look older).
    if (w.sendingForMs > w.windowMs)
      throw new InvalidFeaturesError(record, `sendingForMs ${w.sendingForMs} exceeds window ${w.window}`);
    // Samples of keyed 52-bit fingerprints, ascending (the crew index keys on them).
    for (const [name, sample] of [
      ['senderSample', w.senderSample],
      ['senderBlockSample', w.senderBlockSample],
    ] as const)
      if (
        sample.length > 16 ||
        sample.some((v, i) => !Number.isSafeInteger(v) || v < 0 || (i > 0 && v <= sample[i - 1]!))
      )
        throw new InvalidFeaturesError(
          record,
          `${name} of ${w.window} is not an ascending sample of fingerprints`,
        );
    // Some of its senders, so never more of them than it has (a rule reads the share).
    if (w.optOutIgnoringSenders > w.distinctSenders)
      throw new InvalidFeaturesError(
        record,
        `optOutIgnoringSenders ${w.optOutIgnoringSenders} exceeds distinctSenders in ${w.window}`,
      );
    // Those that ignored a STOP about it were told one (a rule reads the share).
    if (w.optOutIgnoredSenders > w.optedOutSenders)
      throw new InvalidFeaturesError(
        record,
        `optOutIgnoredSenders ${w.optOutIgnoredSenders} exceeds optedOutSenders in ${w.window}`,
      );
  }
}

/** A content decision (sms.content-decisions, which the engine follows as a table) must be about its key. */
export function checkContentDecision(key: string, d: ContentDecision): void {
  checkRecordKey('ContentDecision', 'clusterId', key, d.clusterId);
}
