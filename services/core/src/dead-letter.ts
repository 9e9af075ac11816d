/**
 * The dead-letter record of a Kafka record a service could not process, with the typed error
 * that says why: the fields of the Avro `DeadLetter` record (schemas/avro/DeadLetter.avsc),
 * which the service encodes and writes to sms.dead-letters.
 */
import { describeError, SpamgateError } from './errors.ts';

/**
 * The dead-letter policy of every service: a record goes to sms.dead-letters when processing it
 * failed because of the record itself (an error made with `badInput`: bytes that do not decode,
 * absurd values, an address or time that cannot be, rows ClickHouse refuses); any other error is
 * the service's, and it fails the batch so that nothing acknowledged is lost.
 */
export function isBadInput(err: unknown): err is SpamgateError {
  return err instanceof SpamgateError && err.badInput;
}

/**
 * The most of a bad record a dead letter keeps: a larger key or value is left out (null) and the
 * message says where to read it (topic, partition, offset). A dead letter must stay writable and
 * readable whatever came in: the broker refuses records over max.message.bytes (1 MiB by
 * default), and every reader refuses records over the contract's MAX_RECORD_BYTES (256 KiB).
 */
export const DEAD_LETTER_MAX_KEY_BYTES = 4 * 1024;
export const DEAD_LETTER_MAX_VALUE_BYTES = 64 * 1024;

export interface DeadLetterFields {
  originalTopic: string;
  originalPartition: number;
  originalOffset: number;
  key: Buffer | null;
  value: Buffer | null;
  errorClass: string;
  errorCode: string;
  errorMessage: string;
  service: string;
  failedAt: number;
}

/**
 * The dead letter of `source`, failed with `err`. Its `key` (capped as above) is also the key the
 * dead letter is written with.
 */
export function deadLetterOf(
  source: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
    readonly key: Buffer | null;
    readonly value: Buffer | null;
  },
  err: unknown,
  service: string,
  failedAt: number,
): DeadLetterFields {
  const e = describeError(err);
  const left: string[] = [];
  const keep = (bytes: Buffer | null, max: number, what: string): Buffer | null => {
    if (bytes === null || bytes.length <= max) return bytes;
    left.push(`${what} of ${bytes.length} bytes`);
    return null;
  };
  const key = keep(source.key, DEAD_LETTER_MAX_KEY_BYTES, 'key');
  const value = keep(source.value, DEAD_LETTER_MAX_VALUE_BYTES, 'value');
  const note =
    left.length === 0
      ? ''
      : ` [${left.join(' and ')} not kept: read it at ${source.topic}/${source.partition}@${source.offset}]`;
  return {
    originalTopic: source.topic,
    originalPartition: source.partition,
    originalOffset: Number(source.offset),
    key,
    value,
    errorClass: e.name,
    errorCode: e.code ?? 'UNKNOWN',
    errorMessage: e.message.slice(0, 2_000 - note.length) + note,
    service,
    failedAt,
  };
}
