/**
 * The registrable domains a sender's messages linked to lately, published as
 * SenderFeatures.urlDomains. The decision engine hard-blocks a sender whose list holds a
 * deny-listed domain, so the list is exact (strings, not hashes or sketches) and its changelog
 * form restores it bit for bit.
 *
 * A list holds at most MAX_URL_DOMAINS distinct domains, each with the latest event time it was
 * seen at, ordered by that time, newest first. Ties (one message's domains, or two messages with
 * the same time) put the later arrival first, and within one message the earlier link first. A
 * domain seen again at a time not older than its own moves to its new place; a late message that
 * shows it at an older time changes nothing. Past the cap, the oldest entry goes (a late message's
 * domain, when every kept one is newer). The list is a pure function of the messages in arrival
 * order, so both tiers of sender state and a restored partition publish the same.
 *
 * A domain is published while its time lies in the longest window at `asOf` (the window's slices,
 * window-spec.ts, as for distinctUrlDomains); the list is ordered by time, so that is a prefix,
 * and what falls out of it is dropped from the state when it is published (asOf only grows).
 *
 * Immutable: every change returns a new list, and NO_URL_DOMAINS is shared by every sender
 * without one, so a sender that never sends a link pays for one pointer, not an array.
 */
import { type Reader, StateCodecError, type Writer } from '@spamgate/core';
import { sliceStart, type WindowSpec } from './window-spec.ts';

/** Most domains kept and published per sender. */
export const MAX_URL_DOMAINS = 16;

/**
 * Longest domain kept, in UTF-8 bytes: the longest DNS name (RFC 1035: 253 characters in text
 * form). A longer "domain" cannot name a reachable host, so it is left out rather than cut to a
 * shorter string that might equal some other, real domain.
 */
export const MAX_URL_DOMAIN_BYTES = 253;

export interface UrlDomainSeen {
  readonly domain: string;
  /** Event time of the latest message seen with a link to it, ms since the epoch. */
  readonly lastSeenMs: number;
}

export type UrlDomainList = readonly UrlDomainSeen[];

export const NO_URL_DOMAINS: UrlDomainList = Object.freeze([]);

/**
 * Whether a domain is kept: not empty, well-formed Unicode (so its UTF-8 form reads back the same)
 * and at most MAX_URL_DOMAIN_BYTES in UTF-8. registrableDomain gives ASCII, so this refuses only
 * over-long hosts.
 */
export function keepsUrlDomain(domain: string): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: the exact count is needed only near the limit.
  return (
    domain.length > 0 &&
    domain.length <= MAX_URL_DOMAIN_BYTES &&
    domain.isWellFormed() &&
    (domain.length * 3 <= MAX_URL_DOMAIN_BYTES || Buffer.byteLength(domain, 'utf8') <= MAX_URL_DOMAIN_BYTES)
  );
}

/**
 * The list after a message at `timeMs` linking to `domains` (in order of appearance; repeats and
 * domains keepsUrlDomain refuses are ignored).
 */
export function recordUrlDomains(
  list: UrlDomainList,
  domains: readonly string[],
  timeMs: number,
): UrlDomainList {
  let next: UrlDomainSeen[] | undefined;
  // Last link first: each goes before every entry not newer than it, so the first link ends first.
  for (let i = domains.length - 1; i >= 0; i--) {
    const domain = domains[i]!;
    if (!keepsUrlDomain(domain)) continue;
    const current = next ?? list;
    const held = current.findIndex((e) => e.domain === domain);
    if (held >= 0 && current[held]!.lastSeenMs > timeMs) continue;
    next ??= [...list];
    if (held >= 0) next.splice(held, 1);
    let at = next.findIndex((e) => e.lastSeenMs <= timeMs);
    if (at < 0) at = next.length;
    next.splice(at, 0, { domain, lastSeenMs: timeMs });
    if (next.length > MAX_URL_DOMAINS) next.pop();
  }
  return next ?? list;
}

/** Whether time t lies in `window` evaluated at asOf (its slices, window-spec.ts). */
function inWindow(t: number, asOf: number, window: WindowSpec): boolean {
  return sliceStart(t, window.sliceMs) > sliceStart(asOf, window.sliceMs) - window.lengthMs;
}

/**
 * The entries to publish at asOf (not before the sender's newest event): those seen in `window`
 * (the longest), newest first. The same list when nothing is left out.
 */
export function urlDomainsAt(list: UrlDomainList, asOf: number, window: WindowSpec): UrlDomainList {
  let n = 0;
  while (n < list.length && inWindow(list[n]!.lastSeenMs, asOf, window)) n++;
  if (n === list.length) return list;
  return n === 0 ? NO_URL_DOMAINS : Object.freeze(list.slice(0, n));
}

// ---- bytes -------------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Appends a list: u8 count, then per entry u8 length, the domain's UTF-8 bytes and its
 * time. With `latestMs` (the cheap tier, whose times are whole ms) a time is a varint of ms
 * before the previous entry's (the first: before latestMs), one to four bytes; without it an f64.
 */
export function writeUrlDomains(w: Writer, list: UrlDomainList, latestMs?: number): void {
  w.u8(list.length);
  let previous = latestMs;
  for (const e of list) {
    const bytes = Buffer.from(e.domain, 'utf8');
    w.u8(bytes.length);
    for (const b of bytes) w.u8(b);
    if (previous === undefined) w.f64(e.lastSeenMs);
    else {
      const before = previous - e.lastSeenMs;
      // The cheap tier takes only whole-ms times, none after its newest event: this is a bug.
      if (!Number.isSafeInteger(before) || before < 0)
        throw new StateCodecError(`url domain seen at ${e.lastSeenMs}, after ${previous}`);
      w.varint(before);
      previous = e.lastSeenMs;
    }
  }
}

/**
 * Reads what writeUrlDomains wrote (the same `latestMs`), refusing more than MAX_URL_DOMAINS
 * entries, domains keepsUrlDomain refuses or bytes that are not UTF-8, repeats, times not
 * finite, and entries out of order.
 */
export function readUrlDomains(r: Reader, latestMs?: number): UrlDomainList {
  const n = r.u8();
  if (n === 0) return NO_URL_DOMAINS;
  if (n > MAX_URL_DOMAINS) throw new StateCodecError(`${n} url domains`);
  const list: UrlDomainSeen[] = [];
  let previous = latestMs;
  for (let i = 0; i < n; i++) {
    const length = r.u8();
    const bytes = new Uint8Array(length);
    for (let k = 0; k < length; k++) bytes[k] = r.u8();
    let domain: string;
    try {
      domain = utf8.decode(bytes);
    } catch (err) {
      throw new StateCodecError('a url domain is not UTF-8', err);
    }
    if (!keepsUrlDomain(domain)) throw new StateCodecError(`url domain of ${length} bytes`);
    if (list.some((e) => e.domain === domain)) throw new StateCodecError('url domain listed twice');
    let lastSeenMs: number;
    if (previous === undefined) {
      lastSeenMs = r.f64();
      if (!Number.isFinite(lastSeenMs) || (i > 0 && lastSeenMs > list[i - 1]!.lastSeenMs))
        throw new StateCodecError('url domain times out of order');
    } else {
      if (!Number.isSafeInteger(previous)) throw new StateCodecError('url domain time is not a whole ms');
      lastSeenMs = previous - r.varint();
      previous = lastSeenMs;
    }
    list.push({ domain, lastSeenMs });
  }
  return Object.freeze(list);
}
