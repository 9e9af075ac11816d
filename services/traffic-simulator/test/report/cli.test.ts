// The report's command line and its labels file, before anything reaches ClickHouse.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '@spamgate/core';
import { REPORT_USAGE, ReportUsageError, runReportCli } from '../../src/report/cli.ts';
import { LabelsFileError, parseLabels, readLabels } from '../../src/report/labels-file.ts';
import { LEGIT, labels, PHISHING, scenario } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'spamgate-report-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const io = () => {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    },
  };
};

test('a labels file the simulator wrote reads back as it was', () => {
  const run = labels(scenario('ordinary', false, LEGIT, 2), scenario('phishing', true, PHISHING, 1));
  const path = join(dir, 'labels.json');
  writeFileSync(path, JSON.stringify(run));
  assert.deepEqual(readLabels(path), run);
});

test('a labels file of another shape is refused with every problem and its JSON path', () => {
  const bad = {
    version: 2,
    seed: 'x',
    startedAt: 10,
    endedAt: 5,
    ratePerSecond: 1,
    topicPrefix: '',
    scenarios: [
      {
        id: '',
        title: 't',
        spam: 'yes',
        expect: { ...LEGIT, actionRequired: 'MAYBE' },
        senders: [{ sender: 1 }],
      },
      null,
    ],
  };
  assert.throws(
    () => parseLabels(bad, 'run.json'),
    (err: unknown) => {
      assert.ok(err instanceof LabelsFileError);
      assert.equal(err.code, 'LABELS_INVALID');
      assert.deepEqual(err.problems, [
        'version should be 1',
        'seed should be a number',
        'endedAt should be at or after startedAt',
        'scenarios[0].id should be a non-empty string',
        'scenarios[0].spam should be true or false',
        'scenarios[0].expect.actionRequired should be NONE, THROTTLE_OR_BLOCK or BLOCK',
        'scenarios[0].senders[0].sender should be a string',
        'scenarios[0].senders[0].firstMessageAt should be a number',
        'scenarios[0].senders[0].messages should be a number',
        'scenarios[1] should be an object',
      ]);
      assert.match(err.message, /^run\.json is not a simulator labels file: version should be 1; /);
      return true;
    },
  );
  const notJson = join(dir, 'broken.json');
  writeFileSync(notJson, '{');
  assert.throws(() => readLabels(notJson), /broken\.json is not a simulator labels file: is not JSON/);
  assert.throws(
    () => readLabels(join(dir, 'missing.json')),
    /missing\.json is not a simulator labels file: cannot be read/,
  );
});

test('the report command needs --labels, explains itself with --help, and refuses bad ClickHouse settings', async () => {
  const a = io();
  assert.equal(await runReportCli(['--help'], {}, a.io), 0);
  assert.equal(a.out.stdout, REPORT_USAGE);
  await assert.rejects(runReportCli([], {}, io().io), ReportUsageError);
  await assert.rejects(runReportCli(['--labels'], {}, io().io), {
    code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  });
  await assert.rejects(runReportCli(['--labels', 'x', '--bogus'], {}, io().io), {
    code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  });
  await assert.rejects(
    runReportCli(
      ['--labels', 'x'],
      { SPAMGATE_CLICKHOUSE_URL: 'ftp://x', SPAMGATE_CLICKHOUSE_DATABASE: 'a-b' },
      io().io,
    ),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.map((p) => p.variable).join() === 'SPAMGATE_CLICKHOUSE_URL,SPAMGATE_CLICKHOUSE_DATABASE',
  );
  await assert.rejects(runReportCli(['--labels', join(dir, 'missing.json')], {}, io().io), LabelsFileError);
});
