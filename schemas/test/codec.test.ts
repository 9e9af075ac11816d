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
  type MessageEvent,
  type Records,
  SchemaDecodeError,
  SchemaEncodeError,
  type SchemaVersion,
} from '../src/index.ts';

const codec = createCodec();

export const SAMPLES: { [K in keyof Records]: Records[K] } = {
  MessageEvent: {
    messageId: 'm-1',
    eventTime: 1_795_900_000_123,
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    recipient: '+12025550199',
    body: 'Hi Ann, polls close at 8pm. Reply STOP to opt out',
    campaignId: 'CABC123',
    originNetwork: 'net-7',
  },
  FeedbackEvent: {
    feedbackId: 'f-1',
    eventTime: 1_795_900_000_000,
    kind: 'SPAM_REPORT',
    sender: '+12025550100',
    recipient: null,
    messageId: 'm-1',
    errorCode: null,
  },
  SenderFeatures: {
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    campaignId: null,
    asOf: 1_795_900_000_000,
    emittedAt: 1_795_900_000_500,
    windows: [
      {
        window: '1m',
        windowMs: 60_000,
        messages: 42,
        distinctRecipients: 40,
        peak1s: 3,
        peak10s: 12,
        fanOut: 40 / 42,
        newContactShare: 0.9,
        contactShare: 0.05,
        sequentialShare: 0,
        prefixEntropy: 3.5,
        topTemplateShare: 1,
        distinctTemplates: 1,
        urlShare: 1,
        distinctUrlDomains: 1,
        callbackShare: 0,
        timingCv: 0.05,
        quietHourShare: 0,
        deliveryFailures: 2,
        deliveryFailureRate: 2 / 42,
        spamReports: 1,
        subscriberBlocks: 0,
        registeredCapShare: 0.4,
        repliedRecipients: 3,
        replyRate: 3 / 40,
        optOuts: 2,
        optOutRate: 2 / 40,
        postOptOutSends: 1,
      },
    ],
    clusters: [{ clusterId: '0a1b2c3d4e5f60', recipients: 38 }],
    urlDomains: ['example.com', 'bit.ly'],
  },
  SenderMinute: {
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    campaignId: null,
    minute: 1_795_899_960_000,
    messages: 300,
    distinctRecipients: 298,
    urlMessages: 300,
    deliveryFailures: 12,
    spamReports: 1,
    subscriberBlocks: 0,
    lateEvents: 2,
    version: 1,
  },
  Decision: {
    decisionId: 'd-1',
    sender: '+12025550100',
    action: 'THROTTLE',
    throttleRatePerMinute: 75,
    score: 0.4,
    reasons: [{ code: 'VOLUME_OVER_CAP', feature: 'messages', window: '1m', observed: 300, threshold: 75 }],
    policyVersion: '2026-11-01',
    overrideId: null,
    basedOnEventTime: 1_795_900_000_000,
    decidedAt: 1_795_900_000_010,
    expiresAt: 1_795_986_400_000,
    policyAction: 'THROTTLE',
    previousAction: 'ALLOW',
    trigger: 'FEATURES',
    shadow: false,
    published: true,
    throttleRatePerHour: 600,
    throttleScope: 'NEW_CONTACTS',
  },
  ContentDecision: {
    decisionId: 'c-1',
    clusterId: '0a1b2c3d4e5f60',
    action: 'BLOCK',
    urlDomains: ['parcel-redelivery.example'],
    callbackNumbers: ['1234567890123456789'],
    score: 0.9,
    reasons: [
      {
        code: 'CONTENT_SPAM_REPORTS',
        feature: 'spamReportRate',
        window: '1h',
        observed: 0.02,
        threshold: 0.005,
      },
    ],
    policyVersion: '2026-12-06.1',
    overrideId: null,
    campaignIds: [],
    distinctSenders: 40,
    distinctRecipients: 900,
    basedOnEventTime: 1_795_900_000_000,
    decidedAt: 1_795_900_000_010,
    expiresAt: 1_795_986_400_000,
    previousAction: null,
    trigger: 'CLUSTER',
  },
  ContentOverride: {
    overrideId: 'co-1',
    scope: 'DOMAIN',
    target: 'donate.example',
    action: 'ALLOW',
    reason: 'appeal #43',
    author: 'noc@carrier',
    createdAt: 1_795_900_000_000,
    expiresAt: null,
  },
  PolicyOverride: {
    overrideId: 'o-1',
    scope: 'CAMPAIGN',
    target: 'CABC123',
    action: 'ALLOW',
    reason: 'appeal #42',
    author: 'noc@carrier',
    createdAt: 1_795_900_000_000,
    expiresAt: null,
  },
  ClusterEvent: {
    eventTime: 1_795_900_000_123,
    kind: 'MESSAGE',
    senderHash: Buffer.from('0123456789abcdef', 'hex'),
    recipientHash: Buffer.from('fedcba9876543210', 'hex'),
    campaignId: 'CABC123',
    urlDomains: ['example.org'],
    messageId: 'm-1',
    sequential: true,
    callbackHashes: [Buffer.from('00112233445566ff', 'hex')],
    afterOptOut: false,
    senderIgnoresOptOuts: true,
    senderBlockHash: Buffer.from('a1b2c3d4e5f60718', 'hex'),
  },
  ClusterFeatures: {
    clusterId: '0a1b2c3d4e5f60',
    asOf: 1_795_900_000_000,
    emittedAt: 1_795_900_000_500,
    windows: [
      {
        window: '15m',
        windowMs: 900_000,
        messages: 400,
        distinctSenders: 200,
        distinctRecipients: 398,
        optOuts: 12,
        spamReports: 3,
        optOutRate: 12 / 398,
        registeredShare: 0,
        campaignIds: [],
        distinctCampaigns: 0,
        topSenderShare: 0.005,
        urlDomains: ['bit.ly'],
        distinctUrlDomains: 1,
        replies: 2,
        deliveryFailures: 40,
        sequentialShare: 0,
        callbackNumbers: ['1234567890123456789'],
        postOptOutSends: 0,
        sendingForMs: 240_000,
        optOutIgnoringSenders: 7,
        optedOutSenders: 5,
        optOutIgnoredSenders: 3,
        senderSample: [12, 4_503_599_627_370_495],
        senderBlockSample: [7],
      },
    ],
  },
  ReceivedMessage: {
    messageId: 'm-1',
    eventTime: 1_795_900_000_123,
    recipient: '+12025550100',
    fromHash: Buffer.from('0123456789abcdef', 'hex'),
    kind: 'OPT_OUT',
  },
  DeadLetter: {
    originalTopic: 'sms.message-events',
    originalPartition: 3,
    originalOffset: 12_345,
    key: Buffer.from('+12025550100'),
    value: Buffer.from([0xc3, 0x01, 0xff]),
    errorClass: 'SchemaDecodeError',
    errorCode: 'UNKNOWN_FINGERPRINT',
    errorMessage: 'no known schema',
    service: 'feature-engine/fe-1',
    failedAt: 1_795_900_000_000,
  },
};

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
  for (const size of [60_000, 70_000, 300_000, 1_048_576, 5_000_000]) {
    const value = Buffer.alloc(size, size % 251);
    const big = { ...SAMPLES.DeadLetter, value };
    assert.deepEqual(c.decode('DeadLetter', c.encode('DeadLetter', big)).value, value, `${size} bytes`);
    looseDeepEqual(c.decode('DeadLetter', c.encode('DeadLetter', SAMPLES.DeadLetter)), SAMPLES.DeadLetter);
  }
});
