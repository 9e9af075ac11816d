// The cluster processor against a brute-force recomputation from the raw events, and its
// guarantees: results independent of batching, of restarts from the changelog and of the cheap
// form; publication rules; eviction, shedding, changelog validation and restoring the first
// release's changelog values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateCodecError } from '@spamgate/core';
import { seededRandom } from '@spamgate/test';
import {
  decodeFullCluster,
  decodeLightBytes,
  encodeFullCluster,
  encodeLight,
  FULL_TAG,
  FULL_TAG_V1,
  FULL_TAG_V2,
  FULL_TAG_V3,
  FULL_TAG_V4,
  LIGHT_TAG,
  LIGHT_TAG_V1,
} from '../src/clusters/cluster-codec.ts';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';
import {
  type ClusterFeaturesRecord,
  type ClusterProcessor,
  type ClusterProcessorOptions,
  DEFAULT_CLUSTER_PROCESSOR_OPTIONS,
  EventTimeInvalidError,
} from '../src/clusters/cluster-processor-api.ts';
import {
  type ClusterMessage,
  type ClusterOutcomeKind,
  type ClusterWindowFeatures,
  DEFAULT_CLUSTER_WINDOWS,
  fingerprintOf,
  inWindow,
} from '../src/clusters/cluster-state.ts';
import { EventTimeSkewError } from '../src/engine/processor-api.ts';
import type { WindowSpec } from '../src/windows/window-spec.ts';

const T0 = 1_794_996_000_000; // on the hour
const CLOCK = T0 + 30 * 86_400_000; // a wall clock no test event is ahead of
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A 64-bit keyed hash stand-in: distinct, well-spread halves for each small number. */
function hashOf(n: number, salt: number): [number, number] {
  const mix = (x: number) => {
    let h = Math.imul(x ^ 0x5bd1e995, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  };
  return [mix(n * 2 + salt * 7919), mix(n * 2 + 1 + salt * 7919)];
}

function message(
  t: number,
  sender: number,
  recipient: number,
  campaignId: string | null = null,
  urlDomains: string[] = [],
  sequential = false,
  callbackHashes: bigint[] = [],
  afterOptOut = false,
  ignoresOptOuts?: boolean,
): ClusterMessage {
  const [senderHi, senderLo] = hashOf(sender, 1);
  const [recipientHi, recipientLo] = hashOf(recipient, 2);
  return {
    timeMs: t,
    senderHi,
    senderLo,
    recipientHi,
    recipientLo,
    campaignId,
    urlDomains,
    sequential,
    callbackHashes,
    afterOptOut,
    senderIgnoresOptOuts: ignoresOptOuts ?? afterOptOut,
    // Ten consecutive senders share a number block, as ten consecutive numbers do.
    senderBlock: blockOf(sender),
  };
}

function blockOf(sender: number): { hi: number; lo: number } {
  const [hi, lo] = hashOf(Math.floor(sender / 10), 3);
  return { hi, lo };
}

/** Call-back number hashes across the unsigned 64-bit range (so order and sign are exercised). */
const CALLBACKS = [9n, 10n, 100n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xfedcba9876543210n, 1n << 53n];
const OUTCOMES: readonly ClusterOutcomeKind[] = ['OPT_OUT', 'SPAM_REPORT', 'REPLY', 'DELIVERY_FAILURE'];

type Input =
  | { kind: 'message'; cluster: string; m: ClusterMessage }
  | { kind: 'outcome'; cluster: string; t: number; outcome: ClusterOutcomeKind; sender?: number }
  | { kind: 'advance'; t: number };

/** The sender hash halves an outcome names, as message() hashes senders. */
const outcomeSender = (sender: number | undefined) => {
  if (sender === undefined) return undefined;
  const [hi, lo] = hashOf(sender, 1);
  return { hi, lo };
};

const CAMPAIGNS = ['C1', 'C2', 'CVX-42', 'TF9'];
const DOMAINS = ['bit.ly', 'example.com', 'a.co', 'b.org', 'c.net', 'ünï.example'];

/** A partition's input: a few clusters, bursts and lulls (some past a day), late events, ticks. */
function inputs(seed: number, n = 1_500): Input[] {
  const r = seededRandom(seed);
  const clusters = Array.from({ length: 2 + Math.floor(r() * 5) }, (_, i) => `c${(0x1f00 + i).toString(16)}`);
  // Some clusters have one sender only (a personal template), the rest draw from up to 12.
  const senderPool = clusters.map(() => (r() < 0.3 ? 1 : 1 + Math.floor(r() * 12)));
  let t = T0 + Math.floor(r() * HOUR);
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    const mode = r();
    t +=
      mode < 0.6
        ? Math.floor(r() * 2_000)
        : mode < 0.9
          ? Math.floor(r() * 120_000)
          : mode < 0.985
            ? Math.floor(r() * 2 * HOUR)
            : Math.floor(r() * 30 * HOUR);
    const ci = Math.floor(r() ** 2 * clusters.length);
    const cluster = clusters[ci]!;
    // About 5% arrive up to 90 s late (some past the lateness), a few hours late now and then.
    const late = r();
    const eventTime =
      late < 0.05 ? t - Math.floor(r() * 90_000) : late < 0.06 ? t - Math.floor(r() * 3 * HOUR) : t;
    const kind = r();
    if (kind < 0.02) {
      out.push({ kind: 'advance', t: t - 30_000 + Math.floor(r() * 600_000) });
      continue;
    }
    if (kind < 0.16) {
      // Opt-outs name the sender told (most of them), and now and then one of the cluster's
      // senders goes past an opt-out it drew.
      const outcome = i % 11 === 0 ? 'OPT_OUT_IGNORED' : OUTCOMES[Math.floor(r() * OUTCOMES.length)]!;
      const named = outcome === 'OPT_OUT_IGNORED' || (outcome === 'OPT_OUT' && i % 4 !== 0);
      out.push({
        kind: 'outcome',
        cluster,
        t: eventTime,
        outcome,
        ...(named ? { sender: ci * 100 + (i % senderPool[ci]!) } : {}),
      });
      continue;
    }
    const sender = ci * 100 + Math.floor(r() * senderPool[ci]!);
    const campaign = r() < 0.5 ? null : CAMPAIGNS[Math.floor(r() ** 2 * CAMPAIGNS.length)]!;
    const domains = Array.from(
      { length: Math.floor(r() * 3) },
      () => DOMAINS[Math.floor(r() * DOMAINS.length)]!,
    );
    // Up to 5 call-back numbers, repeats included: the processor keeps each once, the first 4.
    const callbacks = Array.from(
      { length: r() < 0.6 ? 0 : Math.floor(r() * 6) },
      () => CALLBACKS[Math.floor(r() ** 2 * CALLBACKS.length)]!,
    );
    out.push({
      kind: 'message',
      cluster,
      m: message(
        eventTime,
        sender,
        Math.floor(r() * 60),
        campaign,
        domains,
        r() < 0.3,
        callbacks,
        r() < 0.1,
        // Some senders ignore opt-outs all along (without drawing on the stream's randomness).
        sender % 5 === 0 ? true : undefined,
      ),
    });
  }
  return out;
}

