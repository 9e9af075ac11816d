/**
 * Benchmark of the ClickHouse sink on the per-minute aggregate table (sender_minute).
 *
 *   1. N SenderMinute records (production-like values, fixed seed) are produced onto
 *      sms.sender-minutes under a fresh prefix, provisioned from the topic catalog (production
 *      partition count); a fresh database gets every migration.
 *   2. The sink runs as a process (src/main.ts) with its default settings. Rows/s is from its
 *      group join (its 'partitions assigned' log line) to the moment count() of sender_minute
 *      reaches N, checked then with FINAL to be exactly N. CPU (user + system) over that span and
 *      peak RSS (VmHWM) come from /proc.
 *   3. Ceiling: the same rows, as the JSONEachRow the sink inserts, in a file that clickhouse-client
 *      inserts in one statement over its native TCP protocol into the emptied table (timed from
 *      spawn to exit, median of 3). Then the table exported by clickhouse-client as Native and
 *      TabSeparated and inserted the same way: what a sink writing those formats could approach.
 *   4. Kafka alone: a plain kafkajs consumer reads the topic read_committed with the sink's fetch
 *      wait, decodes each record and maps it to its row as the sink does, and inserts nothing.
 *
 * Needs running Kafka and ClickHouse: KAFKA_BROKERS (default 127.0.0.1:9092), CLICKHOUSE_URL
 * (default http://127.0.0.1:8123) and ClickHouse's TCP port for clickhouse-client,
 * SPAMGATE_CLICKHOUSE_TCP_PORT (default 9000, as infra/local). SPAMGATE_BENCH_SIZE=smoke runs
 * tiny sizes. Prints a Markdown section on stdout (progress on stderr); npm run bench appends it
 * to BENCHMARKS.md. Everything it creates (topics, group, database, files) is removed at the end.
 *
 * For investigation (printed in the section's command when set):
 *   SPAMGATE_BENCH_ROWS=<n>                 another N
 *   SPAMGATE_SINK_*=<value>                 passed on to the sink instead of its default (batch
 *                                           rows and age, pending bound), e.g. to see what a
 *                                           setting changes
 *   SPAMGATE_BENCH_SINK_PROFILE=<dir>       runs the sink with --cpu-prof into <dir> and adds its
 *                                           hottest functions (the profile slows the sink down)
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createKafka, createLogger, describeConfig, describeError, sqlTable } from '@spamgate/core';
import { type SenderMinute, senderMinuteRow } from '@spamgate/schemas';
import {
  createMigratedTestDatabase,
  fmt,
  gist,
  type LogLine,
  logTime,
  metricValue,
  procStats,
  quantile,
  REPO_ROOT,
  type ServiceProcess,
  spawnService,
  type TestDatabase,
  uniqueName,
  until,
} from '@spamgate/test';
import type { Admin } from 'kafkajs';
import { clickHouseSinkSettings, sinkTopics } from '../src/config.ts';
import {
  type BulkRecord,
  codec,
  deleteSinkTopics,
  produceBulk,
  provisionSinkTopics,
} from '../test/integration/harness.ts';
import { senderMinuteStream } from '../test/records.ts';

const smoke = (process.env.SPAMGATE_BENCH_SIZE ?? 'full') === 'smoke';
const ROWS = Number(process.env.SPAMGATE_BENCH_ROWS ?? (smoke ? 20_000 : 1_000_000));
/** Senders with a minute in each minute of the stream: 1,000,000 rows are 20 minutes of traffic. */
const ACTIVE_SENDERS = 50_000;
const SEED = 7;
/** Runs of each clickhouse-client insert; the median is reported. */
const CEILING_RUNS = smoke ? 1 : 3;
/** The sink is given up on when the row count does not move for this long. */
const STALL_MS = 60_000;
const PROFILE_DIR = process.env.SPAMGATE_BENCH_SINK_PROFILE;
/** The sink's settings given to the bench, passed on (the group is the bench's own). */
const SINK_OVERRIDES = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] =>
      e[0].startsWith('SPAMGATE_SINK_') && e[0] !== 'SPAMGATE_SINK_GROUP' && !!e[1],
  ),
);

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const clickhouseUrl = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const tcpPort = process.env.SPAMGATE_CLICKHOUSE_TCP_PORT ?? '9000';
// @spamgate/test finds the servers through these (without them it would look for others to start).
process.env.KAFKA_BROKERS = brokers.join(',');
process.env.CLICKHOUSE_URL = clickhouseUrl;

