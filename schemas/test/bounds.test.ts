// Hostile bodies: a few bytes claiming millions of items, a learned schema whose items take no
// bytes, a record over the size limit. Each is a typed decode error, found before avsc allocates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBadInput } from '@spamgate/core';
import avro from 'avsc';
import { unsafeParts } from '../src/bounds.ts';
import {
  createCodec,
  fingerprintBytes,
  loadCurrentSchemas,
  loadHistory,
  MARKER,
  MAX_RECORD_BYTES,
  RECORD_NAMES,
  SchemaDecodeError,
  SchemaLearnError,
} from '../src/index.ts';
import { SAMPLES } from './samples.ts';

const current = loadCurrentSchemas();

const LONG = avro.Type.forSchema('long');
/** Zig-zag varint of n, as Avro writes a long (a count, a length). */
const varint = (n: number): number[] => [...LONG.toBuffer(n)];

function record(fingerprint: Buffer, body: number[]): Buffer {
  return Buffer.concat([MARKER, fingerprint, Buffer.from(body)]);
}

function assertDecodeError(fn: () => unknown, code: string): SchemaDecodeError {
  const started = performance.now();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SchemaDecodeError, `expected a SchemaDecodeError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(isBadInput(caught), 'a decode error is bad input: the record goes to the dead-letter topic');
  // Not a timing assertion: a bomb that got through takes seconds to days, not a second.
  assert.ok(performance.now() - started < 1_000, 'refused before anything was read for the claimed count');
  return caught;
}

test('a 17-byte ClusterFeatures claiming 30 million windows is refused before they are allocated', () => {
  const codec = createCodec();
  const fp = current.get('ClusterFeatures')!.fingerprint;
  // clusterId "" | asOf 0 | emittedAt 0 | windows: a block of 30,000,000 items, then nothing.
  const bytes = record(fp, [0, 0, 0, ...varint(30_000_000)]);
  assert.equal(bytes.length, 17);
  const err = assertDecodeError(() => codec.decode('ClusterFeatures', bytes), 'BAD_LENGTH');
  assert.match(err.message, /30000000 items in 0 bytes/);
});

test('a 34-byte ClusterEvent claiming 2^28 URL domains is refused', () => {
  const codec = createCodec();
  const fp = current.get('ClusterEvent')!.fingerprint;
  // eventTime 0 | kind 0 | senderHash 8 bytes | recipientHash 8 bytes | campaignId null | urlDomains 2^28
  const bytes = record(fp, [0, 0, ...Array(16).fill(7), 0, ...varint(2 ** 28)]);
  assert.equal(bytes.length, 34);
  assertDecodeError(() => codec.decode('ClusterEvent', bytes), 'BAD_LENGTH');
});

test('a negative block count (a block with its byte size) is bounded the same way', () => {
  const codec = createCodec();
  const fp = current.get('ClusterFeatures')!.fingerprint;
  assertDecodeError(
    () => codec.decode('ClusterFeatures', record(fp, [0, 0, 0, ...varint(-5), ...varint(2 ** 40), 0])),
    'BAD_LENGTH',
  );
  assertDecodeError(
    () => codec.decode('ClusterFeatures', record(fp, [0, 0, 0, ...varint(-5_000), ...varint(3), 1, 2, 3])),
    'BAD_LENGTH',
  );
});

/** The current ClusterFeatures with one more field: what a newer (or hostile) writer could announce. */
function clusterFeaturesWith(field: Record<string, unknown>): Record<string, unknown> {
  const schema = structuredClone(current.get('ClusterFeatures')!.schema) as { fields: unknown[] };
  return { ...schema, fields: [...schema.fields, field] };
}

test('a learned schema with an array of items that take no bytes is refused, and so are its bytes', () => {
  const codec = createCodec();
  const unsafe = [
    { name: 'pad', type: { type: 'array', items: 'null' }, default: [] },
    {
      name: 'pad',
      type: { type: 'array', items: { type: 'record', name: 'Empty', fields: [] } },
      default: [],
    },
    { name: 'pad', type: { type: 'array', items: { type: 'fixed', name: 'Nothing', size: 0 } }, default: [] },
  ];
  for (const field of unsafe) {
    const schema = clusterFeaturesWith(field);
    assert.throws(
      () => codec.learn(schema),
      (err: unknown) =>
        err instanceof SchemaLearnError && err.code === 'UNSAFE' && /take no bytes/.test(err.message),
    );
  }
  // The 37-byte record of the issue: a skipped array of 2^52 nulls that avsc would loop over for days.
  const refusedFp = fingerprintBytes(clusterFeaturesWith(unsafe[0]!));
  const bytes = record(refusedFp, [0, 0, 0, 0, ...varint(2 ** 52), ...Array(15).fill(0)]);
  assert.equal(bytes.length, 37);
  assertDecodeError(() => codec.decode('ClusterFeatures', bytes), 'INCOMPATIBLE_WRITER');
});

test('a learned field the reader skips is bounded too: avsc would skip 2^50 longs one by one', () => {
  const codec = createCodec();
  const learned = codec.learn(
    clusterFeaturesWith({ name: 'extra', type: { type: 'array', items: 'long' }, default: [] }),
  );
  assert.equal(learned.added, true);
  const bytes = record(Buffer.from(learned.fingerprint, 'hex'), [0, 0, 0, 0, ...varint(2 ** 50), 0]);
  assertDecodeError(() => codec.decode('ClusterFeatures', bytes), 'BAD_LENGTH');
  // The same schema's honest bytes still decode.
  const honest = record(Buffer.from(learned.fingerprint, 'hex'), [0, 0, 0, 0, ...varint(2), 2, 4, 0]);
  assert.deepEqual(
    { ...codec.decode('ClusterFeatures', honest) },
    { clusterId: '', asOf: 0, emittedAt: 0, windows: [] },
  );
});

test('a learned schema that contains itself is refused: its bodies could nest as deep as they have bytes', () => {
  const codec = createCodec();
  const schema = clusterFeaturesWith({
    name: 'chain',
    type: ['null', { type: 'record', name: 'Link', fields: [{ name: 'next', type: ['null', 'Link'] }] }],
    default: null,
  });
  assert.throws(
    () => codec.learn(schema),
    (err: unknown) =>
      err instanceof SchemaLearnError && err.code === 'UNSAFE' && /contains itself/.test(err.message),
  );
});

test('a schema text over the limit is refused before it is parsed', () => {
  const codec = createCodec();
  assert.throws(
    () => codec.learn(`{"type":"record","name":"X","fields":[],"doc":"${'x'.repeat(70_000)}"}`),
    (err: unknown) =>
      err instanceof SchemaLearnError && err.code === 'SCHEMA_INVALID' && /longer than/.test(err.message),
  );
});

test('a record over the size limit is refused unread', () => {
  const codec = createCodec();
  const bytes = codec.encode('MessageEvent', { ...SAMPLES.MessageEvent, body: 'x'.repeat(MAX_RECORD_BYTES) });
  assert.ok(bytes.length > MAX_RECORD_BYTES);
  assertDecodeError(() => codec.decode('MessageEvent', bytes), 'TOO_LARGE');
  // Just under the limit still decodes: the limit refuses size, not content.
  const fits = codec.encode('MessageEvent', {
    ...SAMPLES.MessageEvent,
    body: 'x'.repeat(MAX_RECORD_BYTES - 200),
  });
  assert.ok(fits.length <= MAX_RECORD_BYTES);
  assert.equal(codec.decode('MessageEvent', fits).body?.length, MAX_RECORD_BYTES - 200);
});

test('every schema of this release, current and released, can be bounded', () => {
  for (const v of current.values()) assert.deepEqual(unsafeParts(v.type), [], v.record);
  for (const versions of loadHistory().values()) {
    for (const v of versions) assert.deepEqual(unsafeParts(v.type), [], `${v.record} ${v.version}`);
  }
});

test('the bounds check passes every valid sample, and every truncation of it fails typed', () => {
  const codec = createCodec();
  for (const name of RECORD_NAMES) {
    const bytes = codec.encode(name, SAMPLES[name] as never);
    codec.decode(name, bytes);
    for (let end = 10; end < bytes.length; end++) {
      assert.throws(
        () => codec.decode(name, bytes.subarray(0, end)),
        (err: unknown) => err instanceof SchemaDecodeError,
        `${name} cut at ${end}`,
      );
    }
  }
});
