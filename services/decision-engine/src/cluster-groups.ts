/**
 * Content clusters judged together, each of which alone stays too small for the content rules:
 * the templates that link to one site (a kit rotating pretexts to its phishing page) and the
 * templates that the same numbers send (a SIM box pushing several promotions). Every instance
 * indexes its cluster table both ways; content rules read a group as `domain.<name>` or
 * `crew.<name>`. ARCHITECTURE.md, "The decision engine"; docs/policy.md, "Cluster groups".
 */
import type { ClusterFeatures, ClusterWindowFeatures } from '@spamgate/schemas';
import { clusterValue } from './evaluate.ts';
import type { ClusterFeatureName, GroupFeatureName } from './policy-rules.ts';

/** One window of a group: the sums over its clusters, and how many clusters. */
export interface GroupWindow extends ClusterWindowFeatures {
  readonly templates: number;
}

export interface ClusterGroup {
  /** The domain of a domain group; the judged cluster's id for its crew group. */
  readonly key: string;
  /** Per window name, over the clusters whose window of that name belongs to the group. */
  readonly windows: readonly GroupWindow[];
}

export interface GroupIndex {
  /** The newest features of a cluster (replacing what it linked to and who sent it before). */
  put(c: ClusterFeatures): void;
  delete(clusterId: string): void;
  /**
   * The clusters linking to `domain` at event time `at`, or undefined when none does. A window of
   * a cluster counts while it reaches `at`: a cluster quiet for longer than the window, whose last
   * record still shows what it once sent, does not.
   */
  domain(domain: string, at: number): ClusterGroup | undefined;
  /** The clusters that the numbers sending `c` send too (crewGroupOf), at `at`; c included. */
  crew(c: ClusterFeatures, at: number): ClusterGroup | undefined;
  readonly domains: number;
}

/**
 * Most clusters one group sums, newest first by asOf: a domain or crew with many templates is
 * judged on its most recent ones, and a group costs bounded time to build.
 */
export const MAX_GROUP_TEMPLATES = 256;

/**
 * Values two windows' sender samples (each the 8 smallest keyed fingerprints of its senders)
 * share when the same numbers send both: half. Two sets' bottom-k samples share values in
 * proportion to how much the sets overlap; unrelated numbers share none.
 */
export const CREW_SHARED_SAMPLE = 4;

function domainsOf(c: ClusterFeatures): Set<string> {
  const out = new Set<string>();
  for (const w of c.windows) for (const d of w.urlDomains) out.add(d.toLowerCase());
  return out;
}

interface Sum {
  windowMs: number;
  templates: number;
  messages: number;
  distinctSenders: number;
  distinctRecipients: number;
  optOuts: number;
  spamReports: number;
  registered: number;
  sequential: number;
  campaignIds: Set<string>;
  distinctCampaigns: number;
  topSenderShare: number;
  replies: number;
  deliveryFailures: number;
  postOptOutSends: number;
  sendingForMs: number;
  optOutIgnoringSenders: number;
  optedOutSenders: number;
  optOutIgnoredSenders: number;
}

function emptySum(windowMs: number): Sum {
  return {
    windowMs,
    templates: 0,
    messages: 0,
    distinctSenders: 0,
    distinctRecipients: 0,
    optOuts: 0,
    spamReports: 0,
    registered: 0,
    sequential: 0,
    campaignIds: new Set(),
    distinctCampaigns: 0,
    topSenderShare: 0,
    replies: 0,
    deliveryFailures: 0,
    postOptOutSends: 0,
    sendingForMs: 0,
    optOutIgnoringSenders: 0,
    optedOutSenders: 0,
    optOutIgnoredSenders: 0,
  };
}

