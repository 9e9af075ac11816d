/**
 * The cheap tier. Most senders are subscribers who send a few messages a day; rings of slices
 * and sketches for them would cost kilobytes each. A sender with few recent events is kept
 * instead as its running state (sender-state.ts RunningState, minus what the events imply) and,
 * for each event still inside a window, a look-back or an open minute, what that event
 * contributed (a DerivedMessage or a feedback kind) and which minute aggregate it counts in.
 * Nothing else is needed: expandState builds the full entry exactly (the rings are the derived
 * events applied in arrival order), which is how a sender is promoted when it gets busy and how
 * a cheap sender's features are computed when they are due.
 *
 * Events are forgotten once they can no longer show: counted in an emitted minute, outside every
 * window as of the sender's newest event, and (messages) older than the new-contact look-back.
 * In memory and in the changelog a cheap sender is one short string of packed bytes
 * (light-codec.ts).
 */

import { hammingDistance, NEAR_DUPLICATE_DISTANCE } from '@spamgate/core';
import type { AddressKind } from '@spamgate/schemas';
import {
  applyFeedback,
  applyMessage,
  createSenderState,
  type DerivedMessage,
  type FeatureOptions,
  type FeedbackKind,
  type RunningState,
  type SenderState,
} from '../windows/sender-state.ts';
import { NO_URL_DOMAINS, type UrlDomainList, urlDomainsAt } from '../windows/url-domains.ts';
import { sliceStart, type WindowSpec } from '../windows/window-spec.ts';

const MINUTE_MS = 60_000;

/** When a sender leaves the cheap tier. */
export interface LightLimits {
  /** Most events kept; one more and the sender gets full state. 0 turns the tier off. */
  readonly maxEvents: number;
  /** Most content templates; a message with a new one beyond this promotes the sender. */
  readonly maxTemplates: number;
}

export const DEFAULT_LIGHT_LIMITS: LightLimits = Object.freeze({ maxEvents: 6, maxTemplates: 4 });

export type LightEvent =
  | {
      readonly type: 'message';
      readonly d: DerivedMessage;
      readonly minute: number;
      readonly late: boolean;
      emitted: boolean;
    }
  | {
      readonly type: 'feedback';
      readonly timeMs: number;
      readonly kind: FeedbackKind;
      readonly minute: number;
      readonly late: boolean;
      emitted: boolean;
    };

/** A cheap sender, decoded. */
export interface LightEntry {
  /** Kind of the sender's messages (one kind: a change promotes); UNKNOWN before any message. */
  kind: AddressKind;
  dirty: boolean;
  /**
   * Restored and not yet brought up to the watermark it was restored at (catchUpLight): minute
   * closes and window-close publications are not written to the changelog (they follow from the
   * watermark), so a restored sender's bytes may predate some. In memory only: a restore sets it,
   * catchUpLight clears it.
   */
  stale: boolean;
  lastEmittedAsOf: number;
  latestMs: number;
  lastMessageMs: number;
  lastRecipientPosition: number;
  count1s: number;
  count10s: number;
  nextTemplateId: number;
  templates: { fingerprint: bigint; id: number }[];
  events: LightEvent[];
  /** Recent URL domains, as a full entry keeps them (url-domains.ts). */
  urlDomains: UrlDomainList;
}

export function emptyLight(): LightEntry {
  return {
    kind: 'UNKNOWN',
    dirty: false,
    stale: false,
    lastEmittedAsOf: Number.NEGATIVE_INFINITY,
    latestMs: Number.NEGATIVE_INFINITY,
    lastMessageMs: Number.NaN,
    lastRecipientPosition: Number.NaN,
    count1s: 0,
    count10s: 0,
    nextTemplateId: 1,
    templates: [],
    events: [],
    urlDomains: NO_URL_DOMAINS,
  };
}

/** The running state a message is derived from; write it back with absorbRunning. */
export function runningOf(light: LightEntry): RunningState {
  const recentRecipients = new Map<number, number>();
  for (const e of light.events) {
    if (e.type !== 'message') continue;
    const key = e.d.recipientLo >>> 0;
    const seen = recentRecipients.get(key);
    recentRecipients.delete(key);
    recentRecipients.set(key, seen === undefined ? e.d.timeMs : Math.max(seen, e.d.timeMs));
  }
  return {
    latestMs: light.latestMs,
    lastMessageMs: light.lastMessageMs,
    lastRecipientPosition: light.lastRecipientPosition,
    bucket1s: sliceStart(light.lastMessageMs, 1_000),
    count1s: light.count1s,
    bucket10s: sliceStart(light.lastMessageMs, 10_000),
    count10s: light.count10s,
    templates: light.templates.map((t) => ({ ...t })),
    nextTemplateId: light.nextTemplateId,
    recentRecipients,
  };
}

