import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql, sqlIdentifier } from '@spamgate/core';
import { createTestDatabase, type TestDatabase } from '@spamgate/test';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

test('100,000 rows inserted in batches through @clickhouse/client read back with exact counts and sums', async () => {
  const table = sqlIdentifier('minute_counts');
  await db.client.command({
    query: sql`CREATE TABLE ${table} (day Date, minute DateTime, sender String, messages UInt32, recipients UInt32)
      ENGINE = MergeTree() PARTITION BY day ORDER BY (sender, minute)`,
  });
  const ROWS = 100_000;
  const BATCH = 10_000;
  let expectedMessages = 0;
  const perSender = new Map<string, number>();
  for (let start = 0; start < ROWS; start += BATCH) {
    const values = [];
    for (let i = start; i < start + BATCH; i++) {
      const minute = new Date(Date.UTC(2026, 10, 27 + (i % 2), 0, i % 1440));
      const sender = `+1202555${String(i % 100).padStart(4, '0')}`;
      const messages = (i * 7) % 61;
      expectedMessages += messages;
      perSender.set(sender, (perSender.get(sender) ?? 0) + messages);
      values.push({
        day: minute.toISOString().slice(0, 10),
        minute: minute.toISOString().slice(0, 19).replace('T', ' '),
        sender,
        messages,
        recipients: messages > 0 ? messages - 1 : 0,
      });
    }
    await db.client.insert({ table: 'minute_counts', values, format: 'JSONEachRow' });
  }
  const rs = await db.client.query({
    query: sql`SELECT count() AS n, sum(messages) AS m, uniqExact(sender) AS senders, uniqExact(day) AS days FROM ${table}`,
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ n: string; m: string; senders: string; days: string }>();
  assert.deepEqual(row, { n: String(ROWS), m: String(expectedMessages), senders: '100', days: '2' });

  const one = '+12025550042';
  const rs2 = await db.client.query({
    query: sql`SELECT sum(messages) AS m FROM ${table} WHERE sender = ${one}`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs2.json(), [{ m: String(perSender.get(one)) }]);
});
