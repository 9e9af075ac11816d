/**
 * Heap bytes per cluster of the cluster processor, to fit lightClusterBytes and fullClusterBytes
 * (cluster-processor.ts). Builds N clusters of one shape in one processor, with a forced GC before
 * and after, and divides the growth of heapUsed + arrayBuffers by N; then prints the mean
 * changelog bytes of the same clusters and the processor's own estimate. Run:
 *   node --expose-gc bench/cluster-memory.ts [shape name fragment]
 */
import { seededRandom } from '@spamgate/test';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const CLOCK = T0 + 365 * 86_400_000;

interface Shape {
  readonly name: string;
  readonly clusters: number;
  readonly messages: number;
  readonly senders: number;
  readonly light: number;
}

const shapes: Shape[] = [
  { name: 'cheap, 1 message', clusters: 100_000, messages: 1, senders: 1, light: 8 },
  { name: 'cheap, 4 messages, 2 senders', clusters: 100_000, messages: 4, senders: 2, light: 8 },
  { name: 'full, 1 message', clusters: 100_000, messages: 1, senders: 1, light: 0 },
  { name: 'full, 20 messages, 10 senders', clusters: 20_000, messages: 20, senders: 10, light: 8 },
  { name: 'full, 200 messages, 100 senders', clusters: 5_000, messages: 200, senders: 100, light: 8 },
];

function measure(shape: Shape): void {
  const r = seededRandom(shape.clusters + shape.messages);
  const u32 = () => Math.floor(r() * 2 ** 32);
  const senders = Array.from({ length: shape.senders }, () => [u32(), u32()] as const);
  const p = createClusterProcessor({ lightMaxEvents: shape.light, maxFutureSkewMs: 365 * 86_400_000 });
  const ids = Array.from({ length: shape.clusters }, (_, i) => (0x10_0000_0000 + i * 7919).toString(16));
  gc!();
  gc!();
  const before = process.memoryUsage();
  for (let k = 0; k < shape.messages; k++) {
    const t = T0 + k * 20_000; // spread over an hour or so
    for (const id of ids) {
      const s = senders[k % senders.length]!;
      p.message(
        id,
        {
          timeMs: t,
          senderHi: s[0],
          senderLo: s[1],
          recipientHi: u32(),
          recipientLo: u32(),
          campaignId: r() < 0.3 ? 'CZX4Y2K' : null,
          urlDomains: r() < 0.5 ? ['bit.ly'] : [],
          sequential: r() < 0.2,
          callbackHashes: [],
          afterOptOut: false,
          senderIgnoresOptOuts: false,
          // Numbers scattered over blocks, as consumers' are: a block each.
          senderBlock: { hi: s[0], lo: s[1] ^ 0x5bd1e995 },
        },
        CLOCK,
      );
    }
    p.drain(0); // records of the multi-sender shapes are handed over as in production
  }
  gc!();
  gc!();
  const after = process.memoryUsage();
  const bytes =
    (after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers)) / shape.clusters;
  let encoded = 0;
  for (const { value } of p.takeChanged()) encoded += value?.length ?? 0;
  const estimate = p.stateBytes / shape.clusters;
  console.log(
    `${shape.name.padEnd(34)} ${String(Math.round(bytes)).padStart(7)} B/cluster measured, ` +
      `${String(Math.round(encoded / shape.clusters)).padStart(6)} B changelog, ` +
      `${String(Math.round(estimate)).padStart(7)} B estimated (${p.lightClusterCount} cheap)`,
  );
}

console.log(`Node ${process.version}`);
// A shape name fragment as argument measures only the matching shapes (each alone is steadier).
for (const shape of shapes) if (!process.argv[2] || shape.name.includes(process.argv[2])) measure(shape);
