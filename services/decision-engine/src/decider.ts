/**
 * The decision state machine of one sender: what each policy says (with memory), what is in
 * force (with operator overrides and the Do-Not-Originate list), and which evaluations change
 * what the SMSC enforces. Pure: the engine gives it the sender's state, the trigger and the
 * time, and writes back what it returns.
 *
 * Memory, so a sender near a threshold does not flap:
 * - hysteresis: once the policy's action is in force, keeping it needs only the rules' exit
 *   thresholds (`hold` evaluation); moving up needs the entry thresholds;
 * - a policy BLOCK holds until it expires (blockTtl after the evidence), then lapses; it is
 *   extended while fresh evidence keeps calling for it (re-issued once the extension is at
 *   least half the TTL, so the enforcement topic is not rewritten every second);
 * - a THROTTLE holds at least throttleMinHold.
 * Every BLOCK expires: operator and Do-Not-Originate blocks too are issued with an expiry and
 * re-issued at half-life while they stand, so that enforcement points fail open if spamgate stops.
 *
 * Precedence of what is in force: operator BLOCK, then Do-Not-Originate, then operator ALLOW,
 * then the policy.
 */
import { createHash } from 'node:crypto';
import type {
  Action,
  Decision,
  DecisionTrigger,
  OverrideAction,
  OverrideScope,
  Reason,
  SenderFeatures,
} from '@spamgate/schemas';
import {
  ACTION_RANK,
  type Evaluation,
  type EvaluationInput,
  evaluate,
  maxAction,
  minAction,
  type ThrottleLimits,
} from './evaluate.ts';
import type { Policy } from './policy.ts';

/** One policy's view of one sender, with the memory hysteresis needs. */
export interface Track {
  readonly action: Action;
  /** The limits of a THROTTLE, else null. */
  readonly throttle: ThrottleLimits | null;
  readonly score: number;
  readonly reasons: readonly Reason[];
  /** Time the action was entered. */
  readonly since: number;
  /** BLOCK: when it lapses; null otherwise. */
  readonly expiresAt: number | null;
}

/** What is published on sms.decisions for the sender (absent: nothing yet, which means ALLOW). */
export interface InForce {
  readonly action: Action;
  readonly throttle: ThrottleLimits | null;
  readonly expiresAt: number | null;
  readonly overrideId: string | null;
  readonly decisionId: string;
  /** True when an override or the Do-Not-Originate list decided (re-issued at half-life, not lapsing). */
  readonly standing: boolean;
}

