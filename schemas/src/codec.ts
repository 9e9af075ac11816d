/**
 * Avro single-object encoding (Avro specification, "Single-object encoding"):
 *   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | binary body
 * Any Avro library can read it without a schema registry. Decoding finds the writer schema by
 * its fingerprint among every known version and resolves it to the current (reader) schema.
 * Known versions are the current and released ones of this release, and the newer writers'
 * schemas learned at run time (`learn`, fed from the topic spamgate.schemas). Bytes from outside
 * are bounded before avsc reads them: a size limit, then every length and count (bounds.ts).
 */
import avro from 'avsc';
import { type BodyCheck, BoundsViolation, bodyCheck, unsafeParts } from './bounds.ts';
import { SchemaDecodeError, SchemaEncodeError, SchemaLearnError } from './errors.ts';
import { fingerprintBytes } from './fingerprint.ts';
import type { RecordName, Records } from './generated/types.ts';
import { loadCurrentSchemas, loadHistory, type SchemaVersion } from './registry.ts';

export const MARKER = Buffer.from([0xc3, 0x01]);
const HEADER = MARKER.length + 8;

/**
 * The largest record any spamgate topic carries, in bytes (header included); a larger one is
 * refused unread (TOO_LARGE). About 250 times the largest record spamgate writes, and room for a
 * message body of 255 concatenated segments in 4-byte UTF-8; it bounds what a decode allocates.
 */
export const MAX_RECORD_BYTES = 256 * 1024;

/** The longest writer schema `learn` reads, as JSON text; spamgate's own are under 11 KiB. */
export const MAX_SCHEMA_CHARS = 64 * 1024;

interface WriterEntry {
  readonly writer: SchemaVersion;
  /** Resolver from this writer to the current schema of the same record; undefined if identical. */
  readonly resolver: avro.Resolver | undefined;
  /** Bounds every length and count of a body before avsc reads it; undefined when none can lie. */
  readonly check: BodyCheck | undefined;
}

/** A writer schema `learn` accepted (or already knew). */
export interface LearnedSchema {
  /** Record name without namespace. */
  readonly record: string;
  /** 16 hex digits. */
  readonly fingerprint: string;
  /** False when the schema was known already (a version of this release, or learned before). */
  readonly added: boolean;
}

export interface Codec {
  encode<K extends RecordName>(record: K, value: Records[K]): Buffer;
  decode<K extends RecordName>(record: K, bytes: Buffer): Records[K];
  /** The record name and version that wrote these bytes, without decoding the body. */
  identify(bytes: Buffer): { record: string; version: SchemaVersion['version'] } | undefined;
  /** Current schema of a record. */
  schema(record: RecordName): SchemaVersion;
  /**
   * The fingerprint (16 hex digits) of single-object encoded bytes whose writer schema this codec
   * neither knows nor has refused; undefined otherwise (known, refused, or not single-object
   * encoded). What tells a reader to look for a newer writer's schema, without decoding.
   */
  unknownFingerprint(bytes: Buffer): string | undefined;
  /**
   * Adds a writer schema (its JSON text, or the parsed JSON) at run time: a newer release's
   * version of a record this release has, which resolves to the current schema (a field added
   * with a default, a new enum symbol where the enum has a default, ...) and whose bodies can be
   * bounded. Throws SchemaLearnError for anything else, and remembers the refusal: bytes written with a refused
   * schema fail to decode with INCOMPATIBLE_WRITER instead of UNKNOWN_FINGERPRINT.
   */
  learn(schema: string | Readonly<Record<string, unknown>>): LearnedSchema;
}

