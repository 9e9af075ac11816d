/**
 * The changelog record of which hash key a partition's state is under, and what a start does with
 * it: carry on, begin or carry on a rotation, or refuse. Pure; the shell reads and writes the
 * record (feature-engine.ts). docs/key-rotation.md has the procedure.
 */
import { HashKeyMismatchError, HashKeyRotationError, StateCodecError } from '@spamgate/core';

/** The key ids (hashKeyId) a partition's state is under. */
export interface KeyRecord {
  /** The key everything written now is under. */
  readonly key: string;
  /** During a rotation: the key it replaces, some state still under it, and when it began (the watermark then). */
  readonly previous?: string;
  readonly sinceMs?: number;
}

const KEY_ID = /^[0-9a-f]{16}$/;

/** The record's bytes: the bare id outside a rotation (as before rotations), JSON during one. */
export function encodeKeyRecord(record: KeyRecord): Buffer {
  if (record.previous === undefined) return Buffer.from(record.key, 'utf8');
  return Buffer.from(
    JSON.stringify({ key: record.key, previous: record.previous, sinceMs: record.sinceMs }),
    'utf8',
  );
}

export function decodeKeyRecord(bytes: Uint8Array): KeyRecord {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (KEY_ID.test(text)) return { key: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StateCodecError('hash key record is neither a key id nor JSON');
  }
  const r = parsed as Partial<Record<keyof KeyRecord, unknown>>;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.key !== 'string' ||
    !KEY_ID.test(r.key) ||
    typeof r.previous !== 'string' ||
    !KEY_ID.test(r.previous) ||
    typeof r.sinceMs !== 'number' ||
    !Number.isSafeInteger(r.sinceMs)
  )
    throw new StateCodecError('hash key record of a rotation is malformed');
  return { key: r.key, previous: r.previous, sinceMs: r.sinceMs };
}

/** A key id's tag (privacy.ts hashKeyTag): its first four hex digits. */
export const tagOfKeyId = (id: string): number => Number.parseInt(id.slice(0, 4), 16);

/** What a partition starts with: the record to hold (written when it differs), and the rotation under way. */
export interface KeyStart {
  readonly record: KeyRecord;
  /** When the rotation under way began; undefined when none is. */
  readonly rotationSinceMs: number | undefined;
}

/**
 * Decides a partition's start from its stored record, the configured key (`current`), the
 * previous key when SPAMGATE_PREVIOUS_HASH_KEY is set, and the restored watermark (when a
 * rotation begins). Throws HashKeyMismatchError for state under a key that is neither, and
 * HashKeyRotationError for a start that would strand state still under a previous key.
 */
export function decideKeyStart(
  where: string,
  stored: KeyRecord | undefined,
  current: string,
  previous: string | undefined,
  watermarkMs: number,
): KeyStart {
  const plain: KeyStart = { record: { key: current }, rotationSinceMs: undefined };
  if (stored === undefined) return plain;
  if (stored.previous === undefined) {
    if (stored.key === current) return plain;
    if (stored.key !== previous) throw new HashKeyMismatchError(where, stored.key, current);
    if (tagOfKeyId(current) === tagOfKeyId(previous))
      throw new HashKeyRotationError(
        `the new hash key ${current} and the previous one ${previous} share the tag books record: generate another new key`,
      );
    // Begins: what is under the previous key moves as it is seen, from the restored watermark on.
    const since = Number.isFinite(watermarkMs) ? watermarkMs : 0;
    return { record: { key: current, previous, sinceMs: since }, rotationSinceMs: since };
  }
  if (stored.key !== current) {
    throw new HashKeyRotationError(
      `${where} is in a rotation from hash key ${stored.previous} to ${stored.key}, not yet finished, but SPAMGATE_HASH_KEY is key ${current}: finish that rotation first`,
    );
  }
  if (previous === undefined) {
    throw new HashKeyRotationError(
      `${where} still holds opt-outs under hash key ${stored.previous}, which SPAMGATE_HASH_KEY ${current} replaces: keep SPAMGATE_PREVIOUS_HASH_KEY set to that key until the rotation finishes`,
    );
  }
  if (previous !== stored.previous) {
    throw new HashKeyRotationError(
      `${where} is in a rotation from hash key ${stored.previous}, but SPAMGATE_PREVIOUS_HASH_KEY is key ${previous}: set it to the key the rotation replaces`,
    );
  }
  return { record: stored, rotationSinceMs: stored.sinceMs ?? 0 };
}
