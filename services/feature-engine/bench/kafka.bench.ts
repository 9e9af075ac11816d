/**
 * Benchmark of the feature engine on Kafka. The engine runs as a process (src/main.ts, default
 * settings, as deployed) and is seen only from outside: its JSON log, /metrics, /readyz, /proc,
 * and the topics and consumer group it works on. Each part uses fresh prefixed topics with the
 * production partition counts, provisioned from the catalog, and deletes them at the end.
 *
 *   1. Ceiling: a plain kafkajs consumer reads the input topics, decodes Avro and counts.
 *   2. Throughput: one engine instance on the same pre-produced input, from its group join to
 *      all input committed (the group's committed offsets reach the end offsets).
 *   3. Latency: events produced at a fixed rate; each message is matched to the first committed
 *      SenderFeatures of its sender whose asOf covers its event time.
 *   4. Restore: state for many senders built through one instance, which is stopped; a fresh
 *      instance (another instance id) then restores it from the changelog.
 *
 * Needs a running Kafka: KAFKA_BROKERS (default 127.0.0.1:9092). SPAMGATE_BENCH_SIZE=smoke runs
 * tiny sizes to check the code paths. Prints a Markdown section on stdout (progress on stderr);
 * npm run bench appends it to BENCHMARKS.md. A part in which the engine exits or stops committing
 * is reported as not measured, with the engine's last error (a finding, so the exit code stays 0);
 * a fault of the bench itself exits 1.
 *
 * For investigation (each is printed in the section's command when set):
 *   SPAMGATE_BENCH_PARTS=throughput,latency,restore   run only some parts
 *   SPAMGATE_BENCH_EVENTS, SPAMGATE_BENCH_RESTORE_SENDERS, SPAMGATE_BENCH_LATENCY_RATE,
 *   SPAMGATE_BENCH_LATENCY_SECONDS                   other sizes
 *   SPAMGATE_BENCH_ENGINE_LOGS=<dir>                 keep each engine's whole log there
 *   SPAMGATE_BENCH_MAX_MESSAGE_BYTES=<bytes>         deviation: max.message.bytes of the engine's output topics
 *   SPAMGATE_BENCH_ENGINE_NODE_OPTIONS=<options>     deviation: NODE_OPTIONS of the engine (heap size)
 *   SPAMGATE_BENCH_SERVICE_ENV="NAME=value ..."      deviation: engine settings beyond the defaults
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { createKafka, createLogger, describeError } from '@spamgate/core';
import { createCodec, type MessageEvent } from '@spamgate/schemas';
import {
  fmt,
  gist,
  type LogLine,
  logTime,
  metricValue,
  procStats,
  quantile,
  REPO_ROOT,
  settingsList,
  sleep,
  uniqueName,
  until,
} from '@spamgate/test';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { provisionTopics } from '../../../infra/kafka/provision.ts';
import { TOPICS, topicName } from '../../../infra/kafka/topics.ts';
import {
  createTraffic,
  EngineFailedError,
  type EngineProcess,
  PARTITIONS,
  partitionOf,
  senderAddress,
  spawnEngine,
} from './kafka-support.ts';

const smoke = (process.env.SPAMGATE_BENCH_SIZE ?? 'full') === 'smoke';
const SIZE = smoke
  ? {
      events: 6_000,
      senders: 2_000,
      latencyRate: 300,
      latencySeconds: 5,
      warmupSeconds: 2,
      restoreSenders: 20_000,
      timeoutMs: 180_000,
      stallMs: 60_000,
    }
  : {
      events: 120_000,
      senders: 50_000,
      latencyRate: 2_000,
      latencySeconds: 20,
      warmupSeconds: 3,
      restoreSenders: 1_000_000,
      timeoutMs: 90 * 60_000,
      stallMs: 180_000,
    };
/** Overrides for investigating one part or size: SPAMGATE_BENCH_PARTS=throughput,latency,restore and sizes. */
const PARTS = new Set((process.env.SPAMGATE_BENCH_PARTS ?? 'throughput,latency,restore').split(','));
const overridden = (variable: string, fallback: number) => Number(process.env[variable] ?? fallback);
SIZE.events = overridden('SPAMGATE_BENCH_EVENTS', SIZE.events);
SIZE.restoreSenders = overridden('SPAMGATE_BENCH_RESTORE_SENDERS', SIZE.restoreSenders);
SIZE.latencyRate = overridden('SPAMGATE_BENCH_LATENCY_RATE', SIZE.latencyRate);
SIZE.latencySeconds = overridden('SPAMGATE_BENCH_LATENCY_SECONDS', SIZE.latencySeconds);
/** Share of input events that are feedback (delivery failures, spam reports, blocks). */
const FEEDBACK_SHARE = 0.07;
/** Event time between consecutive pre-produced events: 1 ms, i.e. 1,000 events/s of traffic. */
const EVENT_SPACING_MS = 1;
/** The engine's default emit interval (SPAMGATE_EMIT_INTERVAL), which this bench leaves as it is. */
const EMIT_INTERVAL_MS = 1_000;
/** Rate and most uncommitted records while feeding the restore part's state (see feedPaced). */
const RESTORE_FEED_RATE = 2_000;
const RESTORE_MAX_LAG = 6_000;
/** How long to wait for features covering the last latency messages (30 s lateness, 10 s idle advance). */
const LATENCY_TAIL_MS = 75_000;
const HASH_KEY = 'bench-secret-0123456789abcdef';
/**
 * Opt-in deviation from the catalog: max.message.bytes of the engine's output topics. The engine
 * writes one record batch per partition and topic per input batch, and a batch that changes many
 * senders can exceed the broker's 1 MiB default; set this to measure the rest anyway.
 */
