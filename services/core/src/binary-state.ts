/**
 * The little-endian Reader and Writer under every hand-rolled binary state format (sender state,
 * cheap-tier entries, relation books, URL domains, content clusters): compact changelog values
 * that Avro would make several times larger. A read past the end, or a value that makes no
 * sense, is a StateCodecError. ARCHITECTURE.md, "Ownership of state", says what is stored.
 */
import { SpamgateError } from './errors.ts';

export class StateCodecError extends SpamgateError {
  override name = 'StateCodecError';
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'STATE_BYTES_INVALID', retriable: false, cause });
  }
}

/**
 * Little-endian binary writer that grows as needed. Writers share one scratch buffer (encoding
 * is synchronous, so one at a time uses it); done() copies the bytes out, which makes each
 * encoding one allocation of its exact size instead of a series of doublings.
 */
let shared = new Uint8Array(64 * 1024);
let sharedInUse = false;

export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #ownsShared: boolean;
  constructor() {
    this.#ownsShared = !sharedInUse;
    if (this.#ownsShared) sharedInUse = true;
    this.#buf = this.#ownsShared ? shared : new Uint8Array(256);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }
  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
    if (this.#ownsShared) shared = next;
  }
  u8(v: number): void {
    this.#ensure(1);
    this.#view.setUint8(this.#pos, v);
    this.#pos += 1;
  }
  u16(v: number): void {
    this.#ensure(2);
    this.#view.setUint16(this.#pos, v, true);
    this.#pos += 2;
  }
  u32(v: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
  }
  i32(v: number): void {
    this.#ensure(4);
    this.#view.setInt32(this.#pos, v, true);
    this.#pos += 4;
  }
  f64(v: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, v, true);
    this.#pos += 8;
  }
  u64(v: bigint): void {
    this.#ensure(8);
    this.#view.setBigUint64(this.#pos, BigInt.asUintN(64, v), true);
    this.#pos += 8;
  }
  /** Unsigned integer up to 2^53 in 7-bit groups, low first. */
  varint(v: number): void {
    let x = v;
    while (x >= 0x80) {
      this.u8((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.u8(x);
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }
  /** The bytes written, copied out; the writer must not be used after. */
  done(): Buffer {
    const out = Buffer.allocUnsafe(this.#pos);
    out.set(this.#buf.subarray(0, this.#pos));
    this.#release();
    return out;
  }
  /** The bytes written as a Latin-1 string (one char per byte); the writer must not be used after. */
  doneLatin1(): string {
    const out = Buffer.from(this.#buf.buffer, this.#buf.byteOffset, this.#pos).toString('latin1');
    this.#release();
    return out;
  }
  #release(): void {
    if (this.#ownsShared) sharedInUse = false;
    this.#ownsShared = false;
  }
}

/** Reads what Writer wrote; throws StateCodecError past the end. */
export class Reader {
  /** Made on the first multi-byte read: a restore peeks at millions of values by u8 and varint alone. */
  #dataView: DataView | undefined;
  #bytes: Uint8Array;
  #pos = 0;
  #end: number;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#end = bytes.length;
  }
  /** Points this reader at bytes[start, end): a peek at a header reuses one reader instead of making one per value. */
  reset(bytes: Uint8Array, start = 0, end = bytes.length): this {
    if (bytes !== this.#bytes) this.#dataView = undefined;
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    return this;
  }
  get #view(): DataView {
    this.#dataView ??= new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    return this.#dataView;
  }
  #need(n: number): void {
    if (this.#pos + n > this.#end) throw new StateCodecError('state bytes end early');
  }
  u8(): number {
    this.#need(1);
    return this.#bytes[this.#pos++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  i32(): number {
    this.#need(4);
    const v = this.#view.getInt32(this.#pos, true);
    this.#pos += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.#view.getFloat64(this.#pos, true);
    this.#pos += 8;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return v;
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
      scale *= 0x80;
    }
    throw new StateCodecError('varint longer than 8 bytes');
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  end(): void {
    if (this.#pos !== this.#end) throw new StateCodecError(`${this.#end - this.#pos} bytes after the state`);
  }
}
