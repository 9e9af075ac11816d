// The memory budget on the real broker: an engine given far less memory for sender state than
// its input needs keeps running, sheds the least active senders (logged and counted), stays
// near its budget, and still accounts for every event in the per-minute aggregates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '@spamgate/core';
import { createCodec, type MessageEvent } from '@spamgate/schemas';
import {
  eventually,
  getInfra,
  type ServiceProcess,
  seededRandom,
  spawnService,
  testKafka,
  uniqueName,
} from '@spamgate/test';
import type { Admin, Kafka } from 'kafkajs';
import { provisionTopics } from '../../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../../infra/kafka/topics.ts';
import { featureEngineTopics } from '../../src/config.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const BUDGET_MB = 1;
const codec = createCodec();

let kafka: Kafka;
let admin: Admin;
let brokers: string;
const processes: ServiceProcess[] = [];

before(async () => {
  kafka = await testKafka();
  admin = kafka.admin();
  await admin.connect();
  brokers = (await getInfra()).kafkaBrokers.join(',');
});
after(async () => {
  for (const p of processes) p.kill();
  await admin.disconnect();
});

/** 2,000 senders: most send a few messages, a hundred send a burst each (full state, sketches). */
function input(): MessageEvent[] {
  const r = seededRandom(77);
  const out: MessageEvent[] = [];
  for (let i = 0; i < 30_000; i++) {
    const busy = r() < 0.5;
    const sender = busy
      ? `+1202555${String(1000 + Math.floor(r() * 100))}`
      : `+1415555${String(1000 + Math.floor(r() * 1_900))}`;
    out.push({
      messageId: `m-${i}`,
      eventTime: T0 + i * 20,
      sender,
      senderKind: 'LONG_CODE',
      recipient: `+1303${String(Math.floor(r() * 9_000_000)).padStart(7, '0')}`,
      body: `Hi ${i % 97}, your code is ${i % 9_999}`,
      campaignId: null,
      originNetwork: null,
    });
  }
  return out;
}

async function scrape(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  return sum;
}

test('over its memory budget the engine sheds the least active senders and keeps every minute count', {
  timeout: 240_000,
}, async () => {
  const prefix = uniqueName('fe-budget');
  const t = featureEngineTopics(prefix);
  await provisionTopics({
    kafka,
    catalog: TOPICS,
    prefix,
    logger: createLogger({ service: 'test', instanceId: 'x', level: 'error' }),
  });
  const events = input();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < events.length; i += 1_000)
    await producer.send({
      topic: t.messages,
      messages: events
        .slice(i, i + 1_000)
        .map((e) => ({ key: e.sender, value: codec.encode('MessageEvent', e) })),
    });
  await producer.disconnect();

  const engine = spawnService(MAIN, {
    SPAMGATE_KAFKA_BROKERS: brokers,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
    SPAMGATE_HASH_KEY: 'budget-test-secret-0123456789',
    SPAMGATE_STATE_BUDGET_MB: String(BUDGET_MB),
    SPAMGATE_IDLE_ADVANCE: '1h',
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
  });
  processes.push(engine);
  const port = Number((await engine.waitForLog((l) => typeof l.port === 'number')).port);
  await eventually(
    async () => {
      assert.equal(engine.child.exitCode, null, `the engine exited: ${engine.stderr().slice(-1000)}`);
      const [o] = await admin.fetchOffsets({ groupId: `${prefix}-fe`, topics: [t.messages] });
      const committed = (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      return committed >= events.length ? true : undefined;
    },
    { timeoutMs: 180_000, what: 'the engine to commit all input' },
  );
  // One later event per partition moves every watermark past the input: every minute closes.
  const sentinels = async (round: number) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: t.messages,
      messages: Array.from({ length: 12 }, (_, p) => ({
        key: `sentinel-${p}`,
        partition: p,
        value: codec.encode('MessageEvent', {
          ...events[0]!,
          messageId: `sentinel-${round}-${p}`,
          sender: `sentinel-${p}`,
          eventTime: T0 + round * 3_600_000,
        }),
      })),
    });
    await producer.disconnect();
  };
  await sentinels(1);
  const reader = kafka.consumer({ groupId: uniqueName('fe-budget-check'), readUncommitted: false });
  await reader.connect();
  await reader.subscribe({ topic: t.minutes, fromBeginning: true });
  let counted = 0;
  void reader.run({
    eachMessage: async ({ message }) => {
      const m = codec.decode('SenderMinute', message.value!);
      if (!m.sender.startsWith('sentinel')) counted += m.messages + m.lateEvents;
    },
  });
  try {
    await eventually(() => (counted >= events.length ? true : undefined), {
      timeoutMs: 120_000,
      what: `minute aggregates to account for ${events.length} messages`,
    });
    assert.equal(counted, events.length, 'no message counted twice');
  } finally {
    await reader.disconnect();
  }
  // Commits after the minutes closed shed down to the budget (the first round could only shed
  // windows: every sender still had an open minute).
  await sentinels(2);
  await eventually(
    async () => {
      const [o] = await admin.fetchOffsets({ groupId: `${prefix}-fe`, topics: [t.messages] });
      const committed = (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      return committed >= events.length + 24 ? true : undefined;
    },
    { timeoutMs: 60_000, what: 'the second sentinels to be committed' },
  );
  const shedLog = engine.logs.find(
    (l) => l.msg === 'sender state over its memory budget: shed the least active senders',
  );
  assert.ok(shedLog, 'shedding is logged');
  assert.ok((await scrape(port, 'spamgate_feature_engine_shed_senders_total')) > 0, 'and counted');
  const stateBytes = await scrape(port, 'spamgate_feature_engine_state_bytes');
  assert.ok(stateBytes <= BUDGET_MB * 1_048_576, `state is back under its budget: ${stateBytes} bytes`);

  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
});
