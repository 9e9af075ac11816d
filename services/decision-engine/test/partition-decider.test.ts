// The per-partition decider: one clock (a replay of old traffic decides as live traffic did),
// content decisions and what they do to senders, and its changelog round trip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClusterFeatures,
  type ContentDecision,
  createCodec,
  type Decision,
  type SenderFeatures,
} from '@spamgate/schemas';
import { type ContentInForce, contentInForce } from '../src/evaluate.ts';
import {
  createPartitionDecider,
  type PartitionDecider,
  SENDER_IDLE_TTL_MS,
  standaloneTables,
} from '../src/partition-decider.ts';
import type { Policy } from '../src/policy.ts';
import {
  capOf,
  cluster,
  confirmedSpamCluster,
  DEFAULT_POLICY,
  features,
  HOUR,
  MINUTE,
  T0,
} from './fixtures.ts';

const codec = createCodec();
const DAY = 24 * HOUR;
const CLUSTER = '0a1b2c3d4e5f60';

interface Harness {
  readonly decider: PartitionDecider;
  readonly decisions: Decision[];
  readonly contents: ContentDecision[];
  /** Every changelog record taken, latest per key. */
  readonly changelog: Map<string, Uint8Array | null>;
  readonly features: (f: SenderFeatures) => void;
  readonly cluster: (c: ClusterFeatures) => void;
  readonly advance: (t: number) => void;
  /** What every instance's table of content decisions holds. */
  readonly table: Map<string, ContentInForce>;
}

/** A decider with the engine's wiring: content decisions it publishes come back as the table every instance follows. */
function harness(policy: Policy = DEFAULT_POLICY): Harness {
  const clusters = new Map<string, ClusterFeatures>();
  const table = new Map<string, ContentInForce>();
  const tables = standaloneTables({
    policy,
    cluster: (id) => clusters.get(id),
    content: (id) => table.get(id),
    capOf,
    decodeFeatures: (raw) => codec.decode('SenderFeatures', Buffer.from(raw)),
  });
  const decider = createPartitionDecider(0, tables);
  const decisions: Decision[] = [];
  const contents: ContentDecision[] = [];
  const changelog = new Map<string, Uint8Array | null>();
  const collect = (at: number) => {
    const out = decider.take();
    for (const r of out.changelog) changelog.set(r.key, r.value);
    decisions.push(...out.decisions);
    contents.push(...out.contentDecisions);
    for (const d of out.contentDecisions) {
      table.set(d.clusterId, contentInForce(d, policy));
      decider.contentUpdated(d.clusterId, d.basedOnEventTime, at);
      collect(at);
    }
  };
  return {
    decider,
    decisions,
    contents,
    changelog,
    features: (f) => {
      decider.features(f, codec.encode('SenderFeatures', f), f.asOf);
      collect(f.asOf);
    },
    cluster: (c) => {
      clusters.set(c.clusterId, c);
      decider.clusterUpdated(c, true, true, c.asOf);
      collect(c.asOf);
    },
    advance: (t) => {
      decider.advanceClock(t, t);
      collect(t);
    },
    table,
  };
}

/** A sender that keeps texting people who opted out: blocked, then quiet for two days. */
function optOutViolator(h: Harness, t0: number): void {
  h.features(features({ asOf: t0, windows: { '24h': { messages: 5, postOptOutSends: 1 } } }));
  h.features(features({ asOf: t0 + MINUTE, windows: { '24h': { messages: 6, postOptOutSends: 1 } } }));
  for (let t = t0 + 10 * MINUTE; t <= t0 + 2 * DAY; t += 10 * MINUTE) h.advance(t);
}

const shape = (d: Decision, t0: number) => ({
  action: d.action,
  trigger: d.trigger,
  at: d.basedOnEventTime - t0,
  expires: d.expiresAt === null ? null : d.expiresAt - t0,
  reasons: d.reasons.map((r) => r.code),
});

