/**
 * One policy applied to one sender's features: which rules fire, the score, and the action the
 * evidence supports, with the limits of a THROTTLE. Pure; the decider (decider.ts) adds memory:
 * hysteresis, holds, expiry, overrides. How evidence combines is in docs/policy.md ("How evidence
 * combines"); the principles of policy.ts are enforced here, whatever the file says. The score
 * is the noisy-or of the fired rules' weights: 1 - prod(1 - weight).
 */
import type {
  Action,
  ClusterFeatures,
  ClusterWindowFeatures,
  ContentDecision,
  Reason,
  SenderFeatures,
  WindowFeatures,
} from '@spamgate/schemas';
import {
  type ClusterFeatureName,
  CONTACT_DISCOUNTED,
  type Comparison,
  type Condition,
  type FeatureRef,
  type Policy,
  type ProfileName,
  profileOf,
  type Rule,
  type RuleClass,
  type ThrottleScope,
  type ThrottleSpec,
} from './policy.ts';

/** Registered throughput of a campaign, as the feature engine's registrations file gives it. */
export type CapOf = (campaignId: string) => { perMinute?: number; perDay?: number } | undefined;

/** A content decision in force for a cluster, as sender evaluations read it. */
export interface ContentInForce {
  readonly decisionId: string;
  readonly action: 'ALLOW' | 'MONITOR' | 'BLOCK';
  readonly expiresAt: number | null;
  /** A BLOCK resting on a hard content rule (STOP ignored across the template): registered senders too. */
  readonly hardEvidence?: boolean;
}

/** What sender evaluations read of a published content decision, under `policy`'s hard content rules. */
export function contentInForce(d: ContentDecision, policy: Policy): ContentInForce {
  const hard = new Set(policy.content?.rules.filter((r) => r.class === 'hard').map((r) => r.code));
  return {
    decisionId: d.decisionId,
    action: d.action,
    expiresAt: d.expiresAt,
    hardEvidence: d.action === 'BLOCK' && d.reasons.some((r) => hard.has(r.code)),
  };
}

export interface EvaluationInput {
  readonly features: SenderFeatures;
  /** Latest features of a content cluster by id, when known. */
  readonly cluster: (clusterId: string) => ClusterFeatures | undefined;
  /** The content decision published for a cluster, when there is one. */
  readonly content: (clusterId: string) => ContentInForce | undefined;
  readonly capOf: CapOf;
  /** Share of its own recent pace a registered sender of a reviewed cluster is throttled to. */
  readonly reviewPaceShare?: number | undefined;
  /** Whether an operator blocked a URL domain (a DOMAIN BLOCK content override). */
  readonly domainBlocked?: ((domain: string) => boolean) | undefined;
}

/** What a THROTTLE lets through (Decision.throttleRatePerMinute, throttleRatePerHour, throttleScope). */
export interface ThrottleLimits {
  readonly perMinute: number | null;
  readonly perHour: number | null;
  readonly scope: ThrottleScope;
}

export interface Evaluation {
  readonly action: Action;
  /** The limits of a THROTTLE, else null. */
  readonly throttle: ThrottleLimits | null;
  readonly score: number;
  /** Fired evidence, strongest first. */
  readonly reasons: Reason[];
  readonly profile: ProfileName;
}

export type Mode = 'enter' | 'hold';

export const ACTION_RANK: Readonly<Record<Action, number>> = { ALLOW: 0, MONITOR: 1, THROTTLE: 2, BLOCK: 3 };
export const maxAction = (a: Action, b: Action): Action => (ACTION_RANK[a] >= ACTION_RANK[b] ? a : b);
export const minAction = (a: Action, b: Action): Action => (ACTION_RANK[a] <= ACTION_RANK[b] ? a : b);

const CLASS_ORDER: Readonly<Record<RuleClass, number>> = {
  hard: 0,
  outcome: 1,
  spread: 2,
  volume: 3,
  signal: 4,
};

const compare = (value: number, op: Comparison, threshold: number): boolean =>
  op === '>=' ? value >= threshold : value <= threshold;

function senderWindow(features: SenderFeatures, name: string): WindowFeatures | undefined {
  return features.windows.find((w) => w.window === name);
}

function clusterWindow(
  cluster: ClusterFeatures | undefined,
  name: string,
): ClusterWindowFeatures | undefined {
  return cluster?.windows.find((w) => w.window === name);
}

/** A sender feature's value as rules see it: message counts without the messages to contacts. */
export function senderValue(
  features: SenderFeatures,
  ref: FeatureRef & { source: 'sender' },
  window: string,
) {
  const w = senderWindow(features, window);
  if (!w) return undefined;
  const raw = w[ref.name];
  return CONTACT_DISCOUNTED.has(ref.name) ? raw * (1 - Math.min(1, Math.max(0, w.contactShare))) : raw;
}

