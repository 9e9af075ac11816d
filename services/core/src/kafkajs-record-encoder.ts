/**
 * A fix for kafkajs 2.2.4's producer, installed before kafkajs loads (kafkajs-module.ts).
 *
 * kafkajs encodes every record of a produce request into an encoder of its own that starts as a
 * zero-filled 512-byte buffer whatever the record's size (protocol/recordBatch/record/v0), and
 * then copies it into the batch. A partition task writes several records per input event
 * (changelog, features, repartitions), so those buffers were much of what the engines allocated
 * and the garbage collector reclaimed. This encoder sizes the record first, as kafkajs does for
 * its length prefix, and writes it into a buffer of exactly that size from Node's pool. The
 * bytes are kafkajs's; test/kafkajs-record-encoder.test.ts compares them.
 */
import { createRequire } from 'node:module';
import { replaceKafkajsModule } from './kafkajs-module.ts';

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  writeVarInt(v: number): KafkajsEncoder;
  writeInt8(v: number): KafkajsEncoder;
  writeVarLong(v: unknown): KafkajsEncoder;
  writeVarIntBytes(v: unknown): KafkajsEncoder;
  writeVarIntArray(v: unknown[]): KafkajsEncoder;
}
interface KafkajsEncoderClass {
  readonly prototype: KafkajsEncoder;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: unknown): number;
  sizeOfVarIntBytes(v: unknown): number;
}
const Encoder = require('kafkajs/src/protocol/encoder') as KafkajsEncoderClass;
const Header = require('kafkajs/src/protocol/recordBatch/header/v0') as (h: {
  key: string;
  value: unknown;
}) => KafkajsEncoder;

type HeaderValue = string | Buffer | null;

interface RecordArgs {
  readonly offsetDelta?: number;
  readonly timestampDelta?: unknown;
  readonly key?: Buffer | string | null;
  readonly value?: Buffer | string | null;
  readonly headers?: Readonly<Record<string, HeaderValue | HeaderValue[]>>;
}

/** One record of a record batch (v2 format), as kafkajs's record/v0 encodes it. */
export function encodeRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: RecordArgs): KafkajsEncoder {
  const headersArray = Object.keys(headers).flatMap((k) => {
    const v = headers[k]!;
    return Array.isArray(v) ? v.map((x) => ({ key: k, value: x })) : [{ key: k, value: v }];
  });
  let sizeOfHeaders = Encoder.sizeOfVarInt(headersArray.length);
  for (const h of headersArray) {
    const keySize = Buffer.byteLength(h.key);
    sizeOfHeaders += Encoder.sizeOfVarInt(keySize) + keySize;
    if (h.value === null) sizeOfHeaders += Encoder.sizeOfVarInt(-1);
    else {
      const valueSize = Buffer.byteLength(h.value);
      sizeOfHeaders += Encoder.sizeOfVarInt(valueSize) + valueSize;
    }
  }
  const sizeOfBody =
    1 + // attributes
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    sizeOfHeaders;
  // An encoder whose buffer is the record's exact size; should a size be off, it grows as usual.
  const encoder = Object.create(Encoder.prototype) as KafkajsEncoder;
  encoder.buf = Buffer.allocUnsafe(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody);
  encoder.offset = 0;
  return encoder
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no record attributes
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header));
}

replaceKafkajsModule(
  'kafkajs/src/protocol/recordBatch/record/v0',
  encodeRecord,
  'spamgate.kafkajs-record-encoder',
);
