// The row mappings: every Avro field has a column, every record comes back from its rows, and a
// value that does not fit its column is refused with a typed error rather than sent to ClickHouse.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createSubscriberHasher, isBadInput } from '@spamgate/core';
import {
  CLUSTER_FEATURES_COLUMNS,
  CLUSTER_WINDOW_COLUMNS,
  CONTENT_DECISION_COLUMNS,
  CONTENT_OVERRIDE_COLUMNS,
  type ColumnSpec,
  clusterFeaturesFromRows,
  clusterFeaturesQuery,
  clusterFeaturesRows,
  columnName,
  contentDecisionFromRow,
  contentDecisionRow,
  contentOverrideFromRow,
  contentOverrideRow,
  contentOverrideTarget,
  createCodec,
  DEAD_LETTER_COLUMNS,
  DECISION_COLUMNS,
  deadLetterRow,
  decisionFromRow,
  decisionRow,
  POLICY_OVERRIDE_COLUMNS,
  policyOverrideFromRow,
  policyOverrideRow,
  type Row,
  RowMappingError,
  SENDER_FEATURES_COLUMNS,
  SENDER_MINUTE_COLUMNS,
  type SenderFeatures,
  senderFeaturesFromRows,
  senderFeaturesQuery,
  senderFeaturesRows,
  senderMinuteFromRow,
  senderMinuteRow,
  TABLES,
  WINDOW_FEATURE_COLUMNS,
} from '@spamgate/schemas';
import { asStored, contentOverrideKey, recordFactory } from './records.ts';

const HASHER = createSubscriberHasher('sink-tables-test-key');

const codec = createCodec();
const BASE = Date.UTC(2026, 2, 14, 9, 26, 0);
const records = recordFactory(7, BASE);

type AvroField = { name: string; type: unknown };

/** The top-level fields of a record in the current schema. */
function recordFields(record: 'Decision' | 'ContentDecision'): AvroField[] {
  return codec.schema(record).schema.fields as AvroField[];
}

/** The fields of a record's array-of-records field (windows) in the current schema. */
function itemFields(record: 'SenderFeatures' | 'ClusterFeatures', field: string): AvroField[] {
  const fields = codec.schema(record).schema.fields as AvroField[];
  const array = fields.find((f) => f.name === field)?.type as { items: { fields: AvroField[] } };
  return array.items.fields;
}

/** The column type an Avro type is stored as. */
function columnType(type: unknown): string {
  if (type === 'long' || type === 'int') return 'UInt64';
  if (type === 'double') return 'Float64';
  if (type === 'string') return 'String';
  if (typeof type === 'object' && type !== null && (type as { type: string }).type === 'array') {
    return `Array(${columnType((type as { items: unknown }).items)})`;
  }
  throw new Error(`no column type for ${JSON.stringify(type)}`);
}

test('the column rule is snake_case with digits kept, and names the keyword fields apart', () => {
  assert.equal(columnName('distinctRecipients'), 'distinct_recipients');
  assert.equal(columnName('peak1s'), 'peak1s');
  assert.equal(columnName('peak10s'), 'peak10s');
  assert.equal(columnName('postOptOutSends'), 'post_opt_out_sends');
  assert.equal(columnName('window'), 'time_window');
  assert.equal(columnName('trigger'), 'decision_trigger');
});

test('every WindowFeatures field of SenderFeatures.avsc has a sender_features column of its type', () => {
  const columns = new Map(SENDER_FEATURES_COLUMNS.map((c) => [c.name, c.type]));
  const mapped = new Map(WINDOW_FEATURE_COLUMNS.map((c) => [c.field as string, c.column]));
  const fields = itemFields('SenderFeatures', 'windows');
  assert.ok(fields.length >= 28, 'the schema has its windows');
  for (const f of fields) {
    assert.equal(mapped.get(f.name), columnName(f.name), `WindowFeatures.${f.name} is mapped by the rule`);
    assert.equal(
      columns.get(columnName(f.name)),
      columnType(f.type),
      `WindowFeatures.${f.name} has a column`,
    );
  }
  assert.equal(mapped.size, fields.length, 'no column for a field the schema does not have');
});

