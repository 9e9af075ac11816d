/**
 * Every per-window feature the engine publishes, with its one-line definition. docs/features.md
 * is generated from this list, and tests check that the list, the code's output and the
 * SenderFeatures schema name the same features, so none can drift from the others.
 */
import type { WindowFeatures } from '../windows/sender-state.ts';

export interface FeatureDefinition {
  /** Field name in WindowFeatures and in the Avro WindowFeatures record. */
  readonly name: Exclude<keyof WindowFeatures, 'window' | 'windowMs'>;
  /** Unit or range of the value. */
  readonly unit: string;
  /** One line: exactly what is counted or computed, over the window. */
  readonly definition: string;
}

export const FEATURES: readonly FeatureDefinition[] = Object.freeze([
  { name: 'messages', unit: 'count', definition: 'Messages the sender sent in the window.' },
  {
    name: 'peak1s',
    unit: 'messages',
    definition: 'Most messages the sender sent within one clock second that starts in the window.',
  },
  {
    name: 'peak10s',
    unit: 'messages',
    definition:
      'Most messages the sender sent within one 10-second bucket (aligned to the clock) that starts in the window.',
  },
  {
    name: 'distinctRecipients',
    unit: 'count',
    definition:
      'Distinct recipients (by keyed hash) messaged in the window; exact up to 128, then HyperLogLog (p = 12, standard error 1.6%).',
  },
  { name: 'fanOut', unit: '0-1', definition: 'distinctRecipients / messages; 0 when there are no messages.' },
  {
    name: 'newContactShare',
    unit: '0-1',
    definition:
      'Share of messages whose recipient the sender had not messaged in the 24 h before (up to 10,000 recipients remembered per sender).',
  },
  {
    name: 'sequentialShare',
    unit: '0-1',
    definition:
      'Share of consecutive message pairs (arrival order) whose recipients are different numbers at most 10 apart: number walking.',
  },
  {
    name: 'prefixEntropy',
    unit: 'bits',
    definition:
      'Shannon entropy of the recipients’ 6-digit national prefixes over the window’s messages (up to 64 prefixes per slice, the rest pooled).',
  },
  {
    name: 'topTemplateShare',
    unit: '0-1',
    definition:
      'Share of messages with a body that belong to the sender’s most used content template (fingerprints within the near-duplicate distance).',
  },
  {
    name: 'distinctTemplates',
    unit: 'count',
    definition:
      'Content templates seen in the window (the sender’s 16 most recently used templates are tracked).',
  },
  { name: 'urlShare', unit: '0-1', definition: 'Share of messages containing a URL.' },
  {
    name: 'distinctUrlDomains',
    unit: 'count',
    definition:
      'Distinct registrable domains of URLs in the window’s messages (exact up to 128, then HyperLogLog).',
  },
  {
    name: 'callbackShare',
    unit: '0-1',
    definition: 'Share of messages containing a phone number other than the sender’s (a call-back number).',
  },
  {
    name: 'timingCv',
    unit: 'ratio',
    definition:
      'Coefficient of variation (standard deviation / mean) of the gaps between consecutive messages; near 0 for metronomic scripts, 0 with fewer than two gaps.',
  },
  {
    name: 'quietHourShare',
    unit: '0-1',
    definition:
      'Share of messages sent between 21:00 and 08:00 at the recipient (time zone approximated by configuration).',
  },
  {
    name: 'deliveryFailures',
    unit: 'count',
    definition: 'Delivery failures reported for the sender’s messages in the window.',
  },
  {
    name: 'deliveryFailureRate',
    unit: 'ratio',
    definition:
      'deliveryFailures / messages; can exceed 1 when failures arrive for messages sent before the window.',
  },
  {
    name: 'spamReports',
    unit: 'count',
    definition: 'Spam reports (forwarded to 7726) about the sender received in the window.',
  },
  {
    name: 'subscriberBlocks',
    unit: 'count',
    definition: 'Subscribers who blocked the sender in the window.',
  },
  {
    name: 'registeredCapShare',
    unit: 'ratio',
    definition:
      'messages / the most the sender’s campaign tier allows in a window this long (per-minute cap × minutes, at most the daily cap × days; registrations file); above 1 the sender is over its registered rate; 0 without a metered campaign.',
  },
]);

/** The features document (docs/features.md), generated from FEATURES and the window list. */
export function featuresDocument(
  windows: readonly { name: string; lengthMs: number; sliceMs: number }[],
): string {
  const windowRows = windows
    .map((w) => `| ${w.name} | ${w.lengthMs / 1000} s | ${w.sliceMs / 1000} s | ${w.lengthMs / w.sliceMs} |`)
    .join('\n');
  const featureRows = FEATURES.map((f) => `| \`${f.name}\` | ${f.unit} | ${f.definition} |`).join('\n');
  return `# Sender features

<!-- Generated from services/feature-engine/src/features/catalog.ts; a test fails when this file differs. -->

The feature engine computes every feature below for every sender over each sliding window, in
event time, and publishes them in \`SenderFeatures\` (one \`WindowFeatures\` entry per window).

## Windows

A window of length W is cut into slices of width S. Evaluated at event time t, it covers the
W/S slices whose start lies in (floor(t/S)·S − W, floor(t/S)·S]: the slice holding t and the
ones before it, so it looks back between W − S and W. Each event updates one slice per window;
a window's value combines its slices.

| Window | Length | Slice | Slices |
| --- | --- | --- | --- |
${windowRows}

## When SenderFeatures are published

- when a sender's state changed and \`SPAMGATE_EMIT_INTERVAL\` (1 s) of event time passed since its
  last publication, or once the watermark is that far past its newest event (so a burst's last
  message is always published); \`asOf\` is the sender's newest event time;
- once more when the shortest window (\`${windows[0]?.name ?? 'first'}\`) no longer holds the sender's newest event, with
  \`asOf\` at that moment, so consumers see a burst end while the sender stays silent;
- never for a sender that changed nothing: a quiet sender costs nothing.

## Features (per window)

| Feature | Unit | Definition |
| --- | --- | --- |
${featureRows}

Message bodies are read in-stream only: the engine keeps a keyed locality-sensitive fingerprint,
URL domains, and flags (URL, call-back number, opt-out), never the text. Recipients are kept as
keyed hashes; the sequential score uses numbers shifted by a secret offset, which keeps their
distances and hides the numbers.
`;
}
