// Records ClickHouse refuses, without ClickHouse: which insert errors are content errors, and
// how splitting a batch finds the refused records, writes every other one once, keeps a record's
// rows together and survives outages in the middle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '@spamgate/test';
import {
  CONTENT_ERRORS,
  contentErrorCode,
  createInsertPlan,
  RecordRefusedError,
  serverMessage,
} from '../src/poison.ts';

/** An error as @clickhouse/client rejects with for ClickHouse 18.16: the code only in the message. */
const old = (code: number, text: string): Error =>
  new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception`);

/** An error as @clickhouse/client rejects with for current ClickHouse: its code and type parsed. */
function current(code: number, type: string, text: string): Error {
  return Object.assign(new Error(text), { code: String(code), type });
}

test('only errors that refuse the data are content errors; outages, limits and unknown codes are retried', () => {
  const content = [
    old(
      25,
      'Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key reason)',
    ),
    old(27, 'Cannot parse input: expected , before: .5}: (at row 1)'),
    old(72, "Unsigned type must not contain '-' symbol: (while read the value of key u): (at row 1)"),
    old(117, 'Unknown field found while parsing JSONEachRow format: zz: (at row 1)'),
    old(
      190,
      "Elements 'n.x' and 'n.y' of Nested data structure 'n' (Array columns) have different array sizes.",
    ),
    current(
      25,
      'CANNOT_PARSE_ESCAPE_SEQUENCE',
      'Cannot parse escape sequence: missing second part of surrogate pair',
    ),
    current(691, 'UNKNOWN_ELEMENT_OF_ENUM', "Unknown element 'X' for enum"),
  ];
  for (const err of content) assert.notEqual(contentErrorCode(err), undefined, err.message);
  assert.equal(contentErrorCode(content[0]), 25);
  assert.equal(contentErrorCode(content[6]), 691);

  const availability: unknown[] = [
    old(210, 'Connection refused'),
    old(241, 'Memory limit (for query) exceeded: would use 2.01 MiB'),
    old(252, 'Too many parts (300). Merges are processing significantly slower than inserts.'),
    old(159, 'Timeout exceeded: elapsed 30 seconds'),
    old(60, "Table db.decisions doesn't exist."),
    // An unknown Enum element on 18.16: LOGICAL_ERROR, far too general to take for content.
    old(49, "Unknown element 'C' for type Enum8('A' = 1, 'B' = 2)"),
    // The input ended early: as likely a connection cut mid-request.
    old(33, 'Unexpected end of stream while parsing JSONEachRow format: (at row 1)'),
    current(202, 'TOO_MANY_SIMULTANEOUS_QUERIES', 'Too many simultaneous queries'),
    current(999_999, 'SOMETHING_NEW', 'a code this sink has never heard of'),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
    new Error('Timeout error.'),
    new Error('The user aborted a request.'),
    'Code: 27 as a string, not an error',
    undefined,
    null,
  ];
  for (const err of availability) assert.equal(contentErrorCode(err), undefined, String(err));
  for (const [code, name] of Object.entries(CONTENT_ERRORS)) assert.match(name, /^[A-Z_]+$/, code);
});

test("a refused record's reason names the table, ClickHouse's code and its message, truncated by character", () => {
  const err = new RecordRefusedError(
    'policy_overrides',
    old(
      25,
      'Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key reason)',
    ),
  );
  assert.equal(err.name, 'RecordRefusedError');
  assert.equal(err.code, 'CANNOT_PARSE_ESCAPE_SEQUENCE');
  assert.equal(err.clickhouseCode, 25);
  assert.equal(err.retriable, false);
  assert.equal(
    err.message,
    "ClickHouse refused the record's rows for table policy_overrides: code 25 CANNOT_PARSE_ESCAPE_SEQUENCE: " +
      'Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key reason)',
  );
  assert.throws(() => new RecordRefusedError('decisions', old(210, 'Connection refused')), TypeError);

  // Current servers' messages come parsed; multi-line diagnostics are folded onto one line.
  assert.equal(
    serverMessage(current(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'Cannot parse input:\n  expected ,\n')),
    'Cannot parse input: expected ,',
  );
  // Long messages are cut by code point: never half a surrogate pair.
  const long = serverMessage(new Error(`${'a'.repeat(8)}${'😀'.repeat(600)}`), 10);
  assert.equal(long, `aaaaaaaa😀…`);
  assert.equal([...serverMessage(new Error('x'.repeat(5_000)))].length, 500);
});

interface FakeRecord {
  readonly id: number;
  readonly rows: readonly string[];
}

const refusal = (): Error => old(27, 'Cannot parse input: expected , before: <the row>: (at row 3)');
const outage = (): Error => old(210, 'Connection refused');

/** Records 0..n-1, of 1 to 4 rows each. */
function makeRecords(n: number, random: () => number): FakeRecord[] {
  return Array.from({ length: n }, (_, id) => ({
    id,
    rows: Array.from({ length: 1 + Math.floor(random() * 4) }, (_, w) => `${id}:${w}`),
  }));
}

/** Runs a plan to its end the way the sink does: run again after every thrown error. */
async function runToEnd<R>(
  plan: ReturnType<typeof createInsertPlan<R>>,
  insert: (rs: readonly R[]) => Promise<void>,
) {
  let thrown = 0;
  while (!plan.done) {
    try {
      await plan.run(insert);
    } catch (err) {
      assert.equal(contentErrorCode(err), undefined, 'content errors never escape the plan');
      thrown++;
    }
  }
  return thrown;
}

test('splitting finds exactly the refused records, writes every other record once, and never cuts a record', async () => {
  const random = seededRandom(7);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(random() * 200);
    const records = makeRecords(n, random);
    // Mostly none or a few refused records; sometimes all of them.
    const share = round % 10 === 0 ? 1 : random() < 0.3 ? 0 : random() * 0.05;
    const poison = new Set(records.filter(() => random() < share).map((r) => r.id));
    // Records come in groups (days) that are never inserted together.
    const groups: FakeRecord[][] = [];
    for (let i = 0; i < n; ) {
      const size = 1 + Math.floor(random() * n);
      groups.push(records.slice(i, i + size));
      i += size;
    }
    const groupOf = new Map(groups.flatMap((g, gi) => g.map((r) => [r.id, gi] as const)));

    const written: number[] = [];
    const writtenRows: string[] = [];
    let inserts = 0;
    const plan = createInsertPlan(groups);
    await runToEnd(plan, async (batch) => {
      inserts++;
      assert.ok(batch.length > 0);
      assert.equal(new Set(batch.map((r) => groupOf.get(r.id))).size, 1, 'one group per insert');
      if (batch.some((r) => poison.has(r.id))) throw refusal();
      for (const r of batch) {
        written.push(r.id);
        writtenRows.push(...r.rows);
      }
    });

    const label = `round ${round}: ${n} records, ${poison.size} refused`;
    assert.deepEqual(
      plan.refused.map((x) => x.record.id),
      records.filter((r) => poison.has(r.id)).map((r) => r.id),
      label,
    );
    for (const x of plan.refused) assert.equal(contentErrorCode(x.error), 27);
    assert.deepEqual(
      written,
      records.filter((r) => !poison.has(r.id)).map((r) => r.id),
      label,
    );
    assert.deepEqual(
      writtenRows,
      records.filter((r) => !poison.has(r.id)).flatMap((r) => r.rows),
      `${label}: whole records, in order`,
    );
    // Bisection: a refused record costs about two inserts per halving, never more than splitting all.
    const bound =
      poison.size === 0
        ? groups.length
        : Math.min(
            2 * n - 1 + groups.length,
            groups.length + 2 * poison.size * (Math.ceil(Math.log2(n)) + 1),
          );
    assert.ok(inserts <= bound, `${label}: ${inserts} inserts for at most ${bound}`);
  }
});

test('a batch without refused records is one insert per group, and a refused record among 1000 costs about 20', async () => {
  const random = seededRandom(11);
  const records = makeRecords(1_000, random);
  const clean = createInsertPlan([records.slice(0, 600), records.slice(600)]);
  let inserts = 0;
  await clean.run(async () => {
    inserts++;
  });
  assert.deepEqual([inserts, clean.refused.length, clean.done], [2, 0, true]);

  const sizes: number[] = [];
  const plan = createInsertPlan([records]);
  await plan.run(async (batch) => {
    sizes.push(batch.length);
    if (batch.some((r) => r.id === 613)) throw refusal();
  });
  assert.deepEqual(
    plan.refused.map((x) => x.record.id),
    [613],
  );
  // 1000, 500 and 500, then halving down to the record: the same sizes on every run.
  assert.deepEqual(sizes.slice(0, 3), [1_000, 500, 500]);
  assert.ok(sizes.length <= 21, `${sizes.length} inserts`);
});

test('an outage in the middle of a split retries the same insert and keeps what was found and written', async () => {
  const random = seededRandom(3);
  for (let round = 0; round < 200; round++) {
    const records = makeRecords(1 + Math.floor(random() * 300), random);
    const poison = new Set(records.filter(() => random() < 0.03).map((r) => r.id));
    const insertOf = (batch: readonly FakeRecord[]) => batch.map((r) => r.id).join(',');

    // The inserts a plan makes when ClickHouse never fails.
    const reference: string[] = [];
    await createInsertPlan([records]).run(async (batch) => {
      reference.push(insertOf(batch));
      if (batch.some((r) => poison.has(r.id))) throw refusal();
    });

    // The same batch while ClickHouse is unavailable for about every other attempt.
    const answered: string[] = [];
    const written: number[] = [];
    const plan = createInsertPlan([records]);
    let lastFailed: string | undefined;
    const outages = await runToEnd(plan, async (batch) => {
      const key = insertOf(batch);
      if (lastFailed !== undefined) {
        assert.equal(key, lastFailed, 'after an outage, the insert that failed is tried again as it was');
      }
      if (random() < 0.4) {
        lastFailed = key;
        throw outage();
      }
      lastFailed = undefined;
      answered.push(key);
      if (batch.some((r) => poison.has(r.id))) throw refusal();
      written.push(...batch.map((r) => r.id));
    });

    // The inserts ClickHouse answered are those of the run without outages: deterministic.
    assert.deepEqual(answered, reference, `round ${round}, ${outages} outages`);
    assert.deepEqual(
      plan.refused.map((x) => x.record.id),
      [...poison].sort((a, b) => a - b),
    );
    assert.deepEqual(
      written,
      records.filter((r) => !poison.has(r.id)).map((r) => r.id),
      'each written once',
    );
  }
});

test('a plan with nothing to insert is done at once', async () => {
  const plan = createInsertPlan<FakeRecord>([[], []]);
  assert.equal(plan.done, true);
  await plan.run(async () => assert.fail('no insert'));
  assert.deepEqual(plan.refused, []);
});
