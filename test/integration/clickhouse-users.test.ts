// The least-privilege ClickHouse users (infra/clickhouse/users.d) on the real server: the sink's
// user reads and inserts in the spamgate database and nothing more, the analysts' user only
// reads, within limits. Passwords come from files, as the services read them
// (SPAMGATE_CLICKHOUSE_PASSWORD_FILE), and a wrong one is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type ClickHouseClient,
  clickHouseErrorCode,
  createClickHouse,
  sql,
  sqlIdentifier,
  sqlTable,
} from '@spamgate/core';
import { getInfra, testLogger, uniqueName } from '@spamgate/test';

/** The users' database: their grants name it (users.d's @DATABASE@, `spamgate` here). */
const DATABASE = 'spamgate';
const table = uniqueName('users_probe');
let admin: ClickHouseClient;
const clients: ClickHouseClient[] = [];

async function as(user: 'spamgate_sink' | 'spamgate_analyst', password?: string): Promise<ClickHouseClient> {
  const infra = await getInfra();
  if (!infra.clickhouseUsersSecrets)
    throw new Error(
      'this test needs the passwords of the spamgate_sink and spamgate_analyst users: set CLICKHOUSE_USERS_SECRETS to their directory beside CLICKHOUSE_URL',
    );
  const c = createClickHouse({
    url: infra.clickhouseUrl,
    username: user,
    password: password ?? readFileSync(join(infra.clickhouseUsersSecrets, `${user}.password`), 'utf8').trim(),
    logger: testLogger(user),
  });
  clients.push(c);
  return c;
}

/** The server's error code of what `run` was refused with. */
async function refusal(run: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await run();
  } catch (err) {
    return clickHouseErrorCode(err);
  }
  assert.fail('ClickHouse took it');
}

const target = sqlTable(DATABASE, table);
const count = async (c: ClickHouseClient) =>
  Number(
    (
      await (
        await c.query({ query: sql`SELECT count() AS n FROM ${target}`, format: 'JSONEachRow' })
      ).json<{ n: string }>()
    )[0]?.n,
  );

before(async () => {
  admin = createClickHouse({ url: (await getInfra()).clickhouseUrl, logger: testLogger('admin') });
  await admin.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(DATABASE)}` });
  await admin.command({ query: sql`CREATE TABLE ${target} (x UInt32) ENGINE = MergeTree() ORDER BY x` });
});

after(async () => {
  await admin.command({ query: sql`DROP TABLE IF EXISTS ${target}` });
  await Promise.all([...clients, admin].map((c) => c.close()));
});

test('the sink user inserts and reads in its database, and may change no table and read no other database', async () => {
  const sink = await as('spamgate_sink');
  await sink.insert({ table: `${DATABASE}.${table}`, values: [{ x: 1 }, { x: 2 }], format: 'JSONEachRow' });
  assert.equal(await count(sink), 2);
  // What the sink checks at start: the columns of its tables.
  const columns = await (
    await sink.query({
      query: `SELECT name FROM system.columns WHERE database = '${DATABASE}' AND table = '${table}'`,
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  assert.deepEqual(columns, [{ name: 'x' }]);
  // No DDL (392): it cannot drop, truncate or make tables, so a compromised sink loses no history.
  for (const ddl of [
    sql`DROP TABLE ${target}`,
    sql`TRUNCATE TABLE ${target}`,
    sql`ALTER TABLE ${target} DROP PARTITION tuple()`,
    sql`CREATE TABLE ${sqlTable(DATABASE, `${table}_new`)} (x UInt8) ENGINE = Memory`,
  ])
    assert.equal(await refusal(() => sink.command({ query: ddl })), 392, ddl);
  // Another database (291).
  assert.equal(await refusal(() => sink.query({ query: 'SELECT 1 FROM system.one, other_db.t' })), 291);
});

test('the analyst user reads, within limits, and cannot write, change a table or raise its limits', async () => {
  const analyst = await as('spamgate_analyst');
  await admin.insert({ table: `${DATABASE}.${table}`, values: [{ x: 3 }], format: 'JSONEachRow' });
  assert.ok((await count(analyst)) >= 1);
  // readonly (164): no insert, no DDL, no setting raised.
  assert.equal(
    await refusal(() =>
      analyst.insert({ table: `${DATABASE}.${table}`, values: [{ x: 4 }], format: 'JSONEachRow' }),
    ),
    164,
  );
  assert.equal(await refusal(() => analyst.command({ query: sql`DROP TABLE ${target}` })), 164);
  assert.equal(
    await refusal(() =>
      analyst.query({ query: 'SELECT 1', clickhouse_settings: { max_execution_time: 100_000 } }),
    ),
    164,
  );
  // A result over 5 million rows is refused (396), not streamed to a laptop.
  assert.equal(
    await refusal(async () =>
      (
        await analyst.query({
          query: 'SELECT number FROM system.numbers LIMIT 6000000',
          format: 'JSONEachRow',
        })
      ).json(),
    ),
    396,
  );
});

test('a wrong password is refused', async () => {
  const impostor = await as('spamgate_sink', 'not-the-password');
  const code = await refusal(() => impostor.query({ query: 'SELECT 1' }));
  // 18.16 says "wrong password" (193); current releases do not say which part was wrong (516).
  assert.ok(code === 193 || code === 516, String(code));
});
