// Content decisions on the real broker: a cluster its recipients confirm as abusive is BLOCKed on
// sms.content-decisions with its match keys; the senders naming it are blocked, a fresh number on
// its first features; an operator's content override lifts it at once and the senders with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContentDecision, ContentOverride } from '@spamgate/schemas';
import { eventually, uniqueName } from '@spamgate/test';
import { confirmedSpamCluster, features } from '../fixtures.ts';
import { codec, decodeDecision, useDecisionHarness } from './harness.ts';

const h = useDecisionHarness();
const CLUSTER = '0c0ffee0c0ffee';
const SENDER = '+12025550301';
const FRESH = '+12025550302';

test('a confirmed cluster is blocked for every sender, a fresh number on its first features; a content override lifts it at once', async () => {
  const prefix = uniqueName('de-content');
  const topics = await h.provision(prefix);
  const engine = h.startEngine(prefix);
  await engine.waitForLog((l) => l.msg === 'partitions assigned');
  const decisions = await h.read(topics.decisions, decodeDecision);
  const contents = await h.read(
    topics.contentDecisions,
    (b): ContentDecision => codec.decode('ContentDecision', b),
  );
  const t0 = Date.now() - 60_000;

  // A sender of the template, nothing wrong on its own.
  await h.produceFeatures(topics.features, [
    features({
      sender: SENDER,
      asOf: t0,
      clusters: [CLUSTER],
      windows: { all: { messages: 3, distinctRecipients: 3 } },
    }),
  ]);
  // Its template from forty numbers, reported and opted out of, almost never answered.
  const confirmed = confirmedSpamCluster(CLUSTER, t0 + 5_000);
  await h.produceRaw(topics.clusterFeatures, CLUSTER, codec.encode('ClusterFeatures', confirmed));
  const block = await eventually(() => contents.records.find((r) => r.value?.action === 'BLOCK'), {
    what: 'the content BLOCK',
  });
  assert.equal(block.key, CLUSTER);
  assert.deepEqual(
    block.value!.urlDomains,
    ['parcel-redelivery.example'],
    'a public shortener is never a match key',
  );
  assert.equal(block.value!.trigger, 'CLUSTER');
  const sender = await eventually(
    () => decisions.records.find((r) => r.key === SENDER && r.value?.action === 'BLOCK'),
    { what: 'the sender blocked with its cluster' },
  );
  // CONTENT when the sender was held first, FEATURES when its features came after the decision.
  assert.ok(['CONTENT', 'FEATURES'].includes(sender.value!.trigger), sender.value!.trigger);
  assert.equal(sender.value!.reasons[0]!.code, 'CONTENT_BLOCKED');

  // A number never seen before is blocked on its first features.
  await h.produceFeatures(topics.features, [
    features({
      sender: FRESH,
      asOf: t0 + 10_000,
      clusters: [CLUSTER],
      windows: { all: { messages: 1, distinctRecipients: 1 } },
    }),
  ]);
  const fresh = await eventually(
    () => decisions.records.find((r) => r.key === FRESH && r.value?.action === 'BLOCK'),
    {
      what: 'the fresh number blocked',
    },
  );
  assert.equal(fresh.value!.trigger, 'FEATURES');

  // An operator finds it was a false positive: the cluster is allowed, its senders released.
  const written = Date.now();
  const override: ContentOverride = {
    overrideId: 'covr-ticket-4712',
    scope: 'CLUSTER',
    target: CLUSTER,
    action: 'ALLOW',
    reason: 'ticket 4712: a utility outage notice',
    author: 'noc-test',
    createdAt: written,
    expiresAt: null,
  };
  await h.produceRaw(
    topics.contentOverrides,
    `CLUSTER:${CLUSTER}`,
    codec.encode('ContentOverride', override),
  );
  const allowed = await eventually(() => contents.records.find((r) => r.value?.action === 'ALLOW'), {
    what: 'the content ALLOW',
    intervalMs: 10,
  });
  assert.equal(allowed.value!.overrideId, 'covr-ticket-4712');
  assert.equal(allowed.value!.trigger, 'OVERRIDE');
  for (const s of [SENDER, FRESH]) {
    const released = await eventually(
      () => decisions.records.find((r) => r.key === s && r.readAt >= written && r.value?.action !== 'BLOCK'),
      { what: `${s} released` },
    );
    assert.equal(released.value!.trigger, 'CONTENT');
    assert.ok(
      released.readAt - written <= 5_000,
      `released ${released.readAt - written} ms after the override`,
    );
  }
});
