// The ClickHouse migration runner: pure parsing, then real runs (the library and `npm run migrate`)
// against the test ClickHouse, each into a database of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type ClickHouseClient,
  createClickHouse,
  createLogger,
  type Logger,
  sql,
  sqlIdentifier,
  sqlTable,
} from '@spamgate/core';
import { createTestDatabase, getInfra, REPO_ROOT, testLogger, uniqueName } from '@spamgate/test';
import {
  LOCK_TABLE,
  loadMigrations,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type Migration,
  MigrationError,
  type MigrationErrorCode,
  migrate,
  parseMigrations,
  splitStatements,
} from '../../infra/clickhouse/migrate.ts';

const CLI = `${REPO_ROOT}infra/clickhouse/cli.ts`;
const GOOD = `${REPO_ROOT}test/fixtures/migrations/good`;
const BROKEN = `${REPO_ROOT}test/fixtures/migrations/broken`;
const REAL = `${REPO_ROOT}infra/clickhouse/migrations`;

let url: string;
let admin: ClickHouseClient;
const databases: string[] = [];
const tempDirs: string[] = [];

before(async () => {
  url = (await getInfra()).clickhouseUrl;
  admin = createClickHouse({ url, logger: testLogger('clickhouse') });
});

after(async () => {
  for (const db of databases) {
    await admin.command({ query: sql`DROP DATABASE IF EXISTS ${sqlIdentifier(db)}` });
  }
  await admin.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A database name no other test uses; migrate creates it, the file's teardown drops it. */
function freshDatabase(): string {
  const db = uniqueName('mig');
  databases.push(db);
  return db;
}

/** A copy of a fixture folder that a test may edit. */
function copyFixture(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'spamgate-migrations-'));
  tempDirs.push(copy);
  cpSync(dir, copy, { recursive: true });
  return copy;
}

function run(
  database: string,
  migrations: readonly Migration[],
  options: Partial<Omit<MigrateOptions, 'database' | 'migrations'>> = {},
) {
  // The CLI's way: a client on `default`, and the connection to open one on `database`.
  return migrate({
    client: admin,
    connection: { url },
    database,
    migrations,
    logger: testLogger('migrate'),
    ...options,
  });
}

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => { level: string; msg: string }[] } {
  const out: string[] = [];
  const logger = createLogger({
    service: 'migrate',
    instanceId: 'test',
    level: 'info',
    destination: { write: (s: string) => void out.push(s) },
  });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as { level: string; msg: string }) };
}

async function rows<T>(query: string): Promise<T[]> {
  const rs = await admin.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Applied rows per version, read plainly (no FINAL): a second 'applied' row would show. */
async function appliedCounts(database: string): Promise<Record<number, number>> {
  const counts = await rows<{ version: number; n: string }>(
    sql`SELECT version, count() AS n FROM ${sqlTable(database, MIGRATIONS_TABLE)}
      WHERE status = 'applied' GROUP BY version ORDER BY version`,
  );
  return Object.fromEntries(counts.map((r) => [r.version, Number(r.n)]));
}

async function tables(database: string): Promise<string[]> {
  const list = await rows<{ name: string }>(
    sql`SELECT name FROM system.tables WHERE database = ${database} ORDER BY name`,
  );
  return list.map((r) => r.name);
}

async function rejectsWith(promise: Promise<unknown>, code: MigrationErrorCode): Promise<MigrationError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof MigrationError, `expected a MigrationError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Runs `npm run migrate` as a child process, as an operator would. */
function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI's report as [file, state] pairs. */
function reportLines(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/));
}

/** Creates the lock table by hand, as a runner that holds the lock (or crashed holding it) would. */
async function holdLock(database: string, owner: string | undefined, acquiredAt: Date): Promise<void> {
  const lock = sqlTable(database, LOCK_TABLE);
  await admin.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(database)}` });
  await admin.command({ query: sql`CREATE TABLE ${lock} (owner String, acquired_at DateTime) ENGINE = Log` });
  if (owner !== undefined) {
    await admin.insert({
      table: lock.text,
      values: [{ owner, acquired_at: Math.floor(acquiredAt.getTime() / 1000) }],
      format: 'JSONEachRow',
    });
  }
}

