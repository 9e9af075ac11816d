// codec.learn: a newer writer's schema, learned at run time, makes its bytes readable by this
// release when it resolves to the current schema; anything else is refused, and says so.
import { deepEqual as looseDeepEqual } from 'node:assert';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import {
  createCodec,
  fingerprintBytes,
  loadCurrentSchemas,
  loadHistory,
  MARKER,
  SchemaDecodeError,
  SchemaLearnError,
  type SenderMinute,
  schemaRegistrations,
} from '../src/index.ts';

const current = loadCurrentSchemas();
const SENDER_MINUTE = current.get('SenderMinute')!.schema as { fields: { name: string }[] };

const MINUTE: SenderMinute = {
  sender: '+12025550100',
  senderKind: 'LONG_CODE',
  campaignId: null,
  minute: 1_795_899_960_000,
  messages: 40,
  distinctRecipients: 38,
  urlMessages: 12,
  deliveryFailures: 1,
  spamReports: 2,
  subscriberBlocks: 0,
  lateEvents: 3,
  version: 2,
};

/** The current SenderMinute with its fields changed by `change`: what a newer release might write. */
function senderMinuteWith(change: (fields: Record<string, unknown>[]) => Record<string, unknown>[]) {
  const copy = structuredClone(SENDER_MINUTE) as Record<string, unknown> & {
    fields: Record<string, unknown>[];
  };
  return { ...copy, fields: change(copy.fields) };
}

const NEWER = senderMinuteWith((fields) => [
  ...fields,
  { name: 'originNetwork', type: 'string', default: '', doc: 'Added by a newer release.' },
  { name: 'optOuts', type: 'long', default: 0, doc: 'Added by a newer release.' },
]);

/** Single-object bytes of `value` written with `schema`, as a producer of that version writes them. */
function written(schema: unknown, value: unknown): Buffer {
  const type = avro.Type.forSchema(schema as avro.Schema);
  return Buffer.concat([MARKER, fingerprintBytes(schema), type.toBuffer(value)]);
}

function decodeError(fn: () => unknown): SchemaDecodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SchemaDecodeError, String(err));
    return err;
  }
  assert.fail('decoded');
}

test('a newer version with fields added with defaults is learned, and its bytes decode to the current record', () => {
  const codec = createCodec();
  const bytes = written(NEWER, { ...MINUTE, originNetwork: 'net-7', optOuts: 5 });
  const fingerprint = fingerprintBytes(NEWER).toString('hex');
  assert.equal(codec.unknownFingerprint(bytes), fingerprint);
  assert.equal(decodeError(() => codec.decode('SenderMinute', bytes)).code, 'UNKNOWN_FINGERPRINT');

  assert.deepEqual(codec.learn(JSON.stringify(NEWER)), { record: 'SenderMinute', fingerprint, added: true });
  assert.equal(
    bytes.subarray(2, 10).toString('hex'),
    fingerprint,
    'the fingerprint is the one the bytes carry',
  );
  assert.equal(codec.unknownFingerprint(bytes), undefined);
  assert.deepEqual(codec.identify(bytes), { record: 'SenderMinute', version: 'learned' });
  looseDeepEqual(codec.decode('SenderMinute', bytes), MINUTE);
  // Learning it again, as text or parsed, changes nothing.
  assert.deepEqual(codec.learn(NEWER), { record: 'SenderMinute', fingerprint, added: false });
});

test('a newer version without a field the current schema has a default for reads as that default', () => {
  const codec = createCodec();
  const dropped = senderMinuteWith((fields) => fields.filter((f) => f.name !== 'lateEvents'));
  const { lateEvents: _, ...rest } = MINUTE;
  codec.learn(dropped);
  looseDeepEqual(codec.decode('SenderMinute', written(dropped, rest)), { ...MINUTE, lateEvents: 0 });
});

test('the schemas of this release are known already', () => {
  const codec = createCodec();
  for (const s of current.values()) {
    assert.deepEqual(codec.learn(s.schema), {
      record: s.record,
      fingerprint: s.fingerprint.toString('hex'),
      added: false,
    });
  }
  for (const versions of loadHistory().values())
    for (const v of versions) assert.equal(codec.learn(JSON.stringify(v.schema)).added, false);
  assert.equal(codec.unknownFingerprint(createCodec().encode('SenderMinute', MINUTE)), undefined);
});