export interface ActiveOverride {
  readonly overrideId: string;
  readonly scope: OverrideScope;
  readonly target: string;
  readonly action: OverrideAction;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface SenderDecisionState {
  readonly active: Track | null;
  /** The shadow policy's track, with the version it belongs to (a new version starts afresh). */
  readonly shadow: { readonly version: string; readonly track: Track } | null;
  readonly inForce: InForce | null;
  /** The shadow policy's would-be enforced action (never published). */
  readonly shadowInForce: InForce | null;
}

export const EMPTY_STATE: SenderDecisionState = Object.freeze({
  active: null,
  shadow: null,
  inForce: null,
  shadowInForce: null,
});

export interface Trigger {
  readonly kind: DecisionTrigger;
  /** Time the evaluation is at: the features' asOf, a cluster's asOf, an override's time, a due time. */
  readonly at: number;
  /** What distinguishes this trigger's input in the decision id (cluster id and asOf, override id, ...). */
  readonly basis: string;
}

export interface DecideContext extends Omit<EvaluationInput, 'features'> {
  readonly policy: Policy;
  readonly shadowPolicy?: Policy | undefined;
  /** The operator override that applies to the sender (sender scope before campaign scope), not lapsed at `at`. */
  readonly override: ActiveOverride | undefined;
  /** Whether the sender is on the Do-Not-Originate list. */
  readonly doNotOriginate: boolean;
}

export interface Outcome {
  readonly state: SenderDecisionState;
  /** One evaluation per policy (active first, then shadow), for sms.decision-evaluations. */
  readonly evaluations: Decision[];
  /** The active evaluation when it changed what is in force: publish it on sms.decisions. */
  readonly publish: Decision | null;
}

function heldReason(code: string, until: number, at: number): Reason {
  return { code, feature: null, window: null, observed: Math.max(0, until - at), threshold: null };
}

/** Advances one policy's track with the sender's features. */
export function advance(policy: Policy, input: EvaluationInput, prev: Track | null, trigger: Trigger): Track {
  const at = trigger.at;
  const enter = evaluate(policy, input, 'enter', at);
  const current: Action = prev?.action ?? 'ALLOW';
  let action: Action;
  let from: Evaluation = enter;
  let held: Reason | null = null;
  // A BLOCK that rested on a content decision goes with it: when the cluster's BLOCK is lifted
  // (an operator's allow, its expiry) the sender is judged on its own evidence again at once.
  const contentLifted =
    current === 'BLOCK' &&
    trigger.kind === 'CONTENT' &&
    enter.action !== 'BLOCK' &&
    (prev?.reasons.some((r) => r.code === 'CONTENT_BLOCKED') ?? false);
  const lapsed = contentLifted || (current === 'BLOCK' && prev?.expiresAt != null && at >= prev.expiresAt);
  if (lapsed) {
    // The block ran its course. Evidence it rested on is at least half a TTL old (fresh evidence
    // would have extended it), so it may throttle or monitor but not block again.
    action = minAction(enter.action, 'THROTTLE');
    if (trigger.kind === 'FEATURES' && enter.action === 'BLOCK') action = 'BLOCK'; // new features: new evidence
  } else if (ACTION_RANK[enter.action] >= ACTION_RANK[current]) {
    action = enter.action;
  } else {
    const hold = evaluate(policy, input, 'hold', at);
    action = maxAction(enter.action, minAction(current, hold.action));
    if (action !== enter.action) from = hold;
    if (current === 'BLOCK' && action !== 'BLOCK') {
      action = 'BLOCK';
      held = heldReason('BLOCK_HELD_UNTIL_EXPIRY', prev!.expiresAt ?? at, at);
    } else if (
      current === 'THROTTLE' &&
      ACTION_RANK[action] < ACTION_RANK.THROTTLE &&
      at - prev!.since < policy.throttleMinHoldMs
    ) {
      action = 'THROTTLE';
      held = heldReason('THROTTLE_MIN_HOLD', prev!.since + policy.throttleMinHoldMs, at);
    }
  }
  const entered = action !== current || lapsed;
  let expiresAt: number | null = null;
  if (action === 'BLOCK') {
    const fresh = at + policy.blockTtlMs;
    if (entered || prev?.expiresAt == null) expiresAt = fresh;
    else if (enter.action === 'BLOCK' && fresh - prev.expiresAt >= policy.blockTtlMs / 2) expiresAt = fresh;
    else expiresAt = prev.expiresAt;
  }
  const reasons = held
    ? [held, ...(from.action === 'ALLOW' ? (prev?.reasons ?? []) : from.reasons)]
    : from.reasons;
  const throttle =
    action === 'THROTTLE' ? (from.throttle ?? (held ? prev?.throttle : null) ?? enter.throttle) : null;
  const profile = policy.profiles[enter.profile];
  return {
    action,
    throttle:
      action === 'THROTTLE'
        ? (throttle ?? {
            perMinute: profile.throttleRatePerMinute,
            perHour: null,
            scope: profile.throttleScope,
          })
        : null,
    score: held && from.action === 'ALLOW' ? (prev?.score ?? from.score) : from.score,
    reasons,
    since: entered || !prev ? at : prev.since,
    expiresAt,
  };
}

interface Enforced {
  readonly action: Action;
  readonly throttle: ThrottleLimits | null;
  readonly expiresAt: number | null;
  readonly overrideId: string | null;
  readonly standing: boolean;
  readonly lead: Reason | null;
  readonly score: number;
}

/** A standing BLOCK's expiry: kept while more than half a TTL remains, else renewed from `at`. */
function standingExpiry(prev: InForce | null, at: number, ttl: number, cap: number | null): number {
  let e =
    prev?.action === 'BLOCK' && prev.standing && prev.expiresAt !== null && prev.expiresAt - at > ttl / 2
      ? prev.expiresAt
      : at + ttl;
  if (cap !== null) e = Math.min(e, cap);
  return e;
}

function enforce(
  ctx: DecideContext,
  policy: Policy,
  track: Track,
  prev: InForce | null,
  at: number,
): Enforced {
  const o = ctx.override;
  const ttl = policy.blockTtlMs;
  if (o?.action === 'BLOCK')
    return {
      action: 'BLOCK',
      throttle: null,
      expiresAt: standingExpiry(prev, at, ttl, o.expiresAt),
      overrideId: o.overrideId,
      standing: true,
      lead: { code: 'OPERATOR_BLOCK', feature: null, window: null, observed: null, threshold: null },
      score: 1,
    };
  if (ctx.doNotOriginate)
    return {
      action: 'BLOCK',
      throttle: null,
      expiresAt: standingExpiry(prev, at, ttl, null),
      overrideId: null,
      standing: true,
      lead: { code: 'DO_NOT_ORIGINATE', feature: null, window: null, observed: null, threshold: null },
      score: 1,
    };
  if (o?.action === 'ALLOW')
    return {
      action: 'ALLOW',
      throttle: null,
      expiresAt: o.expiresAt,
      overrideId: o.overrideId,
      standing: false,
      lead: { code: 'OPERATOR_ALLOW', feature: null, window: null, observed: null, threshold: null },
      score: track.score,
    };
  return {
    action: track.action,
    throttle: track.throttle,
    expiresAt: track.expiresAt,
    overrideId: null,
    standing: false,
    lead: null,
    score: track.score,
  };
}

/** Whether a new limit differs from the one in force by at least the policy's material share. */
function materialRate(policy: Policy, before: number | null, after: number | null): boolean {
  if (before === null || after === null) return before !== after;
  return Math.abs(after - before) >= policy.materialRateChange * Math.max(1, before);
}

/** Whether new THROTTLE limits change what is enforced materially: a limit or the scope. */
function materialThrottle(
  policy: Policy,
  before: ThrottleLimits | null,
  after: ThrottleLimits | null,
): boolean {
  if (before === null || after === null) return before !== after;
  return (
    before.scope !== after.scope ||
    materialRate(policy, before.perMinute, after.perMinute) ||
    materialRate(policy, before.perHour, after.perHour)
  );
}

/** Deterministic id of a decision: a digest of everything it says and rests on, but not of when it was made. */
export function decisionId(
  d: Omit<Decision, 'decisionId' | 'decidedAt' | 'published'>,
  basis: string,
): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      d.policyVersion,
      d.shadow,
      d.sender,
      d.trigger,
      basis,
      d.basedOnEventTime,
      d.action,
      d.throttleRatePerMinute,
      // Limits added with policy 2026-12-06: absent from the digest when unset, so that ids of
      // decisions without them stay what they were.
      ...(d.throttleRatePerHour !== null || d.throttleScope !== 'ALL_RECIPIENTS'
        ? [d.throttleRatePerHour, d.throttleScope]
        : []),
      d.policyAction,
      d.previousAction,
      d.overrideId,
      d.expiresAt,
      d.score,
      d.reasons.map((r) => [r.code, r.feature, r.window, r.observed, r.threshold]),
    ]),
  );
  return h.digest('hex').slice(0, 32);
}

