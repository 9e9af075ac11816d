// Scoring a run against its labels: per-scenario counts, time to first action, precision and
// recall, and the quality bar, each check shown to pass and to fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QualityCheck, Score } from '../../src/report/model.ts';
import { QUALITY_BAR, scoreRun } from '../../src/report/score.ts';
import { LEGIT, labels, PHISHING, REGISTERED, SPAM, scenario, seen, T0 } from './fixtures.ts';

function check(score: Score, id: string): QualityCheck {
  const c = [...score.checks, ...score.advisories].find((x) => x.id === id);
  assert.ok(
    c,
    `check ${id} exists; have ${[...score.checks, ...score.advisories].map((x) => x.id).join(', ')}`,
  );
  return c;
}

const run = labels(
  scenario('ordinary', false, LEGIT, 3),
  scenario('political', false, REGISTERED, 2),
  scenario('blast', true, SPAM, 2),
  scenario('phishing', true, PHISHING, 2),
);

/** Every sender treated as the labels expect: legit ALLOWed, spam acted on, phishing blocked at once. */
const perfect = () => [
  seen('ordinary-0', ['ALLOW']),
  seen('ordinary-1', ['ALLOW', 'MONITOR']),
  seen('ordinary-2', []),
  seen('political-0', ['ALLOW', 'THROTTLE', 'ALLOW']),
  seen('political-1', ['ALLOW']),
  seen('blast-0', ['THROTTLE']),
  seen('blast-1', ['MONITOR', 'BLOCK']),
  seen('phishing-0', ['BLOCK'], [T0 + 20_000]),
  seen('phishing-1', ['BLOCK'], [T0 + 15_000]),
];

test('a run that does what the labels expect passes every check of the quality bar', () => {
  const score = scoreRun(run, perfect());
  assert.equal(score.passed, true, JSON.stringify(score.checks.filter((c) => !c.passed)));
  assert.deepEqual(
    score.checks.map((c) => c.id),
    [
      'never-block:ordinary',
      'never-block:political',
      'action:blast',
      'action:phishing',
      'block-within:phishing',
      'precision-block',
      'recall-spam',
    ],
  );
  assert.ok(score.checks.every((c) => c.passed));
});

test("counts each scenario's senders by final action and by strongest action ever", () => {
  const score = scoreRun(run, perfect());
  const ordinary = score.scenarios.find((s) => s.id === 'ordinary')!;
  assert.deepEqual(ordinary.final, { ALLOW: 2, MONITOR: 1, THROTTLE: 0, BLOCK: 0 });
  assert.equal(ordinary.evaluated, 2, 'ordinary-2 had no evaluation');
  const political = score.scenarios.find((s) => s.id === 'political')!;
  assert.deepEqual(political.final, { ALLOW: 2, MONITOR: 0, THROTTLE: 0, BLOCK: 0 });
  assert.deepEqual(political.strongest, { ALLOW: 1, MONITOR: 0, THROTTLE: 1, BLOCK: 0 });
  assert.equal(political.everThrottledOrBlocked, 1);
  const blast = score.scenarios.find((s) => s.id === 'blast')!;
  assert.deepEqual(blast.strongest, { ALLOW: 0, MONITOR: 0, THROTTLE: 1, BLOCK: 1 });
  assert.equal(blast.everBlocked, 1);
  assert.equal(blast.labelledMessages, 20);
  assert.equal(blast.observedMessages, 20);
});

test('a legitimate sender BLOCKed once fails its scenario even though it ends ALLOWed', () => {
  const senders = perfect().map((o) => (o.sender === 'ordinary-1' ? seen(o.sender, ['BLOCK', 'ALLOW']) : o));
  const score = scoreRun(run, senders);
  const c = check(score, 'never-block:ordinary');
  assert.equal(c.passed, false);
  assert.match(c.detail, /1 of 3 senders BLOCKed: ordinary-1/);
  assert.equal(score.scenarios.find((s) => s.id === 'ordinary')!.final.BLOCK, 0);
  assert.deepEqual(score.scenarios.find((s) => s.id === 'ordinary')!.misses, ['ordinary-1']);
  assert.equal(score.passed, false);
});