test('a version that does not resolve to the current schema is refused, and its bytes say why', () => {
  const codec = createCodec();
  const cases = [
    ['a field without a default removed', senderMinuteWith((f) => f.filter((x) => x.name !== 'minute'))],
    [
      'a field narrowed to another type',
      senderMinuteWith((f) =>
        f.map((x) => (x.name === 'messages' ? { ...x, type: 'string', default: '' } : x)),
      ),
    ],
  ] as const;
  for (const [what, schema] of cases) {
    const fingerprint = fingerprintBytes(schema).toString('hex');
    assert.throws(
      () => codec.learn(schema),
      (err: unknown) =>
        err instanceof SchemaLearnError &&
        err.code === 'INCOMPATIBLE' &&
        err.fingerprint === fingerprint &&
        err.retriable === false &&
        /does not resolve to the current SenderMinute/.test(err.message),
      what,
    );
    // Refused for good: the same schema again is the same refusal, and its bytes are not
    // "unknown" (no point looking for them again) but unreadable, with the reason.
    assert.throws(() => codec.learn(JSON.stringify(schema)), { code: 'INCOMPATIBLE' }, what);
    const bytes = Buffer.concat([MARKER, fingerprintBytes(schema), Buffer.from([0])]);
    assert.equal(codec.unknownFingerprint(bytes), undefined, what);
    const err = decodeError(() => codec.decode('SenderMinute', bytes));
    assert.equal(err.code, 'INCOMPATIBLE_WRITER', what);
    assert.match(err.message, /does not resolve/, what);
  }
});

test('a record this release does not have is refused, by its full name', () => {
  const codec = createCodec();
  for (const schema of [
    { type: 'record', name: 'Complaint', namespace: 'spamgate.v1', fields: [] },
    { ...NEWER, namespace: 'other.v1' },
    { ...NEWER, namespace: 'spamgate.v2' },
  ]) {
    assert.throws(() => codec.learn(schema), { name: 'SchemaLearnError', code: 'UNKNOWN_RECORD' });
    const bytes = Buffer.concat([MARKER, fingerprintBytes(schema), Buffer.from([0])]);
    assert.equal(decodeError(() => codec.decode('SenderMinute', bytes)).code, 'INCOMPATIBLE_WRITER');
  }
});

test('what is not an Avro record schema is refused as invalid', () => {
  const codec = createCodec();
  for (const text of [
    '{not json',
    '"string"',
    '{"type":"record","name":"X","fields":[{"name":"a"}]}',
    'null',
  ]) {
    assert.throws(
      () => codec.learn(text),
      (err: unknown) => err instanceof SchemaLearnError && err.code === 'SCHEMA_INVALID' && !err.fingerprint,
      text,
    );
  }
});

test('a codec learns only for itself', () => {
  const a = createCodec();
  const b = createCodec();
  a.learn(NEWER);
  const bytes = written(NEWER, { ...MINUTE, originNetwork: '', optOuts: 0 });
  assert.equal(b.unknownFingerprint(bytes), fingerprintBytes(NEWER).toString('hex'));
});

test('the registrations carry JSON whose fingerprint is their key, and name record and version', () => {
  const all = schemaRegistrations({ released: true });
  const history = loadHistory();
  const released = [...history.values()].reduce((n, v) => n + v.length, 0);
  assert.ok(all.length >= current.size && all.length <= current.size + released);
  assert.equal(new Set(all.map((r) => r.fingerprint)).size, all.length, 'once per fingerprint');
  for (const r of all) {
    assert.equal(fingerprintBytes(JSON.parse(r.json)).toString('hex'), r.fingerprint, r.record);
    assert.match(r.version, /^(v\d+|unreleased)$/, r.record);
    // A reader that knows nothing learns every one of them.
    assert.equal(createCodec().learn(r.json).record, r.record);
  }
  for (const [record, versions] of history)
    for (const v of versions)
      assert.ok(all.some((r) => r.record === record && r.fingerprint === v.fingerprint.toString('hex')));

  const decision = schemaRegistrations({ records: ['Decision', 'DeadLetter'] });
  assert.deepEqual(
    decision.map((r) => r.record),
    ['Decision', 'DeadLetter'],
  );
  for (const r of decision) {
    const now = current.get(r.record)!;
    assert.equal(r.fingerprint, now.fingerprint.toString('hex'));
    const same = history.get(r.record)?.find((v) => v.fingerprint.equals(now.fingerprint));
    assert.equal(r.version, same ? `v${same.version}` : 'unreleased');
  }
  assert.throws(() => schemaRegistrations({ records: ['Complaint'] }), /unknown record Complaint/);
});

test('unknownFingerprint tells known from unknown bytes in any order', () => {
  const codec = createCodec();
  const known = codec.encode('SenderMinute', MINUTE);
  const newer = written(NEWER, { ...MINUTE, originNetwork: '', optOuts: 0 });
  const fp = fingerprintBytes(NEWER).toString('hex');
  const zero = Buffer.concat([MARKER, Buffer.alloc(8), Buffer.from([0])]);
  assert.deepEqual(
    [known, newer, known, known, newer, zero, known, zero].map((b) => codec.unknownFingerprint(b)),
    [undefined, fp, undefined, undefined, fp, '0000000000000000', undefined, '0000000000000000'],
  );
  codec.learn(NEWER);
  assert.deepEqual(
    [newer, known, newer].map((b) => codec.unknownFingerprint(b)),
    [undefined, undefined, undefined],
  );
});