const MAX_MESSAGE_BYTES = process.env.SPAMGATE_BENCH_MAX_MESSAGE_BYTES;
/** Opt-in deviation from a default deployment: NODE_OPTIONS of the engine (e.g. --max-old-space-size=12288). */
const ENGINE_NODE_OPTIONS = process.env.SPAMGATE_BENCH_ENGINE_NODE_OPTIONS;
/** The topic catalog, with the opt-in max.message.bytes on the topics the engine writes. */
const ENGINE_OUTPUTS = [
  'sms.sender-features',
  'sms.sender-minutes',
  'spamgate.feature-engine.changelog',
  'sms.dead-letters',
];
const catalog = MAX_MESSAGE_BYTES
  ? TOPICS.map((t) =>
      ENGINE_OUTPUTS.includes(t.name)
        ? { ...t, configs: { ...t.configs, 'max.message.bytes': MAX_MESSAGE_BYTES } }
        : t,
    )
  : TOPICS;

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b !== '');
const codec = createCodec();
const logger = createLogger({
  service: 'kafka-bench',
  instanceId: String(process.pid),
  level: 'error',
  destination: process.stderr,
});
// Silent: kafkajs logs every retried metadata request for a topic just created; what fails throws.
const kafka: Kafka = createKafka({
  brokers,
  clientId: 'spamgate-kafka-bench',
  logger: createLogger({ service: 'kafka-bench', instanceId: String(process.pid), level: 'silent' }),
});

function progress(message: string): void {
  process.stderr.write(`[kafka bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ------------------------------------------------------------------ resources, cleaned up at exit

const prefixes: string[] = [];
const engines: EngineProcess[] = [];
let admin: Admin | undefined;
let producer: Producer | undefined;
const consumers: { disconnect(): Promise<void> }[] = [];

async function newPrefix(part: string): Promise<string> {
  const prefix = uniqueName(`bench-${part}`);
  prefixes.push(prefix);
  await provisionTopics({ kafka, catalog, prefix, logger });
  return prefix;
}

function topicsOf(prefix: string) {
  return {
    messages: topicName(prefix, 'sms.message-events'),
    feedback: topicName(prefix, 'sms.feedback-events'),
    features: topicName(prefix, 'sms.sender-features'),
    changelog: topicName(prefix, 'spamgate.feature-engine.changelog'),
  };
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(engines.map((e) => e.stop(15_000).then(() => saveLog(e))));
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    await producer?.disconnect().catch(() => {});
    if (!admin || prefixes.length === 0) return;
    try {
      const mine = (name: string) => prefixes.some((p) => name.startsWith(p));
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(mine);
      if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
      const topics = (await admin.listTopics()).filter(mine);
      if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 60_000 });
      progress(`deleted ${topics.length} topics and ${groups.length} consumer groups`);
    } catch (err) {
      progress(`cleanup failed (topics with prefixes ${prefixes.join(', ')} may be left): ${String(err)}`);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the engines and deleting the bench topics`);
    void cleanup().finally(() => process.exit(130));
  });
}

function startEngine(prefix: string, instance: string): EngineProcess {
  const engine = spawnEngine(instance, {
    SPAMGATE_KAFKA_BROKERS: brokers.join(','),
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
    SPAMGATE_HASH_KEY: HASH_KEY,
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
    SPAMGATE_INSTANCE_ID: `${prefix}-${instance}`,
    ...(ENGINE_NODE_OPTIONS ? { NODE_OPTIONS: ENGINE_NODE_OPTIONS } : {}),
    ...settingsList(process.env.SPAMGATE_BENCH_SERVICE_ENV),
  });
  engines.push(engine);
  return engine;
}

/** With SPAMGATE_BENCH_ENGINE_LOGS=<dir>, writes an engine's whole log there (once). */
const saved = new Set<EngineProcess>();
function saveLog(engine: EngineProcess): void {
  const dir = process.env.SPAMGATE_BENCH_ENGINE_LOGS;
  if (!dir || saved.has(engine)) return;
  saved.add(engine);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${engine.name}-${engine.pid}.log`);
  writeFileSync(
    file,
    `${engine.proc.logs.map((l) => JSON.stringify(l)).join('\n')}\n${engine.proc.stderr()}`,
  );
  progress(`engine ${engine.name}'s log is in ${file}`);
}

const stopped = new Set<EngineProcess>();
/** Stops an engine, says how it ended, and reports what it logged at warn or above. */
async function stopEngine(engine: EngineProcess): Promise<{ code: number | null; ms: number }> {
  stopped.add(engine);
  const ended = await engine.stop(60_000);
  saveLog(engine);
  const problems = engine.problems();
  for (const l of problems) {
    const key = `${String(l.level)}: ${gist(l)}`;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  }
  if (problems.length > 0) {
    const errors = problems.filter((x) => x.level !== 'warn');
    progress(
      `engine ${engine.name} logged ${problems.length} lines at warn or above${errors.length > 0 ? ', among them:' : ''}`,
    );
    for (const l of errors.slice(0, 5)) process.stderr.write(`  ${JSON.stringify(l).slice(0, 800)}\n`);
  }
  if (ended.code !== 0) {
    progress(
      `engine ${engine.name} exited with ${ended.code ?? ended.signal}: ${engine.proc.stderr().slice(-1_000)}`,
    );
  }
  return { code: ended.code, ms: ended.ms };
}

