// Records written by a newer release (a producer upgraded before the sink, as a rolling deploy
// goes): the sink as a process, against the real broker and ClickHouse, learns their schemas from
// spamgate.schemas and writes them with the right values; a record whose fingerprint is
// registered nowhere, or whose schema cannot be resolved, is dead-lettered while its neighbours land.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createSubscriberHasher,
  readSchemaTopic,
  registerSchemas,
  SCHEMAS_TOPIC,
  topicName,
} from '@spamgate/core';
import {
  type Decision,
  decisionFromRow,
  MARKER,
  type SenderMinute,
  type StoredRow,
  senderMinuteFromRow,
} from '@spamgate/schemas';
import {
  eventually,
  type LogLine,
  newerRelease,
  type RecordSchema,
  TEST_HASH_KEY,
  testLogger,
  uniqueName,
} from '@spamgate/test';
import type { Message } from 'kafkajs';
import { SINK_SERVICE } from '../../src/sink.ts';
import { recordFactory } from '../records.ts';
import { codec, literal, useSinkHarness } from './harness.ts';

const h = useSinkHarness();
const SCHEMA_TOPIC = topicName(h.prefix, SCHEMAS_TOPIC);
const BASE = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const records = recordFactory(7_001, BASE);

/**
 * The next release: SenderMinute with two fields appended, Decision with a field inserted
 * mid-record and one added to its nested Reason, all with defaults.
 */
const next = newerRelease({
  SenderMinute: (s) => ({
    ...s,
    fields: [
      ...s.fields,
      { name: 'optOuts', type: 'long', default: 0, doc: 'Opt-outs in the minute.' },
      { name: 'originNetwork', type: ['null', 'string'], default: null, doc: 'Network of most messages.' },
    ],
  }),
  Decision: (s) => {
    const fields = s.fields.map((f) => {
      if (f.name !== 'reasons') return f;
      const reason = (f.type as { items: RecordSchema }).items;
      const weight = { name: 'weight', type: 'double', default: 1, doc: 'Its weight.' };
      return { ...f, type: { type: 'array', items: { ...reason, fields: [...reason.fields, weight] } } };
    });
    const at = fields.findIndex((f) => f.name === 'score');
    fields.splice(at, 0, { name: 'region', type: 'string', default: '', doc: 'Where it was decided.' });
    return { ...s, fields };
  },
});

/** A release no reader of this one can follow: SenderMinute without a field that has no default. */
const broken = newerRelease({
  SenderMinute: (s) => ({ ...s, fields: s.fields.filter((f) => f.name !== 'minute') }),
});

const fingerprintOf = (record: string, release: typeof next) =>
  release.registrations.find((r) => r.record === record)!.fingerprint;

const minutes = Array.from({ length: 300 }, (_, i) => records.senderMinute(i));
const decisions = Array.from({ length: 200 }, (_, i) => records.decision(i));
/** A fingerprint no schema anywhere has, on well-formed bytes. */
const GARBAGE_FP = Buffer.from('5ca1ab1e0ddba11a', 'hex');
const GARBAGE = 20;

/** Where in the minutes stream each kind goes: current, newer, garbage and the broken schema, interleaved. */
function minuteMessages(): Message[] {
  const out: Message[] = [];
  for (const [i, m] of minutes.entries()) {
    const value =
      i % 3 === 0
        ? codec.encode('SenderMinute', m)
        : next.codec.encode('SenderMinute', {
            ...m,
            optOuts: i,
            originNetwork: i % 2 ? `net-${i}` : null,
          } as SenderMinute);
    // One partition: the bad records have neighbours in their batches.
    out.push({ key: m.sender, value, partition: 0 });
    if (i % 15 === 7) {
      out.push({
        key: `garbage-${i}`,
        value: Buffer.concat([MARKER, GARBAGE_FP, codec.encode('SenderMinute', m).subarray(10)]),
        partition: 0,
      });
    }
    if (i === 150) {
      const { minute: _, ...rest } = m;
      out.push({
        key: 'broken',
        value: broken.codec.encode('SenderMinute', rest as unknown as SenderMinute),
        partition: 0,
      });
    }
  }
  return out;
}

function decisionMessages(): Message[] {
  return decisions.map((d, i) => ({
    key: d.sender,
    value:
      i % 2 === 0
        ? codec.encode('Decision', d)
        : next.codec.encode('Decision', {
            ...d,
            region: `region-${i}`,
            reasons: d.reasons.map((r, k) => ({ ...r, weight: k + 0.5 })),
          } as Decision),
  }));
}

/**
 * A decision with its doubles to 12 significant digits: ClickHouse 18.16 parses some doubles
 * of a JSON insert one unit in the last place off, whatever schema wrote the record.
 */
function roundDoubles(d: Decision | undefined): unknown {
  const round = (x: number | null) => (x === null ? null : Number(x.toPrecision(12)));
  return (
    d && {
      ...d,
      score: round(d.score),
      reasons: d.reasons.map((r) => ({ ...r, observed: round(r.observed), threshold: round(r.threshold) })),
    }
  );
}

const byIdentity = <T>(rows: T[], key: (r: T) => string) => new Map(rows.map((r) => [key(r), r]));

