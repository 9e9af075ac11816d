/**
 * The simulator against the real broker: short runs into prefixed topics, read back and decoded,
 * compared with the generator's own sequence and with the labels it wrote.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readToEnd } from '@spamgate/core';
import { createCodec, type FeedbackEvent, type MessageEvent } from '@spamgate/schemas';
import { testKafka, testLogger, uniqueName } from '@spamgate/test';
import type { Kafka } from 'kafkajs';
import { provisionTopics } from '../../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../../infra/kafka/topics.ts';
import type { Labels } from '../../src/labels.ts';
import { DEFAULT_SCENARIOS_PATH, loadScenarioFile } from '../../src/scenario-file.ts';
import { runSimulator, simulatorTopics } from '../../src/simulator.ts';
import { generateTraffic } from '../../src/traffic.ts';

const codec = createCodec();
const scenarios = loadScenarioFile(DEFAULT_SCENARIOS_PATH);

interface Record<T> {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: T;
}

describe('simulator on Kafka', () => {
  let kafka: Kafka;
  const created: string[] = [];

  async function provision(): Promise<{ prefix: string; topics: ReturnType<typeof simulatorTopics> }> {
    const prefix = uniqueName('simtest');
    const catalog = TOPICS.filter((t) => t.name === 'sms.message-events' || t.name === 'sms.feedback-events');
    await provisionTopics({ kafka, catalog, prefix, logger: testLogger('provision') });
    const topics = simulatorTopics(prefix);
    created.push(topics.messages, topics.feedback);
    return { prefix, topics };
  }

  async function read<T>(topic: string, record: 'MessageEvent' | 'FeedbackEvent'): Promise<Record<T>[]> {
    const out: Record<T>[] = [];
    await readToEnd(kafka, {
      topic,
      groupId: uniqueName('simtest-read'),
      onRecords: ({ partition, messages }) => {
        for (const m of messages) {
          out.push({
            partition,
            offset: Number(m.offset),
            key: m.key?.toString('utf8') ?? '',
            value: codec.decode(record, m.value!) as T,
          });
        }
      },
    });
    return out;
  }

  before(async () => {
    kafka = await testKafka();
  });

  after(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (created.length > 0) await admin.deleteTopics({ topics: created, timeout: 30_000 });
    } finally {
      await admin.disconnect();
    }
  });

  it('sends a short live run to the prefixed topics, keyed by sender, exactly as generated, and writes its labels', async () => {
    const { prefix, topics } = await provision();
    const labelsPath = join(mkdtempSync(join(tmpdir(), 'sim-it-')), 'labels.json');
    const startTime = Date.now();
    const options = { scenarios, seed: 21, ratePerSecond: 100, durationMs: 4_000, startTime };
    const labels = await runSimulator({
      ...options,
      kafka,
      topicPrefix: prefix,
      labelsPath,
      labelsIntervalMs: 1_000,
    });
    const elapsed = Date.now() - startTime;
    assert.ok(elapsed >= 3_900 && elapsed < 15_000, `a 4 s run took ${elapsed} ms of wall time`);

    const generated = [...generateTraffic(options)];
    const order = new Map(
      generated.map((e, i) => [e.type === 'message' ? e.value.messageId : e.value.feedbackId, i]),
    );
    const messages = await read<MessageEvent>(topics.messages, 'MessageEvent');
    const feedback = await read<FeedbackEvent>(topics.feedback, 'FeedbackEvent');
    assert.equal(messages.length + feedback.length, generated.length);
    assert.ok(messages.length > 300, `${messages.length} messages`);
    const byId = new Map<string, MessageEvent | FeedbackEvent>([
      ...messages.map((r) => [r.value.messageId, r.value] as const),
      ...feedback.map((r) => [r.value.feedbackId, r.value] as const),
    ]);
    for (const e of generated) {
      const id = e.type === 'message' ? e.value.messageId : e.value.feedbackId;
      assert.deepEqual({ ...byId.get(id) }, e.value, `record ${id}`);
    }
    for (const records of [messages, feedback] as Record<MessageEvent | FeedbackEvent>[][]) {
      const lastIndex = new Map<number, number>();
      for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
        assert.equal(r.key, r.value.sender, 'keyed by the sender');
        const index = order.get('feedbackId' in r.value ? r.value.feedbackId : r.value.messageId)!;
        assert.ok(index > (lastIndex.get(r.partition) ?? -1), 'each partition in generated order');
        lastIndex.set(r.partition, index);
      }
    }

    const written = JSON.parse(readFileSync(labelsPath, 'utf8')) as Labels;
    assert.deepEqual(written, JSON.parse(JSON.stringify(labels)));
    assert.equal(written.topicPrefix, prefix);
    const perSender = new Map<string, number>();
    for (const r of messages) perSender.set(r.value.sender, (perSender.get(r.value.sender) ?? 0) + 1);
    const labelled = new Map(
      written.scenarios.flatMap((s) => s.senders.map((x) => [x.sender, x.messages] as const)),
    );
    assert.deepEqual(labelled, perSender);
    for (const s of written.scenarios) {
      for (const x of s.senders) {
        const firstSent = Math.min(
          ...messages.filter((r) => r.value.sender === x.sender).map((r) => r.value.eventTime),
        );
        assert.equal(x.firstMessageAt, firstSent);
      }
    }
  });

  it('stops promptly when aborted, and its labels count exactly what reached Kafka', async () => {
    const { prefix, topics } = await provision();
    const labelsPath = join(mkdtempSync(join(tmpdir(), 'sim-it-')), 'labels.json');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1_500);
    const labels = await runSimulator({
      kafka,
      scenarios,
      seed: 22,
      ratePerSecond: 100,
      durationMs: 60_000,
      topicPrefix: prefix,
      labelsPath,
      signal: controller.signal,
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5_000, `stopped after ${elapsed} ms`);
    const messages = await read<MessageEvent>(topics.messages, 'MessageEvent');
    const counted = labels.scenarios.reduce((n, s) => n + s.senders.reduce((m, x) => m + x.messages, 0), 0);
    assert.ok(messages.length > 50, `${messages.length} messages before the abort`);
    assert.equal(counted, messages.length);
    assert.ok(labels.endedAt - labels.startedAt < 5_000);
    assert.deepEqual(JSON.parse(readFileSync(labelsPath, 'utf8')), JSON.parse(JSON.stringify(labels)));
  });

  it('refuses to start when its topics are missing, naming them and the fix', async () => {
    const prefix = uniqueName('simtest-missing');
    await assert.rejects(
      runSimulator({ kafka, scenarios, seed: 1, ratePerSecond: 10, durationMs: 2_000, topicPrefix: prefix }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TOPIC_MISSING');
        assert.match(err.message, new RegExp(`${prefix}\\.sms\\.message-events`));
        assert.match(err.message, /npm run topics/);
        return true;
      },
    );
  });
});
