// The feature engine records the id of the hash key its state was written under, and refuses to
// start under another: its opt-outs, contacts and clusters hold the first key's hashes, and would
// silently stop matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashKeyId, readToEnd } from '@spamgate/core';
import { uniqueName } from '@spamgate/test';
import { HASH_KEY_ID_KEY } from '../../src/engine/feature-engine.ts';
import { HARNESS_HASH_KEY, oneSenderEvents, useHarness } from './harness.ts';

const h = useHarness();

test('state written under one hash key is refused under another, with both key ids and what to do', {
  timeout: 120_000,
}, async () => {
  const prefix = uniqueName('fe-hash-key');
  const t = await h.provision(prefix);
  const events = oneSenderEvents(10);
  const first = h.startEngine(prefix);
  await h.produce(t.messages, events);
  await h.waitCommitted(prefix, t.messages, events.length, first, 90_000);
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0, first.stderr());

  const other = 'another-secret-0123456789';
  const second = h.startEngine(prefix, { SPAMGATE_HASH_KEY: other });
  const { code } = await second.exited;
  assert.equal(code, 1);
  const fatal = second.logs.find((l) => l.msg === 'hash key mismatch; exiting');
  assert.ok(fatal, second.stderr());
  const err = fatal.err as { code: string; message: string };
  assert.equal(err.code, 'HASH_KEY_MISMATCH');
  assert.ok(
    err.message.includes(hashKeyId(HARNESS_HASH_KEY)) && err.message.includes(hashKeyId(other)),
    err.message,
  );
  assert.ok(!JSON.stringify(second.logs).includes(other), 'the key itself is never logged');

  // The refused process wrote nothing under its key, so the right key is not refused in turn.
  // And each partition carries the id once, not once per transaction.
  const ids = new Set<string>();
  const perPartition = new Map<number, number>();
  await readToEnd(h.kafka, {
    topic: t.changelog,
    groupId: uniqueName('check'),
    onRecords: ({ partition, messages }) => {
      for (const m of messages)
        if (m.key?.toString() === HASH_KEY_ID_KEY) {
          ids.add(String(m.value));
          perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
        }
    },
  });
  assert.deepEqual([...ids], [hashKeyId(HARNESS_HASH_KEY)]);
  assert.ok(perPartition.size > 0);
  assert.deepEqual(new Set(perPartition.values()), new Set([1]), JSON.stringify([...perPartition]));

  // The right key starts as before.
  const third = h.startEngine(prefix);
  await third.waitForLog((l) => l.msg === 'partition state restored');
  third.child.kill('SIGTERM');
  assert.equal((await third.exited).code, 0, third.stderr());
});
