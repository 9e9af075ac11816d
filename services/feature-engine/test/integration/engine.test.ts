// The feature engine as a real process on the real broker: its closed-minute aggregates and
// final features must equal what the pure partition processor computes over the same input,
// in an uninterrupted run, in a run whose instance is killed with SIGKILL between two halves of
// the input, and in runs where instances are killed, restarted, added and removed while input
// streams in and they are in the middle of their batches and transactions.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, type TestContext, test } from 'node:test';
import { createLogger } from '@spamgate/core';
import {
  createCodec,
  type FeedbackEvent,
  loadRegistrations,
  type MessageEvent,
  registrationsPath,
  type SenderFeatures,
} from '@spamgate/schemas';
import {
  eventually,
  getInfra,
  type LogLine,
  removeGroupMember,
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
import { createFactKeys, messageFacts } from '../../src/engine/facts.ts';
import { createPartitionProcessor } from '../../src/engine/partition-processor.ts';
import { TEST_PROCESSOR_OPTIONS } from '../processor-options.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const HASH_KEY = 'engine-test-secret-0123456789';
const PARTITIONS = 12;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const SENTINEL_TIME = T0 + 4 * 3_600_000;
const LATENESS = '2h'; // nothing in this input is late, whatever order the two topics interleave in
// The streaming tests: input spans more than the lateness (so minutes close mid-stream) and is
// never produced further ahead of what the engines committed than STREAM_AHEAD_MS (see streamInput).
const STREAM_LATENESS = '20m';
const STREAM_LATENESS_MS = 1_200_000;
const STREAM_AHEAD_MS = 900_000;
// The live test: shorter than the wait for a dead member's session (30 s), so its backlog is late
// unless the engine keeps every partition's watermark to the partition's own input.
const LIVE_LATENESS = '10s';
const LIVE_LATENESS_MS = 10_000;
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
  if (process.env.FE_DEBUG) {
    for (const p of processes)
      writeFileSync(`/tmp/fe-engine-${p.child.pid}.log`, p.logs.map((l) => JSON.stringify(l)).join('\n'));
  }
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

/** `count` events of 60 senders, `maxGapMs` apart at most (half that on average), from T0 on. */
function generate(seed: number, count: number, maxGapMs = 300): Input {
  const r = seededRandom(seed);
  const senders = Array.from({ length: 60 }, (_, i) => `+1202555${String(2000 + i)}`);
  const messages: MessageEvent[] = [];
  const feedback: FeedbackEvent[] = [];
  let t = T0;
  for (let i = 0; i < count; i++) {
    t += Math.floor(r() * maxGapMs);
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
      // A third of the rest link to two of 25 domains, so that busy senders list 16 (urlDomains).
      body:
        r() < 0.6
          ? `Hi ${rec}, your code is ${i % 9999}. Reply STOP to end`
          : rec % 3 === 0
            ? `deals at https://www.shop${rec % 25}-deals.com/${i} and bit.ly/x${i}`
            : `ok see you at ${rec % 12}`,
      campaignId: sender.endsWith('2001') ? 'CAMP-1' : null,
      originNetwork: null,
    });
  }
  return { messages, feedback };
}