describe('one clock', () => {
  it('decides old traffic (a backlog, a replay) exactly as it decided the same traffic live', () => {
    const live = harness();
    optOutViolator(live, T0);
    const replay = harness();
    const old = T0 - 2 * DAY;
    optOutViolator(replay, old);
    assert.deepEqual(
      replay.decisions.map((d) => shape(d, old)),
      live.decisions.map((d) => shape(d, T0)),
    );
    assert.deepEqual(
      live.decisions.map((d) => `${d.action}/${d.trigger}`),
      ['BLOCK/FEATURES', 'THROTTLE/EXPIRY'],
      'blocked, and released (to a throttle: the stale evidence cannot block again) only when a day of event time has passed',
    );
    assert.equal(live.decisions[0]!.expiresAt, T0 + DAY);
  });

  it('never lets a BLOCK lapse because time elsewhere ran ahead: only its own clock expires it', () => {
    const h = harness();
    h.features(features({ asOf: T0, windows: { '24h': { messages: 5, postOptOutSends: 1 } } }));
    assert.equal(h.decisions.at(-1)?.action, 'BLOCK');
    // Decided at a wall clock a month later (a backlog): nothing lapses until event time passes.
    h.decider.features(
      features({ sender: '+13105550100', asOf: T0 + 1_000 }),
      codec.encode('SenderFeatures', features({ sender: '+13105550100', asOf: T0 + 1_000 })),
      T0 + 30 * DAY,
    );
    h.decider.take();
    assert.equal(h.decider.clock, T0 + 1_000);
    h.advance(T0 + DAY - 1);
    assert.equal(h.decisions.at(-1)?.action, 'BLOCK');
    h.advance(T0 + DAY);
    assert.deepEqual([h.decisions.at(-1)?.action, h.decisions.at(-1)?.trigger], ['THROTTLE', 'EXPIRY']);
  });

  it('restores its senders, the clusters it owns and its clock from its changelog, and goes on alike', () => {
    const first = harness();
    first.cluster(confirmedSpam(T0 - MINUTE));
    first.features(features({ asOf: T0, windows: { '24h': { messages: 5, postOptOutSends: 1 } } }));
    const second = harness();
    for (const [k, v] of first.changelog) if (v) second.decider.restore(k, v);
    assert.equal(second.decider.clock, T0);
    assert.equal(second.decider.senderCount, 1);
    assert.equal(second.decider.contentCount, 1);
    second.advance(T0 + DAY);
    assert.deepEqual(
      second.decisions.map((d) => `${d.action}/${d.trigger}`),
      ['THROTTLE/EXPIRY'],
      'the restored sender BLOCK expires on time',
    );
    assert.deepEqual(
      second.contents.map((d) => `${d.action}/${d.trigger}`),
      ['ALLOW/EXPIRY'],
      'so does the restored content BLOCK',
    );
  });
});

const confirmedSpam = (asOf: number) => confirmedSpamCluster(CLUSTER, asOf);

