/**
 * kafkajs wired to spamgate's logger, with retries sized for start-up against a broker that
 * may still be booting, and a readiness probe that proves the group and transaction
 * coordinators answer (a listening port is not enough on a fresh KRaft node).
 */
import './kafkajs-fixes.ts';
import { type Admin, Kafka, type KafkaConfig, type logCreator, logLevel, Partitioners } from 'kafkajs';
import { ConnectTimeoutError } from './errors.ts';
import type { KafkaSecurity } from './kafka-security.ts';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** Per-connection timeout; default 5 s. */
  readonly connectionTimeoutMs?: number;
  /** Per-request timeout; default 30 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: KafkaConfig['retry'];
  /** TLS and SASL (kafkaSecurityOf); plaintext when absent. */
  readonly security?: KafkaSecurity;
}

const LEVELS: Readonly<Record<number, 'error' | 'warn' | 'info' | 'debug'>> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * What kafkajs logs at warn or error level that is routine here, logged at debug instead; a retry
 * that finally fails reaches the service as an error of its own, which it logs.
 * - A transactional producer's next transaction refused while the broker still writes the last
 *   one's markers (CONCURRENT_TRANSACTIONS, retried after 10 ms, see TRANSACTIONAL_PRODUCER_RETRY):
 *   routine when a partition's transactions run back to back, thousands of lines per bench run.
 * - A coordinator not available, or still loading, while the broker starts or a group or
 *   transaction coordinator moves: kafkajs retries; about 15 lines on every healthy start.
 * - "Limiting retries for the idempotent producer": the limit is deliberate (a producer that
 *   exhausts it is fenced and its partition restored), said once per producer.
 * - The v2 partitioner notice: spamgate uses the default partitioner on purpose (partitionOfKey).
 */
const ROUTINE = [
  'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
  'The group coordinator is not available',
  'The coordinator is not available',
  'The coordinator is loading',
  'Limiting retries for the idempotent producer',
  'KafkaJS v2.0.0 switched default partitioner',
];

/** Whether a kafkajs log line is one of the ROUTINE ones. */
function isRoutineKafkaLog(message: string, error: unknown): boolean {
  const text = `${message} ${String(error ?? '')}`;
  return ROUTINE.some((r) => text.includes(r));
}

function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _l, ...extra } = log;
      const method = isRoutineKafkaLog(message, extra.error) ? 'debug' : (LEVELS[level] ?? 'info');
      logger[method]({ namespace, ...extra }, message);
    };
}

function toKafkaLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'silent':
      return logLevel.NOTHING;
    default:
      return logLevel.ERROR;
  }
}

export function createKafka(options: KafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 5_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // kafkajs logs a retried error at ERROR before it retries; WARN keeps the noise down
    // while start-up waits, and our own code logs what finally fails.
    logLevel: Math.min(toKafkaLevel(options.logger), logLevel.WARN),
    logCreator: kafkaLogCreator(options.logger.child({ component: 'kafkajs' })),
    retry: options.retry ?? { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    ...options.security,
  });
}

/**
 * Waits until the cluster answers metadata, the group coordinator serves a group, and the
 * transaction coordinator hands out a producer id. Throws ConnectTimeoutError after timeoutMs.
 * The probe's group and transactional id start with `probePrefix` (a service passes its group,
 * so the ACLs on its group prefix cover the probe too).
 */
export async function waitForKafka(
  kafka: Kafka,
  options: { timeoutMs: number; logger?: Logger; probePrefix?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const prefix = options.probePrefix ?? 'spamgate';
  await retry(
    async () => {
      const admin = kafka.admin();
      const probe = `${prefix}-readiness-${process.pid}-${Date.now()}`;
      const producer = kafka.producer({
        transactionalId: probe,
        idempotent: true,
        maxInFlightRequests: 1,
        // It sends nothing; named only so that kafkajs does not warn about its partitioner change.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await admin.connect();
        await admin.describeCluster();
        await admin.describeGroups([probe]);
        await producer.connect();
      } finally {
        await producer.disconnect().catch(() => {});
        await admin.disconnect().catch(() => {});
      }
    },
    {
      deadline,
      initialDelayMs: 250,
      maxDelayMs: 2_000,
      onRetry: (err, attempt) => options.logger?.info({ attempt, err: String(err) }, 'kafka not ready yet'),
      onGiveUp: (err) => new ConnectTimeoutError('Kafka', options.timeoutMs, err),
    },
  );
}

/**
 * Waits until every partition of the topics has a leader. kafkajs' own `waitForLeaders` gives
 * up on the first UNKNOWN_TOPIC_OR_PARTITION, which a freshly started KRaft broker answers for a
 * moment after creating a topic; this retries through it, bounded by timeoutMs. With
 * `minPartitions`, it also waits until the metadata lists that many partitions: after
 * createPartitions, metadata can report the old count for a moment.
 */
export async function waitForTopicLeaders(
  admin: Admin,
  topics: readonly string[],
  options: { timeoutMs?: number; minPartitions?: number } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const minPartitions = options.minPartitions ?? 0;
  await retry(
    async () => {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const short = metadata.filter((t) => t.partitions.length < minPartitions);
      if (short.length > 0) {
        throw new Error(
          `${short.map((t) => `${t.name} lists ${t.partitions.length}`).join(', ')} of ${minPartitions} partitions`,
        );
      }
      const leaderless = metadata.flatMap((t) =>
        t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partitionId}`),
      );
      if (leaderless.length > 0) throw new Error(`no leader yet for ${leaderless.slice(0, 5).join(', ')}`);
    },
    {
      deadline: Date.now() + timeoutMs,
      initialDelayMs: 50,
      maxDelayMs: 1_000,
      onGiveUp: (err) => new ConnectTimeoutError(`leaders of ${topics.join(', ')}`, timeoutMs, err),
    },
  );
}

/**
 * Retries of a transactional producer. After a commit the broker is still writing the
 * transaction's markers for a few milliseconds, and the producer's next transaction is refused
 * with CONCURRENT_TRANSACTIONS until it is done; the client-wide 300 ms first retry made every
 * back-to-back transaction wait about 300 ms (the Java producer retries that error after 20 ms).
 * The same budget as the client-wide retry (about half a minute in all), in smaller first steps.
 */
export const TRANSACTIONAL_PRODUCER_RETRY = Object.freeze({
  initialRetryTime: 10,
  maxRetryTime: 5_000,
  retries: 16,
});
