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
      'Share of messages whose recipient is not a contact and was not messaged by the sender in the 24 h before (up to 10,000 recipients remembered per sender).',
  },
  {
    name: 'contactShare',
    unit: '0-1',
    definition:
      'Share of messages to contacts: recipients who messaged the sender in the 30 days before (the message completes a two-way exchange); they never count as new contacts.',
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
    name: 'repliedRecipients',
    unit: 'count',
    definition:
      'Recipients messaged in the window who answered one of the window’s messages, within 72 h and not with an opt-out, by asOf. Lagged: a message sent x before asOf has had x to be answered, so short windows show only quick replies.',
  },
  {
    name: 'replyRate',
    unit: '0-1',
    definition:
      'repliedRecipients / recipients messaged in the window (of the sender’s 10,000 most recently active counterparts); lagged like repliedRecipients.',
  },
  {
    name: 'optOuts',
    unit: 'count',
    definition:
      'Recipients messaged in the window who answered one of the window’s messages with an opt-out (STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE, STOPALL, in any case, with courtesy words) within 72 h, by asOf; lagged like repliedRecipients.',
  },
  {
    name: 'optOutRate',
    unit: '0-1',
    definition: 'optOuts / recipients messaged in the window; lagged like repliedRecipients.',
  },
  {
    name: 'postOptOutSends',
    unit: 'count',
    definition:
      'Messages sent in the window to a recipient who had opted out from the sender and not opted back in (START, UNSTOP), except one confirmation within 5 min of the opt-out. Opt-outs are kept 365 days, up to 50,000 per sender, under a 53-bit keyed hash: a false match has odds under 6e-12 per message.',
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
  const longest = windows[windows.length - 1] ?? { name: 'longest', lengthMs: 0, sliceMs: 0 };
  const span = (ms: number) =>
    ms % 3_600_000 === 0
      ? `${ms / 3_600_000} h`
      : ms % 60_000 === 0
        ? `${ms / 60_000} min`
        : `${ms / 1000} s`;
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
  last publication, or once the partition's newest event time (its stream time) is that far past
  the sender's newest event (so a burst's last message is published about one interval after it);
  \`asOf\` is the sender's newest event time;
- once more when the shortest window (\`${windows[0]?.name ?? 'first'}\`) no longer holds the sender's newest event, with
  \`asOf\` at that moment, so consumers see a burst end while the sender stays silent (published by
  the first drain after the watermark enters the minute following that moment, as minutes close);
- never for a sender that changed nothing: a quiet sender costs nothing.

## Features (per window)

| Feature | Unit | Definition |
| --- | --- | --- |
${featureRows}

## Replies, opt-outs and contacts

A reply to a sender is a message of another sender, read in that sender's partition. The engine
re-keys every message by its recipient into the internal topic
\`spamgate.feature-engine.by-recipient\` (no body; both addresses only as keyed hashes; written in
the same transaction as the rest of the batch's outputs) and reads it back in the partition of the
recipient, where it lands in that address's relation book (named by the hash, its book id): per
counterpart, when they were last
messaged, last heard from, which message they last answered, and whether they opted out.

- **Lag.** Reply and opt-out features count the recipients messaged in the window and the answers
  that arrived by \`asOf\` within the reply delay (\`SPAMGATE_REPLY_DELAY\`, 72 h). Answers take
  minutes to hours, so a window's value rises after its messages were sent: the 1m and 10m values
  show quick answers (and auto-replies), the 24h value is the one to compare across senders, and a
  sender that is seconds old has a reply rate of 0 whatever its recipients will do.
- **Opt-outs** are replies that are an opt-out request (\`isOptOut\`: a keyword alone or with a few
  courtesy words). They are remembered per sender until revoked by START or UNSTOP, up to
  \`SPAMGATE_OPT_OUT_RETENTION\` (365 days) after the sender's last activity. A message to an
  opted-out recipient is a post-opt-out send, except one confirmation within 5 minutes. When the
  opt-out reaches the partition after a later message of the sender was read, that message is
  counted then; only the latest message to that recipient is known, so in that rare order two
  messages between the opt-out and its arrival count as one.
- **Contacts.** A recipient who messaged the sender within \`SPAMGATE_CONTACT_LOOKBACK\` (30 days)
  is a contact: the message completes a two-way exchange, counts in \`contactShare\` and never as a
  new contact.
- **Bounds.** A sender's book keeps its 10,000 most recently active counterparts (rates are over
  those), 50,000 opt-outs and the times of its last 4,096 post-opt-out sends. Counterparts are keyed
  by 53 bits of their keyed hash, so an unrelated recipient matches an opt-out with probability
  n / 2^53 (under 6e-12 at n = 50,000).
- **Delivery.** The repartition is exactly-once like every other output: the re-keyed record is
  committed with the offsets of the message it came from, and consumed in the transaction of the
  partition it lands in. It is not ordered with the sender's own messages (the recipient's
  partition may be behind): an answer read after the sender's next message to the same person is
  still credited to the message it answered (the book keeps the last two per counterpart), one
  read after two or more is credited to none. Whether a recipient is a contact is decided when the
  sender's message is read: their message reaching the partition later does not change it.

## Content clusters

One template sent from many numbers (snowshoe spam, or a registered peer-to-peer campaign) is
counted across senders by the cluster stage and published on \`sms.cluster-features\`; those
features and the cluster id are defined in [content-clusters.md](content-clusters.md).
SenderFeatures name the sender's dominant clusters (\`clusters\`: at most 3, by recipients in the
longest window whose latest message from the sender was of the cluster): the key to join a
sender with its templates' spread across senders.

What a sender's relation book learns is also counted for the cluster of the message it concerns,
so that a cluster is judged by its recipients across all its numbers:

- **Opt-outs and replies** (cluster \`optOuts\`, \`replies\`): an answer is attributed when it
  answers the sender's latest message to that recipient, that message has a cluster, and it came
  within the reply delay (\`SPAMGATE_REPLY_DELAY\`, 72 h), the rule the sender's own reply features
  use. Only the first answer of each kind to a message counts: the first opt-out (a repeated STOP
  is not a new one) and the first reply (any other message back, START and UNSTOP included, as in
  \`repliedRecipients\`); the rest of a conversation, or an auto-reply loop, adds nothing. An answer
  read after a later message of the sender to the same person (the partitions are not in step)
  still counts for the sender but for no cluster, since the book keeps the cluster of the latest
  message only; an answer read before the message it answers likewise.
- **Spam reports and delivery failures** (cluster \`spamReports\`, \`deliveryFailures\`): feedback
  that names its recipient is attributed to the cluster of the sender's latest message to them;
  feedback without a recipient names no message and counts for the sender only.
- **Number walking** (cluster \`sequentialShare\`): each message carries whether it formed a
  sequential pair for its sender, derived once when it is read, exactly as \`sequentialShare\`
  above counts it (a sender's first message never is one, nor one to a recipient that is not a
  number).
- **Call-back numbers** (cluster \`callbackNumbers\`): the numbers \`callbackShare\` detects, the
  first 4 per message, as keyed subscriber hashes; the body is scanned once for both.
- **Sends after an opt-out** (cluster \`postOptOutSends\`): each message carries whether its
  recipient had opted out from its sender, past the one confirmation allowed, decided by the
  sender's relation book when the message is read, exactly as \`postOptOutSends\` above counts
  it. A message read before the opt-out it follows (the rare order under Opt-outs) counts for
  the sender once the opt-out arrives, but not for the cluster: its event has gone already.
- **Senders ignoring opt-outs** (cluster \`optOutIgnoringSenders\`): each message also carries
  whether its sender sent past an opt-out (the confirmation excepted) within the hour up to it,
  this message included, from the same relation book; the cluster counts the distinct senders
  whose messages came flagged.
- **Senders told STOP, and those ignoring it** (cluster \`optedOutSenders\`,
  \`optOutIgnoredSenders\`): an opt-out attributed to the cluster (above) names the sender it
  answers, who is counted as told STOP about the template. The sender's relation book keeps,
  with each opt-out, the cluster of the message it answered; a send past that opt-out (the
  confirmation excepted), in any content, sends the template an OPT_OUT_IGNORED event naming the
  sender, counted as told and as ignoring it. A bot's pitch after "are you sure?" is another
  template: the opener it answered still learns. Opt-outs recorded before books kept their
  cluster, and opt-outs read after the send past them, tell no template.
- **Sender sample** (cluster \`senderSample\`): the 8 smallest keyed 52-bit fingerprints of the
  window's senders, the smallest of its slices' smallest (each from the distinct counter behind
  \`distinctSenders\`), so a window of any size has one while each of its slices counts its
  senders exactly (at most 128): templates the same numbers send share these values.
- **Sender block sample** (cluster \`senderBlockSample\`): the same over the senders' number
  blocks: a number of 8 digits or more without its last digit (ten consecutive numbers share
  one), hashed with a key of its own derived from the deployment secret where the sender is read,
  and carried on each message's cluster event. Templates that one block of consecutive numbers
  sends (a SIM box's SIMs) share these values from their first messages, before any number has
  sent several of them.

## URL domains

SenderFeatures name the registrable domains the sender's messages linked to (\`urlDomains\`): those
seen in the longest window (\`${longest.name}\`) at \`asOf\`, in event time, most recently seen first, at
most 16. The decision engine blocks a sender whose list holds a deny-listed domain, so the list is
exact: names, not hashes or sketches.

- **Domains** are what \`registrableDomain\` gives for each link's host (bank.example for
  login.bank.example; an approximation of the Public Suffix List, see services/core/src/content/domains.ts): lower
  case, international names in punycode, each listed once. A "domain" over 253 bytes (longer than
  any DNS name, so no reachable host) is left out rather than cut into some other name.
- **Order.** By the latest event time each domain was seen at; for equal times, the message read
  later first, and within one message the earlier link first. A domain seen again moves up; a late
  message never makes a domain older. Past 16, the least recently seen one goes.
- **Window.** A domain is listed while its time lies in the slices of the longest window at
  \`asOf\`, as that window's \`distinctUrlDomains\` counts it: it leaves the list between W − S and W
  after it was last seen (${span(longest.lengthMs - longest.sliceMs)} to ${span(longest.lengthMs)} here), and is then dropped from the sender's state.
- **State.** The domains are part of the sender's state and changelog record, so a restored
  partition lists exactly what its previous owner would have. They go with the sender when it is
  evicted (a whole longest window idle) or forgotten under memory pressure; a sender shed of its
  windows keeps them. A sender restored from a record written before this field existed lists only
  domains seen after the upgrade.
- **Cost.** A sender with no link in the window pays nothing in the cheap tier and one byte with
  full state. Each listed domain costs its length plus 2 to 5 bytes in a cheap sender (one byte
  more for the list), its length plus 9 bytes in a full entry's record.

Message bodies are read in-stream only: the engine keeps a keyed locality-sensitive fingerprint,
URL domains, and flags (URL, call-back number, opt-out), never the text. Recipients are kept as
keyed hashes; the sequential score uses numbers shifted by a secret offset, which keeps their
distances and hides the numbers.
`;
}
