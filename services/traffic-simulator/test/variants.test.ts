/**
 * Variants of the spam shapes, sized by their team and per-number pace (low-and-slow snowshoe,
 * walker crews, a registered crew ignoring STOP), checked statistically on ten minutes of a small mix, against the feature
 * engine's own content rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIdOf, createClusterKey } from '@spamgate/core';
import type { MessageEvent } from '@spamgate/schemas';
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
});
