// The principles every policy must follow (docs/policy.md), pinned on the default policy and,
// where they are enforced in code, on random policies too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Reason, SenderFeatures } from '@spamgate/schemas';
import { mulberry32 } from '@spamgate/test';
import { decide, EMPTY_STATE } from '../src/decider.ts';
import { ACTION_RANK, evaluate } from '../src/evaluate.ts';
import { parsePolicy, RULE_CLASSES, SENDER_FEATURES } from '../src/policy.ts';
import {
  BLAST,
  capOf,
  cluster,
  context,
  DEFAULT_POLICY,
  DEFAULT_POLICY_PATH,
  features,
  type WindowPatch,
} from './fixtures.ts';

const POLICY_DOC = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));

const noClusters = { cluster: () => undefined, content: () => undefined, capOf };

function evalDefault(f: SenderFeatures, clusters: ReturnType<typeof cluster>[] = []) {
  const byId = new Map(clusters.map((c) => [c.clusterId, c]));
  return evaluate(
    DEFAULT_POLICY,
    { features: f, cluster: (id) => byId.get(id), content: () => undefined, capOf },
    'enter',
    f.asOf,
  );
}

const codes = (reasons: readonly Reason[]) => reasons.map((r) => r.code);

test('hard BLOCK: sends after opt-out, a deny-listed URL domain, the Do-Not-Originate list, an operator block', () => {
  // postOptOutSends leaves out one confirmation within 5 minutes of the STOP: the second message
  // after an opt-out is the first one counted, and it blocks.
  const optOut = evalDefault(features({ windows: { '24h': { messages: 3, postOptOutSends: 1 } } }));
  assert.equal(optOut.action, 'BLOCK');
  assert.equal(optOut.score, 1);
  assert.deepEqual(optOut.reasons[0], {
    code: 'POST_OPT_OUT_SENDS',
    feature: 'postOptOutSends',
    window: '24h',
    observed: 1,
    threshold: 1,
  });
  const confirmationOnly = evalDefault(features({ windows: { '24h': { messages: 3, postOptOutSends: 0 } } }));
  assert.notEqual(confirmationOnly.action, 'BLOCK', 'the one confirmation after a STOP is not counted');

  const deny = evalDefault(features({ urlDomains: ['example.org', 'PHISH-EXAMPLE.test'] }));
  assert.equal(deny.action, 'BLOCK');
  assert.equal(deny.reasons[0]!.code, 'DENY_LISTED_URL');
  assert.equal(deny.reasons[0]!.feature, 'urlDomains[phish-example.test]');

  const quiet = features();
  const dno = decide(
    context({ doNotOriginate: true }),
    quiet,
    EMPTY_STATE,
    {
      kind: 'FEATURES',
      at: quiet.asOf,
      basis: '',
    },
    quiet.asOf,
  );
  assert.equal(dno.publish?.action, 'BLOCK');
  assert.equal(dno.publish?.reasons[0]?.code, 'DO_NOT_ORIGINATE');
  assert.equal(dno.publish?.policyAction, 'ALLOW', 'the policy itself saw nothing');

  const op = decide(
    context({
      override: {
        overrideId: 'o-1',
        scope: 'SENDER',
        target: quiet.sender,
        action: 'BLOCK',
        createdAt: quiet.asOf,
        expiresAt: null,
      },
    }),
    quiet,
    EMPTY_STATE,
    { kind: 'OVERRIDE', at: quiet.asOf, basis: 'o-1' },
    quiet.asOf,
  );
  assert.equal(op.publish?.action, 'BLOCK');
  assert.equal(op.publish?.overrideId, 'o-1');
  assert.equal(op.publish?.reasons[0]?.code, 'OPERATOR_BLOCK');
});

test('a policy cannot make a hard rule of anything but postOptOutSends', () => {
  const doc = JSON.parse(JSON.stringify(rawDefault()));
  doc.profiles.consumer.rules.push({
    code: 'TEMPLATE_IS_SPAM',
    class: 'hard',
    feature: 'topTemplateShare',
    window: '1h',
    op: '>=',
    threshold: 0.9,
  });
  assert.throws(() => parsePolicy(doc, 'test'), /a hard rule may only read postOptOutSends/);
});

