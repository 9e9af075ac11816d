/**
 * Avro single-object encoding (Avro specification, "Single-object encoding"):
 *   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | binary body
 * Any Avro library can read it without a schema registry. Decoding finds the writer schema by
 * its fingerprint among every known version and resolves it to the current (reader) schema.
 */
import type avro from 'avsc';
import { SchemaDecodeError, SchemaEncodeError } from './errors.ts';
import type { RecordName, Records } from './generated/types.ts';
import { loadCurrentSchemas, loadHistory, type SchemaVersion } from './registry.ts';

export const MARKER = Buffer.from([0xc3, 0x01]);
const HEADER = MARKER.length + 8;

interface WriterEntry {
  readonly writer: SchemaVersion;
  /** Resolver from this writer to the current schema of the same record; undefined if identical. */
  readonly resolver: avro.Resolver | undefined;
}

export interface Codec {
  encode<K extends RecordName>(record: K, value: Records[K]): Buffer;
  decode<K extends RecordName>(record: K, bytes: Buffer): Records[K];
  /** The record name and version that wrote these bytes, without decoding the body. */
  identify(bytes: Buffer): { record: string; version: number | 'current' } | undefined;
  /** Current schema of a record. */
  schema(record: RecordName): SchemaVersion;
}

export function createCodec(
  current: ReadonlyMap<string, SchemaVersion> = loadCurrentSchemas(),
  history: ReadonlyMap<string, readonly SchemaVersion[]> = loadHistory(),
): Codec {
  const writers = new Map<string, WriterEntry>();
  const add = (writer: SchemaVersion) => {
    const key = writer.fingerprint.toString('hex');
    if (writers.has(key)) return; // the current schema equals its last release
    const reader = current.get(writer.record);
    if (!reader) return; // a record that no longer exists is not readable
    const resolver = writer.fingerprint.equals(reader.fingerprint)
      ? undefined
      : reader.type.createResolver(writer.type);
    writers.set(key, { writer, resolver });
  };
  for (const v of current.values()) add(v);
  for (const versions of history.values()) for (const v of versions) add(v);

  function schema(record: string): SchemaVersion {
    const s = current.get(record);
    if (!s) throw new Error(`unknown record ${record}`);
    return s;
  }

  return {
    schema,
    encode(record, value) {
      const s = schema(record);
      const paths: string[] = [];
      if (!s.type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) })) {
        throw new SchemaEncodeError(record, paths);
      }
      return Buffer.concat([MARKER, s.fingerprint, s.type.toBuffer(value)]);
    },
    decode(record, bytes) {
      if (bytes.length === 0) throw new SchemaDecodeError(record, 'EMPTY', 'no bytes');
      if (bytes.length < MARKER.length || bytes[0] !== 0xc3 || bytes[1] !== 0x01) {
        throw new SchemaDecodeError(
          record,
          'BAD_MARKER',
          'does not start with the single-object marker C3 01',
        );
      }
      if (bytes.length < HEADER)
        throw new SchemaDecodeError(record, 'TRUNCATED', 'shorter than the 10-byte header');
      const fp = bytes.subarray(MARKER.length, HEADER).toString('hex');
      const entry = writers.get(fp);
      if (!entry)
        throw new SchemaDecodeError(record, 'UNKNOWN_FINGERPRINT', `no known schema has fingerprint ${fp}`);
      if (entry.writer.record !== record) {
        throw new SchemaDecodeError(record, 'WRONG_RECORD', `bytes hold a ${entry.writer.record}`);
      }
      const reader = schema(record);
      let result: { value: unknown; offset: number };
      try {
        result = reader.type.decode(bytes, HEADER, entry.resolver) as { value: unknown; offset: number };
      } catch (err) {
        throw new SchemaDecodeError(
          record,
          'BODY_INVALID',
          err instanceof Error ? err.message : String(err),
          err,
        );
      }
      if (result.offset < 0) throw new SchemaDecodeError(record, 'TRUNCATED', 'the body ends early');
      if (result.offset !== bytes.length) {
        throw new SchemaDecodeError(
          record,
          'TRAILING_BYTES',
          `${bytes.length - result.offset} bytes after the body`,
        );
      }
      return result.value as Records[typeof record];
    },
    identify(bytes) {
      if (bytes.length < HEADER || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return undefined;
      const entry = writers.get(bytes.subarray(MARKER.length, HEADER).toString('hex'));
      return entry ? { record: entry.writer.record, version: entry.writer.version } : undefined;
    },
  };
}
