/**
 * The ClickHouse sink: spamgate's output topics into ClickHouse, with an exactly-once effect.
 *
 * Guarantee. Every record of the topics read ends up as its rows in ClickHouse (or, if it cannot
 * be decoded or mapped, or ClickHouse refuses its rows for their content, as a DeadLetter on the
 * dead-letter topic) at least once; and a record written more than once leaves rows that collapse
 * into one on merge, and read as one with FINAL, because each table's sorting key is the record's
 * own identity and its partition comes from the record's own time
 * (infra/clickhouse/migrations/0001_initial.sql). At-least-once delivery onto idempotent
 * identities: the effect of each record is there exactly once. (Records Kafka deletes by
 * retention before the sink read them cannot be written: that is logged and counted.)
 *
 * How. The consumer reads read_committed, with auto-commit off. Each kafkajs batch of a partition
 * becomes a segment (the records of a contiguous offset range, with their rows) in its table's
 * buffer; the batch is resolved at once, which only moves the fetch position. A table's buffer is
 * written when SPAMGATE_SINK_BATCH_ROWS rows wait or its oldest row waited SPAMGATE_SINK_BATCH_AGE,
 * in whole segments, one insert at a time per table; an insert that fails for want of ClickHouse
 * (down, slow, out of memory, too many parts: any error but a content error, below) is retried as
 * it was (same rows, same order) with capped exponential backoff, for as long as it takes, while
 * the table's topic is paused. A partition's offset is committed only up to the end of its
 * longest prefix of ranges whose rows ClickHouse acknowledged, so nothing unwritten is ever
 * committed past: a crash loses nothing, it only writes again (and collapses) what was written
 * after the last commit. A rebalance makes kafkajs read every partition again from its committed
 * offset; buffered rows of the old assignment are dropped and inserts in flight finish without
 * committing anything.
 *
 * Records ClickHouse refuses. An insert refused for its content (a value ClickHouse cannot parse
 * into its column that the row mapping let through; the codes of poison.ts CONTENT_ERRORS) is not
 * retried, which would block its table forever: it is split in halves by record (all the rows of
 * a record stay in one insert), and each half inserted, and split again while refused, until the
 * records refused on their own are found. Those go to sms.dead-letters as a RecordRefusedError
 * naming the table, ClickHouse's code and its message; everything else is written; the batch's
 * ranges count as written once Kafka acknowledged the dead letters. The split is deterministic,
 * and any other error during it is retried like any failed insert, from the insert that failed,
 * keeping what was already inserted or refused. Rows may still be written twice (an insert that
 * timed out but was taken, a batch read and split again after a crash or rebalance): they
 * collapse like any replay. Before the first split of a batch the table's columns are checked:
 * a table altered under the sink refuses every record alike, and is waited out (SinkSchemaError,
 * retried) instead of dead-lettering all of them.
 *
 * Records that cannot be decoded (SchemaDecodeError), do not fit a column (RowMappingError) or are
 * refused by ClickHouse (RecordRefusedError) are sent to sms.dead-letters with their original key
 * and value, acknowledged by Kafka before their offset can be committed. A bad record on
 * sms.dead-letters itself is logged and skipped: dead-lettering it would feed the topic with its
 * own failures.
 */
import {
  backoffDelay,
  type ClickHouseClient,
  checkRecordKey,
  clickHouseErrorCode,
  createSchemaCatalog,
  createSubscriberHasher,
  deadLetterOf,
  describeError,
  fetchWait,
  instrumentConsumer,
  isBadInput,
  type Logger,
  type Registry,
  registerSchemas,
  retry,
  SCHEMAS_TOPIC,
  SpamgateError,
  sql,
  sqlTable,
} from '@spamgate/core';
import {
  type Codec,
  clusterFeaturesRows,
  contentDecisionRow,
  contentOverrideKey,
  contentOverrideRow,
  createCodec,
  deadLetterRow,
  decisionRow,
  type OverridePosition,
  partitionDay,
  policyOverrideRow,
  type Row,
  SchemaDecodeError,
  schemaRegistrations,
  senderFeaturesRows,
  senderMinuteRow,
  TABLES,
  type TableName,
  type TableSpec,
} from '@spamgate/schemas';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Message,
  Partitioners,
  type Producer,
} from 'kafkajs';
import {
  type Batch,
  chunkByDay,
  createPartitionProgress,
  createTableBuffer,
  type PartitionProgress,
  type RecordRows,
  type TableBuffer,
} from './batches.ts';
import {
  type ClickHouseSinkConfig,
  RECORD_OF_TOPIC,
  type SinkTopics,
  sinkTopics,
  TABLE_OF_TOPIC,
  topicName,
} from './config.ts';
import type { SinkMetrics } from './metrics.ts';
import { contentErrorCode, createInsertPlan, RecordRefusedError } from './poison.ts';

