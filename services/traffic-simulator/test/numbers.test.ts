import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AREA_CODES, createNumberPool, NumberSpaceError } from '../src/numbers.ts';

describe('numbers', () => {
  it('are distinct +1 NPA 555 numbers within and across allocations, never 555-1212 or 555-4334', () => {
    const pool = createNumberPool(5);
    const seen = new Set<string>();
    for (const [count, spread] of [
      [2_500, 'local'],
      [40_000, 'national'],
      [777, 'local'],
    ] as const) {
      const range = pool.allocate('test', count, spread);
      assert.ok(range.size >= count);
      for (let i = 0; i < range.size; i++) {
        const n = range.at(i);
        assert.match(n, /^\+1\d{3}555\d{4}$/);
        assert.ok(!n.endsWith('5551212') && !n.endsWith('5554334'));
        assert.ok(!seen.has(n), `${n} handed out twice`);
        seen.add(n);
      }
    }
    assert.equal(new Set(AREA_CODES).size, AREA_CODES.length);
  });

  it('keep local roles in few area codes, spread national ones, and scatter consecutive indexes', () => {
    const pool = createNumberPool(1);
    const codes = (range: { size: number; at(i: number): string }) =>
      new Set(Array.from({ length: range.size }, (_, i) => range.at(i).slice(2, 5))).size;
    assert.ok(codes(pool.allocate('local', 5_000, 'local')) <= 2);
    assert.ok(codes(pool.allocate('national', 5_000, 'national')) >= 50);
    const scattered = pool.allocate('list', 3_000, 'local');
    for (let i = 1; i < scattered.size; i++) {
      assert.ok(Math.abs(Number(scattered.at(i)) - Number(scattered.at(i - 1))) > 10);
    }
    const walk = pool.allocate('walk', 300, 'local', { sequential: true });
    assert.equal(Number(walk.at(1)) - Number(walk.at(0)), 1);
  });

  it('refuse what the fictional space cannot hold, with a typed error', () => {
    const pool = createNumberPool();
    assert.throws(
      () => pool.allocate('everyone', pool.left + 100, 'national'),
      (err: unknown) => err instanceof NumberSpaceError && err.code === 'NUMBER_SPACE_EXHAUSTED',
    );
  });
});
