/**
 * Benchmark of the decision engine.
 *
 *   1. Core: evaluations per second of the decider (default policy, and with a shadow policy
 *      beside it) over a mix of feature vectors, one core, in process.
 *   2. On Kafka: the engine as a process (src/main.ts, default settings) on fresh prefixed
 *      topics; SenderFeatures produced at a fixed rate, half the senders flipping between
 *      THROTTLE and ALLOW on every record (a bench policy with no minimum hold), so that a
 *      decision is published for most records. Latency is from just before the features
 *      record's send (acks=all) to the moment the bench's read_committed consumer receives the
 *      decision (sms.decisions) or the evaluation (sms.decision-evaluations) based on it.
 *
 * Needs a running Kafka: KAFKA_BROKERS (default 127.0.0.1:9092). SPAMGATE_BENCH_SIZE=smoke runs
 * tiny sizes. Prints a Markdown section on stdout (progress on stderr); npm run bench appends it
 * to BENCHMARKS.md.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, createLogger, TRANSACTIONAL_PRODUCER_RETRY, waitForTopicLeaders } from '@spamgate/core';
import { createCodec, type Decision, type SenderFeatures } from '@spamgate/schemas';
import { fmt, mulberry32, procStats, quantile, sleep, spawnService, uniqueName, until } from '@spamgate/test';
import { provisionTopics } from '../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../infra/kafka/topics.ts';
import { decisionEngineTopics, policyPath } from '../src/config.ts';
import { decide, EMPTY_STATE, type SenderDecisionState } from '../src/decider.ts';
import { loadPolicy, parsePolicy } from '../src/policy.ts';
import { features } from '../test/fixtures.ts';

const smoke = (process.env.SPAMGATE_BENCH_SIZE ?? 'full') === 'smoke';
const SIZE = smoke
  ? { coreEvaluations: 20_000, rate: 200, seconds: 3, senders: 200 }
  : { coreEvaluations: 300_000, rate: 2_000, seconds: 30, senders: 10_000 };
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = (s: string) => process.stderr.write(`[decision bench] ${s}\n`);
const codec = createCodec();

/** A mix of senders: quiet people, busy people, blasts, registered campaigns, violators. */
function vectors(n: number, seed: number): SenderFeatures[] {
  const rnd = mulberry32(seed);
  const out: SenderFeatures[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rnd();
    const m =
      kind < 0.7 ? Math.floor(rnd() * 20) : kind < 0.9 ? Math.floor(rnd() * 300) : Math.floor(rnd() * 3000);
    out.push(
      features({
        sender: `+1202${String(i % 100_000).padStart(7, '0')}`,
        asOf: 1_795_900_000_000 + i * 10,
        campaignId: rnd() < 0.1 ? 'CPOL1' : null,
        windows: {
          all: {
            messages: m,
            distinctRecipients: Math.floor(m * rnd()),
            peak1s: Math.floor(m / 20),
            newContactShare: rnd(),
            contactShare: kind < 0.7 ? rnd() : 0,
            replyRate: rnd() * 0.3,
            optOutRate: rnd() * 0.06,
            spamReports: rnd() < 0.02 ? 4 : 0,
            postOptOutSends: rnd() < 0.01 ? 2 : 0,
            registeredCapShare: m / 75,
          },
        },
        clusters: rnd() < 0.2 ? ['0a1b2c3d4e5f60'] : [],
      }),
    );
  }
  return out;
}