function feed(p: ClusterProcessor, input: Input): void {
  if (input.kind === 'message') p.message(input.cluster, input.m, CLOCK);
  else if (input.kind === 'outcome')
    p.outcome(input.cluster, input.t, input.outcome, CLOCK, outcomeSender(input.sender));
  else p.advanceWatermark(input.t);
}

interface RunOptions {
  /** Drain (and persist the changelog) after every `every` inputs. */
  every: number;
  options?: Partial<ClusterProcessorOptions>;
  /** Restart from the changelog before these input indexes, with these options. */
  restarts?: readonly number[];
  restartOptions?: Partial<ClusterProcessorOptions>;
}

/** Runs the inputs, then lets the watermark pass everything; every record, emittedAt 0. */
function run(all: readonly Input[], ro: RunOptions): ClusterFeaturesRecord[] {
  let p = createClusterProcessor(ro.options);
  const out: ClusterFeaturesRecord[] = [];
  const changelog = new Map<string, Uint8Array>();
  const persist = () => {
    out.push(...p.drain(0));
    for (const { clusterId, value } of p.takeChanged()) {
      if (value) changelog.set(clusterId, value);
      else changelog.delete(clusterId);
    }
  };
  all.forEach((input, i) => {
    if (ro.restarts?.includes(i)) {
      // What a new owner does: rebuild from the changelog and the watermark only.
      persist();
      const w = p.watermark;
      p = createClusterProcessor(ro.restartOptions ?? ro.options);
      for (const [id, bytes] of changelog) p.restore(id, bytes);
      p.restoreWatermark(w);
    }
    feed(p, input);
    if ((i + 1) % ro.every === 0) persist();
  });
  persist();
  p.advanceWatermark(p.watermark + 3 * DAY);
  persist();
  assert.equal(p.clusterCount, 0, 'every cluster idle for days is evicted');
  assert.equal(p.stateBytes, 0, 'and its bytes are accounted for');
  return out;
}

/** The window features recomputed from the raw events of a cluster. */
function reference(events: readonly Input[], spec: WindowSpec, asOf: number): ClusterWindowFeatures {
  let messages = 0;
  let registered = 0;
  let sequential = 0;
  let postOptOutSends = 0;
  let firstMessageMs = Number.POSITIVE_INFINITY;
  const outcomes = new Map<ClusterOutcomeKind, number>(OUTCOMES.map((k) => [k, 0]));
  const told = new Set<number>();
  const ignored = new Set<number>();
  const senders = new Map<number, number>();
  const sendersBySlice = new Map<number, Set<number>>();
  const blocksBySlice = new Map<number, Set<number>>();
  const recipients = new Set<number>();
  const ignoringSenders = new Set<number>();
  const campaigns = new Map<string, number>();
  const domains = new Map<string, number>();
  const callbacks = new Map<bigint, number>();
  for (const e of events) {
    if (e.kind === 'outcome' && inWindow(spec, e.t, asOf)) {
      if (e.outcome !== 'OPT_OUT_IGNORED') outcomes.set(e.outcome, outcomes.get(e.outcome)! + 1);
      const named = outcomeSender(e.sender);
      if (named) {
        const f = fingerprintOf(named.hi, named.lo);
        told.add(f);
        if (e.outcome === 'OPT_OUT_IGNORED') ignored.add(f);
      }
    }
    if (e.kind !== 'message' || !inWindow(spec, e.m.timeMs, asOf)) continue;
    messages++;
    firstMessageMs = Math.min(firstMessageMs, e.m.timeMs);
    if (e.m.sequential) sequential++;
    if (e.m.afterOptOut) postOptOutSends++;
    if (e.m.senderIgnoresOptOuts) ignoringSenders.add(fingerprintOf(e.m.senderHi, e.m.senderLo));
    for (const h of [...new Set(e.m.callbackHashes)].slice(0, 4))
      callbacks.set(h, (callbacks.get(h) ?? 0) + 1);
    const s = fingerprintOf(e.m.senderHi, e.m.senderLo);
    senders.set(s, (senders.get(s) ?? 0) + 1);
    const slice = Math.floor(e.m.timeMs / spec.sliceMs);
    if (!sendersBySlice.has(slice)) sendersBySlice.set(slice, new Set());
    sendersBySlice.get(slice)!.add(s);
    if (e.m.senderBlock) {
      if (!blocksBySlice.has(slice)) blocksBySlice.set(slice, new Set());
      blocksBySlice.get(slice)!.add(fingerprintOf(e.m.senderBlock.hi, e.m.senderBlock.lo));
    }
    recipients.add(fingerprintOf(e.m.recipientHi, e.m.recipientLo));
    if (e.m.campaignId !== null) {
      registered++;
      campaigns.set(e.m.campaignId, (campaigns.get(e.m.campaignId) ?? 0) + 1);
    }
    for (const d of new Set(e.m.urlDomains)) domains.set(d, (domains.get(d) ?? 0) + 1);
  }
  const top = <K extends string | bigint>(m: Map<K, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 8)
      .map(([k]) => k);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const optOuts = outcomes.get('OPT_OUT')!;
  return {
    window: spec.name,
    windowMs: spec.lengthMs,
    messages,
    distinctSenders: senders.size,
    distinctRecipients: recipients.size,
    optOuts,
    spamReports: outcomes.get('SPAM_REPORT')!,
    optOutRate: ratio(optOuts, recipients.size),
    registeredShare: ratio(registered, messages),
    campaignIds: top(campaigns),
    distinctCampaigns: campaigns.size,
    topSenderShare: ratio(Math.max(0, ...senders.values()), messages),
    urlDomains: top(domains),
    distinctUrlDomains: domains.size,
    replies: outcomes.get('REPLY')!,
    deliveryFailures: outcomes.get('DELIVERY_FAILURE')!,
    sequentialShare: ratio(sequential, messages),
    callbackNumbers: top(callbacks).map((h) => h.toString()),
    postOptOutSends,
    // From the window's first message: how long its recipients have had (at most the window).
    sendingForMs: messages > 0 ? Math.min(spec.lengthMs, Math.max(0, asOf - firstMessageMs)) : 0,
    optOutIgnoringSenders: ignoringSenders.size,
    optedOutSenders: told.size,
    optOutIgnoredSenders: ignored.size,
    // A bottom-8 sample of the whole sender set, however large; none once a slice of the window
    // has more senders than a counter holds exactly.
    senderSample: bottom8(sendersBySlice),
    senderBlockSample: bottom8(blocksBySlice),
  };
}

/** The bottom 8 of the union of per-slice sets, halved to 52 bits; none once a slice has more than 128. */
function bottom8(bySlice: Map<number, Set<number>>): number[] {
  const sets = [...bySlice.values()];
  if (sets.some((set) => set.size > 128)) return [];
  return [...new Set(sets.flatMap((set) => [...set]))]
    .sort((a, b) => a - b)
    .slice(0, 8)
    .map((f) => Math.floor(f / 2));
}

