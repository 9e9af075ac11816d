import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCodec } from '@spamgate/schemas';
import { createLabelTracker } from '../src/label-tracker.ts';
import { generateTraffic, planTraffic, runTag } from '../src/traffic.ts';
import { options, START } from './fixtures.ts';

function serialise(o: ReturnType<typeof options>): string[] {
  return [...generateTraffic(o)].map((e) => JSON.stringify(e));
}

function labelsOf(o: ReturnType<typeof options>): string {
  const tracker = createLabelTracker({ ...o, topicPrefix: '', scenarios: planTraffic(o) });
  for (const e of generateTraffic(o)) tracker.record(e);
  return JSON.stringify(tracker.labels());
}

describe('determinism', () => {
  it('gives the same events, byte for byte, for the same seed, scenarios, rate, duration and start time', () => {
    const o = options({ seed: 42, ratePerSecond: 100, durationMs: 60_000 });
    const a = serialise(o);
    const b = serialise(options({ seed: 42, ratePerSecond: 100, durationMs: 60_000 }));
    assert.ok(a.length > 5_000);
    assert.equal(a.length, b.length);
    assert.deepEqual(a, b);
  });

  it('gives the same labels for the same inputs', () => {
    const o = options({ seed: 42, ratePerSecond: 100, durationMs: 60_000 });
    assert.equal(labelsOf(o), labelsOf(o));
  });

  it('gives other traffic, on other numbers, for another seed', () => {
    const a = [...generateTraffic(options({ seed: 1, ratePerSecond: 100, durationMs: 30_000 }))];
    const b = [...generateTraffic(options({ seed: 2, ratePerSecond: 100, durationMs: 30_000 }))];
    assert.notDeepEqual(
      a.map((e) => e.value),
      b.map((e) => e.value),
    );
    // Long codes only: the short code is a parameter of the scenario file.
    const numbers = (events: typeof a) =>
      new Set(events.filter((e) => e.value.sender.startsWith('+')).map((e) => e.value.sender));
    const senders = numbers(a);
    const shared = [...numbers(b)].filter((s) => senders.has(s));
    assert.ok(shared.length <= senders.size * 0.01, `${shared.length} of ${senders.size} numbers shared`);
  });

  it('yields events in event-time order within the run, each valid for the Avro schema', () => {
    const codec = createCodec();
    const o = options({ seed: 7, ratePerSecond: 200, durationMs: 60_000 });
    let last = -Infinity;
    for (const e of generateTraffic(o)) {
      assert.ok(e.value.eventTime >= last, 'event-time order');
      assert.ok(e.value.eventTime >= START && e.value.eventTime < START + 60_000, 'within the run');
      last = e.value.eventTime;
      const bytes =
        e.type === 'message' ? codec.encode('MessageEvent', e.value) : codec.encode('FeedbackEvent', e.value);
      assert.ok(bytes.length > 10);
    }
  });

  it('gives every message and feedback event a unique id carrying the run tag', () => {
    const o = options({ seed: 9, ratePerSecond: 200, durationMs: 60_000 });
    const tag = runTag(9, START);
    const ids = new Set<string>();
    let n = 0;
    for (const e of generateTraffic(o)) {
      const id = e.type === 'message' ? e.value.messageId : e.value.feedbackId;
      assert.ok(id.startsWith(`${tag}-`), id);
      ids.add(id);
      n++;
    }
    assert.equal(ids.size, n);
    assert.notEqual(runTag(9, START + 1), tag);
    assert.notEqual(runTag(10, START), tag);
  });
});
