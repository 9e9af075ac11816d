/** The sink's metrics, in one registry per service (the consumer's own come from core's instrumentConsumer). */
import { Counter, Gauge, Histogram, type Registry } from '@spamgate/core';

export interface SinkMetrics {
  readonly rowsWritten: Counter<'table'>;
  readonly batches: Counter<'table'>;
  readonly insertRetries: Counter<'table'>;
  readonly insertSeconds: Histogram<'table'>;
  readonly pendingRows: Gauge<'table'>;
  readonly paused: Gauge<'table'>;
  readonly deadLetters: Counter<'topic' | 'code'>;
  readonly skippedDeadLetters: Counter<'code'>;
  readonly commits: Counter;
  readonly commitFailures: Counter;
  readonly skippedOffsets: Counter<'topic'>;
  readonly roomWaitSeconds: Counter<'table'>;
  readonly eventTimeLag: Gauge<'table'>;
}

export function createSinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'spamgate_sink_rows_written_total',
      help: 'Rows ClickHouse acknowledged, per table (a replayed row counts again).',
      labelNames: ['table'],
      registers,
    }),
    batches: new Counter({
      name: 'spamgate_sink_batches_total',
      help: 'Batches written, per table.',
      labelNames: ['table'],
      registers,
    }),
    insertRetries: new Counter({
      name: 'spamgate_sink_insert_retries_total',
      help: 'Failed insert attempts that were retried, per table.',
      labelNames: ['table'],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'spamgate_sink_batch_duration_seconds',
      help: 'Time to write one batch, retries included.',
      labelNames: ['table'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
      registers,
    }),
    pendingRows: new Gauge({
      name: 'spamgate_sink_pending_rows',
      help: 'Rows read and not yet acknowledged by ClickHouse, per table.',
      labelNames: ['table'],
      registers,
    }),
    paused: new Gauge({
      name: 'spamgate_sink_paused',
      help: "1 while the partitions of a table's topic are paused (its inserts failing).",
      labelNames: ['table'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'spamgate_sink_dead_letters_total',
      help: 'Records that could not be decoded or mapped to a row, or whose rows ClickHouse refused, sent to the dead-letter topic.',
      labelNames: ['topic', 'code'],
      registers,
    }),
    skippedDeadLetters: new Counter({
      name: 'spamgate_sink_skipped_dead_letters_total',
      help: 'Malformed records on the dead-letter topic itself: logged and skipped, never dead-lettered again.',
      labelNames: ['code'],
      registers,
    }),
    commits: new Counter({
      name: 'spamgate_sink_offset_commits_total',
      help: 'Offset commits (each after ClickHouse acknowledged every record below the offsets).',
      registers,
    }),
    commitFailures: new Counter({
      name: 'spamgate_sink_offset_commit_failures_total',
      help: 'Offset commits that failed (retried with the next one; records after the last commit are read again after a restart).',
      registers,
    }),
    roomWaitSeconds: new Counter({
      name: 'spamgate_sink_room_wait_seconds_total',
      help: 'Time read batches waited for room under SPAMGATE_SINK_MAX_PENDING_ROWS (inserts slower than reading), per table; nothing is fetched meanwhile.',
      labelNames: ['table'],
      registers,
    }),
    eventTimeLag: new Gauge({
      name: 'spamgate_sink_event_time_lag_seconds',
      help: 'Now minus the Kafka timestamp of the newest record written to the table: how far behind its topic the table is (it also grows while the topic is quiet).',
      labelNames: ['table'],
      registers,
    }),
    skippedOffsets: new Counter({
      name: 'spamgate_sink_deleted_offsets_total',
      help: 'Offsets Kafka deleted (retention) before the sink wrote them: records lost to ClickHouse.',
      labelNames: ['topic'],
      registers,
    }),
  };
}