test('every published window equals a recomputation from the raw events, over 60 random streams', () => {
  const windows = DEFAULT_CLUSTER_WINDOWS;
  const longest = windows[windows.length - 1]!.lengthMs;
  let records = 0;
  let closing = 0;
  let flagged = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const light = seed % 3 === 0 ? 0 : seed % 3 === 1 ? 2 : 8;
    const p = createClusterProcessor({ lightMaxEvents: light });
    // The reference's own view: each cluster's events since it last went idle.
    const events = new Map<string, Input[]>();
    const latest = new Map<string, number>();
    let maxT = Number.NEGATIVE_INFINITY;
    let watermark = Number.NEGATIVE_INFINITY;
    for (const input of inputs(seed, 800)) {
      if (input.kind === 'advance') watermark = Math.max(watermark, input.t);
      else {
        const t = input.kind === 'message' ? input.m.timeMs : input.t;
        const held = latest.get(input.cluster);
        if (held !== undefined && watermark - held >= longest) {
          events.delete(input.cluster);
          latest.delete(input.cluster);
        }
        const list = events.get(input.cluster) ?? [];
        list.push(input);
        events.set(input.cluster, list);
        latest.set(input.cluster, Math.max(t, latest.get(input.cluster) ?? t));
        maxT = Math.max(maxT, t);
        watermark = Math.max(watermark, maxT - 30_000);
      }
      feed(p, input);
      assert.equal(p.watermark, watermark, `seed ${seed}: watermark`);
      for (const r of p.drain(0)) {
        const own = events.get(r.clusterId)!;
        const expected = windows.map((w) => reference(own, w, r.asOf));
        assert.deepEqual(r.windows, expected, `seed ${seed} cluster ${r.clusterId} asOf ${r.asOf}`);
        const newest = Math.max(
          ...own.map((e) => (e.kind === 'message' ? e.m.timeMs : e.kind === 'outcome' ? e.t : 0)),
        );
        if (expected.some((w) => w.postOptOutSends > 0)) flagged++;
        if (r.asOf > newest) closing++;
        else
          assert.ok(expected[expected.length - 1]!.distinctSenders >= 2, 'published below the sender line');
        records++;
      }
    }
  }
  assert.ok(records > 1_000, `enough records to mean something (${records})`);
  assert.ok(closing > 50, `closing records were checked too (${closing})`);
  assert.ok(flagged > records / 2, `most records count messages after an opt-out (${flagged})`);
});

test('records do not depend on batching, on the cheap form, or on restarts from the changelog', () => {
  for (const seed of [101, 102, 103, 104]) {
    const all = inputs(seed);
    const base = run(all, { every: 1 });
    assert.ok(base.length > 50, `seed ${seed}: ${base.length} records`);
    const variants: [string, RunOptions][] = [
      ['drained every 13', { every: 13 }],
      ['drained every 500', { every: 500 }],
      ['drained only at the end', { every: all.length + 1 }],
      ['cheap form off', { every: 7, options: { lightMaxEvents: 0 } }],
      ['cheap form of one event', { every: 7, options: { lightMaxEvents: 1 } }],
      ['cheap form of 64 events', { every: 7, options: { lightMaxEvents: 64 } }],
    ];
    const r = seededRandom(seed);
    for (let k = 0; k < 4; k++) {
      const cuts = [1 + Math.floor(r() * (all.length - 2)), 1 + Math.floor(r() * (all.length - 2))].sort(
        (a, b) => a - b,
      );
      variants.push([`restarted before ${cuts}`, { every: 11, restarts: cuts }]);
      variants.push([
        `restarted before ${cuts}, cheap form off`,
        { every: 11, restarts: cuts, options: { lightMaxEvents: 0 } },
      ]);
    }
    variants.push([
      'cheap bytes restored by a processor without the cheap form',
      { every: 11, restarts: [all.length >> 1], restartOptions: { lightMaxEvents: 0 } },
    ]);
    variants.push([
      'full bytes restored by a processor with the cheap form',
      { every: 11, options: { lightMaxEvents: 0 }, restarts: [all.length >> 1], restartOptions: {} },
    ]);
    for (const [label, ro] of variants) assertSameRecords(run(all, ro), base, `seed ${seed}: ${label}`);
    // Overflowing count maps (2 keys per slice) are restored exactly too.
    const small = { maxTopEntries: 2 };
    const smallBase = run(all, { every: 1, options: small });
    const cut = [all.length >> 2, all.length >> 1];
    assertSameRecords(
      run(all, { every: 9, options: small, restarts: cut }),
      smallBase,
      `seed ${seed}: 2 keys`,
    );
  }
});

/** Equal record lists, reported by the first difference (a deepEqual diff of thousands is slow). */
function assertSameRecords(
  actual: ClusterFeaturesRecord[],
  expected: ClusterFeaturesRecord[],
  label: string,
): void {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    const [a, e] = [JSON.stringify(actual[i]), JSON.stringify(expected[i])];
    if (a !== e)
      assert.fail(`${label}: record ${i} of ${expected.length} differs:\n  got      ${a}\n  expected ${e}`);
  }
}

test('200 numbers sending one message each are one cluster of 200 senders', () => {
  const p = createClusterProcessor();
  for (let i = 0; i < 200; i++) p.message('a1', message(T0 + i * 1_000, i, i), CLOCK);
  p.advanceWatermark(T0 + 250_000);
  const records = p.drain(0);
  assert.ok(records.length > 0);
  const last = records[records.length - 1]!;
  assert.equal(last.asOf, T0 + 199_000);
  const hour = last.windows.find((w) => w.window === '1h')!;
  assert.equal(hour.messages, 200);
  // 200 is past the counters' exact range (128): an estimate, within its 1.6% standard error.
  assert.ok(Math.abs(hour.distinctSenders - 200) <= 4, `${hour.distinctSenders} senders`);
  assert.ok(Math.abs(hour.distinctRecipients - 200) <= 4, `${hour.distinctRecipients} recipients`);
  assert.ok(Math.abs(hour.topSenderShare - 0.005) <= 0.0001, `top sender share ${hour.topSenderShare}`);
  // 204 = 12 x 17 singletons empty a 16-key Misra-Gries map: the share falls back to 1 / senders.
  const more = createClusterProcessor();
  for (let i = 0; i < 204; i++) more.message('a3', message(T0 + i * 1_000, i, i), CLOCK);
  const [, more1h] = more.features('a3')!;
  assert.ok(
    Math.abs(more1h!.topSenderShare - 1 / 204) <= 0.0001,
    `top sender share ${more1h!.topSenderShare}`,
  );
  // Within the exact range the counts are exact.
  const fifteen = createClusterProcessor();
  for (let i = 0; i < 120; i++) fifteen.message('a2', message(T0 + i * 1_000, i, i), CLOCK);
  const [m15] = fifteen.features('a2')!;
  assert.deepEqual([m15!.distinctSenders, m15!.topSenderShare], [120, 1 / 120]);
});

