/**
 * Each scenario's traits, checked statistically on ten minutes of the default mix at 200
 * messages/s, and against the feature engine's own content rules (opt-out keywords, content
 * clusters, link domains) and the demo's registrations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIdOf, createClusterKey, extractUrls, isOptOut } from '@spamgate/core';
import { capOf, type FeedbackEvent, loadRegistrations, type MessageEvent } from '@spamgate/schemas';
import { ANSWERING_LABEL } from '../src/responses.ts';
import type { SimEvent } from '../src/simulation.ts';
import { DEMO_REGISTRATIONS, groupBy, median, messagesOf, postOptOutSends, run } from './fixtures.ts';

const events = run(11, 200, 600_000);
const registrations = loadRegistrations(DEMO_REGISTRATIONS);
const clusterKey = createClusterKey('simulator-test-cluster-secret');
const answers = messagesOf(events, ANSWERING_LABEL).map((m) => m.value);
const feedback = (label: string, kind?: FeedbackEvent['kind']) =>
  events
    .filter((e): e is Extract<SimEvent, { type: 'feedback' }> => e.type === 'feedback' && e.label === label)
    .map((e) => e.value)
    .filter((f) => kind === undefined || f.kind === kind);
const sent = (label: string): MessageEvent[] => messagesOf(events, label).map((m) => m.value);

/** Most messages a sender sent within one clock second / clock minute. */
function peaks(messages: readonly MessageEvent[]): { second: number; minute: number } {
  const count = (size: number) => {
    const buckets = groupBy(messages, (m) => Math.floor(m.eventTime / size));
    return Math.max(0, ...[...buckets.values()].map((b) => b.length));
  };
  return { second: count(1_000), minute: count(60_000) };
}

