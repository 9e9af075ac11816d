// Cluster groups: clusters linking to one domain, or sent by the same numbers, summed; and the
// default policy's rules that judge a kit's rotating pretexts or a SIM box's promotions together,
// while one business's many texts to its own site, answered campaigns, registered brands, shared
// domains and unrelated numbers stay apart or allowed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ClusterFeatures } from '@spamgate/schemas';
import {
  CREW_SHARED_SAMPLE,
  createGroupIndex,
  domainGroupOf,
  groupValue,
  MAX_GROUP_TEMPLATES,
} from '../src/cluster-groups.ts';
import { type ContentContext, groupsOf, judgeCluster } from '../src/content-decider.ts';
import { parsePolicy } from '../src/policy.ts';
import { cluster, DEFAULT_POLICY, DEFAULT_POLICY_PATH, MINUTE, T0 } from './fixtures.ts';

const KIT = 'account-verify-center.example';
const id = (k: number) => `0a1b2c3d4e5f${String(k).padStart(2, '0')}`;

/** A pretext of a phishing crew three minutes in: its share of 240 texts from `senders` numbers, nobody answering. */
function pretext(k: number, patch: Parameters<typeof cluster>[1] = {}, asOf = T0): ClusterFeatures {
  return cluster(
    id(k),
    {
      messages: 40,
      distinctSenders: 38,
      distinctRecipients: 40,
      urlDomains: [KIT],
      distinctUrlDomains: 1,
      sendingForMs: 150_000,
      ...patch,
    },
    asOf,
  );
}

const content = DEFAULT_POLICY.content!;

/** The default policy's verdict on cluster `c` with the groups of the given clusters (c included). */
function verdict(c: ClusterFeatures, all: readonly ClusterFeatures[], shared: readonly string[] = []) {
  const index = createGroupIndex((x) => all.find((m) => m.clusterId === x));
  for (const m of all) index.put(m);
  const ctx: ContentContext = {
    policy: DEFAULT_POLICY,
    override: undefined,
    domainAllowed: (d) => shared.includes(d),
    domainGroup: (d) => index.domain(d, c.asOf),
    crewGroup: (x) => index.crew(x, c.asOf),
  };
  return judgeCluster(content, c, false, groupsOf(content, c, ctx));
}