test("a window's sender sample is the bottom 8 of all its senders while each slice counts them exactly", () => {
  // 400 numbers over 10 minutes, 40 a minute: past a counter's exact range in the window, not in
  // any of its slices (a SIM box working several promotions looks like this).
  const p = createClusterProcessor();
  const all: number[] = [];
  for (let i = 0; i < 400; i++) {
    p.message('b1', message(T0 + i * 1_500, i, 10_000 + i), CLOCK);
    const [hi, lo] = hashOf(i, 1);
    all.push(Math.floor(fingerprintOf(hi, lo) / 2));
  }
  const bottom = all.sort((a, b) => a - b).slice(0, 8);
  const [m15, h1] = p.features('b1')!;
  assert.ok(m15!.distinctSenders > 128, `${m15!.distinctSenders} senders`);
  assert.deepEqual(m15!.senderSample, bottom);
  // The hour's 5-minute slices hold 200 senders each, past the exact range: a window with a slice
  // it cannot sample has no sample at all.
  assert.deepEqual(h1!.senderSample, []);
});

test('one number sending 200 messages of its template is never published', () => {
  const p = createClusterProcessor();
  for (let i = 0; i < 200; i++) p.message('b1', message(T0 + i * 1_000, 7, i), CLOCK);
  p.advanceWatermark(T0 + 2 * HOUR);
  assert.deepEqual(p.drain(0), []);
  const hour = p.features('b1', T0 + 199_000)!.find((w) => w.window === '1h')!;
  assert.equal(hour.distinctSenders, 1);
  assert.equal(hour.topSenderShare, 1);
  assert.equal(p.stats.publishedRecords, 0);
  assert.ok(p.stats.belowMinSenders > 0);
});

test('a cluster is published as soon as a second sender joins it, at most once per interval after', () => {
  const p = createClusterProcessor();
  for (let i = 0; i < 10; i++) p.message('d1', message(T0 + i * 1_000, 7, i), CLOCK);
  assert.deepEqual(p.drain(0), []);
  p.message('d1', message(T0 + 10_500, 8, 99), CLOCK);
  const first = p.drain(0);
  assert.equal(first.length, 1, 'the crossing publishes at once');
  assert.equal(first[0]!.asOf, T0 + 10_500);
  assert.equal(first[0]!.windows[2]!.distinctSenders, 2);
  // Then one message a second: a record only once 5 s of event time passed since the last.
  for (let i = 11; i < 30; i++) p.message('d1', message(T0 + i * 1_000, 7 + (i % 2), i), CLOCK);
  const asOfs = p.drain(0).map((r) => r.asOf - T0);
  assert.deepEqual(asOfs, [16_000, 21_000, 26_000]);
  // The burst's tail is published when the watermark passes it, then the closing record.
  p.advanceWatermark(T0 + 29_000 + 5_000);
  assert.deepEqual(
    p.drain(0).map((r) => r.asOf - T0),
    [29_000],
  );
  p.advanceWatermark(T0 + 16 * 60_000);
  const close = p.drain(0);
  assert.deepEqual(
    close.map((r) => r.asOf - T0),
    [15 * 60_000],
  );
  assert.equal(close[0]!.windows[0]!.messages, 0, 'the shortest window is empty');
  assert.equal(close[0]!.windows[1]!.messages, 30, 'the longer ones are not');
  p.advanceWatermark(T0 + 2 * HOUR);
  assert.deepEqual(p.drain(0), [], 'nothing more');
});

