// Domain groups: clusters linking to one domain summed, and the default policy's rule that judges
// a crew's rotating pretexts together while one business's many texts to its own site, answered
// campaigns, registered brands and shared domains stay allowed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ClusterFeatures } from '@spamgate/schemas';
import { type ContentContext, domainGroupsOf, judgeCluster } from '../src/content-decider.ts';
import { createDomainIndex, domainValue, groupOf, MAX_GROUP_TEMPLATES } from '../src/domain-groups.ts';
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
  const index = createDomainIndex((x) => all.find((m) => m.clusterId === x));
  for (const m of all) index.put(m);
  const ctx: ContentContext = {
    policy: DEFAULT_POLICY,
    override: undefined,
    domainAllowed: (d) => shared.includes(d),
    domainGroup: (d) => index.group(d, c.asOf),
  };
  return judgeCluster(content, c, false, domainGroupsOf(content, c, ctx));
}

describe('domain groups', () => {
  it('sum the windows that link to the domain and still reach the time asked, with templates and senders per template', () => {
    const a = pretext(1);
    const b = pretext(2, { messages: 20, distinctSenders: 10, replies: 1 });
    const other = cluster(id(3), { messages: 99, distinctSenders: 9, urlDomains: ['elsewhere.example'] });
    const g = groupOf(KIT, [a, b, other], T0)!;
    const w = g.windows.find((x) => x.window === '15m')!;
    assert.equal(w.templates, 2);
    assert.equal(w.messages, 60);
    assert.equal(w.distinctSenders, 48);
    assert.equal(w.replies, 1);
    assert.equal(domainValue(w, 'sendersPerTemplate'), 24);
    assert.equal(domainValue(w, 'messagesPerSender'), 60 / 48);
    // A template quiet for longer than 15 minutes counts in the hour, not in the 15 minutes.
    const quiet = pretext(4, {}, T0 - 20 * MINUTE);
    const later = groupOf(KIT, [a, quiet], T0)!;
    assert.equal(later.windows.find((x) => x.window === '15m')!.templates, 1);
    assert.equal(later.windows.find((x) => x.window === '1h')!.templates, 2);
    assert.equal(groupOf('nobody.example', [a], T0), undefined);
  });

  it('index follows each cluster to its newest domains, forgets deleted clusters, and sums the newest templates only past the cap', () => {
    const held = new Map<string, ClusterFeatures>();
    const index = createDomainIndex((x) => held.get(x));
    const put = (c: ClusterFeatures) => {
      held.set(c.clusterId, c);
      index.put(c);
    };
    put(pretext(1));
    put(pretext(2));
    assert.equal(index.group(KIT, T0)!.windows[0]!.templates, 2);
    put(pretext(2, { urlDomains: ['moved.example'] }));
    assert.equal(index.group(KIT, T0)!.windows[0]!.templates, 1);
    assert.equal(index.group('moved.example', T0)!.windows[0]!.templates, 1);
    index.delete(id(1));
    held.delete(id(1));
    assert.equal(index.group(KIT, T0), undefined);
    assert.equal(index.domains, 1);
    for (let k = 0; k < MAX_GROUP_TEMPLATES + 10; k++)
      put(cluster(`1${String(k).padStart(13, '0')}`, { messages: 1, urlDomains: ['many.example'] }, T0 - k));
    assert.equal(index.group('many.example', T0)!.windows[0]!.templates, MAX_GROUP_TEMPLATES);
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
  });
});