describe('domain groups', () => {
  it('sum the windows that link to the domain and still reach the time asked, with templates and senders per template', () => {
    const a = pretext(1);
    const b = pretext(2, { messages: 20, distinctSenders: 10, replies: 1 });
    const other = cluster(id(3), { messages: 99, distinctSenders: 9, urlDomains: ['elsewhere.example'] });
    const g = domainGroupOf(KIT, [a, b, other], T0)!;
    const w = g.windows.find((x) => x.window === '15m')!;
    assert.equal(w.templates, 2);
    assert.equal(w.messages, 60);
    assert.equal(w.distinctSenders, 48);
    assert.equal(w.replies, 1);
    assert.equal(groupValue(w, 'sendersPerTemplate'), 24);
    assert.equal(groupValue(w, 'messagesPerSender'), 60 / 48);
    // A template quiet for longer than 15 minutes counts in the hour, not in the 15 minutes.
    const quiet = pretext(4, {}, T0 - 20 * MINUTE);
    const later = domainGroupOf(KIT, [a, quiet], T0)!;
    assert.equal(later.windows.find((x) => x.window === '15m')!.templates, 1);
    assert.equal(later.windows.find((x) => x.window === '1h')!.templates, 2);
    assert.equal(domainGroupOf('nobody.example', [a], T0), undefined);
  });

  it('index follows each cluster to its newest domains, forgets deleted clusters, and sums the newest templates only past the cap', () => {
    const held = new Map<string, ClusterFeatures>();
    const index = createGroupIndex((x) => held.get(x));
    const put = (c: ClusterFeatures) => {
      held.set(c.clusterId, c);
      index.put(c);
    };
    put(pretext(1));
    put(pretext(2));
    assert.equal(index.domain(KIT, T0)!.windows[0]!.templates, 2);
    put(pretext(2, { urlDomains: ['moved.example'] }));
    assert.equal(index.domain(KIT, T0)!.windows[0]!.templates, 1);
    assert.equal(index.domain('moved.example', T0)!.windows[0]!.templates, 1);
    index.delete(id(1));
    held.delete(id(1));
    assert.equal(index.domain(KIT, T0), undefined);
    assert.equal(index.domains, 1);
    for (let k = 0; k < MAX_GROUP_TEMPLATES + 10; k++)
      put(cluster(`1${String(k).padStart(13, '0')}`, { messages: 1, urlDomains: ['many.example'] }, T0 - k));
    assert.equal(index.domain('many.example', T0)!.windows[0]!.templates, MAX_GROUP_TEMPLATES);
  });

  it('block every pretext of a crew rotating templates to one site once the group is silent long enough, though no template alone would be', () => {
    const crew = [1, 2, 3, 4, 5, 6].map((k) => pretext(k));
    const d = verdict(crew[0]!, crew);
    assert.equal(d.action, 'BLOCK');
    const r = d.reasons.find((x) => x.code === 'CONTENT_DOMAIN_ROTATION')!;
    assert.equal(r.feature, `domain[${KIT}].templates`);
    assert.equal(r.observed, 6);
    // Alone, one pretext is too small for any content rule.
    assert.equal(judgeCluster(content, crew[0]!, false).action, 'ALLOW');
  });

  it('leave alone what only looks like it: one number per template, an answered campaign, a young group, two templates, a shared or registered domain', () => {
    const allowed = (all: ClusterFeatures[], why: string, shared: string[] = []) =>
      assert.equal(verdict(all[0]!, all, shared).action, 'ALLOW', why);
    const six = (patch: Parameters<typeof cluster>[1]) => [1, 2, 3, 4, 5, 6].map((k) => pretext(k, patch));
    const business = Array.from({ length: 60 }, (_, k) =>
      pretext(k, { messages: 3, distinctSenders: 1, distinctRecipients: 3 }),
    );
    allowed(business, "a business's sixty texts to its own site, from its own number");
    allowed(six({ replies: 2 }), 'answered: 5 % of its recipients');
    allowed(six({ sendingForMs: 60_000 }), 'too young: its recipients have not had time to answer');
    allowed(six({ messages: 40 * 12 }), 'a dozen each per number: volunteers, not disposable numbers');
    allowed(
      [pretext(1, { distinctRecipients: 80 }), pretext(2, { distinctRecipients: 80 })],
      'two templates',
    );
    allowed(six({}), 'a shared (or operator-allowed) domain is never a group', [KIT]);
    allowed(
      [...six({}), ...[7, 8, 9, 10].map((k) => pretext(k, { registeredShare: 1, messages: 400 }))],
      "a registered brand's own site",
    );
  });

  it('are read by content rules only: a sender rule reading domain.<name> is refused', () => {
    const doc = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8')) as {
      profiles: Record<string, { rules: Record<string, unknown>[] }>;
    };
    const first = Object.values(doc.profiles)[0]!;
    first.rules.push({
      code: 'X_DOMAIN',
      class: 'spread',
      feature: 'domain.templates',
      window: '15m',
      op: '>=',
      threshold: 3,
      weight: 0.5,
    });
    assert.throws(() => parsePolicy(doc, 'test'), /read by content rules only/);
    // A content rule reads one kind of group.
    const mixed = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8')) as { content: { rules: unknown[] } };
    mixed.content.rules.push({
      code: 'X_MIXED',
      class: 'signal',
      feature: 'domain.templates',
      window: '15m',
      op: '>=',
      threshold: 3,
      weight: 0.1,
      when: [{ feature: 'crew.templates', window: '15m', op: '>=', value: 3 }],
    });
    assert.throws(() => parsePolicy(mixed, 'test'), /one kind of group/);
  });
});

/** Fingerprints of a box of `n` SIMs, ascending (keyed 53-bit values as the feature engine samples them). */
const SIMS = Array.from({ length: 40 }, (_, i) => 1_000_000 + i * 7_919);
/** The bottom-8 sample of the SIMs sending a promotion: every SIM but those in `missing`. */
const sampleOf = (missing: readonly number[] = []) => SIMS.filter((_, i) => !missing.includes(i)).slice(0, 8);

/** A SIM box promotion three minutes in: 60 texts from 30 of its 40 SIMs, nobody answering. */
function promotion(k: number, sample: number[], patch: Parameters<typeof cluster>[1] = {}): ClusterFeatures {
  return cluster(id(20 + k), {
    messages: 60,
    distinctSenders: 30,
    distinctRecipients: 60,
    sendingForMs: 170_000,
    senderSample: sample,
    ...patch,
  });
}

