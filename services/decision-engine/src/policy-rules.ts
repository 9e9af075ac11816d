/**
 * The vocabulary of policy rules: which features a rule may read (a sender's, or a content
 * cluster's as `cluster.<name>`), rule classes, guards, hysteresis and the throttle limits a
 * rule's evidence justifies, and how one rule of a policy document is checked. policy.ts puts
 * rules into profiles; docs/policy.md explains them.
 */
import { parseDuration } from '@spamgate/core';
import type { ClusterWindowFeatures, WindowFeatures } from '@spamgate/schemas';

/** Numeric per-window features of a sender a rule may read (every numeric WindowFeatures field). */
export const SENDER_FEATURES = [
  'messages',
  'distinctRecipients',
  'peak1s',
  'peak10s',
  'fanOut',
  'newContactShare',
  'contactShare',
  'sequentialShare',
  'prefixEntropy',
  'topTemplateShare',
  'distinctTemplates',
  'urlShare',
  'distinctUrlDomains',
  'callbackShare',
  'timingCv',
  'quietHourShare',
  'deliveryFailures',
  'deliveryFailureRate',
  'spamReports',
  'subscriberBlocks',
  'registeredCapShare',
  'repliedRecipients',
  'replyRate',
  'optOuts',
  'optOutRate',
  'postOptOutSends',
] as const satisfies readonly Exclude<keyof WindowFeatures, 'window' | 'windowMs'>[];
export type SenderFeatureName = (typeof SENDER_FEATURES)[number];

/** Numeric per-window features of a content cluster, read as `cluster.<name>`. */
export const CLUSTER_FEATURES = [
  'messages',
  'distinctSenders',
  'distinctRecipients',
  'optOuts',
  'spamReports',
  'optOutRate',
  'registeredShare',
  'distinctCampaigns',
  'topSenderShare',
  'distinctUrlDomains',
  'replies',
  'deliveryFailures',
  'sequentialShare',
  'postOptOutSends',
  'sendingForMs',
  'optOutIgnoringSenders',
  'optedOutSenders',
  'optOutIgnoredSenders',
] as const satisfies readonly Exclude<
  keyof ClusterWindowFeatures,
  'window' | 'windowMs' | 'campaignIds' | 'urlDomains' | 'callbackNumbers'
>[];
/**
 * Cluster features the engine derives from the record (clusterValue in evaluate.ts), rates that
 * unlike counts do not grow with a campaign's size: spamReportRate = spamReports /
 * distinctRecipients, replyRate = replies / distinctRecipients, deliveryFailureRate =
 * deliveryFailures / messages, postOptOutRate = postOptOutSends / messages (0 without a
 * denominator); complaints = spamReports + optOuts; and
 * complaintReplyRatio = complaints / (replies + 1), which outcome delays do not bias: complaints
 * and replies both come after a recipient reads the message; messagesPerSender = messages /
 * distinctSenders, low when a template is spread thinly over many numbers (snowshoe) and high
 * for volunteers or a business sending it by the hundred; optOutIgnoringShare =
 * optOutIgnoringSenders / distinctSenders, the share of its numbers that sent it while ignoring
 * someone's STOP; optOutIgnoredShare = optOutIgnoredSenders / optedOutSenders, the share of the
 * numbers told STOP about it that texted past the STOP: near all for a crew that ignores STOP,
 * near none for volunteers or a business that honour it.
 */
export const DERIVED_CLUSTER_FEATURES = [
  'spamReportRate',
  'postOptOutRate',
  'replyRate',
  'deliveryFailureRate',
  'complaints',
  'complaintReplyRatio',
  'messagesPerSender',
  'optOutIgnoringShare',
  'optOutIgnoredShare',
] as const;
export type ClusterFeatureName =
  | (typeof CLUSTER_FEATURES)[number]
  | (typeof DERIVED_CLUSTER_FEATURES)[number];
export const CLUSTER_FEATURE_NAMES: readonly string[] = [...CLUSTER_FEATURES, ...DERIVED_CLUSTER_FEATURES];

/**
 * Features of a group of clusters (cluster-groups.ts), read by content rules only: as
 * `domain.<name>`, the clusters linking to one of the cluster's own domains; as `crew.<name>`,
 * the clusters the same numbers send. Every cluster feature, summed over the group's templates
 * (so distinctSenders counts a number once per template it sent), and: templates = the group's
 * clusters; sendersPerTemplate = distinctSenders / templates, about 1 when one number (a
 * business) sends many texts to its own site, and many when a crew of numbers sends each of
 * several pretexts.
 */
