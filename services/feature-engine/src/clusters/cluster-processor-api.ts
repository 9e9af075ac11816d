/**
 * What the cluster processor (cluster-processor.ts) is to its callers: its options, defaults and
 * their checks, the interface the shell and the input handlers drive, what it publishes, the
 * errors it refuses input with, and its heap estimates. ARCHITECTURE.md, "Feature engine".
 */
import { SpamgateError } from '@spamgate/core';
import { validateWindows, type WindowSpec } from '../windows/window-spec.ts';
import {
  type ClusterMessage,
  type ClusterOutcomeKind,
  type ClusterWindowFeatures,
  DEFAULT_CLUSTER_WINDOWS,
  DEFAULT_MAX_TOP_ENTRIES,
  type HashHalves,
} from './cluster-state.ts';

export interface ClusterProcessorOptions {
  /** Windows, shortest first (window-spec.ts rules). Default 15 min / 1 h / 24 h. */
  readonly windows: readonly WindowSpec[];
  /** Events up to this much older than the newest one are on time. Default 30 s. */
  readonly allowedLatenessMs: number;
  /** Least event time between two published records of one cluster. Default 5 s. */
  readonly emitIntervalMs: number;
  /** Events further than this ahead of the wall clock are refused. Default 5 min. */
  readonly maxFutureSkewMs: number;
  /** Distinct senders the longest window must hold for a cluster to be published. Default 2. */
  readonly minSendersToPublish: number;
  /** Most keys counted per slice for campaign ids, URL domains and senders (1 to 255). Default 16. */
  readonly maxTopEntries: number;
  /** Most events a cluster holds in the cheap form (0 to 64); 0 turns the form off. Default 8. */
  readonly lightMaxEvents: number;
}

export const DEFAULT_CLUSTER_PROCESSOR_OPTIONS: ClusterProcessorOptions = Object.freeze({
  windows: DEFAULT_CLUSTER_WINDOWS,
  allowedLatenessMs: 30_000,
  emitIntervalMs: 5_000,
  maxFutureSkewMs: 300_000,
  minSendersToPublish: 2,
  maxTopEntries: DEFAULT_MAX_TOP_ENTRIES,
  lightMaxEvents: 8,
});

/** Most URL domains kept per message; a message listing more is counted with its first ones. */
export const MAX_DOMAINS_PER_MESSAGE = 32;

/** Cluster processor options that cannot work; `problems` lists each. */
export class ClusterOptionsError extends SpamgateError {
  override name = 'ClusterOptionsError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid cluster processor options: ${problems.join('; ')}`, { code: 'CLUSTER_OPTIONS_INVALID' });
    this.problems = Object.freeze([...problems]);
  }
}

/** An event time that is not a finite number. */
export class EventTimeInvalidError extends SpamgateError {
  override name = 'EventTimeInvalidError';
  constructor(timeMs: number) {
    super(`event time ${timeMs} is not a finite number of milliseconds`, {
      code: 'EVENT_TIME_INVALID',
      badInput: true,
    });
  }
}

/** One published record of a cluster's features. */
export interface ClusterFeaturesRecord {
  clusterId: string;
  /** Event time the windows are evaluated at. */
  asOf: number;
  /** Wall-clock time of the drain that handed the record over. */
  emittedAt: number;
  windows: ClusterWindowFeatures[];
}

