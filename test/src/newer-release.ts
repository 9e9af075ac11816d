/**
 * What a producer upgraded before its readers writes: this release's schemas with some records
 * changed, a codec that encodes with them, and their registrations for spamgate.schemas. For
 * tests of schema evolution (a reader meeting records of a version newer than itself).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Codec,
  createCodec,
  loadCurrentSchemas,
  RECORD_NAMES,
  type RecordName,
  type RegisteredSchema,
  schemaRegistrations,
} from '@spamgate/schemas';

/** An Avro record schema as JSON. */
export type RecordSchema = Record<string, unknown> & { fields: Record<string, unknown>[] };

export interface NewerRelease {
  /** Encodes with the changed schemas (and this release's for the other records). */
  readonly codec: Codec;
  /** The changed schemas as they are registered on spamgate.schemas (version 'unreleased'). */
  readonly registrations: readonly RegisteredSchema[];
}

/** A release whose schemas are this one's, with `changes` applied to a copy of each one named. */
export function newerRelease(
  changes: { readonly [K in RecordName]?: (schema: RecordSchema) => RecordSchema },
): NewerRelease {
  const now = createCodec();
  const dir = mkdtempSync(join(tmpdir(), 'spamgate-release-'));
  try {
    mkdirSync(join(dir, 'avro'));
    for (const record of RECORD_NAMES) {
      const schema = structuredClone(now.schema(record).schema) as RecordSchema;
      const change = changes[record];
      writeFileSync(join(dir, 'avro', `${record}.avsc`), JSON.stringify(change ? change(schema) : schema));
    }
    const current = loadCurrentSchemas(`${dir}/`);
    return {
      codec: createCodec(current, new Map()),
      registrations: schemaRegistrations({ records: Object.keys(changes) }, current, new Map()),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
