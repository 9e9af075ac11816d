/**
 * What the sink's integration tests (and its benchmark) share: its topics under a fresh prefix, a
 * migrated database, producers, counts, an in-process sink's dependencies.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  type ClickHouseClient,
  createMetricsRegistry,
  type Logger,
  loadConfig,
  MAX_REQUEST_BYTES,
  type Registry,
  SCHEMAS_TOPIC,
  sql,
  sqlTable,
  topicName,
} from '@spamgate/core';
import { createCodec, type RecordName, type Records, type TableName } from '@spamgate/schemas';
import {
  createMigratedTestDatabase,
  eventually,
  getInfra,
  type ServiceProcess,
  spawnService,
  TEST_HASH_KEY,
  type TestDatabase,
  testKafka,
  testLogger,
  uniqueName,
} from '@spamgate/test';
import { type Admin, type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import { provisionTopics } from '../../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../../infra/kafka/topics.ts';
import {
  type ClickHouseSinkConfig,
  clickHouseSinkSettings,
  type SinkTopics,
  sinkTopics,
} from '../../src/config.ts';
import { createSinkMetrics } from '../../src/metrics.ts';
import type { ClickHouseSinkDeps } from '../../src/sink.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
export const codec = createCodec();

export interface SinkHarness {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly db: TestDatabase;
  readonly prefix: string;
  readonly topics: SinkTopics;
  readonly groupId: string;
  /** Encodes records for `topic` as Kafka messages keyed by `key`. */
  messages<K extends RecordName>(
    record: K,
    values: readonly Records[K][],
    key: (v: Records[K]) => string,
  ): Message[];
  /**
   * Produces in transactions of `perTransaction` records, as spamgate's services do; with
   * `abort`, every transaction is aborted instead (read_committed readers never see them).
   */
  produce(
    topic: string,
    messages: readonly Message[],
    options?: { perTransaction?: number; abort?: boolean },
  ): Promise<void>;
  /** A sink process on the harness's topics and database, killed when the file ends. */
  startSink(env?: Record<string, string>): ServiceProcess;
  /**
   * Dependencies of an in-process sink on the harness's topics and group: the default settings
   * with `config` over them (QUICK_SINK for small batches and short backoff), the harness's
   * database unless `clickhouse` (tests wrap it to fail) and `database` are given, and a
   * registry of its own.
   */
  sinkDeps(options?: {
    clickhouse?: Pick<ClickHouseClient, 'insert' | 'query'>;
    database?: string;
    logger?: Logger;
    config?: Partial<ClickHouseSinkConfig>;
    initialRetryMs?: number;
  }): ClickHouseSinkDeps;
  /** Rows of a table, duplicates collapsed (FINAL), or as stored. */
  count(table: TableName, options?: { final?: boolean; where?: string }): Promise<number>;
  /** Runs a query on the test database and returns its rows. */
  rows<T>(query: string): Promise<T[]>;
  /** Offsets the sink's group committed, summed over the topic's partitions. */
  committed(topic: string): Promise<number>;
  /** The topic's end offsets (transaction markers included), summed over its partitions. */
  endOffsets(topic: string): Promise<number>;
  /** Waits until the sink's group committed `topic` to its end (markers included). */
  waitForCommitted(topic: string, timeoutMs?: number): Promise<void>;
  /** Waits until `table` holds `rows` rows with FINAL, failing early if `sink` exits. */
  waitForRows(table: TableName, rows: number, sink?: ServiceProcess, timeoutMs?: number): Promise<void>;
}

/** Small batches, short backoff and session: sinkDeps options for tests that watch a sink work through little data. */
export const QUICK_SINK = {
  config: { batchRows: 300, batchAgeMs: 100, retryMaxDelayMs: 400, sessionTimeoutMs: 10_000 },
  initialRetryMs: 50,
} as const;

/**
 * Registers before/after hooks for the calling test file and returns the harness they fill.
 * `clickhouseUrl` puts the database on another server than the tests' (read when the hooks run).
 */
