/** Feature vectors and contexts for the decision engine's unit tests. */
import { fileURLToPath } from 'node:url';
import type {
  ClusterFeatures,
  ClusterWindowFeatures,
  SenderFeatures,
  WindowFeatures,
} from '@spamgate/schemas';
import type { ActiveOverride, DecideContext } from '../src/decider.ts';
import type { ContentInForce } from '../src/evaluate.ts';
import { loadPolicy, type Policy } from '../src/policy.ts';

export const DEFAULT_POLICY_PATH = fileURLToPath(
  new URL('../../../infra/config/policy.json', import.meta.url),
);
export const DEFAULT_POLICY: Policy = loadPolicy(DEFAULT_POLICY_PATH);

export const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

const WINDOWS: [string, number][] = [
  ['1m', 60_000],
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['24h', 86_400_000],
];

export function quietWindow(window: string, windowMs: number): WindowFeatures {
  return {
    window,
    windowMs,
    messages: 0,
    distinctRecipients: 0,
    peak1s: 0,
    peak10s: 0,
    fanOut: 0,
    newContactShare: 0,
    contactShare: 0,
    sequentialShare: 0,
    prefixEntropy: 0,
    topTemplateShare: 0,
    distinctTemplates: 0,
    urlShare: 0,
    distinctUrlDomains: 0,
    callbackShare: 0,
    timingCv: 0,
    quietHourShare: 0,
    deliveryFailures: 0,
    deliveryFailureRate: 0,
    spamReports: 0,
    subscriberBlocks: 0,
    registeredCapShare: 0,
    repliedRecipients: 0,
    replyRate: 0,
    optOuts: 0,
    optOutRate: 0,
    postOptOutSends: 0,
  };
}

export type WindowPatch = Partial<Omit<WindowFeatures, 'window' | 'windowMs'>>;

/** A sender's features: every window quiet unless patched (per window name, or `all`). */
export function features(
  o: {
    sender?: string;
    kind?: SenderFeatures['senderKind'];
    campaignId?: string | null;
    asOf?: number;
    clusters?: string[];
    urlDomains?: string[];
  } & { windows?: Partial<Record<'1m' | '10m' | '1h' | '24h' | 'all', WindowPatch>> } = {},
): SenderFeatures {
  const asOf = o.asOf ?? T0;
  return {
    sender: o.sender ?? '+12025550100',
    senderKind: o.kind ?? 'LONG_CODE',
    campaignId: o.campaignId ?? null,
    asOf,
    emittedAt: asOf + 5,
    windows: WINDOWS.map(([name, ms]) => ({
      ...quietWindow(name, ms),
      ...o.windows?.all,
      ...o.windows?.[name as '1m'],
    })),
    clusters: (o.clusters ?? []).map((clusterId) => ({ clusterId, recipients: 10 })),
    urlDomains: o.urlDomains ?? [],
  };
}

export function cluster(
  clusterId: string,
  patch: Partial<Omit<ClusterWindowFeatures, 'window' | 'windowMs'>>,
  asOf = T0,
): ClusterFeatures {
  const windows: [string, number][] = [
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
  ];
  return {
    clusterId,
    asOf,
    emittedAt: asOf,
    windows: windows.map(([window, windowMs]) => ({
      window,
      windowMs,
      messages: 0,
      distinctSenders: 0,
      distinctRecipients: 0,
      optOuts: 0,
      spamReports: 0,
      optOutRate: 0,
      registeredShare: 0,
      campaignIds: [],
      distinctCampaigns: 0,
      topSenderShare: 0,
      urlDomains: [],
      distinctUrlDomains: 0,
      replies: 0,
      deliveryFailures: 0,
      sequentialShare: 0,
      callbackNumbers: [],
      postOptOutSends: 0,
      sendingForMs: 0,
      optOutIgnoringSenders: 0,
      optedOutSenders: 0,
      optOutIgnoredSenders: 0,
      senderSample: [],
      senderBlockSample: [],
      ...patch,
    })),
  };
}

/**
 * A template from forty unregistered numbers whose recipients report it and opt out instead of
 * answering: what the default policy's content section blocks.
 */
export function confirmedSpamCluster(clusterId: string, asOf = T0): ClusterFeatures {
  return cluster(
    clusterId,
    {
      messages: 400,
      distinctSenders: 40,
      distinctRecipients: 390,
      spamReports: 12,
      optOuts: 20,
      replies: 1,
      urlDomains: ['parcel-redelivery.example', 'bit.ly'],
      callbackNumbers: ['1234567890123456789'],
    },
    asOf,
  );
}

/** The example registrations: every campaign in the low-volume tier, 75 a minute. */
export const capOf = (_campaignId: string) => ({ perMinute: 75, perDay: 2000 });

export function context(
  o: {
    policy?: Policy;
    shadowPolicy?: Policy;
    clusters?: ClusterFeatures[];
    override?: ActiveOverride;
    doNotOriginate?: boolean;
    contents?: ReadonlyMap<string, ContentInForce>;
  } = {},
): DecideContext {
  const byId = new Map((o.clusters ?? []).map((c) => [c.clusterId, c]));
  return {
    policy: o.policy ?? DEFAULT_POLICY,
    shadowPolicy: o.shadowPolicy,
    cluster: (id) => byId.get(id),
    content: (id) => o.contents?.get(id),
    capOf,
    override: o.override,
    doNotOriginate: o.doNotOriginate ?? false,
  };
}

/** An unregistered number blasting: a thousand messages in seconds to numbers it never texted. */
export const BLAST: Partial<Record<'1m' | '10m' | '1h' | '24h' | 'all', WindowPatch>> = {
  all: {
    messages: 1200,
    distinctRecipients: 1200,
    peak1s: 400,
    peak10s: 1200,
    fanOut: 1,
    newContactShare: 1,
    topTemplateShare: 1,
    urlShare: 1,
    distinctTemplates: 1,
    timingCv: 0.02,
  },
};
