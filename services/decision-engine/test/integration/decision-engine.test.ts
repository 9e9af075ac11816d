// The decision engine as a process on the real broker: decisions from features, exactly once
// across SIGKILLs (same decision ids), operator overrides within a second, shadow policies, and
// malformed input dead-lettered without stopping anything.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { partitionOfKey } from '@spamgate/core';
import type { DeadLetter, Decision, SenderFeatures } from '@spamgate/schemas';
import { assertLagMetrics, eventually, uniqueName } from '@spamgate/test';
import { BLAST, DEFAULT_POLICY, DEFAULT_POLICY_PATH, features } from '../fixtures.ts';
import { codec, decodeDecision, type Received, useDecisionHarness } from './harness.ts';

const h = useDecisionHarness();

const BLASTER = '+12025550001';
const REGISTERED = '+12025550002';
const VIOLATOR = '+12025550003';
const PHISHER = '+12025550004';
const people = Array.from({ length: 20 }, (_, i) => `+1303555${String(1000 + i)}`);

/** Ten seconds of features, one record a second per sender, as the feature engine emits them. */
function scenario(t0: number): SenderFeatures[] {
  const out: SenderFeatures[] = [];
  for (let i = 0; i < 10; i++) {
    const asOf = t0 + i * 1000;
    const n = 120 * (i + 1);
    const blast = { ...BLAST.all, messages: n, distinctRecipients: n };
    out.push(features({ sender: BLASTER, asOf, windows: { all: blast } }));
    out.push(
      features({
        sender: REGISTERED,
        campaignId: 'CPOL1',
        asOf,
        windows: { all: { ...blast, registeredCapShare: n / 75 } },
      }),
    );
    out.push(
      features({
        sender: VIOLATOR,
        asOf,
        windows: {
          all: { messages: 5 + i, distinctRecipients: 5, postOptOutSends: i >= 6 ? 2 : 0, replyRate: 0.5 },
        },
      }),
    );
    if (i === 3)
      out.push(
        features({
          sender: PHISHER,
          asOf,
          urlDomains: ['phish-example.test'],
          windows: { all: { messages: 1 } },
        }),
      );
    for (const p of people)
      out.push(
        features({
          sender: p,
          asOf,
          windows: { all: { messages: 2 + i, distinctRecipients: 3, contactShare: 0.8, replyRate: 0.6 } },
        }),
      );
  }
  return out;
}

function shadowPolicyFile(): string {
  const doc = JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));
  doc.version = 'candidate-strict';
  doc.profiles.consumer.rules.push({
    code: 'STRICT_MINUTE',
    class: 'volume',
    feature: 'messages',
    window: '1m',
    op: '>=',
    threshold: 2,
    weight: 0.2,
  });
  const dir = mkdtempSync(join(tmpdir(), 'shadow-'));
  const path = join(dir, 'candidate.json');
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

const bySender = (records: Received<Decision>[]) => {
  const m = new Map<string, Decision[]>();
  for (const r of records) if (r.value) m.set(r.key, [...(m.get(r.key) ?? []), r.value]);
  return m;
};

