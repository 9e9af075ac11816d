import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRegistrations } from '@spamgate/schemas';
import { createFactKeys, messageFacts } from '../src/engine/facts.ts';
import { createPartitionProcessor } from '../src/engine/partition-processor.ts';
import { TEST_PROCESSOR_OPTIONS } from './processor-options.ts';

test('a registered sender over its tier shows registeredCapShare above 1; others show 0', () => {
  const registrations = parseRegistrations(
    { version: 't', tiers: { small: { perMinute: 10 } }, campaigns: { CAMP: 'small' } },
    'test',
  );
  const p = createPartitionProcessor({ ...TEST_PROCESSOR_OPTIONS, registrations });
  const keys = createFactKeys('registration-test-secret-0123');
  const t0 = 1_794_996_000_000;
  for (const [sender, campaignId] of [
    ['+12025550001', 'CAMP'],
    ['+12025550002', null],
  ] as const)
    for (let i = 0; i < 25; i++) {
      const e = {
        messageId: `${sender}-${i}`,
        eventTime: t0 + i * 1_000,
        sender,
        senderKind: 'LONG_CODE' as const,
        recipient: `+1303555${String(1000 + i)}`,
        body: 'Your code is 1234',
        campaignId,
        originNetwork: null,
      };
      p.message(sender, 'LONG_CODE', campaignId, messageFacts(e, keys, 0).facts, t0 + 86_400_000);
    }
  p.advanceWatermark(t0 + 30_000);
  const last = new Map<string, number>();
  for (const o of p.drain(0))
    if (o.kind === 'features')
      last.set(o.sender, o.value.windows.find((w) => w.window === '1m')!.registeredCapShare);
  assert.equal(last.get('+12025550001'), 2.5, '25 messages in a minute against 10 allowed');
  assert.equal(last.get('+12025550002'), 0);
});
