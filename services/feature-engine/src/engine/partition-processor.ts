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
import { clusterIdString } from '@spamgate/core';
import { type AddressKind, allowedInWindow, capOf, type SenderFeatures } from '@spamgate/schemas';
import { type BookStore, createBookStore, RELATION_KEY_PREFIX } from '../relations/book-store.ts';
import {
  counterpartKey,
  dominantClusters,
  IGNORES_OPT_OUTS_MS,
  ignoresOptOutsAt,
  latestClusterTo,
  type RelationBook,
  recordHeard,
  recordSent,
  relationFeaturesAt,
} from '../relations/relation-book.ts';
import {
  addFeedback,
  addMessage,
  createSenderState,
  type DerivedMessage,
  deriveMessage,
  type FeedbackKind,
  featuresAt,
  type MessageFacts,
} from '../windows/sender-state.ts';
import { NO_URL_DOMAINS, recordUrlDomains, urlDomainsAt } from '../windows/url-domains.ts';
import { sliceStart } from '../windows/window-spec.ts';
import { decodeSenderEntry, encodeSenderEntry } from './entry-codec.ts';
import {
  decodeLight,
  decodeLightBytes,
  encodeLight,
  isLightTag,
  LIGHT_TAG,
  type LightPeek,
  markStale,
  packable,
  peekLight,
  peekLightBytes,
} from './light-codec.ts';
import {
  absorbRunning,
  type CatchUp,
  catchUpLight,
  earliestOpenMinute,
  emptyLight,
  expandState,
  forgetExpired,
  knowsTemplate,
  type LightEntry,
  missedWindowClose,
  runningOf,
} from './light-entry.ts';
import { countFeedback, countMessage, lightMinutes, minuteOf, minuteRecord } from './minute-aggregates.ts';
import {
  EventTimeSkewError,
  FULL_ENTRY_BASE_BYTES,
  flagsOf,
  fullEntryBytes,
  lightEntryBytes,
  type PartitionProcessor,
  type ProcessorOptions,
  type ProcessorOutput,
} from './processor-api.ts';
import type { SenderEntry } from './sender-entry.ts';

const MINUTE_MS = 60_000;