const progress = (s: string) => process.stderr.write(`[sink bench] ${s}\n`);
const logger = createLogger({
  service: 'bench',
  instanceId: 'x',
  level: 'error',
  destination: process.stderr,
});
const kafka = createKafka({ brokers, clientId: uniqueName('bench-sink'), logger });
const prefix = uniqueName('bench-sink');
const topic = sinkTopics(prefix).senderMinutes;
const sinkGroup = `${prefix}-sink`;
const readerGroup = `${prefix}-reader`;
const baseMs = Math.floor((Date.now() - 86_400_000) / 60_000) * 60_000;
const files = mkdtempSync(join(tmpdir(), 'bench-sink-'));

/** The bench's records, the same every time they are made. */
function* minutes(): Generator<SenderMinute> {
  const make = senderMinuteStream(SEED, baseMs, ACTIVE_SENDERS);
  for (let i = 0; i < ROWS; i++) yield make(i);
}

function* records(): Generator<BulkRecord> {
  for (const m of minutes()) yield { topic, key: m.sender, value: codec.encode('SenderMinute', m) };
}

// ------------------------------------------------------------------ resources, removed at exit

let admin: Admin | undefined;
let db: TestDatabase | undefined;
let sink: ServiceProcess | undefined;

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    sink?.kill();
    await sink?.exited;
    rmSync(files, { recursive: true, force: true });
    try {
      if (admin) await deleteSinkTopics(admin, prefix, [sinkGroup, readerGroup]);
    } catch (err) {
      progress(`could not delete the topics under ${prefix}: ${describeError(err).message}`);
    }
    await admin?.disconnect().catch(() => {});
    await db?.drop().catch((err: unknown) => {
      progress(`could not drop ${db?.database}: ${describeError(err).message}`);
    });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: removing the bench's topics and database`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function count(final = false): Promise<number> {
  const rs = await db!.client.query({
    query: `SELECT count() AS n FROM ${sqlTable(db!.database, 'sender_minute').text}${final ? ' FINAL' : ''}`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

// ------------------------------------------------------------------ 2: the sink

interface SinkRun {
  seconds: number;
  spawnSeconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  stored: number;
  batches: number;
  insertSeconds: number;
  /** Time read batches waited for room under SPAMGATE_SINK_MAX_PENDING_ROWS, summed over batches. */
  roomWaitSeconds: number;
  /** Distinct log lines at warn or above, with how often each came. */
  warnings: Map<string, number>;
}

function warnings(logs: readonly LogLine[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of logs) {
    if (l.level !== 'warn' && l.level !== 'error' && l.level !== 'fatal') continue;
    const key = `${l.level}: ${gist(l)}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

async function runSink(): Promise<SinkRun> {
  const spawnedAt = Date.now();
  sink = spawnService(new URL('../src/main.ts', import.meta.url).pathname, {
    SPAMGATE_KAFKA_BROKERS: brokers.join(','),
    SPAMGATE_CLICKHOUSE_URL: clickhouseUrl,
    SPAMGATE_CLICKHOUSE_DATABASE: db!.database,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_SINK_GROUP: sinkGroup,
    SPAMGATE_HASH_KEY: 'sink-bench-hash-key-0123456789',
    SPAMGATE_INSTANCE_ID: `${prefix}-sink`,
    SPAMGATE_HTTP_PORT: '0',
    ...SINK_OVERRIDES,
    ...(PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` } : {}),
  });
  const proc = sink;
  const pid = proc.child.pid!;
  const assigned = await proc.waitForLog((l) => l.msg === 'partitions assigned', 120_000);
  const startedAt = logTime(assigned);
  const before = procStats(pid);
  let last = 0;
  let movedAt = Date.now();
  let reportedAt = Date.now();
  const doneAt = await until(
    () => `${ROWS.toLocaleString('en')} rows in sender_minute (${last.toLocaleString('en')} so far)`,
    30 * 60_000,
    async () => {
      if (proc.child.exitCode !== null) {
        throw new Error(`the sink exited with ${proc.child.exitCode}: ${proc.stderr().slice(-1_000)}`);
      }
      const n = await count();
      if (n > last) movedAt = Date.now();
      last = n;
      if (n >= ROWS) return Date.now();
      if (Date.now() - movedAt > STALL_MS) throw new Error(`no row for ${STALL_MS / 1000} s at ${n}`);
      if (Date.now() - reportedAt > 10_000) {
        reportedAt = Date.now();
        progress(`  ${n.toLocaleString('en')} rows in`);
      }
      return undefined;
    },
    100,
  );
  const after = procStats(pid);
  // Exactly the rows produced once duplicates collapse; a duplicate may have reached the count early.
  const stored = await until('sender_minute to hold every row with FINAL', 60_000, async () => {
    const n = await count(true);
    return n >= ROWS ? n : undefined;
  });
  const port = Number((await proc.waitForLog((l) => typeof l.port === 'number')).port);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  proc.child.kill('SIGTERM');
  const ended = await proc.exited;
  if (ended.code !== 0) progress(`the sink exited with ${ended.code ?? ended.signal} on SIGTERM`);
  return {
    seconds: (doneAt - startedAt) / 1000,
    spawnSeconds: (doneAt - spawnedAt) / 1000,
    cpuSeconds: (after?.cpuSeconds ?? Number.NaN) - (before?.cpuSeconds ?? Number.NaN),
    peakRssBytes: after?.peakRssBytes ?? Number.NaN,
    stored,
    batches: metricValue(metrics, 'spamgate_sink_batches_total') ?? Number.NaN,
    insertSeconds: metricValue(metrics, 'spamgate_sink_batch_duration_seconds_sum') ?? Number.NaN,
    roomWaitSeconds: metricValue(metrics, 'spamgate_sink_room_wait_seconds_total') ?? 0,
    warnings: warnings(proc.logs),
  };
}

