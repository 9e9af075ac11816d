import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCommitSchedule } from '../src/index.ts';

const noFailure = (err: unknown) => assert.fail(`unexpected commit failure: ${String(err)}`);

/** A commit that records when it ran and what was pending, and can be held open. */
function recorder() {
  let pending = 0;
  const commits: number[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => {};
  return {
    add(n = 1) {
      pending += n;
    },
    commits,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      open();
    },
    async commit() {
      // Everything pending is taken before the first await, as the contract asks.
      const taken = pending;
      pending = 0;
      await gate;
      commits.push(taken);
    },
  };
}

test('requests while a commit runs are merged into one more commit that takes everything pending', async () => {
  const r = recorder();
  const s = createCommitSchedule({ intervalMs: 0, commit: r.commit, onFailure: noFailure });
  r.hold();
  r.add();
  s.request();
  await sleep(1); // the first commit has taken what was pending and waits on the broker
  assert.equal(s.busy, true);
  r.add(2);
  s.request();
  r.add(3);
  s.request();
  r.release();
  await s.idle();
  assert.deepEqual(r.commits, [1, 5], 'the first commit, then one for all five added while it ran');
  assert.equal(s.busy, false);
});

test('commits are spaced by the interval; a flush cuts the wait short', async () => {
  const r = recorder();
  let clock = 1_000;
  const s = createCommitSchedule({
    intervalMs: 60_000,
    commit: r.commit,
    onFailure: noFailure,
    now: () => clock,
  });
  r.add();
  s.request();
  await s.idle();
  assert.deepEqual(r.commits, [1], 'the first request commits at once');
  clock += 10;
  r.add();
  s.request();
  await sleep(30);
  assert.deepEqual(r.commits, [1], 'the next waits for the interval');
  assert.equal(s.busy, true);
  await s.flush();
  assert.deepEqual(r.commits, [1, 1], 'flushed without waiting a minute');
  assert.equal(s.busy, false);
});

test('a short interval runs the waiting commit on its own once the interval has passed', async () => {
  const r = recorder();
  const s = createCommitSchedule({ intervalMs: 20, commit: r.commit, onFailure: noFailure });
  r.add();
  s.request();
  await s.idle();
  r.add(4);
  s.request();
  assert.equal(s.busy, true, 'waiting for the interval');
  await s.idle();
  assert.deepEqual(r.commits, [1, 4]);
});

test('a failed commit goes to onFailure once; later requests start afresh', async () => {
  const failures: unknown[] = [];
  let fail = true;
  let ran = 0;
  const s = createCommitSchedule({
    intervalMs: 0,
    commit: async () => {
      ran++;
      if (fail) throw new Error('fenced');
    },
    onFailure: (err) => {
      failures.push(err);
    },
  });
  s.request();
  s.request();
  await s.idle();
  assert.equal(failures.length, 1);
  assert.equal((failures[0] as Error).message, 'fenced');
  assert.equal(ran, 1, 'the request made during the failed commit does not repeat it');
  fail = false;
  s.request();
  await s.idle();
  assert.equal(ran, 2);
  assert.equal(failures.length, 1);
});

test('flush with nothing running commits once and settles', async () => {
  const r = recorder();
  const s = createCommitSchedule({ intervalMs: 60_000, commit: r.commit, onFailure: noFailure });
  r.add(2);
  await s.flush();
  assert.deepEqual(r.commits, [2]);
});
