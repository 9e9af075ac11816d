// The input handlers without Kafka: three partitions (the senders', the recipients', the content
// cluster's) and the re-keyed records routed between them by key, as the repartition topics do.
// A message, the opt-out and the reply that answer it, a spam report and a delivery failure end
// up counted once each in the cluster's windows; each only if it was routed to the partition its
// key names. Messages to a recipient who opted out are flagged past the one confirmation, and
// counted for the cluster as for the sender. Bad records throw the typed errors the shell
// dead-letters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  callbackNumbers,
  clusterIdOf,
  clusterIdString,
  createSubscriberHasher,
  InvalidClusterIdError,
  isBadInput,
} from '@spamgate/core';
import type { ClusterEvent, FeedbackEvent, MessageEvent, ReceivedMessage } from '@spamgate/schemas';
import { createClusterProcessor } from '../src/clusters/cluster-processor.ts';
import { EventTimeInvalidError } from '../src/clusters/cluster-processor-api.ts';
import { createFactKeys } from '../src/engine/facts.ts';
import {
  createInputHandlers,
  drainPartition,
  InvalidAddressError,
  type PartitionProcessors,
  type Rekeyed,
} from '../src/engine/input-handlers.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import { EventTimeSkewError } from '../src/engine/processor-api.ts';
import { processorOptionsFor } from './processor-options.ts';

const SECRET = 'input-handlers-secret-0123456789';
const keys = createFactKeys(SECRET);
const TEST_PROCESSOR_OPTIONS = processorOptionsFor(keys);
const hasher = createSubscriberHasher(SECRET);
const handlers = createInputHandlers({ keys, utcOffsetHours: 0 });
const T0 = 1_794_996_000_000;
const CLOCK = T0 + 86_400_000;
const MIN = 60_000;

const S1 = '+12025550100';
const S2 = '+12025550177';
const R1 = '+13035550140';
const R2 = '+13035550141'; // R1's neighbour: S1 walks from one to the other
const R3 = '+14155550999';
const CALLBACK = '1-888-555-0142';
const body = (name: string) =>
  `${name}, your bank account has been suspended after unusual activity. Call our fraud department ` +
  `at ${CALLBACK} today to restore access.`;
const CLUSTER = clusterIdString(clusterIdOf(body('Ann'), keys.cluster)!);

/** One partition's processors, with the default 5 min allowed future skew. */
const partitions = (): PartitionProcessors => ({
  processor: createPartitionProcessor(TEST_PROCESSOR_OPTIONS),
  clusters: createClusterProcessor(),
});

let seq = 0;
function message(sender: string, recipient: string, t: number, text: string): MessageEvent {
  return {
    messageId: `m${seq++}`,
    eventTime: t,
    sender,
    senderKind: 'LONG_CODE',
    recipient,
    body: text,
    campaignId: null,
    originNetwork: null,
  };
}

function feedback(kind: FeedbackEvent['kind'], sender: string, recipient: string, t: number): FeedbackEvent {
  return { feedbackId: `f${seq++}`, eventTime: t, kind, sender, recipient, messageId: null, errorCode: null };
}

const hashOf = (address: string) => hasher.hashBigInt(address);
const bytesOf = (h: Buffer) => h.readBigUInt64BE(0);

/**
 * Delivery of re-keyed records between partitions as the repartition topics would, each to the
 * partition `owner` names for its key (a record keyed anything else fails the test); a record by
 * recipient is keyed by the recipient's book id and placed by its address. `route`
 * returns the cluster events among what it delivered; `toCluster` holds every one delivered.
 */
function network(owner: ReadonlyMap<string, PartitionProcessors>) {
  const partitionOf = (key: string) => {
    const p = owner.get(key);
    assert.ok(p, `a record keyed ${key}`);
    return p;
  };
  const toCluster: ClusterEvent[] = [];
  const route = (records: Rekeyed[], t: number): ClusterEvent[] => {
    const events: ClusterEvent[] = [];
    for (const r of records) {
      if (r.to === 'byRecipient') {
        assert.equal(r.key, r.value.recipient, 'keyed by its recipient');
        assert.equal(r.key, keys.bookId(r.partitionKey), "the recipient's book id, never its number");
        assert.equal(r.value.recipientHashed, true);
        events.push(...route(handlers.received(partitionOf(r.partitionKey), r.value, t), t));
      } else {
        handlers.clusterEvent(partitionOf(r.key), r.key, r.value, t);
        events.push(r.value);
        toCluster.push(r.value);
      }
    }
    return events;
  };
  return { route, toCluster };
}

