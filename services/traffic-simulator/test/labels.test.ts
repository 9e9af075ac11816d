import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOPICS } from '../../../infra/kafka/topics.ts';
import { ANSWERING_SCENARIO, createLabelTracker, writeLabels } from '../src/label-tracker.ts';
import type { Labels } from '../src/labels.ts';
import { parseLabels } from '../src/report/labels-file.ts';
import { simulatorTopics } from '../src/simulator.ts';
import { generateTraffic, planTraffic } from '../src/traffic.ts';
import { options, START } from './fixtures.ts';

describe('labels', () => {
  it('list every scenario from the start, with its ground truth and expectation, before anything is sent', () => {
    const o = options();
    const labels = createLabelTracker({ ...o, topicPrefix: 'p', scenarios: planTraffic(o) }).labels();
    assert.equal(labels.version, 1);
    assert.equal(labels.startedAt, START);
    assert.equal(labels.endedAt, START);
    assert.equal(labels.topicPrefix, 'p');
    assert.deepEqual(
      labels.scenarios.map((s) => [s.id, s.kind, s.spam, s.expect.actionRequired, s.senders.length]),
      [
        ['ordinary', 'ordinary-chat', false, 'NONE', 0],
        ['group-chat', 'group-chat', false, 'NONE', 0],
        ['auto-reply-loop', 'auto-reply-loop', false, 'NONE', 0],
        ['business-10dlc', 'registered-notifications', false, 'NONE', 0],
        ['p2p-registered', 'p2p-campaign', false, 'NONE', 0],
        ['p2p-unregistered', 'p2p-campaign', false, 'NONE', 0],
        ['school-alert', 'school-alert', false, 'NONE', 0],
        ['reassigned', 'reassigned-number', false, 'NONE', 0],
        ['snowshoe', 'snowshoe', true, 'THROTTLE_OR_BLOCK', 0],
        ['blast', 'blast', true, 'THROTTLE_OR_BLOCK', 0],
        ['number-walker', 'number-walker', true, 'THROTTLE_OR_BLOCK', 0],
        ['ignores-opt-outs', 'ignores-opt-outs', true, 'BLOCK', 0],
        [ANSWERING_SCENARIO.id, 'answering-recipients', false, 'NONE', 0],
      ],
    );
  });

  it('name each sender under its scenario from its first message, with the count of what it sent', () => {
    const o = options({ durationMs: 30_000 });
    const tracker = createLabelTracker({ ...o, topicPrefix: '', scenarios: planTraffic(o) });
    const first = new Map<string, number>();
    const counts = new Map<string, number>();
    let last = 0;
    for (const e of generateTraffic(o)) {
      tracker.record(e);
      last = e.value.eventTime;
      if (e.type !== 'message') continue;
      const key = `${e.label}/${e.value.sender}`;
      if (!first.has(key)) first.set(key, e.value.eventTime);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const labels = tracker.labels();
    assert.equal(labels.endedAt, last);
    let senders = 0;
    for (const s of labels.scenarios) {
      for (const x of s.senders) {
        senders++;
        assert.equal(x.firstMessageAt, first.get(`${s.id}/${x.sender}`));
        assert.equal(x.messages, counts.get(`${s.id}/${x.sender}`));
      }
    }
    assert.equal(senders, first.size);
  });

  it('are written as JSON, replacing the previous file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sim-labels-')), 'labels.json');
    const o = options();
    const tracker = createLabelTracker({ ...o, topicPrefix: '', scenarios: planTraffic(o) });
    await writeLabels(path, tracker.labels());
    await writeLabels(path, { ...tracker.labels(), seed: 99 });
    const read = JSON.parse(readFileSync(path, 'utf8')) as Labels;
    assert.equal(read.seed, 99);
  });

  it('read from a file written before scenarios carried their kind, take the id as the kind', () => {
    const o = options();
    const written = createLabelTracker({ ...o, topicPrefix: '', scenarios: planTraffic(o) }).labels();
    const older = JSON.parse(JSON.stringify(written)) as { scenarios: Record<string, unknown>[] };
    for (const s of older.scenarios) delete s.kind;
    const read = parseLabels(older, 'older.json');
    assert.deepEqual(
      read.scenarios.map((s) => s.kind),
      written.scenarios.map((s) => s.id),
    );
    assert.equal(older.scenarios[0]!.kind, undefined, 'the value read is not changed');
    assert.deepEqual(parseLabels(JSON.parse(JSON.stringify(written))).scenarios, written.scenarios);
    older.scenarios[1]!.kind = 7;
    assert.throws(
      () => parseLabels(older, 'older.json'),
      /scenarios\[1\]\.kind should be a non-empty string/,
    );
  });

  it('the simulator writes the catalog topics keyed by sender', () => {
    const topics = simulatorTopics('demo-1');
    assert.deepEqual(topics, {
      messages: 'demo-1.sms.message-events',
      feedback: 'demo-1.sms.feedback-events',
    });
    for (const name of ['sms.message-events', 'sms.feedback-events']) {
      const spec = TOPICS.find((t) => t.name === name);
      assert.ok(spec);
      assert.match(spec.key ?? '', /^the sender|^sender address/);
    }
  });
});