// ------------------------------------------------------------------ producing and counting

/** Sends `total` records made by `make`, 2,000 a request and up to 4 requests in flight. */
async function produceBulk(
  total: number,
  make: (i: number) => { topic: string; sender: string; value: Buffer },
): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for (let start = 0; start < total && failure === undefined; start += 2_000) {
    const byTopic = new Map<string, Message[]>();
    for (let i = start; i < Math.min(total, start + 2_000); i++) {
      const r = make(i);
      let list = byTopic.get(r.topic);
      if (!list) {
        list = [];
        byTopic.set(r.topic, list);
      }
      list.push({ key: r.sender, value: r.value, partition: partitionOf(r.sender) });
    }
    const sent: Promise<void> = producer!
      .sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
      .then(
        () => {},
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => inflight.delete(sent));
    inflight.add(sent);
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
}

/** Sum over the input topics of the engine group's committed offsets (= records committed). */
async function committedInput(prefix: string): Promise<number> {
  const t = topicsOf(prefix);
  const offsets = await admin!.fetchOffsets({ groupId: `${prefix}-fe`, topics: [t.messages, t.feedback] });
  return offsets.reduce((n, o) => n + o.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0), 0);
}

/**
 * Polls until the engine committed `total` input records; returns when it saw that (ms). Fails
 * if the engine exits, or commits nothing for SIZE.stallMs.
 */
async function waitCommitted(
  prefix: string,
  total: number,
  engine: EngineProcess,
  what: string,
): Promise<number> {
  let last = 0;
  let lastReport = Date.now();
  let progressAt = Date.now();
  return until(
    () => `${what} (committed ${last} of ${total})`,
    SIZE.timeoutMs,
    async () => {
      engine.assertAlive();
      const committed = await committedInput(prefix);
      if (committed > last) progressAt = Date.now();
      last = committed;
      if (last >= total) return Date.now();
      if (Date.now() - progressAt > SIZE.stallMs) {
        throw new EngineFailedError(
          `the engine committed no input for ${SIZE.stallMs / 1000} s, stuck at ${last.toLocaleString('en')} of ${total.toLocaleString('en')}; its last error: ${engine.lastError() ?? 'none'}`,
        );
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        const stats = procStats(engine.pid);
        progress(
          `  ${what}: ${last.toLocaleString('en')} of ${total.toLocaleString('en')} committed; engine CPU ${fmt.fixed(stats?.cpuSeconds ?? Number.NaN)} s, peak RSS ${fmt.mib(stats?.peakRssBytes ?? Number.NaN)}`,
        );
      }
      return undefined;
    },
    100,
  );
}

/**
 * Produces `total` records made by `make` at up to RESTORE_FEED_RATE a second while `engine`
 * consumes them, holding back while more than RESTORE_MAX_LAG are not yet committed.
 */
async function feedPaced(
  prefix: string,
  total: number,
  engine: EngineProcess,
  make: (i: number) => { topic: string; sender: string; value: Buffer },
): Promise<void> {
  const started = Date.now();
  let sent = 0;
  let committed = 0;
  let polledAt = 0;
  let progressAt = Date.now();
  let reportedAt = Date.now();
  while (sent < total) {
    engine.assertAlive();
    if (Date.now() - polledAt >= 200) {
      polledAt = Date.now();
      const c = await committedInput(prefix);
      if (c > committed) progressAt = polledAt;
      committed = c;
      if (polledAt - progressAt > SIZE.stallMs)
        throw new EngineFailedError(
          `the engine committed no input for ${SIZE.stallMs / 1000} s, stuck at ${committed.toLocaleString('en')} of ${total.toLocaleString('en')}; its last error: ${engine.lastError() ?? 'none'}`,
        );
      if (polledAt - reportedAt > 15_000) {
        reportedAt = polledAt;
        const stats = procStats(engine.pid);
        progress(
          `  fed ${sent.toLocaleString('en')}, committed ${committed.toLocaleString('en')} of ${total.toLocaleString('en')}; engine CPU ${fmt.fixed(stats?.cpuSeconds ?? Number.NaN)} s, peak RSS ${fmt.mib(stats?.peakRssBytes ?? Number.NaN)}`,
        );
      }
    }
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * RESTORE_FEED_RATE)) - sent;
    const n = Math.min(due, RESTORE_MAX_LAG - (sent - committed), 1_000);
    if (n <= 0) {
      await sleep(10);
      continue;
    }
    const messages = Array.from({ length: n }, (_, k) => make(sent + k));
    await producer!.sendBatch({
      topicMessages: [...Map.groupBy(messages, (m) => m.topic)].map(([topic, list]) => ({
        topic,
        messages: list.map((m) => ({ key: m.sender, value: m.value, partition: partitionOf(m.sender) })),
      })),
    });
    sent += n;
  }
}

async function waitAssigned(engine: EngineProcess): Promise<number> {
  const line = await engine.proc.waitForLog((l) => l.msg === 'partitions assigned', 120_000);
  return logTime(line);
}

// ------------------------------------------------------------------ 1 and 2: ceiling and throughput

/** The input of parts 1 and 2, and the consume-only rate (kept when the engine part fails). */
let ceiling: { messages: number; feedback: number; perSecond: number } | undefined;