function value(
  input: EvaluationInput,
  ref: FeatureRef,
  window: string,
  cluster: ClusterFeatures | undefined,
): number | undefined {
  if (ref.source === 'sender') return senderValue(input.features, ref, window);
  // Sender rules never read groups of clusters (policy-rules.ts refuses them).
  if (ref.source !== 'cluster') return undefined;
  return clusterValue(clusterWindow(cluster, window), ref.name);
}

/** A cluster feature of one window, derived ones (policy-rules.ts DERIVED_CLUSTER_FEATURES) included. */
export function clusterValue(
  w: ClusterWindowFeatures | undefined,
  name: ClusterFeatureName,
): number | undefined {
  if (w === undefined) return undefined;
  const per = (n: number, d: number) => (d > 0 ? n / d : 0);
  switch (name) {
    case 'spamReportRate':
      return per(w.spamReports, w.distinctRecipients);
    case 'replyRate':
      return per(w.replies, w.distinctRecipients);
    case 'deliveryFailureRate':
      return per(w.deliveryFailures, w.messages);
    case 'postOptOutRate':
      return per(w.postOptOutSends, w.messages);
    case 'complaints':
      return w.spamReports + w.optOuts;
    case 'complaintReplyRatio':
      return (w.spamReports + w.optOuts) / (w.replies + 1);
    case 'messagesPerSender':
      return per(w.messages, w.distinctSenders);
    case 'optOutIgnoringShare':
      return per(w.optOutIgnoringSenders, w.distinctSenders);
    case 'optOutIgnoredShare':
      return per(w.optOutIgnoredSenders, w.optedOutSenders);
    default:
      return w[name];
  }
}

function conditionsHold(
  input: EvaluationInput,
  when: readonly Condition[],
  cluster: ClusterFeatures | undefined,
) {
  for (const c of when) {
    const v = value(input, c.feature, c.window, cluster);
    if (v === undefined || !compare(v, c.op, c.value)) return false;
  }
  return true;
}

function featureName(ref: FeatureRef, clusterId: string | undefined): string {
  return ref.source === 'sender' ? ref.name : `cluster[${clusterId}].${ref.name}`;
}

/** The rule fired on the sender (or on one of its clusters): its reason, or undefined. */
function fire(input: EvaluationInput, rule: Rule, mode: Mode): Reason | undefined {
  const threshold = mode === 'enter' ? rule.threshold : rule.exitThreshold;
  const readsCluster =
    rule.feature.source === 'cluster' || rule.when.some((c) => c.feature.source === 'cluster');
  const candidates: (string | undefined)[] = readsCluster
    ? input.features.clusters.map((c) => c.clusterId)
    : [undefined];
  let best: Reason | undefined;
  for (const id of candidates) {
    const cluster = id === undefined ? undefined : input.cluster(id);
    if (id !== undefined && !cluster) continue;
    const v = value(input, rule.feature, rule.window, cluster);
    if (v === undefined || !compare(v, rule.op, threshold)) continue;
    if (!conditionsHold(input, rule.when, cluster)) continue;
    // The most extreme value among the clusters is the one to show.
    if (best && !compare(v, rule.op, best.observed!)) continue;
    best = {
      code: rule.code,
      feature: featureName(rule.feature, id),
      window: rule.window,
      observed: v,
      threshold,
    };
  }
  return best;
}

/** Registered cap as a per-minute rate: the per-minute cap, else the daily cap spread over the day. */
export function capRate(cap: { perMinute?: number; perDay?: number } | undefined): number | undefined {
  if (!cap) return undefined;
  if (cap.perMinute !== undefined) return cap.perMinute;
  if (cap.perDay !== undefined) return Math.max(1, Math.floor(cap.perDay / 1440));
  return undefined;
}

interface Fired {
  readonly cls: RuleClass;
  readonly decisive: boolean;
  readonly weight: number;
  readonly throttle: ThrottleSpec | null;
  readonly reason: Reason;
}

const reasonOf = (code: string, feature: string | null, observed: number | null = null): Reason => ({
  code,
  feature,
  window: null,
  observed,
  threshold: null,
});

/** A sender under a registered campaign, or a short code: never content-blocked (reviewed instead). */
function registered(f: SenderFeatures): boolean {
  return f.campaignId !== null || f.senderKind === 'SHORT_CODE';
}

/**
 * Evidence from content decisions about the sender's clusters, in force at `at`: a content BLOCK
 * blocks an unregistered sender outright (its recipients across the cluster confirmed it), and a
 * registered one when it rests on STOP ignored across the template (registration sets
 * throughput, it does not make ignoring STOP legal); otherwise a blocked or reviewed cluster
 * throttles a registered sender to a share of its own recent pace.
 */
