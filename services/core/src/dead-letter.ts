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
  return {
    originalTopic: source.topic,
    originalPartition: source.partition,
    originalOffset: Number(source.offset),
    key: source.key,
    value: source.value,
    errorClass: e.name,
    errorCode: e.code ?? 'UNKNOWN',
    errorMessage: e.message.slice(0, 2_000),
    service,
    failedAt,
  };
}
