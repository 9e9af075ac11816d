/**
 * Versioned SQL migrations for ClickHouse, on 18.16 and on current ClickHouse.
 *
 * A migration is a file `NNNN_name.sql` (4-digit version, gaps allowed) of `;`-separated
 * statements. They run in version order against a client whose default database is the target
 * database, so unqualified table names land there. `<database>.schema_migrations` records every
 * attempt; the state of a version is its latest attempt (argMax, never relying on merges).
 *
 * ClickHouse has no transactions: a migration that fails halfway leaves its earlier statements
 * applied, and a run that dies between the last statement and its bookkeeping row runs the
 * whole migration again next time. So **write every statement idempotently** (`CREATE TABLE IF
 * NOT EXISTS`, `CREATE VIEW IF NOT EXISTS`, `DROP TABLE IF EXISTS`): then re-running a
 * half-applied migration (`retryFailed`, `--retry-failed`) is safe. 18.16 has no `ADD COLUMN IF
 * NOT EXISTS`, so a migration that adds a column should add nothing else. An applied migration
 * is never edited: its checksum is recorded, and a changed file stops the run; add a new
 * migration instead.
 *
 * ClickHouse has no locks either: the mutex is DDL atomicity. `CREATE TABLE
 * <database>.schema_migrations_lock` without IF NOT EXISTS succeeds for exactly one runner;
 * the others get "table already exists" (code 57) and poll until it is dropped. A lock older
 * than `staleLockMs` (its holder crashed) is taken over. The takeover cannot be made atomic with
 * ClickHouse DDL: two waiters that judge the same lock stale within milliseconds of each other
 * could both end up holding it, so the holder checks that the lock is still its own before
 * each migration and stops (MIGRATION_LOCK_LOST) when it is not.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  backoffDelay,
  type ClickHouseClient,
  type ClickHouseOptions,
  clickHouseErrorCode,
  createClickHouse,
  type Logger,
  SpamgateError,
  type SqlFragment,
  sql,
  sqlIdentifier,
  sqlTable,
} from '@spamgate/core';

/** ClickHouse error codes this module branches on (the same on 18.16 and 25.x). */
const UNKNOWN_TABLE = 60;
const TABLE_ALREADY_EXISTS = 57;

export const MIGRATIONS_TABLE = 'schema_migrations';
export const LOCK_TABLE = 'schema_migrations_lock';

const DEFAULT_LOCK_TIMEOUT_MS = 120_000;
const DEFAULT_STALE_LOCK_MS = 15 * 60_000;
/** The recorded error of a failed migration is cut to this many characters. */
const MAX_RECORDED_ERROR = 8_000;

export type MigrationErrorCode =
  /** A migration file is misnamed, duplicated or not splittable (unterminated string, ...). */
  | 'MIGRATION_INVALID'
  /** A statement failed now; a 'failed' row was recorded and nothing after it ran. */
  | 'MIGRATION_FAILED'
  /** The latest attempt of a pending migration failed and retryFailed was not given. */
  | 'MIGRATION_FAILED_BEFORE'
  /** An applied migration's file no longer has the checksum it was applied with. */
  | 'MIGRATION_CHANGED'
  /** Another runner held the lock for longer than lockTimeoutMs. */
  | 'MIGRATION_LOCK_TIMEOUT'
  /** Another runner took the lock over (as stale) while this one held it. */
  | 'MIGRATION_LOCK_LOST'
  /** `client`'s default database is not `database` and no `connection` was given to open one. */
  | 'MIGRATION_CLIENT_DATABASE';

export class MigrationError extends SpamgateError {
  override name = 'MigrationError';
  /** The migration concerned, when there is one. */
  readonly version: number | undefined;

  constructor(
    message: string,
    code: MigrationErrorCode,
    options: { readonly version?: number; readonly cause?: unknown } = {},
  ) {
    super(message, { code, retriable: code === 'MIGRATION_LOCK_TIMEOUT', cause: options.cause });
    this.version = options.version;
  }
}

export interface Migration {
  readonly version: number;
  /** The part of the file name between `NNNN_` and `.sql`. */
  readonly name: string;
  readonly filename: string;
  /** Hex sha256 of the file content. */
  readonly checksum: string;
  /** Statements in file order, comments removed, without the separating `;`. */
  readonly statements: readonly string[];
}

