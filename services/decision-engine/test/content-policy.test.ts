// The policy's content section: what it accepts and refuses, and what a registered campaign's
// review asks for beside what blocks an unregistered template.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { judgeCluster } from '../src/content-decider.ts';
import { parsePolicy } from '../src/policy.ts';
import { cluster, DEFAULT_POLICY, DEFAULT_POLICY_PATH } from './fixtures.ts';

const raw = () =>
  JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8')) as Record<string, unknown> & {
    content: Record<string, unknown>;
  };
const ID = '0a1b2c3d4e5f60';

describe('the content section', () => {
  it('refuses rules that read a sender feature, volume evidence, throttles, hard rules on anything but messages after STOP, and unknown codes in groups', () => {
    const bad = (patch: Record<string, unknown>, re: RegExp) => {
      const doc = raw();
      doc.content = { ...doc.content, ...patch };
      assert.throws(() => parsePolicy(doc, 'test'), re);
    };
    const rule = {
      code: 'X_RULE',
      class: 'spread',
      feature: 'cluster.distinctSenders',
      window: '1h',
      op: '>=',
      threshold: 3,
      weight: 0.5,
    };
    bad(
      { rules: [{ ...rule, feature: 'messages' }], blockRequires: [['X_RULE']] },
      /cluster and group features only/,
    );
    bad({ rules: [{ ...rule, class: 'volume' }], blockRequires: [['X_RULE']] }, /not volume evidence/);
    bad({ rules: [{ ...rule, throttle: { perHour: 3 } }], blockRequires: [['X_RULE']] }, /cannot throttle/);
    bad(
      { rules: [{ ...rule, class: 'hard' }], blockRequires: [['X_RULE']] },
      /hard content rule may only read/,
    );
    bad({ rules: [rule], blockRequires: [['NO_SUCH_RULE']] }, /no content rule has code NO_SUCH_RULE/);
    bad({ rules: [rule], blockRequires: [] }, /blockRequires must be a non-empty array/);
    bad({ sharedDomains: ['not a domain'] }, /sharedDomains/);
  });

  it('blocks an unregistered template on complaints over replies, but reviews a registered one only on twelve complaints or more', () => {
    const content = DEFAULT_POLICY.content!;
    const few = {
      messages: 300,
      distinctSenders: 20,
      distinctRecipients: 280,
      optOuts: 5,
      spamReports: 1,
      replies: 0,
    };
    assert.equal(judgeCluster(content, cluster(ID, few), false).action, 'BLOCK');
    assert.equal(judgeCluster(content, cluster(ID, { ...few, registeredShare: 1 }), false).action, 'ALLOW');
    const many = { ...few, optOuts: 14, spamReports: 2, replies: 2 };
    assert.equal(
      judgeCluster(content, cluster(ID, { ...many, registeredShare: 1 }), false).action,
      'MONITOR',
    );
  });

  it('blocks any template, registered too, whose messages keep reaching people who said STOP', () => {
    const content = DEFAULT_POLICY.content!;
    const violating = {
      messages: 300,
      distinctSenders: 20,
      distinctRecipients: 280,
      replies: 30,
      postOptOutSends: 4,
      registeredShare: 1,
    };
    const d = judgeCluster(content, cluster(ID, violating), false);
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.reasons[0]!.code, 'CONTENT_OPT_OUT_VIOLATIONS');
    // A slip in a big campaign (under 1 % of its messages) does not.
    assert.equal(
      judgeCluster(content, cluster(ID, { ...violating, messages: 3_000 }), false).action,
      'ALLOW',
    );
  });

  it('blocks any template, registered too, that several of its numbers keep sending after ignoring a STOP, not one a volunteer slipped on', () => {
    const content = DEFAULT_POLICY.content!;
    // A bot's opener from 40 numbers, 5 of which have sent past someone's STOP within the hour:
    // its own recipients answer it and none of them opted out, so no outcome rule would fire.
    const crew = {
      messages: 300,
      distinctSenders: 40,
      distinctRecipients: 300,
      replies: 12,
      optOutIgnoringSenders: 5,
      registeredShare: 1,
    };
    const d = judgeCluster(content, cluster(ID, crew), false);
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.reasons[0]!.code, 'CONTENT_OPT_OUT_CREW');
    const allowed = (patch: Partial<typeof crew>, why: string) =>
      assert.notEqual(judgeCluster(content, cluster(ID, { ...crew, ...patch }), false).action, 'BLOCK', why);
    allowed({ optOutIgnoringSenders: 2 }, 'two numbers');
    allowed({ distinctSenders: 100, messages: 1_000, distinctRecipients: 1_000 }, '5 of 100 numbers');
  });

  it('blocks any template, registered too, whose numbers told STOP about it mostly text past the STOP, not one whose numbers honour it', () => {
    const content = DEFAULT_POLICY.content!;
    // A slow bot's opener from 400 numbers, 3 minutes in: 4 of them were told STOP about it and 3
    // of those texted the person again (in another template, the pitch); nobody has told the rest.
    const bot = {
      messages: 240,
      distinctSenders: 230,
      distinctRecipients: 240,
      optOuts: 4,
      optOutRate: 4 / 240,
      replies: 9,
      optedOutSenders: 4,
      optOutIgnoredSenders: 3,
      registeredShare: 1,
    };
    const d = judgeCluster(content, cluster(ID, bot), false);
    assert.equal(d.action, 'BLOCK');
    assert.equal(d.reasons[0]!.code, 'CONTENT_OPT_OUT_IGNORED');
    const allowed = (patch: Partial<typeof bot>, why: string) =>
      assert.notEqual(judgeCluster(content, cluster(ID, { ...bot, ...patch }), false).action, 'BLOCK', why);
    allowed({ optOutIgnoredSenders: 2 }, 'two numbers');
    // Volunteers of a large campaign: 3 slips among 120 numbers told STOP.
    allowed(
      {
        optedOutSenders: 120,
        optOuts: 130,
        optOutRate: 130 / 6_000,
        messages: 6_000,
        distinctRecipients: 6_000,
      },
      '3 of 120 told',
    );
    // A greeting friends send each other: a rare STOP, answered by more texts between friends.
    allowed(
      { optOutRate: 4 / 20_000, distinctRecipients: 20_000, messages: 20_000, replies: 9_000 },
      'one STOP in 5,000',
    );
  });

  it('blocks a template spread thinly over many numbers that nobody answers once its recipients have had time, nothing like it', () => {
    const content = DEFAULT_POLICY.content!;
    // Snowshoe: 240 fresh numbers, one text each, three minutes in, one STOP and no answer.
    const snowshoe = {
      messages: 240,
      distinctSenders: 240,
      distinctRecipients: 240,
      optOuts: 1,
      replies: 0,
      sendingForMs: 180_000,
    };
    const d = judgeCluster(content, cluster(ID, snowshoe), false);
    assert.equal(d.action, 'BLOCK');
    assert.ok(d.reasons.some((r) => r.code === 'CONTENT_SNOWSHOE'));
    const allowed = (patch: Partial<typeof snowshoe> & { registeredShare?: number }, why: string) =>
      assert.equal(judgeCluster(content, cluster(ID, { ...snowshoe, ...patch }), false).action, 'ALLOW', why);
    // Unregistered peer-to-peer volunteers starting a shift: the first seconds look the same.
    allowed({ sendingForMs: 60_000 }, 'too young: its recipients have not had time to answer');
    allowed({ replies: 12 }, 'answered: 5 % of its recipients');
    allowed({ messages: 240 * 12 }, 'a dozen each: volunteers or a business, not disposable numbers');
    allowed({ distinctSenders: 30, messages: 60 }, 'a handful of numbers');
    allowed({ distinctRecipients: 100 }, 'too few recipients to call it silence');
    // A registered template is reviewed on complaints, never blocked on silence.
    allowed({ registeredShare: 1 }, 'registered');
  });
});
