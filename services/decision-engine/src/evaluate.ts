/**
 * One policy applied to one sender's features: which rules fire, the score, and the action the
 * evidence supports. Pure; the decider (decider.ts) adds memory: hysteresis, holds, expiry,
 * overrides.
 *
 * How evidence combines (the principles in policy.ts are enforced here, whatever the file says):
 * - a fired hard rule or a deny-listed URL domain: BLOCK, score 1;
 * - behavioural BLOCK: the profile allows it, the score reaches blockScore, a decisive outcome
 *   rule fired, and a volume or spread rule fired too;
 * - otherwise a volume rule: THROTTLE, at the registered cap for a registered sender, else at
 *   the profile's rate; so does spread or outcome evidence whose score reaches throttleScore
 *   (e.g. a snowshoe cluster's fresh numbers before their recipients' reports arrive);
 * - otherwise MONITOR when any spread or outcome rule fired or the score reaches monitorScore;
 * - otherwise ALLOW.
 * The score is the noisy-or of the fired rules' weights: 1 - prod(1 - weight).
 */
import type {
  Action,
  ClusterFeatures,
  ClusterWindowFeatures,
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
} from './policy.ts';

/** Registered throughput of a campaign, as the feature engine's registrations file gives it. */
export type CapOf = (campaignId: string) => { perMinute?: number; perDay?: number } | undefined;

export interface EvaluationInput {
  readonly features: SenderFeatures;
  /** Latest features of a content cluster by id, when known. */
  readonly cluster: (clusterId: string) => ClusterFeatures | undefined;
  readonly capOf: CapOf;
}

export interface Evaluation {
  readonly action: Action;
  /** Messages per minute for THROTTLE, else null. */
  readonly rate: number | null;
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
  return clusterValue(clusterWindow(cluster, window), ref.name);
}

/** A cluster feature of one window, derived ones (policy.ts DERIVED_CLUSTER_FEATURES) included. */
export function clusterValue(
  w: ClusterWindowFeatures | undefined,
  name: ClusterFeatureName,
): number | undefined {
  if (w === undefined) return undefined;
  if (name === 'spamReportRate') return w.distinctRecipients > 0 ? w.spamReports / w.distinctRecipients : 0;
  return w[name];
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

export function evaluate(policy: Policy, input: EvaluationInput, mode: Mode): Evaluation {
  const f = input.features;
  const profileName = profileOf(f.senderKind, f.campaignId);
  const profile = policy.profiles[profileName];
  const fired: {
    rule: Rule | undefined;
    cls: RuleClass;
    decisive: boolean;
    weight: number;
    reason: Reason;
  }[] = [];
  for (const d of f.urlDomains) {
    const domain = d.toLowerCase();
    if (policy.denyListedDomains.has(domain))
      fired.push({
        rule: undefined,
        cls: 'hard',
        decisive: true,
        weight: 1,
        reason: {
          code: 'DENY_LISTED_URL',
          feature: `urlDomains[${domain}]`,
          window: null,
          observed: null,
          threshold: null,
        },
      });
  }
  for (const rule of profile.rules) {
    const reason = fire(input, rule, mode);
    if (reason) fired.push({ rule, cls: rule.class, decisive: rule.decisive, weight: rule.weight, reason });
  }
  const has = (cls: RuleClass, decisiveOnly = false) =>
    fired.some((x) => x.cls === cls && (!decisiveOnly || x.decisive));
  const hard = has('hard');
  const score = hard ? 1 : 1 - fired.reduce((p, x) => p * (1 - x.weight), 1);
  const volume = has('volume');
  const spread = has('spread');
  const outcome = has('outcome', true);
  let action: Action;
  if (hard) action = 'BLOCK';
  else if (profile.behaviouralBlock && outcome && (volume || spread) && score >= policy.blockScore)
    action = 'BLOCK';
  else if (volume) action = 'THROTTLE';
  else if ((spread || outcome) && score >= policy.throttleScore) action = 'THROTTLE';
  else if (spread || has('outcome') || score >= policy.monitorScore) action = 'MONITOR';
  else action = 'ALLOW';
  const cap = f.campaignId ? capRate(input.capOf(f.campaignId)) : undefined;
  const rate = action === 'THROTTLE' ? (cap ?? profile.throttleRatePerMinute) : null;
  fired.sort((a, b) => CLASS_ORDER[a.cls] - CLASS_ORDER[b.cls] || b.weight - a.weight);
  return { action, rate, score, reasons: fired.map((x) => x.reason), profile: profileName };
}