test('every ClusterWindowFeatures field of ClusterFeatures.avsc has a cluster_features column of its type', () => {
  const columns = new Map(CLUSTER_FEATURES_COLUMNS.map((c) => [c.name, c.type]));
  const mapped = new Map(CLUSTER_WINDOW_COLUMNS.map((c) => [c.field as string, c.column]));
  const fields = itemFields('ClusterFeatures', 'windows');
  for (const f of fields) {
    assert.equal(
      mapped.get(f.name),
      columnName(f.name),
      `ClusterWindowFeatures.${f.name} is mapped by the rule`,
    );
    assert.equal(
      columns.get(columnName(f.name)),
      columnType(f.type),
      `ClusterWindowFeatures.${f.name} has a column`,
    );
  }
  assert.equal(mapped.size, fields.length);
});

for (const [record, columns] of [
  ['Decision', DECISION_COLUMNS],
  ['ContentDecision', CONTENT_DECISION_COLUMNS],
] as const) {
  test(`every field of ${record}.avsc has a column named by the rule, its reasons one per member`, () => {
    const names = new Set((columns as readonly ColumnSpec[]).map((c) => c.name));
    for (const f of recordFields(record)) {
      if (f.name === 'reasons') {
        for (const member of ['code', 'feature', 'time_window', 'observed', 'threshold'])
          assert.ok(names.has(`reasons.${member}`), `${record}.reasons.${member}`);
        continue;
      }
      assert.ok(names.has(columnName(f.name)), `${record}.${f.name} has the column ${columnName(f.name)}`);
    }
  });
}

test('a row has exactly the columns its table declares', () => {
  const cases: [keyof typeof TABLES, Row[]][] = [
    ['sender_features', senderFeaturesRows(records.senderFeatures(1))],
    ['cluster_features', clusterFeaturesRows(records.clusterFeatures(1))],
    ['decisions', [decisionRow(records.decision(1))]],
    ['policy_overrides', [policyOverrideRow('+12025550001', records.policyOverride(1), at(3))]],
    ['content_decisions', [contentDecisionRow(records.contentDecision(1))]],
    ['content_overrides', [contentOverrideRow('DOMAIN:x.example', records.contentOverride(1), at(3))]],
    ['content_overrides', [contentOverrideRow('CLUSTER:0a1b2c3d4e5f60', null, at(4))]],
    ['sender_minute', [senderMinuteRow(records.senderMinute(1))]],
    ['dead_letters', [deadLetterRow(records.deadLetter(1), HASHER)]],
  ];
  for (const [table, rows] of cases) {
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).sort(), TABLES[table].columns.map((c) => c.name).sort(), table);
      assert.equal(typeof row[TABLES[table].partitionColumn], 'number', `${table} partition column`);
    }
  }
});

test('SenderFeatures come back field for field from their rows, one row per window', () => {
  const original = Array.from({ length: 200 }, (_, i) => records.senderFeatures(i));
  const rows = original.flatMap(senderFeaturesRows);
  assert.equal(rows.length, 800);
  const row = rows[0]!;
  assert.equal(row.as_of, Math.floor(original[0]!.asOf / 1000));
  assert.equal(row.time_window, '1m');
  assert.equal(row.peak10s, original[0]!.windows[0]!.peak10s);
  assert.equal(row.post_opt_out_sends, original[0]!.windows[0]!.postOptOutSends);
  // The rows in any order, as ClickHouse returns them: grouped back by record, windows sorted.
  const shuffled = asStored(rows, SENDER_FEATURES_COLUMNS).reverse();
  const back = senderFeaturesFromRows(shuffled);
  const byKey = (r: SenderFeatures) => `${r.sender}/${r.asOf}`;
  assert.deepEqual(
    back.sort((a, b) => byKey(a).localeCompare(byKey(b))),
    original.sort((a, b) => byKey(a).localeCompare(byKey(b))),
  );
});

test('a SenderFeatures record survives Avro, rows and back unchanged', () => {
  const original = records.senderFeatures(42);
  const decoded = codec.decode('SenderFeatures', codec.encode('SenderFeatures', original));
  assert.deepEqual(senderFeaturesFromRows(asStored(senderFeaturesRows(decoded), SENDER_FEATURES_COLUMNS)), [
    original,
  ]);
});