async function produce(
  prefix: string,
  input: Input,
  withSentinels: boolean,
  sentinelTime = SENTINEL_TIME,
): Promise<void> {
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
          eventTime: sentinelTime,
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

/**
 * What the engine must produce: the pure processor per partition over the same input, in event
 * time order. The engine reads the two input topics in no fixed order, but as long as neither
 * gets further ahead of the other than the allowed lateness no event is late, and then the order
 * makes no difference.
 */
function reference(
  input: Input,
  latenessMs = 2 * 3_600_000,
  sentinelTime = SENTINEL_TIME,
): { minutes: string[]; features: Map<string, string> } {
  const keys = createFactKeys(HASH_KEY);
  const options = {
    ...TEST_PROCESSOR_OPTIONS,
    allowedLatenessMs: latenessMs,
    registrations: loadRegistrations(registrationsPath({ registrationsFile: '' })),
  };
  const processors = Array.from({ length: PARTITIONS }, () => createPartitionProcessor(options));
  const events = [
    ...input.messages.map((e) => ({ time: e.eventTime, apply: () => applyMessage(e) })),
    ...input.feedback.map((e) => ({ time: e.eventTime, apply: () => applyFeedback(e) })),
  ].sort((a, b) => a.time - b.time);
  function applyMessage(e: MessageEvent): void {
    processors[partitionOf(e.sender)]!.message(
      e.sender,
      e.senderKind,
      e.campaignId,
      messageFacts(e, keys, 0).facts,
      sentinelTime,
    );
  }
  function applyFeedback(e: FeedbackEvent): void {
    processors[partitionOf(e.sender)]!.feedback(e.sender, e.eventTime, e.kind, sentinelTime);
  }
  for (const e of events) e.apply();
  const minutes: string[] = [];
  const features = new Map<string, string>();
  for (const p of processors) {
    p.advanceWatermark(sentinelTime - latenessMs);
    for (const o of p.drain(0)) {
      if (o.kind === 'minute') minutes.push(canonical(o.value));
      else features.set(o.sender, canonical({ ...o.value, emittedAt: 0 }));
    }
  }
  return { minutes: minutes.sort(), features };
}

/**
 * Every committed record of the engine's outputs (read_committed), sentinels left out; `records`
 * counts them all, sentinels included. With `readUncommitted`, records of aborted transactions too.
 */
async function outputs(
  prefix: string,
  readUncommitted = false,
): Promise<{
  minutes: string[];
  features: Map<string, string>;
  deadLetters: number;
  deadLetterCodes: string[];
  records: number;
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
  let records = 0;
  const reader = kafka.consumer({ groupId: uniqueName('fe-check'), readUncommitted });
  await reader.connect();
  for (const topic of [t.minutes, t.features, t.deadLetters])
    await reader.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, number>();
  const read = new Promise<void>((resolve, reject) => {
    // A reader that crashed would leave nothing running, and the test would end as "still pending".
    reader.on(reader.events.CRASH, ({ payload }) => reject(payload.error));
    void reader.run({
      eachBatch: async ({ batch }) => {
        records += batch.messages.length;
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
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      read,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const count = (topic: string) =>
            [...seen].reduce((n, [k, v]) => (k.startsWith(`${topic}/`) ? n + v : n), 0);
          const got = [...ends].map(([topic, end]) => `${topic} ${count(topic)} of ${end}`);
          reject(new Error(`the outputs were not all read within 60 s: ${got.join(', ')}`));
        }, 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reader.disconnect();
  }
  return { minutes: minutes.sort(), features, deadLetters, deadLetterCodes, records };
}

async function provision(prefix: string): Promise<void> {
  const logger = createLogger({ service: 'test', instanceId: 'x', level: 'error' });
  await provisionTopics({ kafka, catalog: TOPICS, prefix, logger });
}

/** An engine; idle partitions' watermarks stay put unless `idleAdvance` is given. */
function startEngine(prefix: string, lateness = LATENESS, idleAdvance = '1h'): ServiceProcess {
  const p = spawnService(MAIN, {
    SPAMGATE_KAFKA_BROKERS: brokers,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
    SPAMGATE_HASH_KEY: HASH_KEY,
    SPAMGATE_ALLOWED_LATENESS: lateness,
    SPAMGATE_IDLE_ADVANCE: idleAdvance,
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
  });
  processes.push(p);
  return p;
}

/** Waits for the engines' committed input to reach `total`; on timeout, says what the engines logged. */
async function waitForCommitted(
  prefix: string,
  total: number,
  engine: ServiceProcess | readonly ServiceProcess[],
  what: string,
): Promise<void> {
  const engines = 'child' in engine ? [engine] : engine;
  try {
    await eventually(
      async () => {
        for (const e of engines)
          if (e.child.exitCode !== null) throw new Error(`an engine exited with ${e.child.exitCode}`);
        return (await committedInput(prefix)) >= total ? true : undefined;
      },
      { timeoutMs: 120_000, what },
    );
  } catch (err) {
    throw new Error(
      `${String(err)} (committed ${await committedInput(prefix)} of ${total})\n${engineReport(engines)}`,
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

/** The group's committed offset of every input topic-partition, keyed `topic/partition` (0 if none). */
async function committedOffsets(prefix: string): Promise<Map<string, number>> {
  const t = featureEngineTopics(prefix);
  const out = new Map<string, number>();
  for (const topic of [t.messages, t.feedback]) {
    const [o] = await admin.fetchOffsets({ groupId: `${prefix}-fe`, topics: [topic] });
    for (const p of o?.partitions ?? []) out.set(`${topic}/${p.partition}`, Math.max(0, Number(p.offset)));
  }
  return out;
}

/** What the given engines are doing: exit status, last warnings and errors, stderr; for failure messages. */
function engineReport(engines: readonly ServiceProcess[]): string {
  return engines
    .map((e) => {
      const state =
        e.child.exitCode !== null || e.child.signalCode !== null
          ? `exited (${e.child.exitCode ?? e.child.signalCode})`
          : 'running';
      const said = e.logs
        .filter((l) => l.level !== 'info')
        .slice(-3)
        .map((l) => JSON.stringify(l).slice(0, 400));
      const assigned = e.logs.filter((l) => l.msg === 'partitions assigned').map((l) => l.partitions);
      const restored = e.logs.filter((l) => l.msg === 'partition state restored').map((l) => l.partition);
      return `engine ${e.child.pid} ${state}; assignments ${JSON.stringify(assigned)}; restored ${JSON.stringify(restored)}; ${said.join(' ')} ${e.stderr().slice(-500)}`;
    })
    .join('\n');
}

/** `step`, failing with what the engines were doing if it fails. */
function explained<T>(step: Promise<T>, engines: () => readonly ServiceProcess[]): Promise<T> {
  return step.catch((err: unknown) => {
    throw new Error(`${String(err)}\n${engineReport(engines())}`);
  });
}

/** A step of a test's timeline, as a diagnostic (and on stderr as it happens, with FE_DEBUG). */
function timeline(t: TestContext, started: number, what: string): void {
  const line = `${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`;
  t.diagnostic(line);
  if (process.env.FE_DEBUG) process.stderr.write(`[${t.name}] ${line}\n`);
}

/** The instance's first 'partitions assigned' log line with n partitions (after its first `since` lines). */
async function owns(p: ServiceProcess, n: number, since = 0): Promise<LogLine> {
  try {
    return await p.waitForLog(
      (l) =>
        l.msg === 'partitions assigned' &&
        Array.isArray(l.partitions) &&
        l.partitions.length === n &&
        p.logs.indexOf(l) >= since,
      90_000,
    );
  } catch (err) {
    throw new Error(`${p.child.pid} never owned ${n} partitions: ${String(err)}`);
  }
}

function partitionsOf(assigned: LogLine): number[] {
  return assigned.partitions as number[];
}

/** Resolves once the group committed more input (on the given partitions, default all) than now. */
async function committedMore(prefix: string, what: string, partitions?: readonly number[]): Promise<void> {
  const sum = async () => {
    let n = 0;
    for (const [tp, o] of await committedOffsets(prefix))
      if (!partitions || partitions.includes(Number(tp.slice(tp.lastIndexOf('/') + 1)))) n += o;
    return n;
  };
  const before = await sum();
  await eventually(async () => ((await sum()) > before ? true : undefined), { timeoutMs: 60_000, what });
}

/** The engine's member id in its consumer group (its Kafka client id ends in its instance id, host-pid). */
async function memberIdOf(prefix: string, engine: ServiceProcess): Promise<string> {
  const clientId = `spamgate-feature-engine-${hostname()}-${engine.child.pid}`;
  const { groups } = await admin.describeGroups([`${prefix}-fe`]);
  const member = groups[0]?.members.find((m) => m.clientId === clientId);
  if (!member) throw new Error(`${clientId} is not a member of ${prefix}-fe`);
  return member.memberId;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Input produced while the engines run; see `streamInput`. */
interface InputStream {
  /** Resolves once every record was produced. */
  readonly done: Promise<void>;
  /** Records produced so far. */
  produced(): number;
  /** Records produced and not yet committed by the group, on the given partitions (default all). */
  lag(partitions?: readonly number[]): Promise<number>;
  /** Waits for the group to have records of the given partitions (default all) not committed yet. */
  pending(partitions?: readonly number[]): Promise<number>;
  /** Settles as `step` does, unless producing fails first. */
  race<T>(step: Promise<T>): Promise<T>;
}

/**
 * Produces `input` in event time order, a chunk at a time, while the engines consume it, with one
 * poison record a third of the way through. Two brakes:
 *   - It never produces an event more than `aheadMs` of event time ahead of the oldest record the
 *     group has not committed yet. Whatever the engines do (a dead member's partitions stall, a
 *     restarted one re-reads a backlog, one topic is read ahead of the other), an event is then
 *     applied with the partition's newest event at most `aheadMs` later, so with `aheadMs` below
 *     the allowed lateness nothing is ever late, and the reference's order is as good as any.
 *     It also keeps the engines busy: there is always a backlog of up to `aheadMs` of input.
 *   - Past a gate's fraction of the input, while the gate is closed, it trickles (a few records
 *     every 200 ms) instead of stopping, so that input still flows when the test gets there.
 */
function streamInput(
  prefix: string,
  input: Input,
  options: { aheadMs: number; gates: readonly { at: number; open: Promise<unknown> }[] },
): InputStream {
  const t = featureEngineTopics(prefix);
  type Rec = { topic: string; partition: number; time: number; key: string; value: Buffer };
  const records: Rec[] = [
    ...input.messages.map((e) => ({
      topic: t.messages,
      partition: partitionOf(e.sender),
      time: e.eventTime,
      key: e.sender,
      value: codec.encode('MessageEvent', e),
    })),
    ...input.feedback.map((e) => ({
      topic: t.feedback,
      partition: partitionOf(e.sender),
      time: e.eventTime,
      key: e.sender,
      value: codec.encode('FeedbackEvent', e),
    })),
  ].sort((a, b) => a.time - b.time);
  const third = Math.floor(records.length / 3);
  records.splice(third, 0, {
    topic: t.messages,
    partition: 0,
    time: records[third - 1]!.time,
    key: 'poison',
    value: Buffer.from('not avro'),
  });
  const gates = options.gates.map((g) => {
    const gate = { at: Math.floor(g.at * records.length), open: false };
    void g.open.then(() => {
      gate.open = true;
    });
    return gate;
  });
  // Event times of the records produced to each topic-partition, in offset order (fresh topics,
  // no transactions: the n-th record produced has offset n).
  const times = new Map<string, number[]>();
  let produced = 0;
  async function oldestUncommitted(): Promise<number> {
    const committed = await committedOffsets(prefix);
    let oldest = Number.POSITIVE_INFINITY;
    for (const [tp, ts] of times) {
      const c = committed.get(tp) ?? 0;
      if (c < ts.length) oldest = Math.min(oldest, ts[c]!);
    }
    return oldest;
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const done = (async () => {
    await producer.connect();
    try {
      let i = 0;
      while (i < records.length) {
        const trickle = gates.some((g) => !g.open && i >= g.at);
        const chunk = records.slice(i, i + (trickle ? 5 : 100));
        const newest = chunk.at(-1)!.time;
        while (newest - (await oldestUncommitted()) > options.aheadMs) await sleep(50);
        const byTopic = new Map<string, Rec[]>();
        for (const r of chunk) byTopic.get(r.topic)?.push(r) ?? byTopic.set(r.topic, [r]);
        await producer.sendBatch({
          topicMessages: [...byTopic].map(([topic, rs]) => ({
            topic,
            messages: rs.map((r) => ({ key: r.key, partition: r.partition, value: r.value })),
          })),
        });
        for (const r of chunk) {
          const tp = `${r.topic}/${r.partition}`;
          times.get(tp)?.push(r.time) ?? times.set(tp, [r.time]);
        }
        produced += chunk.length;
        i += chunk.length;
        if (trickle) await sleep(200);
      }
    } finally {
      await producer.disconnect();
    }
  })();
  async function lag(partitions?: readonly number[]): Promise<number> {
    const committed = await committedOffsets(prefix);
    let n = 0;
    for (const [tp, ts] of times) {
      const p = Number(tp.slice(tp.lastIndexOf('/') + 1));
      if (!partitions || partitions.includes(p)) n += ts.length - (committed.get(tp) ?? 0);
    }
    return n;
  }
  const failed = done.then(() => new Promise<never>(() => {}));
  failed.catch(() => {}); // raced by the test's steps; `done` itself is awaited at the end
  return {
    done,
    produced: () => produced,
    lag,
    pending: (partitions) =>
      eventually(
        async () => {
          const n = await lag(partitions);
          return n > 0 ? n : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 20, what: 'input pending' },
      ),
    race: (step) => Promise.race([step, failed]),
  };
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
  const listed = [...expected.features.values()].map(
    (f) => (JSON.parse(f) as SenderFeatures).urlDomains.length,
  );
  assert.ok(
    listed.includes(16) && listed.some((n) => n > 0 && n < 16),
    `the comparison covers urlDomains: ${listed.join(' ')}`,
  );
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

test('instances killed, restarted, added and removed mid-stream: the outputs of one uninterrupted run', {
  timeout: 300_000,
}, async (t) => {
  const prefix = uniqueName('fe-stream');
  const first = processes.length;
  await provision(prefix);
  // About an hour of event time with a 20 min lateness: minutes close, and are published, all
  // along the stream, not only when the sentinels arrive.
  const input = generate(13, 12_000, 600);
  const records = input.messages.length + input.feedback.length;
  const expected = reference(input, STREAM_LATENESS_MS);
  const r = seededRandom(1313);
  const started = Date.now();
  const note = (what: string) => timeline(t, started, what);
  const a = startEngine(prefix, STREAM_LATENESS);
  const b = startEngine(prefix, STREAM_LATENESS);
  const [, bAssigned] = await explained(Promise.all([owns(a, 6), owns(b, 6)]), () => [a, b]);
  const killed = Promise.withResolvers<void>();
  const cJoined = Promise.withResolvers<void>();
  const cLeft = Promise.withResolvers<void>();
  const stream = streamInput(prefix, input, {
    aheadMs: STREAM_AHEAD_MS,
    gates: [
      { at: 0.5, open: killed.promise },
      { at: 0.65, open: cJoined.promise },
      { at: 0.85, open: cLeft.promise },
    ],
  });
  const step = <T>(p: Promise<T>) => explained(stream.race(p), () => processes.slice(first));
  const report = async (what: string, partitions?: readonly number[]) =>
    note(`${what}; ${stream.produced()} records produced, lag ${await stream.lag(partitions)}`);

  // B dies in the middle of its work: once the group committed a random 8-16 % of the input,
  // and a little later.
  const share = 0.08 + r() * 0.08;
  await step(
    eventually(async () => ((await committedInput(prefix)) >= share * records ? true : undefined), {
      timeoutMs: 90_000,
      what: `the instances to commit ${Math.round(share * 100)} % of the input`,
    }),
  );
  await sleep(r() * 300);
  const aSince = a.logs.length;
  const bLag = await step(stream.pending(partitionsOf(bAssigned)));
  b.child.kill('SIGKILL');
  killed.resolve();
  await b.exited;
  await report(`killed B with ${bLag} records of its partitions not committed`);

  // Once B's session expired, A owns all twelve partitions and restores B's from the changelog.
  await step(owns(a, 12, aSince));
  await report('A owns all partitions');
  await sleep(r() * 1_500);
  // B restarts, and takes half of the partitions again.
  const b2 = startEngine(prefix, STREAM_LATENESS);
  await step(owns(b2, 6));
  await report('the restarted B owns six partitions');
  await sleep(500 + r() * 1_500);

  // A third instance joins, takes a third of the partitions, works on them, and leaves.
  const c = startEngine(prefix, STREAM_LATENESS);
  const cPartitions = partitionsOf(await step(owns(c, 4)));
  await step(
    eventually(
      () => (c.logs.filter((l) => l.msg === 'partition state restored').length >= 4 ? true : undefined),
      { timeoutMs: 60_000, what: 'C to restore its partitions' },
    ),
  );
  cJoined.resolve();
  await step(committedMore(prefix, 'C to commit input of its partitions', cPartitions));
  await sleep(r() * 1_500);
  const cLag = await step(stream.pending(cPartitions));
  c.child.kill('SIGTERM');
  cLeft.resolve();
  assert.equal((await c.exited).code, 0, c.stderr());
  await report(`stopped C with ${cLag} records of its partitions not committed`);

  await stream.done;
  const total = stream.produced();
  await waitForCommitted(prefix, total, [a, b2], 'A and B to commit every input record');
  await report('all input committed');
  await produce(prefix, { messages: [], feedback: [] }, true);
  await waitForCommitted(prefix, total + PARTITIONS, [a, b2], 'the sentinels to be committed');
  for (const p of [a, b2]) p.child.kill('SIGTERM');
  assert.equal((await a.exited).code, 0, a.stderr());
  assert.equal((await b2.exited).code, 0, b2.stderr());
  const actual = await outputs(prefix);
  const aborted = (await outputs(prefix, true)).records - actual.records;
  note(
    `${actual.minutes.length} minutes and ${actual.features.size} senders' features compared; ${aborted} output records of aborted transactions left out`,
  );
  assert.equal(
    actual.deadLetters,
    1,
    `the poison record was dead-lettered once: ${actual.deadLetterCodes.join('; ')}`,
  );
  assertSame(actual, expected);
});

test('killed with SIGKILL three times mid-stream and restarted, an instance ends as an uninterrupted run', {
  timeout: 240_000,
}, async (t) => {
  const prefix = uniqueName('fe-crash');
  const first = processes.length;
  await provision(prefix);
  const input = generate(14, 9_000, 800);
  const records = input.messages.length + input.feedback.length;
  const expected = reference(input, STREAM_LATENESS_MS);
  const r = seededRandom(1414);
  const started = Date.now();
  const note = (what: string) => timeline(t, started, what);
  const kills = [Promise.withResolvers<void>(), Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  let engine = startEngine(prefix, STREAM_LATENESS);
  await explained(owns(engine, 12), () => [engine]);
  const stream = streamInput(prefix, input, {
    aheadMs: STREAM_AHEAD_MS,
    gates: kills.map((k, i) => ({ at: (i + 1) / (kills.length + 1), open: k.promise })),
  });
  const step = <T>(p: Promise<T>) => explained(stream.race(p), () => processes.slice(first));
  for (const [i, kill] of kills.entries()) {
    if (i === 1) {
      // Right after it got its partitions: while it fences the previous owner's transactions,
      // restores from the changelog, or runs its first batches.
      await sleep(r() * 1_000);
    } else {
      // In the middle of its work: once the group committed a random share of the input (10-20 %
      // the first time, 35-45 % the third), and a little later.
      const share = (i === 0 ? 0.1 : 0.35) + r() * 0.1;
      await step(
        eventually(async () => ((await committedInput(prefix)) >= share * (records + 1) ? true : undefined), {
          timeoutMs: 90_000,
          what: `instance ${i + 1} to commit ${Math.round(share * 100)} % of the input`,
        }),
      );
      await sleep(r() * 300);
    }
    const memberId = await memberIdOf(prefix, engine);
    const lag = await step(stream.pending());
    engine.child.kill('SIGKILL');
    kill.resolve();
    await engine.exited;
    note(`killed instance ${i + 1}; ${stream.produced()} records produced, ${lag} not committed`);
    // As if its session had timed out: the group lets the next instance in without waiting 30 s.
    await removeGroupMember(brokers.split(',')[0]!, `${prefix}-fe`, memberId);
    engine = startEngine(prefix, STREAM_LATENESS);
    await step(owns(engine, 12));
    note(`instance ${i + 2} owns the partitions`);
  }
  await stream.done;
  const total = stream.produced();
  await waitForCommitted(prefix, total, engine, 'the last instance to commit every input record');
  note('all input committed');
  await produce(prefix, { messages: [], feedback: [] }, true);
  await waitForCommitted(prefix, total + PARTITIONS, engine, 'the sentinels to be committed');
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
  const actual = await outputs(prefix);
  const aborted = (await outputs(prefix, true)).records - actual.records;
  note(
    `${actual.minutes.length} minutes and ${actual.features.size} senders' features compared; ${aborted} output records of aborted transactions left out`,
  );
  assert.equal(
    actual.deadLetters,
    1,
    `the poison record was dead-lettered once: ${actual.deadLetterCodes.join('; ')}`,
  );
  assertSame(actual, expected);
});

test('input keeps arriving through a kill -9, the restart and the wait for the dead session: every event counted in its own minute', {
  timeout: 300_000,
}, async (t) => {
  // Live traffic (event time is the wall clock) at the default idle advance. While the dead
  // instance's session runs out the backlog grows past the allowed lateness; the new instance
  // reads it, and no message of it may be counted late: the time its partitions were down,
  // unassigned or behind the backlog is not idleness, so no idle advance moves a partition's
  // watermark past input still to be read.
  const prefix = uniqueName('fe-live');
  const first = processes.length;
  await provision(prefix);
  const started = Date.now();
  const note = (what: string) => timeline(t, started, what);
  const r = seededRandom(1515);
  const senders = Array.from({ length: 60 }, (_, i) => `+1202555${String(3000 + i)}`);
  const input: Input = { messages: [], feedback: [] };
  const topic = featureEngineTopics(prefix).messages;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let producing = true;
  const live = (async () => {
    let i = 0;
    while (producing) {
      const now = Date.now();
      const chunk: MessageEvent[] = [];
      for (let k = 0; k < 10; k++, i++) {
        const sender = senders[Math.floor(r() ** 2 * senders.length)]!;
        const rec = Math.floor(r() * 500);
        chunk.push({
          messageId: `live-${i}`,
          eventTime: now,
          sender,
          senderKind: 'LONG_CODE',
          recipient: `+1303555${String(rec).padStart(4, '0')}`,
          body: r() < 0.5 ? `Hi ${rec}, your code is ${i % 9999}` : `ok see you at ${rec % 12}`,
          campaignId: null,
          originNetwork: null,
        });
      }
      await producer.send({
        topic,
        messages: chunk.map((e) => ({
          key: e.sender,
          partition: partitionOf(e.sender),
          value: codec.encode('MessageEvent', e),
        })),
      });
      input.messages.push(...chunk);
      await sleep(50);
    }
  })();
  const step = <T>(p: Promise<T>) =>
    explained(Promise.race([p, live.then(() => new Promise<never>(() => {}))]), () => processes.slice(first));
  try {
    const a = startEngine(prefix, LIVE_LATENESS, '10s');
    await step(owns(a, 12));
    await sleep(15_000);
    a.child.kill('SIGKILL');
    await a.exited;
    note(`killed A; ${input.messages.length} messages produced`);
    await sleep(5_000);
    const b = startEngine(prefix, LIVE_LATENESS, '10s');
    // No one removes the dead member: B gets the partitions once its session ran out.
    await step(owns(b, 12));
    note(`B owns the partitions; ${input.messages.length} messages produced`);
    await sleep(15_000);
    producing = false;
    await live;
    await producer.disconnect();
    const total = input.messages.length;
    note(`${total} messages produced`);
    await waitForCommitted(prefix, total, b, 'B to commit every message');
    const sentinelTime = Date.now() + 120_000;
    await produce(prefix, { messages: [], feedback: [] }, true, sentinelTime);
    await waitForCommitted(prefix, total + PARTITIONS, b, 'B to commit the sentinels');
    b.child.kill('SIGTERM');
    assert.equal((await b.exited).code, 0, b.stderr());
    const actual = await outputs(prefix);
    const late = actual.minutes.reduce((n, m) => n + (JSON.parse(m) as { lateEvents: number }).lateEvents, 0);
    const counted = actual.minutes.reduce((n, m) => n + (JSON.parse(m) as { messages: number }).messages, 0);
    note(`${actual.minutes.length} minutes; ${counted} messages counted, ${late} of them late`);
    assert.equal(late, 0, 'no message of the backlog is counted late');
    const expected = reference(input, LIVE_LATENESS_MS, sentinelTime);
    assert.equal(counted, total, 'every message counted once');
    const onlyActual = actual.minutes.filter((m) => !expected.minutes.includes(m));
    const onlyExpected = expected.minutes.filter((m) => !actual.minutes.includes(m));
    assert.deepEqual(
      { onlyActual: onlyActual.slice(0, 2), onlyExpected: onlyExpected.slice(0, 2) },
      { onlyActual: [], onlyExpected: [] },
      'every minute as one uninterrupted run counts it',
    );
  } finally {
    producing = false;
    await live.catch(() => {});
    await producer.disconnect().catch(() => {});
  }
});