describe('crew groups', () => {
  it('sum the windows whose sender samples share half their values, and nothing of unrelated numbers', () => {
    const box = [promotion(1, sampleOf()), promotion(2, sampleOf([1, 3])), promotion(3, sampleOf([0, 2, 4]))];
    const stranger = promotion(4, [5, 6, 7, 8, 9, 10, 11, 12]);
    const index = createGroupIndex((x) => [...box, stranger].find((m) => m.clusterId === x));
    for (const m of [...box, stranger]) index.put(m);
    const w = index.crew(box[0]!, T0)!.windows.find((x) => x.window === '15m')!;
    assert.equal(w.templates, 3, 'the three promotions, not the stranger');
    assert.equal(w.messages, 180);
    assert.equal(index.crew(stranger, T0)!.windows[0]!.templates, 1, 'a crew of its own');
    // Overlapping by fewer than CREW_SHARED_SAMPLE values is not the same crew.
    const few = promotion(
      5,
      [...SIMS.slice(0, CREW_SHARED_SAMPLE - 1), 1, 2, 3, 4, 5].sort((a, b) => a - b),
    );
    index.put(few);
    assert.equal(index.crew(box[0]!, T0)!.windows[0]!.templates, 3);
    // Without a sample (over 128 senders, or fewer than half a sample) there is no crew to judge.
    assert.equal(index.crew(promotion(6, SIMS.slice(0, CREW_SHARED_SAMPLE - 1)), T0), undefined);
  });

  it('also sum the windows whose sender block samples share half their values, though their numbers do not', () => {
    // A box of 400 consecutive SIMs, one text per SIM every 5 minutes: three minutes in, its
    // promotions were sent by different SIMs, but from the same blocks of ten.
    const BLOCKS = Array.from({ length: 8 }, (_, i) => 9_000_000 + i * 104_729);
    const box = [1, 2, 3].map((k) =>
      promotion(k, SIMS.slice(8 * (k - 1), 8 * k), { senderBlockSample: k === 3 ? BLOCKS.slice(2) : BLOCKS }),
    );
    const index = createGroupIndex((x) => box.find((m) => m.clusterId === x));
    for (const m of box) index.put(m);
    assert.equal(index.crew(box[0]!, T0)!.windows[0]!.templates, 3, 'one crew by its blocks');
    // Blocks in common fewer than half a sample are no crew.
    const apart = [1, 2, 3].map((k) =>
      promotion(k, SIMS.slice(8 * (k - 1), 8 * k), {
        senderBlockSample: [
          ...BLOCKS.slice(0, CREW_SHARED_SAMPLE - 1),
          10 * k + 1,
          10 * k + 2,
          10 * k + 3,
        ].sort((a, b) => a - b),
      }),
    );
    const apartIndex = createGroupIndex((x) => apart.find((m) => m.clusterId === x));
    for (const m of apart) apartIndex.put(m);
    assert.equal(apartIndex.crew(apart[0]!, T0)!.windows[0]!.templates, 1);
  });

  it("block a crew's templates, registered too, once most of its numbers told STOP about any of them have ignored it", () => {
    // A bot's opener and two follow-ups from the same numbers, answered now and then: each drew
    // STOPs from a few recipients, and the numbers told (1 or 2 per template) texted past them.
    const bot = [1, 2, 3].map((k) =>
      promotion(k, sampleOf(), {
        replies: 3,
        optOuts: 2,
        optOutRate: 2 / 60,
        optedOutSenders: k === 1 ? 2 : 1,
        optOutIgnoredSenders: 1,
        registeredShare: 1,
      }),
    );
    const d = verdict(bot[0]!, bot);
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.reasons[0]!.code, 'CONTENT_OPT_OUT_IGNORED_CREW');
    assert.equal(d.reasons[0]!.feature, 'crew.optOutIgnoredSenders');
    assert.notEqual(judgeCluster(content, bot[0]!, false).action, 'BLOCK', 'alone: one number of two told');
    // Volunteers of a registered campaign honour STOP: one slip among many told is no crew's habit.
    const volunteers = bot.map((m) => ({
      ...m,
      windows: m.windows.map((w) => ({ ...w, optedOutSenders: 20 })),
    }));
    assert.notEqual(verdict(volunteers[0]!, volunteers).action, 'BLOCK');
  });

  it("block a SIM box's promotions once its crew is silent long enough, though no promotion alone would be", () => {
    const box = [1, 2, 3, 4].map((k) => promotion(k, sampleOf(k % 2 === 0 ? [k] : [])));
    const d = verdict(box[0]!, box);
    assert.equal(d.action, 'BLOCK');
    const r = d.reasons.find((x) => x.code === 'CONTENT_CREW_SILENCE')!;
    assert.equal(r.feature, 'crew.templates');
    assert.equal(r.observed, 4);
    assert.equal(judgeCluster(content, box[0]!, false).action, 'ALLOW', 'alone');
    const allowed = (all: ClusterFeatures[], why: string) =>
      assert.equal(verdict(all[0]!, all).action, 'ALLOW', why);
    const four = (patch: Parameters<typeof cluster>[1]) =>
      [1, 2, 3, 4].map((k) => promotion(k, sampleOf(), patch));
    allowed(four({ replies: 3 }), 'answered: 5 % of its recipients');
    allowed(four({ sendingForMs: 60_000 }), 'too young');
    allowed(four({ messages: 60 * 12 }), 'a dozen each per number');
    allowed(four({ registeredShare: 1 }), 'a registered pool is reviewed, not judged as a crew');
    allowed(
      [1, 2, 3, 4].map((k) => promotion(k, SIMS.slice(8 * (k - 1), 8 * k))),
      'four promotions from four different sets of numbers',
    );
  });
});
