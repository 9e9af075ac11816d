import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { sql } from '@spamgate/core';
import { createTestDatabase, getInfra, REPO_ROOT, type TestDatabase, testLogger } from '@spamgate/test';
import { loadMigrations, migrate } from '../../infra/clickhouse/migrate.ts';
import { applyRetention, cutoffPartitionId, type RetentionConfig } from '../../infra/clickhouse/retention.ts';

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 10, 28, 12, 0, 0));
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString().slice(0, 19).replace('T', ' ');
const CONFIG: RetentionConfig = {
  message_facts: 30 * DAY,
  sender_features: 90 * DAY,
  cluster_features: 90 * DAY,
  sender_minute: 180 * DAY,
  dead_letters: 90 * DAY,
  decisions: 400 * DAY,
  policy_overrides: 400 * DAY,
  content_decisions: 400 * DAY,
  content_overrides: 400 * DAY,
};

let db: TestDatabase;

async function partitions(table: string): Promise<string[]> {
  const rs = await db.client.query({
    query: sql`SELECT DISTINCT partition_id FROM system.parts
      WHERE active AND database = ${db.database} AND table = ${table} ORDER BY partition_id`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ partition_id: string }>()).map((r) => r.partition_id);
}

before(async () => {
  db = await createTestDatabase('retention');
  await migrate({
    client: db.client,
    database: db.database,
    migrations: loadMigrations(`${REPO_ROOT}infra/clickhouse/migrations`),
    logger: testLogger('migrate'),
  });
  const fact = (ago: number, id: string) => ({ event_time: daysAgo(ago), message_id: id, sender: 's' });
  await db.client.insert({
    table: 'message_facts',
    values: [fact(45, 'a'), fact(31, 'b'), fact(31, 'c'), fact(29, 'd'), fact(0, 'e')],
    format: 'JSONEachRow',
  });
  await db.client.insert({
    table: 'decisions',
    values: [
      { decision_id: 'old', sender: 's', based_on_event_time: daysAgo(401) },
      { decision_id: 'new', sender: 's', based_on_event_time: daysAgo(10) },
    ],
    format: 'JSONEachRow',
  });
  await db.client.insert({
    table: 'content_decisions',
    values: [
      { decision_id: 'old', cluster_id: 'c', based_on_event_time: daysAgo(402) },
      { decision_id: 'new', cluster_id: 'c', based_on_event_time: daysAgo(399) },
    ],
    format: 'JSONEachRow',
  });
});
after(async () => {
  await db?.drop();
});

test('every table the migrations create has a retention and is partitioned by day', async () => {
  const rs = await db.client.query({
    // schema_migrations is the migrations' own bookkeeping, kept for good; views store nothing.
    query: sql`SELECT name, partition_key FROM system.tables
      WHERE database = ${db.database} AND name != 'schema_migrations' AND engine != 'View' ORDER BY name`,
    format: 'JSONEachRow',
  });
  const tables = await rs.json<{ name: string; partition_key: string }>();
  assert.deepEqual(
    tables.map((t) => t.name),
    Object.keys(CONFIG).sort(),
  );
  for (const t of tables) assert.match(t.partition_key, /^toDate\(\w+\)$/, t.name);
});

test('the cutoff is the first kept day, in UTC', () => {
  assert.equal(cutoffPartitionId(NOW, 30 * DAY), '20261029');
  assert.equal(cutoffPartitionId(new Date(Date.UTC(2026, 0, 1, 0, 0, 1)), DAY), '20251231');
});

test('a dry run reports the partitions past retention and drops nothing', async () => {
  const would = await applyRetention({
    client: db.client,
    database: db.database,
    config: CONFIG,
    logger: testLogger(),
    now: NOW,
    dryRun: true,
  });
  assert.deepEqual(
    would.map((d) => [d.table, d.partitionId, d.rows]),
    [
      ['message_facts', '20261014', 1],
      ['message_facts', '20261028', 2],
      ['decisions', '20251023', 1],
      ['content_decisions', '20251022', 1],
    ],
  );
  assert.equal((await partitions('message_facts')).length, 4);
});

test('retention drops old daily partitions per table, keeps the rest, and is safe to run again', async () => {
  const dropped = await applyRetention({
    client: db.client,
    database: db.database,
    config: CONFIG,
    logger: testLogger(),
    now: NOW,
  });
  assert.equal(dropped.length, 4);
  assert.deepEqual(await partitions('message_facts'), ['20261030', '20261128']);
  assert.deepEqual(await partitions('decisions'), ['20261118']);
  assert.deepEqual(await partitions('content_decisions'), ['20251025']);
  const again = await applyRetention({
    client: db.client,
    database: db.database,
    config: CONFIG,
    logger: testLogger(),
    now: NOW,
  });
  assert.deepEqual(again, []);
});

test('`npm run retention` runs with per-table settings and reports what it dropped', async () => {
  const run = promisify(execFile);
  const { stdout } = await run(
    process.execPath,
    [`${REPO_ROOT}infra/clickhouse/retention-cli.ts`, '--dry-run'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        SPAMGATE_CLICKHOUSE_URL: (await getInfra()).clickhouseUrl,
        SPAMGATE_CLICKHOUSE_DATABASE: db.database,
        SPAMGATE_RETENTION_MESSAGE_FACTS: '1d',
      },
    },
  );
  // Relative to the real clock: every message_facts partition older than yesterday would go.
  assert.match(stdout, /would drop message_facts partition 20261030 \(1 rows\)/);
  assert.match(stdout, /partition\(s\) would be dropped\n$/);
  await assert.rejects(
    run(process.execPath, [`${REPO_ROOT}infra/clickhouse/retention-cli.ts`], {
      env: { PATH: process.env.PATH ?? '', SPAMGATE_RETENTION_DECISIONS: 'forever' },
    }),
    (err: { code?: number; stderr?: string }) =>
      err.code === 78 && /SPAMGATE_RETENTION_DECISIONS/.test(err.stderr ?? ''),
  );
});
