/**
 * Everything the cluster stage does for one partition of the cluster topic, without I/O: per
 * content cluster sliding windows (cluster-state.ts), the partition's watermark, and when to
 * publish a cluster's features. The cluster counterpart of engine/partition-processor.ts, with
 * the same shape: events in, records out of drain(), changelog values out of takeChanged().
 *
 * Time: stream time is the largest event time seen (or what advanceWatermark implies); the
 * watermark is stream time minus the allowed lateness. An event older than the watermark is
 * late: it still updates every window whose slices hold it. An event more than maxFutureSkewMs
 * ahead of the wall clock is refused with EventTimeSkewError and changes nothing. Outcomes
 * (opt-outs, spam reports, replies, delivery failures) count at their own event time, like
 * feedback in the sender features.
 *
 * Emission. A cluster is "changed" by any event and stays so until a publication decision. A
 * decision is due when the cluster changed and either emitIntervalMs of event time passed between
 * its last published record and its newest event, or stream time is emitIntervalMs past its
 * newest event (so a burst's last messages are decided within emitIntervalMs of stream time, not
 * held back by the allowed lateness: content decisions wait on this). At a decision the record,
 * as of the newest event, is published only if the longest window then holds at least
 * minSendersToPublish distinct senders; otherwise nothing is published and the cluster waits for
 * its next change. Since suppressed decisions do not count as publications, the first change
 * that takes a cluster over the line publishes at once. After a publication, once the watermark
 * passes the moment the shortest window no longer holds the cluster's newest event, one more
 * record (as of that moment) is published, whatever the sender count then, so consumers see the
 * burst end; a change before then moves that moment to the shortest window after the new newest
 * event.
 *
 * Determinism. Decisions are taken as events arrive, not when drain runs: after each event for
 * its own cluster, and, as stream time moves, for every cluster whose deadline it passed, in
 * (deadline, cluster id) order. drain() only hands over what was decided, stamped with
 * emittedAt. So the same calls (message, outcome, advanceWatermark) in the same order give the
 * same records in the same order, however they are grouped between drains, and a processor
 * restored from takeChanged() values and the watermark continues exactly like the original.
 * A cluster idle past the longest window (nothing changed or pending, watermark a longest window
 * past its newest event) is forgotten: its next event starts it afresh whether or not drain has
 * evicted it yet, which is what keeps eviction timing out of the results.
 *
 * Memory. A cluster with at most light.maxEvents events in its windows is held in the cheap
 * form, a packed string of those events (cluster-codec.ts), and replayed into rings only when its
 * features are published; one more event promotes it to rings for good (until it is evicted).
 * Replaying gives exactly the rings that applying the events one by one gives, so the cheap form
 * changes memory, never results. shed() forgets whole clusters, least active first.
 */
import { StateCodecError } from '@spamgate/core';
import { EventTimeSkewError } from '../engine/processor-api.ts';
import { sliceStart } from '../windows/window-spec.ts';
import {
  type ClusterMeta,
  decodeFullCluster,
  decodeLight,
  decodeLightBytes,
  encodeFullCluster,
  encodeLight,
  type FullCluster,
  isFullTag,
  isLightTag,
  LIGHT_TAG,
  type LightCluster,
  type LightEvent,
  MAX_TEXT_LENGTH,
  peekLight,
} from './cluster-codec.ts';
import {
  type ClusterFeaturesRecord,
  ClusterOptionsError,
  type ClusterProcessor,
  type ClusterProcessorOptions,
  DEFAULT_CLUSTER_PROCESSOR_OPTIONS,
  EventTimeInvalidError,
  FULL_CLUSTER_BASE_BYTES,
  fullClusterBytes,
  lightClusterBytes,
  MAX_DOMAINS_PER_MESSAGE,
  optionProblems,
} from './cluster-processor-api.ts';
import {
  applyClusterMessage,
  applyClusterOutcome,
  type ClusterMessage,
  clusterFeaturesAt,
  createRings,
  distinctSendersAt,
  eventsAt,
  fingerprintOf,
  inWindow,
  MAX_CALLBACKS_PER_MESSAGE,
} from './cluster-state.ts';
import { DeadlineQueue } from './deadline-queue.ts';

