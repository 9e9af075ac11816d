import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWERING_LABEL } from '../src/responses.ts';
import { planTraffic } from '../src/traffic.ts';
import { messagesOf, options, run } from './fixtures.ts';

describe('rate', () => {
  for (const [rate, durationMs] of [
    [200, 120_000],
    [50, 600_000],
    [1_000, 60_000],
  ] as const) {
    it(`generates rate x duration messages within 5% (${rate}/s for ${durationMs / 1000} s)`, () => {
      const messages = run(3, rate, durationMs).filter((e) => e.type === 'message').length;
      const target = (rate * durationMs) / 1000;
      assert.ok(
        Math.abs(messages - target) <= target * 0.05,
        `${messages} messages for a target of ${target}`,
      );
    });
  }

  it('gives each scenario about its share of the rate, the answers to its senders included', () => {
    const durationMs = 600_000;
    const events = run(3, 200, durationMs);
    const answers = messagesOf(events, ANSWERING_LABEL);
    for (const s of planTraffic(options({ seed: 3, durationMs }))) {
      const target = (s.ratePerSecond * durationMs) / 1000;
      const own = messagesOf(events, s.id);
      const senders = new Set(own.map((m) => m.value.sender));
      const caused = own.length + answers.filter((m) => senders.has(m.value.recipient)).length;
      assert.ok(
        caused >= target * 0.85 && caused <= target * 1.15,
        `${s.id}: ${caused} messages for a share of ${target}`,
      );
    }
  });

  it('normalises the shares of the scenario file', () => {
    const plan = planTraffic(options());
    assert.ok(Math.abs(plan.reduce((s, p) => s + p.share, 0) - 1) < 1e-9);
    assert.ok(Math.abs(plan.reduce((s, p) => s + p.ratePerSecond, 0) - 200) < 1e-6);
  });
});
