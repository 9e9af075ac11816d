// Rotating SPAMGATE_HASH_KEY on the real broker, as docs/key-rotation.md tells an operator to:
// opt-outs recorded under the old key still catch a send past them under the new one; a start
// that would strand opt-outs still under the old key is refused; and once none are left, every
// partition records the new key alone and the old one can go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashKeyId, readToEnd } from '@spamgate/core';
import type { MessageEvent, SenderFeatures } from '@spamgate/schemas';
import { eventually, type ServiceProcess, uniqueName } from '@spamgate/test';
import { HASH_KEY_ID_KEY } from '../../src/engine/feature-engine.ts';
import { decodeKeyRecord } from '../../src/engine/key-record.ts';
import { textMessage } from '../message-event.ts';
import { codec, HARNESS_HASH_KEY, useHarness } from './harness.ts';

const h = useHarness();
const NEW_KEY = 'rotated-harness-secret-fedcba9876543210';
const ROTATING = { SPAMGATE_HASH_KEY: NEW_KEY, SPAMGATE_PREVIOUS_HASH_KEY: HARNESS_HASH_KEY };
const MIN = 60_000;
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / MIN) * MIN;
const BUSINESSES = 6;
const business = (i: number) => `+1202555${1100 + i}`;
const customer = (i: number) => `+1303555${1100 + i}`;

const message = (sender: string, recipient: string, eventTime: number, body: string): MessageEvent =>
  textMessage(sender, recipient, eventTime, body, 'rot');

/** Businesses `from` to `to` (exclusive) message their customer again, after the STOP. */
const reminders = (from: number, to: number): MessageEvent[] =>
  Array.from({ length: to - from }, (_, k) =>
    message(
      business(from + k),
      customer(from + k),
      T0 + 20 * MIN + k * 1_000,
      'Reminder: your visit is tomorrow.',
    ),
  );

/** Waits until each of `senders` publishes 24 h features with one opt-out and one send past it. */
async function assertSendsPastOptOuts(features: string, senders: readonly string[]): Promise<void> {
  const latest = new Map<string, SenderFeatures>();
  const reader = h.kafka.consumer({ groupId: uniqueName('fe-rot-check'), readUncommitted: false });
  await reader.connect();
  await reader.subscribe({ topic: features, fromBeginning: true });
  void reader.run({
    eachMessage: async ({ message: m }) => {
      const f = codec.decode('SenderFeatures', m.value!);
      latest.set(f.sender, f);
    },
  });
  const wrong = () =>
    senders.filter((s) => {
      const day = latest.get(s)?.windows.find((w) => w.window === '24h');
      return !(day?.optOuts === 1 && day.postOptOutSends === 1);
    });
  try {
    await eventually(async () => (wrong().length === 0 ? true : undefined), {
      timeoutMs: 90_000,
      what: 'each business to show its opt-out and the send past it',
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${wrong().join(', ')}`);
    });
  } finally {
    await reader.disconnect();
  }
}

async function stop(engine: ServiceProcess): Promise<void> {
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
}

/** A start that must be refused: the fatal line it logs. */
async function refused(engine: ServiceProcess, msg: string) {
  assert.equal((await engine.exited).code, 1, engine.stderr());
  const fatal = engine.logs.find((l) => l.msg === msg);
  assert.ok(fatal, engine.stderr());
  assert.ok(!JSON.stringify(engine.logs).includes(NEW_KEY), 'a key is never logged');
  return fatal.err as { code: string; message: string };
}

test('a hash-key rotation keeps every opt-out, refuses to strand one, and ends when none is left', {
  timeout: 420_000,
}, async () => {
  const prefix = uniqueName('fe-rotation');
  const t = await h.provision(prefix);
  // Under the first key: each business messages its customer, who answers STOP.
  const before = Array.from({ length: BUSINESSES }, (_, i) => [
    message(business(i), customer(i), T0 + i * 1_000, 'Your visit is confirmed for Tuesday.'),
    message(customer(i), business(i), T0 + MIN + i * 1_000, 'STOP'),
  ]).flat();
  let committed = before.length;
  const first = h.startEngine(prefix);
  await h.produce(t.messages, before);
  await h.waitCommitted(prefix, t.messages, committed, first, 90_000);
  await stop(first);

  // The new key alone: the state is under the old one, and would be forgotten. Refused.
  const alone = await refused(
    h.startEngine(prefix, { SPAMGATE_HASH_KEY: NEW_KEY }),
    'hash key mismatch; exiting',
  );
  assert.equal(alone.code, 'HASH_KEY_MISMATCH');

  // Both keys: the rotation begins, and half the businesses write to their opted-out customer.
  const second = h.startEngine(prefix, ROTATING);
  const begun = await second.waitForLog((l) => l.msg?.startsWith('hash key rotation under way') === true);
  assert.equal(begun.key, hashKeyId(NEW_KEY));
  await h.produce(t.messages, reminders(0, BUSINESSES / 2));
  committed += BUSINESSES / 2;
  await h.waitCommitted(prefix, t.messages, committed, second, 90_000);
  await assertSendsPastOptOuts(
    t.features,
    Array.from({ length: BUSINESSES / 2 }, (_, i) => business(i)),
  );
  await stop(second);

  // The other half's opt-outs are still under the old key: removing it now is refused.
  const early = await refused(
    h.startEngine(prefix, { SPAMGATE_HASH_KEY: NEW_KEY }),
    'hash key rotation unfinished; exiting',
  );
  assert.equal(early.code, 'HASH_KEY_ROTATION_UNFINISHED');
  assert.ok(early.message.includes(hashKeyId(HARNESS_HASH_KEY)), early.message);

  // Both keys again: the rest write too; every partition finishes its rotation.
  const third = h.startEngine(prefix, ROTATING);
  await h.produce(t.messages, reminders(BUSINESSES / 2, BUSINESSES));
  committed += BUSINESSES / 2;
  await h.waitCommitted(prefix, t.messages, committed, third, 90_000);
  await assertSendsPastOptOuts(
    t.features,
    Array.from({ length: BUSINESSES }, (_, i) => business(i)),
  );
  const lastRecords = async () => {
    const records = new Map<number, string>();
    await readToEnd(h.kafka, {
      topic: t.changelog,
      groupId: uniqueName('rot-keys'),
      onRecords: ({ partition, messages }) => {
        for (const m of messages)
          if (m.key?.toString() === HASH_KEY_ID_KEY) records.set(partition, String(m.value));
      },
    });
    return records;
  };
  await eventually(
    async () =>
      [...(await lastRecords()).values()].every((v) => decodeKeyRecord(Buffer.from(v)).previous === undefined)
        ? true
        : undefined,
    { timeoutMs: 60_000, what: 'every partition to record the new key alone' },
  );
  const records = await lastRecords();
  assert.ok(records.size > 0);
  assert.deepEqual(new Set(records.values()), new Set([hashKeyId(NEW_KEY)]));
  await stop(third);

  // The old key can go now.
  const fourth = h.startEngine(prefix, { SPAMGATE_HASH_KEY: NEW_KEY });
  await fourth.waitForLog((l) => l.msg === 'partition state restored');
  await stop(fourth);
});
