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
  /** Released version number, or 'current' for the working copy. */
  readonly version: number | 'current';
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