const FILE_NAME = /^(\d{4})_(.+)\.sql$/;

/** `0007_add_index`: how the operator sees a migration in messages. */
export function migrationLabel(m: { readonly version: number; readonly name: string }): string {
  return `${String(m.version).padStart(4, '0')}_${m.name}`;
}

/**
 * Splits SQL into statements on `;`, except inside string literals ('...' with backslash
 * escapes; '' reads as two adjacent literals, which splits the same), quoted identifiers
 * (`...` and "...") and comments (`--` to end of line, non-nesting `/* ... *\/`). Comments are
 * removed, statements trimmed, empty ones dropped. An unterminated literal, identifier or block
 * comment is a MIGRATION_INVALID error naming `source` and the line it starts on.
 */
export function splitStatements(text: string, source = 'SQL'): string[] {
  const statements: string[] = [];
  let current = '';
  let line = 1;
  let i = 0;
  const flush = (): void => {
    const s = current.trim();
    if (s.length > 0) statements.push(s);
    current = '';
  };
  const unterminated = (what: string, startLine: number): MigrationError =>
    new MigrationError(`${source}: unterminated ${what} starting on line ${startLine}`, 'MIGRATION_INVALID');

  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "'" || c === '`' || c === '"') {
      const startLine = line;
      let j = i + 1;
      for (;;) {
        if (j >= text.length) {
          throw unterminated(c === "'" ? 'string literal' : `${c}-quoted identifier`, startLine);
        }
        const d = text[j];
        if (d === '\n') line++;
        if (d === '\\') {
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (d === c) break;
        j++;
      }
      current += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && next === '-') {
      // Up to, not including, the newline: it still separates the tokens around the comment.
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw unterminated('/* comment', line);
      for (let k = i; k < end; k++) if (text[k] === '\n') line++;
      current += ' ';
      i = end + 2;
    } else if (c === ';') {
      flush();
      i++;
    } else {
      if (c === '\n') line++;
      current += c;
      i++;
    }
  }
  flush();
  return statements;
}

/** One migration from its file name and content; MIGRATION_INVALID if the name is not `NNNN_name.sql`. */
export function parseMigration(filename: string, content: string): Migration {
  const m = FILE_NAME.exec(filename);
  if (!m?.[1] || !m[2]) {
    throw new MigrationError(
      `${filename}: a migration file is named NNNN_name.sql (4-digit version, underscore, name)`,
      'MIGRATION_INVALID',
    );
  }
  return {
    version: Number(m[1]),
    name: m[2],
    filename,
    checksum: createHash('sha256').update(content, 'utf8').digest('hex'),
    statements: splitStatements(content, filename),
  };
}

/**
 * Migrations from file names and contents, sorted by version. Files that do not end in `.sql`
 * (a README, editor backups) and hidden files are ignored; a `.sql` file with a bad name and
 * two files with one version are MIGRATION_INVALID errors.
 */
export function parseMigrations(
  files: readonly { readonly filename: string; readonly content: string }[],
): Migration[] {
  const migrations = files
    .filter((f) => f.filename.endsWith('.sql') && !f.filename.startsWith('.'))
    .map((f) => parseMigration(f.filename, f.content))
    .sort((a, b) => a.version - b.version || a.filename.localeCompare(b.filename));
  for (let i = 1; i < migrations.length; i++) {
    const a = migrations[i - 1]!;
    const b = migrations[i]!;
    if (a.version === b.version) {
      throw new MigrationError(
        `two migrations have version ${String(a.version).padStart(4, '0')}: ${a.filename} and ${b.filename}`,
        'MIGRATION_INVALID',
        { version: a.version },
      );
    }
  }
  return migrations;
}

/** Reads the migrations in `dir` (see parseMigrations); a missing directory is an error. */
export function loadMigrations(dir: string): Migration[] {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ filename: e.name, content: readFileSync(join(dir, e.name), 'utf8') }));
  return parseMigrations(files);
}

/** The latest recorded attempt of one version in schema_migrations. */
export interface RecordedMigration {
  readonly version: number;
  readonly name: string;
  readonly status: string;
  readonly checksum: string;
  readonly error: string;
  readonly attempt: number;
  readonly runner: string;
  /** Unix seconds. */
  readonly finishedAt: number;
}

