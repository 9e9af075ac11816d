// The decision engine as a process, reading records of a release newer than itself (a feature
// engine and an operator CLI upgraded first): it learns their schemas from spamgate.schemas and
// decides on them; a record whose fingerprint is registered nowhere is dead-lettered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubscriberHasher, registerSchemas } from '@spamgate/core';
import { type DeadLetter, MARKER, type PolicyOverride, type SenderFeatures } from '@spamgate/schemas';
import {
  eventually,
  newerRelease,
  type RecordSchema,
  TEST_HASH_KEY,
  testLogger,
  uniqueName,
} from '@spamgate/test';
import { BLAST, features } from '../fixtures.ts';
import { codec, decodeDecision, useDecisionHarness } from './harness.ts';

const h = useDecisionHarness();

const BLASTER = '+12025550001';
const STRANGER = '+12025550077';
const GARBLED = '+12025550099';

/** The next release: a field added to the nested WindowFeatures and one to SenderFeatures; one to PolicyOverride. */
const next = newerRelease({
  SenderFeatures: (s) => ({
    ...s,
    fields: [
      ...s.fields.map((f) => {
        if (f.name !== 'windows') return f;
        const window = (f.type as { items: RecordSchema }).items;
        const rcs = { name: 'rcsMessages', type: 'long', default: 0, doc: 'RCS messages.' };
        return { ...f, type: { type: 'array', items: { ...window, fields: [...window.fields, rcs] } } };
      }),
      { name: 'region', type: 'string', default: '', doc: 'Where the sender was seen.' },
    ],
  }),
  PolicyOverride: (s) => ({
    ...s,
    fields: [...s.fields, { name: 'ticket', type: ['null', 'string'], default: null, doc: 'Ticket.' }],
  }),
});

test('features and overrides written with a newer schema are decided on once it is on spamgate.schemas; a fingerprint registered nowhere is dead-lettered', async () => {
  const prefix = uniqueName('de-evolve');
  const topics = await h.provision(prefix);
  const engine = h.startEngine(prefix);
  const decisions = await h.read(topics.decisions, decodeDecision);
  const letters = await h.read(topics.deadLetters, (b) => codec.decode('DeadLetter', b) as DeadLetter);
  await engine.waitForLog((l) => l.msg === 'partitions assigned');

  // The newer writers' start-up: their schemas on the topic (acks=all), then their records.
  await registerSchemas(h.kafka, {
    topic: topics.schemas,
    schemas: next.registrations,
    logger: testLogger('newer-producer'),
  });
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < 10; i++) {
    const n = 120 * (i + 1);
    const f = features({
      sender: BLASTER,
      asOf: t0 + i * 1_000,
      windows: { all: { ...BLAST.all, messages: n, distinctRecipients: n } },
    });
    const newer = {
      ...f,
      region: 'eu',
      windows: f.windows.map((w) => ({ ...w, rcsMessages: i })),
    } as SenderFeatures;
    await h.produceRaw(topics.features, BLASTER, next.codec.encode('SenderFeatures', newer));
  }
  const garbled = codec.encode('SenderFeatures', features({ sender: GARBLED, asOf: t0 }));
  await h.produceRaw(
    topics.features,
    GARBLED,
    Buffer.concat([MARKER, Buffer.from('0ddba11ca11ab1e5', 'hex'), garbled.subarray(10)]),
  );
  const block: PolicyOverride = {
    overrideId: 'ovr-newer',
    scope: 'SENDER',
    target: STRANGER,
    action: 'BLOCK',
    reason: 'complaint 17',
    author: 'noc-test',
    createdAt: Date.now(),
    expiresAt: null,
  };
  await h.produceRaw(
    topics.overrides,
    STRANGER,
    next.codec.encode('PolicyOverride', { ...block, ticket: 'T-17' } as PolicyOverride),
  );

  const blocked = await eventually(
    () => decisions.records.find((r) => r.key === BLASTER && r.value?.action === 'BLOCK'),
    { what: 'the blaster, known only from newer features, blocked' },
  );
  assert.ok(blocked.value!.reasons.some((r) => r.code === 'NO_REPLIES'));
  const operator = await eventually(
    () => decisions.records.find((r) => r.key === STRANGER && r.value?.action === 'BLOCK'),
    { what: 'the operator block written with a newer PolicyOverride applied' },
  );
  assert.equal(operator.value!.overrideId, 'ovr-newer');

  const [letter] = await eventually(() => (letters.records.length >= 1 ? letters.records : undefined), {
    what: 'the garbled record dead-lettered',
  });
  assert.equal(letter!.value!.errorCode, 'UNKNOWN_FINGERPRINT');
  assert.equal(letter!.value!.originalTopic, topics.features);
  // Keyed by the record's key as a keyed hash, never the key itself.
  assert.equal(letter!.key, createSubscriberHasher(TEST_HASH_KEY).hash(GARBLED));
  await h.waitCommitted(prefix, topics.features, 11, engine);
  assert.equal(letters.records.length, 1, 'only the garbled record: every newer one was read');
  assert.deepEqual(
    engine.logs
      .filter((l) => l.msg === 'learned a writer schema')
      .map((l) => l.record)
      .sort(),
    ['PolicyOverride', 'SenderFeatures'],
  );
  engine.kill();
});
