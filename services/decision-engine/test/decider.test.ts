// The decider's memory: hysteresis, holds, expiry, what gets published, overrides, shadow
// policies and deterministic ids.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Decision, SenderFeatures } from '@spamgate/schemas';
import { mulberry32 } from '@spamgate/test';
import {
  type ActiveOverride,
  type DecideContext,
  decide,
  dueAt,
  EMPTY_STATE,
  type SenderDecisionState,
  type Trigger,
} from '../src/decider.ts';
import { parsePolicy } from '../src/policy.ts';
import {
  context,
  DEFAULT_POLICY,
  DEFAULT_POLICY_PATH,
  features,
  HOUR,
  MINUTE,
  T0,
  type WindowPatch,
} from './fixtures.ts';

/** Feeds features one after another; returns every outcome. */
function run(ctx: DecideContext, inputs: SenderFeatures[], start: SenderDecisionState = EMPTY_STATE) {
  let state = start;
  const published: Decision[] = [];
  const evaluations: Decision[] = [];
  for (const f of inputs) {
    const out = decide(ctx, f, state, { kind: 'FEATURES', at: f.asOf, basis: '' }, f.asOf + 7);
    state = out.state;
    evaluations.push(...out.evaluations);
    if (out.publish) published.push(out.publish);
  }
  return { state, published, evaluations };
}

const perMinute = (messages: number, asOf: number): SenderFeatures =>
  features({ asOf, windows: { '1m': { messages, distinctRecipients: Math.min(messages, 20) } } });

test('a sender near a threshold does not flap: entering needs the threshold, leaving needs the exit threshold', () => {
  // MINUTE_VOLUME: enter at 60 a minute, hold down to 48 (hysteresis 0.8).
  const counts = [30, 61, 58, 55, 62, 50, 49, 59, 61, 52];
  const inputs = counts.map((n, i) => perMinute(n, T0 + i * 20 * MINUTE));
  const { published } = run(context(), inputs);
  assert.deepEqual(
    published.map((d) => d.action),
    ['THROTTLE'],
    'one THROTTLE for the whole wobble around 60',
  );
  const leave = run(context(), [...inputs, perMinute(40, T0 + 11 * 20 * MINUTE)]);
  assert.deepEqual(
    leave.published.map((d) => d.action),
    ['THROTTLE', 'ALLOW'],
    'under the exit threshold (and past the minimum hold) it ends',
  );
  assert.equal(leave.published[1]!.previousAction, 'THROTTLE');
});

test('a THROTTLE holds at least throttleMinHold, with a reason that says so', () => {
  const { published, evaluations } = run(context(), [
    perMinute(80, T0),
    perMinute(5, T0 + MINUTE),
    perMinute(5, T0 + 11 * MINUTE),
  ]);
  assert.deepEqual(
    published.map((d) => d.action),
    ['THROTTLE', 'ALLOW'],
  );
  assert.equal(evaluations[1]!.action, 'THROTTLE');
  assert.equal(evaluations[1]!.reasons[0]!.code, 'THROTTLE_MIN_HOLD');
  assert.equal(evaluations[1]!.reasons[0]!.observed, 9 * MINUTE, 'time left in the hold');
});

test('only changes of action or material changes of rate are published; every evaluation is recorded', () => {
  const inputs = Array.from({ length: 20 }, (_, i) => perMinute(100 + i, T0 + i * 1000));
  const { published, evaluations } = run(context(), inputs);
  assert.equal(published.length, 1);
  assert.equal(evaluations.length, 20);
  assert.equal(evaluations.filter((e) => e.published).length, 1);
  // Nothing is published for a sender that is and stays ALLOW.
  assert.equal(run(context(), [perMinute(3, T0), perMinute(4, T0 + 1000)]).published.length, 0);
});

test('every BLOCK expires; it holds until then, is extended by fresh evidence, and lapses without it', () => {
  const violating = (asOf: number) =>
    features({ asOf, windows: { '24h': { messages: 10, postOptOutSends: 3 } } });
  const clean = (asOf: number) => features({ asOf, windows: { '24h': { messages: 10 } } });
  const ctx = context();
  const first = run(ctx, [violating(T0)]);
  const block = first.published[0]!;
  assert.equal(block.action, 'BLOCK');
  assert.equal(block.expiresAt, T0 + 24 * HOUR);
  assert.equal(dueAt(first.state, DEFAULT_POLICY), T0 + 24 * HOUR);
  // Clean features an hour later do not lift it early (the SMSC stops the traffic the features would show).
  const held = run(ctx, [clean(T0 + HOUR)], first.state);
  assert.equal(held.published.length, 0);
  assert.equal(held.evaluations[0]!.action, 'BLOCK');
  assert.equal(held.evaluations[0]!.reasons[0]!.code, 'BLOCK_HELD_UNTIL_EXPIRY');
  // Fresh evidence more than half a TTL later re-issues it with a later expiry.
  const extended = run(ctx, [violating(T0 + 13 * HOUR)], first.state);
  assert.equal(extended.published[0]?.expiresAt, T0 + 37 * HOUR);
  // Fresh evidence within the first half does not rewrite the enforcement topic.
  assert.equal(run(ctx, [violating(T0 + 2 * HOUR)], first.state).published.length, 0);
  // At expiry, with nothing new, the BLOCK lapses even though the last features still show the violation.
  const expiry: Trigger = { kind: 'EXPIRY', at: T0 + 24 * HOUR, basis: String(T0 + 24 * HOUR) };
  const lapsed = decide(ctx, violating(T0), first.state, expiry, T0 + 24 * HOUR + 3);
  assert.notEqual(lapsed.publish?.action, 'BLOCK');
  assert.equal(lapsed.publish?.previousAction, 'BLOCK');
  assert.equal(lapsed.publish?.trigger, 'EXPIRY');
});

