import { deepEqual as looseDeepEqual } from 'node:assert';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isBadInput } from '@spamgate/core';
import avro from 'avsc';
import {
  type Codec,
  checkCompatibility,
  createCodec,
  fingerprintBytes,
  generateTypes,
  loadCurrentSchemas,
  loadHistory,
  MAX_RECORD_BYTES,
  type MessageEvent,
  type Records,
  SchemaDecodeError,
  SchemaEncodeError,
  type SchemaVersion,
} from '../src/index.ts';
import { SAMPLES } from './samples.ts';

const codec = createCodec();

function roundTrip<K extends keyof Records>(c: Codec, record: K): void {
  const bytes = c.encode(record, SAMPLES[record]);
  assert.deepEqual(bytes.subarray(0, 2), Buffer.from([0xc3, 0x01]));
  assert.deepEqual(bytes.subarray(2, 10), c.schema(record).fingerprint);
  // Loose equality: avsc returns its own record classes; fields and values must match.
  looseDeepEqual(c.decode(record, bytes), SAMPLES[record]);
}

test('every record round-trips through single-object encoding', () => {
  for (const record of Object.keys(SAMPLES) as (keyof Records)[]) roundTrip(codec, record);
});

test('the bytes are plain Avro: the body after the 10-byte header decodes with the bare schema', () => {
  const bytes = codec.encode('MessageEvent', SAMPLES.MessageEvent);
  const type = avro.Type.forSchema(codec.schema('MessageEvent').schema as avro.Schema);
  assert.equal((type.fromBuffer(bytes.subarray(10)) as MessageEvent).sender, '+12025550100');
});

test('bad bytes raise one typed SchemaDecodeError, never a crash or a half-decoded record', () => {
  const good = codec.encode('MessageEvent', SAMPLES.MessageEvent);
  const cases: [Buffer, string][] = [
    [Buffer.alloc(0), 'EMPTY'],
    [Buffer.from('{"sender":"+1"}'), 'BAD_MARKER'],
    [Buffer.from([0xc3]), 'BAD_MARKER'],
    [good.subarray(0, 7), 'TRUNCATED'],
    [good.subarray(0, good.length - 3), 'TRUNCATED'],
    [Buffer.concat([good.subarray(0, 2), Buffer.alloc(8, 0xab), good.subarray(10)]), 'UNKNOWN_FINGERPRINT'],
    [codec.encode('FeedbackEvent', SAMPLES.FeedbackEvent), 'WRONG_RECORD'],
    [Buffer.concat([good, Buffer.from([0])]), 'TRAILING_BYTES'],
    [Buffer.concat([good.subarray(0, 10), Buffer.from([0x01, 0x02, 0x03])]), 'TRUNCATED'],
  ];
  for (const [bytes, code] of cases) {
    assert.throws(
      () => codec.decode('MessageEvent', bytes),
      (err: unknown) =>
        err instanceof SchemaDecodeError && err.code === code && err.retriable === false && isBadInput(err),
      code,
    );
  }
});

test('random garbage after a valid header is always a SchemaDecodeError', () => {
  const header = codec.encode('MessageEvent', SAMPLES.MessageEvent).subarray(0, 10);
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 2000; i++) {
    const body = Buffer.from(Array.from({ length: rand() % 64 }, () => rand() & 0xff));
    try {
      const v = codec.decode('MessageEvent', Buffer.concat([header, body]));
      assert.equal(typeof v.messageId, 'string'); // a random body can happen to be valid
    } catch (err) {
      assert.ok(err instanceof SchemaDecodeError, String(err));
    }
  }
});

test('values that do not fit the schema are refused with the paths that are wrong', () => {
  assert.throws(
    () =>
      codec.encode('MessageEvent', { ...SAMPLES.MessageEvent, eventTime: 'yesterday' as unknown as number }),
    (err: unknown) => err instanceof SchemaEncodeError && err.paths.includes('eventTime') && !isBadInput(err),
  );
  assert.throws(
    () => codec.encode('Decision', { ...SAMPLES.Decision, action: 'NUKE' as 'BLOCK' }),
    (err: unknown) => err instanceof SchemaEncodeError && err.paths.includes('action'),
  );
  assert.throws(
    () => codec.encode('DeadLetter', { ...SAMPLES.DeadLetter, originalOffset: 2 ** 60 }),
    SchemaEncodeError,
  );
});

/** A registry in which MessageEvent's current schema is `next` and its last release is the real current one. */
function evolved(next: Record<string, unknown>): {
  current: Map<string, SchemaVersion>;
  history: Map<string, readonly SchemaVersion[]>;
} {
  const real = loadCurrentSchemas();
  const v1 = real.get('MessageEvent')!;
  const current = new Map(real);
  current.set('MessageEvent', {
    record: 'MessageEvent',
    version: 'current',
    schema: next,
    type: avro.Type.forSchema(next as avro.Schema),
    fingerprint: fingerprintBytes(next),
  });
  return { current, history: new Map([['MessageEvent', [{ ...v1, version: 1 }]]]) };
}

