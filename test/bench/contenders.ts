/**
 * The contenders of the comparison bench, each run alone as its own process(es) on the same
 * pre-produced input, seen from outside only: when it is ready, when its consumer group has
 * committed (or it has counted) every input record, and its CPU and peak RSS from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@spamgate/test';
import type { Admin } from 'kafkajs';
import {
  EngineFailedError,
  type EngineProcess,
  spawnEngine,
} from '../../services/feature-engine/bench/kafka-support.ts';
import { logTime, until } from '../src/bench-support.ts';
import { combine, type ProcReading, sampleProcess } from './sampler.ts';

/** One run of one contender. */
export interface RunResult {
  readonly events: number;
  /** From ready (group joined, partitions assigned, Streams RUNNING) to every input record done. */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export interface InputTopics {
  readonly messages: string;
  readonly feedback: string;
  /** Records in each (end offsets summed over partitions). */
  readonly messageCount: number;
  readonly feedbackCount: number;
}

const delta = (a: ProcReading | undefined, b: ProcReading | undefined): ProcReading => ({
  cpuSeconds: (b?.cpuSeconds ?? Number.NaN) - (a?.cpuSeconds ?? Number.NaN),
  peakRssBytes: b?.peakRssBytes ?? Number.NaN,
});

/** A child process whose stdout lines are watched. */
interface Watched {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitLine(match: (line: string) => boolean, timeoutMs: number): Promise<{ line: string; at: number }>;
  output(): string;
}

function watch(child: ChildProcess, what: string): Watched {
  let out = '';
  let err = '';
  const lines: { line: string; at: number }[] = [];
  const waiters = new Set<{
    match: (l: string) => boolean;
    resolve: (v: { line: string; at: number }) => void;
  }>();
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = { line, at: Date.now() };
    out = `${out}${line}\n`.slice(-20_000);
    lines.push(entry);
    for (const w of waiters)
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(entry);
      }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => `${out}\n${err}`,
    waitLine(match, timeoutMs) {
      const seen = lines.find((l) => match(l.line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `${what}: no matching line after ${timeoutMs / 1000} s; it said: ${err.slice(-800) || out.slice(-800)}`,
            ),
          );
        }, timeoutMs);
        const w = {
          match,
          resolve: (v: { line: string; at: number }) => {
            clearTimeout(timer);
            resolve(v);
          },
        };
        waiters.add(w);
        void exited.then(({ code, signal }) => {
          if (!waiters.delete(w)) return;
          clearTimeout(timer);
          reject(
            new EngineFailedError(
              `${what} exited (${code ?? signal}): ${err.slice(-1_500) || out.slice(-800)}`,
            ),
          );
        });
      });
    },
  };
}

async function stopChild(
  w: Watched,
  graceMs = 40_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (w.child.exitCode === null && w.child.signalCode === null) {
    w.child.kill('SIGTERM');
    const timer = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
    const ended = await w.exited;
    clearTimeout(timer);
    return ended;
  }
  return w.exited;
}

// ------------------------------------------------------------------ committed offsets

/** Records a consumer group has committed on the given topics (sum over partitions). */
export async function committed(admin: Admin, groupId: string, topics: readonly string[]): Promise<number> {
  const offsets = await admin.fetchOffsets({ groupId, topics: [...topics] });
  return offsets.reduce((n, o) => n + o.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0), 0);
}

/** Waits until `groupId` committed `total` records on the topics; fails when `alive` throws or nothing moves for stallMs. */
export async function waitCommitted(o: {
  admin: Admin;
  groupId: string;
  topics: readonly string[];
  total: number;
  alive: () => void;
  stallMs: number;
  timeoutMs: number;
  progress: (s: string) => void;
  what: string;
}): Promise<number> {
  let last = 0;
  let movedAt = Date.now();
  let reportedAt = Date.now();
  return until(
    () => `${o.what} (${last} of ${o.total} committed)`,
    o.timeoutMs,
    async () => {
      o.alive();
      const c = await committed(o.admin, o.groupId, o.topics);
      if (c > last) movedAt = Date.now();
      last = c;
      if (c >= o.total) return Date.now();
      if (Date.now() - movedAt > o.stallMs)
        throw new EngineFailedError(
          `${o.what}: nothing committed for ${o.stallMs / 1000} s, at ${c} of ${o.total}`,
        );
      if (Date.now() - reportedAt > 20_000) {
        reportedAt = Date.now();
        o.progress(`  ${o.what}: ${c.toLocaleString('en')} of ${o.total.toLocaleString('en')} committed`);
      }
      return undefined;
    },
    100,
  );
}