async function lockOwners(database: string): Promise<string[] | undefined> {
  if (!(await tables(database)).includes(LOCK_TABLE)) return undefined;
  const list = await rows<{ owner: string }>(sql`SELECT owner FROM ${sqlTable(database, LOCK_TABLE)}`);
  return list.map((r) => r.owner);
}

// --- Loading migration files (no server) ---

test('statements split on semicolons outside string literals, quoted identifiers and comments', () => {
  const text = [
    "-- a comment; with 'a quote",
    "SELECT 'a;b', 'it\\'s; fine', 'O''Brien;' AS `odd;alias`, \"dq;ident\" FROM t; /* block; comment */",
    '',
    ';;  ;',
    'SELECT 2; -- trailing; comment',
    '/* multi',
    '   line; comment */ SELECT 3',
  ].join('\n');
  assert.deepEqual(splitStatements(text), [
    "SELECT 'a;b', 'it\\'s; fine', 'O''Brien;' AS `odd;alias`, \"dq;ident\" FROM t",
    'SELECT 2',
    'SELECT 3',
  ]);
});

test('comment markers inside string literals are kept as text, and a string may span lines', () => {
  assert.deepEqual(splitStatements("SELECT '-- not a comment', '/* nor; this */';\nSELECT 'line\none;'\n"), [
    "SELECT '-- not a comment', '/* nor; this */'",
    "SELECT 'line\none;'",
  ]);
  assert.deepEqual(splitStatements("SELECT 'ends in a backslash\\\\'; SELECT 2"), [
    "SELECT 'ends in a backslash\\\\'",
    'SELECT 2',
  ]);
});

test('a file of only comments and separators has no statements', () => {
  assert.deepEqual(splitStatements('-- nothing here;\n/* ; */ ;\n  ;\n'), []);
});

test('an unterminated string, identifier or block comment is refused with the file and line', () => {
  for (const [text, what] of [
    ["SELECT 1;\nSELECT 'oops;\nSELECT 2", 'unterminated string literal starting on line 2'],
    ['SELECT 1;\n\nSELECT `oops', 'unterminated `-quoted identifier starting on line 3'],
    ["SELECT 'a\\'", 'unterminated string literal starting on line 1'],
    ['SELECT 1 /* never closed', 'unterminated /* comment starting on line 1'],
  ] as const) {
    assert.throws(
      () => splitStatements(text, '0007_x.sql'),
      (err) =>
        err instanceof MigrationError && err.code === 'MIGRATION_INVALID' && err.message.includes(what),
      text,
    );
  }
});

test('migrations are sorted by version with gaps allowed, other files ignored, and checksummed', () => {
  const files = [
    { filename: '0010_later.sql', content: 'SELECT 10' },
    { filename: 'README.md', content: 'not a migration' },
    { filename: '.0003_editor_backup.sql', content: 'SELECT' },
    { filename: '0002_second.sql', content: 'SELECT 2; SELECT 3;' },
  ];
  const migrations = parseMigrations(files);
  assert.deepEqual(
    migrations.map((m) => [m.version, m.name, m.statements]),
    [
      [2, 'second', ['SELECT 2', 'SELECT 3']],
      [10, 'later', ['SELECT 10']],
    ],
  );
  assert.equal(migrations[1]?.checksum, createHash('sha256').update('SELECT 10').digest('hex'));
});

test('two files with the same version are refused, naming both', () => {
  assert.throws(
    () =>
      parseMigrations([
        { filename: '0002_a.sql', content: 'SELECT 1' },
        { filename: '0002_b.sql', content: 'SELECT 2' },
      ]),
    (err) =>
      err instanceof MigrationError &&
      err.code === 'MIGRATION_INVALID' &&
      /0002_a\.sql and 0002_b\.sql/.test(err.message),
  );
});

