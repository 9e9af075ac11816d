/**
 * The content decision state machine of one content cluster: whether its recipients across every
 * sender have confirmed it abusive (the policy's `content` section), what a firewall should match
 * (cluster id, URL domains, call-back numbers), operator content overrides, and expiry on the
 * evidence's time base. Pure, like decider.ts for senders. docs/policy.md, "Content decisions".
 */
import { createHash } from 'node:crypto';
import type {
  ClusterFeatures,
  ContentAction,
  ContentDecision,
  ContentDecisionTrigger,
  Reason,
} from '@spamgate/schemas';
import { type ClusterGroup, groupValue } from './cluster-groups.ts';
import { clusterValue } from './evaluate.ts';
import type { ContentPolicy, Policy, Rule } from './policy.ts';
import { isGroupRef } from './policy-rules.ts';

/** An operator content override (sms.content-overrides) as the engine holds it. */
export interface ContentOverrideView {
  readonly overrideId: string;
  readonly scope: 'CLUSTER' | 'DOMAIN';
  readonly target: string;
  readonly action: 'ALLOW' | 'BLOCK';
  readonly expiresAt: number | null;
}

/** What is published for a cluster, and the memory its next decision needs. */
export interface ContentState {
  readonly action: ContentAction;
  readonly score: number;
  readonly reasons: readonly Reason[];
  /** When the action was entered, and when it was last decided, event time. */
  readonly since: number;
  readonly at: number;
  readonly expiresAt: number | null;
  readonly overrideId: string | null;
  readonly urlDomains: readonly string[];
  readonly callbackNumbers: readonly string[];
  readonly decisionId: string;
}

export interface ContentContext {
  readonly policy: Policy;
  /** The CLUSTER override of this cluster in force, if any. */
  readonly override: ContentOverrideView | undefined;
  /** Whether an operator allowed a domain (DOMAIN ALLOW): it is never a match key. */
  readonly domainAllowed: (domain: string) => boolean;
  /** The clusters linking to a domain at the decision's time (cluster-groups.ts); none: no domain groups. */
  readonly domainGroup?: (domain: string) => ClusterGroup | undefined;
  /** The clusters the judged cluster's numbers send, at the decision's time; none: no crew group. */
  readonly crewGroup?: (c: ClusterFeatures) => ClusterGroup | undefined;
}

export interface ContentTrigger {
  readonly kind: ContentDecisionTrigger;
  /** Event time the decision is at. */
  readonly at: number;
  /** What distinguishes this trigger's input in the decision id. */
  readonly basis: string;
}

const reason = (code: string, observed: number | null = null): Reason => ({
  code,
  feature: null,
  window: null,
  observed,
  threshold: null,
});

const longest = (c: ClusterFeatures) => c.windows.at(-1);
const window = (c: ClusterFeatures, name: string) => c.windows.find((w) => w.window === name);

const cmp = (v: number, op: Rule['op'], t: number) => (op === '>=' ? v >= t : v <= t);

/** The groups a cluster is judged with (groupsOf), by the kind of group rules read. */
export interface JudgedGroups {
  readonly domain: readonly ClusterGroup[];
  readonly crew: readonly ClusterGroup[];
  /**
   * Its crew's group even when registered campaigns send much of it: what hard rules read, since
   * ignoring STOP is no less a violation for a registered pool (empty when it has no crew).
   */
  readonly anyCrew: readonly ClusterGroup[];
}

const NO_GROUPS: JudgedGroups = { domain: [], crew: [], anyCrew: [] };

/** A cluster or group feature of one window: `g` is the group that group features read. */
function read(
  c: ClusterFeatures,
  g: ClusterGroup | undefined,
  ref: Rule['feature'],
  name: string,
): number | undefined {
  if (ref.source === 'cluster') return clusterValue(window(c, name), ref.name);
  if (isGroupRef(ref) && g)
    return groupValue(
      g.windows.find((w) => w.window === name),
      ref.name,
    );
  return undefined;
}