/** The `service` of the sink's DeadLetters: without the instance, so a record dead-lettered again after a restart collapses with the first. */
export const SINK_SERVICE = 'clickhouse-sink';

/**
 * Most distinct days in one insert. Current ClickHouse refuses an insert block touching more
 * than max_partitions_per_insert_block (100) partitions, a setting 18.16 does not know; days are
 * counted in UTC here and the server's toDate may shift them by one, hence the margin.
 */
const MAX_DAYS_PER_INSERT = 50;

const DEFAULT_INITIAL_RETRY_MS = 250;

export interface ClickHouseSinkDeps {
  readonly kafka: Kafka;
  /** The client inserts go through; tests wrap it to fail on purpose. */
  readonly clickhouse: Pick<ClickHouseClient, 'insert' | 'query'>;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: SinkMetrics;
  readonly config: ClickHouseSinkConfig & {
    readonly instanceId: string;
    readonly clickhouseDatabase: string;
    readonly connectTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
  };
  /** Wall clock, ms; tests may pass another. */
  readonly now?: () => number;
  /** First delay of the insert backoff, ms (the cap is SPAMGATE_SINK_RETRY_MAX_DELAY). */
  readonly initialRetryMs?: number;
  /** Called when the consumer stopped for good (kafkajs gave up restarting it). */
  readonly onFatal?: (err: unknown) => void;
}

export interface ClickHouseSink {
  /** Checks the tables, connects and starts consuming. */
  start(): Promise<void>;
  /** Writes what was read (bounded by half the shutdown timeout), commits it, leaves the group. Idempotent. */
  stop(): Promise<void>;
  /** True when the group was joined and no table's inserts are failing; otherwise why not. */
  readiness(): true | string;
}

/** ClickHouse lacks columns the sink writes: the migrations have not run (npm run migrate). */
export class SinkSchemaError extends SpamgateError {
  override name = 'SinkSchemaError';
  readonly missing: readonly string[];
  constructor(database: string, missing: readonly string[], cause?: unknown) {
    super(
      `ClickHouse database ${database} lacks what the sink writes: ${missing.slice(0, 20).join(', ')}` +
        `${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}. Run \`npm run migrate\` first.`,
      { code: 'SINK_SCHEMA_MISSING', retriable: true, cause },
    );
    this.missing = missing;
  }
}

/** The columns (table.column type) the sink writes that `database` lacks or types otherwise. */
export async function missingColumns(
  clickhouse: Pick<ClickHouseClient, 'query'>,
  database: string,
): Promise<string[]> {
  const rs = await clickhouse.query({
    query: sql`SELECT table, name, type FROM system.columns WHERE database = ${database}`,
    format: 'JSONEachRow',
  });
  const have = new Set(
    (await rs.json<{ table: string; name: string; type: string }>()).map(
      (c) => `${c.table}.${c.name} ${c.type}`,
    ),
  );
  const missing: string[] = [];
  for (const spec of Object.values(TABLES)) {
    for (const c of spec.columns) {
      const want = `${spec.name}.${c.name} ${c.type}`;
      if (!have.has(want)) missing.push(want);
    }
  }
  return missing;
}

type TopicKind = keyof SinkTopics;

/** The offset kafkajs fetched a batch from (where the partition's previous batch ended); kafkajs has it, its types do not. */
function fetchedOffsetOf(batch: EachBatchPayload['batch']): string {
  return String((batch as unknown as { readonly fetchedOffset: string | number }).fetchedOffset);
}