test('ClusterFeatures come back field for field from their rows', () => {
  const original = Array.from({ length: 100 }, (_, i) => records.clusterFeatures(i));
  const rows = original.flatMap(clusterFeaturesRows);
  assert.equal(rows.length, 300);
  assert.deepEqual(clusterFeaturesFromRows(asStored(rows, CLUSTER_FEATURES_COLUMNS)), original);
});

test('SenderMinute, Decision and PolicyOverride come back from their row', () => {
  for (let i = 0; i < 200; i++) {
    const minute = records.senderMinute(i);
    assert.deepEqual(
      senderMinuteFromRow(asStored([senderMinuteRow(minute)], SENDER_MINUTE_COLUMNS)[0]!),
      minute,
    );
    const decision = records.decision(i);
    assert.deepEqual(decisionFromRow(asStored([decisionRow(decision)], DECISION_COLUMNS)[0]!), decision);
    const override = records.policyOverride(i);
    const entry = policyOverrideFromRow(
      asStored([policyOverrideRow(override.target, override, at(i))], POLICY_OVERRIDE_COLUMNS)[0]!,
    );
    assert.deepEqual(entry, { target: override.target, ...at(i), override });
  }
});

test('ContentDecision and ContentOverride come back from their row, through Avro, every time to the millisecond', () => {
  for (let i = 0; i < 200; i++) {
    const original = records.contentDecision(i);
    const decoded = codec.decode('ContentDecision', codec.encode('ContentDecision', original));
    const row = contentDecisionRow(decoded);
    assert.equal(row.decided_at, Math.floor(original.decidedAt / 1000));
    assert.equal(row.decided_at_ms, original.decidedAt);
    assert.deepEqual(
      contentDecisionFromRow(asStored([row], CONTENT_DECISION_COLUMNS)[0]!),
      original,
      original.decisionId,
    );
    const override = records.contentOverride(i);
    const key = contentOverrideKey(override);
    const stored = asStored(
      [
        contentOverrideRow(
          key,
          codec.decode('ContentOverride', codec.encode('ContentOverride', override)),
          at(i),
        ),
      ],
      CONTENT_OVERRIDE_COLUMNS,
    );
    assert.deepEqual(contentOverrideFromRow(stored[0]!), {
      scope: override.scope,
      target: override.target,
      ...at(i),
      override,
    });
  }
});

test("a content decision's optional fields are stored empty or 0 and read back as null", () => {
  const decision = {
    ...records.contentDecision(3),
    overrideId: null,
    expiresAt: null,
    previousAction: null,
    urlDomains: [],
    callbackNumbers: [],
  };
  const row = contentDecisionRow(decision);
  assert.deepEqual(
    [row.override_id, row.expires_at, row.expires_at_ms, row.previous_action, row.url_domains],
    ['', 0, 0, '', []],
  );
  assert.deepEqual(contentDecisionFromRow(asStored([row], CONTENT_DECISION_COLUMNS)[0]!), decision);
});

test('a content-override tombstone is a removal of the scope and target its key names, with who removed it and why', () => {
  const removal = { ...at(7), removedBy: { author: 'noc-bob', reason: 'appeal #12 closed' } };
  const row = contentOverrideRow('DOMAIN:donate.example', null, removal);
  assert.deepEqual(
    [row.scope, row.target, row.removed, row.author, row.reason, row.action, row.created_at],
    ['DOMAIN', 'donate.example', 1, 'noc-bob', 'appeal #12 closed', '', 0],
  );
  assert.deepEqual(contentOverrideFromRow(asStored([row], CONTENT_OVERRIDE_COLUMNS)[0]!), {
    scope: 'DOMAIN',
    target: 'donate.example',
    ...removal,
    override: null,
  });
  // A target may hold a colon; only the first one separates it from the scope.
  assert.deepEqual(contentOverrideTarget('DOMAIN:a:b'), { scope: 'DOMAIN', target: 'a:b' });
  assert.throws(() => contentOverrideRow(null, null, at(1)), codeIs('KEY_MISSING'));
  for (const key of ['example.com', 'SENDER:+12025550100', 'DOMAIN:', 'domain:example.com']) {
    assert.throws(() => contentOverrideRow(key, null, at(1)), codeIs('KEY_INVALID'), key);
    assert.throws(
      () => contentOverrideRow(key, records.contentOverride(1), at(1)),
      codeIs('KEY_INVALID'),
      key,
    );
  }
  // Without a key, a value still names its scope and target; with one, the key decides.
  const value = records.contentOverride(2);
  const keyless = contentOverrideRow(null, value, at(1));
  assert.deepEqual([keyless.scope, keyless.target], [value.scope, value.target]);
  const keyed = contentOverrideRow('CLUSTER:00000000000001', value, at(1));
  assert.deepEqual([keyed.scope, keyed.target], ['CLUSTER', '00000000000001']);
});