test('a .sql file not named NNNN_name.sql is refused', () => {
  for (const filename of ['001_short.sql', '00001_long.sql', '0001.sql', 'initial.sql', '0001-dash.sql']) {
    assert.throws(
      () => parseMigrations([{ filename, content: 'SELECT 1' }]),
      (err) => err instanceof MigrationError && err.code === 'MIGRATION_INVALID',
      filename,
    );
  }
});

test('the good fixture folder loads with every statement intact', () => {
  const migrations = loadMigrations(GOOD);
  assert.deepEqual(
    migrations.map((m) => [m.filename, m.statements.length]),
    [
      ['0001_events.sql', 2],
      ['0002_counts.sql', 1],
      ['0005_view.sql', 1],
    ],
  );
  const [events, senders] = migrations[0]?.statements ?? [];
  assert.match(events ?? '', /DEFAULT 'a;b -- not a comment \/\* nor this \*\/ it\\'s fine; really',/);
  assert.match(events ?? '', /`odd;name` UInt8 DEFAULT 0\n\)/);
  assert.match(senders ?? '', /DEFAULT 'O''Brien; "quoted"'\) ENGINE = Log$/);
});

// --- Running migrations (real ClickHouse) ---

test('applying migrations creates their tables and records each version; a second run applies nothing', async () => {
  const db = freshDatabase();
  const migrations = loadMigrations(GOOD);

  const first = await run(db, migrations, { owner: 'first' });
  assert.deepEqual(first, { applied: [1, 2, 5], alreadyApplied: [] });
  assert.deepEqual(await tables(db), [
    'daily_counts',
    'events',
    MIGRATIONS_TABLE,
    'sender_totals',
    'senders',
  ]);
  const recorded = await rows<{ version: number; name: string; status: string; statements: number }>(
    sql`SELECT version, name, status, statements, checksum, runner FROM ${sqlTable(db, MIGRATIONS_TABLE)}
      ORDER BY version`,
  );
  assert.deepEqual(
    recorded,
    migrations.map((m) => ({
      version: m.version,
      name: m.name,
      status: 'applied',
      statements: m.statements.length,
      checksum: m.checksum,
      runner: 'first',
    })),
  );

  const second = await run(db, migrations, { owner: 'second' });
  assert.deepEqual(second, { applied: [], alreadyApplied: [1, 2, 5] });
  assert.deepEqual(await appliedCounts(db), { 1: 1, 2: 1, 5: 1 });
  assert.equal(await lockOwners(db), undefined, 'the lock table is dropped after a run');
});

test('a client whose default database is the target needs no connection, and stays open', async () => {
  const db = await createTestDatabase('mig');
  try {
    const report = await migrate({
      client: db.client,
      database: db.database,
      migrations: loadMigrations(GOOD),
      logger: testLogger('migrate'),
    });
    assert.deepEqual(report, { applied: [1, 2, 5], alreadyApplied: [] });
    await db.client.query({ query: 'SELECT count() FROM events' });
  } finally {
    await db.drop();
  }
});

test('a client on another database without a connection is refused before any migration runs', async () => {
  const db = freshDatabase();
  const refused = await rejectsWith(
    migrate({ client: admin, database: db, migrations: loadMigrations(GOOD), logger: testLogger('migrate') }),
    'MIGRATION_CLIENT_DATABASE',
  );
  assert.match(refused.message, new RegExp(`default database is default, not ${db}: pass \`connection\``));
  assert.deepEqual(await tables(db), []);
});

test('a migration added later is applied on the next run, and only it', async () => {
  const db = freshDatabase();
  const dir = copyFixture(GOOD);
  await run(db, loadMigrations(dir));
  writeFileSync(join(dir, '0006_more.sql'), 'CREATE TABLE IF NOT EXISTS more (id UInt64) ENGINE = Log;\n');

  assert.deepEqual(await run(db, loadMigrations(dir)), { applied: [6], alreadyApplied: [1, 2, 5] });
  assert.ok((await tables(db)).includes('more'));
});

