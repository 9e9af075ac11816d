/**
 * Legitimate shapes that come close to spam (issue 17): a small business texting from ordinary
 * numbers, a clinic's survey from a few unregistered numbers, a registered P2P campaign having a
 * bad day of opt-outs. Their traits are checked statistically on generated traffic, against the
 * feature engine's own content rules and the demo registrations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterIdOf, createClusterKey, extractUrls, isOptOut } from '@spamgate/core';
import { type FeedbackEvent, loadRegistrations, type MessageEvent } from '@spamgate/schemas';
import { ANSWERING_LABEL } from '../src/responses.ts';
import { parseScenarioFile } from '../src/scenario-file.ts';
import type { SimEvent } from '../src/simulation.ts';
import { generateTraffic } from '../src/traffic.ts';
import {
  DEMO_REGISTRATIONS,
  groupBy,
  median,
  messagesOf,
  options,
  postOptOutSends,
  START,
} from './fixtures.ts';

const clusterKey = createClusterKey('simulator-test-cluster-secret');

function generate(scenarios: unknown, ratePerSecond: number, durationMs: number): SimEvent[] {
  const file = parseScenarioFile({ version: 1, scenarios }, 'near-shapes.json');
  return [...generateTraffic(options({ scenarios: file, seed: 3, ratePerSecond, durationMs }))];
}

const sentBy = (events: readonly SimEvent[], label: string): MessageEvent[] =>
  messagesOf(events, label).map((m) => m.value);
const feedbackOf = (events: readonly SimEvent[], label: string, kind: FeedbackEvent['kind']) =>
  events.filter((e) => e.type === 'feedback' && e.label === label && e.value.kind === kind).length;
/** Senders of each content cluster (texts without a cluster id left out). */
function clusterSenders(texts: readonly MessageEvent[]): number[] {
  const clusters = groupBy(
    texts.filter((m) => clusterIdOf(m.body, clusterKey) !== null),
    (m) => clusterIdOf(m.body, clusterKey),
  );
  return [...clusters.values()].map((c) => new Set(c.map((m) => m.sender)).size);
}

