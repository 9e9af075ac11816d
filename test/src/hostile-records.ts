/**
 * The hostile records of issue 19, for every service's integration test: a 17-byte
 * ClusterFeatures claiming 30 million windows, a 34-byte ClusterEvent claiming 2^28 URL domains,
 * and a 37-byte record of a writer schema with an array of nulls (2^52 of them), whose schema a
 * test registers on spamgate.schemas first. Each must be dead-lettered, wherever it is put.
 */

import type { WriterSchema } from '@spamgate/core';
import { fingerprintBytes, loadCurrentSchemas, MARKER, type RecordName } from '@spamgate/schemas';
import avro from 'avsc';

export interface HostileRecord {
  /** What it is, for messages. */
  readonly name: string;
  /** The record its header claims to be. */
  readonly claims: RecordName;
  /** True when its writer schema is the refused one (`schema`), not one of this release. */
  readonly refusedWriter: boolean;
  readonly value: Buffer;
}

export interface HostileRecords {
  /** The schema the third record is written with, as a newer writer would register it. */
  readonly schema: WriterSchema;
  readonly records: readonly HostileRecord[];
}

const LONG = avro.Type.forSchema('long');
/** Zig-zag varint of n, as Avro writes a long (a count, a length). */
const varint = (n: number): number[] => [...LONG.toBuffer(n)];

export function hostileRecords(): HostileRecords {
  const current = loadCurrentSchemas();
  const fp = (record: RecordName) => current.get(record)!.fingerprint;
  const withNulls = structuredClone(current.get('ClusterFeatures')!.schema) as { fields: unknown[] };
  withNulls.fields.push({ name: 'pad', type: { type: 'array', items: 'null' }, default: [] });
  const nullsFp = fingerprintBytes(withNulls);
  const record = (header: Buffer, body: number[]) => Buffer.concat([MARKER, header, Buffer.from(body)]);
  return {
    schema: {
      record: 'ClusterFeatures',
      version: 'unreleased',
      fingerprint: nullsFp.toString('hex'),
      json: JSON.stringify(withNulls),
    },
    records: [
      {
        name: '17-byte ClusterFeatures claiming 30,000,000 windows',
        claims: 'ClusterFeatures',
        refusedWriter: false,
        value: record(fp('ClusterFeatures'), [0, 0, 0, ...varint(30_000_000)]),
      },
      {
        name: '34-byte ClusterEvent claiming 2^28 URL domains',
        claims: 'ClusterEvent',
        refusedWriter: false,
        value: record(fp('ClusterEvent'), [0, 0, ...Array(16).fill(7), 0, ...varint(2 ** 28)]),
      },
      {
        name: '37-byte ClusterFeatures of a schema with 2^52 nulls',
        claims: 'ClusterFeatures',
        refusedWriter: true,
        value: record(nullsFp, [0, 0, 0, 0, ...varint(2 ** 52), ...Array(15).fill(0)]),
      },
    ],
  };
}

/**
 * The dead-letter code a reader of `topicRecord` gives `hostile`: its schema refused
 * (INCOMPATIBLE_WRITER) once learned from spamgate.schemas, a count beyond its bytes (BAD_LENGTH)
 * where it is the topic's record, the wrong record (WRONG_RECORD) anywhere else.
 */
export function hostileCode(hostile: HostileRecord, topicRecord: RecordName): string {
  if (hostile.refusedWriter) return 'INCOMPATIBLE_WRITER';
  return hostile.claims === topicRecord ? 'BAD_LENGTH' : 'WRONG_RECORD';
}
