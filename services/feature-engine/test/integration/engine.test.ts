// The feature engine as a real process on the real broker: its closed-minute aggregates and
// final features must equal what the pure partition processor computes over the same input,
// in an uninterrupted run and in a run whose instance is killed with SIGKILL and restarted.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createLogger } from '@spamgate/core';
import { createCodec, type FeedbackEvent, type MessageEvent } from '@spamgate/schemas';
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
import { featureEngineTopics, registrationsPath } from '../../src/config.ts';
import { createFactKeys, messageFacts } from '../../src/engine/facts.ts';
import { createPartitionProcessor, DEFAULT_PROCESSOR_OPTIONS } from '../../src/engine/partition-processor.ts';
import { loadRegistrations } from '../../src/registration.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const HASH_KEY = 'engine-test-secret-0123456789';
const PARTITIONS = 12;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SENTINEL_TIME = T0 + 4 * 3_600_000;
const LATENESS = '2h'; // nothing in this input is late, whatever order the two topics interleave in
const codec = createCodec();

/** JSON with keys sorted at every level, so records compare by content, not field order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

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

function partitionOf(sender: string): number {
  let h = 0;
  for (let i = 0; i < sender.length; i++) h = (Math.imul(h, 31) + sender.charCodeAt(i)) >>> 0;
  return h % PARTITIONS;
}

interface Input {
  messages: MessageEvent[];
  feedback: FeedbackEvent[];
}

function generate(seed: number, count: number): Input {
  const r = seededRandom(seed);
  const senders = Array.from({ length: 60 }, (_, i) => `+1202555${String(2000 + i)}`);
  const messages: MessageEvent[] = [];
  const feedback: FeedbackEvent[] = [];
  let t = T0;
  for (let i = 0; i < count; i++) {
    t += Math.floor(r() * 300);
    const sender = senders[Math.floor(r() ** 2 * senders.length)]!;
    if (r() < 0.07) {
      feedback.push({
        feedbackId: `f-${i}`,
        eventTime: t,
        kind: r() < 0.5 ? 'DELIVERY_FAILURE' : 'SPAM_REPORT',
        sender,
        recipient: null,
        messageId: null,
        errorCode: null,
      });
      continue;
    }
    const rec = Math.floor(r() * 500);
    messages.push({
      messageId: `m-${i}`,
      eventTime: t,
      sender,
      senderKind: 'LONG_CODE',
      recipient: `+1303555${String(rec).padStart(4, '0')}`,
      body:
        r() < 0.6 ? `Hi ${rec}, your code is ${i % 9999}. Reply STOP to end` : `ok see you at ${rec % 12}`,
      campaignId: sender.endsWith('2001') ? 'CAMP-1' : null,
      originNetwork: null,
    });
  }
  return { messages, feedback };
}

async function produce(prefix: string, input: Input, withSentinels: boolean): Promise<void> {
  const t = featureEngineTopics(prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const chunks = <T>(xs: T[]) =>
    Array.from({ length: Math.ceil(xs.length / 500) }, (_, i) => xs.slice(i * 500, i * 500 + 500));
  for (const chunk of chunks(input.messages)) {
    await producer.send({
      topic: t.messages,
      messages: chunk.map((e) => ({
        key: e.sender,
        partition: partitionOf(e.sender),
        value: codec.encode('MessageEvent', e),
      })),
    });
  }
  for (const chunk of chunks(input.feedback)) {
    await producer.send({
      topic: t.feedback,
      messages: chunk.map((e) => ({
        key: e.sender,
        partition: partitionOf(e.sender),
        value: codec.encode('FeedbackEvent', e),
      })),
    });
  }
  // A poison record with each batch of input: dead-lettered, never blocking the partition.
  if (input.messages.length > 0) {
    await producer.send({
      topic: t.messages,
      messages: [{ key: 'poison', partition: 0, value: Buffer.from('not avro') }],
    });
  }
  if (withSentinels) {
    // One late-in-the-day event per partition moves every watermark past the input. Sent only
    // once the engine consumed everything else: the engine reads the two input topics in no
    // fixed order, and feedback read after the sentinel would be late.
    await producer.send({
      topic: t.messages,
      messages: Array.from({ length: PARTITIONS }, (_, p) => ({
        key: `sentinel-${p}`,
        partition: p,
        value: codec.encode('MessageEvent', {
          messageId: `sentinel-${p}`,
          eventTime: SENTINEL_TIME,
          sender: `sentinel-${p}`,
          senderKind: 'ALPHANUMERIC',
          recipient: '+13035550000',
          body: null,
          campaignId: null,
          originNetwork: null,
        }),
      })),
    });
  }
  await producer.disconnect();
}

/** What the engine must produce: the pure processor per partition over the same input. */
function reference(input: Input): { minutes: string[]; features: Map<string, string> } {
  const keys = createFactKeys(HASH_KEY);
  const options = {
    ...DEFAULT_PROCESSOR_OPTIONS,
    allowedLatenessMs: 2 * 3_600_000,
    registrations: loadRegistrations(registrationsPath({ registrationsFile: '' })),
  };
  const processors = Array.from({ length: PARTITIONS }, () => createPartitionProcessor(options));
  for (const e of input.messages) {
    processors[partitionOf(e.sender)]!.message(
      e.sender,
      e.senderKind,
      e.campaignId,
      messageFacts(e, keys, 0).facts,
      SENTINEL_TIME,
    );
  }
  for (const e of input.feedback)
    processors[partitionOf(e.sender)]!.feedback(e.sender, e.eventTime, e.kind, SENTINEL_TIME);
  const minutes: string[] = [];
  const features = new Map<string, string>();
  for (const p of processors) {
    p.advanceWatermark(SENTINEL_TIME - 2 * 3_600_000);
    for (const o of p.drain(0)) {
      if (o.kind === 'minute') minutes.push(canonical(o.value));
      else features.set(o.sender, canonical({ ...o.value, emittedAt: 0 }));
    }
  }
  return { minutes: minutes.sort(), features };
}