describe('content decisions', () => {
  it('block a confirmed cluster with its own domains and call-back numbers as match keys, never a public shortener', () => {
    const h = harness();
    h.cluster(confirmedSpam(T0));
    assert.equal(h.contents.length, 1);
    const d = h.contents[0]!;
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.clusterId, CLUSTER);
    assert.deepEqual(d.urlDomains, ['parcel-redelivery.example']);
    assert.deepEqual(d.callbackNumbers, ['1234567890123456789']);
    assert.deepEqual(d.reasons.map((r) => r.code).slice(0, 2), ['CONTENT_SPREAD', 'CONTENT_COMPLAINTS']);
    assert.equal(d.expiresAt, T0 + DAY);
  });

  it('block a fresh number on its first features naming a blocked cluster', () => {
    const h = harness();
    h.cluster(confirmedSpam(T0));
    h.features(
      features({
        sender: '+14155550199',
        asOf: T0 + 5_000,
        clusters: [CLUSTER],
        windows: { all: { messages: 1 } },
      }),
    );
    const d = h.decisions.at(-1)!;
    assert.equal(d.sender, '+14155550199');
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.reasons[0]!.code, 'CONTENT_BLOCKED');
  });

  it('block the senders already naming the cluster once it is confirmed', () => {
    const h = harness();
    h.features(features({ asOf: T0, clusters: [CLUSTER], windows: { all: { messages: 3 } } }));
    assert.equal(h.decisions.length, 0);
    h.cluster(confirmedSpam(T0 + 10_000));
    // The cluster's own evidence may throttle it first; the content decision, once every instance
    // has it, blocks.
    assert.deepEqual([h.decisions.at(-1)?.action, h.decisions.at(-1)?.trigger], ['BLOCK', 'CONTENT']);
  });

  it('never block a registered campaign: it is reviewed, and its senders throttled below their own pace', () => {
    const h = harness();
    const registered = confirmedSpam(T0);
    const windows = registered.windows.map((w) => ({ ...w, registeredShare: 1, campaignIds: ['CAMP1'] }));
    h.cluster({ ...registered, windows });
    assert.equal(h.contents[0]!.action, 'MONITOR');
    assert.equal(h.contents[0]!.reasons[0]!.code, 'REGISTERED_CAMPAIGN_REVIEW');
    h.features(
      features({
        asOf: T0 + 1_000,
        campaignId: 'CAMP1',
        clusters: [CLUSTER],
        windows: { '10m': { messages: 200 } },
      }),
    );
    const d = h.decisions.at(-1)!;
    assert.equal(d.action, 'THROTTLE');
    assert.equal(d.throttleRatePerMinute, 10, 'half of 20 a minute');
    assert.ok(d.reasons.some((r) => r.code === 'CONTENT_REVIEW'));
  });

  it('block a registered sender too when its template is blocked because its numbers ignore STOP', () => {
    const h = harness();
    const crew = confirmedSpam(T0);
    // A registered bot's template, answered as much as complained about, that 5 of its 40
    // numbers send while ignoring someone's STOP.
    const windows = crew.windows.map((w) => ({
      ...w,
      registeredShare: 1,
      campaignIds: ['CAMP1'],
      distinctSenders: 40,
      replies: w.optOuts + w.spamReports,
      optOutIgnoringSenders: 5,
    }));
    h.cluster({ ...crew, windows });
    assert.deepEqual(
      [h.contents[0]!.action, h.contents[0]!.reasons[0]!.code],
      ['BLOCK', 'CONTENT_OPT_OUT_CREW'],
    );
    h.features(
      features({
        asOf: T0 + 1_000,
        campaignId: 'CAMP1',
        clusters: [CLUSTER],
        windows: { all: { messages: 3 } },
      }),
    );
    const d = h.decisions.at(-1)!;
    assert.deepEqual([d.action, d.reasons[0]!.code], ['BLOCK', 'CONTENT_BLOCKED']);
  });

  it('release the senders blocked with a cluster as soon as its BLOCK is lifted (an operator allowed it)', () => {
    const h = harness();
    h.features(features({ asOf: T0, clusters: [CLUSTER], windows: { all: { messages: 3 } } }));
    h.cluster(confirmedSpam(T0 + 10_000));
    assert.equal(h.decisions.at(-1)?.action, 'BLOCK');
    h.table.set(CLUSTER, { decisionId: 'operator-allow', action: 'ALLOW', expiresAt: null });
    h.decider.contentUpdated(CLUSTER, T0 + 20_000, T0 + 20_000);
    h.advance(T0 + 20_000);
    const d = h.decisions.at(-1)!;
    assert.notEqual(d.action, 'BLOCK', 'not held until the sender BLOCK would expire');
    assert.equal(d.trigger, 'CONTENT');
  });

  it('do not block what recipients answer, however many numbers send it (peer-to-peer texting)', () => {
    const h = harness();
    h.cluster(
      cluster(CLUSTER, {
        messages: 2_000,
        distinctSenders: 150,
        distinctRecipients: 1_900,
        optOuts: 60,
        spamReports: 4,
        replies: 150,
      }),
    );
    assert.equal(h.contents.length, 0);
  });

  it('hold a content BLOCK until it expires on the evidence clock, then lift it when the evidence is gone', () => {
    const h = harness();
    h.cluster(confirmedSpam(T0));
    h.cluster(cluster(CLUSTER, { messages: 10, distinctSenders: 1, distinctRecipients: 10 }, T0 + HOUR));
    assert.equal(h.contents.length, 1, 'the faded evidence does not lift the block');
    h.advance(T0 + DAY);
    assert.deepEqual(
      h.contents.map((d) => [d.action, d.trigger]),
      [
        ['BLOCK', 'CLUSTER'],
        ['ALLOW', 'EXPIRY'],
      ],
    );
    assert.equal(h.decider.contentCount, 0, 'a cluster back to ALLOW is forgotten');
    assert.equal(
      h.changelog.get(`\u0000content:${CLUSTER}`),
      null,
      'and its state deleted from the changelog',
    );
  });
});