test('registered campaigns, URL domains and outcomes are counted in their windows and expire', () => {
  const p = createClusterProcessor();
  const sends: [number, string | null, string[]][] = [
    [1, 'C1', ['bit.ly']],
    [2, 'C1', ['bit.ly', 'example.com', 'bit.ly']],
    [3, 'C2', []],
    [4, 'C1', ['example.com']],
    [5, null, ['bit.ly']],
    [6, null, []],
  ];
  for (const [i, [sender, campaign, domains]] of sends.entries())
    p.message('e1', message(T0 + i * 1_000, sender, i, campaign, domains), CLOCK);
  p.outcome('e1', T0 + 10_000, 'OPT_OUT', CLOCK);
  p.outcome('e1', T0 + 11_000, 'OPT_OUT', CLOCK);
  p.outcome('e1', T0 + 12_000, 'SPAM_REPORT', CLOCK);
  const [m15, h1, d1] = p.features('e1')!;
  for (const w of [m15!, h1!, d1!]) {
    assert.deepEqual(w.campaignIds, ['C1', 'C2'], w.window);
    assert.equal(w.distinctCampaigns, 2);
    assert.equal(w.registeredShare, 4 / 6);
    assert.deepEqual(w.urlDomains, ['bit.ly', 'example.com']);
    assert.equal(w.distinctUrlDomains, 2);
    assert.equal(w.optOuts, 2);
    assert.equal(w.spamReports, 1);
    assert.equal(w.optOutRate, 2 / 6);
    assert.equal(w.topSenderShare, 1 / 6);
  }
  // 20 minutes on: gone from 15 min, still in 1 h; a day on, gone from every window.
  p.message('e1', message(T0 + 20 * 60_000, 1, 0), CLOCK);
  const [later15, later1h] = p.features('e1')!;
  assert.deepEqual(
    [later15!.messages, later15!.optOuts, later15!.spamReports, later15!.registeredShare],
    [1, 0, 0, 0],
  );
  assert.deepEqual([later1h!.messages, later1h!.optOuts, later1h!.spamReports], [7, 2, 1]);
  const dayLater = p.features('e1', T0 + 25 * HOUR)!;
  assert.deepEqual(
    dayLater.map((w) => [w.messages, w.optOuts, w.campaignIds.length, w.topSenderShare]),
    [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
  );
});

test('a campaign above a slice share is kept when more campaigns than the limit share the slice', () => {
  const p = createClusterProcessor({ maxTopEntries: 4 });
  let i = 0;
  // Six one-off campaigns fill the 4-key maps first; then a frequent one, interleaved with more.
  for (let k = 0; k < 6; k++) p.message('f1', message(T0 + i++ * 100, k, k, `X${k}`), CLOCK);
  for (let k = 6; k < 18; k++) {
    p.message('f1', message(T0 + i++ * 100, k, k, 'MAIN'), CLOCK);
    p.message('f1', message(T0 + i++ * 100, k, 100 + k, `X${k}`), CLOCK);
  }
  const [m15] = p.features('f1')!;
  assert.equal(m15!.campaignIds[0], 'MAIN');
  assert.equal(m15!.distinctCampaigns, 19, 'distinct counts stay exact past the limit');
  assert.equal(m15!.registeredShare, 1);
});

test('clusters falling due at one watermark move are published in deadline order', () => {
  const p = createClusterProcessor();
  // Both clusters cross the sender line at once, then change again: due 5 s after their newest.
  p.message('k-a', message(T0, 1, 1), CLOCK);
  p.message('k-a', message(T0 + 500, 2, 2), CLOCK);
  p.message('k-b', message(T0 + 200, 1, 1), CLOCK);
  p.message('k-b', message(T0 + 700, 2, 2), CLOCK);
  assert.deepEqual(
    p.drain(0).map((r) => r.clusterId),
    ['k-a', 'k-b'],
  );
  p.message('k-a', message(T0 + 1_000, 1, 3), CLOCK); // due at 6 s
  p.message('k-b', message(T0 + 2_000, 1, 3), CLOCK); // due at 7 s
  p.message('k-a', message(T0 + 3_000, 1, 4), CLOCK); // now due at 8 s
  p.advanceWatermark(T0 + 10_000);
  assert.deepEqual(
    p.drain(0).map((r) => [r.clusterId, r.asOf - T0]),
    [
      ['k-b', 2_000],
      ['k-a', 3_000],
    ],
  );
});

test("a burst's last change is decided once stream time, not the watermark, is an interval past it", () => {
  const p = createClusterProcessor();
  assert.ok(p.options.allowedLatenessMs > p.options.emitIntervalMs, 'the case this test is about');
  p.message('k-a', message(T0, 1, 1), CLOCK);
  p.message('k-a', message(T0 + 500, 2, 2), CLOCK); // crosses the sender line: published at once
  assert.equal(p.drain(0).length, 1);
  p.message('k-a', message(T0 + 1_000, 3, 3), CLOCK); // the burst's last message
  p.message('k-z', message(T0 + 1_000 + p.options.emitIntervalMs - 1, 1, 1), CLOCK);
  assert.deepEqual(p.drain(0), [], 'one millisecond early');
  // Another cluster's message moves stream time; the watermark is still the lateness behind.
  p.message('k-z', message(T0 + 1_000 + p.options.emitIntervalMs, 1, 1), CLOCK);
  assert.deepEqual(
    p.drain(0).map((r) => [r.clusterId, r.asOf - T0, r.windows[0]!.distinctSenders]),
    [['k-a', 1_000, 3]],
  );
});

test('a cluster idle past the longest window is evicted with a tombstone and starts afresh', () => {
  const p = createClusterProcessor();
  p.message('g1', message(T0, 1, 1), CLOCK);
  p.message('g1', message(T0 + 1_000, 2, 2), CLOCK);
  p.drain(0);
  p.takeChanged();
  p.advanceWatermark(T0 + 1_000 + DAY - 1);
  p.drain(0);
  assert.equal(p.clusterCount, 1, 'not a whole day yet');
  p.advanceWatermark(T0 + 1_000 + DAY + HOUR);
  p.drain(0);
  assert.equal(p.clusterCount, 0);
  assert.equal(p.stateBytes, 0);
  assert.deepEqual(p.takeChanged(), [{ clusterId: 'g1', value: null }]);
  assert.equal(p.stats.evictedClusters, 1);

  // Idle but not yet swept: an old late event still starts the cluster afresh.
  const q = createClusterProcessor();
  q.message('g2', message(T0 + HOUR, 1, 1), CLOCK);
  q.message('g2', message(T0 + HOUR + 1_000, 2, 2), CLOCK);
  q.message('other', message(T0 + HOUR + DAY + 60_000, 3, 3), CLOCK);
  q.message('g2', message(T0 + 30 * 60_000, 4, 4), CLOCK);
  assert.equal(q.features('g2')![2]!.messages, 1, 'the old messages are not counted');
});

test('shed frees about what was asked, least active first, and leaves other clusters exact', () => {
  const p = createClusterProcessor();
  for (let i = 0; i < 2_000; i++) p.message(`quiet${i}`, message(T0 + i, i, i), CLOCK);
  for (let c = 0; c < 5; c++)
    for (let i = 0; i < 300; i++) p.message(`busy${c}`, message(T0 + 2_000 + i * 10, i % 40, i, 'C1'), CLOCK);
  p.drain(0);
  p.takeChanged(); // full clusters' sizes are known from their encoding
  const before = new Map([0, 1, 2, 3, 4].map((c) => [`busy${c}`, p.features(`busy${c}`)] as const));
  const total = p.stateBytes;
  const target = Math.round(total * 0.3);
  const shed = p.shed(target);
  assert.ok(shed.bytes >= target && shed.bytes < target + 1_000, `freed ${shed.bytes} for ${target}`);
  assert.equal(p.stateBytes, total - shed.bytes);
  assert.equal(p.stats.shedClusters, shed.clusters);
  assert.equal(p.clusterCount, 2_005 - shed.clusters);
  for (const [id, features] of before) assert.deepEqual(p.features(id), features, `${id} untouched`);
  // The least recently active quiet clusters went first.
  assert.equal(p.features('quiet0'), undefined);
  assert.notEqual(p.features('quiet1999'), undefined);
  const tombstones = p.takeChanged().filter((c) => c.value === null);
  assert.equal(tombstones.length, shed.clusters);
  // Shedding more than there is takes the busy ones last.
  p.shed(Number.POSITIVE_INFINITY);
  assert.equal(p.clusterCount, 0);
  assert.equal(p.stateBytes, 0);
});

test('an event far in the future, or with no time, is refused and changes nothing', () => {
  const p = createClusterProcessor();
  const skew = DEFAULT_CLUSTER_PROCESSOR_OPTIONS.maxFutureSkewMs;
  assert.throws(() => p.message('h1', message(T0 + skew + 1, 1, 1), T0), EventTimeSkewError);
  assert.throws(() => p.outcome('h1', T0 + skew + 1, 'OPT_OUT', T0), EventTimeSkewError);
  assert.throws(() => p.message('h1', message(Number.NaN, 1, 1), T0), EventTimeInvalidError);
  assert.equal(p.clusterCount, 0);
  assert.equal(p.watermark, Number.NEGATIVE_INFINITY);
  p.message('h1', message(T0 + skew, 1, 1), T0);
  assert.equal(p.clusterCount, 1);
});

/** Changelog values of a busy run: cheap and full clusters in every state. */
function changelogValues(): Uint8Array[] {
  const values: Uint8Array[] = [];
  const p = createClusterProcessor();
  inputs(7, 1_000).forEach((input, i) => {
    feed(p, input);
    if (i % 10 === 0) {
      p.drain(0);
      for (const { value } of p.takeChanged()) if (value) values.push(value);
    }
  });
  // And many clusters of one or two messages, as most are.
  const q = createClusterProcessor();
  for (let i = 0; i < 200; i++) {
    q.message(
      `one${i}`,
      message(T0 + i * 1_000, i, i, i % 3 === 0 ? `C${i}` : null, i % 2 ? ['bit.ly'] : []),
      CLOCK,
    );
    if (i % 4 === 0) q.outcome(`one${i}`, T0 + i * 1_000 + 500, 'OPT_OUT', CLOCK);
  }
  q.drain(0);
  for (const { value } of q.takeChanged()) if (value) values.push(value);
  return values;
}

test('changelog values decode to what was encoded', () => {
  const values = changelogValues();
  const full = values.filter((v) => v[0] === FULL_TAG);
  const light = values.filter((v) => v[0] === LIGHT_TAG);
  assert.ok(full.length > 20 && light.length > 20, `${full.length} full, ${light.length} cheap`);
  for (const v of full)
    assert.deepEqual(encodeFullCluster(decodeFullCluster(v, DEFAULT_CLUSTER_WINDOWS)), Buffer.from(v));
  for (const v of light) {
    assert.equal(decodeLightBytes(v).events.length, v[18]);
    assert.equal(encodeLight(decodeLightBytes(v)), Buffer.from(v).toString('latin1'));
  }
});

test('truncated, corrupted or foreign changelog values give StateCodecError, never another error', () => {
  const values = changelogValues().filter((_, i) => i % 7 === 0);
  const p = createClusterProcessor();
  const refused = (bytes: Uint8Array, label: string) =>
    assert.throws(() => p.restore('x', bytes), StateCodecError, label);
  refused(new Uint8Array(0), 'empty');
  refused(Uint8Array.of(1, 0, 0), 'a sender record');
  refused(Uint8Array.of(FULL_TAG), 'a bare tag');
  for (const v of values) {
    for (let n = 0; n < v.length; n += Math.max(1, v.length >> 5))
      refused(v.subarray(0, n), `truncated at ${n}`);
    refused(Buffer.concat([v, Uint8Array.of(0)]), 'trailing byte');
  }
  // Absurd lengths: a ring claiming 2^32 - 1 slices, a text of 2^28 units, 10^6 map entries.
  const header = [
    FULL_TAG,
    0,
    ...new Uint8Array(Float64Array.of(-Infinity).buffer),
    ...new Uint8Array(Float64Array.of(T0).buffer),
  ];
  const ring = (spec: WindowSpec) => [
    ...new Uint8Array(Float64Array.of(spec.lengthMs).buffer),
    ...new Uint8Array(Float64Array.of(spec.sliceMs).buffer),
  ];
  refused(
    Uint8Array.from([...header, 3, ...ring(DEFAULT_CLUSTER_WINDOWS[0]!), 255, 255, 255, 255]),
    'slice count',
  );
  const lightHeader = [LIGHT_TAG, ...header.slice(1)];
  const event = [0, ...new Uint8Array(Float64Array.of(T0).buffer), ...new Array(16).fill(7)];
  refused(Uint8Array.from([...lightHeader, 1, ...event, 1, 0x80, 0x80, 0x80, 0x80, 0x01]), 'text length');
  refused(Uint8Array.from([...lightHeader, 200, ...event, 0, 0]), 'more events than bytes');
  const longText = [1, 0xac, 0x02, ...new Array(300).fill(97)]; // a 300-unit campaign id
  refused(Uint8Array.from([...lightHeader, 1, ...event, ...longText, 0]), 'a text no encoder writes');
  refused(
    Uint8Array.from([
      ...lightHeader.slice(0, 2),
      ...new Uint8Array(Float64Array.of(Number.NaN).buffer),
      ...lightHeader.slice(10),
      0,
    ]),
    'NaN time',
  );
  // Random corruption: either a valid state or StateCodecError.
  const r = seededRandom(99);
  let accepted = 0;
  for (const v of values) {
    for (let k = 0; k < 20; k++) {
      const bad = Uint8Array.from(v);
      for (let f = 0; f < 1 + Math.floor(r() * 3); f++)
        bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      try {
        p.restore('x', bad);
        accepted++;
      } catch (err) {
        assert.ok(err instanceof StateCodecError, `${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  }
  assert.ok(accepted < values.length * 20, 'most corruptions are caught');
});

/**
 * A full record of the second release (FULL_TAG_V2, its encoder at commit 430ba4c), whose slices
 * did not keep their first message's time: one cluster, messages 25 s and 95 s past T0, both
 * linking to kit.example.
 */
const SECOND_RELEASE_FULL = Buffer.from(
  'c301000000000000f0ff008081ace11e7a42030000000040772b4100000000004ced40020000000000000000005095e1' +
    '1e7a42010000000a000000010c00000000000000000a000000010c0000000000000000000000000a000000010c000f97' +
    'c0e637b79300010b6b69742e6578616d706c65010100010000000000010000000000f6a3e11e7a42010000000a000000' +
    '010c00000000000000000a000000010c0000000000000000000000000a000000010c000f97c0e637b79300010b6b6974' +
    '2e6578616d706c650101000100000000000000000040774b4100000000804f1241010000000000000000005095e11e7a' +
    '42020000000a000000010c00000000000000000a000000010c0000000000000000000000000a000000010c000f97c0e6' +
    '37b79300010b6b69742e6578616d706c6502010002000000000000000000709994410000000040774b41010000000a00' +
    '000000005095e11e7a42020000000a000000010c00000000000000000a000000010c0000000000000000000000000a00' +
    '0000010c000f97c0e637b79300010b6b69742e6578616d706c65020100020000000000',
  'hex',
);

/** A processor restored from what `p` writes for cluster `id` at its next drain, checked to be the current full form. */
function rewritten(p: ClusterProcessor, id: string): ClusterProcessor {
  p.drain(0);
  const [written] = p.takeChanged();
  assert.equal(written!.value![0], FULL_TAG, 'written in the current form');
  const q = createClusterProcessor();
  q.restore(id, written!.value!);
  return q;
}

test("the second release's full records restore, counting sendingForMs from the end of the first message's slice, and are written anew with it", () => {
  assert.equal(SECOND_RELEASE_FULL[0], FULL_TAG_V2);
  const p = createClusterProcessor();
  p.restore('0a1b2c3d4e5f60', SECOND_RELEASE_FULL);
  p.restoreWatermark(T0 + 100_000);
  const sendingFor = () => p.features('0a1b2c3d4e5f60')!.map((w) => [w.window, w.messages, w.sendingForMs]);
  // As of its newest message (T0 + 95 s): 15m slices are a minute (the first ends at T0 + 60 s);
  // the 1h and 24h windows' first slices have not ended.
  assert.deepEqual(sendingFor(), [
    ['15m', 2, 35_000],
    ['1h', 2, 0],
    ['24h', 2, 0],
  ]);
  p.message('0a1b2c3d4e5f60', message(T0 + 200_000, 3, 3, null, ['kit.example']), CLOCK);
  const before = sendingFor();
  const q = rewritten(p, '0a1b2c3d4e5f60');
  assert.deepEqual(
    q.features('0a1b2c3d4e5f60')!.map((w) => [w.window, w.messages, w.sendingForMs]),
    before,
    'the bound survives the rewrite',
  );
});

/**
 * A full record the third release wrote (its encoder, at commit 3a0c8c8): sender 1 at T0, sender 2
 * 30 s later, an opt-out at T0 + 40 s (no sender named), sender 1 again at T0 + 95 s past an
 * opt-out; every message links kit.example.
 */
const THIRD_RELEASE_FULL = Buffer.from(
  'c502008081ace11e7a42008081ace11e7a42030000000040772b4100000000004ced40020000000000000000005095e1' +
    '1e7a420200010011000000010c00000000002000000000000040000011000000010c0000000000200000000000004000' +
    '00000000000a000000010c000f97c0e637b79300010b6b69742e6578616d706c65020280808001018080800201000000' +
    '00000000000000010000000000f6a3e11e7a42010000000a000000010c00000000002000000a000000010c0000000000' +
    '200000000000000a000000010c000f97c0e637b79300010b6b69742e6578616d706c650101808080010100000001000a' +
    '000000010c0000000000200000b891020000000040774b4100000000804f1241010000000000000000005095e11e7a42' +
    '0300010011000000010c00000000002000000000000040000011000000010c0000000000200000000000004000000000' +
    '00000a000000010c000f97c0e637b79300010b6b69742e6578616d706c6503028080800102808080020100000001000a' +
    '000000010c00000000002000000000000000709994410000000040774b41010000000a00000000005095e11e7a420300' +
    '010011000000010c00000000002000000000000040000011000000010c00000000002000000000000040000000000000' +
    '0a000000010c000f97c0e637b79300010b6b69742e6578616d706c6503028080800102808080020100000001000a0000' +
    '00010c000000000020000000',
  'hex',
);

test("the third release's full records restore with nobody told STOP, and count those told from then on", () => {
  assert.equal(THIRD_RELEASE_FULL[0], FULL_TAG_V3);
  const p = createClusterProcessor();
  p.restore('0a1b2c3d4e5f60', THIRD_RELEASE_FULL);
  p.restoreWatermark(T0 + 100_000);
  const told = () =>
    p
      .features('0a1b2c3d4e5f60')!
      .map((w) => [w.messages, w.optOuts, w.postOptOutSends, w.optedOutSenders, w.optOutIgnoredSenders]);
  assert.deepEqual(told(), [
    [3, 1, 1, 0, 0],
    [3, 1, 1, 0, 0],
    [3, 1, 1, 0, 0],
  ]);
  p.outcome('0a1b2c3d4e5f60', T0 + 110_000, 'OPT_OUT', CLOCK, outcomeSender(2));
  p.outcome('0a1b2c3d4e5f60', T0 + 120_000, 'OPT_OUT_IGNORED', CLOCK, outcomeSender(2));
  const now = told();
  assert.deepEqual(now[0], [3, 2, 1, 1, 1], 'an ignored opt-out is no outcome of its own');
  const q = rewritten(p, '0a1b2c3d4e5f60');
  assert.deepEqual(
    q
      .features('0a1b2c3d4e5f60')!
      .map((w) => [w.messages, w.optOuts, w.postOptOutSends, w.optedOutSenders, w.optOutIgnoredSenders]),
    now,
  );
});

/**
 * A full record the fourth release wrote (its encoder, at commit 3d2aa0e): as the third's, with
 * the opt-out naming sender 1 and sender 1 going past it at T0 + 96 s.
 */
const FOURTH_RELEASE_FULL = Buffer.from(
  'c7030000c0ace11e7a420000c0ace11e7a42030000000040772b4100000000004ced40020000000000000000005095e1' +
    '1e7a420200010011000000010c00000000002000000000000040000011000000010c0000000000200000000000004000' +
    '00000000000a000000010c000f97c0e637b79300010b6b69742e6578616d706c65020280808001018080800201000000' +
    '000000000000000a000000010c000000000020000000000000010000000000f6a3e11e7a42010000000a000000010c00' +
    '000000002000000a000000010c0000000000200000000000000a000000010c000f97c0e637b79300010b6b69742e6578' +
    '616d706c650101808080010100000001000a000000010c0000000000200000b891020a000000010c0000000000200000' +
    '0a000000010c00000000002000000000000040774b4100000000804f1241010000000000000000005095e11e7a420300' +
    '010011000000010c00000000002000000000000040000011000000010c00000000002000000000000040000000000000' +
    '0a000000010c000f97c0e637b79300010b6b69742e6578616d706c6503028080800102808080020100000001000a0000' +
    '00010c0000000000200000000a000000010c00000000002000000a000000010c00000000002000000000000070999441' +
    '0000000040774b41010000000a00000000005095e11e7a420300010011000000010c0000000000200000000000004000' +
    '0011000000010c000000000020000000000000400000000000000a000000010c000f97c0e637b79300010b6b69742e65' +
    '78616d706c6503028080800102808080020100000001000a000000010c0000000000200000000a000000010c00000000' +
    '002000000a000000010c0000000000200000',
  'hex',
);

test("the fourth release's full records restore with no sender blocks, and sample them from then on", () => {
  assert.equal(FOURTH_RELEASE_FULL[0], FULL_TAG_V4);
  const p = createClusterProcessor();
  p.restore('0a1b2c3d4e5f60', FOURTH_RELEASE_FULL);
  p.restoreWatermark(T0 + 100_000);
  const seen = (q: ClusterProcessor) =>
    q
      .features('0a1b2c3d4e5f60')!
      .map((w) => [w.messages, w.optedOutSenders, w.optOutIgnoredSenders, w.senderBlockSample.length]);
  assert.deepEqual(seen(p)[0], [3, 1, 1, 0]);
  p.message('0a1b2c3d4e5f60', message(T0 + 110_000, 3, 3, null, ['kit.example']), CLOCK);
  const now = seen(p);
  assert.deepEqual(now[0], [4, 1, 1, 1], 'the new message brings its block');
  assert.deepEqual(seen(rewritten(p, '0a1b2c3d4e5f60')), now);
});

/**
 * Changelog values the first release wrote (its encoder, at commit ba26a74), for one cluster:
 * sender 1 (campaign CAMP1, a bit.ly link) at T0, sender 2 (bit.ly and example.com) 61 s later,
 * an opt-out at T0 + 120 s and a spam report at T0 + 130 s; cheap form and full form.
 */
const FIRST_RELEASE = {
  light: Buffer.from(
    'c20200000db5e11e7a4200000db5e11e7a42040000005095e11e7a420100001007000020010000300d00004001054341' +
      '4d503101066269742e6c7900008034a4e11e7a42020000100e000020020000301a0000400002066269742e6c790b6578' +
      '616d706c652e636f6d0100009cb2e11e7a420200000db5e11e7a42',
    'hex',
  ),
  full: Buffer.from(
    'c10200000db5e11e7a4200000db5e11e7a42030000000040772b4100000000004ced40030000000000000000005095e1' +
      '1e7a42010100000a000000010c00020000002400000a000000010c00060000002800000a000000010c000e4d47b6daaa' +
      '370a000000010c001405425ef87416010543414d50310101066269742e6c790101808090818080800101010000000000' +
      'f6a3e11e7a42010000000a000000010c00020000004400000a000000010c00060000004800000000000011000000010c' +
      '001388d7465e03da1405425ef874160002066269742e6c79010b6578616d706c652e636f6d0101808090828080800101' +
      '0200000000009cb2e11e7a4200000101000000000000000000000000000000000000000000000040774b410000000080' +
      '4f1241010000000000000000005095e11e7a420201010111000000010c00020000002400000200000044000011000000' +
      '010c0006000000280000060000004800000a000000010c000e4d47b6daaa3711000000010c001388d7465e03da140542' +
      '5ef87416010543414d50310102066269742e6c79020b6578616d706c652e636f6d010280809081808080010180809082' +
      '808080010100000000709994410000000040774b41010000000a00000000005095e11e7a420201010111000000010c00' +
      '020000002400000200000044000011000000010c0006000000280000060000004800000a000000010c000e4d47b6daaa' +
      '3711000000010c001388d7465e03da1405425ef87416010543414d50310102066269742e6c79020b6578616d706c652e' +
      '636f6d0102808090818080800101808090828080800101',
    'hex',
  ),
};

test("the first release's changelog values restore, with the new counters at zero, and carry on", () => {
  assert.equal(FIRST_RELEASE.light[0], LIGHT_TAG_V1);
  assert.equal(FIRST_RELEASE.full[0], FULL_TAG_V1);
  // What the first release computed from them (its features had no outcome or call-back fields).
  const then = {
    messages: 2,
    distinctSenders: 2,
    distinctRecipients: 2,
    optOuts: 1,
    spamReports: 1,
    optOutRate: 0.5,
    registeredShare: 0.5,
    campaignIds: ['CAMP1'],
    distinctCampaigns: 1,
    topSenderShare: 0.5,
    urlDomains: ['bit.ly', 'example.com'],
    distinctUrlDomains: 2,
    optOutIgnoringSenders: 0,
  };
  const expected = DEFAULT_CLUSTER_WINDOWS.map((w) => ({
    window: w.name,
    windowMs: w.lengthMs,
    ...then,
    replies: 0,
    deliveryFailures: 0,
    sequentialShare: 0,
    callbackNumbers: [],
    postOptOutSends: 0,
    optedOutSenders: 0,
    optOutIgnoredSenders: 0,
    senderBlockSample: [],
    // The cheap form holds its messages' times: exact. The full form's slices did not keep the
    // first message's time: from the end of its slice, the bound it had (15m slices are a minute).
    sendingForMs: 0,
  }));
  const sendingFor: Record<string, (w: string) => number> = {
    light: () => 130_000,
    full: (w) => (w === '15m' ? 70_000 : 0),
  };
  for (const [form, bytes] of Object.entries(FIRST_RELEASE)) {
    const p = createClusterProcessor();
    p.restore('0a1b2c3d4e5f60', bytes);
    p.restoreWatermark(T0 + 100_000);
    const restored = p.features('0a1b2c3d4e5f60')!;
    assert.deepEqual(
      restored.map(({ senderSample: _, ...w }) => w),
      expected.map((w) => ({ ...w, sendingForMs: sendingFor[form]!(w.window) })),
      form,
    );
    // Its two senders, sampled from the counters the first release wrote.
    for (const w of restored)
      assert.ok(w.senderSample.length === 2 && w.senderSample[0]! < w.senderSample[1]!, `${form} sample`);
    // New events count on top, and the cluster is written back in the current form.
    p.message('0a1b2c3d4e5f60', message(T0 + 140_000, 3, 3, null, [], true, [CALLBACKS[0]!], true), CLOCK);
    p.outcome('0a1b2c3d4e5f60', T0 + 150_000, 'REPLY', CLOCK);
    p.outcome('0a1b2c3d4e5f60', T0 + 160_000, 'DELIVERY_FAILURE', CLOCK);
    const now = p.features('0a1b2c3d4e5f60')!;
    for (const w of now)
      assert.deepEqual(
        [
          w.messages,
          w.optOuts,
          w.spamReports,
          w.replies,
          w.deliveryFailures,
          w.sequentialShare,
          w.callbackNumbers,
          w.postOptOutSends,
        ],
        [3, 1, 1, 1, 1, 1 / 3, ['9'], 1],
        `${form} ${w.window}`,
      );
    p.drain(0);
    const [written] = p.takeChanged();
    assert.equal(written!.value![0], form === 'light' ? LIGHT_TAG : FULL_TAG, `${form} is written anew`);
    const q = createClusterProcessor();
    q.restore('0a1b2c3d4e5f60', written!.value!);
    assert.deepEqual(q.features('0a1b2c3d4e5f60'), now, `${form} restored from its new bytes`);
  }
  // The first release's cheap form had two outcome kinds: a third is not something it wrote.
  const foreign = Buffer.from(FIRST_RELEASE.light);
  const firstEvent = 19; // header (18 bytes), event count
  assert.equal(foreign[firstEvent], 0, 'the first event is a message');
  const outcomeAt = foreign.length - 9; // the last event: u8 type, f64 time
  assert.equal(foreign[outcomeAt], 2, 'the last event is a spam report');
  foreign[outcomeAt] = 3;
  assert.throws(() => createClusterProcessor().restore('x', foreign), StateCodecError);
});

test('call-back numbers are listed by count, then by hash value, as unsigned decimals; walking, sends after an opt-out and outcomes are counted', () => {
  const p = createClusterProcessor();
  const [a, b, c, d] = [CALLBACKS[1]!, CALLBACKS[2]!, CALLBACKS[0]!, CALLBACKS[5]!]; // 10, 100, 9, 0xfedc…
  // b in three messages, d in two, a and c in one each; a repeat within a message counts once.
  const sends: [boolean, bigint[], boolean][] = [
    [false, [b, d, b], false],
    [true, [b, a], true],
    [true, [d, c, b], false],
    [false, [], true],
  ];
  for (const [i, [sequential, hashes, afterOptOut]] of sends.entries())
    p.message('n1', message(T0 + i * 1_000, i, i, null, [], sequential, hashes, afterOptOut), CLOCK);
  p.outcome('n1', T0 + 5_000, 'REPLY', CLOCK);
  p.outcome('n1', T0 + 6_000, 'REPLY', CLOCK);
  p.outcome('n1', T0 + 7_000, 'DELIVERY_FAILURE', CLOCK);
  for (const w of p.features('n1')!) {
    // 9 before 10 before 100: by value, not by text.
    assert.deepEqual(w.callbackNumbers, ['100', '18364758544493064720', '9', '10'], w.window);
    assert.equal(w.sequentialShare, 2 / 4);
    assert.equal(w.postOptOutSends, 2);
    assert.deepEqual([w.replies, w.deliveryFailures, w.optOuts, w.spamReports], [2, 1, 0, 0]);
  }
  // Five call-back numbers in one message: the first four are counted.
  const q = createClusterProcessor();
  q.message('n2', message(T0, 1, 1, null, [], false, [...CALLBACKS.slice(2, 7)]), CLOCK);
  assert.deepEqual(
    q.features('n2')![0]!.callbackNumbers,
    CALLBACKS.slice(2, 6)
      .sort((x, y) => (x < y ? -1 : 1))
      .map(String),
  );
  // More numbers than a slice keeps (2 here): the one in most messages stays listed.
  const r = createClusterProcessor({ maxTopEntries: 2 });
  for (let i = 0; i < 12; i++)
    r.message('n3', message(T0 + i * 100, i, i, null, [], false, i % 2 ? [d] : [BigInt(1_000 + i)]), CLOCK);
  assert.deepEqual(r.features('n3')![0]!.callbackNumbers[0], String(d));
});

test('bad options are refused with every problem named', () => {
  assert.throws(
    () => createClusterProcessor({ emitIntervalMs: 0, maxTopEntries: 1_000, windows: [] }),
    (err: Error & { problems?: string[] }) =>
      err.name === 'ClusterOptionsError' && err.problems?.length === 3,
  );
});
