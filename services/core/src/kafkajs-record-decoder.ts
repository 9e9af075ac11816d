/**
 * A fix for kafkajs 2.2.4's consumer, installed before kafkajs loads (kafkajs-module.ts).
 *
 * kafkajs decodes every record's timestamp and offset with its BigInt-backed Long: each varlong
 * byte allocates Longs, and each record parses its batch's first offset and first timestamp from
 * strings again before adding its delta. Restoring a changelog reads millions of records, and
 * that arithmetic was a large part of it. This decoder reads the same fields with plain numbers
 * while they are exact (below 2^53) and falls back to BigInt beyond, with the batch's bases
 * parsed once per batch. It returns what kafkajs's record/v0 decoder returns, field for field;
 * test/kafkajs-record-decoder.test.ts compares them.
 */
import { createRequire } from 'node:module';
import { replaceKafkajsModule } from './kafkajs-module.ts';

const require = createRequire(import.meta.url);
const TimestampTypes = require('kafkajs/src/protocol/timestampTypes') as { LOG_APPEND_TIME: number };

/** The part of kafkajs's Decoder this reads: its buffer and position. */
interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
}

interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}

type HeaderValue = Buffer | null;
type Headers = Record<string, HeaderValue | HeaderValue[]>;

export interface DecodedRecord {
  readonly magicByte: number | undefined;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly isControlRecord: boolean;
  readonly batchContext: BatchContext;
}

/** A batch's first offset and timestamp as numbers when exact, else as BigInt; parsed once. */
interface Bases {
  readonly offset: number | bigint;
  readonly timestamp: number | bigint;
}
const basesOf = new WeakMap<BatchContext, Bases>();

function base(s: string | undefined): number | bigint {
  const n = Number(s ?? 0);
  return Number.isSafeInteger(n) ? n : BigInt(s ?? 0);
}

function plus(b: number | bigint, delta: number | bigint): string {
  if (typeof b === 'number' && typeof delta === 'number') {
    const sum = b + delta;
    if (Number.isSafeInteger(sum)) return String(sum);
  }
  return (BigInt(b) + BigInt(delta)).toString();
}

/** A zigzag varint of at most 32 bits, as kafkajs's readVarInt. */
function readVarInt(d: KafkajsDecoder): number {
  const buf = d.buffer;
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = buf[d.offset++]!;
    result += (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  return (result >>> 1) ^ -(result & 1);
}

/** A zigzag varlong: a number while exact (up to 7 bytes, 49 bits), else a BigInt. */
function readVarLong(d: KafkajsDecoder): number | bigint {
  const buf = d.buffer;
  const start = d.offset;
  let n = 0;
  let scale = 1;
  let byte: number;
  let bytes = 0;
  do {
    byte = buf[d.offset++]!;
    n += (byte & 0x7f) * scale;
    scale *= 128;
    bytes++;
  } while (byte >= 0x80 && bytes < 7);
  if (byte < 0x80) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  // Longer than 49 bits: again from the start, in BigInt (kafkajs allows up to 10 bytes).
  d.offset = start;
  let big = 0n;
  let shift = 0n;
  do {
    if (shift > 63n) throw new RangeError('Invalid Long, must contain 9 bytes or less');
    byte = buf[d.offset++]!;
    big |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  } while (byte >= 0x80);
  big = BigInt.asUintN(64, big);
  return BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n));
}

function readBytes(d: KafkajsDecoder): Buffer | null {
  const length = readVarInt(d);
  if (length === -1) return null;
  const bytes = d.buffer.subarray(d.offset, d.offset + length);
  d.offset += length;
  return bytes;
}

function readHeaders(d: KafkajsDecoder): Headers {
  const count = readVarInt(d);
  const headers: Headers = {};
  for (let i = 0; i < count; i++) {
    // As kafkajs: a null key is the property "null"; a repeated key collects its values in order.
    const keyBytes = readBytes(d);
    const key = String(keyBytes === null ? null : keyBytes.toString('utf8'));
    const value = readBytes(d);
    const held = headers[key];
    headers[key] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [held, value];
  }
  return headers;
}

/** One record of a record batch (v2 format), as kafkajs's record/v0 decoder returns it. */
export function decodeRecord(decoder: KafkajsDecoder, batchContext: BatchContext = {}): DecodedRecord {
  let bases = basesOf.get(batchContext);
  if (bases === undefined) {
    bases = { offset: base(batchContext.firstOffset), timestamp: base(batchContext.firstTimestamp) };
    basesOf.set(batchContext, bases);
  }
  const attributes = decoder.buffer.readInt8(decoder.offset++);
  const timestampDelta = readVarLong(decoder);
  const timestamp =
    batchContext.timestampType === TimestampTypes.LOG_APPEND_TIME && batchContext.maxTimestamp
      ? batchContext.maxTimestamp
      : plus(bases.timestamp, timestampDelta);
  const offset = plus(bases.offset, readVarInt(decoder));
  const key = readBytes(decoder);
  const value = readBytes(decoder);
  const headers = readHeaders(decoder);
  return {
    magicByte: batchContext.magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: batchContext.isControlBatch ?? false,
    batchContext,
  };
}

replaceKafkajsModule(
  'kafkajs/src/protocol/recordBatch/record/v0/decoder',
  decodeRecord,
  'spamgate.kafkajs-record-decoder',
);
