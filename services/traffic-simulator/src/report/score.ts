/**
 * Scores what spamgate decided against the simulator's labels: pure, no I/O. Definitions
 * (docs/report.md):
 *
 * - final action: the action in force at the end of the run (the latest published decision's;
 *   ALLOW when nothing was published);
 * - strongest action: the strongest action of any enforced evaluation; "ever BLOCKed" is a
 *   strongest action of BLOCK, "ever THROTTLEd or BLOCKed" one of THROTTLE or BLOCK;
 * - precision and recall at sender level against `spam`, predicting spam by "ever BLOCKed"
 *   (BLOCK) or "ever THROTTLEd or BLOCKed" (THROTTLE-or-BLOCK);
 * - time to first action: event time of the evidence of a scenario's first such decision,
 *   minus event time of the scenario's first message (labels).
 */
import type { Labels, SenderLabel } from '../labels.ts';
import type { Enforcement } from './enforcement.ts';
import { formatCount, formatDuration, formatPercent, formatRatio } from './format.ts';
import type {
  Action,
  ActionCounts,
  Metric,
  QualityCheck,
  ScenarioScore,
  Score,
  SenderObservation,
  TimeToAction,
} from './model.ts';

/** The thresholds of the quality bar (issues 8 and 17). */
export interface QualityBar {
  /** Least precision of BLOCK (ever BLOCKed vs spam). */
  readonly blockPrecision: number;
  /** Least recall of spam senders (ever THROTTLEd or BLOCKed vs spam). */
  readonly spamRecall: number;
  /** Most spam messages the firewall delivers, as a share of all spam messages. */
  readonly spamDelivered: number;
  /** Most spam messages delivered of any one spam scenario, as a share of its messages. */
  readonly spamDeliveredPerScenario: number;
  /** Most legitimate messages stopped, as a share of all legitimate messages. */
  readonly legitimateStopped: number;
  /** Longest time from a content cluster's evidence to its content BLOCK (wall-clock runs), ms. */
  readonly contentDecisionLagMs: number;
}

export const QUALITY_BAR: QualityBar = Object.freeze({
  blockPrecision: 0.99,
  spamRecall: 0.95,
  spamDelivered: 0.1,
  spamDeliveredPerScenario: 0.3,
  legitimateStopped: 0.0005,
  contentDecisionLagMs: 30_000,
});

/** Senders listed by name in a check's detail, at most. */
const NAMED = 5;

function unobserved(sender: string): SenderObservation {
  return {
    sender,
    messages: 0,
    evaluations: 0,
    finalAction: 'ALLOW',
    strongestAction: 'ALLOW',
    firstThrottleOrBlock: null,
    firstBlock: null,
  };
}

const everBlocked = (o: SenderObservation): boolean => o.strongestAction === 'BLOCK';
const everThrottledOrBlocked = (o: SenderObservation): boolean =>
  o.strongestAction === 'THROTTLE' || o.strongestAction === 'BLOCK';

function counts(actions: readonly Action[]): ActionCounts {
  const out: Record<Action, number> = { ALLOW: 0, MONITOR: 0, THROTTLE: 0, BLOCK: 0 };
  for (const a of actions) out[a]++;
  return out;
}