// ------------------------------------------------------------------ 3: clickhouse-client

function clickhouseClient(
  query: string,
  stdin: number | 'ignore',
  stdout: number | 'ignore',
): Promise<number> {
  const host = new URL(clickhouseUrl).hostname;
  const started = performance.now();
  const child = spawn('clickhouse-client', ['--host', host, '--port', tcpPort, '--query', query], {
    stdio: [stdin, stdout, 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve((performance.now() - started) / 1000);
      else
        reject(new Error(`clickhouse-client ${query.slice(0, 80)} exited with ${code}: ${err.slice(-800)}`));
    });
  });
}

/** The rows as the sink sends them: JSONEachRow, one row of senderMinuteRow per line. */
function writeJsonFile(path: string): number {
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    let chunk: string[] = [];
    for (const m of minutes()) {
      chunk.push(JSON.stringify(senderMinuteRow(m)));
      if (chunk.length === 10_000) {
        bytes += writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) bytes += writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

interface Ceiling {
  format: string;
  seconds: number;
  bytes: number;
}

/** Inserts `path` into the emptied table CEILING_RUNS times; the median time. */
async function insertFile(format: string, path: string, bytes: number): Promise<Ceiling> {
  const table = sqlTable(db!.database, 'sender_minute').text;
  const runs: number[] = [];
  for (let r = 0; r < CEILING_RUNS; r++) {
    await db!.client.command({ query: `TRUNCATE TABLE ${table}` });
    const fd = openSync(path, 'r');
    try {
      runs.push(await clickhouseClient(`INSERT INTO ${table} FORMAT ${format}`, fd, 'ignore'));
    } finally {
      closeSync(fd);
    }
    const n = await count();
    if (n !== ROWS) throw new Error(`clickhouse-client inserted ${n} rows of ${format}, not ${ROWS}`);
  }
  return {
    format,
    seconds: quantile(
      runs.sort((a, b) => a - b),
      0.5,
    ),
    bytes,
  };
}

async function exportTable(format: string, path: string): Promise<number> {
  const fd = openSync(path, 'w');
  try {
    await clickhouseClient(
      `SELECT * FROM ${sqlTable(db!.database, 'sender_minute').text} FORMAT ${format}`,
      'ignore',
      fd,
    );
  } finally {
    closeSync(fd);
  }
  return readFileSync(path).length;
}

async function ceilings(): Promise<Ceiling[]> {
  const json = join(files, 'rows.jsonl');
  const bytes = writeJsonFile(json);
  const out = [await insertFile('JSONEachRow', json, bytes)];
  for (const format of ['Native', 'TabSeparated']) {
    const path = join(files, `rows.${format.toLowerCase()}`);
    const size = await exportTable(format, path);
    out.push(await insertFile(format, path, size));
    rmSync(path);
  }
  rmSync(json);
  return out;
}

// ------------------------------------------------------------------ 4: Kafka alone

async function readOnly(): Promise<number> {
  const consumer = kafka.consumer({ groupId: readerGroup, readUncommitted: false, maxWaitTimeInMs: 1_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let joinedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joinedAt ||= Date.now();
    });
    let n = 0;
    const doneAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Kafka reader timed out')), 10 * 60_000);
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (m.value) senderMinuteRow(codec.decode('SenderMinute', m.value));
            n++;
          }
          if (n >= ROWS) {
            clearTimeout(timer);
            resolve(Date.now());
          }
        },
      });
    });
    return ROWS / ((doneAt - joinedAt) / 1000);
  } finally {
    await consumer.disconnect();
  }
}

