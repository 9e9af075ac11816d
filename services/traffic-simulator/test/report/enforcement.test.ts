// Enforcement figures from a ledger and the decisions ClickHouse holds: the replay, its time
// base, and the checks of the quality bar on them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LedgerEntry } from '../../src/ledger.ts';
import { enforcementOf, timeOf } from '../../src/report/enforcement.ts';
import { enforcementChecks, QUALITY_BAR } from '../../src/report/score.ts';
import { LEGIT, labels, SPAM, scenario, T0 } from './fixtures.ts';

const RUN = labels(scenario('phish', true, SPAM, 2), scenario('chat', false, LEGIT, 1));

function entry(i: number, sender: string, label: string, over: Partial<LedgerEntry> = {}): LedgerEntry {
  const t = T0 + i * 1_000;
  return {
    t,
    w: t + 20,
    sender,
    recipient: `+1310555${String(1000 + i).padStart(4, '0')}`,
    label,
    content: { clusterId: null, urlDomains: [], callbackNumbers: [] },
    ...over,
  };
}

const phishKeys = { clusterId: '00000000000abc', urlDomains: ['parcel-help.example'], callbackNumbers: [] };
const LEDGER: LedgerEntry[] = [
  ...Array.from({ length: 10 }, (_, i) => entry(i, 'phish-0', 'phish')),
  // A fresh number of the same campaign, after its content was blocked.
  ...Array.from({ length: 4 }, (_, i) => entry(20 + i, 'phish-1', 'phish', { content: phishKeys })),
  ...Array.from({ length: 5 }, (_, i) => entry(i, 'chat-0', 'chat')),
];

const block = (sender: string, decidedAt: number) => ({
  decision_id: `d-${sender}`,
  sender,
  action: 'BLOCK',
  throttle_rate_per_minute: 0,
  throttle_rate_per_hour: null,
  throttle_scope: 'ALL_RECIPIENTS',
  expires_s: Math.floor((T0 + 86_400_000) / 1000),
  decided_at_ms: decidedAt,
  based_on_event_ms: decidedAt - 1_500,
});

const contentBlock = {
  decision_id: 'c-1',
  cluster_id: '00000000000def',
  action: 'BLOCK',
  url_domains: ['parcel-help.example'],
  callback_numbers: [],
  override_id: '',
  expires_at_ms: T0 + 86_400_000,
  decided_at_ms: T0 + 15_000,
  based_on_event_ms: T0 + 12_000,
};

describe('enforcement from the ledger', () => {
  it('replays each message against the decisions in force when it was sent', () => {
    const e = enforcementOf(RUN, LEDGER, [block('phish-0', T0 + 3_500)], [contentBlock]);
    assert.equal(e.time, 'wall-clock');
    const phish = e.scenarios.find((s) => s.id === 'phish')!;
    // phish-0 sent at +0.02 .. +9.02 s, blocked from +3.5 s: 4 delivered, 6 stopped; phish-1's
    // four messages link to the blocked content's domain: stopped by content.
    assert.deepEqual(
      [phish.messages, phish.delivered, phish.stopped.BLOCK, phish.stopped.CONTENT],
      [14, 4, 6, 4],
    );
    assert.equal(e.spamDeliveredShare, 4 / 14);
    assert.equal(e.legitimateStoppedShare, 0);
    assert.deepEqual(e.contentDecisions, [{ clusterId: '00000000000def', action: 'BLOCK', lagMs: 3_000 }]);
  });

  it('replays a run sent faster than real time in event time, decisions in force from their evidence', () => {
    const fast = LEDGER.map((m) => ({ ...m, w: T0 - 3_600_000 }));
    assert.equal(timeOf(fast), 'event-time');
    const e = enforcementOf(RUN, fast, [block('phish-0', T0 + 3_500)], []);
    assert.equal(
      e.scenarios.find((s) => s.id === 'phish')!.delivered,
      2 + 4,
      'in force from +2 s of event time',
    );
  });

  it('counts the THROTTLEs that never stopped a message', () => {
    const throttle = {
      ...block('chat-0', T0),
      action: 'THROTTLE',
      throttle_rate_per_minute: 30,
      throttle_scope: 'NEW_CONTACTS',
      expires_s: 0,
    };
    const e = enforcementOf(RUN, LEDGER, [throttle], []);
    assert.equal(e.throttles, 1);
    assert.deepEqual(
      e.nonBinding.map((t) => [t.sender, t.messages]),
      [['chat-0', 5]],
    );
  });

  it('fails the bar on spam delivered overall and per scenario, and on legitimate messages stopped', () => {
    const none = enforcementOf(RUN, LEDGER, [], []);
    const failed = enforcementChecks(none, RUN, QUALITY_BAR)
      .filter((c) => !c.passed)
      .map((c) => c.id);
    assert.deepEqual(failed, ['spam-delivered', 'spam-delivered:phish']);
    const wrong = enforcementOf(RUN, LEDGER, [block('chat-0', T0)], []);
    const legit = enforcementChecks(wrong, RUN, QUALITY_BAR).find((c) => c.id === 'legitimate-stopped')!;
    assert.equal(legit.passed, false);
    assert.match(legit.detail, /100\.0 %: 5 of 5/);
    const slow = enforcementOf(RUN, LEDGER, [], [{ ...contentBlock, decided_at_ms: T0 + 60_000 }]);
    assert.equal(
      enforcementChecks(slow, RUN, QUALITY_BAR).find((c) => c.id === 'content-decision-lag')!.passed,
      false,
    );
  });
});