export interface MigrationPlan {
  /** Not applied yet (never tried, or failed and retried), in version order. */
  readonly pending: readonly Migration[];
  readonly alreadyApplied: readonly Migration[];
  /** Versions recorded as applied that have no file (an older checkout, or a deleted file). */
  readonly unknownApplied: readonly number[];
}

function describeAttempt(r: RecordedMigration): string {
  return `attempt ${r.attempt} by ${r.runner || 'an unknown runner'} at ${new Date(r.finishedAt * 1000).toISOString()}`;
}

/**
 * What a run does, from the files and the recorded state. Throws MIGRATION_CHANGED for an
 * applied migration whose file changed, then MIGRATION_FAILED_BEFORE for a pending migration
 * whose last attempt failed (unless retryFailed), before anything runs.
 */
export function planMigrations(
  migrations: readonly Migration[],
  recorded: ReadonlyMap<number, RecordedMigration>,
  retryFailed: boolean,
): MigrationPlan {
  const pending: Migration[] = [];
  const alreadyApplied: Migration[] = [];
  for (const m of migrations) {
    const r = recorded.get(m.version);
    if (r?.status !== 'applied') {
      pending.push(m);
      continue;
    }
    if (r.checksum !== m.checksum) {
      throw new MigrationError(
        `migration ${migrationLabel(m)} was applied (${describeAttempt(r)}) with checksum ` +
          `${r.checksum.slice(0, 12)}, but ${m.filename} now has checksum ${m.checksum.slice(0, 12)}: ` +
          'an applied migration must never be edited. Restore the file and add a new migration for the change.',
        'MIGRATION_CHANGED',
        { version: m.version },
      );
    }
    alreadyApplied.push(m);
  }
  if (!retryFailed) {
    for (const m of pending) {
      const r = recorded.get(m.version);
      if (r?.status === 'failed') {
        throw new MigrationError(
          `migration ${migrationLabel(m)} failed before (${describeAttempt(r)}): ${r.error}\n` +
            'Refusing to run it again as it is: fix the migration (its statements before the failing one ' +
            'already ran, so they must be idempotent), then rerun with --retry-failed.',
          'MIGRATION_FAILED_BEFORE',
          { version: m.version },
        );
      }
    }
  }
  const files = new Set(migrations.map((m) => m.version));
  const unknownApplied = [...recorded.values()]
    .filter((r) => r.status === 'applied' && !files.has(r.version))
    .map((r) => r.version);
  return { pending, alreadyApplied, unknownApplied };
}

/** Where ClickHouse is, for opening a client whose default database is the target. */
export type MigrationConnection = Omit<ClickHouseOptions, 'database' | 'logger'>;

export interface MigrateOptions {
  /** Creates `database`; runs everything else too when its default database is `database`. */
  readonly client: ClickHouseClient;
  /**
   * Needed when `client`'s default database is another one (a client cannot name a database
   * that does not exist yet): migrate then opens, and closes, a client on `database` with it.
   */
  readonly connection?: MigrationConnection;
  /** Created if missing; the default database of every migration statement. */
  readonly database: string;
  /** From loadMigrations, in version order. */
  readonly migrations: readonly Migration[];
  readonly logger: Logger;
  /** Run a migration whose last attempt failed (after fixing it). Default false. */
  readonly retryFailed?: boolean;
  /** How long to wait for another runner's lock; default 120 s. */
  readonly lockTimeoutMs?: number;
  /** A lock older than this is taken over (its holder is presumed dead); default 15 min. */
  readonly staleLockMs?: number;
  /** Who runs, in the lock and in schema_migrations.runner; default host, pid and a random suffix. */
  readonly owner?: string;
}

export interface MigrationReport {
  /** Versions applied by this run, in order. */
  readonly applied: readonly number[];
  /** Versions that were applied before this run. */
  readonly alreadyApplied: readonly number[];
}

interface Context {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly owner: string;
  readonly logger: Logger;
  readonly lock: SqlFragment;
  readonly migrationsTable: SqlFragment;
  readonly staleLockMs: number;
}

interface LockHolder {
  /** Empty when the lock table exists but its row is not written yet (or its holder died first). */
  readonly owner: string;
  /** Unix seconds: the row's acquired_at, else the table's creation time. */
  readonly since: number;
  readonly ageMs: number;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function serverMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.trim();
}