/**
 * The rule fired on the cluster: its reason, or undefined. A rule reading group features fires on
 * one of the cluster's groups of that kind (the most extreme shown), its cluster features on the
 * cluster.
 */
function fire(c: ClusterFeatures, rule: Rule, hold: boolean, groups: JudgedGroups): Reason | undefined {
  const threshold = hold ? rule.exitThreshold : rule.threshold;
  const source = [rule.feature, ...rule.when.map((w) => w.feature)].find(isGroupRef)?.source;
  let best: Reason | undefined;
  const pool =
    source === 'crew' && rule.class === 'hard' ? groups.anyCrew : source ? groups[source] : [undefined];
  for (const g of pool) {
    const v = read(c, g, rule.feature, rule.window);
    if (v === undefined || !cmp(v, rule.op, threshold)) continue;
    if (
      !rule.when.every((w) => {
        const x = read(c, g, w.feature, w.window);
        return x !== undefined && cmp(x, w.op, w.value);
      })
    )
      continue;
    if (best && !cmp(v, rule.op, best.observed!)) continue;
    const feature =
      source === 'domain'
        ? `domain[${g!.key}].${rule.feature.name}`
        : source
          ? `crew.${rule.feature.name}`
          : rule.feature.name;
    best = { code: rule.code, feature, window: rule.window, observed: v, threshold };
  }
  return best;
}

interface Verdict {
  readonly action: ContentAction;
  readonly score: number;
  readonly reasons: Reason[];
}

/**
 * What the evidence calls for: BLOCK when a hard rule fired, or every group of blockRequires;
 * a registered cluster gets MONITOR (review) when every group of reviewRequires fired instead.
 */
export function judgeCluster(
  content: ContentPolicy,
  c: ClusterFeatures,
  hold: boolean,
  groups: JudgedGroups = NO_GROUPS,
): Verdict {
  const fired: { rule: Rule; reason: Reason }[] = [];
  for (const rule of content.rules) {
    const r = fire(c, rule, hold, groups);
    if (r) fired.push({ rule, reason: r });
  }
  const reasons = fired.map((x) => x.reason);
  // Messages after STOP across the template: the violation that blocks any sender, registered too.
  const hard = fired.filter((x) => x.rule.class === 'hard');
  if (hard.length > 0)
    return {
      action: 'BLOCK',
      score: 1,
      reasons: [...hard.map((x) => x.reason), ...reasons.filter((r) => !hard.some((h) => h.reason === r))],
    };
  const score = 1 - fired.reduce((p, x) => p * (1 - x.rule.weight), 1);
  const satisfied = (groups: readonly (readonly string[])[]) =>
    groups.every((g) => fired.some((x) => g.includes(x.rule.code)));
  const registered = window(c, '1h')?.registeredShare ?? longest(c)?.registeredShare ?? 0;
  if (registered > content.maxRegisteredShare)
    return satisfied(content.reviewRequires)
      ? { action: 'MONITOR', score, reasons: [reason('REGISTERED_CAMPAIGN_REVIEW', registered), ...reasons] }
      : { action: 'ALLOW', score, reasons };
  return { action: satisfied(content.blockRequires) ? 'BLOCK' : 'ALLOW', score, reasons };
}

/** The match keys of a cluster: its own domains and call-back numbers, never shared or allowed domains. */
export function matchKeys(
  content: ContentPolicy,
  c: ClusterFeatures,
  domainAllowed: (d: string) => boolean,
): { urlDomains: string[]; callbackNumbers: string[] } {
  const domains = new Set<string>();
  const numbers = new Set<string>();
  for (const w of c.windows) {
    for (const d of w.urlDomains) {
      const x = d.toLowerCase();
      if (!content.sharedDomains.has(x) && !domainAllowed(x)) domains.add(x);
    }
    for (const n of w.callbackNumbers) numbers.add(n);
  }
  return { urlDomains: [...domains].sort(), callbackNumbers: [...numbers].sort() };
}