test('a policy-override tombstone is a removal of its key', () => {
  const row = policyOverrideRow('CAMPAIGN42', null, at(9));
  assert.equal(row.removed, 1);
  assert.equal(row.target, 'CAMPAIGN42');
  assert.equal(row.kafka_offset, 9);
  assert.deepEqual(policyOverrideFromRow(asStored([row], POLICY_OVERRIDE_COLUMNS)[0]!), {
    target: 'CAMPAIGN42',
    ...at(9),
    override: null,
  });
  const removed = policyOverrideRow('CAMPAIGN42', null, {
    ...at(10),
    removedBy: { author: 'noc-bob', reason: 'appeal closed' },
  });
  assert.deepEqual(
    [removed.author, removed.reason],
    ['noc-bob', 'appeal closed'],
    'who removed it and why, from its headers',
  );
  assert.throws(() => policyOverrideRow(null, null, at(1)), codeIs('KEY_MISSING'));
  // Without a key, a value still names its target.
  assert.equal(
    policyOverrideRow(null, records.policyOverride(3), at(1)).target,
    records.policyOverride(3).target,
  );
});

test("a dead letter's row keeps where the record is and keyed hashes, never a key or value", () => {
  const letter = records.deadLetter(5);
  const row = deadLetterRow(letter, HASHER);
  assert.deepEqual(
    [row.key_hash, row.value_bytes, row.value_sha256, row.writer_fingerprint],
    [letter.keyHash, letter.valueBytes, letter.valueSha256, '0123456789abcdef'],
  );
  assert.deepEqual(Object.keys(row).sort(), DEAD_LETTER_COLUMNS.map((c) => c.name).sort());
  const none = deadLetterRow(
    { ...letter, keyHash: null, valueBytes: 0, valueSha256: null, writerFingerprint: null },
    HASHER,
  );
  assert.deepEqual(
    [none.key_hash, none.value_bytes, none.value_sha256, none.writer_fingerprint],
    ['0', 0, '', ''],
  );
});

test("an older release's dead letter, which still carries the key and value, is stored hashed all the same", () => {
  const sender = '+12025550177';
  const value = Buffer.concat([
    Buffer.from('c3010011223344556677', 'hex'),
    Buffer.from('Win a prize at http://x.example'),
  ]);
  const v1 = {
    ...records.deadLetter(6),
    key: Buffer.from(sender),
    value,
    keyHash: null,
    valueBytes: 0,
    valueSha256: null,
    writerFingerprint: null,
  };
  const row = deadLetterRow(v1, HASHER);
  assert.equal(row.key_hash, HASHER.hash(sender));
  assert.equal(row.value_bytes, value.length);
  assert.equal(row.value_sha256, createHash('sha256').update(value).digest('hex'));
  assert.equal(row.writer_fingerprint, '0011223344556677');
  const text = JSON.stringify(row);
  for (const secret of [sender, 'prize', value.toString('base64'), Buffer.from(sender).toString('base64')])
    assert.ok(!text.includes(secret), `the row holds ${secret}`);
});