test('random sequences: every published BLOCK has an expiry within blockTtl of its evidence', () => {
  const rnd = mulberry32(3);
  let state: SenderDecisionState = EMPTY_STATE;
  let t = T0;
  for (let i = 0; i < 3000; i++) {
    t += Math.floor(rnd() * 30 * MINUTE);
    const patch: WindowPatch = {
      messages: Math.floor(rnd() * 2000),
      distinctRecipients: Math.floor(rnd() * 500),
      peak1s: Math.floor(rnd() * 10),
      postOptOutSends: rnd() < 0.05 ? 3 : 0,
      spamReports: rnd() < 0.1 ? 5 : 0,
      newContactShare: rnd(),
    };
    const f = features({ asOf: t, windows: { all: patch } });
    const due = dueAt(state, DEFAULT_POLICY);
    const trigger: Trigger =
      due !== null && due <= t
        ? { kind: 'EXPIRY', at: due, basis: String(due) }
        : { kind: 'FEATURES', at: t, basis: '' };
    const out = decide(context(), f, state, trigger, t);
    state = out.state;
    for (const d of out.evaluations)
      if (d.action === 'BLOCK') {
        assert.notEqual(d.expiresAt, null);
        assert.ok(d.expiresAt! <= trigger.at + DEFAULT_POLICY.blockTtlMs);
        assert.ok(d.expiresAt! > trigger.at, 'a BLOCK in force has not expired');
      }
  }
});

test('decision ids are deterministic: same inputs and policy version, same id; a replay at another time too', () => {
  const f = perMinute(100, T0);
  const trigger: Trigger = { kind: 'FEATURES', at: f.asOf, basis: '' };
  const a = decide(context(), f, EMPTY_STATE, trigger, T0 + 10);
  const b = decide(context(), f, EMPTY_STATE, trigger, T0 + 99_999);
  assert.equal(a.publish!.decisionId, b.publish!.decisionId);
  assert.match(a.publish!.decisionId, /^[0-9a-f]{32}$/);
  const other = parsePolicy({ ...structuredClone(rawPolicy()), version: 'other' }, 'x');
  const c = decide(context({ policy: other }), f, EMPTY_STATE, trigger, T0 + 10);
  assert.notEqual(c.publish!.decisionId, a.publish!.decisionId, 'another policy version, another id');
  const d = decide(context(), perMinute(100, T0 + 1), EMPTY_STATE, { ...trigger, at: T0 + 1 }, T0 + 10);
  assert.notEqual(d.publish!.decisionId, a.publish!.decisionId, 'other features, another id');
});

const override = (action: 'ALLOW' | 'BLOCK', o: Partial<ActiveOverride> = {}): ActiveOverride => ({
  overrideId: `o-${action}`,
  scope: 'SENDER',
  target: '+12025550100',
  action,
  createdAt: T0,
  expiresAt: null,
  ...o,
});

test('an ALLOW override lifts a BLOCK at once, keeps the policy view, and its removal restores the policy decision', () => {
  const spam = features({ windows: { '24h': { messages: 10, postOptOutSends: 4 } } });
  const blocked = run(context(), [spam]);
  assert.equal(blocked.published[0]!.action, 'BLOCK');
  const allowed = decide(
    context({ override: override('ALLOW') }),
    spam,
    blocked.state,
    { kind: 'OVERRIDE', at: T0, basis: 'o-ALLOW@1' },
    T0,
  );
  assert.equal(allowed.publish?.action, 'ALLOW');
  assert.equal(allowed.publish?.overrideId, 'o-ALLOW');
  assert.equal(
    allowed.publish?.policyAction,
    'BLOCK',
    'what the policy would do stays visible to the auditor',
  );
  assert.equal(allowed.publish?.previousAction, 'BLOCK');
  assert.deepEqual(
    allowed.publish?.reasons.map((r) => r.code),
    ['OPERATOR_ALLOW', 'POST_OPT_OUT_SENDS'],
  );
  const removed = decide(
    context(),
    spam,
    allowed.state,
    { kind: 'OVERRIDE', at: T0 + 1, basis: 'removed@2' },
    T0 + 1,
  );
  assert.equal(removed.publish?.action, 'BLOCK');
  assert.equal(removed.publish?.overrideId, null);
});