test('a message, the answers to it and feedback about it reach its cluster through the partitions their keys name', () => {
  assert.notEqual(clusterIdOf(body('Ann'), keys.cluster), null, 'the template has a cluster id');
  assert.equal(clusterIdString(clusterIdOf(body('Grace'), keys.cluster)!), CLUSTER, 'copies share it');
  // Senders in A, recipients in B, the cluster in C: a record routed anywhere else finds no state.
  const [A, B, C] = [partitions(), partitions(), partitions()];
  const { route, toCluster } = network(
    new Map([
      [S1, A],
      [S2, A],
      [R1, B],
      [R2, B],
      [R3, B],
      [CLUSTER, C],
    ]),
  );

  // S1 messages R1, then R1's neighbour R2; S2 messages R3.
  const first = handlers.message(A, message(S1, R1, T0, body('Ann')), CLOCK);
  assert.deepEqual(
    first.map((r) => [r.to, r.key]),
    [
      ['byRecipient', keys.bookId(R1)],
      ['byCluster', CLUSTER],
    ],
  );
  const received = first[0]!.value as ReceivedMessage;
  assert.equal(received.kind, 'MESSAGE');
  assert.equal(bytesOf(received.fromHash), hashOf(S1), 'the sender only as its keyed hash');
  const sent = first[1]!.value as ClusterEvent;
  assert.deepEqual(
    [sent.kind, sent.sequential, sent.afterOptOut, bytesOf(sent.senderHash), bytesOf(sent.recipientHash)],
    ['MESSAGE', false, false, hashOf(S1), hashOf(R1)],
  );
  // The call-back number as a firewall would hash the number it finds in the body.
  const digits = callbackNumbers(body('Ann'), S1);
  assert.deepEqual(digits, ['18885550142']);
  assert.deepEqual(
    sent.callbackHashes.map((h) => bytesOf(h).toString()),
    [hasher.hash(digits[0]!)],
  );
  assert.deepEqual(route(first, CLOCK), [sent], 'R1 has sent nothing to S1: nothing to attribute');
  const walked = handlers.message(A, message(S1, R2, T0 + MIN, body('Bob')), CLOCK);
  assert.equal((walked[1]!.value as ClusterEvent).sequential, true, 'R2 is R1 + 1');
  route(walked, CLOCK);
  const other = handlers.message(A, message(S2, R3, T0 + 2 * MIN, body('Cy')), CLOCK);
  assert.equal((other[1]!.value as ClusterEvent).sequential, false, "S2's first message");
  route(other, CLOCK);

  // R1 answers STOP, R2 asks who this is (twice): read in B, re-keyed to S1's partition A, where
  // S1's relation book knows the cluster of its message to each, and from there to C.
  const stop = handlers.message(B, message(R1, S1, T0 + 5 * MIN, 'STOP'), CLOCK);
  assert.deepEqual(
    stop.map((r) => [r.to, r.key, (r.value as ReceivedMessage).kind]),
    [['byRecipient', keys.bookId(S1), 'OPT_OUT']],
    'an opt-out has no cluster of its own',
  );
  const optOut = route(stop, CLOCK);
  assert.deepEqual(
    optOut.map((e) => [e.kind, bytesOf(e.senderHash), bytesOf(e.recipientHash), e.afterOptOut]),
    [['OPT_OUT', hashOf(S1), hashOf(R1), false]],
  );
  assert.deepEqual(
    route(handlers.message(B, message(R2, S1, T0 + 6 * MIN, 'who is this?'), CLOCK), CLOCK).map(
      (e) => e.kind,
    ),
    ['REPLY'],
  );
  assert.deepEqual(
    route(handlers.message(B, message(R2, S1, T0 + 7 * MIN, 'hello??'), CLOCK), CLOCK),
    [],
    'the conversation goes on: one reply per message',
  );

  // Feedback naming its recipient, in the sender's partition: reports and failures go to the cluster.
  const report = handlers.feedback(A, feedback('SPAM_REPORT', S2, R3, T0 + 8 * MIN), CLOCK);
  const failure = handlers.feedback(A, feedback('DELIVERY_FAILURE', S1, R2, T0 + 8 * MIN + 2_000), CLOCK);
  assert.deepEqual(
    [...report, ...failure].map((r) => [r.to, r.key, (r.value as ClusterEvent).kind]),
    [
      ['byCluster', CLUSTER, 'SPAM_REPORT'],
      ['byCluster', CLUSTER, 'DELIVERY_FAILURE'],
    ],
  );
  route([...report, ...failure], CLOCK);
  assert.deepEqual(handlers.feedback(A, feedback('SUBSCRIBER_BLOCK', S1, R1, T0 + 9 * MIN), CLOCK), []);
  assert.deepEqual(
    handlers.feedback(A, { ...feedback('SPAM_REPORT', S1, R1, T0 + 9 * MIN), recipient: null }, CLOCK),
    [],
    'a report that names no recipient names no message',
  );

  assert.deepEqual(
    toCluster.map((e) => e.kind),
    ['MESSAGE', 'MESSAGE', 'MESSAGE', 'OPT_OUT', 'REPLY', 'SPAM_REPORT', 'DELIVERY_FAILURE'],
  );
  const [m15] = C.clusters.features(CLUSTER)!;
  assert.deepEqual(
    [
      m15!.messages,
      m15!.distinctSenders,
      m15!.optOuts,
      m15!.replies,
      m15!.spamReports,
      m15!.deliveryFailures,
      m15!.sequentialShare,
      m15!.callbackNumbers,
    ],
    [3, 2, 1, 1, 1, 1, 1 / 3, [hasher.hash('18885550142')]],
  );
  assert.equal(A.clusters.clusterCount + B.clusters.clusterCount, 0, 'only C counts the cluster');

  // The shell's drain: the failure came 2 s after the report's record, under the 5 s interval, so
  // it waits for the watermark; the clusters' follows the partition's senders, which moved on.
  const before = C.clusters.drain(0);
  assert.equal(before.at(-1)!.windows[0]!.deliveryFailures, 0, 'not published yet');
  C.processor.advanceWatermark(T0 + 10 * MIN);
  const { clusters } = drainPartition(C, 123);
  assert.deepEqual(
    clusters.map((r) => [r.clusterId, r.emittedAt, r.windows[0]]),
    [[CLUSTER, 123, m15]],
  );
});