test('a THROTTLE of a legitimate scenario fails an advisory only where the labels say THROTTLE is not acceptable', () => {
  const senders = perfect().map((o) => (o.sender === 'ordinary-0' ? seen(o.sender, ['THROTTLE']) : o));
  const score = scoreRun(run, senders);
  assert.equal(check(score, 'no-throttle:ordinary').passed, false);
  assert.equal(
    score.advisories.some((a) => a.id === 'no-throttle:political'),
    false,
    'THROTTLE is fine for it',
  );
  assert.equal(check(score, 'never-block:ordinary').passed, true);
});

test('a spam scenario passes its action check only when every sender was THROTTLEd or BLOCKed', () => {
  const senders = perfect().map((o) => (o.sender === 'blast-0' ? seen(o.sender, ['MONITOR']) : o));
  const c = check(scoreRun(run, senders), 'action:blast');
  assert.equal(c.passed, false);
  assert.match(c.detail, /1 of 2 senders THROTTLEd or BLOCKed; never: blast-0/);
});

test('a scenario that must be BLOCKed fails when a sender was only THROTTLEd', () => {
  const senders = perfect().map((o) => (o.sender === 'phishing-0' ? seen(o.sender, ['THROTTLE']) : o));
  const score = scoreRun(run, senders);
  assert.equal(check(score, 'action:phishing').passed, false);
  assert.equal(check(score, 'block-within:phishing').passed, true, 'phishing-1 was blocked in time');
});

test('an advisory flags spam senders that were acted on but do not end the run THROTTLEd or BLOCKed', () => {
  const senders = perfect().map((o) => (o.sender === 'blast-0' ? seen(o.sender, ['THROTTLE', 'ALLOW']) : o));
  const score = scoreRun(run, senders);
  assert.equal(check(score, 'action:blast').passed, true);
  const a = check(score, 'final-action:blast');
  assert.equal(a.passed, false);
  assert.match(a.detail, /not: blast-0/);
  assert.equal(score.passed, true, 'advisories are not part of the bar');
});

test("time to first action is the scenario's earliest decision minus its first message, in event time, with the decision lag", () => {
  const score = scoreRun(run, perfect());
  const phishing = score.scenarios.find((s) => s.id === 'phishing')!;
  assert.equal(phishing.firstMessageAt, T0);
  assert.deepEqual(phishing.firstBlock, {
    atMs: T0 + 15_000,
    afterFirstMessageMs: 15_000,
    decisionLagMs: 2_000,
    sender: 'phishing-1',
  });
  // Per sender: phishing-0 at 20 s after its first message at T0, phishing-1 at 15 s - 1 s.
  assert.deepEqual(phishing.senderTimeToAction, { medianMs: 17_000, maxMs: 20_000 });
  const blast = score.scenarios.find((s) => s.id === 'blast')!;
  assert.equal(blast.firstThrottleOrBlock?.afterFirstMessageMs, 10_000, 'blast-0 THROTTLEd at T0 + 10 s');
  assert.equal(blast.firstBlock?.afterFirstMessageMs, 20_000, 'blast-1 BLOCKed at T0 + 20 s');
  assert.equal(score.scenarios.find((s) => s.id === 'ordinary')!.firstThrottleOrBlock, null);
  assert.equal(score.scenarios.find((s) => s.id === 'ordinary')!.senderTimeToAction, null);
});

