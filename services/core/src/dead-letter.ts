/**
 * The dead-letter record of a Kafka record a service could not process, with the typed error
 * that says why and where the record is, but not what it held: the fields of the Avro
 * `DeadLetter` record (schemas/avro/DeadLetter.avsc), written to sms.dead-letters.
 */
import { createHash } from 'node:crypto';
import { describeError, SpamgateError } from './errors.ts';
import type { SubscriberHasher } from './privacy.ts';

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
  /** Always null: a dead letter never holds the record's key (it may be a subscriber's number). */
  key: null;
  /** Always null: a dead letter never holds the record's value (it may hold a message body). */
  value: null;
  errorClass: string;
  errorCode: string;
  errorMessage: string;
  service: string;
  failedAt: number;
  /** The key's keyed hash (the subscriber hasher's, so it joins recipient hashes); null without a key. */
  keyHash: string | null;
  valueBytes: number;
  /** Hex SHA-256 of the value, to match it at its topic, partition and offset; null without one. */
  valueSha256: string | null;
  /** The 16 hex digits after C3 01 when the value is single-object encoded; null otherwise. */
  writerFingerprint: string | null;
}

/** The errorMessage cap: the message says what is wrong, never what the record held. */
const MAX_ERROR_MESSAGE = 2_000;

/**
 * The dead letter of `source`, failed with `err`: where the record is, why it failed, and keyed
 * hashes, never its bytes (ARCHITECTURE.md, "Threat model"; README, "Privacy"). Who may read the
 * input topics reads the record itself at its topic, partition and offset.
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
  hasher: SubscriberHasher,
): DeadLetterFields {
  const e = describeError(err);
  const { key, value } = source;
  return {
    originalTopic: source.topic,
    originalPartition: source.partition,
    originalOffset: Number(source.offset),
    key: null,
    value: null,
    errorClass: e.name,
    errorCode: e.code ?? 'UNKNOWN',
    errorMessage: e.message.slice(0, MAX_ERROR_MESSAGE),
    service,
    failedAt,
    keyHash: key === null ? null : hasher.hash(key.toString('utf8')),
    valueBytes: value?.length ?? 0,
    valueSha256: value === null ? null : createHash('sha256').update(value).digest('hex'),
    writerFingerprint: writerFingerprintOf(value),
  };
}

/** The writer fingerprint of a single-object encoded value (C3 01, then 8 bytes), as 16 hex digits. */
export function writerFingerprintOf(value: Buffer | null): string | null {
  if (value === null || value.length < 10 || value[0] !== 0xc3 || value[1] !== 0x01) return null;
  return value.subarray(2, 10).toString('hex');
}
