/**
 * Operator overrides as every decision-engine instance holds them: the whole compacted topic
 * sms.policy-overrides (key = sender address or campaign id; a tombstone removes the override).
 * An override applies until it is removed or its expiresAt passes (wall clock: operators and
 * appeals think in calendar time).
 */
import { checkRecordKey, SpamgateError } from '@spamgate/core';
import type { PolicyOverride } from '@spamgate/schemas';
import type { ActiveOverride } from './decider.ts';

/** An override record that decoded but cannot be applied. */
export class InvalidOverrideError extends SpamgateError {
  override name = 'InvalidOverrideError';
  constructor(reason: string) {
    super(`policy override refused: ${reason}`, {
      code: 'INVALID_OVERRIDE',
      retriable: false,
      badInput: true,
    });
  }
}

const MAX_TEXT = 2_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks an override against its record key; throws InvalidOverrideError. */
export function checkOverride(key: string, o: PolicyOverride): ActiveOverride {
  checkRecordKey('PolicyOverride', 'target', key, o.target);
  if (o.target.length === 0 || o.target.length > 64 || CONTROL.test(o.target))
    throw new InvalidOverrideError('target must be 1-64 characters without control characters');
  if (o.overrideId.length === 0 || o.overrideId.length > 200 || CONTROL.test(o.overrideId))
    throw new InvalidOverrideError('overrideId must be 1-200 characters without control characters');
  if (o.reason.trim().length === 0 || o.reason.length > MAX_TEXT)
    throw new InvalidOverrideError(`reason must be given, at most ${MAX_TEXT} characters`);
  if (o.author.trim().length === 0 || o.author.length > 200)
    throw new InvalidOverrideError('author must be given');
  if (!Number.isSafeInteger(o.createdAt) || o.createdAt <= 0)
    throw new InvalidOverrideError('createdAt is not a time');
  if (o.expiresAt !== null && (!Number.isSafeInteger(o.expiresAt) || o.expiresAt <= o.createdAt))
    throw new InvalidOverrideError('expiresAt must be after createdAt');
  return {
    overrideId: o.overrideId,
    scope: o.scope,
    target: o.target,
    action: o.action,
    createdAt: o.createdAt,
    expiresAt: o.expiresAt,
  };
}

export interface OverrideTable {
  /** Applies a record: an override, or null for a tombstone. Returns the override it replaced. */
  set(key: string, override: ActiveOverride | null): ActiveOverride | undefined;
  /** The override in force for a sender at `now`: its own, else its campaign's. */
  forSender(sender: string, campaignId: string | null, now: number): ActiveOverride | undefined;
  /** Overrides whose expiry passed since the last call (each reported once). */
  takeLapsed(now: number): ActiveOverride[];
  all(): ActiveOverride[];
  readonly size: number;
}

export function createOverrideTable(): OverrideTable {
  const byKey = new Map<string, ActiveOverride>();
  const reportedLapsed = new Set<string>();
  const live = (o: ActiveOverride | undefined, now: number) =>
    o !== undefined && (o.expiresAt === null || o.expiresAt > now) ? o : undefined;
  return {
    set(key, override) {
      const before = byKey.get(key);
      if (override === null) byKey.delete(key);
      else byKey.set(key, override);
      reportedLapsed.delete(key);
      return before;
    },
    forSender(sender, campaignId, now) {
      const own = live(byKey.get(sender), now);
      if (own?.scope === 'SENDER') return own;
      if (campaignId === null) return undefined;
      const campaign = live(byKey.get(campaignId), now);
      return campaign?.scope === 'CAMPAIGN' ? campaign : undefined;
    },
    takeLapsed(now) {
      const out: ActiveOverride[] = [];
      for (const [key, o] of byKey)
        if (o.expiresAt !== null && o.expiresAt <= now && !reportedLapsed.has(key)) {
          reportedLapsed.add(key);
          out.push(o);
        }
      return out;
    },
    all: () => [...byKey.values()],
    get size() {
      return byKey.size;
    },
  };
}
