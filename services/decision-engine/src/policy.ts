/**
 * The policy: a versioned JSON document of rules over features, thresholds per sender profile,
 * and how evidence becomes an action. Values are configuration (carriers tune them); the
 * principles are code, so no policy file can break them:
 *
 * - hard BLOCK only on content-neutral evidence: `hard` rules may only look at postOptOutSends;
 *   the deny-listed URL domains, the Do-Not-Originate list and operator blocks are built in;
 * - volume alone only throttles: `volume` rules can never produce a BLOCK (evaluate.ts);
 * - a behavioural BLOCK needs a decisive `outcome` rule together with a `volume` or `spread`
 *   rule, and a profile that allows it (registered senders are throttled at their cap instead);
 * - rules read only features, which carry no message text: counts, shares, fingerprints' shares,
 *   URL domains and opt-out counts. There is no way to write a rule about what a message says.
 *
 * `parsePolicy` lists every problem of a document in one ConfigError; an invalid policy never
 * replaces a valid one (the engine keeps the policy it has).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseDuration } from '@spamgate/core';
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
] as const satisfies readonly Exclude<
  keyof ClusterWindowFeatures,
  'window' | 'windowMs' | 'campaignIds' | 'urlDomains'
>[];
/**
 * Cluster features the engine derives from the record: spamReportRate = spamReports /
 * distinctRecipients (0 without recipients), the complaint rate, which unlike a count does not
 * grow with a campaign's size.
 */
export const DERIVED_CLUSTER_FEATURES = ['spamReportRate'] as const;
export type ClusterFeatureName =
  | (typeof CLUSTER_FEATURES)[number]
  | (typeof DERIVED_CLUSTER_FEATURES)[number];
const CLUSTER_FEATURE_NAMES: readonly string[] = [...CLUSTER_FEATURES, ...DERIVED_CLUSTER_FEATURES];

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

export type RuleClass = 'hard' | 'volume' | 'spread' | 'outcome' | 'signal';
export const RULE_CLASSES: readonly RuleClass[] = ['hard', 'volume', 'spread', 'outcome', 'signal'];

export type Comparison = '>=' | '<=';

/** A feature of the sender (`messages`) or of one of its content clusters (`cluster.optOutRate`). */
export type FeatureRef =
  | { readonly source: 'sender'; readonly name: SenderFeatureName }
  | { readonly source: 'cluster'; readonly name: ClusterFeatureName };

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
}

export type ProfileName = 'consumer' | 'registered' | 'tollFree' | 'shortCode' | 'other';
export const PROFILE_NAMES: readonly ProfileName[] = [
  'consumer',
  'registered',
  'tollFree',
  'shortCode',
  'other',
];

export interface Profile {
  /** Rate a THROTTLE lets through when no registered cap applies, messages per minute. */
  readonly throttleRatePerMinute: number;
  /** Whether behavioural evidence (outcomes with volume or spread) may BLOCK; otherwise it throttles. */
  readonly behaviouralBlock: boolean;
  readonly rules: readonly Rule[];
}

export interface Policy {
  readonly version: string;
  /** Every BLOCK lapses this long after the evidence it rests on, unless re-issued. */
  readonly blockTtlMs: number;
  /** A THROTTLE stays at least this long once entered. */
  readonly throttleMinHoldMs: number;
  /** Score (0-1) from which a sender is monitored. */
  readonly monitorScore: number;
  /** Score (0-1) from which spread or outcome evidence without volume throttles (when it does not block). */
  readonly throttleScore: number;
  /** Score (0-1) a behavioural BLOCK needs. */
  readonly blockScore: number;
  /** Rate changes smaller than this share of the rate in force are not published. */
  readonly materialRateChange: number;
  /** Registrable domains whose links BLOCK a sender (lower case). */
  readonly denyListedDomains: ReadonlySet<string>;
  readonly profiles: Readonly<Record<ProfileName, Profile>>;
}

const VARIABLE = 'SPAMGATE_POLICY_FILE';