function record(
  features: SenderFeatures,
  policy: Policy,
  track: Track,
  e: Enforced,
  prev: InForce | null,
  trigger: Trigger,
  shadow: boolean,
  decidedAt: number,
): Decision {
  const body = {
    sender: features.sender,
    action: e.action,
    throttleRatePerMinute: e.throttle?.perMinute ?? null,
    throttleRatePerHour: e.throttle?.perHour ?? null,
    throttleScope: e.throttle?.scope ?? 'ALL_RECIPIENTS',
    score: e.score,
    reasons: e.lead ? [e.lead, ...track.reasons] : [...track.reasons],
    policyVersion: policy.version,
    overrideId: e.overrideId,
    basedOnEventTime: features.asOf,
    expiresAt: e.expiresAt,
    policyAction: track.action,
    previousAction: prev?.action ?? null,
    trigger: trigger.kind,
    shadow,
  };
  return { decisionId: decisionId(body, trigger.basis), ...body, decidedAt, published: false };
}

function changes(policy: Policy, prev: InForce | null, e: Enforced): boolean {
  const before: Action = prev?.action ?? 'ALLOW';
  if (e.action !== before) return true;
  if (!prev) return false; // ALLOW over nothing: nothing to tell the SMSC
  if (e.action === 'THROTTLE' && materialThrottle(policy, prev.throttle, e.throttle)) return true;
  if (e.action === 'BLOCK' && e.expiresAt !== prev.expiresAt) return true;
  return e.overrideId !== prev.overrideId;
}

