/**
 * Operator content overrides as every decision-engine instance holds them: the whole compacted
 * topic sms.content-overrides (key = `<scope>:<target>`, e.g. `DOMAIN:example.com`; a tombstone
 * removes the override). An override applies until it is removed or the evidence's clock passes
 * its expiresAt, like everything the engine times.
 */
import { checkRecordKey, SpamgateError } from '@spamgate/core';
import { type ContentOverride, contentOverrideKey } from '@spamgate/schemas';
import type { ContentOverrideView } from './content-decider.ts';
import { DOMAIN } from './policy-rules.ts';

export class InvalidContentOverrideError extends SpamgateError {
  override name = 'InvalidContentOverrideError';
  constructor(reason: string) {
    super(`content override refused: ${reason}`, {
      code: 'INVALID_OVERRIDE',
      retriable: false,
      badInput: true,
    });
  }
}

const CLUSTER_ID = /^[0-9a-f]{14}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The record key of a content override, as the contract spells it. */
export { contentOverrideKey };

/** Checks an override against its record key; throws InvalidContentOverrideError. */
export function checkContentOverride(key: string, o: ContentOverride): ContentOverrideView {
  checkRecordKey('ContentOverride', 'scope:target', key, contentOverrideKey(o.scope, o.target));
  if (o.scope === 'CLUSTER' && !CLUSTER_ID.test(o.target))
    throw new InvalidContentOverrideError('a cluster target is 14 lower-case hex digits');
  if (o.scope === 'DOMAIN' && !DOMAIN.test(o.target))
    throw new InvalidContentOverrideError('a domain target is a lower-case registrable domain');
  if (o.overrideId.length === 0 || o.overrideId.length > 200 || CONTROL.test(o.overrideId))
    throw new InvalidContentOverrideError('overrideId must be 1-200 characters without control characters');
  if (o.reason.trim().length === 0 || o.reason.length > 2_000)
    throw new InvalidContentOverrideError('reason must be given, at most 2000 characters');
  if (o.author.trim().length === 0 || o.author.length > 200)
    throw new InvalidContentOverrideError('author must be given');
  if (!Number.isSafeInteger(o.createdAt) || o.createdAt <= 0)
    throw new InvalidContentOverrideError('createdAt is not a time');
  if (o.expiresAt !== null && (!Number.isSafeInteger(o.expiresAt) || o.expiresAt <= o.createdAt))
    throw new InvalidContentOverrideError('expiresAt must be after createdAt');
  return {
    overrideId: o.overrideId,
    scope: o.scope,
    target: o.target,
    action: o.action,
    expiresAt: o.expiresAt,
  };
}

export interface ContentOverrideTable {
  /** Applies a record (null: a tombstone); returns the override it replaced. */
  set(key: string, o: ContentOverrideView | null): ContentOverrideView | undefined;
  /** The CLUSTER override of a cluster in force at `at`. */
  forCluster(clusterId: string, at: number): ContentOverrideView | undefined;
  /** The DOMAIN override of a domain in force at `at`. */
  forDomain(domain: string, at: number): ContentOverrideView | undefined;
  all(): ContentOverrideView[];
  readonly size: number;
}

export function createContentOverrideTable(): ContentOverrideTable {
  const byKey = new Map<string, ContentOverrideView>();
  const live = (o: ContentOverrideView | undefined, at: number) =>
    o !== undefined && (o.expiresAt === null || at < o.expiresAt) ? o : undefined;
  return {
    set(key, o) {
      const before = byKey.get(key);
      if (o === null) byKey.delete(key);
      else byKey.set(key, o);
      return before;
    },
    forCluster: (id, at) => live(byKey.get(contentOverrideKey('CLUSTER', id)), at),
    forDomain: (d, at) => live(byKey.get(contentOverrideKey('DOMAIN', d)), at),
    all: () => [...byKey.values()],
    get size() {
      return byKey.size;
    },
  };
}