test('a message to a recipient who opted out is flagged past the one confirmation, and its cluster counts it as the sender does', () => {
  const [A, B, C] = [partitions(), partitions(), partitions()];
  const { route, toCluster } = network(
    new Map([
      [S1, A],
      [R1, B],
      [R2, B],
      [CLUSTER, C],
    ]),
  );
  /** S1 sends the template to `recipient` at `t`: whether its cluster event is flagged. */
  const send = (recipient: string, t: number): boolean => {
    const records = handlers.message(A, message(S1, recipient, t, body('Ann')), CLOCK);
    const events = route(records, CLOCK);
    const flagged = events[0]!.afterOptOut;
    // Past the opt-out, the template that drew it (this one) is told too.
    assert.deepEqual(
      events.map((e) => e.kind),
      flagged ? ['MESSAGE', 'OPT_OUT_IGNORED'] : ['MESSAGE'],
      'the message, and nothing it answers',
    );
    return flagged;
  };
  const answer = (from: string, t: number, text: string) =>
    route(handlers.message(B, message(from, S1, t, text), CLOCK), CLOCK);

  assert.equal(send(R1, T0), false, 'before any opt-out');
  assert.deepEqual(
    answer(R1, T0 + MIN, 'STOP').map((e) => [e.kind, e.afterOptOut]),
    [['OPT_OUT', false]],
  );
  assert.equal(send(R2, T0 + 2 * MIN), false, 'to someone else');
  assert.equal(send(R1, T0 + 3 * MIN), false, 'the one confirmation within 5 min of the STOP');
  assert.equal(send(R1, T0 + 4 * MIN), true, 'the confirmation is used up');
  assert.equal(send(R1, T0 + 10 * MIN), true, 'and so on');
  assert.deepEqual(
    answer(R1, T0 + 11 * MIN, 'START').map((e) => [e.kind, e.afterOptOut]),
    [['REPLY', false]],
    'an opt-in is a reply',
  );
  assert.equal(send(R1, T0 + 12 * MIN), false, 'after START, R1 may be messaged again');
  assert.equal(toCluster.filter((e) => e.afterOptOut).length, 2);

  // The cluster counts the flagged messages; the sender's own feature counts the same ones.
  const [m15] = C.clusters.features(CLUSTER)!;
  assert.deepEqual([m15!.messages, m15!.optOuts, m15!.replies, m15!.postOptOutSends], [6, 1, 1, 2]);
  // S1 was told STOP about the template, and went past it.
  assert.deepEqual([m15!.optedOutSenders, m15!.optOutIgnoredSenders], [1, 1]);
  A.processor.advanceWatermark(T0 + 20 * MIN);
  const sender = drainPartition(A, 0)
    .senders.flatMap((o) => (o.kind === 'features' && o.sender === S1 ? [o.value] : []))
    .at(-1)!;
  assert.equal(sender.windows.find((w) => w.window === '24h')!.postOptOutSends, 2);
});

