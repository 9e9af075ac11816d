/**
 * spamgate's error hierarchy. Every error has a stable `name`, a machine-readable `code`,
 * a `retriable` flag that retry and crash logic branch on, and a `badInput` flag that says the
 * record being processed is at fault, not the service: the one rule by which every service
 * dead-letters a record (isBadInput, dead-letter.ts). The original error, if any, is `cause`.
 */
export interface SpamgateErrorOptions {
  readonly code: string;
  readonly retriable?: boolean;
  /** The record is malformed, absurd or refused: dead-letter it and go on. Default false. */
  readonly badInput?: boolean;
  readonly cause?: unknown;
}

export class SpamgateError extends Error {
  override name = 'SpamgateError';
  readonly code: string;
  readonly retriable: boolean;
  readonly badInput: boolean;

  constructor(message: string, options: SpamgateErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retriable = options.retriable ?? false;
    this.badInput = options.badInput ?? false;
  }
}

/** One problem with one configuration variable. */
export interface ConfigProblem {
  readonly variable: string;
  readonly value: string | undefined;
  readonly expected: string;
}

/** Configuration could not be loaded; `problems` lists every bad variable at once. */
export class ConfigError extends SpamgateError {
  override name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(
      (p) =>
        `  ${p.variable}: ${p.value === undefined ? 'is not set' : `got ${JSON.stringify(p.value)}`}, expected ${p.expected}`,
    );
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        code: 'CONFIG_INVALID',
      },
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** A value cannot be written as a ClickHouse SQL literal (NaN, a lone UTF-16 surrogate, ...). */
export class SqlValueError extends SpamgateError {
  override name = 'SqlValueError';
  constructor(message: string) {
    super(message, { code: 'SQL_VALUE_INVALID' });
  }
}

/** A server did not become reachable within the allowed time. */
export class ConnectTimeoutError extends SpamgateError {
  override name = 'ConnectTimeoutError';
  constructor(what: string, timeoutMs: number, cause?: unknown) {
    super(`${what} not reachable within ${timeoutMs} ms`, {
      code: 'CONNECT_TIMEOUT',
      retriable: true,
      cause,
    });
  }
}

/** Graceful shutdown did not finish within its bound. */
export class ShutdownTimeoutError extends SpamgateError {
  override name = 'ShutdownTimeoutError';
  constructor(timeoutMs: number, pending: readonly string[]) {
    super(`shutdown did not finish within ${timeoutMs} ms; still waiting for: ${pending.join(', ')}`, {
      code: 'SHUTDOWN_TIMEOUT',
    });
  }
}

/** Returns a short, log-safe description of any thrown value. */
export function describeError(err: unknown): { name: string; code?: string; message: string } {
  if (err instanceof SpamgateError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: err.name, code, message: err.message }
      : { name: err.name, message: err.message };
  }
  return { name: 'NonError', message: String(err) };
}