/** Every committed record of the engine's outputs (read_committed), sentinels left out. */
async function outputs(prefix: string): Promise<{
  minutes: string[];
  features: Map<string, string>;
  deadLetters: number;
  deadLetterCodes: string[];
}> {
  const t = featureEngineTopics(prefix);
  const ends = new Map<string, number>();
  for (const topic of [t.minutes, t.features, t.deadLetters]) {
    ends.set(
      topic,
      (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0),
    );
  }
  const minutes: string[] = [];
  const features = new Map<string, string>();
  let deadLetters = 0;
  const deadLetterCodes: string[] = [];
  const reader = kafka.consumer({ groupId: uniqueName('fe-check'), readUncommitted: false });
  await reader.connect();
  for (const topic of [t.minutes, t.features, t.deadLetters])
    await reader.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, number>();
  await new Promise<void>((resolve) => {
    void reader.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (batch.topic === t.deadLetters) {
            deadLetters++;
            const d = codec.decode('DeadLetter', m.value!);
            deadLetterCodes.push(
              `${d.errorCode} ${String(d.key)} at ${batch.partition}/${m.offset} from offset ${d.originalOffset}`,
            );
          } else if (!String(m.key).startsWith('sentinel')) {
            if (batch.topic === t.minutes)
              minutes.push(canonical({ ...codec.decode('SenderMinute', m.value!) }));
            else {
              const f = codec.decode('SenderFeatures', m.value!);
              features.set(
                f.sender,
                canonical({ ...f, emittedAt: 0, windows: f.windows.map((w) => ({ ...w })) }),
              );
            }
          }
        }
        seen.set(`${batch.topic}/${batch.partition}`, Number(batch.lastOffset()) + 1);
        const done = [...ends].every(([topic, end]) => {
          let n = 0;
          for (const [k, v] of seen) if (k.startsWith(`${topic}/`)) n += v;
          return n >= end;
        });
        if (done) resolve();
      },
    });
  });
  await reader.disconnect();
  return { minutes: minutes.sort(), features, deadLetters, deadLetterCodes };
}