test('a send past an opt-out, in any content, is held against the template that drew the opt-out', () => {
  // A bot's pattern: the opener draws a STOP, "are you sure?" is the one confirmation, and the
  // pitch that follows, another template, goes past it. The opener learns that S1 ignored it.
  const pitch = (name: string) =>
    `Before you go ${name}: no fees, no repairs, close on your timeline. Want a number? Call ${CALLBACK}.`;
  const PITCH = clusterIdString(clusterIdOf(pitch('Ann'), keys.cluster)!);
  assert.notEqual(PITCH, CLUSTER);
  const [A, B, C, D] = [partitions(), partitions(), partitions(), partitions()];
  const { route } = network(
    new Map([
      [S1, A],
      [S2, A],
      [R1, B],
      [R2, B],
      [CLUSTER, C],
      [PITCH, D],
    ]),
  );
  const send = (sender: string, recipient: string, t: number, text: string) =>
    route(handlers.message(A, message(sender, recipient, t, text), CLOCK), CLOCK).map((e) => e.kind);
  const answer = (from: string, to: string, t: number, text: string) =>
    route(handlers.message(B, message(from, to, t, text), CLOCK), CLOCK).map((e) => e.kind);

  assert.deepEqual(send(S1, R1, T0, body('Ann')), ['MESSAGE']);
  assert.deepEqual(send(S2, R2, T0, body('Bob')), ['MESSAGE']);
  assert.deepEqual(answer(R1, S1, T0 + 10_000, 'STOP'), ['OPT_OUT']);
  assert.deepEqual(answer(R2, S2, T0 + 10_000, 'STOP'), ['OPT_OUT']);
  // S2 honours it (one confirmation); S1 confirms and pitches anyway.
  assert.deepEqual(send(S2, R2, T0 + 15_000, 'You are unsubscribed and will get no more texts.'), []);
  assert.deepEqual(send(S1, R1, T0 + 15_000, 'Are you sure? Reply YES to stop.'), []);
  assert.deepEqual(send(S1, R1, T0 + 20_000, pitch('Ann')), ['MESSAGE', 'OPT_OUT_IGNORED']);

  const [opener] = C.clusters.features(CLUSTER)!;
  assert.deepEqual(
    [opener!.messages, opener!.optOuts, opener!.optedOutSenders, opener!.optOutIgnoredSenders],
    [2, 2, 2, 1],
    'two numbers told STOP about the opener, one of which ignored it',
  );
  const [pitched] = D.clusters.features(PITCH)!;
  assert.deepEqual([pitched!.messages, pitched!.postOptOutSends, pitched!.optOutIgnoredSenders], [1, 1, 0]);

  // The opt-out's template survives the sender's book being written to the changelog and restored.
  const restored = partitions();
  for (const { key, value } of A.processor.takeChanged()) if (value) restored.processor.restore(key, value);
  const again = route(handlers.message(restored, message(S1, R1, T0 + 30_000, pitch('Ann')), CLOCK), CLOCK);
  assert.deepEqual(
    again.map((e) => e.kind),
    ['MESSAGE', 'OPT_OUT_IGNORED'],
  );
});

test("a message's cluster event carries its sender's number block, which ten consecutive numbers share", () => {
  const C = partitions();
  const blockOf = (sender: string) => {
    const owner = new Map([[CLUSTER, C]]);
    const [, toCluster] = handlers.message(partitions(), message(sender, R1, T0, body('Ann')), CLOCK);
    assert.ok(toCluster && toCluster.to === 'byCluster');
    handlers.clusterEvent(owner.get(toCluster.key)!, toCluster.key, toCluster.value, CLOCK);
    return toCluster.value.senderBlockHash?.toString('hex') ?? null;
  };
  const block = blockOf('+12025550100');
  assert.equal(blockOf('+1 (202) 555-0109'), block, 'the same ten');
  assert.notEqual(blockOf('+12025550110'), block, 'the next ten');
  assert.equal(blockOf('ACMEBANK'), null, 'not a number');
  assert.equal(blockOf('+1202555'), null, 'too short to have blocks');
  // Keyed apart from subscriber hashes: not the hash of the 10-digit number the prefix spells.
  assert.notEqual(block, keys.hash64('+1202555010').toString('hex'));
  // The cluster samples the blocks: two here (ACMEBANK has none).
  const [m15] = C.clusters.features(CLUSTER)!;
  assert.equal(m15!.senderBlockSample.length, 2);
});