/** A text cut to MAX_TEXT_LENGTH units, never in the middle of a surrogate pair. */
function cut(s: string): string {
  if (s.length <= MAX_TEXT_LENGTH) return s;
  const code = s.charCodeAt(MAX_TEXT_LENGTH - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? MAX_TEXT_LENGTH - 1 : MAX_TEXT_LENGTH);
}

/** Shared by every message without a call-back number (most of them). */
const NO_HASHES: readonly bigint[] = Object.freeze([]);

/** The hashes as kept: unsigned 64-bit, each once, the first MAX_CALLBACKS_PER_MESSAGE. */
function callbacksOf(hashes: readonly bigint[]): readonly bigint[] {
  if (hashes.length === 0) return NO_HASHES;
  const kept: bigint[] = [];
  for (const h of hashes) {
    const u = BigInt.asUintN(64, h);
    if (!kept.includes(u)) kept.push(u);
    if (kept.length === MAX_CALLBACKS_PER_MESSAGE) break;
  }
  return kept;
}

/** The message as kept: unsigned halves, bounded texts, each domain and call-back number once. */
function normalise(m: ClusterMessage): ClusterMessage {
  const domains: string[] = [];
  for (const d of m.urlDomains) {
    const c = cut(d);
    if (!domains.includes(c)) domains.push(c);
    if (domains.length === MAX_DOMAINS_PER_MESSAGE) break;
  }
  return {
    timeMs: m.timeMs,
    senderHi: m.senderHi >>> 0,
    senderLo: m.senderLo >>> 0,
    recipientHi: m.recipientHi >>> 0,
    recipientLo: m.recipientLo >>> 0,
    campaignId: m.campaignId === null ? null : cut(m.campaignId),
    urlDomains: domains,
    sequential: m.sequential === true,
    callbackHashes: callbacksOf(m.callbackHashes),
    afterOptOut: m.afterOptOut === true,
    senderIgnoresOptOuts: m.senderIgnoresOptOuts === true,
    senderBlock: m.senderBlock ? { hi: m.senderBlock.hi >>> 0, lo: m.senderBlock.lo >>> 0 } : null,
  };
}

type Cluster = FullCluster | LightCluster;
const isLight = (c: Cluster): c is LightCluster => 'events' in c;