async function provision(prefix: string): Promise<void> {
  const logger = createLogger({ service: 'test', instanceId: 'x', level: 'error' });
  await provisionTopics({ kafka, catalog: TOPICS, prefix, logger });
}

function startEngine(prefix: string): ServiceProcess {
  const p = spawnService(MAIN, {
    SPAMGATE_KAFKA_BROKERS: brokers,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
    SPAMGATE_HASH_KEY: HASH_KEY,
    SPAMGATE_ALLOWED_LATENESS: LATENESS,
    SPAMGATE_IDLE_ADVANCE: '1h',
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
  });
  processes.push(p);
  return p;
}

/** Waits for the engine's committed input to reach `total`; on timeout, says what the engine logged. */
async function waitForCommitted(
  prefix: string,
  total: number,
  engine: ServiceProcess,
  what: string,
): Promise<void> {
  try {
    await eventually(
      async () => {
        if (engine.child.exitCode !== null)
          throw new Error(`the engine exited with ${engine.child.exitCode}`);
        return (await committedInput(prefix)) >= total ? true : undefined;
      },
      { timeoutMs: 120_000, what },
    );
  } catch (err) {
    const tail = engine.logs
      .filter((l) => l.level !== 'info')
      .slice(-5)
      .map((l) => JSON.stringify(l).slice(0, 400));
    throw new Error(
      `${String(err)} (committed ${await committedInput(prefix)} of ${total}); engine said: ${tail.join('\n')} ${engine.stderr().slice(-1000)}`,
    );
  }
}

