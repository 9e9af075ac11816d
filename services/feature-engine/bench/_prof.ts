import type { MessageEvent } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';
import { createFactKeys, messageFacts } from '../src/engine/facts.ts';
import { createPartitionProcessor, DEFAULT_PROCESSOR_OPTIONS } from '../src/engine/partition-processor.ts';

const keys = createFactKeys('bench-secret-0123456789abcdef');
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const options = { ...DEFAULT_PROCESSOR_OPTIONS, maxFutureSkewMs: 365 * 86_400_000 };
const templates = [
  'Hi {n}, your package {c} is waiting: https://dl.example.com/{c}',
  'Reminder: appointment on {d} at {h}pm. Reply C to confirm',
  'hey {n} are we still on for tonight?',
  'URGENT {n}: your account is locked, verify at bit.ly/{c} now',
  'Polls close at 8pm today, {n}! Find your place: vote.example.org/{c}',
];
const r = seededRandom(1);
const stream: MessageEvent[] = [];
for (let i = 0; i < 100000; i++) {
  const n = Math.floor(r() * 1000);
  stream.push({
    messageId: `m-${i}`,
    eventTime: T0 + i * 2,
    sender: `+1202${String(Math.floor(r() * 10000)).padStart(7, '0')}`,
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
const p = createPartitionProcessor(options);
let tf = 0,
  tp = 0;
const t0 = performance.now();
for (let i = 0; i < stream.length; i++) {
  const e = stream[i]!;
  const a = performance.now();
  const f = messageFacts(e, keys, 0).facts;
  const b = performance.now();
  p.message(e.sender, e.senderKind, e.campaignId, f, T0);
  tp += performance.now() - b;
  tf += b - a;
  if (i % 1000 === 999) {
    const c = performance.now();
    p.drain(0);
    p.takeChanged();
    tp += performance.now() - c;
  }
}
console.log(
  'total ms',
  Math.round(performance.now() - t0),
  'facts ms',
  Math.round(tf),
  'processor ms',
  Math.round(tp),
  'light',
  p.lightSenderCount,
  'senders',
  p.senderCount,
  'promoted',
  p.stats.promotedSenders,
);
