// Messages in, decisions out: the feature engine and the decision engine as two processes on the
// real broker. A spam blast is blocked within 5 seconds of its first message's event time; a
// registered campaign with the same shape is throttled at its cap and never blocked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Decision, MessageEvent } from '@spamgate/schemas';
import { eventually, mulberry32, spawnService, uniqueName } from '@spamgate/test';
import { featureEngineTopics } from '../../../feature-engine/src/config.ts';
import { codec, decodeDecision, useDecisionHarness } from './harness.ts';

const FEATURE_ENGINE = new URL('../../../feature-engine/src/main.ts', import.meta.url).pathname;
const h = useDecisionHarness();

const BLASTER = '+12025550101';
const CAMPAIGN = '+12025550102';

test('a spam blast is blocked within 5 s of event time; the registered campaign of the same shape is throttled, not blocked', async (t) => {
  const prefix = uniqueName('pipeline');
  const topics = await h.provision(prefix);
  const fe = featureEngineTopics(prefix);
  const featureEngine = spawnService(FEATURE_ENGINE, {
    SPAMGATE_KAFKA_BROKERS: h.brokers,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
    SPAMGATE_HASH_KEY: 'pipeline-test-secret-0123456789',
    SPAMGATE_HTTP_PORT: '0',
    // Windows close a second after the last message, so the campaign's last features come soon.
    SPAMGATE_IDLE_ADVANCE: '1s',
  });
  t.after(() => featureEngine.kill());
  const decisionEngine = h.startEngine(prefix);
  const restored = (p: typeof featureEngine) =>
    p.logs.filter((l) => l.msg === 'partition state restored').length;
  await eventually(
    () => (restored(featureEngine) >= 12 && restored(decisionEngine) >= 12 ? true : undefined),
    {
      timeoutMs: 60_000,
      what: 'both engines to own every partition',
    },
  );
  const decisions = await h.read(topics.decisions, decodeDecision);

  const rnd = mulberry32(2020);
  const producer = h.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const first = Date.now();
  try {
    // 900 messages from each sender in about 3 s, to numbers they never texted: one
    // unregistered number, and one number of a registered campaign.
    for (let chunk = 0; chunk < 10; chunk++) {
      const eventTime = Date.now();
      const messages: { key: string; value: Buffer }[] = [];
      for (let i = 0; i < 90; i++)
        for (const [sender, campaignId] of [
          [BLASTER, null],
          [CAMPAIGN, 'CPOL1'],
        ] as const) {
          const n = chunk * 90 + i;
          const e: MessageEvent = {
            messageId: `${sender}-${n}`,
            eventTime: eventTime + i,
            sender,
            senderKind: 'LONG_CODE',
            recipient: `+1415${String(Math.floor(rnd() * 1e7)).padStart(7, '0')}`,
            body: `Hi friend ${n}, polls close at 8pm tonight. Find your polling place: https://vote.example.org/p/${n}`,
            campaignId,
            originNetwork: null,
          };
          messages.push({ key: sender, value: codec.encode('MessageEvent', e) });
        }
      await producer.send({ topic: fe.messages, acks: -1, messages });
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await producer.disconnect();
  }
  const block = await eventually(
    () => decisions.records.find((r) => r.key === BLASTER && r.value?.action === 'BLOCK'),
    { timeoutMs: 30_000, what: 'the blast blocked', intervalMs: 20 },
  );
  const d = block.value!;
  t.diagnostic(
    `BLOCK based on event time +${d.basedOnEventTime - first} ms, decided +${d.decidedAt - first} ms, read +${block.readAt - first} ms after the first message; reasons ${d.reasons.map((r) => r.code).join(',')}`,
  );
  assert.ok(d.basedOnEventTime - first <= 5_000, 'on features of the first 5 s');
  assert.ok(
    d.decidedAt - first <= 5_000,
    `decided ${d.decidedAt - first} ms after the first message's event time`,
  );

  // Every message through both engines: the campaign's features count all 900 of its messages,
  // and every feature record has its evaluation. (Not committed offsets: the engines' idle
  // transactions keep them pending, and the broker then holds offset fetches back.)
  const featureRecords = await h.read(topics.features, (b) => codec.decode('SenderFeatures', b));
  const evaluations = await h.read(topics.evaluations, decodeDecision);
  await eventually(
    () =>
      featureRecords.records.some((r) => r.key === CAMPAIGN && r.value?.windows.at(-1)?.messages === 900) &&
      evaluations.records.length >= featureRecords.records.length
        ? true
        : undefined,
    { timeoutMs: 60_000, what: 'every message featured and every feature record evaluated' },
  );
  const campaign: Decision[] = decisions.records.filter((r) => r.key === CAMPAIGN).map((r) => r.value!);
  assert.ok(campaign.length >= 1, 'the campaign over its cap is throttled');
  for (const c of campaign) {
    assert.equal(c.action, 'THROTTLE', 'never blocked');
    assert.equal(c.throttleRatePerMinute, 75, 'at its cap');
  }
  featureEngine.kill();
  decisionEngine.kill();
});