export const GROUP_FEATURES = ['templates', 'sendersPerTemplate'] as const;
export type GroupFeatureName = ClusterFeatureName | (typeof GROUP_FEATURES)[number];
export const GROUP_FEATURE_NAMES: readonly string[] = [...CLUSTER_FEATURE_NAMES, ...GROUP_FEATURES];
/** The groups a content rule may read. */
export const GROUP_SOURCES = ['domain', 'crew'] as const;
export type GroupSource = (typeof GROUP_SOURCES)[number];

/**
 * Sender counts that include messages to two-way contacts. The evaluator reads them discounted
 * by the window's contactShare, so that talking to people who talk back never counts against a
 * sender, whatever a policy's thresholds are.
 */
export const CONTACT_DISCOUNTED: ReadonlySet<SenderFeatureName> = new Set([
  'messages',
  'distinctRecipients',
  'peak1s',
  'peak10s',
]);

/** The only feature a `hard` rule may read: sends to recipients who opted out. */
export const HARD_FEATURES: ReadonlySet<SenderFeatureName> = new Set(['postOptOutSends']);
/**
 * The only cluster features a `hard` content rule may read: the same violation across a template's
 * senders, as messages to people who said STOP or as senders that sent past a STOP.
 */
export const HARD_CLUSTER_FEATURES: ReadonlySet<string> = new Set([
  'postOptOutSends',
  'postOptOutRate',
  'optOutIgnoringSenders',
  'optOutIgnoringShare',
  'optOutIgnoredSenders',
  'optOutIgnoredShare',
]);

export type RuleClass = 'hard' | 'volume' | 'spread' | 'outcome' | 'signal';
export const RULE_CLASSES: readonly RuleClass[] = ['hard', 'volume', 'spread', 'outcome', 'signal'];

export type Comparison = '>=' | '<=';

/**
 * A feature of the sender (`messages`), of one of its content clusters (`cluster.optOutRate`), or
 * (content rules only) of a group of clusters judged with the cluster (`domain.templates`,
 * `crew.templates`).
 */
export type FeatureRef =
  | { readonly source: 'sender'; readonly name: SenderFeatureName }
  | { readonly source: 'cluster'; readonly name: ClusterFeatureName }
  | { readonly source: GroupSource; readonly name: GroupFeatureName };

/** Whether a feature is read from a group of clusters. */
export const isGroupRef = (f: FeatureRef): f is FeatureRef & { source: GroupSource } =>
  f.source === 'domain' || f.source === 'crew';

export interface Condition {
  readonly feature: FeatureRef;
  readonly window: string;
  readonly op: Comparison;
  readonly value: number;
}

export interface Rule {
  /** Stable code quoted in Decision reasons (UPPER_SNAKE). */
  readonly code: string;
  readonly class: RuleClass;
  readonly feature: FeatureRef;
  readonly window: string;
  readonly op: Comparison;
  /** Entering: the rule fires when the feature crosses this. */
  readonly threshold: number;
  /** Holding: once the action the rule supports is in force, the rule keeps firing until the feature crosses this. */
  readonly exitThreshold: number;
  /** Contribution to the score (noisy-or of the fired rules' weights). */
  readonly weight: number;
  /** Guards that must all hold for the rule to apply (evaluated on the same cluster for cluster rules). */
  readonly when: readonly Condition[];
  /** false: adds to the score but never satisfies the outcome requirement of a BLOCK (delivery failures). */
  readonly decisive: boolean;
  /**
   * The limits this rule's evidence justifies when the sender is THROTTLEd (the tightest of the
   * fired rules' limits applies); null: the rule alone never makes a THROTTLE, except a volume
   * rule, which throttles at the profile's rate.
   */
  readonly throttle: ThrottleSpec | null;
}

/**
 * Messages a THROTTLE lets through: per sliding minute and per sliding hour (null: no limit), or a
 * share of the sender's own recent pace (messages a minute over the last 10 minutes), which binds
 * whatever that pace is.
 */