test("a decision's optional fields are stored empty and read back as null, reasons' missing numbers as 0", () => {
  const decision = {
    ...records.decision(1),
    action: 'BLOCK' as const,
    throttleRatePerMinute: null,
    overrideId: null,
    expiresAt: null,
    policyAction: null,
    previousAction: null,
    throttleRatePerHour: null,
    throttleScope: 'ALL_RECIPIENTS' as const,
    reasons: [{ code: 'OPERATOR_BLOCK', feature: null, window: null, observed: null, threshold: null }],
  };
  const row = decisionRow(decision);
  assert.deepEqual(
    [
      row.throttle_rate_per_minute,
      row.throttle_rate_per_hour,
      row.throttle_scope,
      row.override_id,
      row.expires_at,
      row.policy_action,
      row['reasons.feature'],
    ],
    [0, null, 'ALL_RECIPIENTS', '', 0, '', ['']],
  );
  const back = decisionFromRow(asStored([row], DECISION_COLUMNS)[0]!);
  assert.deepEqual(back.reasons, [
    { code: 'OPERATOR_BLOCK', feature: null, window: null, observed: 0, threshold: 0 },
  ]);
  assert.deepEqual({ ...back, reasons: decision.reasons }, decision);
  // basedOnEventTime and decidedAt keep their milliseconds (the _ms columns), expiresAt its seconds.
  const precise = {
    ...decision,
    basedOnEventTime: BASE + 1_234,
    decidedAt: BASE + 5_678,
    expiresAt: BASE + 3_605_678,
  };
  const preciseRow = decisionRow(precise);
  assert.deepEqual([preciseRow.decided_at, preciseRow.decided_at_ms], [(BASE + 5_000) / 1000, BASE + 5_678]);
  const again = decisionFromRow(asStored([preciseRow], DECISION_COLUMNS)[0]!);
  assert.equal(again.basedOnEventTime, BASE + 1_234);
  assert.equal(again.decidedAt, BASE + 5_678);
  assert.equal(again.expiresAt, BASE + 3_605_000);
  // A row an earlier release's sink wrote on ClickHouse 18.16 after migration 0006: '' and 0.
  const [older] = asStored([{ ...preciseRow, decided_at_ms: 0, throttle_scope: '' }], DECISION_COLUMNS);
  const fromOlder = decisionFromRow(older!);
  assert.deepEqual([fromOlder.decidedAt, fromOlder.throttleScope], [BASE + 5_000, 'ALL_RECIPIENTS']);
});

test("a throttle's hourly rate of 0 and its new-contacts scope come back as they were, not as no limit", () => {
  const throttle = {
    ...records.decision(1),
    action: 'THROTTLE' as const,
    throttleRatePerMinute: 0,
    throttleRatePerHour: 0,
    throttleScope: 'NEW_CONTACTS' as const,
  };
  const back = decisionFromRow(asStored([decisionRow(throttle)], DECISION_COLUMNS)[0]!);
  assert.deepEqual(
    [back.throttleRatePerMinute, back.throttleRatePerHour, back.throttleScope],
    [0, 0, 'NEW_CONTACTS'],
  );
});

