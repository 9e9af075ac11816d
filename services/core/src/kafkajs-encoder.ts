/**
 * A fix for kafkajs 2.2.4's protocol encoder (protocol/encoder.js), installed before kafkajs
 * loads. Every kafkajs Encoder starts as a zero-filled 512-byte buffer of its own and grows by
 * doubling into new zero-filled buffers, and a produce request is built from about eight nested
 * encoders, each copying the one inside it through a fresh view. Under load a feature engine
 * spent an eighth of its time allocating those buffers and much of its garbage collection
 * reclaiming them (BENCHMARKS.md). This encoder is kafkajs's with three changes: it starts from
 * Node's buffer pool, grows without zero-filling (only written bytes are ever read), and copies a
 * nested encoder or an array of them with one reservation and no views. Every write method is
 * kafkajs's own, so the bytes are too (test/kafkajs-encoder.test.ts).
 */
import { wrapKafkajsModule } from './kafkajs-module.ts';

export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeEncoder(value: KafkajsEncoder): KafkajsEncoder;
  writeEncoderArray(value: KafkajsEncoder[]): KafkajsEncoder;
  size(): number;
  readonly buffer: Buffer;
}

export interface KafkajsEncoderClass {
  new (initialSize?: number): KafkajsEncoder;
  readonly prototype: KafkajsEncoder;
  nextPowerOfTwo(value: number): number;
}

const isEncoder = (v: unknown): v is KafkajsEncoder =>
  v !== null && typeof v === 'object' && Buffer.isBuffer((v as KafkajsEncoder).buf);

/** kafkajs's Encoder class, with the allocation changes above. */
export function fastEncoder(Original: KafkajsEncoderClass): KafkajsEncoderClass {
  // A function, not a subclass: a subclass must call kafkajs's constructor, which allocates.
  const FastEncoder = function (this: KafkajsEncoder, initialSize = 63) {
    this.buf = Buffer.allocUnsafe(Original.nextPowerOfTwo(initialSize));
    this.offset = 0;
  } as unknown as KafkajsEncoderClass;
  Object.setPrototypeOf(FastEncoder, Original); // static methods (sizeOfVarInt, ...)
  const proto = Object.create(Original.prototype) as KafkajsEncoder;
  Object.defineProperty(proto, 'constructor', { value: FastEncoder, writable: true, configurable: true });
  proto.ensureAvailable = function (this: KafkajsEncoder, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Original.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  proto.writeEncoder = function (this: KafkajsEncoder, value: KafkajsEncoder): KafkajsEncoder {
    if (!isEncoder(value)) throw new Error('value should be an instance of Encoder');
    this.ensureAvailable(value.offset);
    this.offset += value.buf.copy(this.buf, this.offset, 0, value.offset);
    return this;
  };
  proto.writeEncoderArray = function (this: KafkajsEncoder, value: KafkajsEncoder[]): KafkajsEncoder {
    if (!Array.isArray(value) || !value.every(isEncoder))
      throw new Error('all values should be an instance of Encoder[]');
    let total = 0;
    for (const v of value) total += v.offset;
    this.ensureAvailable(total);
    for (const v of value) this.offset += v.buf.copy(this.buf, this.offset, 0, v.offset);
    return this;
  };
  (FastEncoder as { prototype: KafkajsEncoder }).prototype = proto;
  return FastEncoder;
}

wrapKafkajsModule<KafkajsEncoderClass>(
  'kafkajs/src/protocol/encoder',
  fastEncoder,
  'spamgate.kafkajs-encoder',
);
