// Policy files, lists, overrides, input checks and the state codec: everything the engine reads.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, isBadInput, KeyMismatchError } from '@spamgate/core';
import type { PolicyOverride } from '@spamgate/schemas';
import { decide, EMPTY_STATE } from '../src/decider.ts';
import { createDueQueue } from '../src/due-queue.ts';
import { checkClusterFeatures, checkSenderFeatures, InvalidFeaturesError } from '../src/inputs.ts';
import { parseAddressList } from '../src/lists.ts';
import { checkOverride, createOverrideTable, InvalidOverrideError } from '../src/overrides.ts';
import { loadPolicy, parsePolicy } from '../src/policy.ts';
import { reloadable } from '../src/reloadable.ts';
import { decodeEntry, encodeEntry, StateCodecError } from '../src/state.ts';
import { cluster, context, DEFAULT_POLICY_PATH, features, T0 } from './fixtures.ts';

const raw = () => JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => p.expected);
  }
  assert.fail('expected a ConfigError');
}

test('a bad policy is refused with every problem named, not just the first', () => {
  const doc = raw();
  doc.version = '';
  doc.blockTtl = '5x';
  doc.monitorScore = 0.9;
  doc.blockScore = 0.5;
  doc.denyListedDomains = ['not a domain'];
  delete doc.profiles.shortCode;
  doc.profiles.consumer.rules[1].op = '>';
  doc.profiles.consumer.rules[2].exitThreshold = 1000;
  doc.profiles.consumer.rules.push({ ...doc.profiles.consumer.rules[3] });
  doc.surprise = true;
  const found = problems(() => parsePolicy(doc, 'p.json'));
  for (const expected of [
    /"version"/,
    /"blockTtl"/,
    /"monitorScore" must not exceed "blockScore"/,
    /not a domain/,
    /profiles.shortCode is missing/,
    /"op" must be ">=" or "<="/,
    /"exitThreshold" must be on the clean side/,
    /is used twice/,
    /unknown field "surprise"/,
  ])
    assert.ok(
      found.some((p) => expected.test(p)),
      `${expected} in ${JSON.stringify(found, null, 1)}`,
    );
});

test('the policy file reloads when it changes, and an invalid change never replaces the valid policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  const path = join(dir, 'policy.json');
  writeFileSync(path, JSON.stringify(raw()));
  const errors: unknown[] = [];
  const versions: string[] = [];
  const r = reloadable({
    path,
    load: (p) => loadPolicy(p),
    intervalMs: 60_000,
    onChange: (v) => versions.push(v.version),
    onError: (e) => errors.push(e),
  });
  try {
    assert.equal(r.current().version, raw().version);
    writeFileSync(path, '{ "version": "broken", ');
    assert.equal(r.check(), false);
    assert.equal(errors.length, 1);
    assert.equal(r.current().version, raw().version, 'the valid policy stays');
    writeFileSync(path, JSON.stringify({ ...raw(), version: 'v2' }));
    assert.equal(r.check(), true);
    assert.equal(r.current().version, 'v2');
    assert.deepEqual(versions, ['v2']);
    assert.equal(r.check(), false, 'unchanged content is not a change');
  } finally {
    r.stop();
  }
  assert.throws(() => loadPolicy(join(dir, 'missing.json')), ConfigError);
});

test('Do-Not-Originate list: normalised numbers, comments, every bad line named', () => {
  const list = parseAddressList(
    '# unallocated\n+1 (202) 555-0100\n+12025550101  # at the subscriber’s request\n\n',
    'dno.txt',
    'SPAMGATE_DNO_FILE',
  );
  assert.equal(list.size, 2);
  assert.ok(list.has('+12025550100'));
  assert.ok(list.has('+1 202 555 0101'));
  assert.ok(!list.has('+12025550102'));
  const found = problems(() =>
    parseAddressList('+1202\u0000555\nok\n'.concat('9'.repeat(70)), 'dno.txt', 'SPAMGATE_DNO_FILE'),
  );
  assert.equal(found.length, 2);
  assert.deepEqual(
    parseAddressList('+1\n+2\n', 'a', 'V')
      .difference(parseAddressList('+2\n+3\n', 'b', 'V'))
      .sort(),
    ['+1', '+3'],
  );
});

