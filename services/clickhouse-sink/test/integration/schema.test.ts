// The migrated ClickHouse tables against the Avro schemas: a field of SenderFeatures or
// ClusterFeatures without its column fails here, so the tables cannot drift from the schemas.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from '@spamgate/core';
import { createCodec } from '@spamgate/schemas';
import { createMigratedTestDatabase, type TestDatabase } from '@spamgate/test';
import { missingColumns } from '../../src/sink.ts';
import { columnName } from '../../src/tables.ts';

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
