// `npx spamgate what-if` against real ClickHouse: features stored the way the sink stores them,
// replayed through a candidate policy, compared with what the active policy decided.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  clusterFeaturesRows,
  decisionRow,
  type SenderFeatures,
  senderFeaturesRows,
  type TABLES,
} from '@spamgate/schemas';
import { createMigratedTestDatabase, getInfra, type TestDatabase } from '@spamgate/test';
import { runCli } from '../../src/cli.ts';
import { decide, EMPTY_STATE } from '../../src/decider.ts';
import type { WhatIfReport } from '../../src/what-if.ts';
import { capOf, cluster, DEFAULT_POLICY, DEFAULT_POLICY_PATH, features } from '../fixtures.ts';

let db: TestDatabase;
before(async () => {
  db = await createMigratedTestDatabase('what_if');
});
after(async () => db?.drop());

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

test('what-if replays stored features through a candidate policy and reports who it would hit differently', async () => {
  // Three senders over two hours: a busy person, a heavy sender near the minute threshold, and a
  // snowshoe number whose cluster is spam; the active policy's evaluations are stored too.
  const id = '0a1b2c3d4e5f60';
  const history: SenderFeatures[] = [];
  for (let i = 0; i < 12; i++) {
    const asOf = T0 + i * 10 * 60_000;
    history.push(
      features({
        sender: '+13035550100',
        asOf,
        windows: { all: { messages: 20, distinctRecipients: 6, contactShare: 0.9, replyRate: 0.7 } },
      }),
    );
    history.push(
      features({ sender: '+13035550200', asOf, windows: { '1m': { messages: 40, distinctRecipients: 30 } } }),
    );
    if (i >= 6)
      history.push(
        features({
          sender: '+13035550300',
          asOf,
          clusters: [id],
          windows: { all: { messages: 3, distinctRecipients: 3, newContactShare: 1 } },
        }),
      );
  }
  const spam = cluster(
    id,
    { distinctSenders: 150, distinctRecipients: 600, spamReports: 9, optOutRate: 0.1, messages: 700 },
    T0 + 55 * 60_000,
  );
  const rows = (name: keyof typeof TABLES, values: Record<string, unknown>[]) =>
    db.client.insert({ table: name, values, format: 'JSONEachRow' });
  await rows('sender_features', history.flatMap(senderFeaturesRows));
  await rows('cluster_features', clusterFeaturesRows(spam));
  // What the active policy did (as the engine writes it): every evaluation, in order.
  const evaluations = [];
  const states = new Map<string, ReturnType<typeof decide>['state']>();
  const ctx = {
    policy: DEFAULT_POLICY,
    cluster: (c: string) => (c === id ? spam : undefined),
    content: () => undefined,
    capOf,
    override: undefined,
    doNotOriginate: false,
  };
  for (const f of history) {
    const out = decide(
      ctx,
      f,
      states.get(f.sender) ?? EMPTY_STATE,
      { kind: 'FEATURES', at: f.asOf, basis: '' },
      f.asOf,
    );
    states.set(f.sender, out.state);
    evaluations.push(...out.evaluations);
  }
  await rows('decisions', evaluations.map(decisionRow));

  // The candidate: the minute threshold at 30 instead of 60.
  const doc = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));
  doc.version = 'candidate-30-a-minute';
  doc.profiles.consumer.rules.find((r: { code: string }) => r.code === 'MINUTE_VOLUME').threshold = 30;
  const dir = mkdtempSync(join(tmpdir(), 'what-if-'));
  writeFileSync(join(dir, 'candidate.json'), JSON.stringify(doc));
  const infra = await getInfra();
  const env = { SPAMGATE_CLICKHOUSE_URL: infra.clickhouseUrl, SPAMGATE_CLICKHOUSE_DATABASE: db.database };
  const range = ['--from', new Date(T0).toISOString(), '--to', new Date(T0 + 2 * 3_600_000).toISOString()];

  const lines: string[] = [];
  const code = await runCli(
    ['what-if', '--policy', join(dir, 'candidate.json'), ...range, '--json'],
    env,
    (l) => lines.push(l),
  );
  assert.equal(code, 0);
  const report = JSON.parse(lines.join('\n')) as WhatIfReport;
  assert.equal(report.featureRecords, history.length);
  assert.equal(report.senders, 3);
  assert.deepEqual(
    report.enforced,
    { ALLOW: 2, MONITOR: 0, THROTTLE: 0, BLOCK: 1 },
    'the person and the heavy sender allowed, the snowshoe number blocked',
  );
  assert.deepEqual(report.candidate, { ALLOW: 1, MONITOR: 0, THROTTLE: 1, BLOCK: 1 });
  assert.deepEqual(report.transitions, { 'ALLOW->THROTTLE': 1 });
  assert.equal(report.changed[0]?.sender, '+13035550200');
  assert.equal(report.changed[0]?.reasons[0]?.code, 'MINUTE_VOLUME');

  // The same policy as the active one changes nothing; the text report says so.
  const text: string[] = [];
  assert.equal(
    await runCli(['what-if', '--policy', DEFAULT_POLICY_PATH, ...range], env, (l) => text.push(l)),
    0,
  );
  assert.match(text.join('\n'), /senders whose strongest action changes: 0/);
  assert.match(text.join('\n'), /replayed 30 feature records of 3 senders and 1 cluster records/);
});