test('every message of a sender is flagged as ignoring opt-outs for an hour after it sent past one, and its clusters count the sender once', () => {
  const [A, B, C] = [partitions(), partitions(), partitions()];
  const { route } = network(
    new Map([
      [S1, A],
      [R1, B],
      [R2, B],
      [R3, B],
      [CLUSTER, C],
    ]),
  );
  /** S1 sends the template to `recipient` at `t`: its cluster event's flags. */
  const send = (recipient: string, t: number) => {
    const [e] = route(handlers.message(A, message(S1, recipient, t, body('Ann')), CLOCK), CLOCK);
    return [e!.afterOptOut, e!.senderIgnoresOptOuts];
  };
  assert.deepEqual(send(R1, T0), [false, false], 'nobody opted out');
  route(handlers.message(B, message(R1, S1, T0 + MIN, 'STOP'), CLOCK), CLOCK);
  assert.deepEqual(send(R1, T0 + 2 * MIN), [false, false], 'the one confirmation');
  assert.deepEqual(send(R2, T0 + 3 * MIN), [false, false], 'someone else, before any violation');
  assert.deepEqual(send(R1, T0 + 4 * MIN), [true, true], 'past the confirmation');
  assert.deepEqual(send(R3, T0 + 5 * MIN), [false, true], 'to someone else, within the hour after');
  assert.deepEqual(send(R2, T0 + 63 * MIN), [false, true], 'still within the hour');
  assert.deepEqual(send(R3, T0 + 65 * MIN), [false, false], 'an hour after its last violation');
  const w = C.clusters.features(CLUSTER)!.find((x) => x.window === '1h')!;
  assert.deepEqual([w.distinctSenders, w.optOutIgnoringSenders], [1, 1]);
});

/** The error the shell dead-letters: of its class, and marked as the record's fault (core's isBadInput). */
const deadLettered =
  (cls: abstract new (...args: never[]) => Error) =>
  (err: unknown): boolean =>
    err instanceof cls && isBadInput(err);

test('bad records throw the typed errors the shell dead-letters, and change nothing', () => {
  const p = partitions();
  const ok = message(S1, R1, T0, body('Ann'));
  for (const bad of [
    { ...ok, sender: '' },
    { ...ok, recipient: `\u0000r${R1}` },
    { ...ok, sender: '+1'.padEnd(65, '5') },
  ])
    assert.throws(() => handlers.message(p, bad, CLOCK), deadLettered(InvalidAddressError));
  assert.throws(
    () => handlers.message(p, { ...ok, eventTime: CLOCK + 301_000 }, CLOCK),
    deadLettered(EventTimeSkewError),
  );
  assert.throws(
    () => handlers.feedback(p, { ...feedback('SPAM_REPORT', S1, R1, T0), sender: '\u0007' }, CLOCK),
    deadLettered(InvalidAddressError),
  );
  // An earlier release's record names the recipient in clear; this one's by a book id.
  for (const [recipient, recipientHashed] of [
    ['', false],
    ['+1202555010', true],
    [keys.bookId(R1).toUpperCase(), true],
  ] as const)
    assert.throws(
      () =>
        handlers.received(
          p,
          {
            messageId: 'x',
            eventTime: T0,
            recipient,
            fromHash: keys.hash64(S1),
            kind: 'MESSAGE',
            recipientHashed,
            previousRecipient: null,
            previousFromHash: null,
          },
          CLOCK,
        ),
      deadLettered(InvalidAddressError),
    );
  assert.equal(p.processor.senderCount + p.processor.relationBookCount, 0, 'no sender state');
  const event = handlers.message(partitions(), ok, CLOCK)[1]!.value as ClusterEvent;
  assert.throws(
    () => handlers.clusterEvent(p, 'not-a-cluster', event, CLOCK),
    deadLettered(InvalidClusterIdError),
  );
  assert.throws(
    () => handlers.clusterEvent(p, CLUSTER, { ...event, eventTime: Number.NaN }, CLOCK),
    deadLettered(EventTimeInvalidError),
  );
  assert.throws(
    () => handlers.clusterEvent(p, CLUSTER, { ...event, kind: 'REPLY', eventTime: CLOCK + 301_000 }, CLOCK),
    deadLettered(EventTimeSkewError),
  );
  assert.equal(p.clusters.clusterCount, 0, 'no cluster state');
});