/** Upper bucket bounds (ms) holding the p50 and p99 of a Prometheus histogram, and its count. */
function histogramQuantiles(
  text: string,
  name: string,
  stage: string,
): { p50: number; p99: number; count: number } {
  const buckets: [number, number][] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(`stage="${stage}"`)) continue;
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\d+)`).exec(line);
    if (m) buckets.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]) * 1000, Number(m[2])]);
  }
  const count = buckets.at(-1)?.[1] ?? 0;
  const at = (q: number) => buckets.find(([, c]) => c >= q * count)?.[0] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), count };
}

function coreRate(shadow: boolean): number {
  const policy = loadPolicy(policyPath({ policyFile: '' }));
  const ctx = {
    policy,
    shadowPolicy: shadow
      ? parsePolicy(
          { ...JSON.parse(readFileSync(policyPath({ policyFile: '' }), 'utf8')), version: 'shadow' },
          'shadow',
        )
      : undefined,
    cluster: () => undefined,
    content: () => undefined,
    capOf: () => ({ perMinute: 75 }),
    override: undefined,
    doNotOriginate: false,
  };
  const input = vectors(10_000, 7);
  const states = new Map<string, SenderDecisionState>();
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < SIZE.coreEvaluations; i++) {
      const f = input[i % input.length]!;
      const out = decide(
        ctx,
        f,
        states.get(f.sender) ?? EMPTY_STATE,
        { kind: 'FEATURES', at: f.asOf, basis: '' },
        f.asOf,
      );
      states.set(f.sender, out.state);
    }
    runs.push(SIZE.coreEvaluations / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  return runs.sort((a, b) => a - b)[1]!;
}

/** The engine on Kafka; `commitInterval` overrides SPAMGATE_DECISION_COMMIT_INTERVAL (default setting otherwise). */
async function kafkaLatency(commitInterval?: string) {
  const logger = createLogger({
    service: 'bench',
    instanceId: 'x',
    level: 'error',
    destination: process.stderr,
  });
  const kafka = createKafka({ brokers, clientId: uniqueName('bench'), logger });
  const prefix = uniqueName('bench-de');
  await provisionTopics({ kafka, catalog: TOPICS, prefix, logger });
  const topics = decisionEngineTopics(prefix);
  // A policy whose THROTTLE has no minimum hold: every other record of a flipping sender changes the decision.
  const doc = JSON.parse(readFileSync(policyPath({ policyFile: '' }), 'utf8'));
  doc.version = 'bench';
  doc.throttleMinHold = '0s';
  const dir = mkdtempSync(join(tmpdir(), 'bench-policy-'));
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(doc));
  const engine = spawnService(new URL('../src/main.ts', import.meta.url).pathname, {
    SPAMGATE_KAFKA_BROKERS: brokers.join(','),
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_DECISION_ENGINE_GROUP: `${prefix}-de`,
    SPAMGATE_HASH_KEY: 'decision-bench-hash-key-0123456789',
    SPAMGATE_POLICY_FILE: join(dir, 'policy.json'),
    SPAMGATE_HTTP_PORT: '0',
    ...(commitInterval ? { SPAMGATE_DECISION_COMMIT_INTERVAL: commitInterval } : {}),
    // For investigation only (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof); never set by npm run bench.
    ...(process.env.SPAMGATE_BENCH_ENGINE_NODE_OPTIONS
      ? { NODE_OPTIONS: process.env.SPAMGATE_BENCH_ENGINE_NODE_OPTIONS }
      : {}),
  });
  const pid = engine.child.pid!;
  try {
    await until('the engine to own every partition', 60_000, () =>
      engine.logs.filter((l) => l.msg === 'partition state restored').length >= 12 ? true : undefined,
    );
    const produced = new Map<string, number>();
    const decisionsAt: number[] = [];
    const evaluationsAt: number[] = [];
    /** Sent -> the engine's decidedAt (fetch, queue, evaluation), and decidedAt -> received (transaction, read). */
    const toDecided: number[] = [];
    const toReceived: number[] = [];
    const reader = kafka.consumer({
      groupId: uniqueName('bench-reader'),
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await reader.connect();
    const joined = new Promise<void>((resolve) => reader.on(reader.events.GROUP_JOIN, () => resolve()));
    await reader.subscribe({ topics: [topics.decisions], fromBeginning: true });
    // Evaluations on a reader of their own: they wait for their transaction, decisions do not.
    const evalReader = kafka.consumer({
      groupId: uniqueName('bench-eval-reader'),
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    await evalReader.connect();
    const evalJoined = new Promise<void>((resolve) =>
      evalReader.on(evalReader.events.GROUP_JOIN, () => resolve()),
    );
    await evalReader.subscribe({ topics: [topics.evaluations], fromBeginning: true });
    const onBatch = async ({ batch }: { batch: { topic: string; messages: { value: Buffer | null }[] } }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const d = codec.decode('Decision', m.value!) as Decision;
        const at = produced.get(`${d.sender}@${d.basedOnEventTime}`);
        if (at === undefined) continue;
        (batch.topic === topics.decisions ? decisionsAt : evaluationsAt).push(now - at);
        if (batch.topic === topics.evaluations) {
          toDecided.push(d.decidedAt - at);
          toReceived.push(now - d.decidedAt);
        }
      }
    };
    await reader.run({ eachBatch: onBatch });
    await evalReader.run({ eachBatch: onBatch });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // Measured from the moment the reader owns its partitions: before that, reads wait for the join.
    await joined;
    await evalJoined;
    await sleep(1_000);
    const cpuBefore = procStats(pid)?.cpuSeconds ?? Number.NaN;
    const started = Date.now();
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((SIZE.rate * tickMs) / 1000));
    let sent = 0;
    let k = 0;
    while (Date.now() - started < SIZE.seconds * 1000) {
      const tickStart = Date.now();
      const messages = [];
      for (let i = 0; i < perTick; i++, k++) {
        const sender = `+1303${String(k % SIZE.senders).padStart(7, '0')}`;
        const round = Math.floor(k / SIZE.senders);
        // Half the senders flip between over and under the minute's volume threshold.
        const busy = k % 2 === 0 && round % 2 === 0;
        const asOf = Date.now() + i;
        const f = features({
          sender,
          asOf,
          windows: { '1m': { messages: busy ? 120 : 5, distinctRecipients: 5 } },
        });
        messages.push({ key: sender, value: codec.encode('SenderFeatures', f) });
        produced.set(`${sender}@${asOf}`, Date.now());
      }
      await producer.send({ topic: topics.features, acks: -1, messages });
      sent += messages.length;
      const wait = tickMs - (Date.now() - tickStart);
      if (wait > 0) await sleep(wait);
    }
    const elapsed = (Date.now() - started) / 1000;
    await until('every evaluation', 120_000, () => (evaluationsAt.length >= sent ? true : undefined));
    const cpu = (procStats(pid)?.cpuSeconds ?? Number.NaN) - cpuBefore;
    const port = Number((await engine.waitForLog((l) => typeof l.port === 'number')).port);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const batch = histogramQuantiles(metrics, 'spamgate_decision_engine_latency_seconds', 'evaluate');
    const publish = histogramQuantiles(metrics, 'spamgate_decision_engine_latency_seconds', 'publish');
    const arrival = histogramQuantiles(
      metrics,
      'spamgate_decision_engine_latency_seconds',
      'arrival_to_published',
    );
    const rss = procStats(pid)?.peakRssBytes ?? Number.NaN;
    await producer.disconnect();
    await reader.disconnect();
    await evalReader.disconnect();
    const d = [...decisionsAt].sort((a, b) => a - b);
    const e = [...evaluationsAt].sort((a, b) => a - b);
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    return {
      sent,
      rate: sent / elapsed,
      d,
      e,
      cpu,
      rss,
      elapsed,
      decided: sorted(toDecided),
      received: sorted(toReceived),
      batch,
      publish,
      arrival,
    };
  } finally {
    engine.child.kill('SIGTERM');
    await engine.exited;
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
    await admin.disconnect();
  }
}

/**
 * The floor any exactly-once consumer on this broker and client pays: 12 transactional
 * producers (one per partition, as the engine has), each committing one record and its offset
 * per transaction back to back, no spamgate code. Latency of a transaction, begin to commit.
 */
async function transactionFloor() {
  const logger = createLogger({
    service: 'bench',
    instanceId: 'x',
    level: 'error',
    destination: process.stderr,
  });
  const kafka = createKafka({ brokers, clientId: uniqueName('bench-floor'), logger });
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('bench-floor');
  // Leaders awaited by core's check: kafkajs' own waitForLeaders gave up on a fresh topic's metadata race.
  await admin.createTopics({
    topics: [{ topic, numPartitions: 12, replicationFactor: 1 }],
    waitForLeaders: false,
  });
  await waitForTopicLeaders(admin, [topic]);
  const producers = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const p = kafka.producer({
        transactionalId: `${topic}-${i}`,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTIONAL_PRODUCER_RETRY },
      });
      await p.connect();
      return p;
    }),
  );
  const one: number[] = [];
  const all: number[] = [];
  const until = Date.now() + (smoke ? 2_000 : 10_000);
  // First one producer alone, then all twelve at once.
  for (const concurrent of [1, 12]) {
    const out = concurrent === 1 ? one : all;
    const stop = concurrent === 1 ? Date.now() + (smoke ? 1_000 : 5_000) : until + (smoke ? 1_000 : 5_000);
    await Promise.all(
      producers.slice(0, concurrent).map(async (p, i) => {
        let n = 0;
        while (Date.now() < stop) {
          const t = performance.now();
          const txn = await p.transaction();
          await txn.sendBatch({
            topicMessages: [{ topic, messages: [{ key: 'k', value: 'v', partition: i }] }],
            acks: -1,
          });
          await txn.sendOffsets({
            consumerGroupId: topic,
            topics: [{ topic, partitions: [{ partition: i, offset: String(n++) }] }],
          });
          await txn.commit();
          out.push(performance.now() - t);
        }
      }),
    );
  }
  for (const p of producers) await p.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return { one: one.sort((a, b) => a - b), all: all.sort((a, b) => a - b) };
}

log('core');
const plain = coreRate(false);
const withShadow = coreRate(true);
log('kafka latency');
const k = await kafkaLatency();
log('kafka latency, transactions back to back');
const b2b = await kafkaLatency('0ms');
log('transaction floor');
const floor = await transactionFloor();
const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const ms = (x: number) => `${fmt.int(x)} ms`;
console.log(`## Decision engine (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, Kafka at ${brokers.join(',')}. Command: \`KAFKA_BROKERS=${brokers.join(',')} node --disable-warning=TimeoutNegativeWarning services/decision-engine/bench/decision.bench.ts\`${smoke ? ' with SPAMGATE_BENCH_SIZE=smoke' : ''} (run by \`npm run bench\`).

