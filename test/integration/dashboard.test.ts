// The Grafana dashboard (infra/grafana/spamgate.json): every ClickHouse query runs on the real
// ClickHouse (18.16 here, current releases under docker-compose) and shows what it promises for
// rows the sink would write; every Prometheus query parses (promtool) and watches metrics the
// services export.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  createMigratedTestDatabase,
  exportedMetricNames,
  type TestDatabase,
  unexportedMetrics,
} from '@spamgate/test';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Target {
  readonly refId: string;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly expr?: string;
  readonly rawSql?: string;
}
interface Panel {
  readonly id: number;
  readonly title: string;
  readonly targets: readonly Target[];
}
const dashboard = JSON.parse(readFileSync(join(ROOT, 'infra/grafana/spamgate.json'), 'utf8')) as {
  panels: Panel[];
};
const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p, target: t })));
const clickhouse = targets.filter((t) => t.target.datasource.type === 'grafana-clickhouse-datasource');
const prometheus = targets.filter((t) => t.target.datasource.type === 'prometheus');

const HOUR = 3_600;
const NOW = Math.floor(Date.now() / 1000);

/** A query as the ClickHouse data source sends it for a range of the last `hours` hours. */
function expand(sql: string, hours = 6): string {
  const from = NOW - hours * HOUR;
  return sql.replace(
    /\$__timeFilter\(([a-z_]+)\)/g,
    (_, column: string) => `${column} >= toDateTime(${from}) AND ${column} <= toDateTime(${NOW})`,
  );
}

let db: TestDatabase;
before(async () => {
  db = await createMigratedTestDatabase('dashboard');
  const at = (secondsAgo: number) => {
    const t = NOW - secondsAgo;
    return { based_on_event_time: t, based_on_event_ms: t * 1000, decided_at: t };
  };
  // +1202...01 blocked and still blocked; ...02 blocked, then allowed again; ...03 blocked by a
  // shadow policy only; ...04 blocked a week ago (out of range).
  const decisions = [
    { decision_id: 'd1', sender: '+12025550101', action: 'BLOCK', published: 1, shadow: 0, ...at(600) },
    { decision_id: 'd2', sender: '+12025550102', action: 'BLOCK', published: 1, shadow: 0, ...at(900) },
    { decision_id: 'd3', sender: '+12025550102', action: 'ALLOW', published: 1, shadow: 0, ...at(300) },
    { decision_id: 'd4', sender: '+12025550103', action: 'BLOCK', published: 1, shadow: 1, ...at(300) },
    {
      decision_id: 'd5',
      sender: '+12025550104',
      action: 'BLOCK',
      published: 1,
      shadow: 0,
      ...at(7 * 24 * HOUR),
    },
  ].map((d) => ({
    ...d,
    'reasons.code': ['VOLUME'],
    'reasons.feature': ['messages'],
    'reasons.time_window': ['1m'],
    'reasons.observed': [500],
    'reasons.threshold': [100],
  }));
  await db.client.insert({ table: 'decisions', values: decisions, format: 'JSONEachRow' });
  await db.client.insert({
    table: 'content_decisions',
    values: [
      {
        decision_id: 'c1',
        cluster_id: '0123456789abcd',
        action: 'BLOCK',
        distinct_senders: 40,
        distinct_recipients: 900,
        url_domains: ['parcel-now.example'],
        ...at(600),
      },
      {
        decision_id: 'c2',
        cluster_id: 'fedcba98765432',
        action: 'MONITOR',
        distinct_senders: 3,
        distinct_recipients: 20,
        url_domains: [],
        ...at(600),
      },
    ],
    format: 'JSONEachRow',
  });
  await db.client.insert({
    table: 'dead_letters',
    values: [
      {
        failed_at: NOW - 120,
        service: 'feature-engine',
        original_topic: 'sms.messages',
        error_code: 'BODY_INVALID',
      },
    ],
    format: 'JSONEachRow',
  });
});
after(async () => {
  await db?.drop();
});

/** The rows a panel's ClickHouse query returns. */
async function rowsOf(title: string): Promise<Record<string, unknown>[]> {
  const found = clickhouse.find((t) => t.panel.title === title);
  assert.ok(found, `no ClickHouse panel "${title}"`);
  const rs = await db.client.query({ query: expand(found.target.rawSql!), format: 'JSONEachRow' });
  return (await rs.json()) as Record<string, unknown>[];
}

test('the dashboard holds ClickHouse and Prometheus panels, each query on its own data source', () => {
  assert.ok(clickhouse.length >= 3 && prometheus.length >= 4, `${clickhouse.length} / ${prometheus.length}`);
  for (const { panel, target } of targets) {
    assert.ok(target.rawSql || target.expr, `panel ${panel.id} target ${target.refId} has no query`);
    assert.match(target.datasource.uid, /^\$\{DS_(PROMETHEUS|CLICKHOUSE)\}$/);
  }
});

test('every ClickHouse query runs on the real ClickHouse', async () => {
  for (const { panel, target } of clickhouse) {
    const rs = await db.client.query({ query: expand(target.rawSql!), format: 'JSONEachRow' });
    assert.ok(Array.isArray(await rs.json()), panel.title);
  }
});

test('the ClickHouse panels show what they promise for rows the sink would write', async () => {
  const blocked = await rowsOf('Senders blocked, latest first');
  assert.deepEqual(
    blocked.map((r) => r.sender),
    ['+12025550101'],
    'still blocked, enforced, in range: not unblocked, shadow or old ones',
  );
  assert.deepEqual(blocked[0]!.reason_codes, ['VOLUME']);
  const clusters = await rowsOf('Content clusters blocked, latest first');
  assert.deepEqual(
    clusters.map((r) => [r.cluster_id, Number(r.senders)]),
    [['0123456789abcd', 40]],
  );
  const perMinute = await rowsOf('Decisions published per minute, by action');
  const total = (action: string) =>
    perMinute.filter((r) => r.action === action).reduce((n, r) => n + Number(r.decisions), 0);
  assert.deepEqual([total('BLOCK'), total('ALLOW')], [2, 1], 'enforced ones in range only');
  const letters = await rowsOf('Dead letters per minute, by service and cause');
  assert.deepEqual(
    letters.map((r) => [r.cause, Number(r.records)]),
    [['feature-engine BODY_INVALID', 1]],
  );
});

test('every Prometheus query parses and watches metrics the services export', async () => {
  const exported = exportedMetricNames();
  const dir = mkdtempSync(join(tmpdir(), 'spamgate-dashboard-'));
  try {
    // promtool parses PromQL in rule files: each query becomes a recording rule.
    const rules = prometheus.map(({ panel, target }) => {
      const expr = target.expr!.replaceAll('$__rate_interval', '5m');
      assert.deepEqual(
        unexportedMetrics(expr, exported),
        [],
        `${panel.title} watches metrics no service exports`,
      );
      return `      - record: dashboard:panel_${panel.id}_${target.refId}\n        expr: ${JSON.stringify(expr)}\n`;
    });
    const file = join(dir, 'dashboard-rules.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', file]);
    assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
