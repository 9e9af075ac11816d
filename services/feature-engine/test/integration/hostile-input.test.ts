// The feature engine as a process, fed issue 19's hostile records on every topic it reads (its
// inputs and its own repartition topics), and valid records keyed other than by their sender or
// recipient: each is dead-lettered with its reason, none stops it, and the messages after them
// are applied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubscriberHasher, readToEnd, registerSchemas } from '@spamgate/core';
import type { RecordName } from '@spamgate/schemas';
import { hostileCode, hostileRecords, testLogger, uniqueName } from '@spamgate/test';
import { createFactKeys } from '../../src/engine/facts.ts';
import { codec, HARNESS_HASH_KEY, oneSenderEvents, useHarness } from './harness.ts';

/** A dead letter is keyed by its record's key as a keyed hash, never the key itself. */
const hashed = (key: string) => createSubscriberHasher(HARNESS_HASH_KEY).hash(key);

const h = useHarness();

test('hostile records on every input topic are dead-lettered, and the engine goes on', {
  timeout: 120_000,
}, async () => {
  const prefix = uniqueName('fe-hostile');
  const t = await h.provision(prefix);
  const hostile = hostileRecords();
  await registerSchemas(h.kafka, {
    topic: t.schemas,
    schemas: [hostile.schema],
    logger: testLogger('writer'),
  });
  const inputs: readonly [string, RecordName][] = [
    [t.messages, 'MessageEvent'],
    [t.feedback, 'FeedbackEvent'],
    [t.byRecipient, 'ReceivedMessage'],
    [t.byCluster, 'ClusterEvent'],
  ];
  const producer = h.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (const [topic] of inputs) {
      await producer.send({
        topic,
        acks: -1,
        messages: hostile.records.map((r, i) => ({ key: `hostile-${i}`, value: r.value })),
      });
    }
    // Valid records under another number's key: in that number's partition, they would count there.
    const [first] = oneSenderEvents(1);
    const misKeyed: [string, Buffer][] = [
      [t.messages, codec.encode('MessageEvent', { ...first!, messageId: 'mis-keyed' })],
      [
        t.feedback,
        codec.encode('FeedbackEvent', {
          feedbackId: 'f-mis-keyed',
          eventTime: first!.eventTime,
          kind: 'SPAM_REPORT',
          sender: first!.sender,
          recipient: null,
          messageId: null,
          errorCode: null,
        }),
      ],
      [
        t.byRecipient,
        codec.encode('ReceivedMessage', {
          messageId: 'mis-keyed',
          eventTime: first!.eventTime,
          recipient: createFactKeys(HARNESS_HASH_KEY).bookId(first!.recipient),
          fromHash: Buffer.alloc(8, 1),
          kind: 'MESSAGE',
          recipientHashed: true,
          previousRecipient: null,
          previousFromHash: null,
        }),
      ],
    ];
    for (const [topic, value] of misKeyed)
      await producer.send({ topic, acks: -1, messages: [{ key: 'mis-keyed', value }] });
  } finally {
    await producer.disconnect();
  }
  const engine = h.startEngine(prefix);
  const events = oneSenderEvents(20);
  await h.produce(t.messages, events);
  await h.waitCommitted(prefix, t.messages, hostile.records.length + 1 + events.length, engine, 90_000);
  assert.equal(engine.child.exitCode, null, 'the engine is still running');

  // Every message after the hostile records applied: each re-keyed by its recipient.
  const received: string[] = [];
  await readToEnd(h.kafka, {
    topic: t.byRecipient,
    groupId: uniqueName('check'),
    onRecords: ({ messages }) => {
      for (const m of messages) {
        if (/^(hostile-|mis-keyed)/.test(m.key?.toString() ?? '')) continue; // the test's own
        received.push(codec.decode('ReceivedMessage', m.value!).messageId);
      }
    },
  });
  assert.deepEqual(received.sort(), events.map((e) => e.messageId).sort());
  const letters: string[] = [];
  await readToEnd(h.kafka, {
    topic: t.deadLetters,
    groupId: uniqueName('check'),
    onRecords: ({ messages }) => {
      for (const m of messages) {
        const l = codec.decode('DeadLetter', m.value!);
        assert.equal(m.key?.toString(), l.keyHash ?? undefined);
        assert.deepEqual([l.key, l.value], [null, null], 'a dead letter holds neither key nor value');
        letters.push(`${l.originalTopic} ${l.keyHash} ${l.errorCode}`);
      }
    },
  });
  assert.deepEqual(
    letters.sort(),
    [
      ...inputs.flatMap(([topic, record]) =>
        hostile.records.map((r, i) => `${topic} ${hashed(`hostile-${i}`)} ${hostileCode(r, record)}`),
      ),
      ...[t.messages, t.feedback, t.byRecipient].map(
        (topic) => `${topic} ${hashed('mis-keyed')} KEY_MISMATCH`,
      ),
    ].sort(),
  );
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
});
