/**
 * HMAC-SHA-256 with the key's two pad blocks hashed once (RFC 2104, section 4: the intermediate
 * results of the compression function on the padded key "can be precomputed only once"). A
 * subscriber number then costs two compressions in plain JavaScript, where a new OpenSSL HMAC
 * object per number cost 4-9 µs on the feature engine's hot path (issue 18). The bits are those
 * of `createHmac('sha256', key)`; test/hmac-sha256.test.ts compares them.
 */
import { createHash } from 'node:crypto';

// FIPS 180-4, 4.2.2 and 5.3.3: round constants and initial hash value, as signed 32-bit words.
const K = Int32Array.from(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ].map((x) => x | 0),
);
const IV = Int32Array.from(
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].map(
    (x) => x | 0,
  ),
);
const BLOCK = 64;

/** One SHA-256 compression of the block in w[0..15] into `s` (w[16..63] is scratch). */
function compress(s: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = s[0]!;
  let b = s[1]!;
  let c = s[2]!;
  let d = s[3]!;
  let e = s[4]!;
  let f = s[5]!;
  let g = s[6]!;
  let h = s[7]!;
  for (let i = 0; i < 64; i++) {
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        K[i]! +
        w[i]!) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  s[0] = (s[0]! + a) | 0;
  s[1] = (s[1]! + b) | 0;
  s[2] = (s[2]! + c) | 0;
  s[3] = (s[3]! + d) | 0;
  s[4] = (s[4]! + e) | 0;
  s[5] = (s[5]! + f) | 0;
  s[6] = (s[6]! + g) | 0;
  s[7] = (s[7]! + h) | 0;
}

/** The state after compressing the key XOR `pad`, as HMAC's inner (0x36) or outer (0x5c) start. */
function padState(key: Buffer, pad: number): Int32Array {
  const block = Buffer.alloc(BLOCK);
  key.copy(block);
  for (let i = 0; i < BLOCK; i++) block[i]! ^= pad;
  const w = new Int32Array(64);
  for (let i = 0; i < 16; i++) w[i] = block.readInt32BE(4 * i);
  const s = IV.slice();
  compress(s, w);
  return s;
}

/**
 * HMAC-SHA-256 under `key` of a UTF-8 string. Returns the digest's eight big-endian words as
 * signed 32-bit integers, in an array the next call overwrites: read what you need at once.
 */
export function createHmacSha256(key: string | Buffer): (message: string) => Int32Array {
  let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
  const inner = padState(k, 0x36);
  const outer = padState(k, 0x5c);
  const w = new Int32Array(64);
  const s = new Int32Array(8);
  const out = new Int32Array(8);
  let bytes = Buffer.alloc(4 * BLOCK);
  return (message) => {
    const need = Buffer.byteLength(message, 'utf8') + 9;
    if (need > bytes.length) bytes = Buffer.alloc(Math.ceil(need / BLOCK) * BLOCK);
    const n = bytes.write(message, 0, 'utf8');
    // Padding: 0x80, zeros, then the bit length of pad block and message as 64 bits.
    const end = Math.ceil((n + 9) / BLOCK) * BLOCK;
    bytes[n] = 0x80;
    bytes.fill(0, n + 1, end - 8);
    const bits = (BLOCK + n) * 8;
    bytes.writeUInt32BE(Math.floor(bits / 0x1_0000_0000), end - 8);
    bytes.writeUInt32BE(bits >>> 0, end - 4);
    s.set(inner);
    for (let at = 0; at < end; at += BLOCK) {
      for (let i = 0; i < 16; i++) w[i] = bytes.readInt32BE(at + 4 * i);
      compress(s, w);
    }
    // The outer hash: its pad block (precomputed), then one block of the inner digest.
    for (let i = 0; i < 8; i++) w[i] = s[i]!;
    w[8] = 0x80000000 | 0;
    w.fill(0, 9, 15);
    w[15] = (BLOCK + 32) * 8;
    out.set(outer);
    compress(out, w);
    return out;
  };
}