/** A policy document that cannot be used; lists every problem. */
export function policyError(source: string, problems: readonly string[], variable = VARIABLE): ConfigError {
  return new ConfigError(
    problems.map((p) => ({ variable, value: source, expected: `a valid policy: ${p}` })),
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const WINDOW = /^[1-9][0-9]{0,4}(s|m|h|d)$/;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$/;

function featureRef(raw: unknown, at: string, problems: string[]): FeatureRef | undefined {
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
  if ((SENDER_FEATURES as readonly string[]).includes(raw))
    return { source: 'sender', name: raw as SenderFeatureName };
  problems.push(
    `${at}: unknown feature "${raw}" (a sender feature of docs/features.md, or cluster.<name> of ClusterFeatures)`,
  );
  return undefined;
}

function finite(raw: unknown, at: string, problems: string[], min = 0, max = 1e12): number | undefined {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min || raw > max) {
    problems.push(`${at} must be a number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
    return undefined;
  }
  return raw;
}

function comparison(raw: unknown, at: string, problems: string[]): Comparison | undefined {
  if (raw === '>=' || raw === '<=') return raw;
  problems.push(`${at}: "op" must be ">=" or "<=", not ${JSON.stringify(raw)}`);
  return undefined;
}

function window(raw: unknown, at: string, problems: string[]): string | undefined {
  if (typeof raw === 'string' && WINDOW.test(raw)) return raw;
  problems.push(`${at}: "window" must name a window like 1m, 10m, 1h, 24h, not ${JSON.stringify(raw)}`);
  return undefined;
}

function unknownKeys(o: Record<string, unknown>, allowed: readonly string[], at: string, problems: string[]) {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${at}: unknown field "${k}"`);
}

function parseCondition(raw: unknown, at: string, problems: string[]): Condition | undefined {
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

function parseRule(raw: unknown, at: string, hysteresis: number, problems: string[]): Rule | undefined {
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
  if (cls === 'hard' && feature && !(feature.source === 'sender' && HARD_FEATURES.has(feature.name)))
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
  if (raw.decisive !== undefined && typeof raw.decisive !== 'boolean')
    problems.push(`${at}: "decisive" must be true or false`);
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
  };
}

function duration(raw: unknown, at: string, problems: string[], minMs: number): number | undefined {
  const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined || ms < minMs) {
    problems.push(
      `"${at}" must be a duration like 24h or 10m, at least ${minMs} ms, not ${JSON.stringify(raw)}`,
    );
    return undefined;
  }
  return ms;
}

/** Checks a parsed policy document; every problem is listed in one ConfigError. */
export function parsePolicy(doc: unknown, source: string, variable = VARIABLE): Policy {
  const problems: string[] = [];
  if (!isObject(doc)) throw policyError(source, ['a JSON object at the top'], variable);
  unknownKeys(
    doc,
    [
      '$comment',
      'version',
      'blockTtl',
      'throttleMinHold',
      'hysteresis',
      'monitorScore',
      'throttleScore',
      'blockScore',
      'materialRateChange',
      'denyListedDomains',
      'profiles',
    ],
    'policy',
    problems,
  );
  const version = doc.version;
  if (typeof version !== 'string' || !/^[A-Za-z0-9._:+-]{1,100}$/.test(version))
    problems.push('"version" must be 1-100 characters from A-Z a-z 0-9 . _ : + -');
  const blockTtlMs = duration(doc.blockTtl ?? '24h', 'blockTtl', problems, 60_000);
  const throttleMinHoldMs = duration(doc.throttleMinHold ?? '10m', 'throttleMinHold', problems, 0);
  const hysteresis = finite(doc.hysteresis ?? 0.8, '"hysteresis"', problems, 0.01, 1) ?? 0.8;
  const monitorScore = finite(doc.monitorScore ?? 0.3, '"monitorScore"', problems, 0, 1);
  const blockScore = finite(doc.blockScore ?? 0.8, '"blockScore"', problems, 0, 1);
  // Without it, behavioural evidence throttles from the BLOCK score (the first policies' rule).
  const throttleScore = finite(doc.throttleScore ?? blockScore ?? 0.8, '"throttleScore"', problems, 0, 1);
  if (monitorScore !== undefined && blockScore !== undefined && monitorScore > blockScore)
    problems.push('"monitorScore" must not exceed "blockScore"');
  if (throttleScore !== undefined && blockScore !== undefined && monitorScore !== undefined)
    if (throttleScore < monitorScore || throttleScore > blockScore)
      problems.push('"throttleScore" must lie between "monitorScore" and "blockScore"');
  const materialRateChange = finite(doc.materialRateChange ?? 0.2, '"materialRateChange"', problems, 0, 10);
  const denyListedDomains = new Set<string>();
  if (doc.denyListedDomains !== undefined && !Array.isArray(doc.denyListedDomains))
    problems.push('"denyListedDomains" must be an array of registrable domains');
  else
    for (const d of (doc.denyListedDomains as unknown[] | undefined) ?? []) {
      if (typeof d !== 'string' || !DOMAIN.test(d.toLowerCase()))
        problems.push(`"denyListedDomains": ${JSON.stringify(d)} is not a domain name`);
      else denyListedDomains.add(d.toLowerCase());
    }
  const profiles: Partial<Record<ProfileName, Profile>> = {};
  if (!isObject(doc.profiles)) problems.push(`"profiles" must be an object with ${PROFILE_NAMES.join(', ')}`);
  else {
    unknownKeys(doc.profiles, PROFILE_NAMES, 'profiles', problems);
    for (const name of PROFILE_NAMES) {
      const raw = doc.profiles[name];
      const at = `profiles.${name}`;
      if (!isObject(raw)) {
        problems.push(`${at} is missing (every sender falls in one of ${PROFILE_NAMES.join(', ')})`);
        continue;
      }
      unknownKeys(raw, ['throttleRatePerMinute', 'behaviouralBlock', 'rules', '$comment'], at, problems);
      const rate = finite(raw.throttleRatePerMinute, `${at}.throttleRatePerMinute`, problems, 1, 1_000_000);
      if (rate !== undefined && !Number.isInteger(rate))
        problems.push(`${at}.throttleRatePerMinute must be an integer`);
      if (typeof raw.behaviouralBlock !== 'boolean')
        problems.push(`${at}.behaviouralBlock must be true or false`);
      const rules: Rule[] = [];
      if (!Array.isArray(raw.rules)) problems.push(`${at}.rules must be an array`);
      else {
        const codes = new Set<string>();
        raw.rules.forEach((r, i) => {
          const rule = parseRule(r, `${at}.rules[${i}]`, hysteresis, problems);
          if (!rule) return;
          if (codes.has(rule.code)) problems.push(`${at}.rules[${i}]: code ${rule.code} is used twice`);
          codes.add(rule.code);
          rules.push(rule);
        });
      }
      profiles[name] = {
        throttleRatePerMinute: rate ?? 1,
        behaviouralBlock: raw.behaviouralBlock === true,
        rules,
      };
    }
  }
  if (problems.length > 0) throw policyError(source, problems, variable);
  return {
    version: version as string,
    blockTtlMs: blockTtlMs!,
    throttleMinHoldMs: throttleMinHoldMs!,
    monitorScore: monitorScore!,
    throttleScore: throttleScore!,
    blockScore: blockScore!,
    materialRateChange: materialRateChange!,
    denyListedDomains,
    profiles: profiles as Record<ProfileName, Profile>,
  };
}

/** Reads and checks a policy file. */
export function loadPolicy(path: string, variable = VARIABLE): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw policyError(path, [`a readable file (${(err as Error).message})`], variable);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw policyError(path, [`JSON (${(err as Error).message})`], variable);
  }
  return parsePolicy(doc, path, variable);
}

/** The profile whose thresholds apply to a sender. */
export function profileOf(senderKind: string, campaignId: string | null): ProfileName {
  switch (senderKind) {
    case 'LONG_CODE':
      return campaignId ? 'registered' : 'consumer';
    case 'TOLL_FREE':
      return 'tollFree';
    case 'SHORT_CODE':
      return 'shortCode';
    default:
      return campaignId ? 'registered' : 'other';
  }
}
