import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@spamgate/core';
import { allowedInWindow, capOf, loadRegistrations, parseRegistrations } from '../src/registrations.ts';

const EXAMPLE = fileURLToPath(new URL('../../infra/config/registrations.json', import.meta.url));

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