test("block-within fails when the scenario's first BLOCK comes after the limit, and when it never comes", () => {
  const late = perfect().map((o) =>
    o.sender.startsWith('phishing') ? seen(o.sender, ['BLOCK'], [T0 + 60_001]) : o,
  );
  const c = check(scoreRun(run, late), 'block-within:phishing');
  assert.equal(c.passed, false);
  assert.match(
    c.detail,
    /^first BLOCK 60\.001 s after its first message \(event time; phishing-0, decided 2\.0 s after its evidence\)$/,
  );
  assert.equal(c.check, 'phishing (Scenario phishing) is first BLOCKed within 60 s of its first message');
  const onTime = perfect().map((o) =>
    o.sender.startsWith('phishing') ? seen(o.sender, ['BLOCK'], [T0 + 60_000]) : o,
  );
  assert.equal(
    check(scoreRun(run, onTime), 'block-within:phishing').passed,
    true,
    'exactly at the limit passes',
  );
  const never = perfect().map((o) => (o.sender.startsWith('phishing') ? seen(o.sender, ['THROTTLE']) : o));
  const n = check(scoreRun(run, never), 'block-within:phishing');
  assert.equal(n.passed, false);
  assert.equal(n.detail, 'never BLOCKed');
});

test('precision of BLOCK counts every labelled sender ever BLOCKed, and fails below 0.99', () => {
  // 98 spam senders all blocked, and one legitimate registered sender blocked: 98/99 < 0.99.
  const big = labels(scenario('spam', true, SPAM, 98), scenario('biz', false, REGISTERED, 1));
  const spam = big.scenarios[0]!.senders.map((l) => seen(l.sender, ['BLOCK']));
  const score = scoreRun(big, [...spam, seen('biz-0', ['BLOCK', 'ALLOW'])]);
  assert.equal(score.block.predicted, 99);
  assert.equal(score.block.truePositives, 98);
  assert.equal(score.block.precision, 98 / 99);
  const c = check(score, 'precision-block');
  assert.equal(c.passed, false);
  assert.match(c.detail, /^0\.989: 98 of 99 BLOCKed senders are spam; legitimate: biz-0$/);
  // One more spam sender blocked: 99/100 = 0.99 passes.
  const bigger = labels(scenario('spam', true, SPAM, 99), scenario('biz', false, REGISTERED, 1));
  const all = bigger.scenarios[0]!.senders.map((l) => seen(l.sender, ['BLOCK']));
  assert.equal(check(scoreRun(bigger, [...all, seen('biz-0', ['BLOCK'])]), 'precision-block').passed, true);
});

test('precision of BLOCK with nothing BLOCKed is undefined: a failure when there is spam, a pass when there is none', () => {
  const none = perfect().map((o) => (o.strongestAction === 'BLOCK' ? seen(o.sender, ['THROTTLE']) : o));
  const score = scoreRun(run, none);
  assert.equal(score.block.precision, null);
  assert.equal(score.block.recall, 0);
  const c = check(score, 'precision-block');
  assert.equal(c.passed, false);
  assert.equal(c.detail, 'no sender was BLOCKed');
  const legitOnly = labels(scenario('ordinary', false, LEGIT, 2));
  const clean = scoreRun(legitOnly, [seen('ordinary-0', ['ALLOW'])]);
  assert.equal(check(clean, 'precision-block').passed, true);
  assert.equal(check(clean, 'recall-spam').passed, true);
  assert.equal(check(clean, 'recall-spam').detail, 'no spam sender in the labels');
  assert.equal(clean.passed, true);
});

test('recall of spam senders counts THROTTLE or BLOCK, and fails below 0.95', () => {
  const spamRun = labels(scenario('spam', true, SPAM, 20));
  const senders = spamRun.scenarios[0]!.senders.map((l, i) =>
    seen(l.sender, i === 0 ? ['MONITOR'] : i % 2 === 0 ? ['THROTTLE'] : ['BLOCK']),
  );
  const score = scoreRun(spamRun, senders);
  assert.equal(score.throttleOrBlock.recall, 19 / 20);
  assert.equal(score.block.recall, 10 / 20);
  assert.equal(check(score, 'recall-spam').passed, true, '0.95 is enough');
  const worse = senders.map((o, i) => (i === 1 ? seen(o.sender, ['ALLOW']) : o));
  const c = check(scoreRun(spamRun, worse), 'recall-spam');
  assert.equal(c.passed, false);
  assert.match(c.detail, /^0\.900: 18 of 20 spam senders THROTTLEd or BLOCKed; missed: spam-0, spam-1$/);
});