function inForceOf(d: Decision, e: Enforced): InForce {
  return {
    action: d.action,
    throttle: e.throttle,
    expiresAt: d.expiresAt,
    overrideId: d.overrideId,
    decisionId: d.decisionId,
    standing: e.standing,
  };
}

/** Evaluates the sender under the active (and shadow) policy for one trigger. */
export function decide(
  ctx: DecideContext,
  features: SenderFeatures,
  state: SenderDecisionState,
  trigger: Trigger,
  decidedAt: number,
): Outcome {
  const input: EvaluationInput = {
    features,
    cluster: ctx.cluster,
    content: ctx.content,
    capOf: ctx.capOf,
    reviewPaceShare: ctx.policy.content?.reviewPaceShare,
    domainBlocked: ctx.domainBlocked,
  };
  const track = advance(ctx.policy, input, state.active, trigger);
  const enforced = enforce(ctx, ctx.policy, track, state.inForce, trigger.at);
  const active = record(features, ctx.policy, track, enforced, state.inForce, trigger, false, decidedAt);
  const evaluations: Decision[] = [active];
  let inForce = state.inForce;
  let publish: Decision | null = null;
  if (changes(ctx.policy, state.inForce, enforced)) {
    active.published = true;
    publish = active;
    inForce = inForceOf(active, enforced);
  }
  let shadow = state.shadow;
  let shadowInForce = state.shadowInForce;
  const sp = ctx.shadowPolicy;
  if (sp) {
    const prevTrack = shadow?.version === sp.version ? shadow.track : null;
    const prevInForce = shadow?.version === sp.version ? state.shadowInForce : null;
    const strack = advance(sp, input, prevTrack, trigger);
    const se = enforce(ctx, sp, strack, prevInForce, trigger.at);
    const sd = record(features, sp, strack, se, prevInForce, trigger, true, decidedAt);
    evaluations.push(sd);
    shadow = { version: sp.version, track: strack };
    shadowInForce = changes(sp, prevInForce, se) ? inForceOf(sd, se) : prevInForce;
  } else {
    shadow = null;
    shadowInForce = null;
  }
  return { state: { active: track, shadow, inForce, shadowInForce }, evaluations, publish };
}

/**
 * When the sender next needs an evaluation without new input: a policy BLOCK's expiry, or half
 * of a standing BLOCK's life (to re-issue it). null when nothing is due.
 */
export function dueAt(state: SenderDecisionState, policy: Policy): number | null {
  let due: number | null = null;
  const consider = (t: number | null) => {
    if (t !== null && (due === null || t < due)) due = t;
  };
  consider(state.active?.expiresAt ?? null);
  if (state.shadow) consider(state.shadow.track.expiresAt);
  const f = state.inForce;
  if (f?.action === 'BLOCK' && f.expiresAt !== null)
    consider(f.standing ? f.expiresAt - policy.blockTtlMs / 2 : f.expiresAt);
  return due;
}