// ------------------------------------------------------------------ ceiling A: kafka-consumer-perf-test

const KAFKA_LIB = join(REPO_ROOT, '.local/kafka/lib');

/**
 * Apache Kafka's own consumer performance tool (kafka-consumer-perf-test, the class the script
 * runs) from the jars infra/local installed, once per input topic (it reads one topic at a
 * time). Its rate is its own fetch time: group join and JVM start are not in it; its CPU
 * (whole process, JVM start included) is.
 */
export async function runPerfTest(o: {
  brokers: readonly string[];
  input: InputTopics;
  group: string;
  timeoutMs: number;
}): Promise<RunResult> {
  if (!existsSync(KAFKA_LIB))
    throw new Error(`no Kafka jars in ${KAFKA_LIB}: run bash infra/local/spamgate-local install`);
  let events = 0;
  let fetchMs = 0;
  const readings: ProcReading[] = [];
  for (const [topic, count] of [
    [o.input.messages, o.input.messageCount],
    [o.input.feedback, o.input.feedbackCount],
  ] as const) {
    const child = spawn(
      'java',
      [
        '-Xmx512m',
        '-cp',
        `${KAFKA_LIB}/*`,
        'org.apache.kafka.tools.ConsumerPerformance',
        '--bootstrap-server',
        o.brokers.join(','),
        '--topic',
        topic,
        '--messages',
        String(count),
        '--group',
        `${o.group}-${readings.length}`,
        '--timeout',
        String(o.timeoutMs),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_LOG4J_OPTS: '' } },
    );
    const w = watch(child, 'kafka-consumer-perf-test');
    const sampler = sampleProcess(child.pid!, 50);
    const ended = await w.exited;
    readings.push(sampler.now() ?? { cpuSeconds: Number.NaN, peakRssBytes: Number.NaN });
    sampler.stop();
    if (ended.code !== 0)
      throw new Error(
        `kafka-consumer-perf-test exited ${ended.code ?? ended.signal}: ${w.output().slice(-1_500)}`,
      );
    // Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
    // rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    const lines = w.output().split('\n');
    const headerAt = lines.findIndex((l) => l.includes('fetch.nMsg.sec'));
    const header = lines[headerAt]?.split(',').map((s) => s.trim()) ?? [];
    const row = lines[headerAt + 1]?.split(',').map((s) => s.trim()) ?? [];
    const n = Number(row[header.indexOf('data.consumed.in.nMsg')]);
    const ms = Number(row[header.indexOf('fetch.time.ms')]);
    if (!(n >= count) || !(ms > 0))
      throw new Error(`kafka-consumer-perf-test printed no usable figures: ${w.output().slice(-1_500)}`);
    events += n;
    fetchMs += ms;
  }
  const c = combine(readings);
  return { events, seconds: fetchMs / 1000, cpuSeconds: c.cpuSeconds, peakRssBytes: c.peakRssBytes };
}

// ------------------------------------------------------------------ ceiling B: kafkajs decode-only

const DECODE_ONLY = new URL('./decode-only.ts', import.meta.url).pathname;

export async function runDecodeOnly(o: {
  brokers: readonly string[];
  input: InputTopics;
  group: string;
  timeoutMs: number;
}): Promise<RunResult> {
  const total = o.input.messageCount + o.input.feedbackCount;
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', DECODE_ONLY], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      BENCH_BROKERS: o.brokers.join(','),
      BENCH_TOPICS: `${o.input.messages},${o.input.feedback}`,
      BENCH_GROUP: o.group,
      BENCH_TOTAL: String(total),
    },
  });
  const w = watch(child, 'the decode-only consumer');
  const sampler = sampleProcess(child.pid!, 50);
  try {
    const joined = await w.waitLine((l) => l.startsWith('JOINED '), 60_000);
    const atJoin = sampler.now();
    const done = await w.waitLine((l) => l.startsWith('DONE '), o.timeoutMs);
    const atDone = sampler.now();
    const d = delta(atJoin, atDone);
    const joinedAt = Number(joined.line.split(' ')[1]);
    const doneAt = Number(done.line.split(' ')[2]);
    return { events: total, seconds: (doneAt - joinedAt) / 1000, ...d };
  } finally {
    sampler.stop();
    await stopChild(w, 10_000);
  }
}