test('labelled senders ClickHouse never saw count as ALLOWed and not evaluated, and lower recall', () => {
  const score = scoreRun(run, []);
  const blast = score.scenarios.find((s) => s.id === 'blast')!;
  assert.deepEqual(blast.final, { ALLOW: 2, MONITOR: 0, THROTTLE: 0, BLOCK: 0 });
  assert.equal(blast.evaluated, 0);
  assert.equal(blast.observedMessages, 0);
  assert.equal(score.throttleOrBlock.recall, 0);
});

test('senders the labels do not know are left out of every figure and counted apart', () => {
  const score = scoreRun(run, [...perfect(), seen('stranger', ['BLOCK']), seen('visitor', ['ALLOW'])]);
  assert.deepEqual(score.unlabelled, { senders: 2, everBlocked: 1 });
  assert.equal(score.block.predicted, 3);
  assert.equal(score.senders, 9);
  assert.equal(score.spamSenders, 4);
  assert.equal(score.passed, true);
});

test('every check of the quality bar can fail at once, each naming who failed it', () => {
  const worst = [
    seen('ordinary-0', ['BLOCK']),
    seen('political-0', ['BLOCK']),
    seen('blast-0', ['ALLOW']),
    seen('phishing-0', ['THROTTLE']),
  ];
  const score = scoreRun(run, worst);
  assert.equal(score.checks.length, 7);
  for (const c of score.checks) assert.equal(c.passed, false, `${c.id} fails`);
  assert.equal(score.passed, false);
  assert.match(check(score, 'never-block:political').detail, /political-0/);
  assert.match(check(score, 'action:blast').detail, /never: blast-0, blast-1/);
  assert.match(check(score, 'precision-block').detail, /^0\.000: 0 of 2/);
  assert.match(check(score, 'recall-spam').detail, /missed: blast-0, blast-1, phishing-1/);
});

test('a check lists at most five senders by name and says how many more failed', () => {
  const many = labels(scenario('ordinary', false, LEGIT, 8));
  const score = scoreRun(
    many,
    many.scenarios[0]!.senders.map((l) => seen(l.sender, ['BLOCK'])),
  );
  assert.match(
    check(score, 'never-block:ordinary').detail,
    /^8 of 8 senders BLOCKed: ordinary-0, ordinary-1, ordinary-2, ordinary-3, ordinary-4, \.\.\. \(3 more\)$/,
  );
});

test('a sender listed in two scenarios counts once in the metrics, as spam if either scenario is', () => {
  const twice = labels(scenario('x', true, SPAM, 1), {
    ...scenario('y', false, LEGIT, 0),
    senders: [{ sender: 'x-0', firstMessageAt: T0, messages: 1 }],
  });
  const score = scoreRun(twice, [seen('x-0', ['BLOCK'])]);
  assert.equal(score.senders, 1);
  assert.equal(score.block.precision, 1);
  assert.equal(check(score, 'never-block:y').passed, false, 'its legitimate scenario still sees the BLOCK');
});

test("the quality bar's thresholds are the issue's unless given", () => {
  assert.deepEqual(QUALITY_BAR, {
    blockPrecision: 0.99,
    spamRecall: 0.95,
    spamDelivered: 0.1,
    spamDeliveredPerScenario: 0.3,
    legitimateStopped: 0.0005,
    contentDecisionLagMs: 30_000,
  });
  const spamRun = labels(scenario('spam', true, SPAM, 10));
  const senders = spamRun.scenarios[0]!.senders.map((l, i) => seen(l.sender, i < 8 ? ['BLOCK'] : ['ALLOW']));
  assert.equal(check(scoreRun(spamRun, senders), 'recall-spam').passed, false);
  assert.equal(
    check(scoreRun(spamRun, senders, { ...QUALITY_BAR, spamRecall: 0.8 }), 'recall-spam').passed,
    true,
  );
});