const override = (o: Partial<PolicyOverride> = {}): PolicyOverride => ({
  overrideId: 'ov-1',
  scope: 'SENDER',
  target: '+12025550100',
  action: 'ALLOW',
  reason: 'appeal #4711: school district alerts',
  author: 'noc-alice',
  createdAt: T0,
  expiresAt: T0 + 3_600_000,
  ...o,
});

test('overrides: checked against their key; sender scope before campaign scope; lapse by wall clock, reported once', () => {
  assert.throws(
    () => checkOverride('+19995550000', override()),
    (e: unknown) => e instanceof KeyMismatchError && e.code === 'KEY_MISMATCH' && isBadInput(e),
  );
  assert.throws(() => checkOverride('+12025550100', override({ reason: '' })), InvalidOverrideError);
  assert.throws(() => checkOverride('+12025550100', override({ reason: '  ' })), /reason/);
  assert.throws(() => checkOverride('+12025550100', override({ expiresAt: T0 - 1 })), /expiresAt/);
  assert.throws(() => checkOverride('a\u0000b', override({ target: 'a\u0000b' })), /control/);
  const table = createOverrideTable();
  table.set('+12025550100', checkOverride('+12025550100', override()));
  table.set(
    'CPOL1',
    checkOverride(
      'CPOL1',
      override({ overrideId: 'ov-2', scope: 'CAMPAIGN', target: 'CPOL1', action: 'BLOCK', expiresAt: null }),
    ),
  );
  assert.equal(table.forSender('+12025550100', 'CPOL1', T0)?.overrideId, 'ov-1');
  assert.equal(table.forSender('+12025550199', 'CPOL1', T0)?.overrideId, 'ov-2');
  assert.equal(table.forSender('+12025550199', null, T0), undefined);
  assert.equal(
    table.forSender('+12025550100', 'CPOL1', T0 + 3_600_000)?.overrideId,
    'ov-2',
    'the lapsed sender override gives way',
  );
  assert.deepEqual(
    table.takeLapsed(T0 + 3_600_000).map((o) => o.overrideId),
    ['ov-1'],
  );
  assert.deepEqual(table.takeLapsed(T0 + 7_200_000), []);
  assert.equal(
    table.set('CPOL1', null)?.overrideId,
    'ov-2',
    'a tombstone removes it and says what it removed',
  );
  assert.equal(table.forSender('+12025550199', 'CPOL1', T0), undefined);
});

test('absurd features are refused with a typed error; sane ones pass', () => {
  const now = T0;
  const ok = features();
  checkSenderFeatures(ok.sender, ok, now);
  // Failures reported in a window for messages sent before it: a rate above 1 is real.
  const late = features({
    windows: { '1h': { messages: 2, deliveryFailures: 3, deliveryFailureRate: 1.5 } },
  });
  checkSenderFeatures(late.sender, late, now);
  const bad: [string, ReturnType<typeof features>][] = [
    ['plausible time', { ...ok, asOf: 42 }],
    ['plausible time', { ...ok, asOf: now + 3 * 86_400_000 }],
    ['messages = -1', features({ windows: { '1m': { messages: -1 } } })],
    ['exceeds 1', features({ windows: { '1h': { optOutRate: 7 } } })],
    ['Infinity', features({ windows: { '1h': { peak1s: Number.POSITIVE_INFINITY } } })],
    ['14 hex', { ...ok, clusters: [{ clusterId: 'zz', recipients: 1 }] }],
  ];
  for (const [message, f] of bad)
    assert.throws(
      () => checkSenderFeatures(f.sender === ok.sender ? ok.sender : '+12025550100', f, now),
      (e: unknown) =>
        e instanceof InvalidFeaturesError &&
        isBadInput(e) &&
        e.code === 'INVALID_FEATURES' &&
        e.message.includes(message),
      message,
    );
  // Keyed other than by the sender (or cluster id): another key's partition would count it.
  assert.throws(
    () => checkSenderFeatures('+12025550100', { ...ok, sender: '+1999' }, now),
    (e: unknown) => e instanceof KeyMismatchError && e.code === 'KEY_MISMATCH' && isBadInput(e),
  );
  const c = cluster('0a1b2c3d4e5f60', { distinctSenders: 3 });
  checkClusterFeatures(c.clusterId, c, now);
  assert.throws(() => checkClusterFeatures('0a1b2c3d4e5f61', c, now), KeyMismatchError);
  assert.throws(
    () => checkClusterFeatures(c.clusterId, cluster(c.clusterId, { registeredShare: 2 }), now),
    /exceeds 1/,
  );
  checkClusterFeatures(c.clusterId, cluster(c.clusterId, { sendingForMs: 900_000 }), now);
  assert.throws(
    () => checkClusterFeatures(c.clusterId, cluster(c.clusterId, { sendingForMs: 900_001 }), now),
    /sendingForMs 900001 exceeds window 15m/,
  );
  checkClusterFeatures(
    c.clusterId,
    cluster(c.clusterId, { distinctSenders: 3, optOutIgnoringSenders: 3 }),
    now,
  );
  assert.throws(
    () =>
      checkClusterFeatures(
        c.clusterId,
        cluster(c.clusterId, { distinctSenders: 3, optOutIgnoringSenders: 4 }),
        now,
      ),
    /optOutIgnoringSenders 4 exceeds distinctSenders/,
  );
  // Samples are ascending fingerprints, a few of them: the crew index keys on their values.
  checkClusterFeatures(
    c.clusterId,
    cluster(c.clusterId, { senderSample: [1, 2], senderBlockSample: [3, 9] }),
    now,
  );
  for (const bad of [[9, 3], [-1], [2 ** 53], Array.from({ length: 17 }, (_, i) => i)])
    assert.throws(
      () => checkClusterFeatures(c.clusterId, cluster(c.clusterId, { senderBlockSample: bad }), now),
      /senderBlockSample of 15m is not an ascending sample of fingerprints/,
    );
  // Those that ignored a STOP about the template were told one.
  checkClusterFeatures(
    c.clusterId,
    cluster(c.clusterId, { optedOutSenders: 2, optOutIgnoredSenders: 2 }),
    now,
  );
  assert.throws(
    () =>
      checkClusterFeatures(
        c.clusterId,
        cluster(c.clusterId, { optedOutSenders: 2, optOutIgnoredSenders: 3 }),
        now,
      ),
    /optOutIgnoredSenders 3 exceeds optedOutSenders/,
  );
});