export interface ThrottleSpec {
  readonly perMinute: number | null;
  readonly perHour: number | null;
  readonly paceShare: number | null;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const WINDOW = /^[1-9][0-9]{0,4}(s|m|h|d)$/;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
export const DOMAIN = /^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$/;

export function featureRef(raw: unknown, at: string, problems: string[]): FeatureRef | undefined {
  if (typeof raw !== 'string') {
    problems.push(`${at}: "feature" must be a string`);
    return undefined;
  }
  if (raw.startsWith('cluster.')) {
    const name = raw.slice('cluster.'.length);
    if (CLUSTER_FEATURE_NAMES.includes(name)) return { source: 'cluster', name: name as ClusterFeatureName };
    problems.push(`${at}: unknown cluster feature "${name}" (one of ${CLUSTER_FEATURE_NAMES.join(', ')})`);
    return undefined;
  }
  for (const source of GROUP_SOURCES)
    if (raw.startsWith(`${source}.`)) {
      const name = raw.slice(source.length + 1);
      if (GROUP_FEATURE_NAMES.includes(name)) return { source, name: name as GroupFeatureName };
      problems.push(`${at}: unknown ${source} feature "${name}" (one of ${GROUP_FEATURE_NAMES.join(', ')})`);
      return undefined;
    }
  if ((SENDER_FEATURES as readonly string[]).includes(raw))
    return { source: 'sender', name: raw as SenderFeatureName };
  problems.push(
    `${at}: unknown feature "${raw}" (a sender feature of docs/features.md, cluster.<name> of ClusterFeatures, or domain.<name> / crew.<name> in content rules)`,
  );
  return undefined;
}

export function finite(
  raw: unknown,
  at: string,
  problems: string[],
  min = 0,
  max = 1e12,
): number | undefined {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min || raw > max) {
    problems.push(`${at} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
    return undefined;
  }
  return raw;
}

export function comparison(raw: unknown, at: string, problems: string[]): Comparison | undefined {
  if (raw === '>=' || raw === '<=') return raw;
  problems.push(`${at}: "op" must be ">=" or "<=", not ${JSON.stringify(raw)}`);
  return undefined;
}

export function window(raw: unknown, at: string, problems: string[]): string | undefined {
  if (typeof raw === 'string' && WINDOW.test(raw)) return raw;
  problems.push(`${at}: "window" must name a window like 1m, 10m, 1h, 24h, not ${JSON.stringify(raw)}`);
  return undefined;
}

export function unknownKeys(
  o: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
  problems: string[],
) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${at}: unknown field "${k}"`);
}

export function parseCondition(raw: unknown, at: string, problems: string[]): Condition | undefined {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  unknownKeys(raw, ['feature', 'window', 'op', 'value'], at, problems);
  const feature = featureRef(raw.feature, at, problems);
  const w = window(raw.window, at, problems);
  const op = comparison(raw.op, at, problems);
  const value = finite(raw.value, `${at}: "value"`, problems);
  if (!feature || !w || !op || value === undefined) return undefined;
  return { feature, window: w, op, value };
}

/**
 * Checks one rule. `content`: a rule of the policy's content section, whose hard rules read the
 * cluster's messages after STOP (content-policy.ts checks the rest of what content rules may be).
 */
export function parseRule(
  raw: unknown,
  at: string,
  hysteresis: number,
  problems: string[],
  content = false,
): Rule | undefined {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  unknownKeys(
    raw,
    [
      'code',
      'class',
      'feature',
      'window',
      'op',
      'threshold',
      'exitThreshold',
      'weight',
      'when',
      'decisive',
      'throttle',
      '$comment',
    ],
    at,
    problems,
  );
  const before = problems.length;
  const code = raw.code;
  if (typeof code !== 'string' || !CODE.test(code))
    problems.push(`${at}: "code" must be UPPER_SNAKE_CASE (2-64 characters), not ${JSON.stringify(code)}`);
  const cls = raw.class;
  if (!RULE_CLASSES.includes(cls as RuleClass))
    problems.push(`${at}: "class" must be one of ${RULE_CLASSES.join(', ')}, not ${JSON.stringify(cls)}`);
  const feature = featureRef(raw.feature, at, problems);
  const hardOk =
    feature?.source === 'sender'
      ? HARD_FEATURES.has(feature.name)
      : feature?.source === 'cluster' && content && HARD_CLUSTER_FEATURES.has(feature.name);
  if (cls === 'hard' && feature && !hardOk && !content)
    problems.push(
      `${at}: a hard rule may only read ${[...HARD_FEATURES].join(', ')} (hard BLOCKs rest on content-neutral evidence only)`,
    );
  const w = window(raw.window, at, problems);
  const op = comparison(raw.op, at, problems);
  const threshold = finite(raw.threshold, `${at}: "threshold"`, problems);
  let exitThreshold: number | undefined;
  if (raw.exitThreshold !== undefined) {
    exitThreshold = finite(raw.exitThreshold, `${at}: "exitThreshold"`, problems);
    if (exitThreshold !== undefined && threshold !== undefined && op !== undefined) {
      const ok = op === '>=' ? exitThreshold <= threshold : exitThreshold >= threshold;
      if (!ok)
        problems.push(
          `${at}: "exitThreshold" must be on the clean side of "threshold" (${op === '>=' ? 'at most' : 'at least'} it), or senders would flap`,
        );
    }
  } else if (threshold !== undefined && op !== undefined) {
    exitThreshold = op === '>=' ? threshold * hysteresis : threshold / hysteresis;
  }
  const weight = finite(raw.weight ?? (cls === 'hard' ? 1 : undefined), `${at}: "weight"`, problems, 0, 1);
  const when: Condition[] = [];
  if (raw.when !== undefined) {
    if (!Array.isArray(raw.when)) problems.push(`${at}: "when" must be an array of conditions`);
    else
      raw.when.forEach((c, i) => {
        const parsed = parseCondition(c, `${at}.when[${i}]`, problems);
        if (parsed) when.push(parsed);
      });
  }
  const groupSources = new Set(
    [feature, ...when.map((c) => c.feature)].flatMap((f) => (f && isGroupRef(f) ? [f.source] : [])),
  );
  if (!content && groupSources.size > 0)
    problems.push(
      `${at}: domain.<name> and crew.<name> features are read by content rules only (a sender has no group)`,
    );
  if (groupSources.size > 1)
    problems.push(`${at}: a rule reads one kind of group (domain.<name> or crew.<name>), not both`);
  if (raw.decisive !== undefined && typeof raw.decisive !== 'boolean')
    problems.push(`${at}: "decisive" must be true or false`);
  const throttle = parseThrottle(raw.throttle, `${at}.throttle`, problems);
  if (throttle && cls === 'signal')
    problems.push(`${at}: a signal rule cannot throttle (signals only add to the score)`);
  if (problems.length > before) return undefined;
  return {
    code: code as string,
    class: cls as RuleClass,
    feature: feature!,
    window: w!,
    op: op!,
    threshold: threshold!,
    exitThreshold: exitThreshold!,
    weight: weight!,
    when,
    decisive: raw.decisive !== false,
    throttle: throttle ?? null,
  };
}

/** A rule's `throttle`: `{ "perMinute": n, "perHour": m, "paceShare": s }`, any of them (limits are integers from 1). */
export function parseThrottle(raw: unknown, at: string, problems: string[]): ThrottleSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    problems.push(`${at} must be an object with perMinute and/or perHour`);
    return undefined;
  }
  unknownKeys(raw, ['perMinute', 'perHour', 'paceShare'], at, problems);
  const limit = (v: unknown, name: string): number | null => {
    if (v === undefined) return null;
    const n = finite(v, `${at}.${name}`, problems, 1, 1_000_000);
    if (n !== undefined && !Number.isInteger(n)) problems.push(`${at}.${name} must be an integer`);
    return n ?? null;
  };
  const perMinute = limit(raw.perMinute, 'perMinute');
  const perHour = limit(raw.perHour, 'perHour');
  const paceShare =
    raw.paceShare === undefined
      ? null
      : (finite(raw.paceShare, `${at}.paceShare`, problems, 0.01, 0.99) ?? null);
  if (perMinute === null && perHour === null && paceShare === null) {
    problems.push(`${at} must set perMinute, perHour or paceShare`);
    return undefined;
  }
  return { perMinute, perHour, paceShare };
}

export function duration(raw: unknown, at: string, problems: string[], minMs: number): number | undefined {
  const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined || ms < minMs) {
    problems.push(
      `"${at}" must be a duration like 24h or 10m, at least ${minMs} ms, not ${JSON.stringify(raw)}`,
    );
    return undefined;
  }
  return ms;
}