/**
 * The groups a cluster is judged with: one per link domain of its own that is a match key (not
 * shared, not operator-allowed), and its crew's; none that registered campaigns send much of (a
 * brand's own site, a registered pool, is not judged by what others send), except by hard rules
 * on its crew (anyCrew).
 */
export function groupsOf(content: ContentPolicy, c: ClusterFeatures, ctx: ContentContext): JudgedGroups {
  const unregistered = (g: ClusterGroup | undefined): g is ClusterGroup => {
    if (!g) return false;
    const w = g.windows.find((x) => x.window === '1h') ?? g.windows.at(-1);
    return (w?.registeredShare ?? 0) <= content.maxRegisteredShare;
  };
  const domain = ctx.domainGroup
    ? matchKeys(content, c, ctx.domainAllowed)
        .urlDomains.map((d) => ctx.domainGroup!(d))
        .filter(unregistered)
    : [];
  const crew = ctx.crewGroup?.(c);
  return { domain, crew: unregistered(crew) ? [crew] : [], anyCrew: crew ? [crew] : [] };
}

export function contentDecisionId(
  d: Omit<ContentDecision, 'decisionId' | 'decidedAt'>,
  basis: string,
): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        d.policyVersion,
        d.clusterId,
        d.trigger,
        basis,
        d.basedOnEventTime,
        d.action,
        d.urlDomains,
        d.callbackNumbers,
        d.overrideId,
        d.previousAction,
        d.expiresAt,
        d.score,
        d.reasons.map((r) => [r.code, r.feature, r.window, r.observed, r.threshold]),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])].sort();

const sameKeys = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Decides a cluster for one trigger. Memory: a BLOCK holds until it expires (blockTtl after the
 * evidence) and is re-issued while fresh evidence calls for it (once the extension is at least
 * half the TTL); at expiry it lapses unless the features it is judged on are fresh. An operator's
 * CLUSTER override decides over the evidence.
 */
