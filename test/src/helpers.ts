/** Per-test resources: each test owns randomly named topics, groups and databases, and closes them. */
import { randomBytes } from 'node:crypto';
import {
  type ClickHouseClient,
  createClickHouse,
  createKafka,
  createLogger,
  type Logger,
  sql,
  sqlIdentifier,
  waitForTopicLeaders,
} from '@spamgate/core';
import type { Kafka } from 'kafkajs';
import { getInfra } from './infra.ts';
import { REPO_ROOT } from './versions.ts';

/** SPAMGATE_HASH_KEY of the services tests start (every service hashes dead letters' keys with it). */
export const TEST_HASH_KEY = 'spamgate-test-hash-key-0123456789';

/** A name no other test (or earlier run) uses: prefix, time, random suffix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Logger for tests: warnings and errors to stderr, or SPAMGATE_TEST_LOG_LEVEL. */
export function testLogger(name = 'test'): Logger {
  return createLogger({
    service: name,
    instanceId: String(process.pid),
    level: process.env.SPAMGATE_TEST_LOG_LEVEL ?? 'warn',
    destination: process.stderr,
  });
}

export async function testKafka(clientId = uniqueName('test-client')): Promise<Kafka> {
  const infra = await getInfra();
  return createKafka({ brokers: infra.kafkaBrokers, clientId, logger: testLogger('kafkajs') });
}

/** Creates a fresh topic and returns its name. */
export async function createTestTopic(
  kafka: Kafka,
  options: { prefix?: string; partitions?: number; config?: Record<string, string> } = {},
): Promise<string> {
  const topic = uniqueName(options.prefix ?? 'test-topic');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: options.partitions ?? 1,
          replicationFactor: 1,
          configEntries: Object.entries(options.config ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      waitForLeaders: false,
    });
    if (!created) throw new Error(`topic ${topic} already existed`);
    await waitForTopicLeaders(admin, [topic]);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

export interface TestDatabase {
  readonly client: ClickHouseClient;
  readonly database: string;
  /** Drops the database and closes the client; safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A fresh ClickHouse database with a client whose default database it is, on the tests'
 * ClickHouse or on the server at `url`.
 */
export async function createTestDatabase(
  prefix = 'test_db',
  { url }: { readonly url?: string } = {},
): Promise<TestDatabase> {
  const server = url ?? (await getInfra()).clickhouseUrl;
  const database = uniqueName(prefix);
  const admin = createClickHouse({ url: server, logger: testLogger('clickhouse') });
  await admin.command({ query: sql`CREATE DATABASE ${sqlIdentifier(database)}` });
  await admin.close();
  const client = createClickHouse({ url: server, database, logger: testLogger('clickhouse') });
  let dropped = false;
  return {
    client,
    database,
    async drop() {
      if (dropped) return;
      dropped = true;
      await client.command({ query: sql`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}` });
      await client.close();
    },
  };
}

/** A fresh ClickHouse database with spamgate's tables: every migration of infra/clickhouse/migrations applied. */
export async function createMigratedTestDatabase(
  prefix = 'test_db',
  options: { readonly url?: string } = {},
): Promise<TestDatabase> {
  const { loadMigrations, migrate } = await import('../../infra/clickhouse/migrate.ts');
  const db = await createTestDatabase(prefix, options);
  await migrate({
    client: db.client,
    database: db.database,
    migrations: loadMigrations(`${REPO_ROOT}infra/clickhouse/migrations`),
    logger: testLogger('migrate'),
  });
  return db;
}

/** Polls `check` until it returns a value other than undefined, or throws after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