async function selectRows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** Creates the lock table and writes this runner's row; false when another runner holds it. */
async function tryCreateLock(ctx: Context): Promise<boolean> {
  try {
    await ctx.client.command({
      query: sql`CREATE TABLE ${ctx.lock} (owner String, acquired_at DateTime) ENGINE = Log`,
    });
  } catch (err) {
    if (clickHouseErrorCode(err) === TABLE_ALREADY_EXISTS) return false;
    throw err;
  }
  try {
    await ctx.client.insert({
      table: ctx.lock.text,
      values: [{ owner: ctx.owner, acquired_at: nowSeconds() }],
      format: 'JSONEachRow',
    });
  } catch (err) {
    // The table is seconds old, so nobody takes it over as stale: dropping it frees the lock
    // at once instead of after staleLockMs.
    await ctx.client.command({ query: sql`DROP TABLE IF EXISTS ${ctx.lock}` }).catch(() => {});
    throw err;
  }
  return true;
}

/** Who holds the lock and for how long (server clock), or undefined when nobody does. */
async function readHolder(ctx: Context): Promise<LockHolder | undefined> {
  const [meta] = await selectRows<{ now: number | string; created: number | string }>(
    ctx.client,
    sql`SELECT toUnixTimestamp(now()) AS now, toUnixTimestamp(metadata_modification_time) AS created
      FROM system.tables WHERE database = ${ctx.database} AND name = ${LOCK_TABLE}`,
  );
  if (!meta) return undefined;
  let rows: { owner: string; acquired: number | string }[];
  try {
    rows = await selectRows(
      ctx.client,
      sql`SELECT owner, toUnixTimestamp(acquired_at) AS acquired FROM ${ctx.lock} ORDER BY acquired DESC`,
    );
  } catch (err) {
    if (clickHouseErrorCode(err) === UNKNOWN_TABLE) return undefined;
    throw err;
  }
  const row = rows[0];
  // An empty lock table is one being acquired right now, or one whose holder died between
  // CREATE and INSERT; its creation time lets the second case go stale too.
  const since = row ? Number(row.acquired) : Number(meta.created);
  return { owner: row?.owner ?? '', since, ageMs: Math.max(0, (Number(meta.now) - since) * 1000) };
}

function describeHolder(h: LockHolder): string {
  const who = h.owner || 'a runner that has not written its name yet';
  return `${who} since ${new Date(h.since * 1000).toISOString()} (${Math.round(h.ageMs / 1000)} s ago)`;
}

/** Drops a stale lock and takes it; false when another runner got there first. */
async function takeOver(ctx: Context, stale: LockHolder): Promise<boolean> {
  // Only the lock that was judged stale: if it changed hands meanwhile, it is not stale.
  const again = await readHolder(ctx);
  if (!again || again.owner !== stale.owner || again.since !== stale.since) return false;
  ctx.logger.warn(
    { database: ctx.database, holder: stale.owner, heldSince: stale.since, staleLockMs: ctx.staleLockMs },
    `taking over a stale migration lock held by ${describeHolder(stale)}`,
  );
  try {
    await ctx.client.command({ query: sql`DROP TABLE ${ctx.lock}` });
  } catch (err) {
    if (clickHouseErrorCode(err) === UNKNOWN_TABLE) return false;
    throw err;
  }
  return tryCreateLock(ctx);
}

async function acquireLock(ctx: Context, lockTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + lockTimeoutMs;
  let announced = false;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreateLock(ctx)) break;
    const holder = await readHolder(ctx);
    if (holder && holder.ageMs > ctx.staleLockMs && (await takeOver(ctx, holder))) break;
    if (holder && !announced) {
      announced = true;
      ctx.logger.info(
        { database: ctx.database, holder: holder.owner },
        `another runner holds the migration lock: ${describeHolder(holder)}; waiting`,
      );
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new MigrationError(
        `could not take the migration lock ${ctx.lock.text} within ${lockTimeoutMs} ms: held by ` +
          `${holder ? describeHolder(holder) : 'another runner'}. A lock older than ${ctx.staleLockMs} ms ` +
          `is taken over; if its holder is gone for sure, drop it sooner with DROP TABLE ${ctx.lock.text}.`,
        'MIGRATION_LOCK_TIMEOUT',
      );
    }
    // The last attempt is at the deadline, so a lock released just before it is still taken.
    await sleep(Math.min(backoffDelay(attempt, 250, 2_000, Math.random), remaining));
  }
  ctx.logger.info({ database: ctx.database, owner: ctx.owner }, 'migration lock taken');
}

