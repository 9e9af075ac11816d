import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, retry } from '../src/index.ts';

test('backoff doubles from the initial delay up to the cap, with jitter in the upper half', () => {
  assert.equal(
    backoffDelay(0, 100, 5000, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(0, 100, 5000, () => 0.999999),
    100,
  );
  assert.equal(
    backoffDelay(3, 100, 5000, () => 0.999999),
    800,
  );
  assert.equal(
    backoffDelay(20, 100, 5000, () => 0.999999),
    5000,
  );
  assert.equal(
    backoffDelay(20, 100, 5000, () => 0),
    2500,
  );
});

test('retry returns the first success and reports each retry', async () => {
  const seen: number[] = [];
  const result = await retry(
    async (attempt) => {
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    },
    { deadline: Date.now() + 5000, initialDelayMs: 1, maxDelayMs: 2, onRetry: (_e, n) => seen.push(n) },
  );
  assert.equal(result, 'ok');
  assert.deepEqual(seen, [1, 2, 3]);
});

test('retry gives up at the deadline with the error onGiveUp builds', async () => {
  await assert.rejects(
    retry(
      async () => {
        throw new Error('down');
      },
      {
        deadline: Date.now() + 30,
        initialDelayMs: 5,
        maxDelayMs: 10,
        onGiveUp: (e) => new Error(`gave up: ${String(e)}`),
      },
    ),
    /gave up: Error: down/,
  );
});

test('errors that are not retriable are thrown at once', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new TypeError('bad input');
      },
      { deadline: Date.now() + 5000, initialDelayMs: 1, isRetriable: (e) => !(e instanceof TypeError) },
    ),
    TypeError,
  );
  assert.equal(calls, 1);
});
