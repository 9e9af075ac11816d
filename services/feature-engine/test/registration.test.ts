import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@spamgate/core';
import { createFactKeys, messageFacts } from '../src/engine/facts.ts';
import { createPartitionProcessor, DEFAULT_PROCESSOR_OPTIONS } from '../src/engine/partition-processor.ts';
import { allowedInWindow, capOf, loadRegistrations, parseRegistrations } from '../src/registration.ts';

const EXAMPLE = fileURLToPath(new URL('../../../infra/config/registrations.json', import.meta.url));

test('the shipped example loads, and unlisted campaigns get the low-volume tier', () => {
  const reg = loadRegistrations(EXAMPLE);
  assert.deepEqual(capOf(reg, 'ANY-CAMPAIGN'), { perMinute: 75, perDay: 2000 });
  assert.equal(capOf(reg, null), undefined, 'no campaign, no cap');
});

test('a window allows the per-minute cap per minute, never more than the daily cap per day', () => {
  const cap = { perMinute: 75, perDay: 2000 };
  assert.equal(allowedInWindow(cap, 60_000), 75);
  assert.equal(allowedInWindow(cap, 600_000), 750);
  assert.equal(allowedInWindow(cap, 3_600_000), 2000, 'an hour at 75/min would pass the daily cap');
  assert.equal(allowedInWindow(cap, 86_400_000), 2000);
  assert.equal(allowedInWindow({ perMinute: 240 }, 10_000), 240, 'a window under a minute gets one minute');
  assert.equal(allowedInWindow({ perDay: 2000 }, 60_000), 2000);
});

test('a bad registrations file is refused with every problem named', () => {
  const err = (() => {
    try {
      parseRegistrations(
        {
          version: '',
          tiers: { a: { perMinute: 0 }, b: {}, c: { perHour: 5 } },
          campaigns: { X: 'nope' },
          unlistedCampaignTier: 'zzz',
          extra: 1,
        },
        'regs.json',
      );
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof ConfigError);
  const text = err.problems.map((p) => p.expected).join('\n');
  for (const needle of [
    '"version"',
    'perMinute must be a positive integer',
    'tier "b" has neither',
    'unknown field "perHour"',
    'campaign "X"',
    '"zzz"',
    'unknown field "extra"',
  ])
    assert.ok(text.includes(needle), `mentions ${needle}:\n${text}`);
  assert.ok(
    err.problems.every((p) => p.variable === 'SPAMGATE_REGISTRATIONS_FILE' && p.value === 'regs.json'),
  );
  assert.throws(() => loadRegistrations('/nonexistent/regs.json'), ConfigError);
});

test('a registered sender over its tier shows registeredCapShare above 1; others show 0', () => {
  const registrations = parseRegistrations(
    { version: 't', tiers: { small: { perMinute: 10 } }, campaigns: { CAMP: 'small' } },
    'test',
  );
  const p = createPartitionProcessor({ ...DEFAULT_PROCESSOR_OPTIONS, registrations });
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
