/**
 * Benchmarks of the feature engine's pure core on this machine (no Kafka): events per second
 * through message analysis and the partition processor, and heap bytes per sender for ordinary
 * senders (a few messages a day) at 100k senders. Run with --expose-gc (npm run bench does).
 * Prints a Markdown section on stdout; npm run bench writes it into BENCHMARKS.md.
 */
import { cpus } from 'node:os';
import type { MessageEvent } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';
import { createFactKeys, hash32, keyedProcessorOptions, messageFacts } from '../src/engine/facts.ts';
import { createInputHandlers, drainPartition } from '../src/engine/input-handlers.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import { DEFAULT_PROCESSOR_OPTIONS } from '../src/engine/processor-api.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const keys = createFactKeys('bench-secret-0123456789abcdef');
const handlers = createInputHandlers({ keys, utcOffsetHours: 0 });
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const options = {
  ...DEFAULT_PROCESSOR_OPTIONS,
  ...keyedProcessorOptions(keys),
  maxFutureSkewMs: 365 * 86_400_000,
};
const size = (process.env.SPAMGATE_BENCH_SIZE ?? 'full') === 'smoke' ? 0.02 : 1;

const templates = [
  'Hi {n}, your package {c} is waiting: https://dl.example.com/{c}',
  'Reminder: appointment on {d} at {h}pm. Reply C to confirm',
  'hey {n} are we still on for tonight?',
  'URGENT {n}: your account is locked, verify at bit.ly/{c} now',
  'Polls close at 8pm today, {n}! Find your place: vote.example.org/{c}',
  'Hi {n}, this is Sam with Riverside Votes. Can we count on your support for Jane Ortiz on Tuesday?',
];