interface Throughput {
  enginePerSecond: number;
  engineSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  deadLetters: number;
  transactions: number;
  /** Records the engine processed: inputs and what it read back from its repartition topics. */
  recordsRead: number;
}

async function consumeOnly(prefix: string, total: number): Promise<number> {
  const t = topicsOf(prefix);
  // The engine's fetch settings, so the two read the same way.
  const consumer = kafka.consumer({
    groupId: `${prefix}-ceiling`,
    readUncommitted: false,
    maxBytesPerPartition: 1_048_576,
  });
  consumers.push(consumer);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [t.messages, t.feedback], fromBeginning: true });
    let joinedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joinedAt ||= Date.now();
    });
    let count = 0;
    const doneAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the consume-only reader timed out')), SIZE.timeoutMs);
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const record = batch.topic === t.messages ? 'MessageEvent' : 'FeedbackEvent';
          for (const m of batch.messages) {
            if (m.value) codec.decode(record, m.value);
            count++;
          }
          if (count >= total) {
            clearTimeout(timer);
            resolve(Date.now());
          }
        },
      });
    });
    return total / ((doneAt - joinedAt) / 1000);
  } finally {
    await consumer.disconnect();
  }
}

async function throughput(): Promise<Throughput> {
  const prefix = await newPrefix('tp');
  const t = topicsOf(prefix);
  const traffic = createTraffic(1, SIZE.senders);
  const total = SIZE.events;
  const base = Date.now() - total * EVENT_SPACING_MS - 60_000;
  let messages = 0;
  let feedback = 0;
  progress(
    `producing ${total.toLocaleString('en')} events from ${SIZE.senders.toLocaleString('en')} senders`,
  );
  await produceBulk(total, (i) => {
    const time = base + i * EVENT_SPACING_MS;
    if (traffic.random() < FEEDBACK_SHARE) {
      feedback++;
      const e = traffic.feedback(time);
      return { topic: t.feedback, sender: e.sender, value: codec.encode('FeedbackEvent', e) };
    }
    messages++;
    const e = traffic.message(time);
    return { topic: t.messages, sender: e.sender, value: codec.encode('MessageEvent', e) };
  });

  progress('consume-only ceiling');
  ceiling = { messages, feedback, perSecond: await consumeOnly(prefix, total) };

  progress('one engine instance on the same input');
  const engine = startEngine(prefix, 'throughput');
  const startedAt = await waitAssigned(engine);
  const before = procStats(engine.pid);
  const doneAt = await waitCommitted(prefix, total, engine, 'the engine to commit every input record');
  const after = procStats(engine.pid);
  const metrics = await engine.get('/metrics').catch(() => ({ body: '' }));
  const ended = await stopEngine(engine);
  if (ended.code !== 0) throw new EngineFailedError(`the engine exited with ${ended.code} on SIGTERM`);
  const engineSeconds = (doneAt - startedAt) / 1000;
  return {
    enginePerSecond: total / engineSeconds,
    engineSeconds,
    cpuSeconds: before && after ? after.cpuSeconds - before.cpuSeconds : Number.NaN,
    peakRssBytes: after?.peakRssBytes ?? Number.NaN,
    deadLetters: metricValue(metrics.body, 'spamgate_feature_engine_dead_letters_total') ?? Number.NaN,
    transactions: metricValue(metrics.body, 'spamgate_feature_engine_transactions_total') ?? Number.NaN,
    recordsRead: metricValue(metrics.body, 'spamgate_feature_engine_events_total') ?? Number.NaN,
  };
}

// ------------------------------------------------------------------ 3: latency

interface Latency {
  rate: number;
  measured: number;
  uncovered: number;
  p50: number;
  p99: number;
  max: number;
  promptShare: number;
  promptP50: number;
  promptP99: number;
  heldP50: number;
  commitReadP50: number;
  engineCores: number;
  warmupSeconds: number;
  /** Closings of minutes with traffic within the measured window (each a large transaction per partition). */
  minuteCloses: number;
  exit: string | undefined;
}

interface Sent {
  readonly eventTime: number;
  readonly producedAt: number;
  readonly measured: boolean;
}

