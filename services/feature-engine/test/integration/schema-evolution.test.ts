// The feature engine as a process, reading message events of a schema version newer than its own
// (the SMSC upgraded first, its schema published on spamgate.schemas): every one is applied, and
// a record whose fingerprint is registered nowhere is dead-lettered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubscriberHasher, readToEnd, registerSchemas } from '@spamgate/core';
import { MARKER, type MessageEvent } from '@spamgate/schemas';
import { newerRelease, testLogger, uniqueName } from '@spamgate/test';
import { codec, HARNESS_HASH_KEY, oneSenderEvents, useHarness } from './harness.ts';

const h = useHarness();

/** The SMSC's next release: MessageEvent with a channel, defaulted for readers that lack it. */
const next = newerRelease({
  MessageEvent: (s) => ({
    ...s,
    fields: [...s.fields, { name: 'channel', type: 'string', default: 'SMS', doc: 'SMS or RCS.' }],
  }),
});

test('message events written with a newer schema are applied once it is on spamgate.schemas; a fingerprint registered nowhere is dead-lettered', {
  timeout: 120_000,
}, async () => {
  const prefix = uniqueName('fe-evolve');
  const t = await h.provision(prefix);
  const engine = h.startEngine(prefix);
  await registerSchemas(h.kafka, {
    topic: t.schemas,
    schemas: next.registrations,
    logger: testLogger('smsc'),
  });
  const events = oneSenderEvents(30);
  const producer = h.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const garbled = codec.encode('MessageEvent', { ...events[0]!, messageId: 'garbled' });
    await producer.send({
      topic: t.messages,
      acks: -1,
      messages: [
        ...events.map((e) => ({
          key: e.sender,
          value: next.codec.encode('MessageEvent', { ...e, channel: 'RCS' } as MessageEvent),
        })),
        {
          key: 'garbled',
          value: Buffer.concat([MARKER, Buffer.from('0ddba11ca11ab1e5', 'hex'), garbled.subarray(10)]),
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  await h.waitCommitted(prefix, t.messages, events.length + 1, engine, 90_000);

  // Each message applied is re-keyed by its recipient: one ReceivedMessage per message.
  const received: string[] = [];
  await readToEnd(h.kafka, {
    topic: t.byRecipient,
    groupId: uniqueName('check'),
    onRecords: ({ messages }) => {
      for (const m of messages) received.push(codec.decode('ReceivedMessage', m.value!).messageId);
    },
  });
  assert.deepEqual(received.sort(), events.map((e) => e.messageId).sort());
  const letters: { key: string; code: string }[] = [];
  await readToEnd(h.kafka, {
    topic: t.deadLetters,
    groupId: uniqueName('check'),
    onRecords: ({ messages }) => {
      for (const m of messages)
        letters.push({ key: m.key!.toString(), code: codec.decode('DeadLetter', m.value!).errorCode });
    },
  });
  // Keyed by the record's key as a keyed hash, never the key itself.
  assert.deepEqual(letters, [
    { key: createSubscriberHasher(HARNESS_HASH_KEY).hash('garbled'), code: 'UNKNOWN_FINGERPRINT' },
  ]);
  assert.deepEqual(
    engine.logs.filter((l) => l.msg === 'learned a writer schema').map((l) => l.record),
    ['MessageEvent'],
  );
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
});