function events(count: number, senders: number, seed: number): MessageEvent[] {
  const r = seededRandom(seed);
  const out: MessageEvent[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.floor(r() * 1000);
    out.push({
      messageId: `m-${i}`,
      eventTime: T0 + i * 2,
      sender: `+1202${String(Math.floor(r() * senders)).padStart(7, '0')}`,
      senderKind: 'LONG_CODE',
      recipient: `+1303${String(Math.floor(r() * 5_000_000)).padStart(7, '0')}`,
      body: templates[n % templates.length]!.replace('{n}', `N${n}`)
        .replaceAll('{c}', `x${n * 7}`)
        .replace('{d}', '12/01')
        .replace('{h}', '3'),
      campaignId: null,
      originNetwork: null,
    });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// 1. Throughput: analysis + windows + drain every 1,000 events, 10,000 active senders; then the
// same stream through the engine's input handlers with the cross-key stages (issue 5): each
// message's re-keyed copy read back in its recipient's relation book (as the by-recipient topic
// does), and each message with a content cluster, and each answer attributed to one, counted in
// its cluster (as the by-cluster topic does), in the same process, without the Avro codec. The two
// are run alternately, so that warm-up favours neither.
const stream = events(Math.round(200_000 * size), 10_000, 1);

function plainRun(): number {
  const p = createPartitionProcessor(options);
  const started = process.hrtime.bigint();
  for (let i = 0; i < stream.length; i++) {
    const e = stream[i]!;
    p.message(e.sender, e.senderKind, e.campaignId, messageFacts(e, keys, 0).facts, T0);
    if (i % 1_000 === 999) {
      p.drain(0);
      p.takeChanged();
    }
  }
  return stream.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

function crossKeyRun(): number {
  const p = {
    processor: createPartitionProcessor(options),
    clusters: createClusterProcessor({ maxFutureSkewMs: options.maxFutureSkewMs }),
  };
  const started = process.hrtime.bigint();
  for (let i = 0; i < stream.length; i++) {
    // The engine's own handlers; what they re-key is routed back here, as the topics would.
    for (const r of handlers.message(p, stream[i]!, T0)) {
      if (r.to === 'byRecipient')
        for (const c of handlers.received(p, r.value, T0)) {
          if (c.to === 'byCluster') handlers.clusterEvent(p, c.key, c.value, T0);
        }
      else handlers.clusterEvent(p, r.key, r.value, T0);
    }
    if (i % 1_000 === 999) {
      drainPartition(p, 0);
      p.processor.takeChanged();
      p.clusters.takeChanged();
    }
  }
  return stream.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

const rates: number[] = [];
const crossRates: number[] = [];
plainRun(); // warm-up
for (let run = 0; run < 3; run++) {
  rates.push(plainRun());
  crossRates.push(crossKeyRun());
}
const crossCost = Math.round((1 - median(crossRates) / median(rates)) * 100);

// 2. Memory: ordinary senders, three messages each an hour apart, state held in one processor.
// The body's analysis is computed once (same text, same facts); each message gets its own
// recipient hash, so what is measured is the state, not the hashing.
const base = messageFacts(
  {
    messageId: 'o',
    eventTime: T0,
    sender: '+14150000000',
    senderKind: 'LONG_CODE',
    recipient: '+15100000000',
    body: 'running late, see you soon',
    campaignId: null,
    originNetwork: null,
  },
  keys,
  0,
).facts;

/** Heap bytes per address that only receives: one message read back into its relation book. */
function bytesPerReceiver(receivers: number): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const held = createPartitionProcessor(options);
  const from = keys.recipientHash('+14150000000');
  for (let s = 0; s < receivers; s++) {
    held.heard(
      keys.bookId(`+1510${String(s).padStart(7, '0')}`),
      from.hi,
      from.lo,
      T0 + (s % 1_000) * 10,
      'message',
      T0,
    );
    if (s % 10_000 === 9_999) held.takeChanged();
  }
  held.takeChanged();
  gc!();
  return (process.memoryUsage().heapUsed - before) / receivers;
}
const receiverBytes = bytesPerReceiver(Math.round(100_000 * size));

/** A link in every message (to one domain, as most senders of links have): its hash and its name. */
const LINK_DOMAIN = 'parcels-now.com';
const linkedBase = {
  ...base,
  urlDomainHashes: [hash32(LINK_DOMAIN)],
  urlDomains: [LINK_DOMAIN],
  hasUrl: true,
};

function bytesPerOrdinarySender(
  senders: number,
  seed: number,
  linked = false,
): { bytes: number; cheap: number } {
  const r = seededRandom(seed);
  const facts = linked ? linkedBase : base;
  gc!();
  const before = process.memoryUsage().heapUsed;
  const held = createPartitionProcessor(options);
  for (let s = 0; s < senders; s++) {
    const sender = `+1415${String(s).padStart(7, '0')}`;
    for (let k = 0; k < 3; k++) {
      const recipient = `+1510${String(Math.floor(r() * 9_000_000)).padStart(7, '0')}`;
      const { hi, lo } = keys.recipientHash(recipient);
      held.message(
        sender,
        'LONG_CODE',
        null,
        {
          ...facts,
          timeMs: T0 + (s % 1_000) * 10 + k * 3_600_000,
          recipientHi: hi,
          recipientLo: lo,
          recipientPosition: Number(recipient.slice(1)) + keys.positionOffset,
        },
        T0,
      );
    }
    if (s % 10_000 === 9_999) {
      held.drain(0);
      held.takeChanged();
    }
  }
  held.drain(0);
  held.takeChanged();
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / senders;
  const cheap = held.lightSenderCount / held.senderCount;
  return { bytes, cheap };
}
const memory = [100_000, 1_000_000].map((n) => {
  const senders = Math.round(n * size);
  return { senders, ...bytesPerOrdinarySender(senders, 2) };
});
const linkedMemory = { senders: memory[0]!.senders, ...bytesPerOrdinarySender(memory[0]!.senders, 2, true) };

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`## Feature engine core (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpu}, Node ${process.version}${size < 1 ? ' (smoke size)' : ''}.

| What | Figure |
| --- | --- |
| Messages/s through content analysis + 4 windows + drain, one core (median of 3, ${stream.length.toLocaleString('en')} events, 10,000 senders) | ${Math.round(median(rates)).toLocaleString('en')} |
| The same with the cross-key stages in process: each message also read back into its recipient's relation book and counted in its content cluster | ${Math.round(median(crossRates)).toLocaleString('en')} (${crossCost >= 0 ? `${crossCost}% fewer` : `${-crossCost}% more`}) |
| Heap bytes per address that only receives (one message, its relation book), ${Math.round(100_000 * size).toLocaleString('en')} addresses | ${Math.round(receiverBytes).toLocaleString('en')} |
${memory
  .map(
    (m) =>
      `| Heap bytes per ordinary sender (3 messages an hour apart, ${m.senders.toLocaleString('en')} senders held, ${Math.round(m.cheap * 100)}% in the cheap tier; sender state and its relation book) | ${Math.round(m.bytes).toLocaleString('en')} |`,
  )
  .join('\n')}
| The same, ${linkedMemory.senders.toLocaleString('en')} senders, each message with a link to ${LINK_DOMAIN} (its domain hash in each kept event, and the sender's recent URL domains, urlDomains) | ${Math.round(linkedMemory.bytes).toLocaleString('en')} (${Math.round(linkedMemory.bytes - memory[0]!.bytes)} more) |

Since issue 5 every address also has a relation book (whom it messaged, who answered, who opted
out; a packed string for small books), included in the per-sender figure; an address that only
receives costs its book alone.

Targets of issue 4: 50,000 events/s end to end (${median(rates) >= 50_000 ? 'met by the core' : 'not met by the core alone'}) and under 300 bytes per ordinary sender (${memory.every((m) => m.bytes < 300) ? 'met' : 'not met'}).
`);