export function createPartitionProcessor(options: ProcessorOptions): PartitionProcessor {
  /** Full entries, or a cheap sender's packed bytes (light-codec.ts). */
  const senders = new Map<string, SenderEntry | string>();
  /** Within the longest window: the relation books keep violations that long. */
  const ignoresLookbackMs = Math.min(
    IGNORES_OPT_OUTS_MS,
    Math.max(...options.windows.map((w) => w.lengthMs)),
  );
  let lightCount = 0;
  let stateBytes = 0;
  const sizeOf = (v: SenderEntry | string | undefined): number =>
    v === undefined ? 0 : typeof v === 'string' ? lightEntryBytes(v.length) : v.approxBytes;
  const changed = new Set<string>();
  const evicted = new Set<string>();
  let maxEventTime = Number.NEGATIVE_INFINITY;
  let watermark = Number.NEGATIVE_INFINITY;
  const stats = {
    lateEvents: 0,
    evictedSenders: 0,
    promotedSenders: 0,
    shedSenders: 0,
    shedRelationBooks: 0,
  };
  const longestWindowMs = Math.max(...options.windows.map((w) => w.lengthMs));
  /** The window URL domains are published over. */
  const longestWindow = options.windows.find((w) => w.lengthMs === longestWindowMs)!;
  const shortest = options.windows[0]!;
  /**
   * When the shortest window no longer holds the sender's newest event: its features are
   * published once more then (on window close), so consumers see a burst end even if the sender
   * stays silent. Senders with no message, or shed ones, have nothing to close.
   */
  const windowCloseAt = (latestMs: number): number =>
    sliceStart(latestMs, shortest.sliceMs) + shortest.lengthMs;
  const closeDue = (
    full: boolean,
    dirty: boolean,
    lastMessageMs: number,
    latestMs: number,
    lastEmittedAsOf: number,
  ) =>
    full &&
    !dirty &&
    !Number.isNaN(lastMessageMs) &&
    lastEmittedAsOf < windowCloseAt(latestMs) &&
    windowCloseAt(latestMs) <= sliceStart(watermark, MINUTE_MS);
  /** Senders changed since their last emission: the only ones a drain between minutes visits. */
  const dirtySenders = new Set<string>();
  /** The watermark's minute at the last full scan; minutes close only when it moves. */
  let scannedMinute = Number.NaN;

  /** Relation books: replies, contacts and opt-outs (book-store.ts). */
  const books: BookStore = createBookStore(options, (address) => senders.has(address));
  /** Sheds books `eligible` accepts, counting them. */
  function shedBooks(target: number, eligible: (book: RelationBook, ownerHeld: boolean) => boolean): number {
    const shed = books.shed(target, eligible);
    stats.shedRelationBooks += shed.books;
    return shed.freed;
  }

  /** A sender's features may change with its book: publish them again (if it has any). */
  function outcomeChanged(sender: string): void {
    const held = senders.get(sender);
    if (held === undefined) return;
    if (typeof held === 'string') {
      const light = openLight(held);
      if (light.dirty) return;
      light.dirty = true;
      storeLight(sender, light);
    } else held.dirty = true;
    touch(sender);
  }

  function set(sender: string, value: SenderEntry | string): void {
    const before = senders.get(sender);
    if (typeof before === 'string') lightCount--;
    if (typeof value === 'string') lightCount++;
    stateBytes += sizeOf(value) - sizeOf(before);
    senders.set(sender, value);
  }

  function remove(sender: string): void {
    const before = senders.get(sender);
    if (typeof before === 'string') lightCount--;
    stateBytes -= sizeOf(before);
    senders.delete(sender);
  }

  function expand(sender: string, light: LightEntry): SenderEntry {
    return {
      sender,
      state: expandState(light, options.windows, options.features),
      kind: light.kind,
      campaignId: null,
      lastEmittedAsOf: light.lastEmittedAsOf,
      dirty: light.dirty,
      minutes: lightMinutes(light),
      urlDomains: light.urlDomains,
      approxBytes: FULL_ENTRY_BASE_BYTES,
    };
  }

  /** The sender's full entry: held, created, or a cheap sender (`light`, decoded) promoted. */
  function fullEntry(sender: string, light: LightEntry | undefined): SenderEntry {
    const held = senders.get(sender);
    if (typeof held === 'object') return held;
    let e: SenderEntry;
    if (light && held !== undefined) {
      e = expand(sender, light);
      stats.promotedSenders++;
    } else
      e = {
        sender,
        state: createSenderState(options.windows),
        kind: 'UNKNOWN',
        campaignId: null,
        lastEmittedAsOf: Number.NEGATIVE_INFINITY,
        dirty: false,
        minutes: new Map(),
        urlDomains: NO_URL_DOMAINS,
        approxBytes: FULL_ENTRY_BASE_BYTES,
      };
    set(sender, e);
    evicted.delete(sender);
    return e;
  }

  /** The cheap sender held (decoded), a fresh one when the sender is new, undefined when full. */
  function lightEntry(sender: string): LightEntry | undefined {
    const held = senders.get(sender);
    if (typeof held === 'object') return undefined;
    if (held === undefined) return options.light.maxEvents > 0 ? emptyLight() : undefined;
    const light = openLight(held);
    forgetExpired(light, options.windows, options.features);
    return light;
  }

  function storeLight(sender: string, light: LightEntry): void {
    set(sender, encodeLight(light));
    evicted.delete(sender);
  }

  /** What restored senders' bytes may lag (LightEntry.stale): set by restoreWatermark. */
  let catchUp: CatchUp = { closedBy: Number.NEGATIVE_INFINITY, windowCloseAt, longestWindow };

  /** A cheap sender's bytes decoded, brought up to the restore's watermark if they were restored. */
  function openLight(packed: string): LightEntry {
    const light = decodeLight(packed);
    if (light.stale) catchUpLight(light, catchUp, options.windows, options.features);
    return light;
  }

  /**
   * A cheap sender's header as catchUpLight would leave it, without decoding: what drain and
   * shedding decide by. Bytes restored (stale) may still hold minutes the restore's watermark had
   * closed and a window close it had published; only a minute from the restore's own on can
   * still be open (a late event counts in the minute open when it came), so the earliest open one
   * is taken to be that minute when the bytes do not say which. The wide form, which does not hold
   * its latest open minute, is decoded.
   */
  function effectivePeek(packed: string): LightPeek {
    const peek = peekLight(packed);
    if (!peek.stale) return peek;
    const closedBy = catchUp.closedBy;
    if (Number.isNaN(peek.latestOpenMinute)) {
      const light = openLight(packed);
      return {
        ...peek,
        stale: false,
        lastEmittedAsOf: light.lastEmittedAsOf,
        earliestOpenMinute: earliestOpenMinute(light),
        latestOpenMinute: Number.NaN,
      };
    }
    const earliest =
      peek.latestOpenMinute + MINUTE_MS <= closedBy
        ? Number.POSITIVE_INFINITY
        : Math.max(peek.earliestOpenMinute, closedBy);
    const close = missedWindowClose(peek, catchUp);
    return {
      ...peek,
      earliestOpenMinute: earliest,
      lastEmittedAsOf: Number.isNaN(close) ? peek.lastEmittedAsOf : close,
    };
  }

  /** Where an event counts: its own minute, or, when that minute has closed, the one open now. */
  function attribution(t: number): { start: number; late: boolean } {
    const late = t < watermark && sliceStart(t, MINUTE_MS) + MINUTE_MS <= watermark;
    return { start: late ? sliceStart(watermark, MINUTE_MS) : sliceStart(t, MINUTE_MS), late };
  }

  function observe(t: number, wallClockMs: number): void {
    if (t > wallClockMs + options.maxFutureSkewMs)
      throw new EventTimeSkewError(t, wallClockMs, options.maxFutureSkewMs);
  }

  /**
   * The partition's newest event time (or, after an idle advance, the watermark plus the allowed
   * lateness). A sender whose last change is emitIntervalMs behind it is published: a burst's
   * last message goes out about one interval after it, not one interval after the watermark.
   */
  function streamTime(): number {
    return Math.max(maxEventTime, watermark + options.allowedLatenessMs);
  }

  function advance(t: number): void {
    if (t > maxEventTime) maxEventTime = t;
    const w = maxEventTime - options.allowedLatenessMs;
    if (w > watermark) watermark = w;
  }

  function touch(sender: string): void {
    changed.add(sender);
    dirtySenders.add(sender);
  }

  function allowedFor(campaignId: string | null): ((windowMs: number) => number) | undefined {
    const cap = capOf(options.registrations, campaignId);
    return cap && ((windowMs: number) => allowedInWindow(cap, windowMs));
  }

  function features(e: SenderEntry, asOf: number, emittedAt: number): SenderFeatures {
    const book = books.readForFeatures(e.sender);
    const relations = book && relationFeaturesAt(book, asOf, options.windows);
    const longest = options.windows[options.windows.length - 1]!;
    const clusters = book ? dominantClusters(book, asOf, longest) : [];
    return {
      sender: e.sender,
      senderKind: e.kind,
      campaignId: e.campaignId,
      asOf,
      emittedAt,
      windows: featuresAt(e.state, asOf, allowedFor(e.campaignId), relations),
      clusters: clusters.map((c) => ({ clusterId: clusterIdString(c.clusterId), recipients: c.recipients })),
      urlDomains: urlDomainsAt(e.urlDomains, asOf, longestWindow).map((d) => d.domain),
    };
  }

  /** A cheap sender's message, and what it contributed; undefined when it needs full state instead. */
  function lightMessage(
    sender: string,
    light: LightEntry,
    kind: AddressKind,
    campaignId: string | null,
    facts: MessageFacts,
    contact: boolean,
  ): DerivedMessage | undefined {
    const limits = options.light;
    if (campaignId !== null) return undefined;
    if (!Number.isNaN(light.lastMessageMs) && light.kind !== kind) return undefined;
    if (light.events.length >= limits.maxEvents) return undefined;
    if (light.templates.length >= limits.maxTemplates && !knowsTemplate(light, facts.fingerprint))
      return undefined;
    const running = runningOf(light);
    const d = deriveMessage(running, facts, options.features, contact);
    if (!packable(d)) return undefined;
    absorbRunning(light, running);
    light.urlDomains = recordUrlDomains(light.urlDomains, facts.urlDomains, facts.timeMs);
    const { start, late } = attribution(facts.timeMs);
    light.kind = kind;
    light.dirty = true;
    light.events.push({ type: 'message', d, minute: start, late, emitted: false });
    if (late) stats.lateEvents++;
    storeLight(sender, light);
    return d;
  }

  function lightFeedback(sender: string, light: LightEntry, timeMs: number, kind: FeedbackKind): boolean {
    if (light.events.length >= options.light.maxEvents || !Number.isSafeInteger(timeMs)) return false;
    if (timeMs > light.latestMs) light.latestMs = timeMs;
    const { start, late } = attribution(timeMs);
    light.dirty = true;
    light.events.push({ type: 'feedback', timeMs, kind, minute: start, late, emitted: false });
    if (late) stats.lateEvents++;
    storeLight(sender, light);
    return true;
  }

  /** Closes a cheap sender's minutes, emits its features when due, evicts it when idle. */
  function drainLight(
    sender: string,
    packed: string,
    full: boolean,
    emittedAtMs: number,
    out: ProcessorOutput[],
  ): void {
    const peek = effectivePeek(packed);
    const closing = full && peek.earliestOpenMinute + MINUTE_MS <= watermark;
    const idle =
      watermark - peek.latestMs >= longestWindowMs && peek.earliestOpenMinute === Number.POSITIVE_INFINITY;
    const due =
      peek.dirty &&
      (peek.latestMs - peek.lastEmittedAsOf >= options.emitIntervalMs ||
        streamTime() - peek.latestMs >= options.emitIntervalMs);
    const closeWindow = closeDue(full, false, peek.lastMessageMs, peek.latestMs, peek.lastEmittedAsOf);
    if (!closing && !due && !(idle && peek.dirty) && !closeWindow) {
      if (!peek.dirty) dirtySenders.delete(sender);
      if (full && idle && !peek.dirty) evict(sender);
      return;
    }
    const light = openLight(packed);
    if (closing) {
      const minutes = lightMinutes(light);
      for (const start of [...minutes.keys()].sort((a, b) => a - b)) {
        if (start + MINUTE_MS > watermark) break;
        out.push(minuteRecord(sender, start, minutes.get(start)!));
        for (const e of light.events) if (e.minute === start) e.emitted = true;
      }
    }
    // Only publishing a dirty sender changes its record: minute closes, the window close and
    // forgetting expired events follow from the watermark (catchUpLight redoes them after a
    // restore), so they change the bytes held and write nothing to the changelog.
    const publish = due || (idle && light.dirty);
    if (publish) {
      const asOf = Math.max(light.latestMs, light.lastEmittedAsOf);
      out.push({ kind: 'features', sender, value: features(expand(sender, light), asOf, emittedAtMs) });
      light.lastEmittedAsOf = asOf;
      light.dirty = false;
      light.urlDomains = urlDomainsAt(light.urlDomains, asOf, longestWindow); // what was not published never will be
    }
    if (closeDue(full, light.dirty, light.lastMessageMs, light.latestMs, light.lastEmittedAsOf)) {
      const asOf = windowCloseAt(light.latestMs);
      out.push({ kind: 'features', sender, value: features(expand(sender, light), asOf, emittedAtMs) });
      light.lastEmittedAsOf = asOf;
      light.urlDomains = urlDomainsAt(light.urlDomains, asOf, longestWindow);
    }
    if (!light.dirty) dirtySenders.delete(sender);
    const nowIdle =
      watermark - light.latestMs >= longestWindowMs && earliestOpenMinute(light) === Number.POSITIVE_INFINITY;
    if (full && nowIdle && !light.dirty) {
      evict(sender);
      return;
    }
    forgetExpired(light, options.windows, options.features);
    storeLight(sender, light);
    if (publish) changed.add(sender);
  }

  function evict(sender: string): void {
    remove(sender);
    changed.delete(sender);
    evicted.add(sender);
    stats.evictedSenders++;
  }

  /** Events in the sender's newest hour-long (or shortest longer) window, for shedding. */
  function activity(e: SenderEntry): number {
    const fs = featuresAt(e.state, e.state.latestMs);
    const w = fs.find((f) => f.windowMs >= 3_600_000) ?? fs[fs.length - 1];
    return w ? w.messages + w.deliveryFailures + w.spamReports + w.subscriberBlocks : 0;
  }

  return {
    options,
    get watermark() {
      return watermark;
    },
    get closedBy() {
      // At least what was restored: senders still held stale are caught up to it when used, so a
      // restore after this one must know it too.
      const scanned = Number.isNaN(scannedMinute) ? Number.NEGATIVE_INFINITY : scannedMinute * MINUTE_MS;
      return Math.max(scanned, catchUp.closedBy);
    },
    get senderCount() {
      return senders.size;
    },
    get lightSenderCount() {
      return lightCount;
    },
    get stateBytes() {
      return stateBytes + books.bytes;
    },
    get relationBookCount() {
      return books.size;
    },
    entry(sender) {
      const held = senders.get(sender);
      if (held === undefined || typeof held === 'object') return held;
      return expand(sender, openLight(held));
    },
    stats,
    message(sender, kind, campaignId, facts, wallClockMs, clusterId = Number.NaN, senderBook, previous) {
      observe(facts.timeMs, wallClockMs);
      const recipient = counterpartKey(facts.recipientHi, facts.recipientLo);
      const book = books.open(senderBook ?? options.bookId(sender), recipient, previous, sender);
      const { contact, afterOptOut, optOutCluster } = recordSent(
        book,
        recipient,
        facts.timeMs,
        options.relations,
        clusterId,
      );
      const light = lightEntry(sender);
      let d = light && lightMessage(sender, light, kind, campaignId, facts, contact);
      if (!d) {
        const e = fullEntry(sender, light);
        e.kind = kind;
        e.campaignId = campaignId;
        const { start, late } = attribution(facts.timeMs);
        d = addMessage(e.state, facts, options.features, contact);
        e.urlDomains = recordUrlDomains(e.urlDomains, facts.urlDomains, facts.timeMs);
        if (
          countMessage(
            minuteOf(e.minutes, start),
            kind,
            campaignId,
            late,
            facts.hasUrl,
            facts.recipientHi,
            facts.recipientLo,
          )
        )
          stats.lateEvents++;
        e.dirty = true;
      }
      touch(sender);
      advance(facts.timeMs);
      if (afterOptOut)
        return { sequential: d.pairSequential === 1, afterOptOut, senderIgnoresOptOuts: true, optOutCluster };
      return flagsOf(d.pairSequential === 1, ignoresOptOutsAt(book, facts.timeMs, ignoresLookbackMs));
    },
    feedback(sender, timeMs, kind, wallClockMs, recipient) {
      observe(timeMs, wallClockMs);
      const attributed = kind === 'SPAM_REPORT' || kind === 'DELIVERY_FAILURE';
      const book = attributed && recipient ? books.read(books.idOf(sender)) : undefined;
      const cluster = book ? latestClusterTo(book, counterpartKey(recipient!.hi, recipient!.lo)) : Number.NaN;
      const light = lightEntry(sender);
      if (!light || !lightFeedback(sender, light, timeMs, kind)) {
        const e = fullEntry(sender, light);
        const { start, late } = attribution(timeMs);
        addFeedback(e.state, timeMs, kind);
        if (countFeedback(minuteOf(e.minutes, start), kind, late)) stats.lateEvents++;
        e.dirty = true;
      }
      touch(sender);
      advance(timeMs);
      return cluster;
    },
    heard(id, counterpartHi, counterpartLo, timeMs, kind, wallClockMs, previous) {
      observe(timeMs, wallClockMs);
      const key = counterpartKey(counterpartHi, counterpartLo);
      const book = books.open(id, key, previous);
      const cluster = recordHeard(book, key, timeMs, kind, options.relations);
      if (book.owner !== undefined) outcomeChanged(book.owner);
      advance(timeMs);
      return cluster;
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
      if (full) {
        scannedMinute = minuteNow;
        books.expire(watermark);
      }
      const keys = full ? [...senders.keys()].sort() : [...dirtySenders].filter((s) => senders.has(s)).sort();
      // Closed minutes first (all of them, for every sender), then features, then evictions.
      const featureOut: ProcessorOutput[] = [];
      for (const sender of keys) {
        const held = senders.get(sender)!;
        if (typeof held === 'string') {
          const minutesOut: ProcessorOutput[] = [];
          drainLight(sender, held, full, emittedAtMs, minutesOut);
          for (const o of minutesOut) (o.kind === 'minute' ? out : featureOut).push(o);
          continue;
        }
        const e = held;
        if (full) {
          for (const [start, agg] of [...e.minutes].sort((a, b) => a[0] - b[0])) {
            if (start + MINUTE_MS > watermark) break;
            e.minutes.delete(start);
            changed.add(sender);
            out.push(minuteRecord(sender, start, agg));
          }
        }
        const latest = e.state.latestMs;
        // Idle: nothing in the longest window before the watermark, and no open minute.
        const idle = watermark - latest >= longestWindowMs && e.minutes.size === 0;
        // Emit when changed and the interval passed, or once the watermark moved past the
        // sender's last event by the interval (so a sender's last burst is always published).
        const due =
          e.dirty &&
          (latest - e.lastEmittedAsOf >= options.emitIntervalMs ||
            streamTime() - latest >= options.emitIntervalMs);
        if (due || (idle && e.dirty)) {
          const asOf = Math.max(latest, e.lastEmittedAsOf);
          featureOut.push({ kind: 'features', sender, value: features(e, asOf, emittedAtMs) });
          e.lastEmittedAsOf = asOf;
          e.dirty = false;
          e.urlDomains = urlDomainsAt(e.urlDomains, asOf, longestWindow); // what was not published never will be
          changed.add(sender);
        }
        if (closeDue(full, e.dirty, e.state.lastMessageMs, latest, e.lastEmittedAsOf)) {
          const asOf = windowCloseAt(latest);
          featureOut.push({ kind: 'features', sender, value: features(e, asOf, emittedAtMs) });
          e.lastEmittedAsOf = asOf;
          e.urlDomains = urlDomainsAt(e.urlDomains, asOf, longestWindow);
          changed.add(sender);
        }
        if (!e.dirty) dirtySenders.delete(sender);
        if (full && idle && !e.dirty) evict(sender);
      }
      // Not push(...featureOut): a drain can emit more features than a call takes arguments.
      for (const o of featureOut) out.push(o);
      books.clearIds();
      return out;
    },
    takeChanged() {
      const out: { key: string; value: Uint8Array | null }[] = [];
      for (const sender of [...changed].sort()) {
        const held = senders.get(sender);
        let value: Uint8Array | null = null;
        if (typeof held === 'string') value = Buffer.from(held, 'latin1');
        else if (held) {
          value = encodeSenderEntry(held);
          const bytes = fullEntryBytes(value.length);
          stateBytes += bytes - held.approxBytes;
          held.approxBytes = bytes;
        }
        out.push({ key: sender, value });
      }
      for (const sender of [...evicted].sort()) out.push({ key: sender, value: null });
      changed.clear();
      evicted.clear();
      books.takeChanged(out);
      return out;
    },
    shed(target) {
      const booksBefore = stats.shedRelationBooks;
      let freed = 0;
      let count = 0;
      // First the relation books of addresses that only receive (no sender state, no opt-out):
      // what is lost is who messaged them, which matters only if they start sending.
      freed += shedBooks(target - freed, (book, owned) => !owned && book.optOuts.size === 0);
      const full: { sender: string; e: SenderEntry; activity: number }[] = [];
      for (const [sender, held] of senders)
        if (typeof held === 'object') full.push({ sender, e: held, activity: activity(held) });
      full.sort(
        (a, b) =>
          a.activity - b.activity ||
          a.e.state.latestMs - b.e.state.latestMs ||
          (a.sender < b.sender ? -1 : 1),
      );
      for (const { sender, e } of full) {
        if (freed >= target) break;
        if (!e.state.rings.some((r) => r.slots.some(Boolean)) && e.state.recentRecipients.size === 0)
          continue; // nothing left to shed
        const fresh = createSenderState(options.windows);
        fresh.latestMs = e.state.latestMs; // idleness and eviction stay where they were
        e.state = fresh;
        // Features of the lost detail would be wrong, not just late: nothing is published
        // for this sender until its next event.
        e.dirty = false;
        dirtySenders.delete(sender);
        const after = fullEntryBytes(encodeSenderEntry(e).length);
        freed += e.approxBytes - after;
        stateBytes -= e.approxBytes - after;
        e.approxBytes = after;
        changed.add(sender);
        count++;
      }
      if (freed < target) {
        // Then forget whole senders with no open minute, least recently active first: cheap
        // ones, and full ones whose detail is gone or was never enough to shed.
        const idle: { sender: string; latest: number }[] = [];
        for (const [sender, held] of senders) {
          if (typeof held === 'string') {
            const peek = effectivePeek(held);
            if (peek.earliestOpenMinute === Number.POSITIVE_INFINITY)
              idle.push({ sender, latest: peek.latestMs });
          } else if (held.minutes.size === 0) idle.push({ sender, latest: held.state.latestMs });
        }
        idle.sort((a, b) => a.latest - b.latest || (a.sender < b.sender ? -1 : 1));
        for (const { sender } of idle) {
          if (freed >= target) break;
          freed += sizeOf(senders.get(sender));
          remove(sender);
          dirtySenders.delete(sender);
          changed.delete(sender);
          evicted.add(sender);
          count++;
        }
      }
      // Then any book, least recently active first, those holding opt-outs last: forgetting an
      // opt-out forgets the evidence of sends after it.
      if (freed < target) freed += shedBooks(target - freed, (book) => book.optOuts.size === 0);
      if (freed < target) freed += shedBooks(target - freed, () => true);
      stats.shedSenders += count;
      return { senders: count, relationBooks: stats.shedRelationBooks - booksBefore, bytes: freed };
    },
    restore(key, bytes) {
      if (key.startsWith(RELATION_KEY_PREFIX)) {
        books.restore(key.slice(RELATION_KEY_PREFIX.length), bytes);
        return;
      }
      const sender = key;
      let latest: number;
      if (isLightTag(bytes[0])) {
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const light = peekLightBytes(buffer); // the header; the bytes themselves are kept
        // Held stale: caught up with the watermark restored with it when first used (the flag is
        // set in the bytes only while they are copied out, so the caller's buffer is left as it was).
        const flags = buffer[1]!;
        markStale(buffer);
        // The wide form (an earlier release's bytes, or times that did not fit) is re-packed, so
        // that a restore after an upgrade holds the compact form wherever it fits.
        set(
          sender,
          bytes[0] === LIGHT_TAG ? buffer.toString('latin1') : encodeLight(decodeLightBytes(buffer)),
        );
        buffer[1] = flags;
        if (light.dirty) dirtySenders.add(sender);
        else dirtySenders.delete(sender);
        latest = light.latestMs;
      } else {
        const entry = decodeSenderEntry(sender, bytes, options.windows);
        entry.approxBytes = fullEntryBytes(bytes.length);
        set(sender, entry);
        if (entry.dirty) dirtySenders.add(sender);
        else dirtySenders.delete(sender);
        latest = entry.state.latestMs;
      }
      // A sender's newest event time only grows from one record of it to the next, and an
      // evicted sender's was behind the watermark: the maximum over all records read is the
      // maximum over the latest ones.
      if (latest > maxEventTime) maxEventTime = latest;
    },
    forget(key) {
      if (key.startsWith(RELATION_KEY_PREFIX)) {
        books.forget(key.slice(RELATION_KEY_PREFIX.length));
        return;
      }
      remove(key);
      dirtySenders.delete(key);
    },
    setRotation(sinceMs) {
      books.setRotation(sinceMs);
    },
    get rotation() {
      return books.rotation;
    },
    endRotationIfDone() {
      return books.endRotationIfDone(watermark);
    },
    restoreWatermark(w, closedBy = Number.NEGATIVE_INFINITY) {
      if (w > watermark) watermark = w;
      if (closedBy > catchUp.closedBy) catchUp = { ...catchUp, closedBy };
      if (w + options.allowedLatenessMs > maxEventTime) maxEventTime = w + options.allowedLatenessMs;
    },
  };
}