async function latency(rate: number): Promise<Latency> {
  const prefix = await newPrefix('lat');
  const t = topicsOf(prefix);
  const engine = startEngine(prefix, 'latency');
  await waitAssigned(engine);

  const pending = new Map<string, Sent[]>();
  const lastAsOf = new Map<string, number>();
  const total: number[] = [];
  const prompt: number[] = [];
  const held: number[] = [];
  const commitRead: number[] = [];
  let measuredOpen = 0;
  const reader = kafka.consumer({
    groupId: `${prefix}-features`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  consumers.push(reader);
  await reader.connect();
  await reader.subscribe({ topic: t.features, fromBeginning: true });
  const joined = new Promise<void>((resolve) => reader.on(reader.events.GROUP_JOIN, () => resolve()));
  void reader.run({
    eachBatch: async ({ batch }) => {
      const consumedAt = Date.now();
      for (const m of batch.messages) {
        if (!m.value) continue;
        const f = codec.decode('SenderFeatures', m.value);
        const previous = lastAsOf.get(f.sender) ?? Number.NEGATIVE_INFINITY;
        if (f.asOf > previous) lastAsOf.set(f.sender, f.asOf);
        const list = pending.get(f.sender);
        if (!list) continue;
        let k = 0;
        for (; k < list.length && list[k]!.eventTime <= f.asOf; k++) {
          const s = list[k]!;
          if (!s.measured) continue;
          measuredOpen--;
          const ms = consumedAt - s.producedAt;
          total.push(ms);
          // Held back: the sender's previous features were less than the emit interval before it.
          if (s.eventTime - previous < EMIT_INTERVAL_MS) held.push(ms);
          else {
            prompt.push(ms);
            commitRead.push(consumedAt - f.emittedAt);
          }
        }
        if (k === list.length) pending.delete(f.sender);
        else list.splice(0, k);
      }
    },
  });
  await joined;

  const traffic = createTraffic(3, SIZE.senders);
  const started = Date.now();
  // Warm-up: at least SIZE.warmupSeconds, and until the engine opened every partition (it does
  // so on each partition's first input, one after another), at most a minute.
  const opened = () => engine.proc.logs.filter((l) => l.msg === 'partition state restored').length;
  let warmupEnd = Number.POSITIVE_INFINITY;
  let end = Number.POSITIVE_INFINITY;
  let sent = 0;
  let cpuAtWarmupEnd: number | undefined;
  progress(
    `producing ${rate.toLocaleString('en')} events/s for ${SIZE.latencySeconds} s after a warm-up (at least ${SIZE.warmupSeconds} s, until every partition is open)`,
  );
  while (Date.now() < end) {
    if (
      warmupEnd === Number.POSITIVE_INFINITY &&
      Date.now() - started >= SIZE.warmupSeconds * 1000 &&
      (opened() >= PARTITIONS || Date.now() - started >= 60_000)
    ) {
      warmupEnd = Date.now();
      end = warmupEnd + SIZE.latencySeconds * 1000;
    }
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    if (due <= 0) {
      await sleep(2);
      continue;
    }
    const now = Date.now();
    const measured = now >= warmupEnd;
    if (measured && cpuAtWarmupEnd === undefined)
      cpuAtWarmupEnd = procStats(engine.pid)?.cpuSeconds ?? Number.NaN;
    const byTopic = new Map<string, Message[]>([
      [t.messages, []],
      [t.feedback, []],
    ]);
    for (let k = 0; k < due; k++) {
      if (traffic.random() < FEEDBACK_SHARE) {
        const e = traffic.feedback(now);
        byTopic.get(t.feedback)!.push({
          key: e.sender,
          partition: partitionOf(e.sender),
          value: codec.encode('FeedbackEvent', e),
        });
        continue;
      }
      const e = traffic.message(now);
      // Registered before the send, so a fast answer cannot arrive before its question.
      let list = pending.get(e.sender);
      if (!list) {
        list = [];
        pending.set(e.sender, list);
      }
      list.push({ eventTime: now, producedAt: now, measured });
      if (measured) measuredOpen++;
      byTopic.get(t.messages)!.push({
        key: e.sender,
        partition: partitionOf(e.sender),
        value: codec.encode('MessageEvent', e),
      });
    }
    await producer!.sendBatch({
      topicMessages: [...byTopic]
        .filter(([, messages]) => messages.length > 0)
        .map(([topic, messages]) => ({ topic, messages })),
    });
    sent += due;
    engine.assertAlive();
  }
  const engineCores =
    (((procStats(engine.pid)?.cpuSeconds ?? Number.NaN) - (cpuAtWarmupEnd ?? Number.NaN)) /
      (Date.now() - warmupEnd)) *
    1000;
  const measured = measuredOpen + total.length;
  progress(`waiting up to ${LATENCY_TAIL_MS / 1000} s for features covering the last messages`);
  await until(
    'features covering every message',
    LATENCY_TAIL_MS,
    () => (measuredOpen === 0 ? true : undefined),
    200,
  ).catch(() => {});
  const uncovered = measuredOpen;
  await reader.disconnect();
  const lastError = engine.lastError();
  const ended = await stopEngine(engine);
  // A failure after the window does not void the figures measured in it; it is reported beside them.
  const exit =
    ended.code === 0
      ? undefined
      : `the engine exited with ${ended.code} on SIGTERM; its last error: ${lastError ?? 'none'}`;
  // Minutes with traffic whose closing (watermark = newest event time - 30 s past their end) fell in the window.
  let minuteCloses = 0;
  for (let m = Math.ceil(started / 60_000) * 60_000; m + 30_000 <= end; m += 60_000)
    if (m + 30_000 >= warmupEnd) minuteCloses++;
  for (const xs of [total, prompt, held, commitRead]) xs.sort((a, b) => a - b);
  return {
    rate,
    measured,
    uncovered,
    p50: quantile(total, 0.5),
    p99: quantile(total, 0.99),
    max: total.at(-1) ?? Number.NaN,
    promptShare: prompt.length / Math.max(1, total.length),
    promptP50: quantile(prompt, 0.5),
    promptP99: quantile(prompt, 0.99),
    heldP50: quantile(held, 0.5),
    commitReadP50: quantile(commitRead, 0.5),
    engineCores,
    warmupSeconds: (warmupEnd - started) / 1000,
    minuteCloses,
    exit,
  };
}

// ------------------------------------------------------------------ 4: restore

interface Restore {
  senders: number;
  buildPerSecond: number;
  buildPeakRssBytes: number;
  stopMs: number;
  changelogRecords: number;
  restoredSenders: number;
  /** Relation books restored with them (every address that sent or received a message). */
  restoredBooks: number;
  restoredPartitions: number;
  restoreSecondsSum: number;
  restoreCount: number;
  spawnToRestoredSeconds: number;
  assignedToRestoredSeconds: number;
  firstReadySeconds: number;
  restoredAtFirstReady: number;
  spawnToCaughtUpSeconds: number;
  restorePeakRssBytes: number;
}

async function restore(): Promise<Restore> {
  const prefix = await newPrefix('restore');
  const t = topicsOf(prefix);
  const senders = SIZE.restoreSenders;
  const traffic = createTraffic(4, 1);

  progress(
    `building the state through one engine instance: one message each for ${senders.toLocaleString('en')} senders, fed at up to ${RESTORE_FEED_RATE.toLocaleString('en')}/s`,
  );
  const a = startEngine(prefix, 'restore-a');
  const startedAt = await waitAssigned(a);
  // Fed live rather than as a backlog: a backlog hands the engine 1 MiB batches of new senders,
  // whose transactions outgrow the broker's record batch limit. Event times are when they are
  // produced: near now, so no window empties and nobody is evicted.
  await feedPaced(prefix, senders, a, (i) => {
    const e = traffic.message(Date.now(), senderAddress(i, '1415'));
    return { topic: t.messages, sender: e.sender, value: codec.encode('MessageEvent', e) };
  });
  const doneAt = await waitCommitted(prefix, senders, a, 'the first instance to build the state');
  const built = procStats(a.pid);
  const aMetrics = await a.get('/metrics').catch(() => ({ body: '' }));
  progress(
    `  it holds ${metricValue(aMetrics.body, 'spamgate_feature_engine_senders') ?? '?'} senders; stopping it (SIGTERM)`,
  );
  const stopped = await stopEngine(a);
  if (stopped.code !== 0)
    throw new EngineFailedError(`the first instance exited with ${stopped.code} on SIGTERM`);
  const changelogRecords = (await admin!.fetchTopicOffsets(t.changelog)).reduce(
    (n, o) => n + Number(o.high) - Number(o.low),
    0,
  );

  // The engine restores a partition when its first input arrives: one new message per partition.
  const now = Date.now();
  await producer!.send({
    topic: t.messages,
    messages: Array.from({ length: PARTITIONS }, (_, p): Message => {
      const e: MessageEvent = { ...traffic.message(now, `sentinel-${p}`), senderKind: 'ALPHANUMERIC' };
      return { key: e.sender, partition: p, value: codec.encode('MessageEvent', e) };
    }),
  });

  progress('a fresh instance restores from the changelog');
  const b = startEngine(prefix, 'restore-b');
  /** The first 'partition state restored' line of each partition (a later one is a second restore). */
  const firstRestores = () => {
    const first = new Map<unknown, LogLine>();
    for (const l of b.proc.logs)
      if (l.msg === 'partition state restored' && !first.has(l.partition)) first.set(l.partition, l);
    return [...first.values()];
  };
  let firstReadyAt = Number.NaN;
  let restoredAtFirstReady = Number.NaN;
  let polling = true;
  const readiness = (async () => {
    while (polling && Number.isNaN(firstReadyAt)) {
      const r = await b.get('/readyz').catch(() => undefined);
      if (r?.status === 200) {
        firstReadyAt = Date.now();
        restoredAtFirstReady = firstRestores().length;
      }
      await sleep(50);
    }
  })();
  try {
    const assignedAt = await waitAssigned(b);
    await until('every partition to be restored', SIZE.timeoutMs, () => {
      b.assertAlive();
      return firstRestores().length >= PARTITIONS ? true : undefined;
    });
    const lines = firstRestores();
    const restoredAt = Math.max(...lines.map(logTime));
    const caughtUpAt = await waitCommitted(
      prefix,
      senders + PARTITIONS,
      b,
      'the fresh instance to commit new input',
    );
    await until('/readyz to answer 200', 30_000, () => (Number.isNaN(firstReadyAt) ? undefined : true)).catch(
      () => {},
    );
    const bMetrics = (await b.get('/metrics')).body;
    const peak = procStats(b.pid);
    return {
      senders,
      buildPerSecond: senders / ((doneAt - startedAt) / 1000),
      buildPeakRssBytes: built?.peakRssBytes ?? Number.NaN,
      stopMs: stopped.ms,
      changelogRecords,
      restoredSenders: lines.reduce((n, l) => n + Number(l.senders ?? 0), 0),
      restoredBooks: lines.reduce((n, l) => n + Number(l.relationBooks ?? 0), 0),
      restoredPartitions: lines.length,
      restoreSecondsSum:
        metricValue(bMetrics, 'spamgate_feature_engine_restore_duration_seconds_sum') ?? Number.NaN,
      restoreCount:
        metricValue(bMetrics, 'spamgate_feature_engine_restore_duration_seconds_count') ?? Number.NaN,
      spawnToRestoredSeconds: (restoredAt - b.spawnedAt) / 1000,
      assignedToRestoredSeconds: (restoredAt - assignedAt) / 1000,
      firstReadySeconds: (firstReadyAt - b.spawnedAt) / 1000,
      restoredAtFirstReady,
      spawnToCaughtUpSeconds: (caughtUpAt - b.spawnedAt) / 1000,
      restorePeakRssBytes: peak?.peakRssBytes ?? Number.NaN,
    };
  } finally {
    polling = false;
    await readiness;
    const ended = await stopEngine(b);
    if (ended.code !== 0) progress(`the restoring instance exited with ${ended.code} on SIGTERM`);
  }
}

// ------------------------------------------------------------------ run and report

/** Distinct engine log lines at warn or above, with how often each came. */
const warnings = new Map<string, number>();
/** Parts that did not finish: the engine's failures are findings, the bench's are errors. */
const failures = new Map<string, { message: string; engine: boolean }>();

async function part<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  const started = Date.now();
  const enginesBefore = engines.length;
  try {
    const result = await run();
    progress(`${name} done in ${Math.round((Date.now() - started) / 1000)} s`);
    return result;
  } catch (err) {
    const message = describeError(err).message;
    progress(`${name} FAILED: ${message}`);
    failures.set(name, { message: message.slice(0, 400), engine: err instanceof EngineFailedError });
    return undefined;
  } finally {
    // A part that failed half-way must not leave its engines running into the next part.
    for (const engine of engines.slice(enginesBefore)) if (!stopped.has(engine)) await stopEngine(engine);
  }
}

const benchStarted = Date.now();
let brokerCount = Number.NaN;
let tp: Throughput | undefined;
let lat: Latency | undefined;
let rs: Restore | undefined;
try {
  admin = kafka.admin();
  await admin.connect();
  brokerCount = (await admin.describeCluster()).brokers.length;
  producer = kafka.producer();
  await producer.connect();
  if (PARTS.has('throughput')) tp = await part('throughput', throughput);
  const rate = tp ? Math.min(SIZE.latencyRate, Math.floor(tp.enginePerSecond / 2)) : SIZE.latencyRate;
  if (PARTS.has('latency')) lat = await part('latency', () => latency(rate));
  if (PARTS.has('restore')) rs = await part('restore', restore);
} finally {
  await cleanup();
}
const benchMinutes = (Date.now() - benchStarted) / 60_000;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const script = relative(REPO_ROOT, process.argv[1] ?? 'services/feature-engine/bench/kafka.bench.ts');
const command = [
  ...Object.entries(process.env)
    .filter(([name]) => name === 'KAFKA_BROKERS' || name.startsWith('SPAMGATE_BENCH_'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`),
  'node',
  ...process.execArgv,
  script,
]
  .filter((s) => s !== '')
  .join(' ');
const rows: [string, string][] = [];
const failed = (name: string) => {
  const f = failures.get(name);
  return f ? `${f.engine ? 'not measured: ' : 'bench failed: '}${f.message.replaceAll('|', '/')}` : 'failed';
};
if (ceiling) {
  const input = `${(ceiling.messages + ceiling.feedback).toLocaleString('en')} events (${ceiling.messages.toLocaleString('en')} messages, ${ceiling.feedback.toLocaleString('en')} feedback) from ${SIZE.senders.toLocaleString('en')} senders, 12 partitions`;
  rows.push([
    `Ceiling: kafkajs consumer reading both input topics, decoding Avro, counting (${input})`,
    `${fmt.int(ceiling.perSecond)} events/s`,
  ]);
}
if (tp) {
  const n = SIZE.events;
  rows.push(
    [
      `One engine instance, Kafka to features: group join to all input committed (same input)`,
      `${fmt.int(tp.enginePerSecond)} events/s (${fmt.fixed(tp.engineSeconds)} s)`,
    ],
    [
      'Engine CPU over that run (user + system) / peak RSS (VmHWM)',
      `${fmt.fixed(tp.cpuSeconds)} s (${fmt.fixed(tp.cpuSeconds / tp.engineSeconds, 2)} cores) / ${fmt.mib(tp.peakRssBytes)}`,
    ],
  );
  rows.push([
    'Engine transactions committed over that run (from its metrics) / input events per transaction',
    `${fmt.int(tp.transactions)} / ${fmt.int(n / tp.transactions)}`,
  ]);
  rows.push([
    'Records the engine processed per input event: the input, and what it read back from its repartition topics (by recipient: every message; by cluster: messages with a content cluster, and their opt-outs)',
    fmt.fixed(tp.recordsRead / n, 2),
  ]);
  if (tp.deadLetters > 0) rows.push(['Input records the engine dead-lettered', fmt.int(tp.deadLetters)]);
} else if (PARTS.has('throughput'))
  rows.push(['One engine instance, Kafka to features', failed('throughput')]);
if (lat) {
  const what = `${lat.measured.toLocaleString('en')} messages at ${lat.rate.toLocaleString('en')} events/s for ${SIZE.latencySeconds} s, after ${fmt.fixed(lat.warmupSeconds)} s of warm-up until every partition was open; minute closes with traffic in the window: ${lat.minuteCloses}`;
  rows.push(
    [
      `Produce → committed features consumed, p50 / p99 / max (${what})`,
      `${fmt.int(lat.p50)} / ${fmt.int(lat.p99)} / ${fmt.int(lat.max)} ms`,
    ],
    [
      `… messages published by the next commit (${fmt.fixed(lat.promptShare * 100)} %), p50 / p99; of which commit + read after emit, p50`,
      `${fmt.int(lat.promptP50)} / ${fmt.int(lat.promptP99)} ms; ${fmt.int(lat.commitReadP50)} ms`,
    ],
    [
      `… messages held by the ${EMIT_INTERVAL_MS / 1000} s emit interval (${fmt.fixed((1 - lat.promptShare) * 100)} %), p50`,
      `${fmt.int(lat.heldP50)} ms`,
    ],
    ['Engine CPU while producing at that rate (user + system)', `${fmt.fixed(lat.engineCores, 2)} cores`],
  );
  if (lat.exit) rows.push(['… after the window', lat.exit.replaceAll('|', '/')]);
  if (lat.uncovered > 0)
    rows.push([
      `Messages with no covering features within ${LATENCY_TAIL_MS / 1000} s of the end`,
      fmt.int(lat.uncovered),
    ]);
} else if (PARTS.has('latency')) rows.push(['Produce → features latency', failed('latency')]);
if (rs) {
  rows.push(
    [
      `Building state for ${rs.senders.toLocaleString('en')} senders (one message each, fed live at up to ${RESTORE_FEED_RATE.toLocaleString('en')}/s with at most ${RESTORE_MAX_LAG.toLocaleString('en')} uncommitted) through one instance: rate / peak RSS / stop on SIGTERM`,
      `${fmt.int(rs.buildPerSecond)} events/s / ${fmt.mib(rs.buildPeakRssBytes)} / ${fmt.fixed(rs.stopMs / 1000)} s`,
    ],
    [
      `Restore by a fresh instance: senders / relation books restored (${rs.restoredPartitions} partitions, ${fmt.int(rs.changelogRecords)} changelog records)`,
      `${fmt.int(rs.restoredSenders)} / ${fmt.int(rs.restoredBooks)}`,
    ],
    [
      `… restore seconds, sum of the engine's restore histogram (${fmt.int(rs.restoreCount)} observations)`,
      `${fmt.fixed(rs.restoreSecondsSum)} s`,
    ],
    [
      '… wall time from start to every partition restored / from group join',
      `${fmt.fixed(rs.spawnToRestoredSeconds)} s / ${fmt.fixed(rs.assignedToRestoredSeconds)} s`,
    ],
    [
      '… wall time from start to new input committed / to first /readyz 200 (partitions restored by then)',
      `${fmt.fixed(rs.spawnToCaughtUpSeconds)} s / ${fmt.fixed(rs.firstReadySeconds)} s (${Number.isNaN(rs.restoredAtFirstReady) ? 'n/a' : rs.restoredAtFirstReady} of ${PARTITIONS})`,
    ],
    ['… peak RSS of the restoring instance', fmt.mib(rs.restorePeakRssBytes)],
  );
} else if (PARTS.has('restore')) rows.push(['Restore', failed('restore')]);

/** A target's verdict: met, or by how much it was missed. */
function verdict(value: number, target: number, atMost: boolean, unit: string): string {
  const met = atMost ? value <= target : value >= target;
  if (met) return 'met';
  const gap = Math.abs(value - target);
  return `not met: ${fmt.fixed(value)}${unit}, ${fmt.fixed(gap)}${unit} (${fmt.int((100 * gap) / target)} %) ${atMost ? 'over' : 'short'}`;
}

const targets = [
  `25,000 events/s through one instance (${tp ? verdict(tp.enginePerSecond, 25_000, false, ' events/s') : 'not measured'})`,
  `1,000,000 senders restored in at most 10 s, from start to every partition restored (${
    !rs
      ? 'not measured'
      : rs.restoredSenders < 1_000_000
        ? `not measured at that size: ${fmt.int(rs.restoredSenders)} senders`
        : verdict(rs.spawnToRestoredSeconds, 10, true, ' s')
  })`,
];

console.log(`## Feature engine on Kafka (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, ${fmt.int(brokerCount)} Kafka broker(s) at ${brokers.join(',')}${smoke ? ' (smoke size)' : ''}; the whole Kafka bench took ${fmt.fixed(benchMinutes)} min. Command: \`${command}\` (run by \`npm run bench\`).

The engine runs as a process (\`services/feature-engine/src/main.ts\`) with its default settings (30 s allowed lateness, 1 s emit interval, 10 s idle advance, a transaction per partition at most every 100 ms, fetches waiting up to 20 ms for input) on fresh prefixed topics provisioned from the catalog (12 partitions). Input: messages from a few templates with personalisation, random recipients, ${fmt.int(FEEDBACK_SHARE * 100)} % feedback events. Latency is from just before the producer's send (acks=all) to the moment the bench's read_committed consumer received the SenderFeatures whose asOf first covers the message's event time: the engine's fetch, processing, the wait for the partition's next transaction and the transaction itself, the read, and for a sender emitted less than the emit interval before, the wait until its next message or until the partition's watermark (newest event time − 30 s) passes its latest event by the interval.

| What | Figure |
| --- | --- |
${rows.map(([what, figure]) => `| ${what} | ${figure} |`).join('\n')}

Targets of issue 18: ${targets.join('; ')}.${MAX_MESSAGE_BYTES ? ` Unlike production, the engine's output topics had max.message.bytes ${MAX_MESSAGE_BYTES} (SPAMGATE_BENCH_MAX_MESSAGE_BYTES).` : ''}${ENGINE_NODE_OPTIONS ? ` Unlike a default deployment, the engine ran with NODE_OPTIONS=${ENGINE_NODE_OPTIONS} (SPAMGATE_BENCH_ENGINE_NODE_OPTIONS).` : ''}
${
  warnings.size > 0
    ? `\nThe engines logged at warn or above: ${[...warnings]
        .map(([line, n]) => `${n} × ${line.replaceAll('`', "'")}`)
        .join('; ')}.\n`
    : ''
}`);
const benchFailures = [...failures].filter(([, f]) => !f.engine);
if (benchFailures.length > 0) {
  process.stderr.write(
    `kafka bench: ${benchFailures.map(([name, f]) => `${name}: ${f.message}`).join('\n')}\n`,
  );
  process.exitCode = 1;
}
