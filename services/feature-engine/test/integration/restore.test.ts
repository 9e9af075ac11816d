// Restoring a partition whose changelog ends in an aborted transaction: what an owner killed in
// the middle of a commit leaves behind, once its successor's fencing aborted it. kafkajs hands
// no batch of only aborted records to the reader, so restore must see the end offset anyway.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageEvent } from '@spamgate/schemas';
import { uniqueName } from '@spamgate/test';
import { useHarness } from './harness.ts';

const h = useHarness();
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);

test('a changelog partition holding only an aborted transaction is restored, not waited for', {
  timeout: 120_000,
}, async () => {
  const prefix = uniqueName('fe-aborted');
  const t = await h.provision(prefix);
  // What the killed owner of partition 0 left: its transactional id's open transaction, which
  // the next owner's fencing aborts.
  const ghost = h.kafka.producer({
    transactionalId: `${prefix}-fe-0`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await ghost.connect();
  const txn = await ghost.transaction();
  await txn.send({
    topic: t.changelog,
    messages: [{ key: '+12025550000', value: Buffer.from([1]), partition: 0 }],
  });
  await txn.abort();
  await ghost.disconnect();
  const events: MessageEvent[] = Array.from({ length: 240 }, (_, i) => ({
    messageId: `m-${i}`,
    eventTime: T0 + i * 1_000,
    sender: `+1202555${String(1000 + (i % 24))}`,
    senderKind: 'LONG_CODE',
    recipient: `+1303555${String(1000 + i)}`,
    body: 'see you at noon',
    campaignId: null,
    originNetwork: null,
  }));
  await h.produce(t.messages, events, (e) => events.indexOf(e) % 12);
  const engine = h.startEngine(prefix);
  await h.waitCommitted(prefix, t.messages, events.length, engine, 90_000);
  const restored = engine.logs.filter((l) => l.msg === 'partition state restored').map((l) => l.partition);
  assert.ok(restored.includes(0), `partition 0 was restored: ${JSON.stringify(restored)}`);
  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
});
