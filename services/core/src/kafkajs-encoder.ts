/**
 * A fix for kafkajs 2.2.4's protocol encoder (protocol/encoder.js), installed before kafkajs
 * loads. Every kafkajs Encoder starts as a zero-filled 512-byte buffer of its own and grows by
 * doubling into new zero-filled buffers, and a produce request is built from about eight nested
 * encoders, each copying the one inside it through a fresh view. Under load a feature engine
 * spent an eighth of its time allocating those buffers and much of its garbage collection
 * reclaiming them (BENCHMARKS.md). This encoder is kafkajs's with four changes: it starts from
 * Node's buffer pool, grows without zero-filling (only written bytes are ever read), copies a
 * nested encoder or an array of them with one reservation and no views, and writes varints in
 * place (kafkajs builds an array and a Buffer for each, and a varlong through BigInt-backed Longs:
 * a tenth of what a feature engine allocated). The bytes are kafkajs's (test/kafkajs-encoder.test.ts).
 */
import { wrapKafkajsModule } from './kafkajs-module.ts';

export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeUVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: unknown): KafkajsEncoder;
  writeEncoder(value: KafkajsEncoder): KafkajsEncoder;
  writeEncoderArray(value: KafkajsEncoder[]): KafkajsEncoder;
  size(): number;
  readonly buffer: Buffer;
}

export interface KafkajsEncoderClass {
  new (initialSize?: number): KafkajsEncoder;
  readonly prototype: KafkajsEncoder;
  nextPowerOfTwo(value: number): number;
  sizeOfVarLong(value: unknown): number;
}

/** A number whose zigzag form (below 2^52, in 8 varint bytes) a double holds exactly; others go to kafkajs's Long path. */
const isSmallInteger = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 51;
const zigZag = (v: number): number => (v >= 0 ? 2 * v : -2 * v - 1);

/** Bytes of a small integer's zigzag varint. */
function varLongBytes(v: number): number {
  let z = zigZag(v);
  let bytes = 1;
  for (; z >= 0x80; bytes++) z = Math.floor(z / 0x80);
  return bytes;
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
  proto.writeUVarInt = function (this: KafkajsEncoder, value: number): KafkajsEncoder {
    const u = value >>> 0;
    this.ensureAvailable(u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5);
    const buf = this.buf;
    let at = this.offset;
    let v = value;
    // As kafkajs: the value's 32 bits, unsigned, seven at a time.
    while ((v & 0xffffff80) !== 0) {
      buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[at++] = v & 0x7f;
    this.offset = at;
    return this;
  };
  const writeVarLong = Original.prototype.writeVarLong;
  proto.writeVarLong = function (this: KafkajsEncoder, value: unknown): KafkajsEncoder {
    if (!isSmallInteger(value)) return writeVarLong.call(this, value);
    this.ensureAvailable(varLongBytes(value));
    const buf = this.buf;
    let at = this.offset;
    let z = zigZag(value);
    while (z >= 0x80) {
      buf[at++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    buf[at++] = z;
    this.offset = at;
    return this;
  };
  const sizeOfVarLong = Original.sizeOfVarLong;
  (FastEncoder as { sizeOfVarLong(v: unknown): number }).sizeOfVarLong = (value: unknown): number =>
    isSmallInteger(value) ? varLongBytes(value) : sizeOfVarLong.call(Original, value);
  (FastEncoder as { prototype: KafkajsEncoder }).prototype = proto;
  return FastEncoder;
}

wrapKafkajsModule<KafkajsEncoderClass>(
  'kafkajs/src/protocol/encoder',
  fastEncoder,
  'spamgate.kafkajs-encoder',
);
