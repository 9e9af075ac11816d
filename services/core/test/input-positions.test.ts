import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInputPositions } from '../src/index.ts';

const lags = (entries: Record<string, number>) => new Map(Object.entries(entries));

test('a partition opened with records left to read is not caught up until batches read every topic to its end', () => {
  const p = createInputPositions();
  p.open(3, lags({ messages: 120, feedback: 0 }));
  assert.equal(p.caughtUp(3), false);
  assert.equal(p.observe('messages', 3, 40), false, 'still 40 records behind');
  assert.equal(p.caughtUp(3), false);
  assert.equal(p.observe('messages', 3, 0), true, 'this batch made it caught up');
  assert.equal(p.caughtUp(3), true);
  assert.equal(p.observe('messages', 3, 0), false, 'already caught up: no new start of idleness');
  assert.equal(p.observe('feedback', 3, 7), false, 'a batch that left records behind');
  assert.equal(p.caughtUp(3), false);
  assert.equal(p.observe('feedback', 3, 0), true);
});

test('a partition with nothing left to read is caught up when opened; one not open never is', () => {
  const p = createInputPositions();
  assert.equal(p.caughtUp(1), false);
  p.open(1, lags({ messages: 0, feedback: 0 }));
  assert.equal(p.caughtUp(1), true);
  p.close(1);
  assert.equal(p.caughtUp(1), false, 'closed: forgotten');
});

test('a batch reported while the partition was still opening counts (a trailing marker the consumer resolved alone)', () => {
  const p = createInputPositions();
  assert.equal(p.observe('features', 5, 0), false, 'not open yet');
  p.open(5, lags({ features: 1 }));
  assert.equal(p.caughtUp(5), true, 'the marker after the committed offset was read');
  // Closed and reopened: what was reported before the close is forgotten.
  p.observe('features', 6, 0);
  p.close(6);
  p.open(6, lags({ features: 1 }));
  assert.equal(p.caughtUp(6), false);
});
