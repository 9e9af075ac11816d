// The alerting rules (infra/prometheus/alerts.yml) are valid Prometheus rules, pass their unit
// tests (alerts.test.yml: each fires on its pattern and not on its neighbour), watch metrics the
// services really export, and each links to its entry in the runbook.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { exportedMetricNames, unexportedMetrics } from '@spamgate/test';
import { parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url).pathname;
const RULES = join(ROOT, 'infra/prometheus/alerts.yml');
const run = promisify(execFile);

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly annotations: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

test('promtool accepts the rules and their unit tests pass', async () => {
  const check = await run('promtool', ['check', 'rules', RULES]);
  assert.match(check.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  const unit = await run('promtool', ['test', 'rules', 'alerts.test.yml'], {
    cwd: join(ROOT, 'infra/prometheus'),
  });
  assert.match(unit.stdout, /SUCCESS/);
  // Every alert is exercised by at least one unit test.
  const tests = readFileSync(join(ROOT, 'infra/prometheus/alerts.test.yml'), 'utf8');
  for (const r of rules) assert.ok(tests.includes(`alertname: ${r.alert}`), `${r.alert} has no unit test`);
});

test('every metric an alert watches is one a service exports, and every alert has its runbook entry', () => {
  const exported = exportedMetricNames();
  for (const r of rules)
    assert.deepEqual(
      unexportedMetrics(r.expr, exported),
      [],
      `${r.alert} watches metrics no service exports`,
    );
  const runbook = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  for (const r of rules) {
    assert.equal(r.annotations.runbook, `docs/operations.md#${r.alert.toLowerCase()}`);
    assert.match(
      runbook,
      new RegExp(`^### ${r.alert}$`, 'm'),
      `docs/operations.md has no section for ${r.alert}`,
    );
  }
});