test('a newer reader decodes older bytes and an older reader decodes newer bytes', () => {
  const v1 = loadCurrentSchemas().get('MessageEvent')!;
  const fields = v1.schema.fields as object[];
  const v2 = {
    ...v1.schema,
    fields: [...fields, { name: 'segments', type: 'int', default: 1, doc: 'SMS parts.' }],
  };
  const { current, history } = evolved(v2);
  assert.deepEqual(checkCompatibility(current, history), []);

  const newReader = createCodec(current, history);
  const oldBytes = codec.encode('MessageEvent', SAMPLES.MessageEvent);
  const upgraded = newReader.decode('MessageEvent', oldBytes) as MessageEvent & { segments: number };
  assert.equal(upgraded.segments, 1, 'the default fills the field the old writer did not have');
  assert.equal(upgraded.sender, SAMPLES.MessageEvent.sender);

  const newBytes = newReader.encode('MessageEvent', { ...SAMPLES.MessageEvent, segments: 3 } as MessageEvent);
  const oldReader = createCodec(
    new Map([['MessageEvent', v1]]),
    new Map([['MessageEvent', [{ ...v2Version(v2), version: 2 }]]]),
  );
  assert.deepEqual({ ...oldReader.decode('MessageEvent', newBytes) }, SAMPLES.MessageEvent);
});

function v2Version(schema: Record<string, unknown>): SchemaVersion {
  return {
    record: 'MessageEvent',
    version: 2,
    schema,
    type: avro.Type.forSchema(schema as avro.Schema),
    fingerprint: fingerprintBytes(schema),
  };
}

test('a field added without a default, or a removed enum symbol, fails the compatibility check', () => {
  const v1 = loadCurrentSchemas().get('MessageEvent')!;
  const fields = v1.schema.fields as { name: string; type: unknown }[];
  const noDefault = { ...v1.schema, fields: [...fields, { name: 'segments', type: 'int' }] };
  const problems = checkCompatibility(...(Object.values(evolved(noDefault)) as [never, never]));
  assert.deepEqual(
    problems.map((p) => [p.record, p.direction]),
    [['MessageEvent', 'backward']],
  );

  const narrowed = {
    ...v1.schema,
    fields: fields.map((f) =>
      f.name === 'senderKind'
        ? { ...f, type: { type: 'enum', name: 'AddressKind', symbols: ['LONG_CODE', 'SHORT_CODE'] } }
        : f,
    ),
  };
  const p2 = checkCompatibility(...(Object.values(evolved(narrowed)) as [never, never]));
  assert.ok(
    p2.some((p) => p.direction === 'backward'),
    JSON.stringify(p2),
  );
});

test('every current schema is compatible with its last release and the generated types are fresh', () => {
  const current = loadCurrentSchemas();
  assert.deepEqual(checkCompatibility(current, loadHistory()), []);
  assert.equal(
    generateTypes(current.values()),
    readFileSync(new URL('../src/generated/types.ts', import.meta.url), 'utf8'),
  );
});

test('every record, field and named type carries a doc string', () => {
  const missing: string[] = [];
  const visit = (s: unknown, path: string): void => {
    if (Array.isArray(s)) {
      for (const [i, x] of s.entries()) visit(x, `${path}[${i}]`);
      return;
    }
    if (s === null || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    if ((o.type === 'record' || o.type === 'enum') && typeof o.doc !== 'string') missing.push(path);
    for (const f of (o.fields as Record<string, unknown>[] | undefined) ?? []) {
      if (typeof f.doc !== 'string') missing.push(`${path}.${String(f.name)}`);
      visit(f.type, `${path}.${String(f.name)}`);
    }
    if (o.items) visit(o.items, `${path}[]`);
  };
  for (const [record, s] of loadCurrentSchemas()) visit(s.schema, record);
  assert.deepEqual(missing, []);
});

test('encode writes exactly what the schema accepts: every wrong field of every record is refused, with its path', () => {
  const wrong: unknown[] = [
    undefined,
    null,
    'x',
    2 ** 60,
    -1.5,
    0,
    true,
    {},
    [],
    [{ bogus: 1 }],
    Buffer.alloc(3),
  ];
  let refusals = 0;
  for (const record of Object.keys(SAMPLES) as (keyof Records)[]) {
    const type = codec.schema(record).type;
    const sample = SAMPLES[record] as unknown as Record<string, unknown>;
    for (const field of Object.keys(sample)) {
      for (const w of wrong) {
        const value = { ...sample, [field]: w };
        const valid = type.isValid(value);
        let refused: unknown;
        try {
          codec.decode(record, codec.encode(record, value as never));
        } catch (err) {
          refused = err;
        }
        if (valid) assert.equal(refused, undefined, `${record}.${field} = ${String(w)} is valid`);
        else {
          refusals++;
          assert.ok(
            refused instanceof SchemaEncodeError && refused.paths.some((p) => p.startsWith(field)),
            `${record}.${field} = ${String(w)}: ${String(refused)}`,
          );
        }
      }
    }
  }
  assert.ok(refusals > 100, `${refusals} wrong values refused`);
});

test('records of any size encode, however far past the scratch buffer, and the next small one after them', () => {
  const c = createCodec();
  for (const size of [60_000, 70_000, 200_000, 300_000, 1_048_576, 5_000_000]) {
    const value = Buffer.alloc(size, size % 251);
    const big = { ...SAMPLES.DeadLetter, value };
    const bytes = c.encode('DeadLetter', big);
    assert.ok(bytes.length > size, `${size} bytes`);
    if (bytes.length <= MAX_RECORD_BYTES) {
      assert.deepEqual(c.decode('DeadLetter', bytes).value, value, `${size} bytes`);
    } else {
      // Past the decoder's limit: written whole, and refused unread by any reader (bounds.test.ts).
      assert.throws(() => c.decode('DeadLetter', bytes), /TOO_LARGE|over 262144/);
    }
    looseDeepEqual(c.decode('DeadLetter', c.encode('DeadLetter', SAMPLES.DeadLetter)), SAMPLES.DeadLetter);
  }
});
