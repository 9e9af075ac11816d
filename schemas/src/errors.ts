import { SpamgateError } from '@spamgate/core';

export const DECODE_ERROR_CODES = [
  'EMPTY',
  'BAD_MARKER',
  'TRUNCATED',
  'TOO_LARGE',
  'BAD_LENGTH',
  'UNKNOWN_FINGERPRINT',
  'INCOMPATIBLE_WRITER',
  'WRONG_RECORD',
  'BODY_INVALID',
  'TRAILING_BYTES',
] as const;
export type DecodeErrorCode = (typeof DECODE_ERROR_CODES)[number];

/**
 * Bytes that are not a record of the expected schema. Never retriable: the same bytes fail the
 * same way, so a consumer sends them to the dead-letter topic and moves on.
 */
export class SchemaDecodeError extends SpamgateError {
  override name = 'SchemaDecodeError';
  override readonly code: DecodeErrorCode;
  readonly record: string;

  constructor(record: string, code: DecodeErrorCode, message: string, cause?: unknown) {
    super(`cannot decode ${record}: ${message}`, { code, retriable: false, badInput: true, cause });
    this.code = code;
    this.record = record;
  }
}

/** A value that does not fit its schema (a missing field, a number out of range, a wrong type). */
export class SchemaEncodeError extends SpamgateError {
  override name = 'SchemaEncodeError';
  readonly record: string;
  readonly paths: readonly string[];

  constructor(record: string, paths: readonly string[]) {
    super(`value is not a valid ${record}: invalid at ${paths.join(', ') || '(root)'}`, {
      code: 'VALUE_INVALID',
      retriable: false,
    });
    this.record = record;
    this.paths = paths;
  }
}

export const LEARN_ERROR_CODES = ['SCHEMA_INVALID', 'UNKNOWN_RECORD', 'INCOMPATIBLE', 'UNSAFE'] as const;
export type LearnErrorCode = (typeof LEARN_ERROR_CODES)[number];

/**
 * A writer schema learned at run time (from spamgate.schemas) that this release cannot read:
 * not an Avro record schema, a record it does not have, a change its schema cannot resolve, or
 * bodies that cannot be bounded (UNSAFE: a type that contains itself, items that take no bytes).
 * Never retriable: the same schema is refused the same way; bytes written with it fail to
 * decode with INCOMPATIBLE_WRITER.
 */
export class SchemaLearnError extends SpamgateError {
  override name = 'SchemaLearnError';
  override readonly code: LearnErrorCode;
  /** Fingerprint (16 hex digits) of the refused schema; undefined when it did not even parse. */
  readonly fingerprint: string | undefined;

  constructor(code: LearnErrorCode, fingerprint: string | undefined, message: string, cause?: unknown) {
    super(`writer schema${fingerprint ? ` ${fingerprint}` : ''} refused: ${message}`, {
      code,
      retriable: false,
      cause,
    });
    this.code = code;
    this.fingerprint = fingerprint;
  }
}