test('state codec: a round trip keeps everything; a corrupt record is a typed error', () => {
  const f = features({
    windows: { '24h': { messages: 10, postOptOutSends: 3 } },
    clusters: ['0a1b2c3d4e5f60'],
  });
  const out = decide(context(), f, EMPTY_STATE, { kind: 'FEATURES', at: f.asOf, basis: '' }, T0);
  const entry = {
    features: Buffer.from([1, 2, 3, 4]),
    asOf: f.asOf,
    campaignId: 'C1',
    clusterIds: ['0a1b2c3d4e5f60'],
    decision: out.state,
  };
  assert.deepEqual(decodeEntry(encodeEntry(entry)), entry);
  const empty = {
    ...entry,
    features: Buffer.alloc(0),
    campaignId: null,
    clusterIds: [],
    decision: EMPTY_STATE,
  };
  assert.deepEqual(decodeEntry(encodeEntry(empty)), empty);
  for (const corrupt of [
    Buffer.alloc(2),
    Buffer.from([9, 0, 0, 0, 0]),
    Buffer.from([1, 0, 0, 0, 9, 1]),
    Buffer.from([1, 0, 0, 0, 0, 0x7b]),
  ])
    assert.throws(() => decodeEntry(corrupt), StateCodecError);
});

test('due queue: pops what is due, earliest first, and nothing else', () => {
  const q = createDueQueue();
  const times = [50, 10, 40, 10, 30, 20, 60];
  for (const [i, t] of times.entries()) q.push(t, `s${i}`);
  assert.deepEqual(
    q.popDue(35).map((e) => e.at),
    [10, 10, 20, 30],
  );
  assert.equal(q.size, 3);
  assert.deepEqual(
    q.popDue(100).map((e) => e.at),
    [40, 50, 60],
  );
  assert.deepEqual(q.popDue(1000), []);
});

test('what-if times: ISO 8601, now, or a duration before now; anything else is a usage error', async () => {
  const { parseTime } = await import('../src/what-if.ts');
  const { UsageError } = await import('../src/usage.ts');
  const now = Date.UTC(2026, 10, 29, 12);
  assert.equal(parseTime('now', now), now);
  assert.equal(parseTime('-2h', now), now - 2 * 3_600_000);
  assert.equal(parseTime('2026-11-29T10:00:00Z', now), Date.UTC(2026, 10, 29, 10));
  assert.throws(() => parseTime('yesterday-ish', now), UsageError);
});