function contentEvidence(input: EvaluationInput, at: number): Fired[] {
  const out: Fired[] = [];
  const f = input.features;
  for (const c of f.clusters) {
    const cd = input.content(c.clusterId);
    if (!cd || (cd.expiresAt !== null && at >= cd.expiresAt)) continue;
    const feature = `cluster[${c.clusterId}]`;
    if (cd.action === 'BLOCK' && (!registered(f) || cd.hardEvidence === true))
      out.push({
        cls: 'hard',
        decisive: true,
        weight: 1,
        throttle: null,
        reason: reasonOf('CONTENT_BLOCKED', feature),
      });
    else if (cd.action !== 'ALLOW' && registered(f))
      out.push({
        cls: 'outcome',
        decisive: false,
        weight: 0.5,
        throttle: { perMinute: null, perHour: null, paceShare: input.reviewPaceShare ?? 0.5 },
        reason: reasonOf('CONTENT_REVIEW', feature, recentPace(f)),
      });
  }
  return out;
}

/** The sender's recent pace: messages a minute over its 10-minute window (else its 1-minute one). */
function recentPace(f: SenderFeatures): number {
  const w = senderWindow(f, '10m') ?? senderWindow(f, '1m');
  return w ? (w.messages * 60_000) / Math.max(60_000, w.windowMs) : 0;
}

/** The tightest limit per dimension of the fired rules' throttles (a pace share as a per-minute limit); null where none limits. */
function tightest(
  specs: readonly ThrottleSpec[],
  f: SenderFeatures,
): { perMinute: number | null; perHour: number | null } {
  let perMinute: number | null = null;
  let perHour: number | null = null;
  const min = (a: number | null, b: number) => (a === null ? b : Math.min(a, b));
  for (const s of specs) {
    if (s.perMinute !== null) perMinute = min(perMinute, s.perMinute);
    if (s.perHour !== null) perHour = min(perHour, s.perHour);
    if (s.paceShare !== null)
      perMinute = min(perMinute, Math.max(1, Math.floor(recentPace(f) * s.paceShare)));
  }
  return { perMinute, perHour };
}

export function evaluate(policy: Policy, input: EvaluationInput, mode: Mode, at: number): Evaluation {
  const f = input.features;
  const profileName = profileOf(f.senderKind, f.campaignId);
  const profile = policy.profiles[profileName];
  const fired: Fired[] = [];
  for (const d of f.urlDomains) {
    const domain = d.toLowerCase();
    if (input.domainBlocked?.(domain))
      fired.push({
        cls: 'hard',
        decisive: true,
        weight: 1,
        throttle: null,
        reason: reasonOf('OPERATOR_DOMAIN_BLOCK', `urlDomains[${domain}]`),
      });
    else if (policy.denyListedDomains.has(domain))
      fired.push({
        cls: 'hard',
        decisive: true,
        weight: 1,
        throttle: null,
        reason: reasonOf('DENY_LISTED_URL', `urlDomains[${domain}]`),
      });
  }
  fired.push(...contentEvidence(input, at));
  for (const rule of profile.rules) {
    const reason = fire(input, rule, mode);
    if (reason)
      fired.push({
        cls: rule.class,
        decisive: rule.decisive,
        weight: rule.weight,
        throttle: rule.throttle,
        reason,
      });
  }
  const has = (cls: RuleClass, decisiveOnly = false) =>
    fired.some((x) => x.cls === cls && (!decisiveOnly || x.decisive));
  const hard = has('hard');
  const score = hard ? 1 : 1 - fired.reduce((p, x) => p * (1 - x.weight), 1);
  const volume = has('volume');
  const spread = has('spread');
  const outcome = has('outcome', true);
  const limiting = fired.filter((x) => x.throttle !== null).map((x) => x.throttle!);
  let action: Action;
  if (hard) action = 'BLOCK';
  else if (profile.behaviouralBlock && outcome && (volume || spread) && score >= policy.blockScore)
    action = 'BLOCK';
  else if (volume || limiting.length > 0) action = 'THROTTLE';
  else if (spread || has('outcome') || score >= policy.monitorScore) action = 'MONITOR';
  else action = 'ALLOW';
  let throttle: ThrottleLimits | null = null;
  if (action === 'THROTTLE') {
    const cap = f.campaignId ? capRate(input.capOf(f.campaignId)) : undefined;
    const t = tightest(limiting, f);
    // Volume alone throttles at the registered cap, else at the profile's rate.
    let perMinute =
      t.perMinute ?? (t.perHour === null || volume ? (cap ?? profile.throttleRatePerMinute) : null);
    if (cap !== undefined && perMinute !== null) perMinute = Math.min(perMinute, cap);
    throttle = { perMinute, perHour: t.perHour, scope: profile.throttleScope };
  }
  fired.sort((a, b) => CLASS_ORDER[a.cls] - CLASS_ORDER[b.cls] || b.weight - a.weight);
  return { action, throttle, score, reasons: fired.map((x) => x.reason), profile: profileName };
}