test('two runners started together both succeed and apply each migration exactly once', async () => {
  const db = freshDatabase();
  const migrations = loadMigrations(GOOD);

  const [a, b] = await Promise.all([
    run(db, migrations, { owner: 'runner-a' }),
    run(db, migrations, { owner: 'runner-b' }),
  ]);
  // The lock holder did everything; the other found it done, under the lock or before it.
  const [holder, waiter] = a.applied.length > 0 ? [a, b] : [b, a];
  assert.deepEqual(holder, { applied: [1, 2, 5], alreadyApplied: [] });
  assert.deepEqual(waiter, { applied: [], alreadyApplied: [1, 2, 5] });
  assert.deepEqual(await appliedCounts(db), { 1: 1, 2: 1, 5: 1 });
  assert.equal(await lockOwners(db), undefined);
});

test('two `npm run migrate` processes started together both succeed and apply each migration once', async () => {
  const db = freshDatabase();
  const env = { SPAMGATE_CLICKHOUSE_URL: url, SPAMGATE_CLICKHOUSE_DATABASE: db };

  const results = await Promise.all([runCli(['--dir', GOOD], env), runCli(['--dir', GOOD], env)]);
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      reportLines(r.stdout).map(([file]) => file),
      ['0001_events.sql', '0002_counts.sql', '0005_view.sql'],
      r.stdout,
    );
  }
  const appliedNow = results.flatMap((r) =>
    reportLines(r.stdout).filter(([, state]) => state === 'applied now'),
  );
  assert.deepEqual(appliedNow.map(([file]) => file).sort(), [
    '0001_events.sql',
    '0002_counts.sql',
    '0005_view.sql',
  ]);
  assert.deepEqual(await appliedCounts(db), { 1: 1, 2: 1, 5: 1 });
});

test('a failing migration stops the run, is refused on the next run, and applies with retryFailed once fixed', async () => {
  const db = freshDatabase();
  const dir = copyFixture(BROKEN);

  const failed = await rejectsWith(run(db, loadMigrations(dir)), 'MIGRATION_FAILED');
  assert.equal(failed.version, 2);
  assert.match(failed.message, /0002_second failed at statement 2 of 2: .*NoSuchEngine/);
  assert.deepEqual(await tables(db), ['base', MIGRATIONS_TABLE, 'second_a'], '0003 did not run');
  const [row] = await rows<{ status: string; error: string; statements: number }>(
    sql`SELECT status, error, statements FROM ${sqlTable(db, MIGRATIONS_TABLE)} WHERE version = 2`,
  );
  assert.equal(row?.status, 'failed');
  assert.equal(row?.statements, 1);
  assert.match(row?.error ?? '', /Code: 56\b.*NoSuchEngine/);
  assert.equal(await lockOwners(db), undefined, 'a failed run releases the lock');

  const refused = await rejectsWith(run(db, loadMigrations(dir)), 'MIGRATION_FAILED_BEFORE');
  assert.equal(refused.version, 2);
  assert.match(refused.message, /0002_second failed before .*NoSuchEngine/);
  assert.match(refused.message, /--retry-failed/);
  assert.deepEqual(await tables(db), ['base', MIGRATIONS_TABLE, 'second_a']);

  const file = join(dir, '0002_second.sql');
  writeFileSync(file, readFileSync(file, 'utf8').replace('ENGINE = NoSuchEngine', 'ENGINE = Log'));
  // Fixed but without retryFailed: still refused, the operator must say so.
  await rejectsWith(run(db, loadMigrations(dir)), 'MIGRATION_FAILED_BEFORE');

  assert.deepEqual(await run(db, loadMigrations(dir), { retryFailed: true }), {
    applied: [2, 3],
    alreadyApplied: [1],
  });
  assert.deepEqual(await tables(db), ['base', MIGRATIONS_TABLE, 'second_a', 'second_b', 'third']);
  // The latest attempt decides, whatever the merges did or did not do yet.
  const states = await rows<{ version: number; last_status: string }>(
    sql`SELECT version, argMax(status, attempt) AS last_status
      FROM ${sqlTable(db, MIGRATIONS_TABLE)} GROUP BY version ORDER BY version`,
  );
  assert.deepEqual(
    states.map((r) => [r.version, r.last_status]),
    [
      [1, 'applied'],
      [2, 'applied'],
      [3, 'applied'],
    ],
  );
  assert.deepEqual(await run(db, loadMigrations(dir)), { applied: [], alreadyApplied: [1, 2, 3] });
});