export function createClusterProcessor(options: Partial<ClusterProcessorOptions> = {}): ClusterProcessor {
  const o: ClusterProcessorOptions = Object.freeze({ ...DEFAULT_CLUSTER_PROCESSOR_OPTIONS, ...options });
  const problems = optionProblems(o);
  if (problems.length > 0) throw new ClusterOptionsError(problems);
  const windows = o.windows;
  const shortest = windows[0]!;
  const longest = windows[windows.length - 1]!;

  /** Full clusters, or a cheap cluster's packed bytes. */
  const clusters = new Map<string, FullCluster | string>();
  let lightCount = 0;
  let stateBytes = 0;
  const sizeOf = (v: FullCluster | string | undefined): number =>
    v === undefined ? 0 : typeof v === 'string' ? lightClusterBytes(v.length) : v.approxBytes;
  const changed = new Set<string>();
  const evicted = new Set<string>();
  let maxEventTime = Number.NEGATIVE_INFINITY;
  let watermark = Number.NEGATIVE_INFINITY;
  /** Records decided and not yet drained (emittedAt is set by drain). */
  let pending: ClusterFeaturesRecord[] = [];
  /** Stream-time deadlines; `scheduled` holds each cluster's earliest queued one. */
  const queue = new DeadlineQueue();
  const scheduled = new Map<string, number>();
  /** The watermark's slice of the longest window at the last eviction scan. */
  let scannedSlice = Number.NaN;
  const stats = {
    lateEvents: 0,
    evictedClusters: 0,
    promotedClusters: 0,
    shedClusters: 0,
    publishedRecords: 0,
    belowMinSenders: 0,
  };

  function set(id: string, value: FullCluster | string): void {
    const before = clusters.get(id);
    if (typeof before === 'string') lightCount--;
    if (typeof value === 'string') lightCount++;
    stateBytes += sizeOf(value) - sizeOf(before);
    clusters.set(id, value);
  }

  function remove(id: string): void {
    const before = clusters.get(id);
    if (typeof before === 'string') lightCount--;
    stateBytes -= sizeOf(before);
    clusters.delete(id);
    scheduled.delete(id); // queued entries of a missing cluster are skipped
  }

  /** Forgets a cluster and writes its tombstone. */
  function forget(id: string): void {
    remove(id);
    changed.delete(id);
    evicted.add(id);
  }

  const metaOf = (held: FullCluster | string): ClusterMeta =>
    typeof held === 'string' ? peekLight(held) : held;

  function load(id: string): Cluster | undefined {
    const held = clusters.get(id);
    return typeof held === 'string' ? decodeLight(held) : held;
  }

  function store(id: string, c: Cluster): void {
    set(id, isLight(c) ? encodeLight(c) : c);
    changed.add(id);
    evicted.delete(id);
  }

  const fresh = (): Cluster => {
    const meta = {
      latestMs: Number.NEGATIVE_INFINITY,
      dirty: false,
      lastEmittedAsOf: Number.NEGATIVE_INFINITY,
      closePending: false,
    };
    return o.lightMaxEvents > 0
      ? { ...meta, events: [] }
      : { ...meta, rings: createRings(windows), approxBytes: FULL_CLUSTER_BASE_BYTES };
  };

  const timeOf = (e: LightEvent): number => (e.type === 'message' ? e.m.timeMs : e.timeMs);

  /** Rings holding a cheap cluster's events, applied in arrival order as of its newest event. */
  function expand(c: LightCluster): FullCluster {
    const rings = createRings(windows);
    for (const e of c.events) {
      if (e.type === 'message') applyClusterMessage(rings, c.latestMs, e.m, o.maxTopEntries);
      else applyClusterOutcome(rings, c.latestMs, e.timeMs, e.kind, e.sender);
    }
    return {
      latestMs: c.latestMs,
      dirty: c.dirty,
      lastEmittedAsOf: c.lastEmittedAsOf,
      closePending: c.closePending,
      rings,
      approxBytes: FULL_CLUSTER_BASE_BYTES,
    };
  }

  /** Drops a cheap cluster's events that no window can show any more (rings would drop them too). */
  function forgetExpired(c: LightCluster): void {
    c.events = c.events.filter((e) => {
      const t = timeOf(e);
      return windows.some((w) => sliceStart(t, w.sliceMs) > sliceStart(c.latestMs, w.sliceMs) - w.lengthMs);
    });
  }

  const idle = (c: ClusterMeta): boolean =>
    !c.dirty && !c.closePending && watermark - c.latestMs >= longest.lengthMs;

  /** When the shortest window no longer holds the cluster's newest event. */
  const windowCloseAt = (latestMs: number): number =>
    sliceStart(latestMs, shortest.sliceMs) + shortest.lengthMs;

  /**
   * Stream time: the largest event time seen, or what advanceWatermark implies. Decisions run on
   * it, not on the watermark, so a burst's last messages are decided emitIntervalMs after them
   * rather than emitIntervalMs plus the allowed lateness.
   */
  const streamTime = (): number => watermark + o.allowedLatenessMs;

  /** The stream time at which a decision or the closing record falls due; Infinity for none. */
  function deadlineOf(c: ClusterMeta): number {
    if (c.dirty) return c.latestMs + o.emitIntervalMs;
    if (c.closePending) return windowCloseAt(c.latestMs) + o.allowedLatenessMs;
    return Number.POSITIVE_INFINITY;
  }

  function schedule(id: string, c: ClusterMeta): void {
    const d = deadlineOf(c);
    if (d === Number.POSITIVE_INFINITY || (scheduled.get(id) ?? Number.POSITIVE_INFINITY) <= d) return;
    queue.push(d, id);
    scheduled.set(id, d);
  }

  /** Distinct senders of the longest window at asOf: the publication threshold. */
  function sendersAt(c: Cluster, asOf: number): number {
    if (!isLight(c)) return distinctSendersAt(c.rings, asOf);
    const seen = new Set<number>();
    for (const e of c.events)
      if (e.type === 'message' && inWindow(longest, e.m.timeMs, asOf))
        seen.add(fingerprintOf(e.m.senderHi, e.m.senderLo));
    return seen.size;
  }

  function publish(id: string, c: Cluster, asOf: number): void {
    const rings = isLight(c) ? expand(c).rings : c.rings;
    pending.push({ clusterId: id, asOf, emittedAt: 0, windows: clusterFeaturesAt(rings, asOf) });
    c.lastEmittedAsOf = asOf;
    stats.publishedRecords++;
  }

  /** Takes every decision due for the cluster at the current stream time (see the module header). */
  function settle(id: string, c: Cluster): void {
    if (
      c.dirty &&
      (c.latestMs - c.lastEmittedAsOf >= o.emitIntervalMs || streamTime() - c.latestMs >= o.emitIntervalMs)
    ) {
      const asOf = Math.max(c.latestMs, c.lastEmittedAsOf);
      if (sendersAt(c, asOf) >= o.minSendersToPublish) {
        publish(id, c, asOf);
        c.closePending = true;
      } else stats.belowMinSenders++;
      c.dirty = false;
    }
    if (!c.dirty && c.closePending) {
      const closeAt = windowCloseAt(c.latestMs);
      if (closeAt <= watermark) {
        if (c.lastEmittedAsOf < closeAt) publish(id, c, closeAt);
        c.closePending = false;
      }
    }
  }

  /** Visits the clusters whose deadline stream time passed, in (deadline, id) order. */
  function runDeadlines(): void {
    while (queue.peek() <= streamTime()) {
      const { deadline, id } = queue.pop()!;
      if (scheduled.get(id) === deadline) scheduled.delete(id);
      const c = load(id);
      if (!c) continue;
      // A stale entry only reschedules, so a cluster is settled at its true deadline's turn.
      if (deadlineOf(c) !== deadline) {
        schedule(id, c);
        continue;
      }
      settle(id, c);
      store(id, c);
      schedule(id, c);
    }
  }

  function check(t: number, wallClockMs: number): void {
    if (!Number.isFinite(t)) throw new EventTimeInvalidError(t);
    if (t > wallClockMs + o.maxFutureSkewMs) throw new EventTimeSkewError(t, wallClockMs, o.maxFutureSkewMs);
  }

  function ingest(id: string, e: LightEvent): void {
    const t = timeOf(e);
    let c = load(id);
    if (c && idle(c)) {
      remove(id);
      stats.evictedClusters++;
      c = undefined;
    }
    c ??= fresh();
    if (t > c.latestMs) c.latestMs = t;
    if (isLight(c)) {
      c.events.push(e);
      forgetExpired(c);
      if (c.events.length > o.lightMaxEvents) {
        c = expand(c);
        stats.promotedClusters++;
      }
    } else if (e.type === 'message') applyClusterMessage(c.rings, c.latestMs, e.m, o.maxTopEntries);
    else applyClusterOutcome(c.rings, c.latestMs, e.timeMs, e.kind, e.sender);
    c.dirty = true;
    if (t < watermark) stats.lateEvents++;
    if (t > maxEventTime) maxEventTime = t;
    if (maxEventTime - o.allowedLatenessMs > watermark) watermark = maxEventTime - o.allowedLatenessMs;
    settle(id, c);
    store(id, c);
    schedule(id, c);
    runDeadlines();
  }

  return {
    options: o,
    get watermark() {
      return watermark;
    },
    get clusterCount() {
      return clusters.size;
    },
    get lightClusterCount() {
      return lightCount;
    },
    get stateBytes() {
      return stateBytes;
    },
    stats,
    message(clusterId, m, wallClockMs) {
      check(m.timeMs, wallClockMs);
      ingest(clusterId, { type: 'message', m: normalise(m) });
    },
    outcome(clusterId, timeMs, kind, wallClockMs, sender) {
      check(timeMs, wallClockMs);
      if (kind === 'OPT_OUT_IGNORED' && sender === undefined) return; // counts nothing
      ingest(
        clusterId,
        sender === undefined ? { type: 'outcome', timeMs, kind } : { type: 'outcome', timeMs, kind, sender },
      );
    },
    advanceWatermark(t) {
      if (!(t > watermark)) return;
      watermark = t;
      runDeadlines();
    },
    drain(emittedAtMs) {
      const out = pending;
      pending = [];
      for (const r of out) r.emittedAt = emittedAtMs;
      // Physical eviction, once per slice of the longest window the watermark enters; results do
      // not depend on when it happens (an idle cluster's next event starts afresh anyway).
      const slice = Math.floor(watermark / longest.sliceMs);
      if (slice !== scannedSlice) {
        scannedSlice = slice;
        for (const [id, held] of clusters)
          if (idle(metaOf(held))) {
            forget(id);
            stats.evictedClusters++;
          }
      }
      return out;
    },
    takeChanged() {
      const out: { clusterId: string; value: Uint8Array | null }[] = [];
      for (const id of [...changed].sort()) {
        const held = clusters.get(id);
        let value: Uint8Array | null = null;
        if (typeof held === 'string') value = Buffer.from(held, 'latin1');
        else if (held) {
          value = encodeFullCluster(held);
          const bytes = fullClusterBytes(value.length);
          stateBytes += bytes - held.approxBytes;
          held.approxBytes = bytes;
        }
        out.push({ clusterId: id, value });
      }
      for (const id of [...evicted].sort()) out.push({ clusterId: id, value: null });
      changed.clear();
      evicted.clear();
      return out;
    },
    restore(clusterId, bytes) {
      let meta: ClusterMeta;
      if (isLightTag(bytes[0])) {
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const light = decodeLightBytes(buffer); // validates
        meta = light;
        // Current bytes are kept as they are; an older release's are held in the current form.
        set(clusterId, bytes[0] === LIGHT_TAG ? buffer.toString('latin1') : encodeLight(light));
      } else if (isFullTag(bytes[0])) {
        const c = decodeFullCluster(bytes, windows);
        c.approxBytes = fullClusterBytes(bytes.length);
        set(clusterId, c);
        meta = c;
      } else
        throw new StateCodecError(
          bytes.length === 0 ? 'empty cluster record' : `unknown cluster record tag ${bytes[0]}`,
        );
      if (meta.latestMs > maxEventTime) maxEventTime = meta.latestMs;
      schedule(clusterId, meta);
    },
    restoreWatermark(w) {
      if (w > watermark) watermark = w;
      if (w + o.allowedLatenessMs > maxEventTime) maxEventTime = w + o.allowedLatenessMs;
    },
    features(clusterId, asOf) {
      const c = load(clusterId);
      if (!c) return undefined;
      const rings = isLight(c) ? expand(c).rings : c.rings;
      return clusterFeaturesAt(rings, Math.max(asOf ?? c.latestMs, c.latestMs));
    },
    shed(target) {
      const candidates: { id: string; activity: number; latest: number }[] = [];
      for (const [id, held] of clusters) {
        if (typeof held === 'string') {
          const peek = peekLight(held);
          candidates.push({ id, activity: peek.events, latest: peek.latestMs });
        } else candidates.push({ id, activity: eventsAt(held.rings, held.latestMs), latest: held.latestMs });
      }
      candidates.sort((a, b) => a.activity - b.activity || a.latest - b.latest || (a.id < b.id ? -1 : 1));
      let freed = 0;
      let count = 0;
      for (const { id } of candidates) {
        if (freed >= target) break;
        freed += sizeOf(clusters.get(id));
        forget(id);
        count++;
      }
      stats.shedClusters += count;
      return { clusters: count, bytes: freed };
    },
  };
}