test('a campaign override applies to its senders; a sender override beats it only by being looked up first', () => {
  // The engine resolves which override applies (overrides.test.ts); here the decider applies it.
  const registered = features({
    campaignId: 'CPOL1',
    windows: { all: { registeredCapShare: 3, messages: 400 } },
  });
  const withCap = run(context(), [registered]);
  assert.equal(withCap.published[0]!.action, 'THROTTLE');
  const allow = decide(
    context({ override: override('ALLOW', { scope: 'CAMPAIGN', target: 'CPOL1', overrideId: 'camp' }) }),
    registered,
    withCap.state,
    { kind: 'OVERRIDE', at: T0, basis: 'camp@1' },
    T0,
  );
  assert.equal(allow.publish?.action, 'ALLOW');
  assert.equal(allow.publish?.throttleRatePerMinute, null);
});

test('operator BLOCK beats everything; the Do-Not-Originate list beats an operator ALLOW; both BLOCKs expire and are re-issued', () => {
  const quiet = features();
  const trig: Trigger = { kind: 'OVERRIDE', at: T0, basis: 'x' };
  const opBlock = decide(
    context({ override: override('BLOCK'), doNotOriginate: true }),
    quiet,
    EMPTY_STATE,
    trig,
    T0,
  );
  assert.equal(opBlock.publish?.reasons[0]?.code, 'OPERATOR_BLOCK');
  assert.equal(
    opBlock.publish?.expiresAt,
    T0 + 24 * HOUR,
    'an operator block without expiry still lapses without re-issue',
  );
  const dnoWins = decide(
    context({ override: override('ALLOW'), doNotOriginate: true }),
    quiet,
    EMPTY_STATE,
    trig,
    T0,
  );
  assert.equal(dnoWins.publish?.action, 'BLOCK');
  assert.equal(dnoWins.publish?.reasons[0]?.code, 'DO_NOT_ORIGINATE');
  // A standing block is due for re-issue at half its life, and re-issued with a later expiry.
  const due = dueAt(opBlock.state, DEFAULT_POLICY)!;
  assert.equal(due, T0 + 12 * HOUR);
  const again = decide(
    context({ override: override('BLOCK') }),
    quiet,
    opBlock.state,
    { kind: 'EXPIRY', at: due, basis: String(due) },
    due,
  );
  assert.equal(again.publish?.action, 'BLOCK');
  assert.equal(again.publish?.expiresAt, T0 + 36 * HOUR);
  // An operator block with an expiry never outlives it.
  const short = decide(
    context({ override: override('BLOCK', { expiresAt: T0 + HOUR }) }),
    quiet,
    EMPTY_STATE,
    trig,
    T0,
  );
  assert.equal(short.publish?.expiresAt, T0 + HOUR);
});

test('a shadow policy is evaluated beside the active one and never published', () => {
  const strict = parsePolicy(
    {
      ...rawPolicy(),
      version: 'candidate-2',
      profiles: {
        ...rawPolicy().profiles,
        consumer: {
          throttleRatePerMinute: 10,
          behaviouralBlock: true,
          rules: [
            {
              code: 'TINY_VOLUME',
              class: 'volume',
              feature: 'messages',
              window: '1m',
              op: '>=',
              threshold: 20,
              weight: 0.3,
            },
          ],
        },
      },
    },
    'candidate',
  );
  const { published, evaluations } = run(context({ shadowPolicy: strict }), [
    perMinute(30, T0),
    perMinute(31, T0 + 1000),
  ]);
  assert.equal(published.length, 0, 'the active policy allows 30 a minute');
  const shadow = evaluations.filter((e) => e.shadow);
  assert.equal(shadow.length, 2);
  assert.deepEqual(
    shadow.map((e) => [e.action, e.policyVersion, e.published, e.previousAction]),
    [
      ['THROTTLE', 'candidate-2', false, null],
      ['THROTTLE', 'candidate-2', false, 'THROTTLE'],
    ],
  );
  assert.notEqual(shadow[0]!.decisionId, evaluations[0]!.decisionId);
});

function rawPolicy() {
  return JSON.parse(readFileSync(DEFAULT_POLICY_PATH, 'utf8'));
}

test('a rate change is published only when material (materialRateChange of the rate in force)', () => {
  let cap = 75;
  const ctx = { ...context(), capOf: () => ({ perMinute: cap }) };
  const registered = (asOf: number) =>
    features({ asOf, campaignId: 'C9', windows: { '1m': { registeredCapShare: 2, messages: 300 } } });
  let state = run(ctx, [registered(T0)]).state;
  assert.equal(state.inForce?.throttle?.perMinute, 75);
  cap = 80;
  const small = run(ctx, [registered(T0 + 1000)], state);
  assert.equal(small.published.length, 0, '75 -> 80 is under 20%');
  assert.equal(
    small.evaluations[0]!.throttleRatePerMinute,
    80,
    'the evaluation records the rate it computed',
  );
  state = small.state;
  cap = 240;
  const big = run(ctx, [registered(T0 + 2000)], state);
  assert.equal(big.published[0]?.throttleRatePerMinute, 240);
});
