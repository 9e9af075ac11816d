/**
 * JSON logging with pino. Every line carries the service and instance; fields that could hold
 * a message body or a subscriber number are censored here as a second line of defence (the
 * first is never to log them).
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Field names that may carry message text or a subscriber's number, at any of the first two levels. */
const PRIVATE_FIELDS = ['body', 'text', 'recipient', 'recipientAddress', 'msisdn', 'subscriber'] as const;
export const REDACTED_PATHS: readonly string[] = PRIVATE_FIELDS.flatMap((f) => [f, `*.${f}`]);
export const REDACTION_CENSOR = '[redacted]';

export interface LoggerOptions {
  readonly service: string;
  readonly instanceId: string;
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, instance: options.instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS], censor: REDACTION_CENSOR },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
