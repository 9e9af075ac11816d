/**
 * The decision-quality report's data: what ClickHouse says happened (collect.ts), how it scores
 * against the simulator's labels (score.ts), and the report both renderers draw from. Plain
 * JSON-serialisable objects; times are ms since the epoch, UTC. docs/report.md defines every
 * figure.
 */
import type { Action } from '@spamgate/schemas';
import type { Expectation } from '../labels.ts';
import type { Enforcement } from './enforcement.ts';

export type { Action };

/** Weakest to strongest. */
export const ACTIONS: readonly Action[] = ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK'];

/** A count per action. */
export type ActionCounts = Readonly<Record<Action, number>>;

/** An action as ClickHouse stores it; one this code does not know reads as MONITOR, as the contract says. */
export function actionOf(raw: unknown): Action {
  return raw === 'ALLOW' || raw === 'MONITOR' || raw === 'THROTTLE' || raw === 'BLOCK' ? raw : 'MONITOR';
}

/** The first enforced evaluation with some action. */
export interface FirstAction {
  /** Event time of the evidence it was based on (`based_on_event_ms`). */
  readonly eventMs: number;
  /** Wall-clock time it was decided (`decided_at_ms`). */
  readonly decidedAtMs: number;
}

/** One sender as ClickHouse saw it over the run, enforced (non-shadow) decisions only. */
export interface SenderObservation {
  readonly sender: string;
  /** Messages counted in `sender_minute` over the run. */
  readonly messages: number;
  /** Enforced evaluations (published or not). 0: spamgate never evaluated the sender. */
  readonly evaluations: number;
  /** The action in force at the end: the latest published decision's, ALLOW when none was published. */
  readonly finalAction: Action;
  /** The strongest action of any enforced evaluation (ALLOW when none). */
  readonly strongestAction: Action;
  /** First enforced evaluation that said THROTTLE or BLOCK, and the first that said BLOCK. */
  readonly firstThrottleOrBlock: FirstAction | null;
  readonly firstBlock: FirstAction | null;
}

/** A change of the action in force, from the sender's published decisions. */
export interface DecisionChange {
  /** Event time of the evidence (`based_on_event_ms`). */
  readonly atMs: number;
  readonly decidedAtMs: number;
  readonly from: Action;
  readonly to: Action;
  /** FEATURES, CLUSTER, OVERRIDE, LIST or EXPIRY. */
  readonly trigger: string;
  readonly reasons: readonly string[];
}

/** A busy sender: messages per minute over the run, and when its action changed. */
export interface SenderTimeline {
  readonly sender: string;
  /** One point per minute of the run (0 where `sender_minute` has no row); minute start, ms. */
  readonly minutes: readonly { readonly minuteMs: number; readonly messages: number }[];
  readonly changes: readonly DecisionChange[];
}

export interface Offender {
  readonly sender: string;
  readonly messages: number;
  readonly urlMessages: number;
  readonly spamReports: number;
  readonly finalAction: Action;
  readonly strongestAction: Action;
  /** Reason codes cited most often by the sender's enforced evaluations, at most 3. */
  readonly topReasons: readonly { readonly code: string; readonly evaluations: number }[];
}

export interface DeadLetterCause {
  readonly service: string;
  readonly originalTopic: string;
  readonly errorCode: string;
  readonly records: number;
}

/** What collect.ts read from ClickHouse. */
export interface Observed {
  /** Event-time range read (the run's, widened to whole minutes and an hour after its end for decisions). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Every sender with messages or enforced decisions in the range, labelled or not. */
  readonly senders: readonly SenderObservation[];
  /** The busiest senders by messages, busiest first. */
  readonly offenders: readonly Offender[];
  readonly timelines: readonly SenderTimeline[];
  /** Dead letters of the run's topics (all topics when the run had no topic prefix). */
  readonly deadLetters: { readonly total: number; readonly byCause: readonly DeadLetterCause[] };
}