export function useSinkHarness(
  options: { readonly clickhouseUrl?: () => Promise<string> } = {},
): SinkHarness {
  let kafka: Kafka;
  let admin: Admin;
  let db: TestDatabase;
  let brokers: string;
  let clickhouseUrl: string;
  const prefix = uniqueName('sink');
  const topics = sinkTopics(prefix);
  const groupId = `${prefix}-sink`;
  const processes: ServiceProcess[] = [];
  before(async () => {
    const infra = await getInfra();
    brokers = infra.kafkaBrokers.join(',');
    clickhouseUrl = (await options.clickhouseUrl?.()) ?? infra.clickhouseUrl;
    kafka = await testKafka();
    admin = kafka.admin();
    await admin.connect();
    await provisionSinkTopics(kafka, prefix, testLogger('harness'));
    db = await createMigratedTestDatabase('sink', { url: clickhouseUrl });
  });
  after(async () => {
    for (const p of processes) p.kill();
    await Promise.all(processes.map((p) => p.exited));
    if (admin) {
      await deleteSinkTopics(admin, prefix, [groupId]);
      await admin.disconnect();
    }
    await db?.drop();
  });

  const harness: SinkHarness = {
    get kafka() {
      return kafka;
    },
    get admin() {
      return admin;
    },
    get db() {
      return db;
    },
    prefix,
    topics,
    groupId,
    messages(record, values, key) {
      return values.map((v) => ({ key: key(v), value: codec.encode(record, v) }));
    },
    async produce(topic, messages, { perTransaction = 500, abort = false } = {}) {
      const producer = kafka.producer({
        transactionalId: uniqueName('sink-test-producer'),
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      try {
        for (let i = 0; i < messages.length; i += perTransaction) {
          const txn = await producer.transaction();
          await txn.send({ topic, messages: messages.slice(i, i + perTransaction), acks: -1 });
          if (abort) await txn.abort();
          else await txn.commit();
        }
      } finally {
        await producer.disconnect();
      }
    },
    startSink(env = {}) {
      const p = spawnService(MAIN, {
        SPAMGATE_KAFKA_BROKERS: brokers,
        SPAMGATE_CLICKHOUSE_URL: clickhouseUrl,
        SPAMGATE_CLICKHOUSE_DATABASE: db.database,
        SPAMGATE_TOPIC_PREFIX: prefix,
        SPAMGATE_SINK_GROUP: groupId,
        SPAMGATE_HASH_KEY: TEST_HASH_KEY,
        // The broker's least: a killed sink's partitions move to the next one after 6 s.
        SPAMGATE_SINK_SESSION_TIMEOUT: '6s',
        SPAMGATE_HTTP_PORT: '0',
        SPAMGATE_LOG_LEVEL: 'info',
        ...env,
      });
      processes.push(p);
      return p;
    },
    sinkDeps({
      clickhouse = db.client,
      database = db.database,
      logger = testLogger('clickhouse-sink'),
      config = {},
      initialRetryMs,
    } = {}) {
      const registry = createMetricsRegistry({ service: 'clickhouse-sink', instance: 'test' });
      return {
        kafka,
        clickhouse,
        logger,
        registry,
        metrics: createSinkMetrics(registry),
        config: {
          ...loadConfig(clickHouseSinkSettings, { SPAMGATE_HASH_KEY: TEST_HASH_KEY }),
          topicPrefix: prefix,
          groupId,
          instanceId: 'test',
          clickhouseDatabase: database,
          connectTimeoutMs: 1_500,
          shutdownTimeoutMs: 10_000,
          ...config,
        },
        ...(initialRetryMs === undefined ? {} : { initialRetryMs }),
      };
    },
    async count(table, { final = true, where = '1' } = {}) {
      const [row] = await harness.rows<{ n: string }>(
        `SELECT count() AS n FROM ${sqlTable(db.database, table).text}${final ? ' FINAL' : ''} WHERE ${where}`,
      );
      return Number(row?.n ?? 0);
    },
    async rows<T>(query: string) {
      const rs = await db.client.query({ query, format: 'JSONEachRow' });
      return rs.json<T>();
    },
    async committed(topic) {
      const [o] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    },
    async endOffsets(topic) {
      return (await admin.fetchTopicOffsets(topic)).reduce((s, o) => s + Number(o.high), 0);
    },
    async waitForCommitted(topic, timeoutMs = 30_000) {
      await eventually(
        async () =>
          (await harness.committed(topic)) === (await harness.endOffsets(topic)) ? true : undefined,
        { timeoutMs, what: `${topic} committed to its end` },
      );
    },
    async waitForRows(table, rows, sink, timeoutMs = 60_000) {
      await eventually(
        async () => {
          if (sink && sink.child.exitCode !== null) {
            throw new Error(`the sink exited with ${sink.child.exitCode}: ${sink.stderr().slice(-2000)}`);
          }
          const n = await harness.count(table);
          if (n > rows) throw new Error(`${table} holds ${n} rows, more than the ${rows} expected`);
          return n === rows ? true : undefined;
        },
        { timeoutMs, intervalMs: 200, what: `${rows} rows in ${table}` },
      );
    },
  };
  return harness;
}

/** The sink's topics from the catalog (production partition counts) under `prefix`. */
export async function provisionSinkTopics(kafka: Kafka, prefix: string, logger: Logger): Promise<void> {
  // And the schema topic: the sink registers its schemas there at start, and reads it.
  const names = new Set([...Object.values(sinkTopics('')), SCHEMAS_TOPIC]);
  await provisionTopics({ kafka, catalog: TOPICS.filter((t) => names.has(t.name)), prefix, logger });
}

/** Deletes the sink's topics under `prefix` and the given consumer groups; what is already gone is no error. */
export async function deleteSinkTopics(
  admin: Admin,
  prefix: string,
  groups: readonly string[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const topics = [...Object.values(sinkTopics(prefix)), topicName(prefix, SCHEMAS_TOPIC)].filter((t) =>
    existing.has(t),
  );
  await admin.deleteGroups([...groups]).catch(() => {});
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 60_000 });
}

/** A record for produceBulk: topic, key and encoded value (null for a tombstone). */
export interface BulkRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer | null;
}

