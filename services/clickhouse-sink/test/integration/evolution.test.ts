// Schema evolution into ClickHouse: records written with the first released version of Decision
// and SenderFeatures (schemas/history, before the fields that migrations 0003, 0004 and 0006 gave
// columns) land beside records of the current version; the old ones read the columns' defaults,
// the current ones fill them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Decision, loadHistory, MARKER, type SenderFeatures } from '@spamgate/schemas';
import type { Message } from 'kafkajs';
import { createClickHouseSink } from '../../src/sink.ts';
import { recordFactory } from '../records.ts';
import { QUICK_SINK, useSinkHarness } from './harness.ts';

const h = useSinkHarness();
const BASE = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const records = recordFactory(7, BASE);
const history = loadHistory();

/** Bytes as a producer of the first release wrote them: its schema's fingerprint, its fields only. */
function writtenWithV1(record: 'Decision' | 'SenderFeatures', value: object): Buffer {
  const v1 = history.get(record)?.find((v) => v.version === 1);
  assert.ok(v1, `schemas/history/${record}/v1.avsc`);
  return Buffer.concat([MARKER, v1.fingerprint, v1.type.toBuffer(value)]);
}

test('records of an older schema version land with the defaults of the columns added since; current ones fill them', async () => {
  const decisions = Array.from({ length: 40 }, (_, i) => ({
    ...records.decision(i),
    action: 'THROTTLE' as const,
    throttleRatePerMinute: 10,
    policyAction: 'BLOCK' as const,
    published: true,
    throttleRatePerHour: 100 + i,
    throttleScope: 'NEW_CONTACTS' as const,
  }));
  const features = Array.from({ length: 40 }, (_, i) => ({
    ...records.senderFeatures(i),
    urlDomains: [`d${i}.example`],
  }));
  const old = (i: number) => i % 2 === 0;
  const decisionMessages: Message[] = decisions.map((d, i) => ({
    key: d.sender,
    value: old(i) ? writtenWithV1('Decision', d) : h.messages('Decision', [d], () => d.sender)[0]!.value,
  }));
  const featureMessages: Message[] = features.map((f, i) => ({
    key: f.sender,
    value: old(i)
      ? writtenWithV1('SenderFeatures', f)
      : h.messages('SenderFeatures', [f], () => f.sender)[0]!.value,
  }));
  await h.produce(h.topics.decisionEvaluations, decisionMessages);
  await h.produce(h.topics.senderFeatures, featureMessages);

  const sink = createClickHouseSink(h.sinkDeps(QUICK_SINK));
  await sink.start();
  try {
    await h.waitForRows('decisions', decisions.length);
    const windows = Object.keys(features[0]!.windows).length;
    await h.waitForRows('sender_features', features.length * windows);
  } finally {
    await sink.stop();
  }

  const decisionRows = await h.rows<{
    decision_id: string;
    policy_action: string;
    published: number;
    throttle_rate_per_hour: number | null;
    throttle_scope: string;
  }>(
    `SELECT decision_id, policy_action, published, throttle_rate_per_hour, throttle_scope
     FROM decisions FINAL ORDER BY decision_id`,
  );
  const byId = new Map(decisionRows.map((r) => [r.decision_id, r]));
  decisions.forEach((d: Decision, i) => {
    const row = byId.get(d.decisionId);
    assert.ok(row, d.decisionId);
    assert.deepEqual(
      {
        policy_action: row.policy_action,
        published: Number(row.published),
        throttle_rate_per_hour: row.throttle_rate_per_hour,
        throttle_scope: row.throttle_scope,
      },
      old(i)
        ? { policy_action: '', published: 0, throttle_rate_per_hour: null, throttle_scope: 'ALL_RECIPIENTS' }
        : {
            policy_action: 'BLOCK',
            published: 1,
            throttle_rate_per_hour: 100 + i,
            throttle_scope: 'NEW_CONTACTS',
          },
      `${d.decisionId} (${old(i) ? 'v1' : 'current'})`,
    );
  });

  const featureRows = await h.rows<{ sender: string; as_of: string; domains: string[] }>(
    `SELECT sender, toString(as_of) AS as_of, any(url_domains) AS domains
     FROM sender_features FINAL GROUP BY sender, as_of`,
  );
  assert.equal(featureRows.length, features.length);
  const domainsOf = new Map(featureRows.map((r) => [`${r.sender}@${r.as_of}`, r.domains]));
  features.forEach((f: SenderFeatures, i) => {
    const asOf = new Date(f.asOf).toISOString().slice(0, 19).replace('T', ' ');
    assert.deepEqual(domainsOf.get(`${f.sender}@${asOf}`), old(i) ? [] : [`d${i}.example`], f.sender);
  });
});
