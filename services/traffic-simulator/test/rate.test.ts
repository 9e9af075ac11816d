import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWERING_LABEL } from '../src/responses.ts';
import { parseScenarioFile } from '../src/scenario-file.ts';
import { generateTraffic, planTraffic } from '../src/traffic.ts';
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

  it('lets a scenario sized by its team bring its own rate, which the plan states and the run keeps', () => {
    const scenarios = parseScenarioFile(
      {
        version: 1,
        scenarios: [
          { id: 'ordinary', kind: 'ordinary-chat', share: 0.9 },
          {
            id: 'slow-snowshoe',
            kind: 'snowshoe',
            share: 0.1,
            params: { teamSize: 200, sendIntervalSeconds: 120, messagesPerNumber: [3, 8] },
          },
        ],
      },
      'team.json',
    );
    const o = options({ scenarios, seed: 5, ratePerSecond: 40, durationMs: 600_000 });
    const [ordinary, snowshoe] = planTraffic(o);
    assert.deepEqual([ordinary!.share, ordinary!.ratePerSecond, ordinary!.sizedByTeam], [1, 40, false]);
    assert.equal(snowshoe!.share, 0);
    assert.equal(snowshoe!.sizedByTeam, true);
    // 200 numbers, each 5.5 texts 120 s apart and a handover: about 1.6 texts/s with answers.
    assert.ok(snowshoe!.ratePerSecond > 1.4 && snowshoe!.ratePerSecond < 1.8, `${snowshoe!.ratePerSecond}/s`);
    const events = [...generateTraffic(o)];
    const own = messagesOf(events, 'slow-snowshoe');
    const senders = new Set(own.map((m) => m.value.sender));
    const answered = messagesOf(events, ANSWERING_LABEL).filter((m) => senders.has(m.value.recipient));
    const caused = (own.length + answered.length) / 600;
    assert.ok(
      Math.abs(caused / snowshoe!.ratePerSecond - 1) < 0.1,
      `${caused}/s against ${snowshoe!.ratePerSecond}/s`,
    );
    assert.ok(senders.size >= 200 && senders.size <= snowshoe!.plannedSenders, `${senders.size} numbers`);
    const ordinaryMessages = messagesOf(events, 'ordinary').length / 600;
    assert.ok(Math.abs(ordinaryMessages / 40 - 1) < 0.05, `ordinary ${ordinaryMessages}/s`);
  });

  it('normalises the shares of the scenario file', () => {
    const plan = planTraffic(options());
    assert.ok(Math.abs(plan.reduce((s, p) => s + p.share, 0) - 1) < 1e-9);
    // Each scenario plans its share of the rate, give or take its senders being whole numbers.
    for (const p of plan)
      assert.ok(Math.abs(p.ratePerSecond - 200 * p.share) < 0.5, `${p.id}: ${p.ratePerSecond}/s`);
    assert.ok(Math.abs(plan.reduce((s, p) => s + p.ratePerSecond, 0) - 200) < 1);
    assert.ok(plan.every((p) => !p.sizedByTeam));
  });
});
