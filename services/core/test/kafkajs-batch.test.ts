// kafkajs's Batch, replaced by @spamgate/core with one that compares offsets as strings and copies
// only what it drops: every field and method must answer what kafkajs's own Batch answers.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '@spamgate/core';
import { offsetAtLeast, withinOffset } from '../src/kafkajs-batch.ts';
import { originalKafkajsModule } from './kafkajs-original.ts';

const require = createRequire(import.meta.url);

type BatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: object,
) => Record<string, unknown> & Record<string, () => unknown>;

const MODULE = 'kafkajs/src/consumer/batch';
const Fixed = require(MODULE) as BatchClass;
const Original = originalKafkajsModule<BatchClass>(MODULE);

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

interface Spec {
  readonly offset: number;
  readonly producer?: number;
  readonly txn?: boolean;
  readonly control?: 'abort' | 'commit';
}

function record(s: Spec) {
  return {
    offset: String(s.offset),
    key: s.control ? (s.control === 'abort' ? ABORT : COMMIT) : Buffer.from(`k${s.offset}`),
    value: s.control ? null : Buffer.from(`v${s.offset}`),
    isControlRecord: s.control !== undefined,
    batchContext: { producerId: String(s.producer ?? 1), inTransaction: s.txn ?? false },
  };
}

const range = (from: number, to: number, extra: Omit<Spec, 'offset'> = {}): Spec[] =>
  Array.from({ length: to - from }, (_, i) => ({ offset: from + i, ...extra }));

const CASES: { name: string; fetched: string; high: string; records: Spec[]; aborted?: object[] }[] = [
  { name: 'all at or after the fetched offset', fetched: '100', high: '110', records: range(100, 110) },
  { name: 'a compressed batch starting before it', fetched: '105', high: '110', records: range(100, 110) },
  { name: 'only records before it (compacted)', fetched: '120', high: '130', records: range(100, 110) },
  { name: 'empty', fetched: '7', high: '7', records: [] },
  {
    name: 'offsets crossing a power of ten',
    fetched: '1000',
    high: '1003',
    records: range(995, 1003),
  },
  {
    name: 'a committed transaction and its marker',
    fetched: '0',
    high: '5',
    records: [
      ...range(0, 4, { txn: true, producer: 3 }),
      { offset: 4, control: 'commit', producer: 3, txn: true },
    ],
  },
  {
    name: 'an aborted transaction, its marker, and a committed record after',
    fetched: '10',
    high: '16',
    records: [
      ...range(10, 13, { txn: true, producer: 4 }),
      { offset: 13, control: 'abort', producer: 4, txn: true },
      ...range(14, 16, { txn: true, producer: 5 }),
    ],
    aborted: [{ producerId: '4', firstOffset: '10' }],
  },
  {
    name: 'nothing but a control record',
    fetched: '20',
    high: '21',
    records: [{ offset: 20, control: 'commit', producer: 2, txn: true }],
  },
];

test('the fixed Batch answers every field and method as kafkajs’s own does', () => {
  const methods = [
    'isEmpty',
    'isEmptyIncludingFiltered',
    'isEmptyDueToFiltering',
    'isEmptyControlRecord',
    'isEmptyDueToLogCompactedMessages',
    'firstOffset',
    'lastOffset',
    'offsetLag',
    'offsetLagLow',
  ];
  for (const c of CASES) {
    const data = () => ({
      partition: 3,
      highWatermark: c.high,
      abortedTransactions: c.aborted ?? [],
      messages: c.records.map(record),
    });
    const fixed = new Fixed('t', c.fetched, data());
    const original = new Original('t', c.fetched, data());
    assert.ok(fixed instanceof Fixed && !(fixed instanceof Original), 'kafkajs loads the fixed class');
    for (const field of ['topic', 'partition', 'highWatermark', 'fetchedOffset'])
      assert.deepEqual(fixed[field], original[field], `${c.name}: ${field}`);
    for (const field of ['rawMessages', 'messagesWithinOffset', 'messages'])
      assert.deepEqual(fixed[field], original[field], `${c.name}: ${field}`);
    for (const m of methods) assert.deepEqual(fixed[m]!(), original[m]!(), `${c.name}: ${m}()`);
  }
});

test('offsets compare as numbers, not as text', () => {
  assert.equal(offsetAtLeast('10', '9'), true);
  assert.equal(offsetAtLeast('9', '10'), false);
  assert.equal(offsetAtLeast('100', '100'), true);
  assert.equal(offsetAtLeast('99', '100'), false);
  assert.equal(offsetAtLeast('9007199254740993', '9007199254740992'), true, 'past 2^53');
  const messages = ['8', '9', '10', '11'].map((offset) => ({ offset }));
  assert.deepEqual(withinOffset(messages, '10'), [{ offset: '10' }, { offset: '11' }]);
  assert.equal(withinOffset(messages, '8'), messages, 'the same array when nothing is dropped');
  assert.deepEqual(withinOffset(messages, '12'), []);
});
