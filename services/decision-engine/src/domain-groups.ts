/**
 * Content clusters grouped by the link domain they share, so that a crew rotating many pretexts
 * to one site is judged as one campaign: each template alone stays too small for the content
 * rules, the domain's group does not. Every instance holds the group index beside its cluster
 * table; content rules read a group as `domain.<name>`. ARCHITECTURE.md, "The decision engine";
 * docs/policy.md, "Domain groups".
 */
import type { ClusterFeatures, ClusterWindowFeatures } from '@spamgate/schemas';
import { clusterValue } from './evaluate.ts';
import type { ClusterFeatureName, DomainFeatureName } from './policy-rules.ts';

/** One window of a domain's group: the sums over its clusters, and how many clusters. */
export interface DomainWindow extends ClusterWindowFeatures {
  readonly templates: number;
}

export interface DomainGroup {
  readonly domain: string;
  /** Per window name, over the clusters whose window of that name links to the domain. */
  readonly windows: readonly DomainWindow[];
}

export interface DomainIndex {
  /** The newest features of a cluster (replacing what it linked to before). */
  put(c: ClusterFeatures): void;
  delete(clusterId: string): void;
  /**
   * The group of a domain at event time `at`, or undefined when no cluster links to it. A window
   * of a cluster counts while it reaches `at`: a cluster quiet for longer than the window, whose
   * last record still shows what it once sent, does not.
   */
  group(domain: string, at: number): DomainGroup | undefined;
  readonly domains: number;
}

/**
 * Most clusters one group sums, newest first by asOf: a domain that many templates link to is
 * judged on its most recent ones, and a group costs bounded time to build.
 */
export const MAX_GROUP_TEMPLATES = 256;

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
}

const ratio = (n: number, d: number) => (d > 0 ? n / d : 0);

function toWindow(name: string, domain: string, s: Sum): DomainWindow {
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
    urlDomains: [domain],
    distinctUrlDomains: 1,
    replies: s.replies,
    deliveryFailures: s.deliveryFailures,
    sequentialShare: ratio(s.sequential, s.messages),
    callbackNumbers: [],
    postOptOutSends: s.postOptOutSends,
    sendingForMs: s.sendingForMs,
    optOutIgnoringSenders: s.optOutIgnoringSenders,
  };
}

/**
 * The group of `domain` at `at` over the given clusters, each counted in the windows that link to
 * it and still reach `at`.
 */
export function groupOf(
  domain: string,
  members: Iterable<ClusterFeatures>,
  at: number,
): DomainGroup | undefined {
  const sums = new Map<string, Sum>();
  for (const c of members)
    for (const w of c.windows) {
      if (c.asOf <= at - w.windowMs) continue;
      if (!w.urlDomains.some((d) => d.toLowerCase() === domain)) continue;
      let s = sums.get(w.window);
      if (!s) {
        s = emptySum(w.windowMs);
        sums.set(w.window, s);
      }
      add(s, w);
    }
  if (sums.size === 0) return undefined;
  return { domain, windows: [...sums].map(([name, s]) => toWindow(name, domain, s)) };
}

/** The index of an instance's cluster table: domain -> the clusters linking to it. */
export function createDomainIndex(cluster: (clusterId: string) => ClusterFeatures | undefined): DomainIndex {
  const byDomain = new Map<string, Set<string>>();
  const linked = new Map<string, Set<string>>();

  function unlink(clusterId: string): void {
    for (const d of linked.get(clusterId) ?? []) {
      const set = byDomain.get(d);
      set?.delete(clusterId);
      if (set?.size === 0) byDomain.delete(d);
    }
    linked.delete(clusterId);
  }

  return {
    put(c) {
      unlink(c.clusterId);
      const domains = domainsOf(c);
      if (domains.size === 0) return;
      linked.set(c.clusterId, domains);
      for (const d of domains) {
        let set = byDomain.get(d);
        if (!set) {
          set = new Set();
          byDomain.set(d, set);
        }
        set.add(c.clusterId);
      }
    },
    delete: unlink,
    group(domain, at) {
      const ids = byDomain.get(domain);
      if (!ids) return undefined;
      const members: ClusterFeatures[] = [];
      for (const id of ids) {
        const c = cluster(id);
        if (c) members.push(c);
      }
      if (members.length > MAX_GROUP_TEMPLATES) {
        members.sort((a, b) => b.asOf - a.asOf);
        members.length = MAX_GROUP_TEMPLATES;
      }
      return groupOf(domain, members, at);
    },
    get domains() {
      return byDomain.size;
    },
  };
}

/** A domain feature of one window of a group, as content rules read it. */
export function domainValue(w: DomainWindow | undefined, name: DomainFeatureName): number | undefined {
  if (w === undefined) return undefined;
  if (name === 'templates') return w.templates;
  if (name === 'sendersPerTemplate') return ratio(w.distinctSenders, w.templates);
  return clusterValue(w, name as ClusterFeatureName);
}