/** The lock's owners; empty when the lock table is gone. */
async function lockOwners(ctx: Context): Promise<string[]> {
  try {
    const rows = await selectRows<{ owner: string }>(ctx.client, sql`SELECT owner FROM ${ctx.lock}`);
    return rows.map((r) => r.owner);
  } catch (err) {
    if (clickHouseErrorCode(err) === UNKNOWN_TABLE) return [];
    throw err;
  }
}

async function holdsLock(ctx: Context): Promise<boolean> {
  const owners = await lockOwners(ctx);
  return owners.length > 0 && owners.every((o) => o === ctx.owner);
}

async function assertHoldsLock(ctx: Context, before: Migration): Promise<void> {
  if (await holdsLock(ctx)) return;
  throw new MigrationError(
    `lost the migration lock ${ctx.lock.text} before ${migrationLabel(before)}: another runner took it ` +
      `over as stale (older than ${ctx.staleLockMs} ms). Stopped; rerun to continue.`,
    'MIGRATION_LOCK_LOST',
    { version: before.version },
  );
}

/** Drops the lock if it is still this runner's; never throws (it runs in a finally). */
async function releaseLock(ctx: Context): Promise<void> {
  try {
    if (await holdsLock(ctx)) {
      await ctx.client.command({ query: sql`DROP TABLE IF EXISTS ${ctx.lock}` });
      ctx.logger.info({ database: ctx.database }, 'migration lock released');
    } else {
      ctx.logger.warn({ database: ctx.database }, 'the migration lock is no longer ours; leaving it');
    }
  } catch (err) {
    ctx.logger.error(
      { database: ctx.database, err: serverMessage(err) },
      `could not drop the migration lock ${ctx.lock.text}; it is taken over once older than ${ctx.staleLockMs} ms`,
    );
  }
}

/** The latest attempt of every version; empty when schema_migrations does not exist yet. */
async function readRecorded(ctx: Context): Promise<Map<number, RecordedMigration>> {
  type Row = {
    version: number;
    last_attempt: number;
    last_name: string;
    last_status: string;
    last_checksum: string;
    last_error: string;
    last_runner: string;
    last_finished: number | string;
  };
  let rows: Row[];
  try {
    // Aliases differ from column names: ClickHouse aliases are global, and `argMax(status,
    // attempt) AS status` would refer to itself.
    rows = await selectRows<Row>(
      ctx.client,
      sql`SELECT version, max(attempt) AS last_attempt, argMax(name, attempt) AS last_name,
        argMax(status, attempt) AS last_status, argMax(checksum, attempt) AS last_checksum,
        argMax(error, attempt) AS last_error, argMax(runner, attempt) AS last_runner,
        toUnixTimestamp(argMax(finished_at, attempt)) AS last_finished
      FROM ${ctx.migrationsTable} GROUP BY version ORDER BY version`,
    );
  } catch (err) {
    if (clickHouseErrorCode(err) === UNKNOWN_TABLE) return new Map();
    throw err;
  }
  return new Map(
    rows.map((r) => [
      Number(r.version),
      {
        version: Number(r.version),
        name: r.last_name,
        status: r.last_status,
        checksum: r.last_checksum,
        error: r.last_error,
        attempt: Number(r.last_attempt),
        runner: r.last_runner,
        finishedAt: Number(r.last_finished),
      },
    ]),
  );
}

async function record(
  ctx: Context,
  m: Migration,
  attempt: number,
  outcome: { status: 'applied' | 'failed'; error: string; statements: number },
): Promise<void> {
  await ctx.client.insert({
    table: ctx.migrationsTable.text,
    values: [
      {
        version: m.version,
        name: m.name,
        checksum: m.checksum,
        status: outcome.status,
        error: outcome.error.slice(0, MAX_RECORDED_ERROR),
        statements: outcome.statements,
        attempt,
        finished_at: nowSeconds(),
        runner: ctx.owner,
      },
    ],
    format: 'JSONEachRow',
  });
}

