// The appeals path, end to end on the real servers: the decision engine and the ClickHouse sink
// as processes. A blast is blocked, an operator allows it with the CLI, and ClickHouse holds the
// override, the decision it changed, every evaluation, and the shadow policy's evaluations.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createMigratedTestDatabase,
  eventually,
  getInfra,
  spawnService,
  TEST_HASH_KEY,
  type TestDatabase,
  uniqueName,
} from '@spamgate/test';
import { runCli } from '../../src/cli.ts';
import { BLAST, DEFAULT_POLICY, DEFAULT_POLICY_PATH, features } from '../fixtures.ts';
import { decodeDecision, useDecisionHarness } from './harness.ts';

const SINK = new URL('../../../clickhouse-sink/src/main.ts', import.meta.url).pathname;
const h = useDecisionHarness();
let db: TestDatabase;
before(async () => {
  db = await createMigratedTestDatabase('audit');
});
after(async () => db?.drop());

const SENDER = '+12025550777';

async function rows(query: string): Promise<Record<string, unknown>[]> {
  const rs = await db.client.query({ query, format: 'JSONEachRow' });
  return rs.json<Record<string, unknown>>();
}

test('every override, the decision it changed and every evaluation (shadow ones marked) land in ClickHouse', async (t) => {
  const prefix = uniqueName('de-audit');
  const topics = await h.provision(prefix);
  const candidate = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));
  candidate.version = 'candidate-audit';
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  writeFileSync(join(dir, 'candidate.json'), JSON.stringify(candidate));
  const engine = h.startEngine(prefix, { SPAMGATE_SHADOW_POLICY_FILE: join(dir, 'candidate.json') });
  const infra = await getInfra();
  const sink = spawnService(SINK, {
    SPAMGATE_KAFKA_BROKERS: h.brokers,
    SPAMGATE_CLICKHOUSE_URL: infra.clickhouseUrl,
    SPAMGATE_CLICKHOUSE_DATABASE: db.database,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_SINK_GROUP: `${prefix}-sink`,
    SPAMGATE_HASH_KEY: TEST_HASH_KEY,
    SPAMGATE_HTTP_PORT: '0',
  });
  t.after(() => {
    engine.kill();
    sink.kill();
  });
  const decisions = await h.read(topics.decisions, decodeDecision);
  const t0 = Date.now() - 20_000;
  const blast = [0, 1, 2, 3, 4].map((i) =>
    features({
      sender: SENDER,
      asOf: t0 + i * 1000,
      windows: { all: { ...BLAST.all, messages: 150 * (i + 1), distinctRecipients: 150 * (i + 1) } },
    }),
  );
  await h.produceFeatures(topics.features, blast);
  await eventually(() => decisions.records.find((r) => r.key === SENDER && r.value?.action === 'BLOCK'), {
    timeoutMs: 60_000,
    what: 'the blast blocked',
  });

  const out: string[] = [];
  const env = {
    SPAMGATE_KAFKA_BROKERS: h.brokers,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_OPERATOR: 'noc-audit',
  };
  assert.equal(
    await runCli(
      ['override', 'allow', '--sender', SENDER, '--reason', 'appeal 4711', '--ttl', '7d'],
      env,
      (l) => out.push(l),
    ),
    0,
  );
  const overrideId = /override (ovr-[0-9a-f-]+)/.exec(out.join('\n'))?.[1];
  assert.ok(overrideId, out.join('\n'));
  await eventually(
    () => decisions.records.find((r) => r.key === SENDER && r.value?.overrideId === overrideId),
    {
      what: 'the ALLOW decision',
    },
  );
  assert.equal(
    await runCli(['override', 'remove', '--sender', SENDER, '--reason', 'appeal closed'], env, () => {}),
    0,
  );

  // ClickHouse: the override and its removal (with who removed it), the decision it changed, and
  // an evaluation, active and shadow, for every features record.
  const audit = await eventually(
    async () => {
      const o = await rows(
        `SELECT removed, override_id, action, author, reason FROM policy_overrides FINAL WHERE target = '${SENDER}' ORDER BY kafka_offset`,
      );
      return o.length === 2 ? o : undefined;
    },
    { timeoutMs: 60_000, what: 'the override and its removal in ClickHouse' },
  );
  assert.deepEqual(audit[0], {
    removed: 0,
    override_id: overrideId,
    action: 'ALLOW',
    author: 'noc-audit',
    reason: 'appeal 4711',
  });
  assert.deepEqual(audit[1], {
    removed: 1,
    override_id: '',
    action: '',
    author: 'noc-audit',
    reason: 'appeal closed',
  });
  const changed = await eventually(
    async () => {
      const r = await rows(
        `SELECT previous_action, action, policy_action, decision_trigger FROM decisions FINAL
         WHERE sender = '${SENDER}' AND shadow = 0 AND published = 1 AND override_id = '${overrideId}'`,
      );
      return r.length === 1 ? r : undefined;
    },
    { timeoutMs: 60_000, what: 'the decision the override changed' },
  );
  assert.deepEqual(changed[0], {
    previous_action: 'BLOCK',
    action: 'ALLOW',
    policy_action: 'BLOCK',
    decision_trigger: 'OVERRIDE',
  });
  const counts = await eventually(
    async () => {
      const r = await rows(
        `SELECT shadow, decision_trigger, count() AS n FROM decisions FINAL WHERE sender = '${SENDER}' GROUP BY shadow, decision_trigger ORDER BY shadow, decision_trigger`,
      );
      const features = r.filter((x) => x.decision_trigger === 'FEATURES');
      return features.length === 2 && features.every((x) => Number(x.n) === blast.length) ? r : undefined;
    },
    { timeoutMs: 60_000, what: 'every evaluation, active and shadow' },
  );
  assert.ok(
    counts.some((x) => x.shadow === 1 && x.decision_trigger === 'OVERRIDE'),
    'the shadow policy is evaluated on overrides too',
  );
  const versions = await rows(
    `SELECT DISTINCT policy_version, shadow FROM decisions FINAL WHERE sender = '${SENDER}' ORDER BY shadow`,
  );
  assert.deepEqual(versions, [
    { policy_version: DEFAULT_POLICY.version, shadow: 0 },
    { policy_version: 'candidate-audit', shadow: 1 },
  ]);
});
