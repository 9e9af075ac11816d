/**
 * Registered throughput: 10DLC campaigns (and their like) are allowed a rate by the carrier,
 * per minute by vetting class at one carrier, per day by brand trust score at another. The
 * numbers differ between carriers and change, so they are a file, not code: tiers with caps,
 * campaigns assigned to tiers, and the tier assumed for a campaign id the file does not list.
 *
 * The feature engine compares each sender's traffic in each window with the most its campaign's
 * tier allows in that window (registeredCapShare). It meters one sender number; carriers meter
 * a campaign across all its numbers, which needs the cross-sender stage of the pipeline.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@spamgate/core';

export interface ThroughputCap {
  /** Most messages in any minute; undefined when the tier has no per-minute cap. */
  readonly perMinute?: number;
  /** Most messages in any day; undefined when the tier has no daily cap. */
  readonly perDay?: number;
}

export interface Registrations {
  /** Identifies the file's content in logs (e.g. a date or a revision). */
  readonly version: string;
  readonly tiers: ReadonlyMap<string, ThroughputCap>;
  /** Campaign id -> tier name. */
  readonly campaigns: ReadonlyMap<string, string>;
  /** Tier of a campaign id not listed; undefined to leave such campaigns unmetered. */
  readonly unlistedTier: string | undefined;
}

export const NO_REGISTRATIONS: Registrations = Object.freeze({
  version: 'none',
  tiers: new Map(),
  campaigns: new Map(),
  unlistedTier: undefined,
});

const MINUTE_MS = 60_000;

/** The variable that names the file, in every ConfigError about it. */
const VARIABLE = 'SPAMGATE_REGISTRATIONS_FILE';

function invalid(source: string, problems: readonly string[]): ConfigError {
  return new ConfigError(
    problems.map((p) => ({
      variable: VARIABLE,
      value: source,
      expected: `a valid registrations file: ${p}`,
    })),
  );
}
const DAY_MS = 86_400_000;

/** Checks a parsed registrations document; every problem is listed in one ConfigError. */
export function parseRegistrations(doc: unknown, source: string): Registrations {
  const problems: string[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc)) throw invalid(source, ['a JSON object at the top']);
  const version = doc.version;
  if (typeof version !== 'string' || version.length === 0 || version.length > 100)
    problems.push('"version" must be a non-empty string of at most 100 characters');
  const tiers = new Map<string, ThroughputCap>();
  if (!isObject(doc.tiers)) problems.push('"tiers" must be an object of tier name -> { perMinute, perDay }');
  else
    for (const [name, cap] of Object.entries(doc.tiers)) {
      if (!isObject(cap)) {
        problems.push(`tier "${name}" must be an object`);
        continue;
      }
      const out: { perMinute?: number; perDay?: number } = {};
      for (const key of Object.keys(cap))
        if (key !== 'perMinute' && key !== 'perDay') problems.push(`tier "${name}": unknown field "${key}"`);
      for (const key of ['perMinute', 'perDay'] as const) {
        const v = cap[key];
        if (v === undefined) continue;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
          problems.push(`tier "${name}": ${key} must be a positive integer, not ${JSON.stringify(v)}`);
        else out[key] = v;
      }
      if (out.perMinute === undefined && out.perDay === undefined)
        problems.push(`tier "${name}" has neither perMinute nor perDay`);
      tiers.set(name, out);
    }
  const campaigns = new Map<string, string>();
  if (doc.campaigns !== undefined && !isObject(doc.campaigns))
    problems.push('"campaigns" must be an object of campaign id -> tier name');
  else
    for (const [id, tier] of Object.entries(doc.campaigns ?? {})) {
      if (typeof tier !== 'string' || !tiers.has(tier))
        problems.push(`campaign "${id}": tier ${JSON.stringify(tier)} is not one of the tiers`);
      else campaigns.set(id, tier);
    }
  const unlisted = doc.unlistedCampaignTier;
  if (unlisted !== undefined && (typeof unlisted !== 'string' || !tiers.has(unlisted)))
    problems.push(`"unlistedCampaignTier" ${JSON.stringify(unlisted)} is not one of the tiers`);
  for (const key of Object.keys(doc))
    if (!['version', 'tiers', 'campaigns', 'unlistedCampaignTier', '$comment'].includes(key))
      problems.push(`unknown field "${key}"`);
  if (problems.length > 0) throw invalid(source, problems);
  return {
    version: version as string,
    tiers,
    campaigns,
    unlistedTier: typeof unlisted === 'string' ? unlisted : undefined,
  };
}

export function loadRegistrations(path: string): Registrations {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(path, [`a readable file (${(err as Error).message})`]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(path, [`JSON (${(err as Error).message})`]);
  }
  return parseRegistrations(doc, path);
}

/** The cap of a campaign's tier; undefined for no campaign or an unmetered one. */
export function capOf(reg: Registrations, campaignId: string | null): ThroughputCap | undefined {
  if (campaignId === null) return undefined;
  const tier = reg.campaigns.get(campaignId) ?? reg.unlistedTier;
  return tier === undefined ? undefined : reg.tiers.get(tier);
}

/**
 * Most messages a cap allows within a window of `windowMs`: the per-minute cap times the
 * window's minutes (at least one), and never more than the daily cap times its days (at least one).
 */
export function allowedInWindow(cap: ThroughputCap, windowMs: number): number {
  let allowed = Number.POSITIVE_INFINITY;
  if (cap.perMinute !== undefined) allowed = cap.perMinute * Math.max(1, windowMs / MINUTE_MS);
  if (cap.perDay !== undefined) allowed = Math.min(allowed, cap.perDay * Math.max(1, windowMs / DAY_MS));
  return allowed;
}

/** The registrations file a service reads: the configured one, or the example in the repository. */
export function registrationsPath(config: { readonly registrationsFile: string }): string {
  return (
    config.registrationsFile ||
    fileURLToPath(new URL('../../infra/config/registrations.json', import.meta.url))
  );
}
