/**
 * `npm run migrate [-- --retry-failed]`: applies the ClickHouse migrations in
 * infra/clickhouse/migrations to SPAMGATE_CLICKHOUSE_DATABASE and prints one line per migration
 * (applied now / already applied). JSON logs go to stderr, the report to stdout.
 *
 * Exit codes: 0 done, 1 a migration failed, was refused or the lock was not had (the message
 * says which and what to do), or ClickHouse was unreachable; 64 bad arguments, 78 bad
 * configuration (every bad variable named).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  clickhousePasswordOf,
  commonSettings,
  createClickHouse,
  createLogger,
  describeError,
  EXIT_CONFIG,
  loadConfig,
  waitForClickHouse,
} from '@spamgate/core';
import { loadMigrations, MigrationError, type MigrationReport, migrate } from './migrate.ts';

/** sysexits.h EX_USAGE. */
const EXIT_USAGE = 64;

const DEFAULT_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const USAGE = `usage: npm run migrate [-- [--retry-failed] [--dir <path>]]

Applies the pending ClickHouse migrations (NNNN_name.sql, in version order) to the spamgate
database, one runner at a time, and records them in <database>.schema_migrations.

  --retry-failed  run a migration whose last attempt failed, after you fixed it
  --dir <path>    migrations directory (default infra/clickhouse/migrations)
  --help          show this text

Environment: SPAMGATE_CLICKHOUSE_URL (default http://127.0.0.1:8123), SPAMGATE_CLICKHOUSE_USER
(default default), SPAMGATE_CLICKHOUSE_PASSWORD (default empty), SPAMGATE_CLICKHOUSE_DATABASE
(default spamgate), SPAMGATE_CONNECT_TIMEOUT (default 60s), SPAMGATE_LOG_LEVEL (default warn;
logs go to stderr).
`;

const spec = {
  clickhouseUrl: commonSettings.clickhouseUrl,
  clickhouseUser: commonSettings.clickhouseUser,
  clickhousePassword: commonSettings.clickhousePassword,
  clickhousePasswordFile: commonSettings.clickhousePasswordFile,
  clickhouseDatabase: commonSettings.clickhouseDatabase,
  connectTimeoutMs: commonSettings.connectTimeoutMs,
  instanceId: commonSettings.instanceId,
  // The report on stdout is what a person reads; JSON logs on stderr only for trouble.
  logLevel: { ...commonSettings.logLevel, default: 'warn' },
};

async function main(argv: readonly string[]): Promise<number> {
  let retryFailed: boolean;
  let dir: string;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        'retry-failed': { type: 'boolean', default: false },
        dir: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    retryFailed = values['retry-failed'];
    dir = values.dir === undefined ? DEFAULT_DIR : resolve(values.dir);
  } catch (err) {
    process.stderr.write(`${describeError(err).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const config = loadConfig(spec, process.env);
  const logger = createLogger({
    service: 'migrate',
    instanceId: config.instanceId,
    level: config.logLevel,
    destination: process.stderr,
  });
  // Bad files fail before anything touches the server.
  const migrations = loadMigrations(dir);
  const connection = {
    url: config.clickhouseUrl,
    username: config.clickhouseUser,
    password: clickhousePasswordOf(config),
    application: 'spamgate-migrate',
  };
  // On the `default` database: the spamgate database may not exist yet.
  const client = createClickHouse({ ...connection, logger });
  let report: MigrationReport;
  try {
    await waitForClickHouse(client, { timeoutMs: config.connectTimeoutMs, logger });
    report = await migrate({
      client,
      connection,
      database: config.clickhouseDatabase,
      migrations,
      logger,
      retryFailed,
      // Two runners on one host with one SPAMGATE_INSTANCE_ID must still be told apart by the lock.
      owner: `${config.instanceId}-${randomBytes(3).toString('hex')}`,
    });
  } finally {
    await client.close();
  }

  if (migrations.length === 0) process.stdout.write(`no migrations in ${dir}\n`);
  const width = Math.max(0, ...migrations.map((m) => m.filename.length));
  const applied = new Set(report.applied);
  for (const m of migrations) {
    process.stdout.write(
      `${m.filename.padEnd(width)}  ${applied.has(m.version) ? 'applied now' : 'already applied'}\n`,
    );
  }
  return 0;
}

// exitCode rather than process.exit(): stdout may be a pipe that is still draining.
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else if (err instanceof MigrationError) {
    process.stderr.write(`migrate: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    const e = describeError(err);
    const cause =
      err instanceof Error && err.cause !== undefined ? `: ${describeError(err.cause).message}` : '';
    process.stderr.write(`migrate: ${e.message}${cause}\n`);
    process.exitCode = 1;
  }
}
