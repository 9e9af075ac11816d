/**
 * A fix for kafkajs 2.2.4's record batch encoder (protocol/recordBatch/v0), installed before
 * kafkajs loads. kafkajs writes a batch's header and records into one encoder, copies that into a
 * second to prefix its checksum, and into a third to prefix its length, and takes the CRC-32C a
 * byte at a time. An uncompressed batch is written here once, into a buffer of its exact size,
 * with the checksum from crc32c.ts; a compressed one is still kafkajs's. The bytes are kafkajs's
 * (test/kafkajs-encoder.test.ts).
 */
import { createRequire } from 'node:module';
import { crc32c } from './crc32c.ts';
import type { KafkajsEncoder, KafkajsEncoderClass } from './kafkajs-encoder.ts';
import { wrapKafkajsModule } from './kafkajs-module.ts';

const require = createRequire(import.meta.url);

interface RecordBatchArgs {
  readonly compression?: number;
  readonly firstOffset?: unknown;
  readonly firstTimestamp?: unknown;
  readonly maxTimestamp?: unknown;
  readonly partitionLeaderEpoch?: number;
  readonly lastOffsetDelta?: number;
  readonly transactional?: boolean;
  readonly producerId?: unknown;
  readonly producerEpoch?: number;
  readonly firstSequence?: number;
  readonly records?: KafkajsEncoder[];
}

interface RecordBatchModule {
  RecordBatch(args: RecordBatchArgs): Promise<KafkajsEncoder>;
  readonly MAGIC_BYTE: number;
}

interface Int64Encoder extends KafkajsEncoder {
  writeInt8(v: number): Int64Encoder;
  writeInt16(v: number): Int64Encoder;
  writeInt32(v: number): Int64Encoder;
  writeUInt32(v: number): Int64Encoder;
  writeInt64(v: unknown): Int64Encoder;
}

/** Bytes before the checksummed part: first offset, length, leader epoch, magic, CRC. */
const CRC_AT = 8 + 4 + 4 + 1;
const BODY_AT = CRC_AT + 4;
/** The checksummed header: attributes, last offset delta, two timestamps, producer id and epoch, first sequence, record count. */
const BODY_HEADER = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
const TRANSACTIONAL = 16;
const NONE = 0;

export function fastRecordBatch(original: RecordBatchModule): RecordBatchModule {
  const Encoder = require('kafkajs/src/protocol/encoder') as KafkajsEncoderClass;
  const Long = require('kafkajs/src/utils/long') as {
    fromInt(n: number): unknown;
    fromValue(v: unknown): unknown;
  };
  async function RecordBatch(args: RecordBatchArgs): Promise<KafkajsEncoder> {
    const { compression = NONE, records = [] } = args;
    if ((compression & 0x7) !== NONE) return original.RecordBatch(args);
    let recordBytes = 0;
    for (const r of records) recordBytes += r.offset;
    const size = BODY_AT + BODY_HEADER + recordBytes;
    const e = Object.create(Encoder.prototype) as Int64Encoder;
    e.buf = Buffer.allocUnsafe(size);
    e.offset = 0;
    const now = Date.now();
    const or = (v: unknown, fallback: unknown) => (v === undefined ? fallback : v);
    e.writeInt64(or(args.firstOffset, Long.fromInt(0)))
      .writeInt32(size - 12) // the batch's length: all that follows
      .writeInt32(args.partitionLeaderEpoch ?? 0)
      .writeInt8(original.MAGIC_BYTE)
      .writeUInt32(0) // the CRC, written below
      .writeInt16(args.transactional ? TRANSACTIONAL : 0) // attributes: no compression
      .writeInt32(args.lastOffsetDelta ?? 0)
      .writeInt64(or(args.firstTimestamp, now))
      .writeInt64(or(args.maxTimestamp, now))
      .writeInt64(or(args.producerId, Long.fromValue(-1)))
      .writeInt16(args.producerEpoch ?? 0)
      .writeInt32(args.firstSequence ?? 0)
      .writeInt32(records.length)
      .writeEncoderArray(records);
    e.buf.writeUInt32BE(crc32c(e.buf, BODY_AT, size), CRC_AT);
    return e;
  }
  return { RecordBatch, MAGIC_BYTE: original.MAGIC_BYTE };
}

wrapKafkajsModule<RecordBatchModule>(
  'kafkajs/src/protocol/recordBatch/v0',
  fastRecordBatch,
  'spamgate.kafkajs-record-batch',
);