test('no rule can read what a message says: only numeric features exist, and nothing else is accepted', () => {
  for (const feature of [
    'body',
    'text',
    'content',
    'keywords',
    'cluster.campaignIds',
    'cluster.urlDomains',
    'sender',
  ]) {
    const doc = rawDefault();
    doc.profiles.consumer.rules.push({
      code: 'X_RULE',
      class: 'signal',
      feature,
      window: '1h',
      op: '>=',
      threshold: 1,
      weight: 0.1,
    });
    assert.throws(() => parsePolicy(doc, 'test'), /unknown (cluster )?feature/, feature);
  }
  // The sender features a rule can read are counts and shares: the schema's numeric fields.
  for (const name of SENDER_FEATURES) {
    const w = features().windows[0]!;
    assert.equal(typeof w[name], 'number', name);
  }
});

test('volume alone only throttles; a registered sender over its cap is throttled at its cap, never blocked', () => {
  const volume: WindowPatch = {
    messages: 5000,
    distinctRecipients: 100,
    peak1s: 50,
    peak10s: 400,
    replyRate: 0.3,
    repliedRecipients: 30,
  };
  const consumer = evalDefault(features({ windows: { all: volume } }));
  assert.equal(consumer.action, 'THROTTLE');
  assert.deepEqual(consumer.throttle, {
    perMinute: DEFAULT_POLICY.profiles.consumer.throttleRatePerMinute,
    perHour: null,
    scope: 'NEW_CONTACTS',
  });

  const overCap = evalDefault(
    features({ campaignId: 'CAMP123', windows: { all: { ...volume, registeredCapShare: 16 } } }),
  );
  assert.equal(overCap.action, 'THROTTLE');
  assert.equal(overCap.throttle?.perMinute, 75, 'at the tier cap of the registrations file');
  assert.equal(overCap.throttle?.scope, 'ALL_RECIPIENTS', 'a cap is on all of a campaign’s traffic');
  assert.ok(codes(overCap.reasons).includes('OVER_REGISTERED_CAP_1M'));

  const registered = evalDefault(
    features({
      campaignId: 'CAMP123',
      windows: { all: { ...BLAST.all, registeredCapShare: 16, optOutRate: 0.2, spamReports: 40 } },
    }),
  );
  assert.equal(registered.action, 'THROTTLE', 'even with the outcomes of a spam blast');
  assert.ok(
    registered.throttle!.perMinute! <= 75,
    'bad outcomes throttle a registered sender below its cap (half its own pace), never block it',
  );
});

test('random policies: without hard evidence a BLOCK always rests on an outcome plus volume or spread', () => {
  const rnd = mulberry32(6);
  const classes = RULE_CLASSES.filter((c) => c !== 'hard');
  for (let round = 0; round < 300; round++) {
    const doc = rawDefault();
    for (const name of ['consumer', 'registered', 'tollFree', 'shortCode', 'other'] as const) {
      const rules = [];
      for (let i = 0; i < 6; i++) {
        const feature = SENDER_FEATURES[Math.floor(rnd() * SENDER_FEATURES.length)]!;
        rules.push({
          code: `R_${i}`,
          class: classes[Math.floor(rnd() * classes.length)],
          feature,
          window: ['1m', '10m', '1h', '24h'][Math.floor(rnd() * 4)],
          op: rnd() < 0.8 ? '>=' : '<=',
          threshold: rnd() < 0.5 ? rnd() : Math.floor(rnd() * 100),
          weight: rnd(),
          decisive: rnd() < 0.8,
        });
      }
      doc.profiles[name].rules = rules;
      doc.profiles[name].behaviouralBlock = rnd() < 0.7;
    }
    const policy = parsePolicy(doc, 'random');
    const patch: WindowPatch = {};
    for (const name of SENDER_FEATURES) patch[name] = rnd() < 0.5 ? rnd() : Math.floor(rnd() * 200);
    patch.postOptOutSends = 0;
    const f = features({ windows: { all: patch }, campaignId: rnd() < 0.3 ? 'C1' : null });
    const e = evaluate(policy, { features: f, ...noClusters }, 'enter', f.asOf);
    if (e.action === 'THROTTLE')
      assert.ok(
        e.throttle && (e.throttle.perMinute !== null || e.throttle.perHour !== null),
        'a THROTTLE limits something',
      );
    const profile = policy.profiles[f.campaignId ? 'registered' : 'consumer'];
    const byCode = new Map(profile.rules.map((r) => [r.code, r]));
    const classesFired = e.reasons.map((r) => byCode.get(r.code)!);
    if (e.action === 'BLOCK') {
      assert.ok(
        profile.behaviouralBlock,
        'a profile without behavioural blocks never blocks without hard evidence',
      );
      assert.ok(
        classesFired.some((r) => r.class === 'outcome' && r.decisive),
        'a decisive outcome',
      );
      assert.ok(
        classesFired.some((r) => r.class === 'volume' || r.class === 'spread'),
        'with volume or spread',
      );
    }
    if (classesFired.every((r) => r.class === 'volume' || r.class === 'signal'))
      assert.ok(ACTION_RANK[e.action] <= ACTION_RANK.THROTTLE, 'volume and signals alone never block');
    if (classesFired.every((r) => r.class === 'signal'))
      assert.ok(ACTION_RANK[e.action] <= ACTION_RANK.MONITOR);
  }
});