export function createCodec(
  current: ReadonlyMap<string, SchemaVersion> = loadCurrentSchemas(),
  history: ReadonlyMap<string, readonly SchemaVersion[]> = loadHistory(),
): Codec {
  const writers = new Map<string, WriterEntry>();
  /** Writer schemas `learn` refused, by fingerprint: why their bytes cannot be read. */
  const refused = new Map<string, SchemaLearnError>();
  /** Where encode writes a record before copying it out; grown to fit the largest one. */
  let scratch = Buffer.allocUnsafe(64 * 1024);
  /** The fingerprint unknownFingerprint last found known (writers are never forgotten). */
  let lastKnown: Buffer | undefined;
  const add = (writer: SchemaVersion) => {
    const key = writer.fingerprint.toString('hex');
    if (writers.has(key)) return; // the current schema equals its last release
    const reader = current.get(writer.record);
    if (!reader) return; // a record that no longer exists is not readable
    const resolver = writer.fingerprint.equals(reader.fingerprint)
      ? undefined
      : reader.type.createResolver(writer.type);
    // A release's schema that cannot be bounded is a defect of this release: fail at start.
    writers.set(key, { writer, resolver, check: bodyCheck(writer.type) });
  };
  for (const v of current.values()) add(v);
  for (const versions of history.values()) for (const v of versions) add(v);

  function schema(record: string): SchemaVersion {
    const s = current.get(record);
    if (!s) throw new Error(`unknown record ${record}`);
    return s;
  }

  function parseWriter(text: string | Readonly<Record<string, unknown>>): {
    schema: Readonly<Record<string, unknown>>;
    type: avro.Type;
    fingerprint: Buffer;
  } {
    if (typeof text === 'string' && text.length > MAX_SCHEMA_CHARS) {
      throw new SchemaLearnError('SCHEMA_INVALID', undefined, `longer than ${MAX_SCHEMA_CHARS} characters`);
    }
    let parsed: unknown;
    try {
      parsed = typeof text === 'string' ? JSON.parse(text) : text;
    } catch (err) {
      throw new SchemaLearnError('SCHEMA_INVALID', undefined, 'not JSON', err);
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as { type?: unknown }).type !== 'record') {
      throw new SchemaLearnError('SCHEMA_INVALID', undefined, 'not an Avro record schema');
    }
    try {
      const type = avro.Type.forSchema(parsed as avro.Schema);
      return { schema: parsed as Record<string, unknown>, type, fingerprint: fingerprintBytes(parsed) };
    } catch (err) {
      throw new SchemaLearnError(
        'SCHEMA_INVALID',
        undefined,
        `not a valid Avro schema: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
  }

  function learn(text: string | Readonly<Record<string, unknown>>): LearnedSchema {
    const { schema: parsed, type, fingerprint } = parseWriter(text);
    const fp = fingerprint.toString('hex');
    const known = writers.get(fp);
    if (known) return { record: known.writer.record, fingerprint: fp, added: false };
    const refusal = refused.get(fp);
    if (refusal) throw refusal;
    const refuse = (code: 'UNKNOWN_RECORD' | 'INCOMPATIBLE' | 'UNSAFE', message: string, cause?: unknown) => {
      const err = new SchemaLearnError(code, fp, message, cause);
      refused.set(fp, err);
      return err;
    };
    // By full name (namespace included), as Avro resolution matches named types.
    const reader = [...current.values()].find((s) => s.type.name === type.name);
    if (!reader) throw refuse('UNKNOWN_RECORD', `${type.name} is not a record this release has`);
    const unsafe = unsafeParts(type);
    if (unsafe.length > 0) throw refuse('UNSAFE', `its bodies cannot be bounded: ${unsafe.join('; ')}`);
    let resolver: avro.Resolver;
    try {
      resolver = reader.type.createResolver(type);
    } catch (err) {
      throw refuse(
        'INCOMPATIBLE',
        `${type.name} does not resolve to the current ${reader.record}: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
    const writer: SchemaVersion = Object.freeze({
      record: reader.record,
      version: 'learned',
      schema: parsed,
      type,
      fingerprint,
    });
    writers.set(fp, { writer, resolver, check: bodyCheck(type) });
    return { record: reader.record, fingerprint: fp, added: true };
  }

  return {
    schema,
    encode(record, value) {
      const s = schema(record);
      // Written once, after the header, into a scratch buffer grown to fit: avsc's writers check
      // every value they write, so the path-by-path check runs only to explain a refusal.
      let end: number;
      try {
        end = s.type.encode(value, scratch, HEADER);
        if (end < 0) {
          // avsc returns minus the bytes that did not fit.
          scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
          end = s.type.encode(value, scratch, HEADER);
        }
      } catch {
        end = -1;
      }
      const paths: string[] = [];
      if (end < 0) {
        s.type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
        throw new SchemaEncodeError(record, paths);
      }
      const out = Buffer.allocUnsafe(end);
      MARKER.copy(out, 0);
      s.fingerprint.copy(out, MARKER.length);
      scratch.copy(out, HEADER, HEADER, end);
      return out;
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
      if (bytes.length > MAX_RECORD_BYTES) {
        throw new SchemaDecodeError(record, 'TOO_LARGE', `${bytes.length} bytes, over ${MAX_RECORD_BYTES}`);
      }
      const fp = bytes.subarray(MARKER.length, HEADER).toString('hex');
      const entry = writers.get(fp);
      if (!entry) {
        const refusal = refused.get(fp);
        if (refusal) throw new SchemaDecodeError(record, 'INCOMPATIBLE_WRITER', refusal.message, refusal);
        throw new SchemaDecodeError(record, 'UNKNOWN_FINGERPRINT', `no known schema has fingerprint ${fp}`);
      }
      if (entry.writer.record !== record) {
        throw new SchemaDecodeError(record, 'WRONG_RECORD', `bytes hold a ${entry.writer.record}`);
      }
      const reader = schema(record);
      if (entry.check) {
        try {
          entry.check(bytes, HEADER);
        } catch (err) {
          if (!(err instanceof BoundsViolation)) throw err;
          throw new SchemaDecodeError(record, err.code, err.message, err);
        }
      }
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
    learn,
    unknownFingerprint(bytes) {
      if (bytes.length < HEADER || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return undefined;
      // Called for every record before decoding: a run of one writer costs a compare, not a lookup.
      if (lastKnown && bytes.compare(lastKnown, 0, 8, MARKER.length, HEADER) === 0) return undefined;
      const fp = bytes.subarray(MARKER.length, HEADER).toString('hex');
      if (refused.has(fp)) return undefined;
      if (!writers.has(fp)) return fp;
      lastKnown = Buffer.from(bytes.subarray(MARKER.length, HEADER));
      return undefined;
    },
    identify(bytes) {
      if (bytes.length < HEADER || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return undefined;
      const entry = writers.get(bytes.subarray(MARKER.length, HEADER).toString('hex'));
      return entry ? { record: entry.writer.record, version: entry.writer.version } : undefined;
    },
  };
}