test('`npm run migrate` exits 1 with the server message when a migration fails, and names --retry-failed', async () => {
  const db = freshDatabase();
  const env = { SPAMGATE_CLICKHOUSE_URL: url, SPAMGATE_CLICKHOUSE_DATABASE: db };

  const failed = await runCli(['--dir', BROKEN], env);
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /migrate: migration 0002_second failed at statement 2 of 2: .*NoSuchEngine/);
  const refused = await runCli(['--dir', BROKEN], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /0002_second failed before .*rerun with --retry-failed/s);
});

test('an applied migration whose file changed is refused, and nothing after it runs', async () => {
  const db = freshDatabase();
  const dir = copyFixture(GOOD);
  await run(db, loadMigrations(dir));
  const file = join(dir, '0002_counts.sql');
  writeFileSync(file, `${readFileSync(file, 'utf8')}-- an innocent-looking edit\n`);
  writeFileSync(join(dir, '0006_more.sql'), 'CREATE TABLE IF NOT EXISTS more (id UInt64) ENGINE = Log;\n');

  const changed = await rejectsWith(run(db, loadMigrations(dir)), 'MIGRATION_CHANGED');
  assert.equal(changed.version, 2);
  assert.match(changed.message, /0002_counts was applied .* must never be edited.*add a new migration/);
  assert.ok(!(await tables(db)).includes('more'));
  assert.deepEqual(await appliedCounts(db), { 1: 1, 2: 1, 5: 1 });
});

test('a stale lock left by a crashed runner is taken over with a warning', async () => {
  const db = freshDatabase();
  await holdLock(db, 'crashed-runner', new Date(Date.now() - 60 * 60_000));
  const { logger, lines } = capturingLogger();

  const report = await run(db, loadMigrations(GOOD), { logger, lockTimeoutMs: 10_000 });
  assert.deepEqual(report.applied, [1, 2, 5]);
  const warning = lines().find((l) => l.msg.includes('stale migration lock'));
  assert.equal(warning?.level, 'warn');
  assert.match(warning?.msg ?? '', /taking over a stale migration lock held by crashed-runner since /);
  assert.equal(await lockOwners(db), undefined);
});

test('an empty lock table (its holder died before writing its row) goes stale by its creation time', async () => {
  const db = freshDatabase();
  await holdLock(db, undefined, new Date());
  // Creation time has second resolution: 2.1 s make it at least 2 s older than staleLockMs' 1 s.
  await new Promise((r) => setTimeout(r, 2_100));

  const report = await run(db, loadMigrations(GOOD), { staleLockMs: 1_000, lockTimeoutMs: 10_000 });
  assert.deepEqual(report.applied, [1, 2, 5]);
});

test('a fresh lock held by another runner makes a runner give up after lockTimeoutMs', async () => {
  const db = freshDatabase();
  await holdLock(db, 'busy-runner', new Date());

  const started = Date.now();
  const timeout = await rejectsWith(
    run(db, loadMigrations(GOOD), { lockTimeoutMs: 1_500 }),
    'MIGRATION_LOCK_TIMEOUT',
  );
  assert.ok(Date.now() - started >= 1_400, 'it waited for the whole lockTimeoutMs');
  assert.ok(timeout.retriable);
  assert.match(timeout.message, /held by busy-runner since /);
  assert.deepEqual(await lockOwners(db), ['busy-runner'], "another runner's lock is left alone");
  assert.ok(!(await tables(db)).includes('events'), 'nothing ran');
});