function add(s: Sum, w: ClusterWindowFeatures): void {
  s.templates++;
  s.messages += w.messages;
  s.distinctSenders += w.distinctSenders;
  s.distinctRecipients += w.distinctRecipients;
  s.optOuts += w.optOuts;
  s.spamReports += w.spamReports;
  s.registered += w.registeredShare * w.messages;
  s.sequential += w.sequentialShare * w.messages;
  for (const id of w.campaignIds) s.campaignIds.add(id);
  s.distinctCampaigns += w.distinctCampaigns;
  s.topSenderShare = Math.max(s.topSenderShare, w.topSenderShare);
  s.replies += w.replies;
  s.deliveryFailures += w.deliveryFailures;
  s.postOptOutSends += w.postOptOutSends;
  s.sendingForMs = Math.max(s.sendingForMs, w.sendingForMs);
  s.optOutIgnoringSenders += w.optOutIgnoringSenders;
  s.optedOutSenders += w.optedOutSenders;
  s.optOutIgnoredSenders += w.optOutIgnoredSenders;
}

const ratio = (n: number, d: number) => (d > 0 ? n / d : 0);

function toWindow(name: string, domains: readonly string[], s: Sum): GroupWindow {
  return {
    window: name,
    windowMs: s.windowMs,
    templates: s.templates,
    messages: s.messages,
    distinctSenders: s.distinctSenders,
    distinctRecipients: s.distinctRecipients,
    optOuts: s.optOuts,
    spamReports: s.spamReports,
    optOutRate: ratio(s.optOuts, s.distinctRecipients),
    registeredShare: ratio(s.registered, s.messages),
    campaignIds: [...s.campaignIds].sort(),
    distinctCampaigns: s.distinctCampaigns,
    topSenderShare: s.topSenderShare,
    urlDomains: [...domains],
    distinctUrlDomains: domains.length,
    replies: s.replies,
    deliveryFailures: s.deliveryFailures,
    sequentialShare: ratio(s.sequential, s.messages),
    callbackNumbers: [],
    postOptOutSends: s.postOptOutSends,
    sendingForMs: s.sendingForMs,
    optOutIgnoringSenders: s.optOutIgnoringSenders,
    optedOutSenders: s.optedOutSenders,
    optOutIgnoredSenders: s.optOutIgnoredSenders,
    senderSample: [],
    senderBlockSample: [],
  };
}

/** Sums the windows `pick` chooses of the members that still reach `at`, per window name. */
function sumGroup(
  key: string,
  members: Iterable<ClusterFeatures>,
  at: number,
  pick: (w: ClusterWindowFeatures) => boolean,
  domains: readonly string[],
): ClusterGroup | undefined {
  const sums = new Map<string, Sum>();
  for (const c of members)
    for (const w of c.windows) {
      if (c.asOf <= at - w.windowMs || !pick(w)) continue;
      let s = sums.get(w.window);
      if (!s) {
        s = emptySum(w.windowMs);
        sums.set(w.window, s);
      }
      add(s, w);
    }
  if (sums.size === 0) return undefined;
  return { key, windows: [...sums].map(([name, s]) => toWindow(name, domains, s)) };
}

/**
 * The group of `domain` at `at` over the given clusters, each counted in the windows that link to
 * it and still reach `at`.
 */
export function domainGroupOf(
  domain: string,
  members: Iterable<ClusterFeatures>,
  at: number,
): ClusterGroup | undefined {
  return sumGroup(domain, members, at, (w) => w.urlDomains.some((d) => d.toLowerCase() === domain), [domain]);
}

const shared = (a: readonly number[], b: readonly number[]): number => {
  let n = 0;
  for (const x of a) if (b.includes(x)) n++;
  return n;
};

/** Whether `theirs` shares at least CREW_SHARED_SAMPLE values with `mine` (which has that many). */
const sameCrew = (mine: readonly number[] | undefined, theirs: readonly number[]): boolean =>
  mine !== undefined && mine.length >= CREW_SHARED_SAMPLE && shared(mine, theirs) >= CREW_SHARED_SAMPLE;

