/**
 * The Avro specification's schema fingerprint: CRC-64-AVRO (a Rabin fingerprint) of the
 * schema's Parsing Canonical Form, as used by single-object encoding.
 */
import avro from 'avsc';

const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
    table.push(fp & MASK);
  }
  return table;
})();

/** CRC-64-AVRO of the bytes, as an unsigned 64-bit value. */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const b of bytes) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(b)) & 0xffn)] as bigint);
  return fp;
}

/** Parsing Canonical Form of a schema (full names, no docs, defaults, aliases or logical types). */
export function canonicalForm(schema: unknown): string {
  return JSON.stringify(avro.Type.forSchema(schema as avro.Schema).schema());
}

/** The 8-byte little-endian fingerprint that single-object encoding puts after C3 01. */
export function fingerprintBytes(schema: unknown): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalForm(schema), 'utf8')));
  return out;
}
