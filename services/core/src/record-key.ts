/**
 * Record keys as the contract states them: every keyed topic is keyed by a field of its value
 * (the sender, the cluster id, the override's target), and partitions, compaction and joins go by
 * the key. A record whose key is not that field would be counted under another key's partition:
 * a mis-keyed feed splits one sender's traffic, and undercounts it. Every service refuses it.
 */
import { SpamgateError } from './errors.ts';

/** A record whose key is not the field its topic is keyed by (KEY_MISMATCH): a dead letter. */
export class KeyMismatchError extends SpamgateError {
  override name = 'KeyMismatchError';
  constructor(record: string, field: string, key: string | null) {
    // Not the key itself: it may be a subscriber's number, and this message is logged and stored.
    const shown = key === null ? 'no key' : `a key of ${key.length} characters other than its ${field}`;
    super(`${record} has ${shown}, but its topic is keyed by its ${field}`, {
      code: 'KEY_MISMATCH',
      retriable: false,
      badInput: true,
    });
  }
}

/**
 * Throws KeyMismatchError unless `key` (the record's key as UTF-8, or its bytes) is `expected`,
 * the value of the field `field` of the record `record`.
 */
export function checkRecordKey(
  record: string,
  field: string,
  key: Buffer | string | null,
  expected: string,
): void {
  const actual = key === null || typeof key === 'string' ? key : key.toString('utf8');
  if (actual !== expected) throw new KeyMismatchError(record, field, actual);
}
