import { SpamgateError } from '@spamgate/core';

export const DECODE_ERROR_CODES = [
  'EMPTY',
  'BAD_MARKER',
  'TRUNCATED',
  'UNKNOWN_FINGERPRINT',
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
    super(`cannot decode ${record}: ${message}`, { code, retriable: false, cause });
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