function metric(pairs: readonly { spam: boolean; predicted: boolean }[]): Metric {
  let predicted = 0;
  let actual = 0;
  let truePositives = 0;
  for (const p of pairs) {
    if (p.predicted) predicted++;
    if (p.spam) actual++;
    if (p.spam && p.predicted) truePositives++;
  }
  return {
    predicted,
    actual,
    truePositives,
    precision: predicted === 0 ? null : truePositives / predicted,
    recall: actual === 0 ? null : truePositives / actual,
  };
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The scenario's earliest decision of one kind, as a time after its first message. */
function firstOf(
  members: readonly { label: SenderLabel; obs: SenderObservation }[],
  pick: (o: SenderObservation) => SenderObservation['firstBlock'],
  firstMessageAt: number | null,
): TimeToAction | null {
  let best: TimeToAction | null = null;
  for (const { obs } of members) {
    const f = pick(obs);
    if (f === null || firstMessageAt === null) continue;
    if (best === null || f.eventMs < best.atMs || (f.eventMs === best.atMs && obs.sender < best.sender))
      best = {
        atMs: f.eventMs,
        afterFirstMessageMs: f.eventMs - firstMessageAt,
        decisionLagMs: f.decidedAtMs - f.eventMs,
        sender: obs.sender,
      };
  }
  return best;
}

/** Exact to the millisecond, as a limit is checked: "60 s", "60.001 s". */
const seconds = (ms: number): string => `${ms / 1000} s`;

function named(senders: readonly string[]): string {
  if (senders.length === 0) return '';
  const shown = senders.slice(0, NAMED).join(', ');
  return senders.length > NAMED ? `: ${shown}, ... (${senders.length - NAMED} more)` : `: ${shown}`;
}

/** Scores `observed` senders against `labels`. */
export function scoreRun(
  labels: Labels,
  observed: readonly SenderObservation[],
  bar: QualityBar = QUALITY_BAR,
  enforcement: Enforcement | null = null,
): Score {
  // With the run's ledger, what the firewall let through is the bar; the label checks (acted on
  // or not, how soon) stay alongside as advisories. Without it, the label checks are the bar.
  const labelBar = enforcement === null;
  const bySender = new Map(observed.map((o) => [o.sender, o]));
  // A sender the labels list twice (a simulator bug) counts once in the metrics, as spam if any
  // of its scenarios is.
  const labelled = new Map<string, boolean>();
  for (const s of labels.scenarios)
    for (const l of s.senders) labelled.set(l.sender, (labelled.get(l.sender) ?? false) || s.spam);

  const checks: QualityCheck[] = [];
  const advisories: QualityCheck[] = [];
  const scenarios: ScenarioScore[] = labels.scenarios.map((s) => {
    const members = s.senders.map((label) => ({
      label,
      obs: bySender.get(label.sender) ?? unobserved(label.sender),
    }));
    const obs = members.map((m) => m.obs);
    const firstMessageAt = s.senders.reduce<number | null>(
      (min, l) => (min === null || l.firstMessageAt < min ? l.firstMessageAt : min),
      null,
    );
    const blocked = obs.filter(everBlocked).map((o) => o.sender);
    const acted = obs.filter(everThrottledOrBlocked).map((o) => o.sender);
    const firstBlock = firstOf(members, (o) => o.firstBlock, firstMessageAt);
    const firstThrottleOrBlock = firstOf(members, (o) => o.firstThrottleOrBlock, firstMessageAt);
    const delays = members
      .filter((m) => m.obs.firstThrottleOrBlock !== null)
      .map((m) => m.obs.firstThrottleOrBlock!.eventMs - m.label.firstMessageAt)
      .sort((a, b) => a - b);

    const required = s.expect.actionRequired;
    const missed =
      required === 'BLOCK'
        ? obs.filter((o) => !everBlocked(o)).map((o) => o.sender)
        : required === 'THROTTLE_OR_BLOCK'
          ? obs.filter((o) => !everThrottledOrBlocked(o)).map((o) => o.sender)
          : [];
    const n = s.senders.length;
    const name = `${s.id} (${s.title})`;

    if (s.expect.neverBlock)
      checks.push({
        id: `never-block:${s.id}`,
        check: `No sender of ${name} is ever BLOCKed`,
        passed: blocked.length === 0,
        detail: `${formatCount(blocked.length)} of ${formatCount(n)} senders BLOCKed${named(blocked)}`,
      });
    if (required !== 'NONE') {
      const what = required === 'BLOCK' ? 'BLOCKed' : 'THROTTLEd or BLOCKed';
      (labelBar ? checks : advisories).push({
        id: `action:${s.id}`,
        check: `Every sender of ${name} is ${what}`,
        passed: missed.length === 0,
        detail: `${formatCount(n - missed.length)} of ${formatCount(n)} senders ${what}${missed.length > 0 ? `; never${named(missed)}` : ''}`,
      });
      const ending = obs
        .filter((o) =>
          required === 'BLOCK'
            ? o.finalAction !== 'BLOCK'
            : o.finalAction !== 'THROTTLE' && o.finalAction !== 'BLOCK',
        )
        .map((o) => o.sender);
      advisories.push({
        id: `final-action:${s.id}`,
        check: `Every sender of ${name} ends the run ${what}`,
        passed: ending.length === 0,
        detail: `${formatCount(n - ending.length)} of ${formatCount(n)} senders end ${what}${ending.length > 0 ? `; not${named(ending)}` : ''}`,
      });
    }
    if (s.expect.blockWithinMs !== null) {
      const limit = s.expect.blockWithinMs;
      (labelBar ? checks : advisories).push({
        id: `block-within:${s.id}`,
        check: `${name} is first BLOCKed within ${seconds(limit)} of its first message`,
        passed: firstBlock !== null && firstBlock.afterFirstMessageMs <= limit,
        detail:
          firstBlock === null
            ? 'never BLOCKed'
            : `first BLOCK ${seconds(firstBlock.afterFirstMessageMs)} after its first message (event time; ${firstBlock.sender}, decided ${formatDuration(firstBlock.decisionLagMs)} after its evidence)`,
      });
    }
    if (!s.spam && !s.expect.throttleAcceptable) {
      const throttled = obs.filter((o) => o.strongestAction === 'THROTTLE').map((o) => o.sender);
      advisories.push({
        id: `no-throttle:${s.id}`,
        check: `No sender of ${name} is ever THROTTLEd`,
        passed: throttled.length === 0,
        detail: `${formatCount(throttled.length)} of ${formatCount(n)} senders THROTTLEd${named(throttled)}`,
      });
    }

    return {
      id: s.id,
      title: s.title,
      spam: s.spam,
      expect: s.expect,
      senders: n,
      labelledMessages: s.senders.reduce((sum, l) => sum + l.messages, 0),
      observedMessages: obs.reduce((sum, o) => sum + o.messages, 0),
      evaluated: obs.filter((o) => o.evaluations > 0).length,
      final: counts(obs.map((o) => o.finalAction)),
      strongest: counts(obs.map((o) => o.strongestAction)),
      everBlocked: blocked.length,
      everThrottledOrBlocked: acted.length,
      firstMessageAt,
      firstThrottleOrBlock,
      firstBlock,
      senderTimeToAction: delays.length === 0 ? null : { medianMs: median(delays), maxMs: delays.at(-1)! },
      misses: (s.expect.neverBlock ? blocked : missed).slice(0, NAMED),
    };
  });

  const pairs = [...labelled].map(([sender, spam]) => ({
    spam,
    obs: bySender.get(sender) ?? unobserved(sender),
  }));
  const block = metric(pairs.map((p) => ({ spam: p.spam, predicted: everBlocked(p.obs) })));
  const throttleOrBlock = metric(
    pairs.map((p) => ({ spam: p.spam, predicted: everThrottledOrBlocked(p.obs) })),
  );
  const falseBlocks = pairs.filter((p) => !p.spam && everBlocked(p.obs)).map((p) => p.obs.sender);
  const missedSpam = pairs.filter((p) => p.spam && !everThrottledOrBlocked(p.obs)).map((p) => p.obs.sender);

  checks.push({
    id: 'precision-block',
    check: `Precision of BLOCK is at least ${bar.blockPrecision}`,
    // With no spam sender in the labels, blocking nobody is right; otherwise it is a miss.
    passed: block.precision === null ? block.actual === 0 : block.precision >= bar.blockPrecision,
    detail:
      block.precision === null
        ? 'no sender was BLOCKed'
        : `${formatRatio(block.precision)}: ${formatCount(block.truePositives)} of ${formatCount(block.predicted)} BLOCKed senders are spam${falseBlocks.length > 0 ? `; legitimate${named(falseBlocks)}` : ''}`,
  });
  (labelBar ? checks : advisories).push({
    id: 'recall-spam',
    check: `Recall of spam senders (THROTTLEd or BLOCKed) is at least ${bar.spamRecall}`,
    passed: throttleOrBlock.recall === null || throttleOrBlock.recall >= bar.spamRecall,
    detail:
      throttleOrBlock.recall === null
        ? 'no spam sender in the labels'
        : `${formatRatio(throttleOrBlock.recall)}: ${formatCount(throttleOrBlock.truePositives)} of ${formatCount(throttleOrBlock.actual)} spam senders THROTTLEd or BLOCKed${missedSpam.length > 0 ? `; missed${named(missedSpam)}` : ''}`,
  });

  if (enforcement) checks.push(...enforcementChecks(enforcement, labels, bar));
  const strangers = observed.filter((o) => !labelled.has(o.sender));
  return {
    scenarios,
    senders: labelled.size,
    spamSenders: block.actual,
    block,
    throttleOrBlock,
    unlabelled: { senders: strangers.length, everBlocked: strangers.filter(everBlocked).length },
    checks,
    advisories,
    passed: checks.every((c) => c.passed),
  };
}

/** The checks on what the firewall let through (issue 17's targets). */
export function enforcementChecks(e: Enforcement, labels: Labels, bar: QualityBar): QualityCheck[] {
  const checks: QualityCheck[] = [];
  const share = (x: number | null) => (x === null ? 'n/a' : formatPercent(x));
  checks.push({
    id: 'spam-delivered',
    check: `At most ${formatPercent(bar.spamDelivered)} of spam messages are delivered`,
    passed: e.spamDeliveredShare === null || e.spamDeliveredShare <= bar.spamDelivered,
    detail: `${share(e.spamDeliveredShare)}: ${formatCount(e.spam.delivered)} of ${formatCount(e.spam.messages)} spam messages delivered`,
  });
  for (const s of e.scenarios) {
    if (!s.spam) continue;
    const title = labels.scenarios.find((x) => x.id === s.id)?.title ?? s.id;
    checks.push({
      id: `spam-delivered:${s.id}`,
      check: `At most ${formatPercent(bar.spamDeliveredPerScenario)} of ${s.id} (${title}) is delivered, its first minute included`,
      passed: s.deliveredShare === null || s.deliveredShare <= bar.spamDeliveredPerScenario,
      detail: `${share(s.deliveredShare)}: ${formatCount(s.delivered)} of ${formatCount(s.messages)} delivered; stopped ${formatCount(s.stopped.CONTENT)} by content, ${formatCount(s.stopped.BLOCK)} by BLOCK, ${formatCount(s.stopped.THROTTLE)} by THROTTLE`,
    });
  }
  const stopped = e.legitimate.messages - e.legitimate.delivered;
  const victims = e.scenarios
    .filter((s) => !s.spam && s.delivered < s.messages)
    .map((s) => `${s.id} ${formatCount(s.messages - s.delivered)}`);
  checks.push({
    id: 'legitimate-stopped',
    check: `At most ${formatPercent(bar.legitimateStopped)} of legitimate messages are stopped`,
    passed: e.legitimateStoppedShare === null || e.legitimateStoppedShare <= bar.legitimateStopped,
    detail: `${share(e.legitimateStoppedShare)}: ${formatCount(stopped)} of ${formatCount(e.legitimate.messages)} legitimate messages stopped${victims.length > 0 ? ` (${victims.join(', ')})` : ''}`,
  });
  if (e.time === 'wall-clock') {
    const blocks = e.contentDecisions.filter((c) => c.action === 'BLOCK');
    const late = blocks.filter((c) => c.lagMs > bar.contentDecisionLagMs);
    const worst = blocks.reduce((m, c) => Math.max(m, c.lagMs), 0);
    checks.push({
      id: 'content-decision-lag',
      check: `Every content BLOCK is published within ${formatDuration(bar.contentDecisionLagMs)} of its evidence`,
      passed: late.length === 0,
      detail:
        blocks.length === 0
          ? 'no content BLOCK was published'
          : `${formatCount(blocks.length)} content BLOCKs, the slowest ${formatDuration(worst)} after its evidence${
              late.length > 0
                ? `; late: ${late
                    .slice(0, 5)
                    .map((c) => c.clusterId)
                    .join(', ')}`
                : ''
            }`,
    });
  }
  return checks;
}