interface TableState {
  readonly spec: TableSpec;
  readonly qualified: string;
  readonly topics: readonly string[];
  readonly buffer: TableBuffer;
  inFlight: Promise<void> | undefined;
  inFlightRows: number;
  failing: { readonly since: number; readonly error: string } | undefined;
  /** Paused (unread) while its inserts fail. */
  paused: boolean;
  /** Batches waiting for room (rows pending under SPAMGATE_SINK_MAX_PENDING_ROWS), woken by each insert's end. */
  readonly waiting: Set<() => void>;
  /** The newest Kafka timestamp of a record written to the table, ms; -Infinity before the first. */
  newestWrittenMs: number;
}

/** A partition's progress in the current assignment (generation). */
interface Progress extends PartitionProgress {
  readonly topic: string;
  readonly partition: number;
}

export function createClickHouseSink(deps: ClickHouseSinkDeps): ClickHouseSink {
  const { kafka, clickhouse, logger, metrics, config } = deps;
  const now = deps.now ?? Date.now;
  const codec: Codec = createCodec();
  const topics = sinkTopics(config.topicPrefix);
  /** Hashes dead letters' keys (a key may be a subscriber's number), its own and older releases' letters alike. */
  const deadLetterHasher = createSubscriberHasher(config.hashKey);
  // Records written by a newer release carry a fingerprint this codec does not know: their
  // schema is learned from the schema topic before the batch is decoded. The sink also
  // registers there what it writes itself (DeadLetter).
  const schemaTopic = topicName(config.topicPrefix, SCHEMAS_TOPIC);
  const schemaCatalog = createSchemaCatalog({
    kafka,
    codec,
    topic: schemaTopic,
    logger,
  });
  const kindOf = new Map<string, TopicKind>(
    (Object.entries(topics) as [TopicKind, string][]).map(([kind, topic]) => [topic, kind]),
  );
  const tables = new Map<TableName, TableState>(
    Object.values(TABLES).map((spec) => [
      spec.name,
      {
        spec,
        qualified: sqlTable(config.clickhouseDatabase, spec.name).text,
        topics: (Object.keys(topics) as TopicKind[])
          .filter((k) => TABLE_OF_TOPIC[k] === spec.name)
          .map((k) => topics[k]),
        buffer: createTableBuffer(spec.name),
        inFlight: undefined,
        inFlightRows: 0,
        failing: undefined,
        paused: false,
        waiting: new Set(),
        newestWrittenMs: Number.NEGATIVE_INFINITY,
      },
    ]),
  );
  const stateOfTopic = (topic: string): TableState => tables.get(TABLE_OF_TOPIC[kindOf.get(topic)!])!;
  // Every table's series from the start, not from its first change.
  for (const table of tables.keys()) {
    metrics.paused.set({ table }, 0);
    metrics.pendingRows.set({ table }, 0);
  }

  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.max(1_000, Math.floor(config.sessionTimeoutMs / 10)),
    // Fetch waits are at most 1 s: a shutdown waits for the fetch in flight.
    ...fetchWait(config.fetchWaitMs),
  });
  // Dead letters keyed by the original key, partitioned as every Kafka client does (murmur2).
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const admin: Admin = kafka.admin();
  const abort = new AbortController();

  let running = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let joined = false;
  let crashed: string | undefined;
  let generation = 0;
  let progress = new Map<string, Progress>();
  let commitChain: Promise<void> = Promise.resolve();
  let commitQueued = false;
  let timer: NodeJS.Timeout | undefined;

  const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

  function progressOf(topic: string, partition: number): Progress {
    const key = partitionKey(topic, partition);
    let p = progress.get(key);
    if (!p) {
      p = Object.assign(createPartitionProgress(), { topic, partition });
      progress.set(key, p);
    }
    return p;
  }

  // ---------------------------------------------------------------------------------------------
  // Records to rows

  /** A header's value as text (the first, when repeated); empty when absent. */
  function header(m: KafkaMessage, name: string): string {
    const v = m.headers?.[name];
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? '' : first.toString().slice(0, 2_000);
  }

  /** Where an override record sits, and for a removal who made it and why (its headers). */
  function overridePosition(partition: number, m: KafkaMessage): OverridePosition {
    return {
      partition,
      offset: Number(m.offset),
      timestampMs: Number(m.timestamp),
      ...(m.value === null
        ? { removedBy: { author: header(m, 'spamgate-author'), reason: header(m, 'spamgate-reason') } }
        : {}),
    };
  }

  function rowsOf(kind: TopicKind, partition: number, m: KafkaMessage): Row[] {
    const key = m.key === null ? null : m.key.toString('utf8');
    // Override topics are compacted tables: a tombstone (null value) is a removal, recorded too.
    // A record must be keyed by what its topic is keyed by (KEY_MISMATCH otherwise), as in
    // every service: a key without a value (a removal) is the only key there is to go by.
    if (kind === 'policyOverrides') {
      const value = m.value === null ? null : codec.decode('PolicyOverride', m.value);
      const row = policyOverrideRow(key, value, overridePosition(partition, m));
      if (value && key !== null) checkRecordKey('PolicyOverride', 'target', key, value.target);
      return [row];
    }
    if (kind === 'contentOverrides') {
      const value = m.value === null ? null : codec.decode('ContentOverride', m.value);
      // The row first: a key that names no scope at all says so (KEY_INVALID).
      const row = contentOverrideRow(key, value, overridePosition(partition, m));
      if (value && key !== null)
        checkRecordKey('ContentOverride', 'scope:target', key, contentOverrideKey(value.scope, value.target));
      return [row];
    }
    if (!m.value || m.value.length === 0)
      throw new SchemaDecodeError(RECORD_OF_TOPIC[kind], 'EMPTY', 'null value');
    switch (kind) {
      case 'decisionEvaluations': {
        const d = codec.decode('Decision', m.value);
        checkRecordKey('Decision', 'sender', key, d.sender);
        return [decisionRow(d)];
      }
      case 'contentDecisions': {
        const d = codec.decode('ContentDecision', m.value);
        checkRecordKey('ContentDecision', 'clusterId', key, d.clusterId);
        return [contentDecisionRow(d)];
      }
      case 'senderFeatures': {
        const f = codec.decode('SenderFeatures', m.value);
        checkRecordKey('SenderFeatures', 'sender', key, f.sender);
        return senderFeaturesRows(f);
      }
      case 'clusterFeatures': {
        const c = codec.decode('ClusterFeatures', m.value);
        checkRecordKey('ClusterFeatures', 'clusterId', key, c.clusterId);
        return clusterFeaturesRows(c);
      }
      case 'senderMinutes': {
        const minute = codec.decode('SenderMinute', m.value);
        checkRecordKey('SenderMinute', 'sender', key, minute.sender);
        return [senderMinuteRow(minute)];
      }
      case 'deadLetters':
        return [deadLetterRow(codec.decode('DeadLetter', m.value), deadLetterHasher)];
    }
  }

  function deadLetterMessage(
    topic: string,
    partition: number,
    m: Pick<KafkaMessage, 'offset' | 'key' | 'value'>,
    err: unknown,
  ): Message {
    const record = deadLetterOf(
      { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null },
      err,
      SINK_SERVICE,
      now(),
      deadLetterHasher,
    );
    return { key: record.keyHash, value: codec.encode('DeadLetter', record) };
  }

  /** Sends dead letters until Kafka takes them; false when `giveUp` says so first (partition lost, sink stopping). */
  async function sendDeadLetters(
    messages: Message[],
    heartbeat: () => Promise<void>,
    giveUp: () => boolean,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (giveUp()) return false;
      try {
        await producer.send({ topic: topics.deadLetters, messages, acks: -1 });
        return true;
      } catch (err) {
        logger.warn({ err: describeError(err), attempt }, 'could not send dead letters; retrying');
      }
      // A rebalance surfaces here as a thrown heartbeat: kafkajs then rejoins and reads again.
      await heartbeat();
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, 200, 5_000, Math.random)));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /**
   * A batch that does not continue its partition. Kafka deleted the records in between (retention
   * ran while the sink was paused or behind, and kafkajs moved to the earliest offset left): they
   * are gone, so the range counts as read and the batch is taken, with an error in the log.
   * Otherwise the partition is read again from where it should continue, and the batch dropped.
   */
  async function skipDeletedRecords(p: Progress, fetchedOffset: string): Promise<boolean> {
    const expected = p.expectedFrom!;
    const offsets = await admin.fetchTopicOffsets(p.topic);
    const low = offsets.find((o) => o.partition === p.partition)?.low ?? '0';
    if (BigInt(low) > BigInt(expected) && BigInt(fetchedOffset) >= BigInt(low)) {
      metrics.skippedOffsets.inc({ topic: p.topic }, Number(BigInt(fetchedOffset) - BigInt(expected)));
      logger.error(
        { topic: p.topic, partition: p.partition, from: expected, to: fetchedOffset, earliest: low },
        'records deleted by retention before the sink wrote them; going on from the earliest left',
      );
      p.read(expected, fetchedOffset).written();
      return true;
    }
    logger.error(
      { topic: p.topic, partition: p.partition, fetchedOffset, expected },
      'batch does not continue the partition; reading it again from where it should',
    );
    consumer.seek({ topic: p.topic, partition: p.partition, offset: expected });
    return false;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isRunning, isStale, resolveOffset } = payload;
    if (stopping || !isRunning() || isStale()) return;
    const { topic, partition } = batch;
    const kind = kindOf.get(topic);
    if (!kind) return;
    const state = stateOfTopic(topic);
    // Paused means unread: a batch kafkajs fetched before the pause took effect is left
    // unresolved, and fetched again from the same offset once the table resumes.
    if (state.paused || !(await roomFor(state, heartbeat, isStale))) return;
    const p = progressOf(topic, partition);
    const batchGeneration = generation;
    // kafkajs fetches each partition from where the last batch was resolved: a batch that does
    // not start there would leave the records between unaccounted for.
    let fetchedOffset = fetchedOffsetOf(batch);
    if (p.expectedFrom !== undefined && fetchedOffset !== p.expectedFrom) {
      if (!(await skipDeletedRecords(p, fetchedOffset))) return;
      fetchedOffset = p.expectedFrom;
    }

    await schemaCatalog.learnWriters(
      batch.messages.map((m) => m.value),
      { heartbeat },
    );
    const records: RecordRows[] = [];
    let rows = 0;
    let newestMs = Number.NEGATIVE_INFINITY;
    const deadLetters: Message[] = [];
    for (const m of batch.messages) {
      let recordRows: Row[];
      try {
        recordRows = rowsOf(kind, partition, m);
      } catch (err) {
        if (!isBadInput(err)) throw err;
        const code = err.code;
        if (kind === 'deadLetters') {
          metrics.skippedDeadLetters.inc({ code });
          logger.warn(
            { topic, partition, offset: m.offset, code, err: err.message },
            'malformed record on the dead-letter topic skipped (never dead-lettered again)',
          );
        } else {
          metrics.deadLetters.inc({ topic, code });
          logger.warn({ topic, partition, offset: m.offset, code, err: err.message }, 'record dead-lettered');
          deadLetters.push(deadLetterMessage(topic, partition, m, err));
        }
        continue;
      }
      records.push({
        topic,
        partition,
        offset: m.offset,
        key: m.key ? Buffer.from(m.key) : null,
        value: m.value ? Buffer.from(m.value) : null,
        rows: recordRows,
      });
      rows += recordRows.length;
      newestMs = Math.max(newestMs, Number(m.timestamp));
    }
    if (
      deadLetters.length > 0 &&
      !(await sendDeadLetters(deadLetters, heartbeat, () => stopping || isStale()))
    ) {
      return;
    }
    if (stopping || isStale() || generation !== batchGeneration) return;

    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    const ticket = p.read(fetchedOffset, next);
    if (rows === 0) ticket.written();
    else state.buffer.append({ topic, partition, records, rows, readAt: now(), newestMs, ticket });
    // Moves the fetch position only: commits come when ClickHouse has the rows.
    resolveOffset(batch.lastOffset());
    if (rows === 0) queueCommit();
    updatePending(state);
    reconcilePause(state);
    schedule(state);
  }

  /** A batch kafkajs emptied itself (only aborted records or transaction markers): nothing to write, its range is done. */
  function onEmptyBatch(topic: string, partition: number, lastOffset: string): void {
    if (stopping || !kindOf.has(topic)) return;
    const p = progressOf(topic, partition);
    try {
      p.read(undefined, (BigInt(lastOffset) + 1n).toString()).written();
    } catch (err) {
      logger.debug({ topic, partition, err: describeError(err) }, 'empty batch out of order ignored');
    }
    queueCommit();
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  function pendingRows(state: TableState): number {
    return state.buffer.rows + state.inFlightRows;
  }

  function updatePending(state: TableState): void {
    metrics.pendingRows.set({ table: state.spec.name }, pendingRows(state));
  }

  /** Pauses a table's topics while its inserts fail; resumes when they succeed again. */
  function reconcilePause(state: TableState): void {
    wake(state);
    if (!running || stopping) return;
    const pending = pendingRows(state);
    const pause = state.failing !== undefined;
    if (pause === state.paused) return;
    state.paused = pause;
    const partitions = state.topics.map((topic) => ({ topic }));
    if (pause) consumer.pause(partitions);
    else consumer.resume(partitions);
    metrics.paused.set({ table: state.spec.name }, pause ? 1 : 0);
    logger.info(
      { table: state.spec.name, pendingRows: pending, failing: state.failing !== undefined },
      pause ? 'paused reading the topics of a table' : 'resumed reading the topics of a table',
    );
  }

  /** Wakes the batches waiting for room in a table, to look again. */
  function wake(state: TableState): void {
    for (const w of state.waiting) w();
    state.waiting.clear();
  }

  /**
   * Memory bound: a batch that finds its table with SPAMGATE_SINK_MAX_PENDING_ROWS rows pending
   * waits here, heartbeating, until inserts make room; kafkajs fetches nothing more meanwhile.
   * (Pausing the topic instead cost a whole fetch wait per pause, since the next fetch then
   * asked only the other, idle topics, and resuming does not cut that wait short.) False when the
   * batch is to be left unread: the table was paused, the partition revoked, the sink stopping.
   */
  async function roomFor(state: TableState, heartbeat: () => Promise<void>, isStale: () => boolean) {
    const started = now();
    try {
      while (pendingRows(state) >= config.maxPendingRows) {
        if (state.paused || stopping || isStale()) return false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          state.waiting.add(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await heartbeat();
      }
      return !(state.paused || stopping || isStale());
    } finally {
      if (now() > started) metrics.roomWaitSeconds.inc({ table: state.spec.name }, (now() - started) / 1000);
    }
  }

  function schedule(state: TableState): void {
    if (state.inFlight) return;
    const due = stopping
      ? state.buffer.rows > 0 && !abort.signal.aborted
      : state.buffer.isDue(now(), { maxRows: config.batchRows, maxAgeMs: config.batchAgeMs });
    if (!due) return;
    const batch = state.buffer.take(config.batchRows);
    if (!batch) return;
    state.inFlightRows = batch.rows;
    state.inFlight = write(state, batch).finally(() => {
      state.inFlight = undefined;
      state.inFlightRows = 0;
      updatePending(state);
      reconcilePause(state);
      schedule(state);
    });
  }

  /** Throws SinkSchemaError when the table lacks a column the sink writes (or types it otherwise). */
  async function checkColumns(state: TableState): Promise<void> {
    const database = config.clickhouseDatabase;
    const missing = (await missingColumns(clickhouse, database)).filter((c) =>
      c.startsWith(`${state.spec.name}.`),
    );
    if (missing.length > 0) throw new SinkSchemaError(database, missing);
  }

  /**
   * Writes a batch: inserts its records, retrying until ClickHouse takes them (or the sink stops),
   * dead-letters the records ClickHouse refuses for their content, then marks the batch's ranges
   * written. Never throws.
   */
  async function write(state: TableState, batch: Batch): Promise<void> {
    const table = state.spec.name;
    const started = now();
    const batchGeneration = generation;
    // Records, not rows, are chunked and split: a record's rows all have its time, hence one day.
    const plan = createInsertPlan(
      chunkByDay(batch.records, (r) => partitionDay(state.spec, r.rows[0]!), MAX_DAYS_PER_INSERT),
    );
    let splitting = false;
    const insert = async (records: readonly RecordRows[]): Promise<void> => {
      const values: Row[] = [];
      for (const r of records) for (const row of r.rows) values.push(row);
      try {
        await clickhouse.insert({
          table: state.qualified,
          values,
          format: 'JSONEachRow',
          // Cancelled when a shutdown gives up; the server may still have taken it, which a replay collapses.
          abort_signal: abort.signal,
        });
      } catch (err) {
        const code = contentErrorCode(err);
        if (code === undefined) throw err;
        // A table altered under the sink refuses every record alike: that is no record's fault,
        // and is waited out like an outage (SinkSchemaError) instead of dead-lettering them all.
        if (!splitting) {
          await checkColumns(state);
          splitting = true;
          logger.warn(
            { table, records: records.length, clickhouseCode: code },
            'insert refused for its content; splitting the batch to find the records ClickHouse refuses',
          );
        }
        throw err;
      }
    };
    try {
      // A failed insert is retried as it was (same records, same order): the plan resumes where
      // it stopped, with what was inserted or refused before kept.
      await retry(() => plan.run(insert), {
        deadline: Number.POSITIVE_INFINITY,
        initialDelayMs: deps.initialRetryMs ?? DEFAULT_INITIAL_RETRY_MS,
        maxDelayMs: config.retryMaxDelayMs,
        signal: abort.signal,
        onRetry: (err, attempt, delayMs) => {
          const e = describeError(err);
          metrics.insertRetries.inc({ table });
          state.failing ??= { since: now(), error: e.message };
          reconcilePause(state);
          logger.warn(
            {
              table,
              rows: batch.rows,
              attempt,
              delayMs,
              clickhouseCode: clickHouseErrorCode(err),
              err: e,
            },
            'insert failed; retrying the same batch',
          );
        },
      });
    } catch (err) {
      // Only when stopping: the rows stay unwritten, so their offsets are never committed.
      logger.warn(
        { table, rows: batch.rows, err: describeError(err) },
        'insert abandoned at shutdown; its records will be read again',
      );
      return;
    }
    if (state.failing) {
      logger.info({ table, failingMs: now() - state.failing.since }, 'inserts succeed again');
      state.failing = undefined;
    }
    let refusedRows = 0;
    if (plan.refused.length > 0) {
      const letters: Message[] = [];
      for (const { record, error } of plan.refused) {
        const reason = new RecordRefusedError(table, error);
        refusedRows += record.rows.length;
        // ClickHouse's message may quote the row: it goes to the dead letter, not to the log.
        const where = {
          table,
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          code: reason.code,
          clickhouseCode: reason.clickhouseCode,
        };
        if (record.topic === topics.deadLetters) {
          metrics.skippedDeadLetters.inc({ code: reason.code });
          logger.warn(
            where,
            'record on the dead-letter topic refused by ClickHouse skipped (never dead-lettered again)',
          );
          continue;
        }
        metrics.deadLetters.inc({ topic: record.topic, code: reason.code });
        logger.warn(where, 'record refused by ClickHouse dead-lettered');
        letters.push(deadLetterMessage(record.topic, record.partition, record, reason));
      }
      // The ranges are not written before Kafka has their dead letters. After a rebalance their
      // records are read again (and refused again), so the dead letters need not wait for it.
      if (
        letters.length > 0 &&
        !(await sendDeadLetters(
          letters,
          async () => {},
          () => abort.signal.aborted || generation !== batchGeneration,
        ))
      ) {
        return;
      }
    }
    metrics.rowsWritten.inc({ table }, batch.rows - refusedRows);
    metrics.batches.inc({ table });
    metrics.insertSeconds.observe({ table }, (now() - started) / 1000);
    for (const s of batch.segments) {
      s.ticket.written();
      if (s.newestMs > state.newestWrittenMs) state.newestWrittenMs = s.newestMs;
    }
    queueCommit();
  }

  // ---------------------------------------------------------------------------------------------
  // Committing

  /** Commits every partition of the current assignment whose written prefix moved; never throws. */
  async function commitWritten(): Promise<void> {
    commitQueued = false;
    const due = [...progress.values()].filter(
      (p) =>
        p.writtenUpTo !== undefined &&
        (p.committed === undefined || BigInt(p.writtenUpTo) > BigInt(p.committed)),
    );
    if (due.length === 0 || !running) return;
    const offsets = due.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.writtenUpTo! }));
    try {
      await consumer.commitOffsets(offsets);
      for (const [i, p] of due.entries()) p.committed = offsets[i]!.offset;
      metrics.commits.inc();
    } catch (err) {
      metrics.commitFailures.inc();
      logger.warn(
        { err: describeError(err), partitions: offsets.length },
        'offset commit failed; retried with the next',
      );
    }
  }

  function queueCommit(): void {
    if (commitQueued) return;
    commitQueued = true;
    commitChain = commitChain.then(commitWritten);
  }

  // ---------------------------------------------------------------------------------------------

  function onAssignment(memberAssignment: Record<string, number[]>): void {
    joined = true;
    generation++;
    // kafkajs reads every assigned partition again from its committed offset: what is buffered
    // from before would be written twice, and progress starts afresh from there.
    progress = new Map();
    for (const state of tables.values()) {
      const dropped = state.buffer.discard(() => true);
      if (dropped > 0)
        logger.info({ table: state.spec.name, segments: dropped }, 'dropped rows read before a rebalance');
      updatePending(state);
      reconcilePause(state);
    }
    logger.info({ generation, assignment: memberAssignment }, 'partitions assigned');
  }

  async function waitForSchema(): Promise<void> {
    const database = config.clickhouseDatabase;
    let last: string[] = [];
    await retry(
      async () => {
        last = await missingColumns(clickhouse, database);
        if (last.length > 0) throw new SinkSchemaError(database, last);
      },
      {
        deadline: now() + config.connectTimeoutMs,
        initialDelayMs: 500,
        maxDelayMs: 5_000,
        isRetriable: () => !stopping,
        onRetry: (err, attempt) =>
          logger.warn({ attempt, err: describeError(err).message }, 'waiting for the ClickHouse tables'),
      },
    );
  }

  return {
    readiness() {
      if (crashed) return `the consumer stopped: ${crashed}`;
      if (!joined) return 'joining the consumer group';
      const failing = [...tables.values()].filter((s) => s.failing);
      if (failing.length > 0) {
        return `inserts failing: ${failing.map((s) => `${s.spec.name} since ${new Date(s.failing!.since).toISOString()} (${s.failing!.error})`).join('; ')}`;
      }
      return true;
    },

    async start() {
      await waitForSchema();
      if (stopping) return;
      // Before the producer writes its first DeadLetter: a reader of an older release must find
      // the schema of every record on the schema topic, and registerSchemas returns only once the
      // topic's in-sync replicas have it (acks=all).
      await registerSchemas(kafka, {
        topic: schemaTopic,
        schemas: schemaRegistrations({ records: ['DeadLetter'] }),
        logger,
      });
      await producer.connect();
      await admin.connect();
      await consumer.connect();
      if (stopping) return;
      instrumentConsumer(consumer, deps.registry, config.groupId);
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => onAssignment(payload.memberAssignment));
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize === 0) onEmptyBatch(payload.topic, payload.partition, payload.lastOffset);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        crashed = describeError(payload.error).message;
        logger.fatal({ err: describeError(payload.error) }, 'the consumer stopped and will not restart');
        deps.onFatal?.(payload.error);
      });
      await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      running = true;
      const tick = Math.max(10, Math.min(250, Math.floor(config.batchAgeMs / 4)));
      timer = setInterval(() => {
        const t = now();
        for (const state of tables.values()) {
          schedule(state);
          if (Number.isFinite(state.newestWrittenMs))
            metrics.eventTimeLag.set(
              { table: state.spec.name },
              Math.max(0, (t - state.newestWrittenMs) / 1000),
            );
        }
        queueCommit();
      }, tick);
      timer.unref();
      logger.info({ topics: Object.values(topics), group: config.groupId }, 'clickhouse sink running');
    },

    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer) clearInterval(timer);
        if (running) consumer.pause(Object.values(topics).map((topic) => ({ topic })));
        // Write what was read, for at most half the shutdown budget; then give up on the rest,
        // whose offsets stay uncommitted.
        const giveUp = setTimeout(() => abort.abort(), Math.floor(config.shutdownTimeoutMs / 2));
        try {
          for (;;) {
            for (const state of tables.values()) schedule(state);
            const inFlight = [...tables.values()].flatMap((s) => (s.inFlight ? [s.inFlight] : []));
            if (inFlight.length === 0) break;
            await Promise.all(inFlight);
          }
        } finally {
          clearTimeout(giveUp);
        }
        queueCommit();
        await commitChain;
        running = false;
        await consumer.disconnect();
        await producer.disconnect();
        await admin.disconnect();
      })();
      return stopped;
    },
  };
}