test('records of a newer schema version are written with the right values once its schema is on spamgate.schemas; a fingerprint registered nowhere, or a schema that does not resolve, is dead-lettered and its neighbours land', async () => {
  const sink = h.startSink();
  await sink.waitForLog((l) => l.msg === 'clickhouse sink running');
  // The sink registered what it writes (DeadLetter) before it could write any.
  const registered = await readSchemaTopic(h.kafka, { topic: SCHEMA_TOPIC });
  assert.ok(registered.has(codec.schema('DeadLetter').fingerprint.toString('hex')), 'DeadLetter registered');

  // A newer producer's start-up: its schemas on the topic (acks=all), then its records.
  await registerSchemas(h.kafka, {
    topic: SCHEMA_TOPIC,
    schemas: [...next.registrations, ...broken.registrations],
    logger: testLogger('newer-producer'),
  });
  await h.produce(h.topics.senderMinutes, minuteMessages(), { perTransaction: 1_000 });
  await h.produce(h.topics.decisionEvaluations, decisionMessages());

  await h.waitForRows('sender_minute', minutes.length, sink);
  await h.waitForRows('decisions', decisions.length, sink);
  await h.waitForRows('dead_letters', GARBAGE + 1, sink);

  // Every field a reader of this release has, as written; what only the newer version has is dropped.
  const minuteRows = byIdentity(
    (await h.rows<StoredRow>(`SELECT * FROM ${h.db.database}.sender_minute FINAL`)).map(senderMinuteFromRow),
    (m) => `${m.sender}@${m.minute}`,
  );
  for (const m of minutes)
    assert.deepEqual(minuteRows.get(`${m.sender}@${m.minute}`), m satisfies SenderMinute);
  const decisionRows = byIdentity(
    (await h.rows<StoredRow>(`SELECT * FROM ${h.db.database}.decisions FINAL`)).map(decisionFromRow),
    (d) => d.decisionId,
  );
  for (const d of decisions)
    assert.deepEqual(roundDoubles(decisionRows.get(d.decisionId)), roundDoubles(d satisfies Decision));

  // Dead letters hold their record's key only as a keyed hash: named back here from the keys sent.
  const hasher = createSubscriberHasher(TEST_HASH_KEY);
  const keyOfHash = new Map(
    [...Array.from({ length: 300 }, (_, i) => `garbage-${i}`), 'broken'].map((k) => [hasher.hash(k), k]),
  );
  const letters = (
    await h.rows<{ key_hash: string; error_code: string; error_message: string; service: string }>(
      `SELECT key_hash, error_code, error_message, service FROM ${h.db.database}.dead_letters FINAL
        WHERE original_topic = ${literal(h.topics.senderMinutes)} ORDER BY original_offset`,
    )
  ).map((l) => ({ ...l, key: keyOfHash.get(l.key_hash) ?? l.key_hash }));
  assert.equal(letters.length, GARBAGE + 1);
  for (const l of letters) assert.equal(l.service, SINK_SERVICE);
  const garbage = letters.filter((l) => l.key.startsWith('garbage-'));
  assert.equal(garbage.length, GARBAGE);
  for (const l of garbage) {
    assert.equal(l.error_code, 'UNKNOWN_FINGERPRINT');
    assert.match(l.error_message, new RegExp(GARBAGE_FP.toString('hex')));
  }
  const refused = letters.find((l) => l.key === 'broken');
  assert.equal(refused?.error_code, 'INCOMPATIBLE_WRITER');
  assert.match(refused?.error_message ?? '', /does not resolve to the current SenderMinute/);

  await eventually(
    async () => {
      for (const topic of [h.topics.senderMinutes, h.topics.decisionEvaluations])
        if ((await h.committed(topic)) !== (await h.endOffsets(topic))) return undefined;
      return true;
    },
    { what: 'both topics committed to their end' },
  );

  // What the sink says: each newer schema learned, the broken one refused, the garbage
  // fingerprint looked for once in a while, not once per record.
  const said = (msg: string) => sink.logs.filter((l: LogLine) => l.msg === msg);
  assert.deepEqual(
    said('learned a writer schema')
      .map((l) => `${l.record} ${l.version} ${l.fingerprint}`)
      .sort(),
    [
      `Decision unreleased ${fingerprintOf('Decision', next)}`,
      `SenderMinute unreleased ${fingerprintOf('SenderMinute', next)}`,
    ],
  );
  assert.deepEqual(
    said('writer schema refused; records written with it are dead-lettered').map((l) => l.fingerprint),
    [fingerprintOf('SenderMinute', broken)],
  );
  const reads = sink.logs.filter(
    (l) => l.msg === 'schema topic read' || /registered nowhere/.test(l.msg ?? ''),
  );
  assert.ok(
    reads.length >= 1 && reads.length <= 3,
    `${reads.length} reads of the schema topic for ${GARBAGE} garbage records`,
  );
  assert.ok(
    said('writer schemas registered nowhere: their records are dead-lettered (UNKNOWN_FINGERPRINT)').every(
      (l) => JSON.stringify(l.missing) === JSON.stringify([GARBAGE_FP.toString('hex')]),
    ),
  );
});
