/**
 * Everything the feature engine does for one input partition, without I/O: per-sender window
 * state, the partition's watermark, closed-minute aggregates, and when to emit SenderFeatures.
 * Given the same events in the same order it produces the same outputs, whatever the batching,
 * which is what lets a restarted or moved partition continue exactly where its owner stopped.
 *
 * Time: the watermark is the largest event time seen minus the allowed lateness. An event older
 * than the watermark is late: it still updates every window whose slices hold it, and it is
 * counted in the late column of its sender's minute that is open at the watermark. An event more
 * than maxFutureSkewMs ahead of the wall clock is refused (the shell dead-letters it).
 */
import { SpamgateError } from '@spamgate/core';
import type { AddressKind, SenderFeatures, SenderMinute } from '@spamgate/schemas';
import { createDistinctCounter, type DistinctCounter } from '../sketches/distinct-counter.ts';
import {
  addFeedback,
  addMessage,
  createSenderState,
  DEFAULT_FEATURE_OPTIONS,
  type FeatureOptions,
  type FeedbackKind,
  featuresAt,
  type MessageFacts,
  type SenderState,
} from '../windows/sender-state.ts';
import { DEFAULT_WINDOWS, sliceStart, type WindowSpec } from '../windows/window-spec.ts';

const MINUTE_MS = 60_000;

export interface ProcessorOptions {
  readonly windows: readonly WindowSpec[];
  readonly features: FeatureOptions;
  /** Events up to this much older than the newest one are on time. Default 30 s. */
  readonly allowedLatenessMs: number;
  /** Least event time between two SenderFeatures of one sender. Default 1 s. */
  readonly emitIntervalMs: number;
  /** Events further than this ahead of the wall clock are refused. Default 5 min. */
  readonly maxFutureSkewMs: number;
}

export const DEFAULT_PROCESSOR_OPTIONS: ProcessorOptions = Object.freeze({
  windows: DEFAULT_WINDOWS,
  features: DEFAULT_FEATURE_OPTIONS,
  allowedLatenessMs: 30_000,
  emitIntervalMs: 1_000,
  maxFutureSkewMs: 300_000,
});

/** An event whose time is absurdly far in the future (clock skew, a bad producer). */
export class EventTimeSkewError extends SpamgateError {
  override name = 'EventTimeSkewError';
  constructor(eventTime: number, wallClock: number, maxSkewMs: number) {
    super(`event time ${new Date(eventTime).toISOString()} is more than ${maxSkewMs} ms ahead of the clock`, {
      code: 'EVENT_TIME_SKEW',
      retriable: false,
    });
    void wallClock;
  }
}

export interface MinuteAggregate {
  /** Sender kind and registration of the minute's latest message; UNKNOWN and null when it has none. */
  kind: AddressKind;
  campaignId: string | null;
  messages: number;
  recipients: DistinctCounter | null;
  urlMessages: number;
  deliveryFailures: number;
  spamReports: number;
  subscriberBlocks: number;
  lateEvents: number;
}

export interface SenderEntry {
  readonly sender: string;
  state: SenderState;
  kind: AddressKind;
  campaignId: string | null;
  /** Event time of the last emitted SenderFeatures; -Infinity before the first. */
  lastEmittedAsOf: number;
  /** Changed since the last emission. */
  dirty: boolean;
  /** Open minutes (start ms) and their aggregates. */
  minutes: Map<number, MinuteAggregate>;
}

export type ProcessorOutput =
  | { readonly kind: 'features'; readonly sender: string; readonly value: SenderFeatures }
  | { readonly kind: 'minute'; readonly sender: string; readonly value: SenderMinute };

export interface PartitionProcessor {
  readonly options: ProcessorOptions;
  /** Largest event time seen minus the allowed lateness; -Infinity before any event. */
  readonly watermark: number;
  readonly senders: ReadonlyMap<string, SenderEntry>;
  /** Applies a message. Throws EventTimeSkewError (nothing changed) for an event far in the future. */
  message(
    sender: string,
    kind: AddressKind,
    campaignId: string | null,
    facts: MessageFacts,
    wallClockMs: number,
  ): void;
  feedback(sender: string, timeMs: number, kind: FeedbackKind, wallClockMs: number): void;
  /** Moves the watermark forward to t if it is behind (the shell's idle-partition fallback). */
  advanceWatermark(t: number): void;
  /**
   * The outputs due now, in a deterministic order: closed minutes, then SenderFeatures of changed
   * senders whose emit interval passed (or whose windows emptied), then evictions of idle senders.
   */
  drain(emittedAtMs: number): ProcessorOutput[];
  /** Senders whose state changed since the last call, and senders evicted (state null). */
  takeChanged(): { sender: string; entry: SenderEntry | null }[];
  /** Counters since creation: late events, evicted senders. */
  readonly stats: { lateEvents: number; evictedSenders: number };
  /** Restores a sender (from the changelog) and the watermark. */
  restore(entry: SenderEntry): void;
  restoreWatermark(watermark: number): void;
}