// ------------------------------------------------------------------ profile

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface Profile {
  /** Share of the samples in which the sink had nothing to run. */
  readonly idle: number;
  /** The functions with the most self time, with their share of the samples when not idle. */
  readonly top: readonly { readonly frame: string; readonly share: number }[];
}

function readProfile(dir: string, top: number): Profile | undefined {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .at(-1);
  if (!file) return undefined;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] };
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^file:\/\//, '').replace(REPO_ROOT, '')}:${lineNumber + 1}` : '';
    const frame = `${functionName || '(anonymous)'}${where}`;
    self.set(frame, (self.get(frame) ?? 0) + hits);
  }
  const idle = self.get('(idle)') ?? 0;
  self.delete('(idle)');
  return {
    idle: idle / total,
    top: [...self]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([frame, hits]) => ({ frame, share: hits / (total - idle) })),
  };
}

// ------------------------------------------------------------------ run and report

async function measure() {
  try {
    admin = kafka.admin();
    await admin.connect();
    await provisionSinkTopics(kafka, prefix, logger);
    db = await createMigratedTestDatabase('bench_sink');
    progress(`producing ${ROWS.toLocaleString('en')} SenderMinute records onto ${topic}`);
    const t = Date.now();
    const sent = await produceBulk(kafka, records());
    const produceSeconds = (Date.now() - t) / 1000;
    if (sent !== ROWS) throw new Error(`produced ${sent} records, not ${ROWS}`);
    progress('the sink, as a process with its default settings');
    const run = await runSink();
    if (run.stored !== ROWS)
      throw new Error(`sender_minute holds ${run.stored} rows with FINAL, not ${ROWS}`);
    progress('clickhouse-client inserting the same rows from files');
    const limits = await ceilings();
    progress('Kafka alone: read, decode, map to rows');
    const kafkaRate = await readOnly();
    return { produceSeconds, run, limits, kafkaRate };
  } finally {
    await cleanup();
  }
}

const benchStarted = Date.now();
const { produceSeconds, run, limits, kafkaRate } = await measure();
const benchMinutes = (Date.now() - benchStarted) / 60_000;

const sinkRate = ROWS / run.seconds;
const json = limits[0]!;
const ceilingRate = ROWS / json.seconds;
const cores = run.cpuSeconds / run.seconds;
const batchSettings = describeConfig(clickHouseSinkSettings)
  .filter((s) =>
    ['SPAMGATE_SINK_BATCH_ROWS', 'SPAMGATE_SINK_BATCH_AGE', 'SPAMGATE_SINK_MAX_PENDING_ROWS'].includes(
      s.variable,
    ),
  )
  .map((s) => `${s.variable}=${SINK_OVERRIDES[s.variable] ?? s.default}`)
  .join(', ');
