import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@spamgate/core';
import { parseCliArgs, UsageError } from '../src/cli.ts';
import type { Labels } from '../src/labels.ts';
import { DEFAULT_SCENARIOS_PATH } from '../src/scenario-file.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function usageProblems(argv: string[]): string[] {
  try {
    parseCliArgs(argv, {});
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message.split('\n');
  }
  assert.fail('accepted');
}

describe('command line', () => {
  it('defaults to 200 messages/s for 2 minutes, seed 1, the default scenarios, live, on the local broker', () => {
    const o = parseCliArgs([], {});
    assert.deepEqual(
      { ...o, brokers: [...o.brokers] },
      {
        help: false,
        ratePerSecond: 200,
        durationMs: 120_000,
        seed: 1,
        scenariosPath: DEFAULT_SCENARIOS_PATH,
        labelsPath: 'simulator-labels.json',
        labelsIntervalMs: 10_000,
        ledgerPath: 'simulator-ledger.jsonl',
        hashKey: undefined,
        asFastAsPossible: false,
        startTime: undefined,
        dryRun: false,
        topicPrefix: '',
        brokers: ['127.0.0.1:9092'],
        security: {},
        logLevel: 'info',
      },
    );
  });

  it('writes the ledger where --ledger says, with the content keys of $SPAMGATE_HASH_KEY; none in a dry run', () => {
    const o = parseCliArgs(['--ledger', 'run/l.jsonl'], { SPAMGATE_HASH_KEY: 'a-secret-of-enough-bytes' });
    assert.equal(o.ledgerPath, 'run/l.jsonl');
    assert.equal(o.hashKey, 'a-secret-of-enough-bytes');
    assert.equal(parseCliArgs(['--dry-run'], {}).ledgerPath, undefined);
    assert.throws(() => parseCliArgs(['--ledger', ' '], {}), /--ledger: expected a file name/);
  });

  it('reads every option, the environment giving brokers and the prefix unless the arguments do', () => {
    const env = { SPAMGATE_KAFKA_BROKERS: 'k1:9092', SPAMGATE_TOPIC_PREFIX: 'env-prefix' };
    const o = parseCliArgs(
      ['--rate', '50', '--duration', '90s', '--seed', '42', '--scenarios', 'x.json', '--labels', 'l.json'],
      env,
    );
    assert.equal(o.ratePerSecond, 50);
    assert.equal(o.durationMs, 90_000);
    assert.equal(o.seed, 42);
    assert.equal(o.scenariosPath, 'x.json');
    assert.equal(o.labelsPath, 'l.json');
    assert.equal(o.topicPrefix, 'env-prefix');
    assert.deepEqual([...o.brokers], ['k1:9092']);
    const fast = parseCliArgs(
      [
        '--as-fast-as-possible',
        '--start',
        '2026-12-03T15:00:00Z',
        '--topic-prefix',
        'p1',
        '--brokers',
        'k2:1',
      ],
      env,
    );
    assert.equal(fast.asFastAsPossible, true);
    assert.equal(fast.startTime, Date.UTC(2026, 11, 3, 15));
    assert.equal(fast.topicPrefix, 'p1');
    assert.deepEqual([...fast.brokers], ['k2:1']);
    assert.equal(
      parseCliArgs(['--dry-run'], {}).labelsPath,
      undefined,
      'a dry run writes labels only when asked',
    );
  });

  it('reports every bad argument at once', () => {
    assert.deepEqual(
      usageProblems(['--rate', '0', '--duration', '2 weeks', '--seed=-3', '--start', 'yesterday']),
      [
        '--duration: got "2 weeks", expected a duration such as 90s, 2m or 2h',
        '--start: got "yesterday", expected ISO 8601 or ms',
        '--start: only with --as-fast-as-possible or --dry-run (live traffic starts now)',
        '--seed: got -3, expected an integer from 0 to 4294967295',
        '--rate: got 0, expected messages per second above 0 and at most 100000',
      ],
    );
    assert.match(usageProblems(['--nope'])[0]!, /Unknown option '--nope'/);
    assert.match(
      usageProblems(['--duration', '500ms'])[0]!,
      /^--duration: got 500 ms, expected 1 s to 7 days$/,
    );
  });

  it('names a bad environment variable in a ConfigError', () => {
    assert.throws(() => parseCliArgs([], { SPAMGATE_KAFKA_BROKERS: 'not a broker' }), ConfigError);
  });

  it('prints its usage with --help and exits 0; exits 64 on bad arguments and 78 on a bad scenario file', () => {
    const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: npm run simulate -- \[options\]/);
    const bad = spawnSync(process.execPath, [MAIN, '--rate', 'fast'], { encoding: 'utf8' });
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /--rate: got "fast", expected a number/);
    const missing = spawnSync(process.execPath, [MAIN, '--dry-run', '--scenarios', '/nonexistent.json'], {
      encoding: 'utf8',
    });
    assert.equal(missing.status, 78);
    assert.match(missing.stderr, /invalid scenario file \/nonexistent\.json/);
  });

  it('dry-runs without Kafka: a line per scenario, and the labels when asked', () => {
    const labelsPath = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'labels.json');
    const args = ['--dry-run', '--rate', '100', '--duration', '30s', '--start', '0', '--labels', labelsPath];
    const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^scenario +truth +senders +messages$/m);
    assert.match(r.stdout, /^snowshoe +spam +\d+ +\d+$/m);
    assert.match(r.stdout, /dry run: nothing sent/);
    const labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as Labels;
    assert.equal(labels.version, 1);
    assert.equal(labels.ratePerSecond, 100);
    assert.equal(labels.scenarios.length, 13);
  });
});
