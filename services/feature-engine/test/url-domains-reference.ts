/**
 * SenderFeatures.urlDomains recomputed by brute force from every message a sender sent: per
 * domain its latest time (ties: the later message, then the earlier link in it), those in the
 * longest window at asOf, newest first, at most 16. The tests compare the engine's list with it.
 */
import { keepsUrlDomain, MAX_URL_DOMAINS } from '../src/windows/url-domains.ts';
import { sliceStart, type WindowSpec } from '../src/windows/window-spec.ts';

export interface LinkedMessage {
  readonly t: number;
  readonly domains: readonly string[];
}

/** `messages` in the order they were read. */
export function referenceUrlDomains(
  messages: readonly LinkedMessage[],
  asOf: number,
  window: WindowSpec,
): string[] {
  const best = new Map<string, { t: number; arrival: number; position: number }>();
  messages.forEach(({ t, domains }, arrival) => {
    const seen = new Set<string>();
    domains.forEach((d, position) => {
      if (!keepsUrlDomain(d) || seen.has(d)) return;
      seen.add(d);
      const held = best.get(d);
      if (!held || t >= held.t) best.set(d, { t, arrival, position });
    });
  });
  const end = sliceStart(asOf, window.sliceMs);
  return [...best]
    .filter(([, b]) => sliceStart(b.t, window.sliceMs) > end - window.lengthMs)
    .sort((a, b) => b[1].t - a[1].t || b[1].arrival - a[1].arrival || a[1].position - b[1].position)
    .slice(0, MAX_URL_DOMAINS)
    .map(([d]) => d);
}