const deviations = Object.keys(SINK_OVERRIDES);
const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
const script = relative(REPO_ROOT, process.argv[1] ?? 'services/clickhouse-sink/bench/sink.bench.ts');
const command = [
  ...Object.entries(process.env)
    .filter(([name]) => name.startsWith('SPAMGATE_BENCH_') || name in SINK_OVERRIDES)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`),
  'node',
  ...process.execArgv,
  script,
].join(' ');
const rate = (seconds: number) => `${fmt.int(ROWS / seconds)} rows/s`;
const profile = PROFILE_DIR ? readProfile(PROFILE_DIR, 12) : undefined;

const rows: [string, string][] = [
  ['Rows (SenderMinute records, one row each; 12 partitions)', fmt.int(ROWS)],
  [
    '**Sink, Kafka to ClickHouse**: group join to every row counted in sender_minute (exactly N with FINAL)',
    `**${fmt.int(sinkRate)} rows/s** (${fmt.fixed(run.seconds)} s; ${fmt.fixed(run.spawnSeconds)} s from spawn)`,
  ],
  [
    `**Ceiling**: clickhouse-client inserting the same rows from a JSONEachRow file, one statement (${fmt.mib(json.bytes)}, median of ${CEILING_RUNS})`,
    `**${rate(json.seconds)}** (${fmt.fixed(json.seconds, 2)} s)`,
  ],
  ['Sink / ceiling', `${fmt.fixed((sinkRate / ceilingRate) * 100)} %`],
  ...limits
    .slice(1)
    .map((c): [string, string] => [
      `Second ceiling: the same from a ${c.format} file exported by clickhouse-client (${fmt.mib(c.bytes)})`,
      `${rate(c.seconds)} (${fmt.fixed(c.seconds, 2)} s)`,
    ]),
  [
    'Kafka alone: a kafkajs consumer reading the topic, decoding and mapping each record to its row, no insert',
    `${fmt.int(kafkaRate)} rows/s`,
  ],
  [
    'Sink CPU (user + system) per million rows / cores used over the run',
    `${fmt.fixed((run.cpuSeconds / ROWS) * 1e6)} s / ${fmt.fixed(cores, 2)}`,
  ],
  ['Sink peak RSS (VmHWM)', fmt.mib(run.peakRssBytes)],
  [
    'Sink inserts: batches / mean rows per batch / time in inserts (sum over batches, share of the run)',
    `${fmt.int(run.batches)} / ${fmt.int(ROWS / run.batches)} / ${fmt.fixed(run.insertSeconds)} s (${fmt.fixed((run.insertSeconds / run.seconds) * 100)} %)`,
  ],
  [
    'Time read batches waited for room under SPAMGATE_SINK_MAX_PENDING_ROWS (summed over batches read at once)',
    `${fmt.fixed(run.roomWaitSeconds)} s`,
  ],
  [
    deviations.length > 0
      ? `Batch settings (not the defaults: ${deviations.join(', ')})`
      : 'Batch settings (the defaults)',
    batchSettings,
  ],
];

const native = limits.find((c) => c.format === 'Native');
const insertShare = run.insertSeconds / run.seconds;
const notes = [
  `The sink reached ${fmt.fixed((sinkRate / ceilingRate) * 100)} % of the clickhouse-client ceiling and ${fmt.fixed((sinkRate / kafkaRate) * 100)} % of what kafkajs reads and maps without inserting (${fmt.int(kafkaRate)} rows/s)${sinkRate < 0.5 * Math.min(kafkaRate, ceilingRate) ? ': neither reading Kafka nor ClickHouse taking the rows is what holds it back' : ''}.`,
  cores >= 0.8
    ? `It kept ${fmt.fixed(cores, 2)} cores busy: its one JavaScript thread (fetching, decoding, mapping and serialising rows) is the limit, with inserts ${fmt.fixed(insertShare * 100)} % of the run.`
    : `It kept only ${fmt.fixed(cores, 2)} cores busy, and its inserts (one at a time per table) took ${fmt.fixed(insertShare * 100)} % of the run: it mostly waited${run.roomWaitSeconds > 0 ? `, with read batches waiting ${fmt.fixed(run.roomWaitSeconds)} s in all for inserts to make room` : ''}.`,
  `clickhouse-client inserts Native ${native ? `${fmt.fixed(json.seconds / native.seconds)} times` : 'n/a'} as fast as JSONEachRow: the text format costs ClickHouse's parser, but it matters to the sink only once its inserts are the limit.`,
];
const profileSection = profile
  ? `\nWhere the sink's CPU went (profile in ${PROFILE_DIR}; the profiler slows the sink, so the figures above are of a profiled run): idle in ${fmt.fixed(profile.idle * 100)} % of the samples; the functions with the most self time, as a share of the samples that were not idle:\n\n| Function | Share |\n| --- | --- |\n${profile.top.map((p) => `| \`${p.frame}\` | ${fmt.fixed(p.share * 100)} % |`).join('\n')}\n`
  : '';
const warningSection =
  run.warnings.size > 0
    ? `\nThe sink logged at warn or above: ${[...run.warnings].map(([line, n]) => `${n} × ${line.replaceAll('`', "'")}`).join('; ')}.\n`
    : '';

console.log(`## ClickHouse sink (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}, Kafka at ${brokers.join(',')}, ClickHouse at ${clickhouseUrl} (clickhouse-client on TCP port ${tcpPort})${smoke ? ' (smoke size)' : ''}; the whole bench took ${fmt.fixed(benchMinutes)} min, producing the records ${fmt.fixed(produceSeconds)} s of it. Command: \`${command}\` (run by \`npm run bench\`).

The sink runs as a process (\`services/clickhouse-sink/src/main.ts\`) with ${deviations.length > 0 ? `its default settings but ${deviations.join(', ')}` : 'its default settings'} on a fresh prefixed topic provisioned from the catalog, into a fresh migrated database. The records are SenderMinute aggregates of ${fmt.int(ACTIVE_SENDERS)} senders a minute (seed ${SEED}), all produced before the sink starts. Kafka and ClickHouse run on the same machine as the sink and the bench.

| What | Figure |
| --- | --- |
${rows.map(([what, figure]) => `| ${what} | ${figure} |`).join('\n')}
${profileSection}${warningSection}
What the figures say:

${notes.map((n) => `- ${n}`).join('\n')}
`);
