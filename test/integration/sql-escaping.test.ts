import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql, sqlIdentifier, sqlLiteral } from '@spamgate/core';
import { createTestDatabase, type TestDatabase } from '@spamgate/test';

const HOSTILE: readonly string[] = [
  '',
  "'",
  "''",
  "O'Brien",
  "\\'",
  '\\',
  'ends with backslash\\',
  '\\\\double',
  "'; DROP TABLE strings; --",
  '` backtick `',
  '"double quotes"',
  'NUL\0inside',
  '\0',
  'line\nbreak',
  'carriage\rreturn\r\n',
  'tab\there',
  'bell\x07 escape\x1b[31m delete\x7f',
  '\b\f\v',
  'ünïcødé',
  '日本語のテキスト',
  '𝕊𝕡𝕒𝕞 📨🚫 👨‍👩‍👧',
  'right-to-left \u202e override',
  'e\u0301 combining',
  '\uFEFF BOM and \u2028 line separator',
  '{x:String} and ? and $1',
  '%s %d %n',
  '\\x00 literal backslash x',
  'x'.repeat(100_000),
];

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

test('hostile strings round-trip through ClickHouse as SELECT literals', async () => {
  for (const value of HOSTILE) {
    const rs = await db.client.query({
      query: sql`SELECT ${value} AS v, length(${value}) AS n`,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ v: string; n: string }>();
    assert.equal(row?.v, value, `round trip of ${JSON.stringify(value.slice(0, 40))}`);
    assert.equal(Number(row?.n), Buffer.byteLength(value, 'utf8'), 'byte length seen by the server');
  }
});

test('hostile strings round-trip through an INSERT ... VALUES built with sqlLiteral', async () => {
  const table = sqlIdentifier('strings');
  await db.client.command({
    query: sql`CREATE TABLE ${table} (i UInt32, s String) ENGINE = MergeTree() ORDER BY i`,
  });
  const rows = HOSTILE.map((s, i) => `(${sqlLiteral(i)}, ${sqlLiteral(s)})`).join(', ');
  await db.client.command({ query: `INSERT INTO ${table.text} (i, s) VALUES ${rows}` });
  const rs = await db.client.query({
    query: sql`SELECT i, s FROM ${table} ORDER BY i`,
    format: 'JSONEachRow',
  });
  const got = await rs.json<{ i: number; s: string }>();
  assert.equal(got.length, HOSTILE.length, 'no statement was split or truncated');
  for (const [i, row] of got.entries()) assert.equal(row.s, HOSTILE[i], `row ${i}`);
  const count = await db.client.query({
    query: sql`SELECT count() AS n FROM ${table} WHERE s = ${"'; DROP TABLE strings; --"}`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await count.json(), [{ n: '1' }]);
});

test('numbers, booleans, dates, NULL and arrays are read back as written', async () => {
  const when = new Date(Date.UTC(2026, 10, 28, 21, 5, 9));
  const rs = await db.client.query({
    query: sql`SELECT ${42} AS i, ${-1.5} AS f, ${2n ** 63n - 1n} AS big, ${true} AS b, toString(${when}) AS d,
      isNull(${null}) AS nul, ${['a', "b'c"]} AS arr`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [
    { i: 42, f: -1.5, big: '9223372036854775807', b: 1, d: '2026-11-28 21:05:09', nul: 1, arr: ['a', "b'c"] },
  ]);
});
