/**
 * A fix for kafkajs 2.2.4's default partitioner hash (producer/partitioners/default/murmur2),
 * installed before kafkajs loads. kafkajs computes Kafka's murmur2 with its BigInt-backed Long,
 * several allocations per key byte group, for every keyed record a producer sends without a
 * partition (a feature engine's features and repartition records). The hash is Java's 32-bit
 * murmur2, which Math.imul computes exactly; the partition of every key is kafkajs's
 * (test/kafkajs-encoder.test.ts compares them).
 */
import { replaceKafkajsModule } from './kafkajs-module.ts';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of a key (a Buffer, or anything else as the UTF-8 bytes of its String), signed 32-bit. */
export function murmur2(key: unknown): number {
  const data = Buffer.isBuffer(key) ? key : Buffer.from(String(key));
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes.
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

replaceKafkajsModule(
  'kafkajs/src/producer/partitioners/default/murmur2',
  murmur2,
  'spamgate.kafkajs-murmur2',
);