The engine runs as a process with its default settings; the input is SenderFeatures produced at a fixed rate to ${fmt.int(SIZE.senders)} senders, half of which flip between THROTTLE and ALLOW on every record (the bench policy has no minimum THROTTLE hold), so most records publish a decision. Latency is from just before the features record's send (acks=all) to the bench's read_committed consumer receiving the decision or evaluation based on it: the engine's fetch, evaluation and per-batch transaction, and the read.

| What | Figure |
| --- | --- |
| Evaluations/s of the decider, one core, default policy (median of 3, ${fmt.int(SIZE.coreEvaluations)} evaluations) | ${fmt.int(plain)} |
| The same with a shadow policy evaluated beside it | ${fmt.int(withShadow)} |
| Features produced, rate | ${fmt.int(k.sent)} in ${fmt.fixed(k.elapsed)} s, ${fmt.int(k.rate)}/s |
| Decisions published (changes) | ${fmt.int(k.d.length)} |
| Features record sent -> decision received, p50 / p99 / max | ${ms(quantile(k.d, 0.5))} / ${ms(quantile(k.d, 0.99))} / ${ms(k.d.at(-1) ?? Number.NaN)} |
| Features record sent -> evaluation received, p50 / p99 / max | ${ms(quantile(k.e, 0.5))} / ${ms(quantile(k.e, 0.99))} / ${ms(k.e.at(-1) ?? Number.NaN)} |
| **In the engine: a batch of features received -> its decisions published (acknowledged, acks=all), p50 / p99** (histogram bucket bounds, ${fmt.int(k.arrival.count)} batches with decisions) | **≤ ${ms(k.arrival.p50)} / ≤ ${ms(k.arrival.p99)}** |
| … of which received -> evaluated and its decisions queued, p50 / p99 (histogram bucket bounds, ${fmt.int(k.batch.count)} batches) | ≤ ${ms(k.batch.p50)} / ≤ ${ms(k.batch.p99)} |
| … and decisions handed to the producer -> acknowledged, p50 / p99 (bucket bounds, ${fmt.int(k.publish.count)} sends) | ≤ ${ms(k.publish.p50)} / ≤ ${ms(k.publish.p99)} |
| … of which sent -> evaluated by the engine (fetch, queue, evaluation), p50 / p99 | ${ms(quantile(k.decided, 0.5))} / ${ms(quantile(k.decided, 0.99))} |
| … and evaluated -> evaluation received (its transaction, the read), p50 / p99 | ${ms(quantile(k.received, 0.5))} / ${ms(quantile(k.received, 0.99))} |
| Floor without spamgate: one kafkajs transaction (1 record + its offset), 1 producer alone, p50 / p99 (${fmt.int(floor.one.length)} transactions) | ${ms(quantile(floor.one, 0.5))} / ${ms(quantile(floor.one, 0.99))} |
| … 12 producers at once, as the engine's 12 partitions, p50 / p99 (${fmt.int(floor.all.length)} transactions) | ${ms(quantile(floor.all, 0.5))} / ${ms(quantile(floor.all, 0.99))} |
| Engine CPU per 1,000 features records | ${fmt.fixed((k.cpu / k.sent) * 1000, 2)} s |
| Engine peak RSS | ${fmt.mib(k.rss)} |
| The same run with each partition's transactions back to back (SPAMGATE_DECISION_COMMIT_INTERVAL=0ms): in the engine, received -> published, p50 / p99 | ≤ ${ms(b2b.arrival.p50)} / ≤ ${ms(b2b.arrival.p99)} |
| … features record sent -> decision received, p50 / p99 | ${ms(quantile(b2b.d, 0.5))} / ${ms(quantile(b2b.d, 0.99))} |
| … engine CPU per 1,000 features records | ${fmt.fixed((b2b.cpu / b2b.sent) * 1000, 2)} s |

