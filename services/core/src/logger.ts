/**
 * JSON logging with pino. Every line carries the service and instance. What could hold a message
 * body or a subscriber number is censored here, as a second line of defence (the first is never
 * to log them): private fields at any depth, in any casing and inside arrays, and E.164 numbers
 * (`+` and 8 to 15 digits) and URL credentials (`scheme://user:password@`) in any string,
 * messages and error texts included.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Field names that may carry message text or a subscriber's number, compared without case, `_` or `-`. */
export const PRIVATE_FIELDS: readonly string[] = [
  'body',
  'text',
  'recipient',
  'recipientAddress',
  'msisdn',
  'subscriber',
  'phoneNumber',
];
export const REDACTION_CENSOR = '[redacted]';
/** What an E.164 number in a string becomes. */
export const NUMBER_CENSOR = '+[number]';

const fieldKey = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
const PRIVATE = new Set(PRIVATE_FIELDS.map(fieldKey));
const E164 = /\+[\s(]*\d(?:[\s().-]*\d){7,14}/g;
/** The user-information part of a URL: `https://user:password@host` keeps only its scheme and host. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;
/** Deeper than this, a value is not walked but replaced (cycles end here too). */
const MAX_DEPTH = 8;

/** `text` with every E.164 number and URL credential in it censored. */
export function censorText(text: string): string {
  return text.replace(E164, NUMBER_CENSOR).replace(URL_CREDENTIALS, '$1[credentials]@');
}

/** A copy of `value` fit to log: private fields censored at any depth, numbers in strings too. */
export function redactForLog(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return censorText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redactForLog(v, depth + 1));
  const source: Record<string, unknown> =
    value instanceof Error
      ? { type: value.name, message: value.message, stack: value.stack, ...(value as object) }
      : (value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(source)) {
    out[key] = PRIVATE.has(fieldKey(key)) ? REDACTION_CENSOR : redactForLog(v, depth + 1);
  }
  return out;
}

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
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactForLog(object) as Record<string, unknown>,
      },
      serializers: { msg: (msg: unknown) => (typeof msg === 'string' ? censorText(msg) : msg) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
