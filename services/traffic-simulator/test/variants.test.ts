/**
 * The spam shapes a sweep varies: team-sized variants (low-and-slow snowshoe, walker crews, a
 * registered crew ignoring STOP), the template rotator and the SIM box, checked statistically on
 * ten minutes of a small mix, against the feature engine's own content rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callbackNumbers, clusterIdOf, createClusterKey, extractUrls, isOptOut } from '@spamgate/core';
import type { FeedbackEvent, MessageEvent } from '@spamgate/schemas';
import { ANSWERING_LABEL } from '../src/responses.ts';
import { parseScenarioFile } from '../src/scenario-file.ts';
import { generateTraffic } from '../src/traffic.ts';
import { groupBy, median, messagesOf, options, postOptOutSends } from './fixtures.ts';

const MIX = parseScenarioFile(
  {
    version: 1,
    scenarios: [
      { id: 'ordinary', kind: 'ordinary-chat', share: 1 },
      {
        id: 'slow-snowshoe',
        kind: 'snowshoe',
        share: 1,
        params: { teamSize: 150, sendIntervalSeconds: 150, messagesPerNumber: [3, 8] },
      },
      {
        id: 'walker-crew',
        kind: 'number-walker',
        share: 1,
        params: { senders: 30, sendIntervalSeconds: 30 },
      },
      {
        id: 'registered-stop-ignorers',
        kind: 'ignores-opt-outs',
        share: 1,
        params: { campaignId: 'CR4ZB9K', senders: 20, newRecipientSeconds: 90, followUpSeconds: 60 },
      },
      { id: 'rotator', kind: 'template-rotator', share: 1, params: { senders: 10 } },
      { id: 'sim-box', kind: 'sim-box', share: 1 },
    ],
  },
  'variants.json',
);
const DURATION_MS = 600_000;
const events = [
  ...generateTraffic(options({ scenarios: MIX, seed: 7, ratePerSecond: 20, durationMs: DURATION_MS })),
];
const clusterKey = createClusterKey('simulator-test-cluster-secret');
const sent = (label: string): MessageEvent[] => messagesOf(events, label).map((m) => m.value);
const feedback = (label: string, kind: FeedbackEvent['kind']): FeedbackEvent[] =>
  events.flatMap((e) =>
    e.type === 'feedback' && e.label === label && e.value.kind === kind ? [e.value] : [],
  );
/** Texts answering recipients sent to the given senders. */
const answersTo = (senders: ReadonlyMap<string, unknown>): MessageEvent[] =>
  sent(ANSWERING_LABEL).filter((a) => senders.has(a.recipient));
const gapsOf = (texts: readonly MessageEvent[]) =>
  texts.slice(1).map((m, i) => m.eventTime - texts[i]!.eventTime);