function emptyMinute(kind: AddressKind, campaignId: string | null): MinuteAggregate {
  return {
    kind,
    campaignId,
    messages: 0,
    recipients: null,
    urlMessages: 0,
    deliveryFailures: 0,
    spamReports: 0,
    subscriberBlocks: 0,
    lateEvents: 0,
  };
}

export function createPartitionProcessor(
  options: ProcessorOptions = DEFAULT_PROCESSOR_OPTIONS,
): PartitionProcessor {
  const senders = new Map<string, SenderEntry>();
  const changed = new Set<string>();
  const evicted = new Set<string>();
  let maxEventTime = Number.NEGATIVE_INFINITY;
  let watermark = Number.NEGATIVE_INFINITY;
  const stats = { lateEvents: 0, evictedSenders: 0 };
  const longestWindowMs = Math.max(...options.windows.map((w) => w.lengthMs));
  /** Senders changed since their last emission: the only ones a drain between minutes visits. */
  const dirtySenders = new Set<string>();
  /** The watermark's minute at the last full scan; minutes close only when it moves. */
  let scannedMinute = Number.NaN;

  function entryFor(sender: string): SenderEntry {
    let e = senders.get(sender);
    if (!e) {
      e = {
        sender,
        state: createSenderState(options.windows),
        kind: 'UNKNOWN',
        campaignId: null,
        lastEmittedAsOf: Number.NEGATIVE_INFINITY,
        dirty: false,
        minutes: new Map(),
      };
      senders.set(sender, e);
      evicted.delete(sender);
    }
    return e;
  }

  /** The minute aggregate an event counts in, and whether it counts as late. */
  function minuteFor(e: SenderEntry, t: number): { agg: MinuteAggregate; late: boolean } {
    const late = t < watermark && sliceStart(t, MINUTE_MS) + MINUTE_MS <= watermark;
    const start = late ? sliceStart(watermark, MINUTE_MS) : sliceStart(t, MINUTE_MS);
    let agg = e.minutes.get(start);
    if (!agg) {
      // Kind and registration come from the minute's messages only: taking them from the sender
      // would make a feedback-only minute depend on how the two input topics interleave.
      agg = emptyMinute('UNKNOWN', null);
      e.minutes.set(start, agg);
    }
    return { agg, late };
  }

  function observe(t: number, wallClockMs: number): void {
    if (t > wallClockMs + options.maxFutureSkewMs)
      throw new EventTimeSkewError(t, wallClockMs, options.maxFutureSkewMs);
  }

  function advance(t: number): void {
    if (t > maxEventTime) maxEventTime = t;
    const w = maxEventTime - options.allowedLatenessMs;
    if (w > watermark) watermark = w;
  }

  function touch(e: SenderEntry): void {
    e.dirty = true;
    changed.add(e.sender);
    dirtySenders.add(e.sender);
  }

  function features(e: SenderEntry, asOf: number, emittedAt: number): SenderFeatures {
    return {
      sender: e.sender,
      senderKind: e.kind,
      campaignId: e.campaignId,
      asOf,
      emittedAt,
      windows: featuresAt(e.state, asOf).map(({ window, windowMs, ...rest }) => ({
        window,
        windowMs,
        ...rest,
      })),
    };
  }

  return {
    options,
    get watermark() {
      return watermark;
    },
    senders,
    stats,
    message(sender, kind, campaignId, facts, wallClockMs) {
      observe(facts.timeMs, wallClockMs);
      const e = entryFor(sender);
      e.kind = kind;
      e.campaignId = campaignId;
      const { agg, late } = minuteFor(e, facts.timeMs);
      addMessage(e.state, facts, options.features);
      agg.kind = kind;
      agg.campaignId = campaignId;
      if (late) {
        agg.lateEvents++;
        stats.lateEvents++;
      } else {
        agg.messages++;
        if (facts.hasUrl) agg.urlMessages++;
        agg.recipients ??= createDistinctCounter();
        agg.recipients.add(facts.recipientHi, facts.recipientLo);
      }
      touch(e);
      advance(facts.timeMs);
    },
    feedback(sender, timeMs, kind, wallClockMs) {
      observe(timeMs, wallClockMs);
      const e = entryFor(sender);
      const { agg, late } = minuteFor(e, timeMs);
      addFeedback(e.state, timeMs, kind);
      if (late) {
        agg.lateEvents++;
        stats.lateEvents++;
      } else if (kind === 'DELIVERY_FAILURE') agg.deliveryFailures++;
      else if (kind === 'SPAM_REPORT') agg.spamReports++;
      else if (kind === 'SUBSCRIBER_BLOCK') agg.subscriberBlocks++;
      touch(e);
      advance(timeMs);
    },
    advanceWatermark(t) {
      if (t > watermark) watermark = t;
    },
    drain(emittedAtMs) {
      const out: ProcessorOutput[] = [];
      // A minute can only close, and a sender only fall idle, when the watermark enters a new
      // minute (new minutes always end after the watermark): only then visit every sender.
      const minuteNow = Math.floor(watermark / MINUTE_MS);
      const full = minuteNow !== scannedMinute;
      if (full) scannedMinute = minuteNow;
      const keys = full ? [...senders.keys()].sort() : [...dirtySenders].filter((s) => senders.has(s)).sort();
      for (const sender of full ? keys : []) {
        const e = senders.get(sender)!;
        for (const [start, agg] of [...e.minutes].sort((a, b) => a[0] - b[0])) {
          if (start + MINUTE_MS > watermark) break;
          e.minutes.delete(start);
          changed.add(sender);
          out.push({
            kind: 'minute',
            sender,
            value: {
              sender,
              senderKind: agg.kind,
              campaignId: agg.campaignId,
              minute: start,
              messages: agg.messages,
              distinctRecipients: Math.round(agg.recipients?.estimate() ?? 0),
              urlMessages: agg.urlMessages,
              deliveryFailures: agg.deliveryFailures,
              spamReports: agg.spamReports,
              subscriberBlocks: agg.subscriberBlocks,
              lateEvents: agg.lateEvents,
              version: 1,
            },
          });
        }
      }
      for (const sender of keys) {
        const e = senders.get(sender)!;
        const latest = e.state.latestMs;
        // Idle: nothing in the longest window before the watermark, and no open minute.
        const idle = watermark - latest >= longestWindowMs && e.minutes.size === 0;
        // Emit when changed and the interval passed, or once the watermark moved past the
        // sender's last event by the interval (so a sender's last burst is always published).
        const due =
          e.dirty &&
          (latest - e.lastEmittedAsOf >= options.emitIntervalMs ||
            watermark - latest >= options.emitIntervalMs);
        if (due || (idle && e.dirty)) {
          const asOf = Math.max(latest, e.lastEmittedAsOf);
          out.push({ kind: 'features', sender, value: features(e, asOf, emittedAtMs) });
          e.lastEmittedAsOf = asOf;
          e.dirty = false;
          changed.add(sender);
        }
        if (!e.dirty) dirtySenders.delete(sender);
        if (full && idle && !e.dirty) {
          senders.delete(sender);
          changed.delete(sender);
          evicted.add(sender);
          stats.evictedSenders++;
        }
      }
      return out;
    },
    takeChanged() {
      const out: { sender: string; entry: SenderEntry | null }[] = [];
      for (const sender of [...changed].sort()) out.push({ sender, entry: senders.get(sender) ?? null });
      for (const sender of [...evicted].sort()) out.push({ sender, entry: null });
      changed.clear();
      evicted.clear();
      return out;
    },
    restore(entry) {
      senders.set(entry.sender, entry);
      if (entry.dirty) dirtySenders.add(entry.sender);
      if (entry.state.latestMs > maxEventTime) maxEventTime = entry.state.latestMs;
    },
    restoreWatermark(w) {
      if (w > watermark) watermark = w;
      if (w + options.allowedLatenessMs > maxEventTime) maxEventTime = w + options.allowedLatenessMs;
    },
  };
}
