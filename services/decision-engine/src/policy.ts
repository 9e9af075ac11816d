/**
 * The policy: a versioned JSON document of rules over features, thresholds per sender profile,
 * content decisions, and how evidence becomes an action. Values are configuration (carriers tune
 * them); the principles are code, so no policy file can break them:
 *
 * - hard BLOCK only on content-neutral evidence: `hard` rules may only look at postOptOutSends;
 *   the deny-listed URL domains, the Do-Not-Originate list and operator blocks are built in;
 * - volume alone only throttles: `volume` rules can never produce a BLOCK (evaluate.ts);
 * - a behavioural BLOCK needs a decisive `outcome` rule together with a `volume` or `spread`
 *   rule, and a profile that allows it (registered senders are throttled at their cap instead);
 * - rules read only features, which carry no message text. There is no way to write a rule
 *   about what a message says. docs/policy.md explains the format.
 *
 * `parsePolicy` lists every problem of a document in one ConfigError; an invalid policy never
 * replaces a valid one (the engine keeps the policy it has).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '@spamgate/core';
import { type ContentPolicy, parseContentPolicy } from './content-policy.ts';
import { DOMAIN, duration, finite, isObject, parseRule, type Rule, unknownKeys } from './policy-rules.ts';

export type { ContentPolicy } from './content-policy.ts';
export * from './policy-rules.ts';

/** Which messages a THROTTLE counts and stops (Decision.throttleScope). */
export type ThrottleScope = 'ALL_RECIPIENTS' | 'NEW_CONTACTS';

export type ProfileName = 'consumer' | 'registered' | 'tollFree' | 'shortCode' | 'other';
export const PROFILE_NAMES: readonly ProfileName[] = [
  'consumer',
  'registered',
  'tollFree',
  'shortCode',
  'other',
];

export interface Profile {
  /** Per-minute limit of a THROTTLE that no fired rule limits further and no registered cap sets. */
  readonly throttleRatePerMinute: number;
  /**
   * Which messages a THROTTLE of this profile counts and stops: NEW_CONTACTS (messages to people
   * who messaged the sender always pass: a person's conversations are never rate-limited) or
   * ALL_RECIPIENTS (a registered cap is on all of a campaign's traffic).
   */
  readonly throttleScope: ThrottleScope;
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
  /** Score (0-1) a behavioural BLOCK needs. */
  readonly blockScore: number;
  /** Rate changes smaller than this share of the rate in force are not published. */
  readonly materialRateChange: number;
  /** Registrable domains whose links BLOCK a sender (lower case). */
  readonly denyListedDomains: ReadonlySet<string>;
  readonly profiles: Readonly<Record<ProfileName, Profile>>;
  /** Content decisions (content-policy.ts); null: the policy makes none. */
  readonly content: ContentPolicy | null;
}

const VARIABLE = 'SPAMGATE_POLICY_FILE';

/** A policy document that cannot be used; lists every problem. */
export function policyError(source: string, problems: readonly string[], variable = VARIABLE): ConfigError {
  return new ConfigError(
    problems.map((p) => ({ variable, value: source, expected: `a valid policy: ${p}` })),
  );
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
      'blockScore',
      'materialRateChange',
      'denyListedDomains',
      'profiles',
      'content',
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
  if (monitorScore !== undefined && blockScore !== undefined && monitorScore > blockScore)
    problems.push('"monitorScore" must not exceed "blockScore"');
  if (doc.throttleScore !== undefined)
    problems.push(
      '"throttleScore" is gone (policy 2026-12-06): a THROTTLE now needs volume, or a fired rule whose "throttle" sets the limits its evidence justifies',
    );
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
      unknownKeys(
        raw,
        ['throttleRatePerMinute', 'throttleScope', 'behaviouralBlock', 'rules', '$comment'],
        at,
        problems,
      );
      const scope =
        raw.throttleScope ??
        (name === 'registered' || name === 'shortCode' ? 'ALL_RECIPIENTS' : 'NEW_CONTACTS');
      if (scope !== 'ALL_RECIPIENTS' && scope !== 'NEW_CONTACTS')
        problems.push(
          `${at}.throttleScope must be ALL_RECIPIENTS or NEW_CONTACTS, not ${JSON.stringify(scope)}`,
        );
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
        throttleScope: scope === 'ALL_RECIPIENTS' ? 'ALL_RECIPIENTS' : 'NEW_CONTACTS',
        behaviouralBlock: raw.behaviouralBlock === true,
        rules,
      };
    }
  }
  const content = parseContentPolicy(doc.content, hysteresis, problems);
  if (problems.length > 0) throw policyError(source, problems, variable);
  return {
    version: version as string,
    blockTtlMs: blockTtlMs!,
    throttleMinHoldMs: throttleMinHoldMs!,
    monitorScore: monitorScore!,
    blockScore: blockScore!,
    materialRateChange: materialRateChange!,
    denyListedDomains,
    profiles: profiles as Record<ProfileName, Profile>,
    content,
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