/**
 * The crew group of `c` at `at`: per window, the members whose window of that name shares at
 * least CREW_SHARED_SAMPLE sender sample values with c's, or as many sender block sample values
 * (sent from the same blocks of consecutive numbers, a SIM box's, before its numbers have each
 * sent several templates); c itself included. A window whose samples are shorter (fewer senders
 * or blocks, or too many to sample) has no crew.
 */
export function crewGroupOf(
  c: ClusterFeatures,
  members: Iterable<ClusterFeatures>,
  at: number,
): ClusterGroup | undefined {
  const senders = new Map(c.windows.map((w) => [w.window, w.senderSample]));
  const blocks = new Map(c.windows.map((w) => [w.window, w.senderBlockSample]));
  return sumGroup(
    c.clusterId,
    members,
    at,
    (w) =>
      sameCrew(senders.get(w.window), w.senderSample) || sameCrew(blocks.get(w.window), w.senderBlockSample),
    [],
  );
}

/** The newest MAX_GROUP_TEMPLATES of the clusters with the given ids that the table holds. */
function newest(ids: Iterable<string>, cluster: (clusterId: string) => ClusterFeatures | undefined) {
  const members: ClusterFeatures[] = [];
  for (const id of ids) {
    const c = cluster(id);
    if (c) members.push(c);
  }
  if (members.length > MAX_GROUP_TEMPLATES) {
    members.sort((a, b) => b.asOf - a.asOf);
    members.length = MAX_GROUP_TEMPLATES;
  }
  return members;
}

/** A many-to-many index: key -> the clusters holding it, and back. */
function createLinks<K>() {
  const byKey = new Map<K, Set<string>>();
  const keysOf = new Map<string, Set<K>>();
  return {
    byKey,
    unlink(clusterId: string): void {
      for (const k of keysOf.get(clusterId) ?? []) {
        const set = byKey.get(k);
        set?.delete(clusterId);
        if (set?.size === 0) byKey.delete(k);
      }
      keysOf.delete(clusterId);
    },
    link(clusterId: string, keys: Set<K>): void {
      if (keys.size === 0) return;
      keysOf.set(clusterId, keys);
      for (const k of keys) {
        let set = byKey.get(k);
        if (!set) {
          set = new Set();
          byKey.set(k, set);
        }
        set.add(clusterId);
      }
    },
  };
}

/** The index of an instance's cluster table: domain -> the clusters linking to it, sender sample value -> the clusters sampling it. */
export function createGroupIndex(cluster: (clusterId: string) => ClusterFeatures | undefined): GroupIndex {
  const domains = createLinks<string>();
  const samples = createLinks<number>();
  return {
    put(c) {
      domains.unlink(c.clusterId);
      samples.unlink(c.clusterId);
      domains.link(c.clusterId, domainsOf(c));
      samples.link(
        c.clusterId,
        new Set(c.windows.flatMap((w) => [...w.senderSample, ...w.senderBlockSample])),
      );
    },
    delete(clusterId) {
      domains.unlink(clusterId);
      samples.unlink(clusterId);
    },
    domain(domain, at) {
      const ids = domains.byKey.get(domain);
      return ids ? domainGroupOf(domain, newest(ids, cluster), at) : undefined;
    },
    crew(c, at) {
      const ids = new Set<string>([c.clusterId]);
      for (const w of c.windows)
        for (const v of [...w.senderSample, ...w.senderBlockSample])
          for (const id of samples.byKey.get(v) ?? []) ids.add(id);
      const members = newest(ids, (id) => (id === c.clusterId ? c : cluster(id)));
      return crewGroupOf(c, members, at);
    },
    get domains() {
      return domains.byKey.size;
    },
  };
}

/** A group feature of one window, as content rules read it (`domain.<name>`, `crew.<name>`). */
export function groupValue(w: GroupWindow | undefined, name: GroupFeatureName): number | undefined {
  if (w === undefined) return undefined;
  if (name === 'templates') return w.templates;
  if (name === 'sendersPerTemplate') return ratio(w.distinctSenders, w.templates);
  return clusterValue(w, name as ClusterFeatureName);
}