// ------------------------------------------------------------------ spamgate's feature engine

export interface EngineRunOptions {
  readonly brokers: readonly string[];
  readonly admin: Admin;
  readonly input: InputTopics;
  /** Prefix of the engine's own topics (provisioned by the caller); input is read under inputPrefix. */
  readonly prefix: string;
  readonly inputPrefix: string;
  readonly instances: number;
  readonly hashKey: string;
  readonly timeoutMs: number;
  readonly stallMs: number;
  readonly progress: (s: string) => void;
  /** Extra environment (NODE_OPTIONS for a profile). */
  readonly env?: Readonly<Record<string, string>>;
  /** Keep the engines after the run instead of stopping them (the caller stops them). */
  readonly onEngines?: (engines: readonly EngineProcess[]) => void;
}

export function featureEngineEnv(o: {
  brokers: readonly string[];
  prefix: string;
  inputPrefix?: string;
  hashKey: string;
  instance: string;
}): Record<string, string> {
  return {
    SPAMGATE_KAFKA_BROKERS: o.brokers.join(','),
    SPAMGATE_TOPIC_PREFIX: o.prefix,
    ...(o.inputPrefix !== undefined ? { SPAMGATE_INPUT_TOPIC_PREFIX: o.inputPrefix } : {}),
    SPAMGATE_FEATURE_ENGINE_GROUP: `${o.prefix}-fe`,
    SPAMGATE_HASH_KEY: o.hashKey,
    SPAMGATE_HTTP_PORT: '0',
    SPAMGATE_LOG_LEVEL: 'info',
    SPAMGATE_INSTANCE_ID: `${o.prefix}-${o.instance}`,
  };
}

/** One or more feature-engine instances (one group) from the first partition assignment to every input record committed. */
export async function runFeatureEngine(
  o: EngineRunOptions,
): Promise<RunResult & { engines: readonly EngineProcess[] }> {
  const total = o.input.messageCount + o.input.feedbackCount;
  const engines: EngineProcess[] = [];
  for (let i = 0; i < o.instances; i++) {
    engines.push(
      spawnEngine(`fe-${i}`, {
        ...featureEngineEnv({
          brokers: o.brokers,
          prefix: o.prefix,
          inputPrefix: o.inputPrefix,
          hashKey: o.hashKey,
          instance: `i${i}`,
        }),
        ...o.env,
      }),
    );
  }
  const samplers = engines.map((e) => sampleProcess(e.pid));
  try {
    const assigned = await Promise.race([
      ...engines.map((e) => e.proc.waitForLog((l) => l.msg === 'partitions assigned', 180_000)),
      ...engines.map((e) =>
        e.proc.exited.then(() => {
          e.assertAlive();
          throw new Error('unreachable');
        }),
      ),
    ]);
    const before = samplers.map((s) => s.now());
    const doneAt = await waitCommitted({
      admin: o.admin,
      groupId: `${o.prefix}-fe`,
      topics: [o.input.messages, o.input.feedback],
      total,
      alive: () => {
        for (const e of engines) e.assertAlive();
      },
      stallMs: o.stallMs,
      timeoutMs: o.timeoutMs,
      progress: o.progress,
      what: `${o.instances} feature engine instance(s)`,
    });
    const after = samplers.map((s) => s.now());
    const cpu = after.reduce(
      (n, a, i) => n + (a?.cpuSeconds ?? Number.NaN) - (before[i]?.cpuSeconds ?? Number.NaN),
      0,
    );
    const rss = Math.max(...after.map((a) => a?.peakRssBytes ?? Number.NaN));
    return {
      events: total,
      seconds: (doneAt - logTime(assigned)) / 1000,
      cpuSeconds: cpu,
      peakRssBytes: rss,
      engines,
    };
  } finally {
    for (const s of samplers) s.stop();
    if (o.onEngines) o.onEngines(engines);
    else await Promise.all(engines.map((e) => e.stop(60_000)));
  }
}