test('a behavioural BLOCK needs recipient outcomes to agree with volume or spread', () => {
  const happyBlast = evalDefault(
    features({ windows: { all: { ...BLAST.all, replyRate: 0.2, repliedRecipients: 240 } } }),
  );
  assert.equal(happyBlast.action, 'THROTTLE', 'volume and spread with people answering: throttle');
  const silentBlast = evalDefault(features({ windows: { all: BLAST.all } }));
  assert.equal(
    silentBlast.action,
    'BLOCK',
    'nobody answers a thousand strangers: no replies agree with the volume',
  );
  assert.ok(codes(silentBlast.reasons).includes('NO_REPLIES'));
  const reported = evalDefault(
    features({ windows: { all: { ...BLAST.all, replyRate: 0.2, repliedRecipients: 240, spamReports: 4 } } }),
  );
  assert.equal(reported.action, 'BLOCK', 'spam reports agree with the volume');
  assert.deepEqual(codes(reported.reasons).slice(0, 1), ['SPAM_REPORTS'], 'outcomes are listed first');

  const failuresOnly = evalDefault(
    features({
      windows: { all: { ...BLAST.all, replyRate: 0.2, repliedRecipients: 240, deliveryFailureRate: 0.9 } },
    }),
  );
  assert.equal(failuresOnly.action, 'THROTTLE', 'delivery failures (stale lists) are never decisive');
});

test('messages to two-way contacts never count against a sender', () => {
  const chatty: WindowPatch = {
    messages: 1500,
    distinctRecipients: 250,
    peak1s: 8,
    peak10s: 40,
    newContactShare: 0,
    replyRate: 0.8,
  };
  const strangers = evalDefault(features({ windows: { all: chatty } }));
  assert.equal(strangers.action, 'THROTTLE', 'the same volume to strangers is throttled');
  const contacts = evalDefault(features({ windows: { all: { ...chatty, contactShare: 1 } } }));
  assert.equal(contacts.action, 'ALLOW');
  assert.deepEqual(contacts.reasons, []);
  // Monotone: more of the same traffic going to contacts never raises the action.
  const rnd = mulberry32(11);
  for (let i = 0; i < 500; i++) {
    const patch: WindowPatch = {};
    for (const name of SENDER_FEATURES) patch[name] = rnd() < 0.5 ? rnd() : Math.floor(rnd() * 3000);
    patch.postOptOutSends = 0;
    const lo = rnd() * 0.5;
    const hi = lo + rnd() * (1 - lo);
    const a = evalDefault(features({ windows: { all: { ...patch, contactShare: lo } } }));
    const b = evalDefault(features({ windows: { all: { ...patch, contactShare: hi } } }));
    assert.ok(
      ACTION_RANK[b.action] <= ACTION_RANK[a.action],
      `contactShare ${lo} -> ${hi}: ${a.action} -> ${b.action}`,
    );
  }
});

test('snowshoe: a fresh number is blocked on its first messages when its cluster is spam across many numbers', () => {
  const id = '0a1b2c3d4e5f60';
  const spamCluster = cluster(id, {
    distinctSenders: 180,
    distinctRecipients: 900,
    optOutRate: 0.08,
    spamReports: 12,
    messages: 1000,
  });
  const fresh = features({
    clusters: [id],
    windows: { all: { messages: 2, distinctRecipients: 2, newContactShare: 1 } },
  });
  const e = evalDefault(fresh, [spamCluster]);
  assert.equal(e.action, 'BLOCK');
  assert.ok(e.reasons.some((r) => r.feature === `cluster[${id}].spamReportRate`));
  // An unregistered campaign as big as that draws as many reports at a rate wanted traffic
  // draws (0.2 %): its size is not evidence, and its volunteers are not blocked.
  const big = cluster(id, {
    distinctSenders: 180,
    distinctRecipients: 6_000,
    optOutRate: 0.03,
    spamReports: 12,
    messages: 6_000,
  });
  const volunteerUnregistered = features({
    clusters: [id],
    windows: { '1h': { messages: 60, distinctRecipients: 60, newContactShare: 1, topTemplateShare: 1 } },
  });
  const v = evalDefault(volunteerUnregistered, [big]);
  assert.ok(!codes(v.reasons).includes('CLUSTER_SPAM_REPORTS'), codes(v.reasons).join());
  assert.notEqual(v.action, 'BLOCK');
  // The same template from a registered campaign (P2P texting): not spread evidence at all.
  const campaign = cluster(id, {
    distinctSenders: 180,
    distinctRecipients: 900,
    optOutRate: 0.03,
    registeredShare: 1,
    messages: 1000,
  });
  const volunteer = features({
    campaignId: 'CPOL1',
    clusters: [id],
    windows: { all: { messages: 40, distinctRecipients: 40, newContactShare: 1 } },
  });
  assert.equal(evalDefault(volunteer, [campaign]).action, 'ALLOW');
});

