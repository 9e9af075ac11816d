import { SpamgateError } from '@spamgate/core';

/** Machine-readable reasons a sketch refuses an operation. */
export type SketchErrorCode =
  /** A precision outside MIN_PRECISION..MAX_PRECISION, or not an integer. */
  | 'SKETCH_PRECISION_INVALID'
  /** Two counters of different precision were merged. */
  | 'SKETCH_PRECISION_MISMATCH'
  /** Serialized bytes are truncated, corrupt or of an unknown format version. */
  | 'SKETCH_BYTES_INVALID';

/** A sketch operation was refused. Never retriable: the same input fails the same way. */
export class SketchError extends SpamgateError {
  override name = 'SketchError';
  declare readonly code: SketchErrorCode;

  constructor(message: string, code: SketchErrorCode) {
    super(message, { code });
  }
}