export function decideContent(
  ctx: ContentContext,
  c: ClusterFeatures,
  prev: ContentState | null,
  trigger: ContentTrigger,
  decidedAt: number,
): { state: ContentState | null; publish: ContentDecision | null } {
  const content = ctx.policy.content;
  if (!content) return { state: prev, publish: null };
  const at = trigger.at;
  const ttl = content.blockTtlMs;
  const current: ContentAction = prev?.action ?? 'ALLOW';
  const lapsed = current === 'BLOCK' && prev?.expiresAt != null && at >= prev.expiresAt;
  const o = ctx.override;
  let verdict: Verdict;
  let expiresAt: number | null = null;
  let overrideId: string | null = null;
  if (o) {
    overrideId = o.overrideId;
    verdict = {
      action: o.action,
      score: o.action === 'BLOCK' ? 1 : 0,
      reasons: [reason(o.action === 'BLOCK' ? 'OPERATOR_BLOCK' : 'OPERATOR_ALLOW')],
    };
    if (o.action === 'BLOCK') {
      const keep =
        prev?.overrideId === o.overrideId && prev.expiresAt !== null && prev.expiresAt - at > ttl / 2;
      expiresAt = keep ? prev!.expiresAt : at + ttl;
      if (o.expiresAt !== null) expiresAt = Math.min(expiresAt!, o.expiresAt);
    } else expiresAt = o.expiresAt;
  } else {
    const fresh = trigger.kind === 'CLUSTER' && c.asOf >= at - ttl / 2;
    const groups = groupsOf(content, c, ctx);
    verdict = judgeCluster(content, c, current === 'BLOCK' && !lapsed, groups);
    if (current === 'BLOCK' && !lapsed && verdict.action !== 'BLOCK' && prev?.overrideId === null)
      // The evidence faded, the block holds until it expires: the firewall stops what would show it.
      verdict = {
        action: 'BLOCK',
        score: prev.score,
        reasons: [
          reason('BLOCK_HELD_UNTIL_EXPIRY', Math.max(0, (prev.expiresAt ?? at) - at)),
          ...prev.reasons,
        ],
      };
    if (lapsed && verdict.action === 'BLOCK' && !fresh) verdict = { ...verdict, action: 'ALLOW' };
    if (verdict.action === 'BLOCK') {
      const renew = at + ttl;
      expiresAt =
        current !== 'BLOCK' || lapsed || prev?.expiresAt == null || prev.overrideId !== null
          ? renew
          : judgeCluster(content, c, false, groups).action === 'BLOCK' && renew - prev.expiresAt >= ttl / 2
            ? renew
            : prev.expiresAt;
    }
  }
  let keys =
    verdict.action === 'ALLOW'
      ? { urlDomains: [] as string[], callbackNumbers: [] as string[] }
      : matchKeys(content, c, ctx.domainAllowed);
  if (verdict.action === 'BLOCK' && current === 'BLOCK' && !lapsed && prev)
    // While a block holds its match keys only grow: the domains a firewall learned stay matched
    // even when the cluster's newest windows no longer show them (an allowed domain leaves).
    keys = {
      urlDomains: union(
        prev.urlDomains.filter((d) => !ctx.domainAllowed(d)),
        keys.urlDomains,
      ),
      callbackNumbers: union(prev.callbackNumbers, keys.callbackNumbers),
    };
  const changed =
    verdict.action !== current ||
    lapsed ||
    expiresAt !== (prev?.expiresAt ?? null) ||
    overrideId !== (prev?.overrideId ?? null) ||
    !sameKeys(keys.urlDomains, prev?.urlDomains ?? []) ||
    !sameKeys(keys.callbackNumbers, prev?.callbackNumbers ?? []);
  // ALLOW over nothing published: nothing to tell a firewall.
  // Nothing to tell a firewall: the state only learns when it was last looked at (not persisted).
  if (!changed || (prev === null && verdict.action === 'ALLOW'))
    return { state: prev ? { ...prev, at: Math.max(prev.at, at) } : null, publish: null };
  const l = longest(c);
  const body: Omit<ContentDecision, 'decisionId' | 'decidedAt'> = {
    clusterId: c.clusterId,
    action: verdict.action,
    urlDomains: keys.urlDomains,
    callbackNumbers: keys.callbackNumbers,
    score: verdict.score,
    reasons: verdict.reasons,
    policyVersion: ctx.policy.version,
    overrideId,
    campaignIds: [...(l?.campaignIds ?? [])],
    distinctSenders: l?.distinctSenders ?? 0,
    distinctRecipients: l?.distinctRecipients ?? 0,
    basedOnEventTime: c.asOf,
    expiresAt,
    previousAction: prev?.action ?? null,
    trigger: trigger.kind,
  };
  const publish: ContentDecision = { decisionId: contentDecisionId(body, trigger.basis), ...body, decidedAt };
  const entered = verdict.action !== current || lapsed;
  return {
    state: {
      action: verdict.action,
      score: verdict.score,
      reasons: verdict.reasons,
      since: entered || !prev ? at : prev.since,
      at,
      expiresAt,
      overrideId,
      urlDomains: keys.urlDomains,
      callbackNumbers: keys.callbackNumbers,
      decisionId: publish.decisionId,
    },
    publish,
  };
}

/** When the cluster's decision next needs a look without new features: its BLOCK's expiry, or half an operator block's life. */
export function contentDueAt(state: ContentState | null, ttlMs: number): number | null {
  if (state?.action !== 'BLOCK' || state.expiresAt === null) return null;
  const reissue = state.expiresAt - ttlMs / 2;
  return state.overrideId !== null && reissue > state.at ? reissue : state.expiresAt;
}
