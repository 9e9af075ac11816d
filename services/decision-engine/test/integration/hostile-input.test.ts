// The decision engine as a process, fed issue 19's hostile records on every topic it reads, and
// valid ones under another key: each is dead-lettered with its reason, none stops it, and the
// features after them are decided on.
// sms.cluster-features matters most: every engine reads it whole before it decides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSubscriberHasher, registerSchemas } from '@spamgate/core';
import type { DeadLetter, RecordName } from '@spamgate/schemas';
import {
  eventually,
  hostileCode,
  hostileRecords,
  TEST_HASH_KEY,
  testLogger,
  uniqueName,
} from '@spamgate/test';
import { BLAST, cluster, features } from '../fixtures.ts';
import { codec, decodeDecision, useDecisionHarness } from './harness.ts';

/** A dead letter is keyed by its record's key as a keyed hash, never the key itself. */
const hashed = (key: string) => createSubscriberHasher(TEST_HASH_KEY).hash(key);

const h = useDecisionHarness();

test('hostile records on every input topic are dead-lettered, and the engine goes on deciding', async () => {
  const prefix = uniqueName('de-hostile');
  const topics = await h.provision(prefix);
  const hostile = hostileRecords();
  await registerSchemas(h.kafka, {
    topic: topics.schemas,
    schemas: [hostile.schema],
    logger: testLogger('writer'),
  });
  const inputs: readonly [string, RecordName][] = [
    [topics.features, 'SenderFeatures'],
    [topics.clusterFeatures, 'ClusterFeatures'],
    [topics.overrides, 'PolicyOverride'],
    [topics.contentOverrides, 'ContentOverride'],
    [topics.contentDecisions, 'ContentDecision'],
  ];
  // Before the engine starts, so the compacted topics it reads whole at start hold them.
  for (const [topic] of inputs) {
    for (const [i, r] of hostile.records.entries()) await h.produceRaw(topic, `hostile-${i}`, r.value);
  }
  // Valid records under a key that is not their sender or cluster id.
  await h.produceRaw(
    topics.features,
    'mis-keyed',
    codec.encode('SenderFeatures', features({ sender: '+12025550002' })),
  );
  await h.produceRaw(
    topics.clusterFeatures,
    'mis-keyed',
    codec.encode('ClusterFeatures', cluster('0a1b2c3d4e5f60', {})),
  );
  const engine = h.startEngine(prefix);
  const decisions = await h.read(topics.decisions, decodeDecision);
  const letters = await h.read(topics.deadLetters, (b) => codec.decode('DeadLetter', b) as DeadLetter);
  await engine.waitForLog((l) => l.msg === 'partitions assigned');

  const blaster = '+12025550001';
  const n = 1_200;
  await h.produceFeatures(topics.features, [
    features({
      sender: blaster,
      asOf: Date.now() - 60_000,
      windows: { all: { ...BLAST.all, messages: n, distinctRecipients: n } },
    }),
  ]);
  await eventually(() => decisions.records.find((r) => r.key === blaster && r.value?.action === 'BLOCK'), {
    what: 'the blaster after the hostile records blocked',
  });
  const expected = [
    ...inputs.flatMap(([topic, record]) =>
      hostile.records.map((r, i) => `${topic} ${hashed(`hostile-${i}`)} ${hostileCode(r, record)}`),
    ),
    ...[topics.features, topics.clusterFeatures].map(
      (topic) => `${topic} ${hashed('mis-keyed')} KEY_MISMATCH`,
    ),
  ];
  const got = await eventually(
    () => (letters.records.length >= expected.length ? letters.records : undefined),
    { what: `${expected.length} dead letters` },
  );
  assert.deepEqual(
    got.map((l) => `${l.value!.originalTopic} ${l.key} ${l.value!.errorCode}`).sort(),
    expected.sort(),
  );
  await h.waitCommitted(prefix, topics.features, hostile.records.length + 2, engine);
  assert.equal(engine.child.exitCode, null, 'the engine is still running');
  assert.ok(
    engine.logs.some(
      (l) => l.msg?.startsWith('writer schema refused') && l.fingerprint === hostile.schema.fingerprint,
    ),
    'the schema of items that take no bytes was refused, and said so',
  );
  engine.kill();
});