async function committedInput(prefix: string): Promise<number> {
  const t = featureEngineTopics(prefix);
  let n = 0;
  for (const topic of [t.messages, t.feedback]) {
    const [o] = await admin.fetchOffsets({ groupId: `${prefix}-fe`, topics: [topic] });
    n += (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  }
  return n;
}

function assertSame(
  actual: Awaited<ReturnType<typeof outputs>>,
  expected: ReturnType<typeof reference>,
): void {
  if (process.env.FE_DEBUG) {
    writeFileSync('/tmp/fe-actual.txt', actual.minutes.join('\n'));
    writeFileSync('/tmp/fe-expected.txt', expected.minutes.join('\n'));
  }
  const onlyActual = actual.minutes.filter((m) => !expected.minutes.includes(m));
  const onlyExpected = expected.minutes.filter((m) => !actual.minutes.includes(m));
  assert.deepEqual(
    { onlyActual: onlyActual.slice(0, 2), onlyExpected: onlyExpected.slice(0, 2) },
    { onlyActual: [], onlyExpected: [] },
  );
  assert.equal(actual.minutes.length, expected.minutes.length, 'no minute emitted twice');
  assert.deepEqual([...actual.features.keys()].sort(), [...expected.features.keys()].sort());
  for (const [sender, f] of expected.features)
    assert.equal(actual.features.get(sender), f, `final features of ${sender}`);
}

test('an uninterrupted engine produces exactly what the partition processor computes', {
  timeout: 180_000,
}, async () => {
  const prefix = uniqueName('fe-run');
  await provision(prefix);
  const input = generate(11, 6_000);
  await produce(prefix, input, false);
  const expected = reference(input);
  const engine = startEngine(prefix);
  const inputTotal = input.messages.length + input.feedback.length + 1;
  await waitForCommitted(prefix, inputTotal, engine, 'the engine to commit every input record');
  await produce(prefix, { messages: [], feedback: [] }, true);
  await waitForCommitted(prefix, inputTotal + PARTITIONS, engine, 'the engine to commit the sentinels');
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
  const actual = await outputs(prefix);
  assert.equal(
    actual.deadLetters,
    1,
    `the poison record was dead-lettered once: ${actual.deadLetterCodes.join('; ')}`,
  );
  assertSame(actual, expected);
});

test('killed with SIGKILL and restarted, the engine neither loses nor double-counts anything', {
  timeout: 240_000,
}, async () => {
  const prefix = uniqueName('fe-kill');
  await provision(prefix);
  const input = generate(12, 6_000);
  const half = (xs: MessageEvent[] | FeedbackEvent[]) => Math.floor(xs.length / 2);
  const first = {
    messages: input.messages.slice(0, half(input.messages)),
    feedback: input.feedback.slice(0, half(input.feedback)),
  };
  const second = {
    messages: input.messages.slice(half(input.messages)),
    feedback: input.feedback.slice(half(input.feedback)),
  };
  await produce(prefix, first, false);
  const a = startEngine(prefix);
  const firstTotal = first.messages.length + first.feedback.length + 1;
  await waitForCommitted(prefix, firstTotal, a, 'the first instance to commit the first half');
  a.child.kill('SIGKILL');
  await a.exited;
  // The second half arrives while nobody runs; a restarted instance restores and goes on.
  await produce(prefix, second, false);
  const b = startEngine(prefix);
  await b.waitForLog((l) => l.msg === 'partition state restored' && Number(l.senders) > 0, 120_000);
  const total = input.messages.length + input.feedback.length + 2;
  await waitForCommitted(prefix, total, b, 'the restarted instance to commit every input record');
  await produce(prefix, { messages: [], feedback: [] }, true);
  await waitForCommitted(prefix, total + PARTITIONS, b, 'the restarted instance to commit the sentinels');
  b.child.kill('SIGTERM');
  assert.equal((await b.exited).code, 0, b.stderr());
  const actual = await outputs(prefix);
  assert.equal(
    actual.deadLetters,
    2,
    `each poison record was dead-lettered once: ${actual.deadLetterCodes.join('; ')}`,
  );
  assertSame(actual, reference(input));
});

test('two instances share the partitions; one is killed, the survivor takes over, and it rejoins', {
  timeout: 300_000,
}, async () => {
  const prefix = uniqueName('fe-scale');
  await provision(prefix);
  const input = generate(13, 6_000);
  const half = (xs: MessageEvent[] | FeedbackEvent[]) => Math.floor(xs.length / 2);
  const first = {
    messages: input.messages.slice(0, half(input.messages)),
    feedback: input.feedback.slice(0, half(input.feedback)),
  };
  const second = {
    messages: input.messages.slice(half(input.messages)),
    feedback: input.feedback.slice(half(input.feedback)),
  };
  const a = startEngine(prefix);
  const b = startEngine(prefix);
  const owns = (p: ServiceProcess) =>
    p.waitForLog(
      (l) => l.msg === 'partitions assigned' && Array.isArray(l.partitions) && l.partitions.length === 6,
      60_000,
    );
  await Promise.all([owns(a), owns(b)]);
  await produce(prefix, first, false);
  const firstTotal = first.messages.length + first.feedback.length + 1;
  await waitForCommitted(prefix, firstTotal, a, 'the two instances to commit the first half');
  b.child.kill('SIGKILL');
  await b.exited;
  await produce(prefix, second, false);
  await a.waitForLog(
    (l) => l.msg === 'partitions assigned' && Array.isArray(l.partitions) && l.partitions.length === 12,
    90_000,
  );
  const total = input.messages.length + input.feedback.length + 2;
  await waitForCommitted(prefix, total, a, 'the survivor to commit everything');
  const c = startEngine(prefix);
  await owns(c);
  await produce(prefix, { messages: [], feedback: [] }, true);
  await waitForCommitted(prefix, total + PARTITIONS, a, 'the sentinels to be committed');
  for (const p of [a, c]) p.child.kill('SIGTERM');
  assert.equal((await a.exited).code, 0, a.stderr());
  assert.equal((await c.exited).code, 0, c.stderr());
  const actual = await outputs(prefix);
  assert.equal(
    actual.deadLetters,
    2,
    `each poison record was dead-lettered once: ${actual.deadLetterCodes.join('; ')}`,
  );
  assertSame(actual, reference(input));
});