async function runMigration(ctx: Context, m: Migration, attempt: number): Promise<void> {
  const started = Date.now();
  ctx.logger.info({ version: m.version, attempt, statements: m.statements.length }, `applying ${m.filename}`);
  for (const [i, statement] of m.statements.entries()) {
    try {
      await ctx.client.command({ query: statement });
    } catch (err) {
      const message = serverMessage(err);
      const failure = new MigrationError(
        `migration ${migrationLabel(m)} failed at statement ${i + 1} of ${m.statements.length}: ${message}\n` +
          'Later statements and migrations did not run. Fix the migration, then rerun with --retry-failed.',
        'MIGRATION_FAILED',
        { version: m.version, cause: err },
      );
      try {
        await record(ctx, m, attempt, { status: 'failed', error: message, statements: i });
      } catch (recordErr) {
        // The failure itself is what the operator needs; without the row the next run simply
        // tries the migration again.
        ctx.logger.error(
          { version: m.version, err: serverMessage(recordErr) },
          'could not record the failed migration',
        );
      }
      throw failure;
    }
  }
  await record(ctx, m, attempt, { status: 'applied', error: '', statements: m.statements.length });
  ctx.logger.info({ version: m.version, durationMs: Date.now() - started }, `applied ${m.filename}`);
}

/**
 * Applies the pending migrations to `database` (see the module comment for the rules), holding
 * the migration lock while it does. Returns what ran now and what had run before.
 */
export async function migrate(options: MigrateOptions): Promise<MigrationReport> {
  const { database, logger } = options;
  const owner = options.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const databaseId = sqlIdentifier(database);

  await options.client.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${databaseId}` });
  // Unqualified names in migrations land in the client's default database, so it must be this one.
  const opened = options.connection
    ? createClickHouse({ ...options.connection, database, logger })
    : undefined;
  if (!opened) {
    const [current] = await selectRows<{ db: string }>(options.client, 'SELECT currentDatabase() AS db');
    if (current?.db !== database) {
      throw new MigrationError(
        `the client's default database is ${current?.db}, not ${database}: pass \`connection\` so that ` +
          `migrate can open a client on ${database}, where the migrations' unqualified names must land`,
        'MIGRATION_CLIENT_DATABASE',
      );
    }
  }

  const ctx: Context = {
    client: opened ?? options.client,
    database,
    owner,
    logger,
    lock: sqlTable(database, LOCK_TABLE),
    migrationsTable: sqlTable(database, MIGRATIONS_TABLE),
    staleLockMs: options.staleLockMs ?? DEFAULT_STALE_LOCK_MS,
  };
  const retryFailed = options.retryFailed ?? false;
  const versions = (ms: readonly Migration[]): number[] => ms.map((m) => m.version);
  try {
    // Applied is final, so when everything is applied already there is nothing to lock for:
    // replicas starting together do not queue behind each other. Anything else (pending work,
    // a refusal) is decided again under the lock, where the state cannot change underneath.
    try {
      const early = planMigrations(options.migrations, await readRecorded(ctx), retryFailed);
      if (early.pending.length === 0) {
        logger.info(
          { database, alreadyApplied: early.alreadyApplied.length },
          'all migrations applied already',
        );
        return { applied: [], alreadyApplied: versions(early.alreadyApplied) };
      }
    } catch (err) {
      if (!(err instanceof MigrationError)) throw err;
    }

    await acquireLock(ctx, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    try {
      await ctx.client.command({
        query: sql`CREATE TABLE IF NOT EXISTS ${ctx.migrationsTable} (
          version UInt32, name String, checksum String, status String, error String, statements UInt32,
          attempt UInt32, finished_at DateTime, runner String
        ) ENGINE = ReplacingMergeTree(attempt) ORDER BY version`,
      });
      // Another runner may have applied everything while this one waited for the lock.
      const recorded = await readRecorded(ctx);
      const plan = planMigrations(options.migrations, recorded, retryFailed);
      if (plan.unknownApplied.length > 0) {
        logger.warn(
          { database, versions: plan.unknownApplied },
          'schema_migrations records applied migrations that have no file here (an older checkout?)',
        );
      }
      const applied: number[] = [];
      for (const m of plan.pending) {
        await assertHoldsLock(ctx, m);
        await runMigration(ctx, m, (recorded.get(m.version)?.attempt ?? 0) + 1);
        applied.push(m.version);
      }
      return { applied, alreadyApplied: versions(plan.alreadyApplied) };
    } finally {
      await releaseLock(ctx);
    }
  } finally {
    await opened?.close();
  }
}
