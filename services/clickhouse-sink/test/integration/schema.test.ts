// The migrated ClickHouse tables against the Avro schemas: a field of SenderFeatures or
// ClusterFeatures without its column fails here, so the tables cannot drift from the schemas.
// And rows written before a migration added columns read back with the defaults it promised.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from '@spamgate/core';
import {
  CLUSTER_FEATURES_COLUMNS,
  clusterFeaturesFromRows,
  clusterFeaturesRows,
  columnName,
  createCodec,
  decisionFromRow,
  decisionRow,
  type Row,
  type StoredRow,
} from '@spamgate/schemas';
import {
  createMigratedTestDatabase,
  createTestDatabase,
  REPO_ROOT,
  type TestDatabase,
  testLogger,
} from '@spamgate/test';
import { loadMigrations, migrate } from '../../../../infra/clickhouse/migrate.ts';
import { missingColumns } from '../../src/sink.ts';
import { recordFactory } from '../records.ts';

let db: TestDatabase;
let columns: Map<string, string>;

before(async () => {
  db = await createMigratedTestDatabase('sink_schema');
  const rs = await db.client.query({
    query: sql`SELECT table, name, type FROM system.columns WHERE database = ${db.database}`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ table: string; name: string; type: string }>();
  columns = new Map(rows.map((r) => [`${r.table}.${r.name}`, r.type]));
});
after(async () => {
  await db?.drop();
});

const TYPES: Record<string, string> = { long: 'UInt64', double: 'Float64', string: 'String' };

function windowFields(record: 'SenderFeatures' | 'ClusterFeatures'): { name: string; type: unknown }[] {
  const fields = createCodec().schema(record).schema.fields as { name: string; type: unknown }[];
  const windows = fields.find((f) => f.name === 'windows')!.type as {
    items: { fields: { name: string; type: unknown }[] };
  };
  return windows.items.fields;
}

function typeOf(avro: unknown): string {
  if (typeof avro === 'string') return TYPES[avro] ?? avro;
  return `Array(${typeOf((avro as { items: unknown }).items)})`;
}

for (const [record, table] of [
  ['SenderFeatures', 'sender_features'],
  ['ClusterFeatures', 'cluster_features'],
] as const) {
  test(`every window field of ${record}.avsc has a column of its type in ${table}`, () => {
    for (const f of windowFields(record)) {
      assert.equal(
        columns.get(`${table}.${columnName(f.name)}`),
        typeOf(f.type),
        `${record} windows.${f.name}`,
      );
    }
  });
}

test("SenderFeatures' own fields have columns too, repeated on each window row", () => {
  assert.equal(columns.get('sender_features.url_domains'), 'Array(String)');
  assert.equal(columns.get('sender_features.clusters.cluster_id'), 'Array(String)');
  assert.equal(columns.get('sender_features.clusters.recipients'), 'Array(UInt64)');
  assert.equal(columns.get('sender_features.emitted_at_ms'), 'UInt64');
  assert.equal(columns.get('sender_features.time_window'), 'String');
});

test('the migrations give the sink every column it writes, with the type it writes', async () => {
  assert.deepEqual(await missingColumns(db.client, db.database), []);
  for (const c of ['policy_action', 'previous_action', 'decision_trigger'])
    assert.equal(columns.get(`decisions.${c}`), 'String');
  assert.equal(columns.get('decisions.published'), 'UInt8');
});

test('the decision and cluster columns added by 0006 to 0012 have the types the sink writes', () => {
  assert.equal(columns.get('decisions.throttle_rate_per_hour'), 'Nullable(UInt32)');
  assert.equal(columns.get('decisions.throttle_scope'), 'String');
  assert.equal(columns.get('decisions.decided_at_ms'), 'UInt64');
  assert.equal(columns.get('cluster_features.callback_numbers'), 'Array(String)');
  assert.equal(columns.get('cluster_features.sending_for_ms'), 'UInt64');
  assert.equal(columns.get('cluster_features.opt_out_ignoring_senders'), 'UInt64');
  assert.equal(columns.get('cluster_features.sender_sample'), 'Array(UInt64)');
  assert.equal(columns.get('cluster_features.opted_out_senders'), 'UInt64');
  assert.equal(columns.get('cluster_features.opt_out_ignored_senders'), 'UInt64');
  assert.equal(columns.get('cluster_features.sender_block_sample'), 'Array(UInt64)');
  assert.equal(columns.get('content_decisions.callback_numbers'), 'Array(String)');
  assert.equal(columns.get('content_overrides.removed'), 'UInt8');
});

test('rows written before 0006 to 0012, or without their columns after them, read no hourly limit, ALL_RECIPIENTS, decided_at x 1000 and no outcomes', async () => {
  const old = await createTestDatabase('sink_before_0006');
  try {
    const migrations = loadMigrations(`${REPO_ROOT}infra/clickhouse/migrations`);
    const run = (upTo: number) =>
      migrate({
        client: old.client,
        database: old.database,
        migrations: migrations.filter((m) => m.version <= upTo),
        logger: testLogger('migrate'),
      });
    await run(5);
    const records = recordFactory(606, Date.UTC(2026, 10, 30, 8, 0, 0));
    const decision = {
      ...records.decision(1),
      action: 'THROTTLE' as const,
      throttleRatePerMinute: 30,
      decidedAt: Date.UTC(2026, 10, 30, 8, 0, 7, 345),
    };
    const features = records.clusterFeatures(1);
    /** A row as a release before the migration wrote it: without the columns it adds. */
    const without = (row: Row, dropped: readonly string[]) =>
      Object.fromEntries(Object.entries(row).filter(([k]) => !dropped.includes(k)));
    const withoutNew = (d: typeof decision) =>
      without(decisionRow(d), ['throttle_rate_per_hour', 'throttle_scope', 'decided_at_ms']);
    await old.client.insert({ table: 'decisions', values: [withoutNew(decision)], format: 'JSONEachRow' });
    await old.client.insert({
      table: 'cluster_features',
      values: clusterFeaturesRows(features).map((r) =>
        without(r, [
          'replies',
          'delivery_failures',
          'sequential_share',
          'callback_numbers',
          'post_opt_out_sends',
          'sending_for_ms',
          'opt_out_ignoring_senders',
          'sender_sample',
          'opted_out_senders',
          'opt_out_ignored_senders',
          'sender_block_sample',
        ]),
      ),
      format: 'JSONEachRow',
    });
    // A dead letter as releases before 0013 stored it: its key, a sender's number, in base64.
    await old.client.insert({
      table: 'dead_letters',
      values: [
        {
          failed_at: 1_796_000_000,
          service: 'feature-engine',
          original_topic: 'sms.message-events',
          original_partition: 1,
          original_offset: 9,
          key_base64: Buffer.from('+12025550166').toString('base64'),
          value_bytes: 12,
          value_sha256: '00',
          error_class: 'SpamgateError',
          error_code: 'INVALID_ADDRESS',
          error_message: 'x',
        },
      ],
      format: 'JSONEachRow',
    });
    assert.deepEqual((await run(Number.MAX_SAFE_INTEGER)).applied, [6, 7, 8, 9, 10, 11, 12, 13, 14]);
    // 0013 dropped the clear key with its column: the row keeps where the record was, and no key.
    const [letter] = await (
      await old.client.query({ query: 'SELECT * FROM dead_letters', format: 'JSONEachRow' })
    ).json<StoredRow>();
    assert.deepEqual(
      [letter?.original_offset, letter?.key_hash, letter?.writer_fingerprint, 'key_base64' in (letter ?? {})],
      ['9', '0', '', false],
    );
    // A sink of the earlier release goes on writing its rows after the migration (18.16 stores
    // '' and 0 for the omitted columns, current ClickHouse their defaults).
    const later = { ...decision, decisionId: `${decision.decisionId}-later` };
    await old.client.insert({ table: 'decisions', values: [withoutNew(later)], format: 'JSONEachRow' });

    const rows = async (query: string) =>
      (await old.client.query({ query, format: 'JSONEachRow' })).json<StoredRow>();
    const stored = await rows('SELECT * FROM decisions FINAL ORDER BY decision_id');
    assert.deepEqual(
      stored.map(decisionFromRow),
      [decision, later].map((d) => ({
        ...d,
        decidedAt: Date.UTC(2026, 10, 30, 8, 0, 7),
        throttleRatePerHour: null,
        throttleScope: 'ALL_RECIPIENTS',
      })),
    );
    const list = CLUSTER_FEATURES_COLUMNS.map((c) => c.name).join(', ');
    const [back] = clusterFeaturesFromRows(
      await rows(`SELECT ${list} FROM cluster_features FINAL ORDER BY window_ms`),
    );
    assert.deepEqual(back, {
      ...features,
      windows: features.windows.map((w) => ({
        ...w,
        replies: 0,
        deliveryFailures: 0,
        sequentialShare: 0,
        callbackNumbers: [],
        postOptOutSends: 0,
        sendingForMs: 0,
        optOutIgnoringSenders: 0,
        optedOutSenders: 0,
        optOutIgnoredSenders: 0,
        senderSample: [],
        senderBlockSample: [],
      })),
    });
  } finally {
    await old.drop();
  }
});
