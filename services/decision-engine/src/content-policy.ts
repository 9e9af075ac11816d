/**
 * The policy's `content` section: when a content cluster (one template across senders) is
 * confirmed abusive and every message of it is BLOCKed at the firewall, whoever sends it. Rules
 * read cluster features only; a BLOCK needs a fired rule from every group of `blockRequires`
 * (for example spread across numbers AND recipients who complain rather than answer). A cluster
 * sent mostly under registered campaigns is never content-blocked for that: it is reviewed
 * instead. A fired `hard` rule (messages after STOP across the template) blocks any cluster.
 * docs/policy.md, "Content decisions".
 */
import {
  DOMAIN,
  duration,
  finite,
  HARD_CLUSTER_FEATURES,
  isObject,
  parseRule,
  type Rule,
  unknownKeys,
} from './policy-rules.ts';

export interface ContentPolicy {
  /** A content BLOCK lapses this long after the evidence it rests on, unless re-issued. */
  readonly blockTtlMs: number;
  readonly rules: readonly Rule[];
  /** Groups of rule codes: a BLOCK needs at least one fired rule of every group. */
  readonly blockRequires: readonly (readonly string[])[];
  /**
   * The same for the review (MONITOR) of a cluster sent mostly under registered campaigns, which
   * throttles its senders; default blockRequires. A vetted sender's campaign may ask for more.
   */
  readonly reviewRequires: readonly (readonly string[])[];
  /**
   * Share of a cluster's messages (1 h) sent under registered campaigns above which it is never
   * content-blocked: it gets MONITOR (an operator reviews it) and its registered senders a THROTTLE.
   */
  readonly maxRegisteredShare: number;
  /** Domains never used as match keys (public link shorteners, hosting unrelated senders share), lower case. */
  readonly sharedDomains: ReadonlySet<string>;
  /** A registered sender of a reviewed cluster is throttled to this share of its own recent pace. */
  readonly reviewPaceShare: number;
}

/** Checks the `content` section; problems go to `problems` (prefixed "content"). */
export function parseContentPolicy(
  raw: unknown,
  hysteresis: number,
  problems: string[],
): ContentPolicy | null {
  if (raw === undefined) return null;
  if (!isObject(raw)) {
    problems.push('"content" must be an object');
    return null;
  }
  unknownKeys(
    raw,
    [
      '$comment',
      'blockTtl',
      'rules',
      'blockRequires',
      'reviewRequires',
      'maxRegisteredShare',
      'sharedDomains',
      'reviewPaceShare',
    ],
    'content',
    problems,
  );
  const blockTtlMs = duration(raw.blockTtl ?? '24h', 'content.blockTtl', problems, 60_000);
  const rules: Rule[] = [];
  if (!Array.isArray(raw.rules)) problems.push('content.rules must be an array');
  else
    raw.rules.forEach((r, i) => {
      const at = `content.rules[${i}]`;
      const rule = parseRule(r, at, hysteresis, problems, true);
      if (!rule) return;
      if (rule.class === 'volume') problems.push(`${at}: a content rule is not volume evidence`);
      if (
        rule.class === 'hard' &&
        ((rule.feature.source !== 'cluster' && rule.feature.source !== 'crew') ||
          !HARD_CLUSTER_FEATURES.has(rule.feature.name))
      )
        problems.push(
          `${at}: a hard content rule may only read ${[...HARD_CLUSTER_FEATURES].map((f) => `cluster.${f} or crew.${f}`).join(' or ')} (messages after STOP, the content-neutral violation)`,
        );
      if ([rule.feature, ...rule.when.map((c) => c.feature)].some((f) => f.source === 'sender'))
        problems.push(
          `${at}: a content rule reads cluster and group features only (cluster.<name>, domain.<name>, crew.<name>)`,
        );
      if (rule.throttle)
        problems.push(`${at}: a content rule cannot throttle (content decisions BLOCK or review)`);
      if (rules.some((x) => x.code === rule.code)) problems.push(`${at}: code ${rule.code} is used twice`);
      rules.push(rule);
    });
  const groupsOf = (field: 'blockRequires' | 'reviewRequires'): string[][] => {
    const raw2 = raw[field];
    const groups: string[][] = [];
    if (!Array.isArray(raw2) || raw2.length === 0) {
      problems.push(`content.${field} must be a non-empty array of groups of rule codes`);
      return groups;
    }
    raw2.forEach((g, i) => {
      if (!Array.isArray(g) || g.length === 0 || !g.every((c) => typeof c === 'string')) {
        problems.push(`content.${field}[${i}] must be a non-empty array of rule codes`);
        return;
      }
      for (const code of g as string[])
        if (!rules.some((r) => r.code === code))
          problems.push(`content.${field}[${i}]: no content rule has code ${code}`);
      groups.push(g as string[]);
    });
    return groups;
  };
  const groups = groupsOf('blockRequires');
  const reviewGroups = raw.reviewRequires === undefined ? groups : groupsOf('reviewRequires');
  const maxRegisteredShare = finite(
    raw.maxRegisteredShare ?? 0.2,
    'content.maxRegisteredShare',
    problems,
    0,
    1,
  );
  const reviewPaceShare = finite(raw.reviewPaceShare ?? 0.5, 'content.reviewPaceShare', problems, 0.01, 0.99);
  const sharedDomains = new Set<string>();
  if (raw.sharedDomains !== undefined && !Array.isArray(raw.sharedDomains))
    problems.push('content.sharedDomains must be an array of registrable domains');
  else
    for (const d of (raw.sharedDomains as unknown[] | undefined) ?? []) {
      if (typeof d !== 'string' || !DOMAIN.test(d.toLowerCase()))
        problems.push(`content.sharedDomains: ${JSON.stringify(d)} is not a domain name`);
      else sharedDomains.add(d.toLowerCase());
    }
  return {
    blockTtlMs: blockTtlMs ?? 86_400_000,
    rules,
    blockRequires: groups,
    reviewRequires: reviewGroups,
    maxRegisteredShare: maxRegisteredShare ?? 0.2,
    sharedDomains,
    reviewPaceShare: reviewPaceShare ?? 0.5,
  };
}