Issue 6 asks for p99 under 50 ms from the features record arriving to the decision published at the benchmark rate. In the engine that is the bold row: this run ${k.arrival.p99 <= 50 ? 'meets it' : 'misses it'} (p99 ≤ ${ms(k.arrival.p99)}). End to end it is the "decision received" row, which adds the features producer's acks=all send, the engine's fetch and the bench's own read. What the figures say, and what would change them:

- Evaluating is not the cost: the decider runs at the core rate above, and a batch is evaluated within a few milliseconds of reaching the engine. The time is spent waiting on the broker.
- Decisions are published by one idempotent producer as soon as they are made; the per-partition transactions (evaluations, state, offsets) run behind them. Before that change every decision waited for its partition's transaction, and kafkajs' fetch loop waited for all twelve transactions of a round: 360 ms p50 and 760 ms p99 at 190 records/s on this machine.
- The transactions are bookkeeping, but they share the broker with the publishes: twelve partitions committing back to back load this 2-core broker enough that a publish now and then waits hundreds of milliseconds, and every decision queued behind it waits too (the back-to-back rows). Spacing each partition's transactions by SPAMGATE_DECISION_COMMIT_INTERVAL (default 1 s) takes that load off; evaluations reach sms.decision-evaluations up to that much later (the "evaluation received" row), and a crash re-derives up to that much input, with the same decision ids.
- The floor rows show what the broker costs without spamgate: with twelve transactional producers at once, as exactly-once with kafkajs needs (one per partition: kafkajs has no KIP-447 offset commits, so it cannot fence zombies with one producer per instance), one transaction takes tens of milliseconds on this 2-core VM, which also runs the broker, ClickHouse and this bench.
- What would make it faster still: a broker that is not on the same two cores (on a real cluster the publish is a few milliseconds); a Kafka client with KIP-447 (the benchmark issue's client switch), so that one transaction per instance, not twelve, carries the bookkeeping.
`);