describe('legitimate near-shapes', () => {
  it('a small business mostly texts people who texted it first, answers at a human pace, and its threads form no campaign', () => {
    // Half an hour, so that the second half sees threads from their start.
    const events = generate([{ id: 'small-business', kind: 'small-business', share: 1 }], 3, 1_800_000);
    const business = sentBy(events, 'small-business');
    const lines = groupBy(business, (m) => m.sender);
    const customers = sentBy(events, ANSWERING_LABEL);
    assert.ok(
      business.every((m) => m.campaignId === null),
      'unregistered',
    );
    const textedFirst = new Set<string>();
    const toTexters: MessageEvent[] = [];
    const others: MessageEvent[] = [];
    for (const e of events) {
      if (e.type !== 'message') continue;
      const m = e.value;
      if (e.label === ANSWERING_LABEL) textedFirst.add(`${m.sender}>${m.recipient}`);
      else if (m.eventTime >= START + 900_000)
        (textedFirst.has(`${m.recipient}>${m.sender}`) ? toTexters : others).push(m);
    }
    const share = toTexters.length / (toTexters.length + others.length);
    assert.ok(share >= 0.75, `${(share * 100).toFixed(1)}% of its texts go to people who texted it first`);
    // The rest are reminders to customers from before; about 40% answer them.
    const answered = others.filter((m) => textedFirst.has(`${m.recipient}>${m.sender}`)).length;
    assert.ok(
      answered > others.length * 0.25 && answered < others.length * 0.5,
      `${answered} of ${others.length}`,
    );
    for (const [line, texts] of lines) {
      const perMinute = groupBy(texts, (m) => Math.floor(m.eventTime / 60_000));
      assert.ok(Math.max(...[...perMinute.values()].map((t) => t.length)) <= 6, `${line} sent a burst`);
    }
    // Each links only its own booking page.
    const owners = groupBy(
      business.flatMap((m) => extractUrls(m.body).map((host) => ({ host, sender: m.sender }))),
      (l) => l.host,
    );
    assert.ok(owners.size >= 20, `${owners.size} booking pages`);
    for (const [host, links] of owners) {
      assert.match(host, /^[a-z-]+(-\d+)?\.example$/);
      assert.ok(
        new Set(links.map((l) => l.sender)).size <= 2,
        `${host} is linked from other businesses' lines`,
      );
    }
    // Owners and customers type their own texts: no wording spreads over three numbers.
    for (const texts of [toTexters, customers])
      assert.ok(Math.max(0, ...clusterSenders(texts)) < 3, 'a thread text shared by three numbers');
    const optOuts = customers.filter((m) => isOptOut(m.body)).length;
    assert.ok(optOuts < business.length * 0.005, `${optOuts} opt-outs`);
    assert.equal(postOptOutSends(events, 'small-business').size, 0);
    assert.ok(feedbackOf(events, 'small-business', 'SPAM_REPORT') <= 2);
  });

  const mix = generate(
    [
      { id: 'ordinary', kind: 'ordinary-chat', share: 0.5 },
      { id: 'survey', kind: 'survey', share: 0.1 },
      {
        id: 'p2p-bad-day',
        kind: 'p2p-campaign',
        share: 0.4,
        params: { campaignId: 'CH8N3WT', script: 'school-budget', optOutRate: 0.08 },
      },
    ],
    20,
    600_000,
  );
  const answers = sentBy(mix, ANSWERING_LABEL);

  it('a survey goes out steadily from a few unregistered numbers to patients who never texted them; a quarter answer in a word or two', () => {
    const asked = sentBy(mix, 'survey').filter((m) => m.body?.includes('How was your visit?'));
    const numbers = groupBy(asked, (m) => m.sender);
    assert.equal(numbers.size, 4);
    assert.ok(asked.every((m) => m.campaignId === null));
    assert.equal(
      new Set(asked.map((m) => clusterIdOf(m.body, clusterKey))).size,
      1,
      'one survey, one cluster',
    );
    for (const [sender, texts] of numbers) {
      const gaps = texts.slice(1).map((m, i) => m.eventTime - texts[i]!.eventTime);
      const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
      const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
      assert.ok(mean > 2_500 && mean < 3_500 && sd / mean < 0.15, `${sender}: ${mean} ms, cv ${sd / mean}`);
    }
    const patients = new Set(asked.map((m) => m.recipient));
    assert.equal(patients.size, asked.length, 'each patient once');
    assert.ok(new Set([...patients].map((r) => r.slice(2, 5))).size <= 2, 'a local list');
    const theirs = answers.filter((a) => numbers.has(a.recipient));
    const firstContact = new Map<string, number>();
    for (const m of [...asked, ...theirs]) {
      const pair = [m.sender, m.recipient].sort().join('-');
      firstContact.set(pair, Math.min(firstContact.get(pair) ?? Number.POSITIVE_INFINITY, m.eventTime));
    }
    for (const a of theirs)
      assert.ok(
        firstContact.get([a.sender, a.recipient].sort().join('-'))! < a.eventTime,
        'a patient texted first',
      );
    // 25% answer; about four in five of them within the run (some read hours later).
    const replies = theirs.filter((a) => !isOptOut(a.body));
    const delivered = asked.length - feedbackOf(mix, 'survey', 'DELIVERY_FAILURE');
    assert.ok(
      replies.length > delivered * 0.15 && replies.length < delivered * 0.28,
      `${replies.length} answers`,
    );
    assert.ok(
      replies.every((a) => (a.body ?? '').split(' ').length <= 5),
      'a digit or a few words',
    );
    assert.ok(replies.filter((a) => /^\d/.test(a.body ?? '')).length > replies.length * 0.6, 'mostly digits');
    const optOuts = theirs.length - replies.length;
    assert.ok(optOuts >= 2 && optOuts < delivered * 0.025, `${optOuts} opt-outs`);
    assert.equal(postOptOutSends(mix, 'survey').size, 0, 'opt-outs honoured');
    assert.ok(feedbackOf(mix, 'survey', 'SPAM_REPORT') <= 3);
  });

  it('a registered P2P campaign having a bad day: 8% opt-outs, replies as usual, every STOP honoured', () => {
    const texts = sentBy(mix, 'p2p-bad-day');
    assert.ok(texts.every((m) => m.campaignId === 'CH8N3WT'));
    assert.ok(loadRegistrations(DEMO_REGISTRATIONS).campaigns.has('CH8N3WT'));
    const openers = texts.filter((m) => m.body?.includes('Parents for Maple Valley Schools'));
    const volunteers = groupBy(openers, (m) => m.sender);
    assert.ok(volunteers.size >= 20, `${volunteers.size} volunteers`);
    const gaps = [...volunteers.values()].flatMap((v) =>
      v.slice(1).map((m, i) => m.eventTime - v[i]!.eventTime),
    );
    assert.ok(median(gaps) >= 3_000 && median(gaps) <= 10_000, `median gap ${median(gaps)} ms`);
    const delivered = openers.length - feedbackOf(mix, 'p2p-bad-day', 'DELIVERY_FAILURE');
    const theirs = answers.filter((a) => volunteers.has(a.recipient));
    // Of 8% STOPs (a usual day: 3%) and 8% replies about four in five arrive within the run:
    // some people read hours later.
    const optOuts = theirs.filter((a) => isOptOut(a.body)).length;
    assert.ok(
      optOuts > delivered * 0.045 && optOuts < delivered * 0.085,
      `${optOuts} opt-outs of ${delivered}`,
    );
    const replies = theirs.length - optOuts;
    assert.ok(
      replies > delivered * 0.035 && replies < delivered * 0.08,
      `${replies} replies of ${delivered}`,
    );
    assert.equal(postOptOutSends(mix, 'p2p-bad-day').size, 0);
  });
});
