// The docs a user reads first must stay true: the settings table and the commands CI runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { commonSettings, describeConfig } from '@spamgate/core';
import { REPO_ROOT } from '@spamgate/test';
import { clickHouseSinkSettings } from '../../services/clickhouse-sink/src/config.ts';
import { decisionEngineSettings, policyPath } from '../../services/decision-engine/src/config.ts';
import { policyTables, withPolicyTables } from '../../services/decision-engine/src/policy-doc.ts';
import { featureEngineSettings } from '../../services/feature-engine/src/config.ts';

const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');

/** The rows of a settings table README keeps between `<!-- <block>:start ... -->` and `<!-- <block>:end -->`. */
function settingsTable(block: string): { variable?: string; default?: string; doc?: string }[] {
  const m = new RegExp(`<!-- ${block}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${block}:end -->`).exec(readme);
  assert.ok(m?.[1], `README has the ${block} block`);
  return m[1]
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => {
      const cells = line.split(' | ').map((c) => c.replace(/^\|?\s*`?|`?\s*\|?$/g, ''));
      return { variable: cells[0], default: cells[1], doc: cells[2] };
    });
}

test("README's tables of settings match the code", () => {
  assert.deepEqual(settingsTable('common-settings'), describeConfig(commonSettings));
  assert.deepEqual(settingsTable('feature-engine-settings'), describeConfig(featureEngineSettings));
  assert.deepEqual(settingsTable('decision-engine-settings'), describeConfig(decisionEngineSettings));
  assert.deepEqual(settingsTable('clickhouse-sink-settings'), describeConfig(clickHouseSinkSettings));
});

test("docs/policy.md's tables are the default policy (npm run docs:policy)", () => {
  const doc = readFileSync(`${REPO_ROOT}docs/policy.md`, 'utf8');
  assert.equal(doc, withPolicyTables(doc, policyTables(policyPath({ policyFile: '' }))));
});

test('CI runs exactly the test command README gives', () => {
  const ci = readFileSync(`${REPO_ROOT}.ci/run`, 'utf8');
  const m = /^(npm ci && npm test)\s+#/m.exec(readme);
  assert.ok(m?.[1], 'README names the test command');
  assert.match(ci, new RegExp(`^${m[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
});

test("the contract's retention table matches the retention settings", async () => {
  const { RETENTION_DOCS } = await import('../../infra/clickhouse/retention.ts');
  const contract = readFileSync(`${REPO_ROOT}docs/contract.md`, 'utf8');
  for (const row of RETENTION_DOCS) {
    assert.match(contract, new RegExp(`\\| \`${row.variable}\` \\| ${row.default} \\|`), row.variable);
  }
});

test("the contract's ACL table says who writes and reads each topic, as the catalog does", async () => {
  const { TOPICS } = await import('../../infra/kafka/topics.ts');
  const contract = readFileSync(`${REPO_ROOT}docs/contract.md`, 'utf8');
  for (const t of TOPICS) {
    const row = `| \`${t.name}\` | ${t.access.write.join(', ')} | ${t.access.read.join(', ')} |`;
    assert.ok(contract.includes(row), `docs/contract.md lacks the row ${row}`);
  }
});

test("the contract's topic table has every topic of the catalog, with its partitions and cleanup policy", async () => {
  const { TOPICS } = await import('../../infra/kafka/topics.ts');
  const contract = readFileSync(`${REPO_ROOT}docs/contract.md`, 'utf8');
  for (const t of TOPICS) {
    const row = `| \`${t.name}\` | ${t.partitions} | ${t.cleanupPolicy} | ${t.retentionMs === -1 ? 'forever' : `${t.retentionMs / 86_400_000} days`} |`;
    assert.ok(contract.includes(row), `docs/contract.md lacks the row ${row}`);
  }
});