export function absorbRunning(light: LightEntry, r: RunningState): void {
  light.latestMs = r.latestMs;
  light.lastMessageMs = r.lastMessageMs;
  light.lastRecipientPosition = r.lastRecipientPosition;
  light.count1s = r.count1s;
  light.count10s = r.count10s;
  light.templates = r.templates;
  light.nextTemplateId = r.nextTemplateId;
}

/** Whether a template for this fingerprint exists already (a message with it adds none). */
export function knowsTemplate(light: LightEntry, fingerprint: bigint): boolean {
  if (fingerprint === 0n) return true;
  return light.templates.some((t) => hammingDistance(t.fingerprint, fingerprint) <= NEAR_DUPLICATE_DISTANCE);
}

/** The full window state the light entry stands for: equal in every feature and later behaviour. */
export function expandState(
  light: LightEntry,
  windows: readonly WindowSpec[],
  o: FeatureOptions,
): SenderState {
  const state = createSenderState(windows);
  Object.assign(state, runningOf(light));
  for (const e of light.events) {
    if (e.type === 'message') applyMessage(state.rings, state.latestMs, e.d, o);
    else applyFeedback(state.rings, state.latestMs, e.timeMs, e.kind);
  }
  return state;
}

/** Earliest minute with an event not yet emitted; Infinity when none. */
export function earliestOpenMinute(light: LightEntry): number {
  let m = Number.POSITIVE_INFINITY;
  for (const e of light.events) if (!e.emitted && e.minute < m) m = e.minute;
  return m;
}

/** Latest minute with an event not yet emitted; -Infinity when none. */
export function latestOpenMinute(light: LightEntry): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const e of light.events) if (!e.emitted && e.minute > m) m = e.minute;
  return m;
}

/** What a restored sender's bytes may lag: the minutes and the window close the watermark had passed. */
export interface CatchUp {
  /** Start of the watermark's minute at the restore: every minute ending by then was emitted. */
  readonly closedBy: number;
  /** When a silent sender's window-close features are due (partition-processor windowCloseAt). */
  readonly windowCloseAt: (latestMs: number) => number;
  /** The window URL domains are published over. */
  readonly longestWindow: WindowSpec;
}

/**
 * Brings a restored sender up to the watermark it was restored at, as the drains before the
 * restore left it: events of minutes ending by `closedBy` emitted, and, for a sender with nothing
 * new to publish, its window-close features published if they were due by then (those drains
 * published both; neither rewrote the sender's record). Clears `stale`.
 */
export function catchUpLight(
  light: LightEntry,
  c: CatchUp,
  windows: readonly WindowSpec[],
  o: FeatureOptions,
): void {
  for (const e of light.events) if (!e.emitted && e.minute + MINUTE_MS <= c.closedBy) e.emitted = true;
  const close = missedWindowClose(light, c);
  if (!Number.isNaN(close)) {
    light.lastEmittedAsOf = close;
    light.urlDomains = urlDomainsAt(light.urlDomains, close, c.longestWindow);
  }
  forgetExpired(light, windows, o);
  light.stale = false;
}

/**
 * The window close the drains up to `closedBy` published for a restored sender without rewriting
 * its record (a sender with nothing new to publish whose close had passed); NaN when none.
 */
export function missedWindowClose(
  s: Pick<LightEntry, 'dirty' | 'lastMessageMs' | 'lastEmittedAsOf' | 'latestMs'>,
  c: Pick<CatchUp, 'closedBy' | 'windowCloseAt'>,
): number {
  if (s.dirty || Number.isNaN(s.lastMessageMs)) return Number.NaN;
  const close = c.windowCloseAt(s.latestMs);
  return s.lastEmittedAsOf < close && close <= c.closedBy ? close : Number.NaN;
}

/** Drops the events that can no longer show in a feature, a minute or a new-contact decision. */
export function forgetExpired(light: LightEntry, windows: readonly WindowSpec[], o: FeatureOptions): void {
  const latest = light.latestMs;
  light.events = light.events.filter((e) => {
    if (!e.emitted) return true;
    const t = e.type === 'message' ? e.d.timeMs : e.timeMs;
    for (const w of windows)
      if (sliceStart(t, w.sliceMs) > sliceStart(latest, w.sliceMs) - w.lengthMs) return true;
    return e.type === 'message' && latest - t <= o.newContactLookbackMs;
  });
}
