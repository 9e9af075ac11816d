import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSweep, parseSweep, SweepFileError } from '../src/sweep.ts';

function problemsOf(doc: unknown, exists?: (path: string) => boolean): readonly string[] {
  try {
    parseSweep(doc, '/sweeps/sweep.json', exists);
  } catch (err) {
    assert.ok(err instanceof SweepFileError);
    assert.equal(err.code, 'SWEEP_FILE_INVALID');
    assert.equal(err.source, '/sweeps/sweep.json');
    return err.problems;
  }
  assert.fail('the manifest was accepted');
}

const VALID = {
  $comment: 'two points',
  version: 1,
  durationMs: 600_000,
  ratePerSecond: 60,
  seeds: [1, 2],
  points: [
    { id: 'pace-1s-low-outcomes', title: 'Fast, few complaints', scenarios: 'pace-1s-low.json' },
    {
      id: 'pace-5min-high-outcomes',
      title: 'Slow, many complaints',
      scenarios: 'points/pace-5min-high.json',
    },
  ],
};

describe('sweep manifest', () => {
  it('gives the duration, rate, seeds and points, each scenario file resolved against the manifest', () => {
    const sweep = parseSweep(VALID, '/sweeps/sweep.json');
    assert.deepEqual(sweep, {
      durationMs: 600_000,
      ratePerSecond: 60,
      seeds: [1, 2],
      points: [
        {
          id: 'pace-1s-low-outcomes',
          title: 'Fast, few complaints',
          scenariosPath: '/sweeps/pace-1s-low.json',
        },
        {
          id: 'pace-5min-high-outcomes',
          title: 'Slow, many complaints',
          scenariosPath: '/sweeps/points/pace-5min-high.json',
        },
      ],
    });
    assert.ok(Object.isFrozen(sweep) && Object.isFrozen(sweep.points) && Object.isFrozen(sweep.seeds));
  });

  it('lists every problem of a bad manifest, each with its path, the value and what was expected', () => {
    const problems = problemsOf(
      {
        version: 2,
        extra: 1,
        durationMs: 500,
        ratePerSecond: 0,
        seeds: [1, 1, -2, 'x'],
        points: [
          { id: 'a', title: 'A', scenarios: 'a.json', weight: 2 },
          { id: 'a', title: '', scenarios: 'a.yaml' },
          { id: 'B c', title: 'B', scenarios: 'missing.json' },
          7,
        ],
      },
      (path) => path !== '/sweeps/missing.json',
    );
    assert.deepEqual(problems, [
      'extra: unknown field',
      'version: got 2, expected 1',
      'durationMs: got 500, expected an integer from 1000 to 604800000 (ms)',
      'ratePerSecond: got 0, expected messages per second above 0 and at most 100000',
      'seeds[1]: 1 is listed twice',
      'seeds[2]: got -2, expected an integer from 0 to 4294967295',
      'seeds[3]: got "x", expected an integer from 0 to 4294967295',
      'points[0] (a).weight: unknown field',
      'points[1] (a).id: "a" is used by an earlier point',
      'points[1] (a).title: got "", expected a non-empty string (at most 200)',
      'points[1] (a).scenarios: got "a.yaml", expected the path of a scenario file (.json)',
      'points[2] (B c).id: got "B c", expected lower-case letters, digits and - (at most 63)',
      'points[2] (B c).scenarios: no file at /sweeps/missing.json',
      'points[3]: expected an object, got 7',
    ]);
  });

  it('refuses a manifest that is not an object or has no seeds or points', () => {
    assert.deepEqual(problemsOf([]), ['expected a JSON object at the top']);
    assert.deepEqual(problemsOf({ ...VALID, seeds: [], points: [] }), [
      'seeds: got [], expected a non-empty list of seeds',
      'points: got [], expected a non-empty list of points',
    ]);
    assert.deepEqual(problemsOf({ ...VALID, durationMs: undefined }), [
      'durationMs: got undefined, expected an integer from 1000 to 604800000 (ms)',
    ]);
  });

  it('reads a manifest from a file, checks that each scenario file is there, and reports a file it cannot use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-sweep-'));
    mkdirSync(join(dir, 'points'));
    writeFileSync(join(dir, 'pace-1s-low.json'), '{}');
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(VALID));
    assert.throws(
      () => loadSweep(join(dir, 'sweep.json')),
      (err: unknown) => {
        assert.ok(err instanceof SweepFileError);
        assert.deepEqual(err.problems, [
          `points[1] (pace-5min-high-outcomes).scenarios: no file at ${join(dir, 'points', 'pace-5min-high.json')}`,
        ]);
        return true;
      },
    );
    writeFileSync(join(dir, 'points', 'pace-5min-high.json'), '{}');
    assert.equal(
      loadSweep(join(dir, 'sweep.json')).points[1]!.scenariosPath,
      join(dir, 'points/pace-5min-high.json'),
    );
    assert.throws(
      () => loadSweep(join(dir, 'none.json')),
      /invalid sweep manifest .*none\.json \(1 problem\):\n {2}- cannot read it: ENOENT/,
    );
    writeFileSync(join(dir, 'broken.json'), '{ "version": 1,');
    assert.throws(
      () => loadSweep(join(dir, 'broken.json')),
      (err: unknown) => {
        assert.ok(err instanceof SweepFileError);
        assert.match(err.problems[0]!, /^not JSON: /);
        return true;
      },
    );
  });
});