export interface ClusterProcessor {
  readonly options: ClusterProcessorOptions;
  /** Largest event time seen minus the allowed lateness; -Infinity before any event. */
  readonly watermark: number;
  /** Clusters held, and how many of them in the cheap form. */
  readonly clusterCount: number;
  readonly lightClusterCount: number;
  /** Estimated heap bytes of all cluster state (fullClusterBytes, lightClusterBytes). */
  readonly stateBytes: number;
  /** Counters since creation. */
  readonly stats: {
    /** Events older than the watermark when they arrived (still counted). */
    lateEvents: number;
    /** Clusters forgotten after a longest window of idleness. */
    evictedClusters: number;
    /** Clusters moved from the cheap form to rings. */
    promotedClusters: number;
    /** Clusters forgotten by shed(). */
    shedClusters: number;
    /** Records published, and decisions that published nothing (below minSendersToPublish). */
    publishedRecords: number;
    belowMinSenders: number;
  };
  /** Applies a message. Throws EventTimeSkewError or EventTimeInvalidError (nothing changed) for a bad time. */
  message(clusterId: string, m: ClusterMessage, wallClockMs: number): void;
  /**
   * Applies an outcome at its own event time; `sender` is the sender told STOP (OPT_OUT) or
   * ignoring it (OPT_OUT_IGNORED, which counts nothing without it). Same errors as message.
   */
  outcome(
    clusterId: string,
    timeMs: number,
    kind: ClusterOutcomeKind,
    wallClockMs: number,
    sender?: HashHalves,
  ): void;
  /** Moves the watermark forward to t if it is behind (the shell's idle-partition fallback). */
  advanceWatermark(t: number): void;
  /** The records decided since the last drain, in decision order, stamped with emittedAtMs. */
  drain(emittedAtMs: number): ClusterFeaturesRecord[];
  /** Changelog records of the clusters changed since the last call: their bytes, or null when forgotten. */
  takeChanged(): { clusterId: string; value: Uint8Array | null }[];
  /** Restores a cluster from its changelog bytes; throws StateCodecError on bytes it cannot trust. */
  restore(clusterId: string, bytes: Uint8Array): void;
  /** Restores the watermark (after the clusters, before any event). */
  restoreWatermark(watermark: number): void;
  /** A cluster's window features at asOf (default its newest event; not earlier), undefined if not held. */
  features(clusterId: string, asOf?: number): ClusterWindowFeatures[] | undefined;
  /**
   * Forgets whole clusters under memory pressure until about `bytes` (estimated) are freed, least
   * active first: fewest events in the longest window as of their own newest event, then least
   * recently active, then by id. A forgotten cluster loses its windows and any record still due;
   * its next event starts it afresh. Every other cluster is untouched. Call it before drain and
   * takeChanged, so the changelog of the same commit carries the tombstones.
   */
  shed(bytes: number): { clusters: number; bytes: number };
}

/**
 * Heap bytes a cluster costs, for stateBytes and shed(), estimated from its changelog bytes.
 * Measured on Node 24.21 x64 with `node --expose-gc bench/cluster-memory.ts` (heapUsed plus
 * arrayBuffers before and after building 5k to 100k clusters of one shape, forced GC on both
 * sides, divided by the count):
 *   cheap, 1 message: 136 B (52 B packed); cheap, 4 messages: 299 B (151 B packed, ~60 B of it
 *   the deadline queue entry of a cluster with a record pending);
 *   full, 1 message: 2.8 KB (315 B encoded); 20 messages from 10 senders: 12.3 KB (1,924 B);
 *   200 messages from 100 senders: 43.6 KB (8,734 B).
 * Fitted: cheap = 90 + packed length (within 5% at one message, 20% low at four); full =
 * 1,200 + 5.2 x encoded length (within 10%). Most of a small full cluster is its three rings and,
 * per slice, the count Maps (a Map costs about 200 B however few keys it holds).
 */
export const LIGHT_CLUSTER_BASE_BYTES = 90;
export const FULL_CLUSTER_BASE_BYTES = 1_200;
export function lightClusterBytes(packedLength: number): number {
  return LIGHT_CLUSTER_BASE_BYTES + packedLength;
}
export function fullClusterBytes(encodedLength: number): number {
  return FULL_CLUSTER_BASE_BYTES + Math.round(5.2 * encodedLength);
}

export function optionProblems(o: ClusterProcessorOptions): string[] {
  const problems = validateWindows(o.windows);
  if (o.windows.length === 0) problems.push('at least one window is needed');
  if (o.windows.length > 255) problems.push('at most 255 windows');
  const nonNegative = (name: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) problems.push(`${name} must be a finite number >= 0, got ${v}`);
  };
  nonNegative('allowedLatenessMs', o.allowedLatenessMs);
  nonNegative('maxFutureSkewMs', o.maxFutureSkewMs);
  if (!Number.isFinite(o.emitIntervalMs) || o.emitIntervalMs <= 0)
    problems.push(`emitIntervalMs must be a finite number > 0, got ${o.emitIntervalMs}`);
  if (!Number.isInteger(o.minSendersToPublish) || o.minSendersToPublish < 0)
    problems.push(`minSendersToPublish must be an integer >= 0, got ${o.minSendersToPublish}`);
  if (!Number.isInteger(o.maxTopEntries) || o.maxTopEntries < 1 || o.maxTopEntries > 255)
    problems.push(`maxTopEntries must be an integer from 1 to 255, got ${o.maxTopEntries}`);
  if (!Number.isInteger(o.lightMaxEvents) || o.lightMaxEvents < 0 || o.lightMaxEvents > 64)
    problems.push(`lightMaxEvents must be an integer from 0 to 64, got ${o.lightMaxEvents}`);
  return problems;
}
