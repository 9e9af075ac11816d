/**
 * @clickhouse/client wired to spamgate's logger, plus helpers that hold on ClickHouse 18.16
 * (Debian's package, used here and in CI) and on current ClickHouse (docker-compose).
 */
import {
  type ClickHouseClient,
  type Logger as ClickHouseLogger,
  ClickHouseLogLevel,
  createClient,
} from '@clickhouse/client';
import { ConnectTimeoutError } from './errors.ts';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';

export type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Database for unqualified names; default `default`. */
  readonly database?: string;
  readonly logger: Logger;
  /** Per-request timeout; default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Application name in ClickHouse's query log. */
  readonly application?: string;
}

function loggerClass(logger: Logger): new () => ClickHouseLogger {
  const log = logger.child({ component: 'clickhouse-client' });
  return class implements ClickHouseLogger {
    trace(p: { module: string; message: string; args?: Record<string, unknown> }): void {
      log.trace({ module: p.module, ...p.args }, p.message);
    }
    debug(p: { module: string; message: string; args?: Record<string, unknown> }): void {
      log.debug({ module: p.module, ...p.args }, p.message);
    }
    info(p: { module: string; message: string; args?: Record<string, unknown> }): void {
      log.info({ module: p.module, ...p.args }, p.message);
    }
    warn(p: { module: string; message: string; args?: Record<string, unknown>; err?: Error }): void {
      log.warn({ module: p.module, ...p.args, err: p.err }, p.message);
    }
    // The client logs every failed request at ERROR, and the caller sees the same error
    // as a rejection; keep it at debug here so a retried failure is not logged twice.
    error(p: { module: string; message: string; args?: Record<string, unknown>; err: Error }): void {
      log.debug({ module: p.module, ...p.args, err: p.err }, p.message);
    }
  };
}

export function createClickHouse(options: ClickHouseOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    username: options.username ?? 'default',
    password: options.password ?? '',
    database: options.database ?? 'default',
    application: options.application ?? 'spamgate',
    request_timeout: options.requestTimeoutMs ?? 60_000,
    // ClickHouse 18.16 closes idle keep-alive sockets after 10 s (our config); reuse them for less.
    keep_alive: { enabled: true, idle_socket_ttl: 2_500 },
    log: { LoggerClass: loggerClass(options.logger), level: ClickHouseLogLevel.WARN },
  });
}

/**
 * The server's numeric error code, from either message style:
 * 18.16 "Code: 60, e.displayText() = DB::Exception: ..." or current "Code: 60. DB::Exception: ...".
 */
export function clickHouseErrorCode(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const message = (err as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const m = /Code: (\d+)[.,]/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Waits until `SELECT 1` succeeds; throws ConnectTimeoutError after timeoutMs. */
export async function waitForClickHouse(
  client: ClickHouseClient,
  options: { timeoutMs: number; logger?: Logger },
): Promise<string> {
  return retry(
    async () => {
      const rs = await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' });
      const rows = await rs.json<{ version: string }>();
      const version = rows[0]?.version;
      if (!version) throw new Error('SELECT version() returned no row');
      return version;
    },
    {
      deadline: Date.now() + options.timeoutMs,
      initialDelayMs: 250,
      maxDelayMs: 2_000,
      onRetry: (err, attempt) =>
        options.logger?.info({ attempt, err: String(err) }, 'clickhouse not ready yet'),
      onGiveUp: (err) => new ConnectTimeoutError('ClickHouse', options.timeoutMs, err),
    },
  );
}
