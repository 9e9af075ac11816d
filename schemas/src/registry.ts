/**
 * The schemas spamgate knows: the current version of each record (schemas/avro/<Name>.avsc)
 * and every released version (schemas/history/<Name>/v<N>.avsc). Decoders accept any of them
 * as writer schema and resolve it to the current one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { fingerprintBytes } from './fingerprint.ts';

export const SCHEMAS_DIR = fileURLToPath(new URL('../', import.meta.url));

export interface SchemaVersion {
  /** Record name without namespace, e.g. MessageEvent. */
  readonly record: string;
  /**
   * Released version number, 'current' for the working copy, or 'learned' for a newer writer's
   * schema learned at run time (codec.learn, from spamgate.schemas).
   */
  readonly version: number | 'current' | 'learned';
  readonly schema: Readonly<Record<string, unknown>>;
  readonly type: avro.Type;
  /** 8-byte little-endian CRC-64-AVRO fingerprint. */
  readonly fingerprint: Buffer;
}

function load(path: string, record: string, version: number | 'current'): SchemaVersion {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (schema.name !== record)
    throw new Error(`${path}: record name ${String(schema.name)} does not match its file`);
  return Object.freeze({
    record,
    version,
    schema,
    type: avro.Type.forSchema(schema as avro.Schema),
    fingerprint: fingerprintBytes(schema),
  });
}

/** Current schemas, by record name. */
export function loadCurrentSchemas(dir = SCHEMAS_DIR): ReadonlyMap<string, SchemaVersion> {
  const out = new Map<string, SchemaVersion>();
  for (const file of readdirSync(`${dir}avro`)
    .filter((f) => f.endsWith('.avsc'))
    .sort()) {
    const record = file.slice(0, -'.avsc'.length);
    out.set(record, load(`${dir}avro/${file}`, record, 'current'));
  }
  return out;
}

/** Released versions, by record name, oldest first. */
export function loadHistory(dir = SCHEMAS_DIR): ReadonlyMap<string, readonly SchemaVersion[]> {
  const out = new Map<string, SchemaVersion[]>();
  for (const record of readdirSync(`${dir}history`).sort()) {
    const versions = readdirSync(`${dir}history/${record}`)
      .map((f) => /^v(\d+)\.avsc$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => load(`${dir}history/${record}/${m[0]}`, record, Number(m[1])))
      .sort((a, b) => (a.version as number) - (b.version as number));
    out.set(record, versions);
  }
  return out;
}

/**
 * A writer schema as the compacted topic spamgate.schemas holds it: key the fingerprint, value
 * the schema's JSON, headers the record and version. Readers of an older release learn from it
 * the schemas of records written by a newer one (docs/contract.md, "Evolution rules").
 */
export interface RegisteredSchema {
  /** Record name without namespace, e.g. Decision. */
  readonly record: string;
  /** 'v<N>' for a released version; 'unreleased' for a working copy no release holds yet. */
  readonly version: string;
  /** 16 hex digits: the 8 fingerprint bytes as single-object encoding writes them after C3 01. */
  readonly fingerprint: string;
  /** The schema's JSON text (its .avsc, compacted); parsing it gives the same fingerprint. */
  readonly json: string;
}

/**
 * The schemas to publish on spamgate.schemas: the current schema of `records` (every record when
 * omitted), and with `released` every released version too, once per fingerprint.
 */
export function schemaRegistrations(
  options: { readonly records?: readonly string[]; readonly released?: boolean } = {},
  current: ReadonlyMap<string, SchemaVersion> = loadCurrentSchemas(),
  history: ReadonlyMap<string, readonly SchemaVersion[]> = loadHistory(),
): RegisteredSchema[] {
  const records = options.records ?? [...current.keys()];
  const out = new Map<string, RegisteredSchema>();
  const add = (s: SchemaVersion, version: string) => {
    const fingerprint = s.fingerprint.toString('hex');
    if (!out.has(fingerprint))
      out.set(fingerprint, { record: s.record, version, fingerprint, json: JSON.stringify(s.schema) });
  };
  for (const record of records) {
    const now = current.get(record);
    if (!now) throw new Error(`unknown record ${record}`);
    const released = history.get(record) ?? [];
    const same = released.find((v) => v.fingerprint.equals(now.fingerprint));
    add(now, same ? `v${same.version}` : 'unreleased');
    if (options.released) for (const v of released) add(v, `v${v.version}`);
  }
  return [...out.values()];
}