/**
 * Produces many records fast, without transactions (acks=all): requests of up to `requestBytes`
 * of keys and values, spread over `producers` idempotent producers with one request in flight
 * each, so that a retried request never writes its records twice. Records of a key keep their
 * order only within a request; `records` is read lazily, so it may be a generator of millions.
 * Returns how many records were sent.
 */
export async function produceBulk(
  kafka: Kafka,
  records: Iterable<BulkRecord>,
  { producers = 4, requestBytes = MAX_REQUEST_BYTES }: { producers?: number; requestBytes?: number } = {},
): Promise<number> {
  const opened: Producer[] = [];
  const idle: Producer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let sent = 0;
  const send = (request: Map<string, Message[]>, n: number): void => {
    const producer = idle.pop()!;
    const done: Promise<void> = producer
      .sendBatch({ topicMessages: [...request].map(([topic, messages]) => ({ topic, messages })), acks: -1 })
      .then(
        () => {
          sent += n;
        },
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => {
        inFlight.delete(done);
        idle.push(producer);
      });
    inFlight.add(done);
  };
  try {
    for (let i = 0; i < producers; i++) {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      opened.push(p);
      await p.connect();
      idle.push(p);
    }
    let request = new Map<string, Message[]>();
    let n = 0;
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (idle.length === 0) await Promise.race(inFlight);
      if (failure !== undefined) return;
      send(request, n);
      request = new Map();
      n = 0;
      bytes = 0;
    };
    for (const r of records) {
      let list = request.get(r.topic);
      if (!list) {
        list = [];
        request.set(r.topic, list);
      }
      list.push({ key: r.key, value: r.value });
      n++;
      bytes += r.key.length + (r.value?.length ?? 0);
      if (bytes >= requestBytes) await flush();
      if (failure !== undefined) break;
    }
    if (n > 0 && failure === undefined) await flush();
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await Promise.allSettled(opened.map((p) => p.disconnect()));
  }
  if (failure !== undefined) throw failure;
  return sent;
}

/** A metric's value summed over its series whose labels include `labels` (0 when there is none yet). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))
    .reduce((sum, x) => sum + x.value, 0);
}

/** `SELECT ... FROM <db>.<table> FINAL` helper for sums. */
export function sumQuery(database: string, table: TableName, expression: string): string {
  return `SELECT ${expression} AS v FROM ${sqlTable(database, table).text} FINAL`;
}

/** A where-clause literal, for tests that name values. */
export const literal = (v: string | number): string => sql`${v}`;

/** Deep equality where numbers may differ in the last place (ClickHouse 18.16 parses some doubles one ulp off). */
export function assertClose(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tolerance = Math.abs(expected) * 4 * Number.EPSILON;
    assert.ok(Math.abs(actual - expected) <= tolerance, `${path}: ${actual} != ${expected}`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path} is an object`);
    const keys = Object.keys(expected);
    assert.deepEqual(Object.keys(actual).sort(), keys.sort(), `${path} keys`);
    for (const k of keys) {
      assertClose(
        (actual as Record<string, unknown>)[k],
        (expected as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
    }
    return;
  }
  assert.deepEqual(actual, expected, path);
}