test('a runner waits for a lock that is released and then applies what is left', async () => {
  const db = freshDatabase();
  await holdLock(db, 'slow-runner', new Date());
  const running = run(db, loadMigrations(GOOD), { lockTimeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 1_000));
  await admin.command({ query: sql`DROP TABLE ${sqlTable(db, LOCK_TABLE)}` });

  assert.deepEqual(await running, { applied: [1, 2, 5], alreadyApplied: [] });
});

test('a runner whose lock was taken over stops before its next migration and leaves the new lock', async () => {
  const db = freshDatabase();
  const marker = uniqueName('slow_migration');
  const migrations = parseMigrations([
    // sleep() keeps the first migration busy while the test plays the runner that takes over.
    { filename: '0001_slow.sql', content: `SELECT sleep(2) AS ${marker};` },
    { filename: '0002_next.sql', content: 'CREATE TABLE IF NOT EXISTS next (id UInt64) ENGINE = Log;' },
  ]);
  const outcome = rejectsWith(run(db, migrations, { owner: 'slow-owner' }), 'MIGRATION_LOCK_LOST');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [running] = await rows<{ n: string }>(
      sql`SELECT count() AS n FROM system.processes
        WHERE position(query, ${marker}) > 0 AND position(query, 'system.processes') = 0`,
    );
    if (running?.n !== '0') break;
    assert.ok(Date.now() < deadline, 'the first migration never started');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(await lockOwners(db), ['slow-owner']);
  await admin.command({ query: sql`DROP TABLE ${sqlTable(db, LOCK_TABLE)}` });
  await holdLock(db, 'new-owner', new Date());

  const lost = await outcome;
  assert.equal(lost.version, 2);
  assert.ok(!(await tables(db)).includes('next'));
  assert.deepEqual(await lockOwners(db), ['new-owner']);
});

test('`npm run migrate` rejects unknown arguments with 64 and bad configuration with 78', async () => {
  const usage = await runCli(['--retry-faild'], {});
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /usage: npm run migrate/);
  const config = await runCli([], {
    SPAMGATE_CLICKHOUSE_URL: 'not a url',
    SPAMGATE_CLICKHOUSE_DATABASE: 'bad-name',
  });
  assert.equal(config.code, 78);
  assert.match(config.stderr, /SPAMGATE_CLICKHOUSE_URL/);
  assert.match(config.stderr, /SPAMGATE_CLICKHOUSE_DATABASE/);
});

const realFiles = existsSync(REAL) ? readdirSync(REAL).filter((f) => f.endsWith('.sql')) : [];

test('the real migrations in infra/clickhouse/migrations apply to a fresh database, and a second run applies nothing', {}, async () => {
  assert.ok(realFiles.length > 0, 'infra/clickhouse/migrations has migrations');
  const db = freshDatabase();
  const migrations = loadMigrations(REAL);
  const versions = migrations.map((m) => m.version);

  assert.deepEqual(await run(db, migrations), { applied: versions, alreadyApplied: [] });
  assert.deepEqual(await run(db, migrations), { applied: [], alreadyApplied: versions });
  assert.deepEqual(await appliedCounts(db), Object.fromEntries(versions.map((v) => [v, 1])));
});

test('`npm run migrate` applies the real migrations by default and reports each one', {}, async () => {
  assert.ok(realFiles.length > 0, 'infra/clickhouse/migrations has migrations');
  const db = freshDatabase();
  const env = { SPAMGATE_CLICKHOUSE_URL: url, SPAMGATE_CLICKHOUSE_DATABASE: db };
  const migrations = loadMigrations(REAL);

  const first = await runCli([], env);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(
    reportLines(first.stdout),
    migrations.map((m) => [m.filename, 'applied now']),
  );
  const second = await runCli([], env);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(
    reportLines(second.stdout),
    migrations.map((m) => [m.filename, 'already applied']),
  );
});