test('values a column cannot hold are refused with a typed error naming the field', () => {
  const features = records.senderFeatures(1);
  const window0 = features.windows[0]!;
  const cases: [string, () => unknown, string, RegExp][] = [
    [
      'negative count',
      () => senderFeaturesRows({ ...features, windows: [{ ...window0, messages: -1 }] }),
      'VALUE_OUT_OF_RANGE',
      /windows\[0\]\.messages/,
    ],
    [
      'NaN share',
      () => senderFeaturesRows({ ...features, windows: [{ ...window0, urlShare: Number.NaN }] }),
      'VALUE_NOT_FINITE',
      /urlShare/,
    ],
    [
      'infinite rate',
      () =>
        clusterFeaturesRows({
          ...records.clusterFeatures(1),
          windows: [{ ...records.clusterFeatures(1).windows[0]!, optOutRate: Infinity }],
        }),
      'VALUE_NOT_FINITE',
      /optOutRate/,
    ],
    ['time before 1970', () => senderFeaturesRows({ ...features, asOf: -1 }), 'TIME_OUT_OF_RANGE', /asOf/],
    [
      'time after 2106',
      () => senderMinuteRow({ ...records.senderMinute(1), minute: Math.ceil(2 ** 32 / 60) * 60_000 }),
      'TIME_OUT_OF_RANGE',
      /minute/,
    ],
    [
      'two windows of one length',
      () => senderFeaturesRows({ ...features, windows: [window0, window0] }),
      'DUPLICATE_WINDOW',
      /windows\[1\]/,
    ],
    ['no windows', () => senderFeaturesRows({ ...features, windows: [] }), 'NO_WINDOWS', /windows/],
    [
      'minute not aligned',
      () => senderMinuteRow({ ...records.senderMinute(1), minute: BASE + 1 }),
      'MINUTE_NOT_ALIGNED',
      /minute/,
    ],
    [
      'negative throttle rate',
      () => decisionRow({ ...records.decision(1), throttleRatePerMinute: -5 }),
      'VALUE_OUT_OF_RANGE',
      /throttleRatePerMinute/,
    ],
    [
      'hourly throttle rate beyond UInt32',
      () => decisionRow({ ...records.decision(1), throttleRatePerHour: 2 ** 32 }),
      'VALUE_OUT_OF_RANGE',
      /throttleRatePerHour/,
    ],
    [
      'negative distinct senders of a content decision',
      () => contentDecisionRow({ ...records.contentDecision(1), distinctSenders: -1 }),
      'VALUE_OUT_OF_RANGE',
      /distinctSenders/,
    ],
    [
      'content decision expiring after 2106',
      () => contentDecisionRow({ ...records.contentDecision(1), expiresAt: 2 ** 32 * 1000 }),
      'TIME_OUT_OF_RANGE',
      /expiresAt/,
    ],
    [
      'NaN content decision score',
      () => contentDecisionRow({ ...records.contentDecision(1), score: Number.NaN }),
      'VALUE_NOT_FINITE',
      /score/,
    ],
    [
      'NaN score',
      () => decisionRow({ ...records.decision(1), score: Number.NaN }),
      'VALUE_NOT_FINITE',
      /score/,
    ],
    [
      'negative cluster recipients',
      () => senderFeaturesRows({ ...features, clusters: [{ clusterId: 'x', recipients: -2 }] }),
      'VALUE_OUT_OF_RANGE',
      /clusters\[0\]/,
    ],
    [
      'negative partition',
      () => deadLetterRow({ ...records.deadLetter(1), originalPartition: -1 }, HASHER),
      'VALUE_OUT_OF_RANGE',
      /originalPartition/,
    ],
  ];
  for (const [what, run, code, field] of cases) {
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof RowMappingError, what);
      assert.equal(err.code, code, what);
      assert.match(err.field, field, what);
      assert.equal(err.retriable, false);
      return true;
    });
  }
});

test('reading a row that lacks a column is a typed error', () => {
  const [row] = asStored(senderFeaturesRows(records.senderFeatures(1)), SENDER_FEATURES_COLUMNS);
  const { peak1s: _dropped, ...partial } = row!;
  assert.throws(() => senderFeaturesFromRows([partial]), codeIs('ROW_INVALID'));
  assert.throws(() => senderFeaturesFromRows([{ ...row, messages: 'many' }]), codeIs('ROW_INVALID'));
});

test('the read queries select every column, collapse with FINAL and quote what they are given', () => {
  const q = senderFeaturesQuery('spamgate', {
    fromMs: BASE,
    toMs: BASE + 60_000,
    senders: ["+1'; DROP TABLE x"],
  });
  for (const c of SENDER_FEATURES_COLUMNS) assert.ok(q.includes(`\`${c.name}\``), c.name);
  assert.match(q, /FROM `spamgate`\.`sender_features` FINAL/);
  assert.match(q, new RegExp(`as_of_ms >= ${BASE} AND as_of_ms < ${BASE + 60_000}`));
  assert.ok(q.includes("sender IN ('+1\\'; DROP TABLE x')"));
  assert.match(senderFeaturesQuery('spamgate', { fromMs: 0, toMs: 1, senders: [] }), / AND 0\n/);
  const c = clusterFeaturesQuery('db', { fromMs: BASE, toMs: BASE + 1, clusterIds: ['00ab'] });
  for (const col of CLUSTER_FEATURES_COLUMNS) assert.ok(c.includes(`\`${col.name}\``), col.name);
  assert.ok(c.includes("cluster_id IN ('00ab')"));
});

function at(offset: number) {
  return { partition: 0, offset, timestampMs: BASE + offset * 1_000 };
}

function codeIs(code: string) {
  return (err: unknown) => err instanceof RowMappingError && isBadInput(err) && err.code === code;
}