/** Precision and recall of one prediction ("ever BLOCKed", "ever THROTTLEd or BLOCKed") against `spam`. */
export interface Metric {
  /** Labelled senders predicted spam (e.g. ever BLOCKed). */
  readonly predicted: number;
  /** Labelled spam senders. */
  readonly actual: number;
  /** Both. */
  readonly truePositives: number;
  /** truePositives / predicted; null when nothing was predicted. */
  readonly precision: number | null;
  /** truePositives / actual; null when there is no spam sender. */
  readonly recall: number | null;
}

export interface TimeToAction {
  /** Event time of the scenario's first such decision, and of its first message. */
  readonly atMs: number;
  /** atMs - the scenario's first message (event time). */
  readonly afterFirstMessageMs: number;
  /** decided_at - event time of that decision: how long after its evidence it was made (wall clock, ±1 s). */
  readonly decisionLagMs: number;
  readonly sender: string;
}

export interface ScenarioScore {
  readonly id: string;
  readonly title: string;
  readonly spam: boolean;
  readonly expect: Expectation;
  readonly senders: number;
  /** Messages the labels say the scenario sent, and what sender_minute counted. */
  readonly labelledMessages: number;
  readonly observedMessages: number;
  /** Senders with at least one enforced evaluation. */
  readonly evaluated: number;
  /** Senders by final action, and by strongest action ever. */
  readonly final: ActionCounts;
  readonly strongest: ActionCounts;
  readonly everBlocked: number;
  readonly everThrottledOrBlocked: number;
  /** Event time of the scenario's first message (labels); null without senders. */
  readonly firstMessageAt: number | null;
  readonly firstThrottleOrBlock: TimeToAction | null;
  readonly firstBlock: TimeToAction | null;
  /** Per sender, first THROTTLE or BLOCK - its own first message, over the senders acted on. */
  readonly senderTimeToAction: { readonly medianMs: number; readonly maxMs: number } | null;
  /** Senders (up to 5) that broke the scenario's expectation: blocked when they must not be, or not acted on. */
  readonly misses: readonly string[];
}

export interface QualityCheck {
  /** Stable id, e.g. 'never-block:p2p-registered', 'precision-block'. */
  readonly id: string;
  /** The check in words. */
  readonly check: string;
  readonly passed: boolean;
  /** What was measured, and who failed it. */
  readonly detail: string;
}

export interface Score {
  readonly scenarios: readonly ScenarioScore[];
  readonly senders: number;
  readonly spamSenders: number;
  readonly block: Metric;
  readonly throttleOrBlock: Metric;
  /** Senders ClickHouse knows that the labels do not (left out of every figure above). */
  readonly unlabelled: { readonly senders: number; readonly everBlocked: number };
  /** The quality bar. */
  readonly checks: readonly QualityCheck[];
  /** What the labels also expect but the quality bar does not require (THROTTLE of a legitimate scenario that should not be throttled). */
  readonly advisories: readonly QualityCheck[];
  /** Every check of the quality bar passed. */
  readonly passed: boolean;
}

export interface OffenderRow extends Offender {
  /** The sender's scenario in the labels, null when unlabelled. */
  readonly scenarioId: string | null;
  readonly spam: boolean | null;
}

export interface TimelineRow extends SenderTimeline {
  readonly scenarioId: string | null;
  readonly spam: boolean | null;
  readonly messagesTotal: number;
}

export interface Report {
  readonly version: 1;
  /** Wall-clock time the report was built. */
  readonly generatedAt: number;
  readonly database: string;
  readonly run: {
    readonly seed: number;
    readonly startedAt: number;
    readonly endedAt: number;
    readonly ratePerSecond: number;
    readonly topicPrefix: string;
  };
  readonly score: Score;
  readonly offenders: readonly OffenderRow[];
  readonly timelines: readonly TimelineRow[];
  readonly deadLetters: Observed['deadLetters'];
  /** What the firewall let through, from the run's message ledger; null when the run has none. */
  readonly enforcement: Enforcement | null;
}