describe('scenarios', () => {
  it('never share numbers: each scenario has its own senders and recipients', () => {
    const owner = new Map<string, string>();
    for (const e of events) {
      if (e.type !== 'message' || e.label === ANSWERING_LABEL) continue;
      for (const address of [e.value.sender, e.value.recipient]) {
        const first = owner.get(address);
        if (first === undefined) owner.set(address, e.label);
        else assert.equal(first, e.label, `${address} is in ${first} and ${e.label}`);
      }
    }
    for (const address of owner.keys()) assert.match(address, /^(\+1\d{3}555\d{4}|\d{5,6})$/);
  });

  it('answer with STOP only in words the feature engine takes for an opt-out, and nothing else is one', () => {
    let optOuts = 0;
    for (const e of events) {
      if (e.type !== 'message' || !isOptOut(e.value.body)) continue;
      optOuts++;
      assert.equal(e.label, ANSWERING_LABEL, `an opt-out from a scenario sender: ${e.value.body}`);
    }
    assert.ok(optOuts > 500, `${optOuts} opt-outs`);
    for (const body of [
      'STOP',
      'Stop please',
      'stop texting me',
      'UNSUBSCRIBE',
      'STOP ALL',
      'Quit',
      'cancel',
      'STOP!',
    ]) {
      assert.ok(isOptOut(body), body);
    }
  });

  it('ordinary subscribers text contacts who text them back, at a human pace, in texts that form no campaign', () => {
    const chat = sent('ordinary');
    const pairs = new Set(chat.map((m) => `${m.sender}>${m.recipient}`));
    const answered = chat.filter((m) => pairs.has(`${m.recipient}>${m.sender}`)).length;
    assert.ok(
      answered > chat.length * 0.8,
      `${answered} of ${chat.length} texts are to someone who texts back`,
    );
    for (const [sender, texts] of groupBy(chat, (m) => m.sender)) {
      const p = peaks(texts);
      assert.ok(p.second <= 3 && p.minute < 30, `${sender}: ${p.second}/s, ${p.minute}/min`);
    }
    const senders = groupBy(
      [...chat, ...sent('group-chat'), ...answers].filter((m) => clusterIdOf(m.body, clusterKey) !== null),
      (m) => clusterIdOf(m.body, clusterKey),
    );
    for (const [cluster, texts] of senders) {
      const distinct = new Set(texts.map((m) => m.sender)).size;
      assert.ok(distinct < 3, `cluster ${cluster} of personal texts spans ${distinct} senders`);
    }
  });

  it('a group post reaches every other member in the same millisecond, and heavy users are in several groups', () => {
    const posts = groupBy(sent('group-chat'), (m) => `${m.sender}@${m.eventTime}#${m.body}`);
    const sizes = [...posts.values()].map((p) => p.length);
    assert.ok(
      Math.min(...sizes) >= 2 && Math.max(...sizes) <= 8,
      `copies per post ${Math.min(...sizes)}..${Math.max(...sizes)}`,
    );
    const groupsOf = new Map<string, Set<string>>();
    for (const p of posts.values()) {
      const group = [p[0]!.sender, ...p.map((m) => m.recipient)].sort().join(',');
      groupsOf.set(p[0]!.sender, (groupsOf.get(p[0]!.sender) ?? new Set()).add(group));
    }
    const heavy = [...groupsOf.values()].filter((g) => g.size >= 2).length;
    assert.ok(heavy >= 10, `${heavy} senders post in two or more groups`);
  });

  it('the auto-reply loop bounces the same two texts between two numbers every few seconds', () => {
    const loop = sent('auto-reply-loop');
    for (const [, texts] of groupBy(loop, (m) => [m.sender, m.recipient].sort().join('-'))) {
      // texts[0] is the human text that set it off.
      for (let i = 3; i < texts.length; i++) {
        assert.equal(texts[i]!.sender, texts[i - 2]!.sender);
        assert.equal(texts[i]!.body, texts[i - 2]!.body);
        const gap = texts[i]!.eventTime - texts[i - 1]!.eventTime;
        assert.ok(gap >= 1_900 && gap <= 6_100, `gap ${gap} ms`);
      }
      assert.ok(texts.length > 100, `${texts.length} texts in a loop`);
    }
  });

  it('the registered business stays under its tier cap on every number and stops after one opt-out confirmation', () => {
    const business = sent('business-10dlc');
    const cap = capOf(registrations, business[0]!.campaignId)!;
    assert.equal(registrations.campaigns.get(business[0]!.campaignId!), 'vetted-low');
    for (const [sender, texts] of groupBy(business, (m) => m.sender)) {
      assert.ok(peaks(texts).minute < cap.perMinute! * 0.8, `${sender}: ${peaks(texts).minute} in a minute`);
      assert.ok(texts.every((m) => m.campaignId === 'CBZ4Q7M'));
    }
    const confirmations = business.filter((m) => m.body?.includes('You are unsubscribed'));
    assert.ok(confirmations.length > 0);
    for (const [sender, times] of postOptOutSends(events, 'business-10dlc'))
      assert.fail(`${sender} sent ${times.length} after STOP`);
  });

  it('P2P volunteers send one personalised script each, a few seconds apart like people pressing send', () => {
    for (const [label, campaignId, domain] of [
      ['p2p-registered', 'CX7P2VR', 'riveraforsenate.example'],
      ['p2p-unregistered', null, 'cleanwaterneighbors.example'],
    ] as const) {
      const texts = sent(label);
      assert.ok(texts.every((m) => m.campaignId === campaignId));
      if (campaignId) assert.ok(registrations.campaigns.has(campaignId));
      const openers = texts.filter((m) => /^(Hi|Hey) /.test(m.body ?? ''));
      const clusters = new Set(openers.map((m) => clusterIdOf(m.body, clusterKey)));
      assert.equal(clusters.size, 1, `${label}: one script, one content cluster`);
      assert.ok(new Set(openers.map((m) => m.body)).size > openers.length * 0.5, 'personalised');
      assert.ok(openers.every((m) => extractUrls(m.body).length === 1 && m.body!.includes(domain)));
      const volunteers = groupBy(openers, (m) => m.sender);
      assert.ok(volunteers.size >= 80, `${label}: ${volunteers.size} volunteers`);
      const gaps = [...volunteers.values()].flatMap((v) =>
        v.slice(1).map((m, i) => m.eventTime - v[i]!.eventTime),
      );
      const mid = median(gaps);
      assert.ok(mid >= 3_000 && mid <= 10_000, `${label}: median gap ${mid} ms`);
      assert.ok(Math.min(...gaps) >= 500, `${label}: a volunteer sent twice within ${Math.min(...gaps)} ms`);
      for (const v of volunteers.values()) assert.ok(peaks(v).minute < 30);
      // Outcomes: some answer, some opt out (and are never texted again), some numbers fail.
      const senders = new Set(texts.map((m) => m.sender));
      const theirAnswers = answers.filter((a) => senders.has(a.recipient));
      const optOuts = theirAnswers.filter((a) => isOptOut(a.body)).length;
      assert.ok(optOuts > openers.length * 0.01 && optOuts < openers.length * 0.05, `${optOuts} opt-outs`);
      assert.ok(theirAnswers.length - optOuts > openers.length * 0.04, 'replies');
      const failures = feedback(label, 'DELIVERY_FAILURE').length;
      assert.ok(failures > openers.length * 0.05 && failures < openers.length * 0.11, `${failures} failures`);
      assert.equal(postOptOutSends(events, label).size, 0, `${label} texts someone after STOP`);
    }
  });

  it('the school alert is one burst from a registered short code, within its provisioned rate', () => {
    const alert = sent('school-alert');
    assert.ok(alert.every((m) => m.senderKind === 'SHORT_CODE' && m.sender === '555888'));
    const cap = capOf(registrations, alert[0]!.campaignId)!;
    const p = peaks(alert);
    assert.ok(p.second <= cap.perMinute! / 60 && p.second >= 50, `${p.second} in one second`);
    const bulk = alert.filter((m) => m.body?.includes('all schools are closed'));
    assert.equal(new Set(bulk.map((m) => m.recipient)).size, bulk.length, 'each parent once');
    const span = bulk.at(-1)!.eventTime - bulk[0]!.eventTime;
    assert.ok(span < 120_000, `burst of ${bulk.length} over ${span} ms`);
    assert.equal(postOptOutSends(events, 'school-alert').size, 0);
  });

  it("a reassigned number gets the previous owner's reports and STOPs, yet only texts its own contacts", () => {
    const owners = groupBy(sent('reassigned'), (m) => m.sender);
    assert.ok(owners.size >= 10);
    const reports = feedback('reassigned', 'SPAM_REPORT');
    for (const [owner, texts] of owners) {
      const friends = new Set(texts.map((m) => m.recipient));
      assert.ok(friends.size <= 8, `${owner} texts ${friends.size} people; it has 8 contacts`);
      const strangers = [
        ...reports.filter((r) => r.sender === owner).map((r) => r.recipient),
        ...answers
          .filter(
            (a) =>
              a.recipient === owner && (isOptOut(a.body) || /who is this|wrong|list/i.test(a.body ?? '')),
          )
          .map((a) => a.sender),
      ];
      for (const s of strangers) assert.ok(!friends.has(s as string), `${owner} texts ${s}, who complained`);
    }
    assert.ok(reports.length >= owners.size * 3);
    assert.ok(
      answers.some((a) => owners.has(a.recipient) && isOptOut(a.body)),
      'strangers text STOP',
    );
  });

  it('snowshoe spreads one template with per-recipient links over many fresh numbers, each under the per-number limits', () => {
    const phish = sent('snowshoe');
    const numbers = groupBy(phish, (m) => m.sender);
    assert.ok(numbers.size >= 100, `${numbers.size} numbers`);
    for (const [sender, texts] of numbers) {
      const p = peaks(texts);
      assert.ok(p.second < 5 && p.minute < 60, `${sender}: ${p.second}/s, ${p.minute}/min`);
      assert.ok(new Set(texts.map((m) => m.recipient)).size < 200);
      const gaps = texts.slice(1).map((m, i) => m.eventTime - texts[i]!.eventTime);
      if (gaps.length >= 20) {
        const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
        const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
        assert.ok(sd / mean < 0.1, `${sender}: timing cv ${sd / mean} (a script is metronomic)`);
      }
    }
    assert.equal(new Set(phish.map((m) => clusterIdOf(m.body, clusterKey))).size, 1, 'one template');
    const links = phish.map((m) => /https:\/\/(\S+)/.exec(m.body ?? '')![1]!);
    assert.equal(new Set(links).size, links.length, 'a unique link per recipient');
    assert.ok(new Set(links.map((l) => l.split('/')[0])).size <= 3, 'one or a few domains');
    assert.equal(new Set(phish.map((m) => m.recipient)).size, phish.length, 'each recipient once');
    const reports = feedback('snowshoe', 'SPAM_REPORT').length;
    assert.ok(reports > phish.length * 0.02 && reports < phish.length * 0.05, `${reports} reports`);
    const replies = answers.filter((a) => numbers.has(a.recipient) && !isOptOut(a.body)).length;
    assert.ok(replies < phish.length * 0.01, `${replies} replies`);
  });

  it('the blast sends tens of messages a second from one number, and many of them fail', () => {
    const blast = sent('blast');
    assert.equal(new Set(blast.map((m) => m.sender)).size, 1);
    const perSecond = blast.length / 600;
    assert.ok(perSecond >= 10 && perSecond <= 15, `${perSecond}/s`);
    assert.ok(peaks(blast).second >= 10);
    const failures = feedback('blast', 'DELIVERY_FAILURE').length;
    assert.ok(failures > blast.length * 0.2 && failures < blast.length * 0.3, `${failures} failures`);
    assert.ok(feedback('blast', 'SPAM_REPORT').length > blast.length * 0.01);
  });

  it('the number walker texts consecutive numbers, about half of them dead', () => {
    const walk = sent('number-walker');
    const numbers = walk.map((m) => Number(m.recipient.slice(1)));
    const steps = numbers.slice(1).filter((n, i) => n - numbers[i]! === 1).length;
    assert.ok(steps >= (numbers.length - 1) * 0.95, `${steps} of ${numbers.length - 1} steps are +1`);
    const failures = feedback('number-walker', 'DELIVERY_FAILURE').length;
    assert.ok(failures > walk.length * 0.4 && failures < walk.length * 0.6, `${failures} failures`);
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    for (const rate of [50, 200]) {
      it(`the opt-out violator keeps texting after STOP: two counted sends within 60 s (seed ${seed}, ${rate}/s)`, () => {
        const all = run(seed, rate, 120_000);
        const first = Math.min(...messagesOf(all, 'ignores-opt-outs').map((m) => m.value.eventTime));
        const second = Math.min(
          ...[...postOptOutSends(all, 'ignores-opt-outs').values()].map(
            (t) => t[1] ?? Number.POSITIVE_INFINITY,
          ),
        );
        assert.ok(
          second - first <= 60_000,
          `second counted send ${(second - first) / 1000} s after the first message`,
        );
      });
    }
  }
});
