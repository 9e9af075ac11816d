// The pure parts of reading a run from ClickHouse: action changes from published decisions, and
// which senders are the busiest and charted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busiestSenders, changesOf, chartSendersOf } from '../../src/report/collect.ts';
import { actionOf } from '../../src/report/model.ts';
import { LEGIT, labels, SPAM, scenario, T0 } from './fixtures.ts';

const published = (
  action: 'ALLOW' | 'MONITOR' | 'THROTTLE' | 'BLOCK',
  eventMs: number,
  decidedAtMs = eventMs + 1_000,
) => ({
  action,
  eventMs,
  decidedAtMs,
  trigger: 'FEATURES',
  reasons: action === 'ALLOW' ? [] : ['MINUTE_VOLUME'],
});

test('a change of action is a published decision whose action differs from the one in force, starting from ALLOW', () => {
  const changes = changesOf([
    published('BLOCK', T0 + 30_000),
    published('THROTTLE', T0 + 10_000),
    published('THROTTLE', T0 + 20_000), // a new rate, same action
    published('BLOCK', T0 + 40_000), // re-issued with a later expiry
    published('ALLOW', T0 + 40_000, T0 + 90_000), // the EXPIRY shares the evidence's event time, decided later
  ]);
  assert.deepEqual(
    changes.map((c) => [c.from, c.to, c.atMs - T0]),
    [
      ['ALLOW', 'THROTTLE', 10_000],
      ['THROTTLE', 'BLOCK', 30_000],
      ['BLOCK', 'ALLOW', 40_000],
    ],
  );
  assert.deepEqual(changes[0]!.reasons, ['MINUTE_VOLUME']);
  assert.deepEqual(changesOf([published('ALLOW', T0)]), [], 'ALLOW over nothing changes nothing');
});

test('the busiest senders are ordered by messages, then address, without senders that sent nothing', () => {
  const messages = new Map([
    ['b', 5],
    ['a', 5],
    ['c', 9],
    ['d', 0],
  ]);
  assert.deepEqual(busiestSenders(messages, 10), ['c', 'a', 'b']);
  assert.deepEqual(busiestSenders(messages, 2), ['c', 'a']);
  assert.deepEqual(busiestSenders(messages, 5, ['b', 'd']), ['b']);
});

test('the charted senders are the busiest overall plus the busiest of each scenario', () => {
  const run = labels(
    scenario('blast', true, SPAM, 3),
    scenario('ordinary', false, LEGIT, 3),
    scenario('quiet', false, LEGIT, 1),
  );
  const messages = new Map([
    ['blast-0', 500],
    ['blast-1', 400],
    ['blast-2', 300],
    ['ordinary-0', 2],
    ['ordinary-1', 5],
    ['stranger', 450],
  ]);
  assert.deepEqual(chartSendersOf(run, messages, 2), ['blast-0', 'stranger', 'ordinary-1']);
  assert.deepEqual(chartSendersOf(run, messages, 0), ['blast-0', 'ordinary-1']);
});

test('an action ClickHouse holds that this code does not know reads as MONITOR, as the contract says', () => {
  assert.equal(actionOf('BLOCK'), 'BLOCK');
  assert.equal(actionOf('QUARANTINE'), 'MONITOR');
  assert.equal(actionOf(''), 'MONITOR');
});