describe('bounded state', () => {
  const quiet = (sender: string, asOf: number) =>
    features({ sender, asOf, windows: { '24h': { messages: 3 } } });

  it('forgets an ALLOW sender idle for SENDER_IDLE_TTL_MS of event time, with a tombstone; keeps one with a BLOCK in force', () => {
    const h = harness();
    h.features(quiet('+12025550101', T0));
    h.features(
      features({ sender: '+12025550102', asOf: T0, windows: { '24h': { messages: 5, postOptOutSends: 1 } } }),
    );
    assert.equal(h.decisions.at(-1)?.action, 'BLOCK');
    assert.ok(h.changelog.get('+12025550101'), 'held');
    for (let t = T0; t <= T0 + SENDER_IDLE_TTL_MS - HOUR; t += HOUR) h.advance(t);
    assert.ok(h.decider.hasSender('+12025550101'), 'not before the TTL');
    for (let t = T0 + SENDER_IDLE_TTL_MS - HOUR; t <= T0 + SENDER_IDLE_TTL_MS + 2 * HOUR; t += HOUR)
      h.advance(t);
    assert.equal(h.decider.hasSender('+12025550101'), false);
    assert.equal(h.changelog.get('+12025550101'), null, 'its state tombstoned');
    // The violator's BLOCK lapsed to a THROTTLE on its stale evidence: a decision in force that
    // only its state can lift, so it is kept, however idle.
    assert.equal(h.decisions.filter((d) => d.sender === '+12025550102').at(-1)?.action, 'THROTTLE');
    assert.ok(h.decider.hasSender('+12025550102'));
    // Forgotten is as new: its next features are decided afresh.
    h.features(quiet('+12025550101', T0 + SENDER_IDLE_TTL_MS + 3 * HOUR));
    assert.ok(h.decider.hasSender('+12025550101'));
  });

  it('sheds the least recently active ALLOW senders to nine tenths of the budget, never one with a decision in force', () => {
    const h = harness();
    h.features(
      features({ sender: '+12025550999', asOf: T0, windows: { '24h': { messages: 5, postOptOutSends: 1 } } }),
    );
    for (let i = 0; i < 100; i++) h.features(quiet(`+1303555${String(1000 + i)}`, T0 + (i + 1) * MINUTE));
    assert.equal(h.decider.senderCount, 101);
    assert.equal(h.decider.shed(200), 0, 'within the budget');
    assert.equal(h.decider.shed(50), 56);
    assert.equal(h.decider.senderCount, 45);
    assert.ok(h.decider.hasSender('+12025550999'), 'the blocked sender is kept, however old');
    assert.equal(h.decider.hasSender('+13035551000'), false, 'the oldest ALLOW went first');
    assert.ok(h.decider.hasSender('+13035551099'), 'the newest stayed');
    h.advance(T0 + 101 * MINUTE);
    assert.equal(h.changelog.get('+13035551000'), null, 'tombstoned');
    // Only ALLOW senders can go: with none left, the budget is exceeded rather than a BLOCK forgotten.
    assert.equal(h.decider.shed(1_000) + h.decider.shed(1), 44);
    assert.equal(h.decider.senderCount, 1);
    // Over budget with nothing to forget, it looks again only once a tenth more is held.
    const blocked = (sender: string) =>
      features({ sender, asOf: T0 + 200 * MINUTE, windows: { '24h': { messages: 5, postOptOutSends: 1 } } });
    for (let i = 0; i < 19; i++) h.features(blocked(`+1505555${String(1000 + i)}`));
    assert.equal(h.decider.shed(1), 0, '20 senders, every one blocked');
    h.features(quiet('+14045551000', T0 + 201 * MINUTE));
    assert.equal(h.decider.shed(1), 0, '21 held, not a tenth more than 20: not looked at');
    assert.ok(h.decider.hasSender('+14045551000'));
    h.features(quiet('+14045551001', T0 + 202 * MINUTE));
    assert.equal(h.decider.shed(1), 2, '22 held: looked again, and the two ALLOW senders forgotten');
  });
});