test('decisions from features: blast blocked, registered twin throttled at its cap, hard evidence blocks, people untouched; a SIGKILLed run publishes the same decisions with the same ids', async () => {
  const t0 = Date.now() - 60_000;
  const input = scenario(t0);
  const env = { SPAMGATE_SHADOW_POLICY_FILE: shadowPolicyFile() };
  const runs: Map<string, Decision[]>[] = [];
  const evaluationsOf: Decision[][] = [];
  for (const kill of [false, true]) {
    const prefix = uniqueName(kill ? 'de-kill' : 'de-plain');
    const topics = await h.provision(prefix);
    let engine = h.startEngine(prefix, env);
    const half = Math.floor(input.length / 2);
    await h.produceFeatures(topics.features, input.slice(0, half));
    if (kill) {
      await h.waitCommitted(prefix, topics.features, Math.floor(half / 2), engine);
      await h.killHard(prefix, engine);
      engine = h.startEngine(prefix, env);
    }
    await h.produceFeatures(topics.features, input.slice(half));
    if (kill) {
      await h.waitCommitted(prefix, topics.features, half + 20, engine);
      await h.killHard(prefix, engine);
      engine = h.startEngine(prefix, env);
    }
    await h.waitCommitted(prefix, topics.features, input.length, engine);
    if (!kill)
      await assertLagMetrics(engine, `${prefix}-de`, 'spamgate_decision_engine_event_time_lag_seconds');
    const decisions = await h.read(topics.decisions, decodeDecision);
    const evaluations = await h.read(topics.evaluations, decodeDecision);
    await eventually(() => (evaluations.records.length >= input.length * 2 ? true : undefined), {
      what: 'every evaluation, active and shadow',
    });
    runs.push(bySender(decisions.records));
    evaluationsOf.push(evaluations.records.map((r) => r.value!));
    engine.kill();
  }
  const [plain, killed] = runs as [Map<string, Decision[]>, Map<string, Decision[]>];

  const blast = plain.get(BLASTER)!;
  assert.equal(blast.at(-1)!.action, 'BLOCK');
  assert.ok(blast.at(-1)!.reasons.some((r) => r.code === 'NO_REPLIES'));
  assert.ok(blast.at(-1)!.expiresAt! > blast.at(-1)!.basedOnEventTime);
  const registered = plain.get(REGISTERED)!;
  assert.deepEqual(
    registered.map((d) => [d.action, d.throttleRatePerMinute]),
    [['THROTTLE', 75]],
    'the same shape, registered: throttled at its cap, once, never blocked',
  );
  assert.equal(plain.get(VIOLATOR)?.at(-1)?.reasons[0]?.code, 'POST_OPT_OUT_SENDS');
  assert.equal(plain.get(PHISHER)?.[0]?.reasons[0]?.code, 'DENY_LISTED_URL');
  for (const p of people)
    assert.equal(plain.get(p), undefined, `${p} talks with contacts: nothing published`);
  for (const d of [...plain.values()].flat()) {
    assert.equal(d.published, true);
    assert.equal(d.shadow, false);
    assert.equal(d.policyVersion, DEFAULT_POLICY.version);
  }

  // The killed run published the same decisions, with the same ids, in the same order. Decisions
  // are published before their transaction commits, so a kill in between publishes again every
  // decision since the last commit (a replay of one or more records with the same ids, harmless
  // to an enforcement point): an id is kept where it first appeared, and every other difference
  // fails. An id repeats only in a replay: it is derived from the sender, inputs and policy.
  const ids = (m: Map<string, Decision[]>) =>
    [...m]
      .map(
        ([s, ds]) => [s, ds.map((d) => d.decisionId).filter((id, i, all) => all.indexOf(id) === i)] as const,
      )
      .sort(([a], [b]) => a.localeCompare(b));
  assert.deepEqual(ids(killed), ids(plain));
  assert.deepEqual(
    ids(plain),
    [...plain]
      .map(([s, ds]) => [s, ds.map((d) => d.decisionId)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
    'no repeats without a kill',
  );
  const evalIds = (es: Decision[]) => es.map((e) => e.decisionId).sort();
  assert.deepEqual(evalIds(evaluationsOf[1]!), evalIds(evaluationsOf[0]!), 'every evaluation once, same ids');

  // The shadow policy was evaluated for every record and never published.
  const shadow = evaluationsOf[0]!.filter((e) => e.shadow);
  assert.equal(shadow.length, input.length);
  assert.ok(shadow.every((e) => e.policyVersion === 'candidate-strict' && !e.published));
  assert.ok(
    shadow.some((e) => people.includes(e.sender) && e.action === 'THROTTLE'),
    'the candidate would throttle people the active policy leaves alone',
  );
});

test('an ALLOW override issued mid-blast flips the decision within a second; removing it restores the block; a campaign BLOCK override blocks its senders', async () => {
  const prefix = uniqueName('de-override');
  const topics = await h.provision(prefix);
  const engine = h.startEngine(prefix);
  await engine.waitForLog((l) => l.msg === 'partitions assigned');
  const decisions = await h.read(topics.decisions, decodeDecision);
  const t0 = Date.now() - 30_000;
  const blastAt = (i: number) => {
    const n = 120 * (i + 1);
    return features({
      sender: BLASTER,
      asOf: t0 + i * 1000,
      windows: { all: { ...BLAST.all, messages: n, distinctRecipients: n } },
    });
  };
  await h.produceFeatures(topics.features, [0, 1, 2, 3, 4, 5].map(blastAt));
  await eventually(() => decisions.records.find((r) => r.key === BLASTER && r.value?.action === 'BLOCK'), {
    what: 'the blast blocked',
  });

  const written = Date.now();
  await h.produceOverride(topics.overrides, BLASTER, {
    overrideId: 'ovr-appeal-1',
    scope: 'SENDER',
    target: BLASTER,
    action: 'ALLOW',
    reason: 'appeal 4711: verified school district',
    author: 'noc-test',
    createdAt: written,
    expiresAt: null,
  });
  const allowed = await eventually(
    () => decisions.records.find((r) => r.key === BLASTER && r.value?.action === 'ALLOW'),
    { what: 'the ALLOW decision', intervalMs: 10 },
  );
  const flipMs = allowed.readAt - written;
  assert.ok(flipMs <= 1_000, `the override took effect in ${flipMs} ms`);
  assert.equal(allowed.value!.overrideId, 'ovr-appeal-1');
  assert.equal(allowed.value!.trigger, 'OVERRIDE');
  assert.equal(allowed.value!.policyAction, 'BLOCK');
  assert.equal(allowed.value!.previousAction, 'BLOCK');

  // The blast goes on; the override holds (nothing new is published).
  await h.produceFeatures(topics.features, [6, 7, 8].map(blastAt));
  await h.waitCommitted(prefix, topics.features, 9, engine);
  assert.deepEqual(
    decisions.records.filter((r) => r.key === BLASTER).map((r) => r.value?.action),
    ['THROTTLE', 'BLOCK', 'ALLOW'],
    'throttled on volume, blocked once nobody answered hundreds of messages, allowed by the operator',
  );

  // Removing the override restores what the policy says, at once.
  const removed = Date.now();
  await h.produceOverride(topics.overrides, BLASTER, null);
  const reblocked = await eventually(
    () =>
      decisions.records.find((r) => r.key === BLASTER && r.value?.action === 'BLOCK' && r.readAt >= removed),
    { what: 'the BLOCK re-issued', intervalMs: 10 },
  );
  assert.ok(reblocked.readAt - removed <= 1_000, `removal took effect in ${reblocked.readAt - removed} ms`);
  assert.equal(reblocked.value!.overrideId, null);

  // A campaign-wide operator BLOCK reaches the campaign's senders the engine holds.
  const reg = features({
    sender: REGISTERED,
    campaignId: 'CBAD9',
    asOf: t0,
    windows: { all: { messages: 10 } },
  });
  await h.produceFeatures(topics.features, [reg]);
  await h.waitCommitted(prefix, topics.features, 10, engine);
  await h.produceOverride(topics.overrides, 'CBAD9', {
    overrideId: 'ovr-campaign-9',
    scope: 'CAMPAIGN',
    target: 'CBAD9',
    action: 'BLOCK',
    reason: 'carrier complaint 99',
    author: 'noc-test',
    createdAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
  });
  // An operator block of a sender the engine has never seen is decided at once, in the
  // partition the sender's features would go to.
  const stranger = '+19175550199';
  await h.produceOverride(topics.overrides, stranger, {
    overrideId: 'ovr-stranger',
    scope: 'SENDER',
    target: stranger,
    action: 'BLOCK',
    reason: 'reported by another carrier',
    author: 'noc-test',
    createdAt: Date.now(),
    expiresAt: null,
  });
  const strangerBlock = await eventually(
    () => decisions.records.find((r) => r.key === stranger && r.value?.action === 'BLOCK'),
    { what: 'the block of a sender never seen' },
  );
  const [meta] = (await h.admin.fetchTopicMetadata({ topics: [topics.decisions] })).topics;
  assert.equal(
    strangerBlock.partition,
    partitionOfKey(stranger, meta!.partitions.length),
    'where its key belongs',
  );
  assert.equal(strangerBlock.value!.overrideId, 'ovr-stranger');

  const campaignBlock = await eventually(
    () => decisions.records.find((r) => r.key === REGISTERED && r.value?.action === 'BLOCK'),
    {
      what: 'the campaign block',
    },
  );
  assert.equal(campaignBlock.value!.reasons[0]!.code, 'OPERATOR_BLOCK');
  assert.ok(campaignBlock.value!.expiresAt! <= Date.now() + 3_600_000, 'never beyond the override');
  engine.kill();
});

test('malformed and absurd features and overrides go to dead letters; the records after them are decided', async () => {
  const prefix = uniqueName('de-poison');
  const topics = await h.provision(prefix);
  const engine = h.startEngine(prefix);
  const letters = await h.read(topics.deadLetters, (b) => codec.decode('DeadLetter', b) as DeadLetter);
  const decisions = await h.read(topics.decisions, decodeDecision);
  const now = Date.now();
  await h.produceRaw(topics.features, VIOLATOR, Buffer.from('not avro at all'));
  await h.produceFeatures(topics.features, [
    features({ sender: VIOLATOR, asOf: now, windows: { '1h': { optOutRate: 7 } } }),
    { ...features({ sender: VIOLATOR, asOf: now }), sender: '\u0000partition' },
  ]);
  await h.produceRaw(topics.overrides, BLASTER, Buffer.from([0xc3, 0x01, 1, 2, 3]));
  await h.produceOverride(topics.overrides, BLASTER, {
    overrideId: 'ovr-x',
    scope: 'SENDER',
    target: '+19999999999',
    action: 'ALLOW',
    reason: 'key and target differ',
    author: 'noc-test',
    createdAt: now,
    expiresAt: null,
  });
  await h.produceFeatures(topics.features, [
    features({ sender: VIOLATOR, asOf: now + 1, windows: { '24h': { messages: 4, postOptOutSends: 3 } } }),
  ]);
  await eventually(() => decisions.records.find((r) => r.key === VIOLATOR && r.value?.action === 'BLOCK'), {
    what: 'the good record after the bad ones decided',
  });
  const got = await eventually(() => (letters.records.length >= 5 ? letters.records : undefined), {
    what: 'five dead letters',
  });
  const codes = got.map((r) => r.value!.errorCode).sort();
  assert.equal(codes.filter((c) => c === 'INVALID_FEATURES').length, 2, codes.join());
  assert.equal(codes.filter((c) => c === 'KEY_MISMATCH').length, 1, codes.join()); // the override's target is not its key
  assert.equal(got.filter((r) => r.value!.originalTopic === topics.overrides).length, 2);
  assert.ok(
    got.every((r) => r.value!.errorCode !== 'UNKNOWN'),
    codes.join(),
  );
  assert.equal(engine.child.exitCode, null, 'still running');
  engine.kill();
});

test('the Do-Not-Originate list blocks listed senders and re-evaluates at once when the file changes; an override lapses by itself', async () => {
  const prefix = uniqueName('de-lists');
  const topics = await h.provision(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'dno-'));
  const dno = join(dir, 'dno.txt');
  writeFileSync(dno, '# unallocated\n+1 (202) 555-0901\n');
  const engine = h.startEngine(prefix, {
    SPAMGATE_DNO_FILE: dno,
    SPAMGATE_DECISION_RELOAD_INTERVAL: '200ms',
  });
  const decisions = await h.read(topics.decisions, decodeDecision);
  const now = Date.now();
  const listed = '+12025550901';
  const later = '+12025550902';
  await h.produceFeatures(topics.features, [
    features({ sender: listed, asOf: now, windows: { all: { messages: 1 } } }),
    features({ sender: later, asOf: now, windows: { all: { messages: 1 } } }),
  ]);
  const first = await eventually(() => decisions.records.find((r) => r.key === listed), {
    what: 'the listed sender blocked at its first features',
  });
  assert.equal(first.value!.action, 'BLOCK');
  assert.equal(first.value!.reasons[0]!.code, 'DO_NOT_ORIGINATE');
  await h.waitCommitted(prefix, topics.features, 2, engine);
  assert.equal(
    decisions.records.find((r) => r.key === later),
    undefined,
    'not listed, not blocked',
  );

  // The file changes: the sender added is re-evaluated at once (no new features needed), the one
  // removed is released; an invalid file would be refused and the list kept.
  writeFileSync(dno, '+12025550902\n');
  const added = await eventually(
    () => decisions.records.find((r) => r.key === later && r.value?.action === 'BLOCK'),
    {
      what: 'the newly listed sender blocked',
    },
  );
  assert.equal(added.value!.trigger, 'LIST');
  const released = await eventually(
    () => decisions.records.find((r) => r.key === listed && r.value?.action === 'ALLOW'),
    { what: 'the delisted sender released' },
  );
  assert.equal(released.value!.previousAction, 'BLOCK');

  // An operator BLOCK that expires in two seconds: the sender is blocked, then released by the
  // engine's own clock when the override lapses.
  const quiet = '+12025550903';
  await h.produceFeatures(topics.features, [
    features({ sender: quiet, asOf: now, windows: { all: { messages: 1 } } }),
  ]);
  await h.waitCommitted(prefix, topics.features, 3, engine);
  await h.produceOverride(topics.overrides, quiet, {
    overrideId: 'ovr-short',
    scope: 'SENDER',
    target: quiet,
    action: 'BLOCK',
    reason: 'cooling off',
    author: 'noc-test',
    createdAt: Date.now(),
    expiresAt: Date.now() + 2_000,
  });
  await eventually(() => decisions.records.find((r) => r.key === quiet && r.value?.action === 'BLOCK'), {
    what: 'the short block',
  });
  const lapsed = await eventually(
    () => decisions.records.find((r) => r.key === quiet && r.value?.action === 'ALLOW'),
    { what: 'the block released when the override lapsed', timeoutMs: 15_000 },
  );
  assert.equal(lapsed.value!.trigger, 'OVERRIDE');
  assert.equal(lapsed.value!.overrideId, null);
  engine.kill();
});