test('a volunteer in conversation with voters is not blocked for the few STOPs chance gives it', () => {
  const id = '0a1b2c3d4e5f60';
  // One script from 121 unregistered volunteers, their recipients all new, 7 STOPs in 120
  // texts by chance: every shared signal of a snowshoe, and opt-outs over 5%.
  const campaign = cluster(id, {
    distinctSenders: 121,
    distinctRecipients: 5_000,
    optOutRate: 0.03,
    spamReports: 10,
  });
  const volunteer = (replyRate: number) =>
    features({
      clusters: [id],
      windows: {
        '1h': { messages: 120, distinctRecipients: 120, newContactShare: 1, topTemplateShare: 1 },
        '24h': { messages: 120, distinctRecipients: 120, optOutRate: 0.06, replyRate },
      },
    });
  // Voters answer it (8%): throttled at a person's pace at most, never blocked.
  assert.notEqual(evalDefault(volunteer(0.08), [campaign]).action, 'BLOCK');
  // Nobody answers the same shape: the opt-outs count, and it is blocked.
  const silent = evalDefault(volunteer(0), [campaign]);
  assert.equal(silent.action, 'BLOCK');
  assert.ok(codes(silent.reasons).includes('OPT_OUT_RATE'));
});

test('spread evidence alone is watched, a script or rotating links to strangers throttle new contacts at a binding rate', () => {
  const id = '0a1b2c3d4e5f60';
  // A snowshoe cluster before any recipient reacted: many unregistered numbers, one template.
  const fresh = cluster(id, { distinctSenders: 14, distinctRecipients: 420, messages: 500 });
  const shape = { messages: 20, distinctRecipients: 20, newContactShare: 1, urlShare: 1 };
  const scripted = evalDefault(
    features({ clusters: [id], windows: { all: shape, '10m': { ...shape, timingCv: 0.05 } } }),
    [fresh],
  );
  assert.equal(scripted.action, 'THROTTLE');
  assert.ok(codes(scripted.reasons).includes('SCRIPTED_LINKS'));
  assert.deepEqual(scripted.throttle, { perMinute: null, perHour: 6, scope: 'NEW_CONTACTS' });
  // A script without links or numbers to call (a survey asking for a reply) is watched, not slowed.
  const survey = evalDefault(
    features({
      windows: { all: { ...shape, urlShare: 0 }, '10m': { ...shape, urlShare: 0, timingCv: 0.05 } },
    }),
  );
  assert.ok(survey.action === 'ALLOW' || survey.action === 'MONITOR', survey.action);
  // The same spread sent by a person (irregular gaps), as peer-to-peer volunteers do: watched only.
  const byHand = evalDefault(
    features({ clusters: [id], windows: { all: shape, '10m': { ...shape, timingCv: 0.9 } } }),
    [fresh],
  );
  assert.equal(byHand.action, 'MONITOR');
  assert.ok(codes(byHand.reasons).includes('SNOWSHOE_CLUSTER'));
  // Rotating wordings, every one a link to someone new: the evasion of content filters.
  const rotating = evalDefault(
    features({
      windows: {
        '10m': {
          messages: 8,
          distinctRecipients: 8,
          newContactShare: 1,
          urlShare: 1,
          distinctTemplates: 6,
          timingCv: 0.5,
        },
      },
    }),
  );
  assert.equal(rotating.action, 'THROTTLE');
  assert.equal(rotating.throttle?.perHour, 3);
  // A policy still naming throttleScore is refused with the reason.
  assert.throws(() => parsePolicy({ ...rawDefault(), throttleScore: 0.4 }, 'test'), /throttleScore/);
});

type ProfileDoc = { rules: unknown[]; behaviouralBlock: boolean };
function rawDefault(): Record<string, unknown> & {
  profiles: Record<'consumer' | 'registered' | 'tollFree' | 'shortCode' | 'other', ProfileDoc>;
} {
  return structuredClone(POLICY_DOC);
}