describe('spam variants sized by their team', () => {
  it('low-and-slow snowshoe: a hundred-odd numbers at a time, each texting every few minutes for a handful of texts', () => {
    const phish = sent('slow-snowshoe');
    const numbers = groupBy(phish, (m) => m.sender);
    assert.ok(numbers.size >= 150, `${numbers.size} numbers`);
    for (const [sender, texts] of numbers) {
      assert.ok(texts.length <= 8, `${sender} sent ${texts.length}`);
      for (const gap of gapsOf(texts)) assert.ok(gap > 120_000 && gap < 180_000, `${sender}: gap ${gap} ms`);
    }
    const perNumber = phish.length / numbers.size;
    assert.ok(perNumber >= 2 && perNumber <= 5, `${perNumber} texts per number in ten minutes`);
    // About 150 numbers at a time, one text each per 150 s.
    const perSecond = phish.length / (DURATION_MS / 1000);
    assert.ok(perSecond > 0.8 && perSecond < 1.1, `${perSecond} texts/s`);
    assert.equal(new Set(phish.map((m) => clusterIdOf(m.body, clusterKey))).size, 1, 'one template');
  });

  it('a walker crew works one script, each number on its own stretch, so its copies form one content cluster', () => {
    const walk = sent('walker-crew');
    const crew = groupBy(walk, (m) => m.sender);
    assert.equal(crew.size, 30);
    const clusters = new Set(walk.map((m) => clusterIdOf(m.body, clusterKey)));
    assert.equal(clusters.size, 1, `${clusters.size} clusters`);
    assert.ok(!clusters.has(null));
    assert.ok(new Set(walk.map((m) => m.body)).size > walk.length * 0.5, 'personalised');
    const stretches = new Set<string>();
    for (const [sender, texts] of crew) {
      const numbers = texts.map((m) => Number(m.recipient.slice(1)));
      assert.ok(
        numbers.slice(1).every((n, i) => n - numbers[i]! === 1),
        `${sender} walks consecutive numbers`,
      );
      stretches.add(texts[0]!.recipient.slice(0, -2));
      const gap = median(gapsOf(texts));
      assert.ok(gap > 20_000 && gap < 40_000, `${sender}: median gap ${gap} ms`);
    }
    assert.equal(stretches.size, 30, 'each number walks its own hundred');
  });

  it('a registered crew that ignores STOP: every number keeps texting people after their STOP, under its campaign id', () => {
    const bot = sent('registered-stop-ignorers');
    const numbers = groupBy(bot, (m) => m.sender);
    assert.equal(numbers.size, 20);
    assert.ok(bot.every((m) => m.campaignId === 'CR4ZB9K' && m.originNetwork === 'aggregator-3'));
    const violators = postOptOutSends(events, 'registered-stop-ignorers');
    assert.ok(violators.size >= 15, `${violators.size} of 20 numbers texted someone after STOP`);
    // Each number approaches a new list member every 90 s or so, with two follow-ups and answers.
    const perNumber = bot.length / numbers.size / (DURATION_MS / 60_000);
    assert.ok(perNumber > 2 && perNumber < 5, `${perNumber} texts a minute per number`);
  });

  it('a template rotator goes round eight or more personalised pretexts, every link on its one domain, each recipient once', () => {
    const phish = sent('rotator');
    const numbers = groupBy(phish, (m) => m.sender);
    assert.equal(numbers.size, 10);
    const domains = new Set(phish.flatMap((m) => extractUrls(m.body)));
    assert.deepEqual([...domains], ['account-verify-center.example']);
    assert.ok(phish.every((m) => extractUrls(m.body).length === 1));
    assert.equal(new Set(phish.map((m) => m.body)).size, phish.length, 'personalised, a path per recipient');
    const templates = new Set(phish.map((m) => clusterIdOf(m.body, clusterKey)));
    assert.ok(templates.size >= 8 && !templates.has(null), `${templates.size} templates`);
    for (const [sender, texts] of numbers) {
      const own = new Set(texts.map((m) => clusterIdOf(m.body, clusterKey)));
      assert.ok(own.size >= 8, `${sender} sent ${own.size} templates`);
      const gaps = gapsOf(texts);
      const mean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
      const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
      assert.ok(mean > 9_000 && mean < 11_000 && sd / mean < 0.1, `${sender}: ${mean} ms, cv ${sd / mean}`);
    }
    assert.equal(new Set(phish.map((m) => m.recipient)).size, phish.length, 'fresh recipients');
    // A national list: each hundred numbers of it in another area code.
    const hundreds = new Set(phish.map((m) => m.recipient.slice(0, -2)));
    const areaCodes = new Set(phish.map((m) => m.recipient.slice(2, 5)));
    assert.ok(hundreds.size >= 5 && areaCodes.size === hundreds.size, `${areaCodes.size} area codes`);
    const failures = feedback('rotator', 'DELIVERY_FAILURE').length;
    assert.ok(failures > phish.length * 0.06 && failures < phish.length * 0.14, `${failures} failures`);
    const reports = feedback('rotator', 'SPAM_REPORT').length;
    assert.ok(reports > phish.length * 0.01 && reports < phish.length * 0.05, `${reports} reports`);
    const replies = answersTo(numbers).filter((a) => !isOptOut(a.body)).length;
    assert.ok(replies < phish.length * 0.01, `${replies} replies`);
  });

  it('a SIM box: consecutive numbers on one network, each SIM at a steady pace, texting out and never answering', () => {
    const promos = sent('sim-box');
    const sims = groupBy(promos, (m) => m.sender);
    assert.equal(sims.size, 40);
    const numbers = [...sims.keys()].map((s) => Number(s.slice(1))).sort((a, b) => a - b);
    const steps = numbers.slice(1).filter((n, i) => n - numbers[i]! === 1).length;
    assert.ok(steps >= numbers.length - 2, `${steps} of ${numbers.length - 1} steps are +1`);
    assert.deepEqual([...new Set(promos.map((m) => m.originNetwork))], ['carrier-b']);
    for (const [sim, texts] of sims) {
      const gap = median(gapsOf(texts));
      assert.ok(gap > 25_000 && gap < 35_000, `${sim}: median gap ${gap} ms`);
    }
    assert.ok(
      promos.every((m) => extractUrls(m.body).length + callbackNumbers(m.body, m.sender).length === 1),
      'a link or a number to call',
    );
    // What reaches a SIM is an answer to its own text; it texts nobody twice, so it answers nothing.
    const texted = new Set(promos.map((m) => `${m.sender}>${m.recipient}`));
    const incoming = answersTo(sims);
    assert.ok(incoming.length > 0);
    for (const a of incoming)
      assert.ok(texted.has(`${a.recipient}>${a.sender}`), `${a.sender} texted a SIM first`);
    assert.equal(texted.size, promos.length, 'one text per recipient');
    const optOuts = incoming.filter((a) => isOptOut(a.body)).length;
    assert.ok(optOuts > promos.length * 0.015 && optOuts < promos.length * 0.045, `${optOuts} STOPs`);
  });
});