// ------------------------------------------------------------------ Kafka Streams

export const STREAMS_DIR = join(REPO_ROOT, 'test/bench/streams');
const STREAMS_JAR = join(STREAMS_DIR, 'target/spamgate-streams-bench.jar');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the Kafka Streams application with Maven when its jar is missing or older than its sources. */
export function buildStreamsApp(progress: (s: string) => void): void {
  const sources = Math.max(
    newestMtime(join(STREAMS_DIR, 'src')),
    statSync(join(STREAMS_DIR, 'pom.xml')).mtimeMs,
  );
  if (existsSync(STREAMS_JAR) && statSync(STREAMS_JAR).mtimeMs >= sources) return;
  progress('building the Kafka Streams application (mvn package)');
  execFileSync('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', join(STREAMS_DIR, 'pom.xml'), 'package'], {
    // Maven's output (even with -q it prints colour resets) goes to stderr: stdout is the report.
    stdio: ['ignore', process.stderr, process.stderr],
    timeout: 20 * 60_000,
  });
}

export interface StreamsProcess {
  readonly pid: number;
  readonly readyAt: Promise<number>;
  assertAlive(): void;
  stop(): Promise<{ code: number | null; output: string }>;
}

export function startStreams(o: {
  brokers: readonly string[];
  applicationId: string;
  input: Pick<InputTopics, 'messages' | 'feedback'>;
  outputTopic: string;
  threads: number;
  /** More arguments of the application (--cache-bytes, --commit-interval-ms). */
  extraArgs?: readonly string[];
}): StreamsProcess {
  const stateDir = mkdtempSync(join(tmpdir(), 'spamgate-streams-'));
  const child = spawn(
    'java',
    [
      '-cp',
      `${STREAMS_JAR}:${join(STREAMS_DIR, 'target/lib')}/*`,
      'dev.spamgate.bench.SenderWindows',
      '--bootstrap',
      o.brokers.join(','),
      '--application-id',
      o.applicationId,
      '--messages-topic',
      o.input.messages,
      '--feedback-topic',
      o.input.feedback,
      '--output-topic',
      o.outputTopic,
      '--schemas',
      join(REPO_ROOT, 'schemas/avro'),
      '--state-dir',
      stateDir,
      '--threads',
      String(o.threads),
      ...(o.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const w = watch(child, 'the Kafka Streams application');
  return {
    pid: child.pid!,
    readyAt: w.waitLine((l) => l === 'STREAMS_RUNNING', 180_000).then((l) => l.at),
    assertAlive() {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new EngineFailedError(
          `the Kafka Streams application exited (${child.exitCode ?? child.signalCode}): ${w.output().slice(-1_500)}`,
        );
    },
    async stop() {
      const ended = await stopChild(w);
      rmSync(stateDir, { recursive: true, force: true });
      return { code: ended.code, output: w.output() };
    },
  };
}

export async function runStreams(o: {
  brokers: readonly string[];
  admin: Admin;
  input: InputTopics;
  applicationId: string;
  outputTopic: string;
  threads: number;
  extraArgs?: readonly string[];
  timeoutMs: number;
  stallMs: number;
  progress: (s: string) => void;
}): Promise<RunResult> {
  const total = o.input.messageCount + o.input.feedbackCount;
  const app = startStreams(o);
  const sampler = sampleProcess(app.pid);
  try {
    const readyAt = await app.readyAt;
    const before = sampler.now();
    const doneAt = await waitCommitted({
      admin: o.admin,
      groupId: o.applicationId,
      topics: [o.input.messages, o.input.feedback],
      total,
      alive: () => app.assertAlive(),
      stallMs: o.stallMs,
      timeoutMs: o.timeoutMs,
      progress: o.progress,
      what: 'Kafka Streams',
    });
    const d = delta(before, sampler.now());
    return { events: total, seconds: (doneAt - readyAt) / 1000, ...d };
  } finally {
    sampler.stop();
    const ended = await app.stop();
    if (ended.code !== 0 && ended.code !== 143)
      o.progress(`Kafka Streams exited with ${ended.code}: ${ended.output.slice(-800)}`);
  }
}
