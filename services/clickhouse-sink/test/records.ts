/**
 * Seeded records of every kind the sink reads, with every field set to a value of its own, so a
 * field mapped to the wrong column cannot come back equal. Times are whole seconds where the
 * table keeps seconds only, so that a round trip is exact.
 */
import type {
  Action,
  AddressKind,
  ClusterFeatures,
  ContentAction,
  ContentDecision,
  ContentDecisionTrigger,
  ContentOverride,
  DeadLetter,
  Decision,
  DecisionTrigger,
  PolicyOverride,
  SenderFeatures,
  SenderMinute,
  ThrottleScope,
  WindowFeatures,
} from '@spamgate/schemas';
import { contentOverrideKey as keyOf } from '@spamgate/schemas';
import { seededRandom } from '@spamgate/test';

const KINDS: readonly AddressKind[] = ['UNKNOWN', 'LONG_CODE', 'SHORT_CODE', 'TOLL_FREE', 'ALPHANUMERIC'];
const ACTIONS: readonly Action[] = ['ALLOW', 'MONITOR', 'THROTTLE', 'BLOCK'];
const TRIGGERS: readonly DecisionTrigger[] = ['FEATURES', 'CLUSTER', 'OVERRIDE', 'LIST', 'EXPIRY', 'CONTENT'];
const THROTTLE_SCOPES: readonly ThrottleScope[] = ['ALL_RECIPIENTS', 'NEW_CONTACTS'];
const CONTENT_ACTIONS: readonly ContentAction[] = ['ALLOW', 'MONITOR', 'BLOCK'];
const CONTENT_TRIGGERS: readonly ContentDecisionTrigger[] = ['CLUSTER', 'OVERRIDE', 'EXPIRY'];
const SENDER_WINDOWS = [
  ['1m', 60_000],
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['24h', 86_400_000],
] as const;
const CLUSTER_WINDOWS = [
  ['15m', 900_000],
  ['1h', 3_600_000],
  ['24h', 86_400_000],
] as const;

export interface RecordFactory {
  senderFeatures(i: number): SenderFeatures;
  clusterFeatures(i: number): ClusterFeatures;
  decision(i: number): Decision;
  policyOverride(i: number): PolicyOverride;
  contentDecision(i: number): ContentDecision;
  contentOverride(i: number): ContentOverride;
  senderMinute(i: number): SenderMinute;
  deadLetter(i: number): DeadLetter;
}

/** Records around `baseMs` (ms, a whole minute), the same for the same seed. */
export function recordFactory(seed: number, baseMs: number): RecordFactory {
  const random = seededRandom(seed);
  const int = (max: number): number => Math.floor(random() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // Ratios of small integers, the kind of value features hold (and which every ClickHouse parses back exactly).
  const share = (): number => int(10_000) / (1 + int(997));
  const maybe = <T>(value: T): T | null => (random() < 0.3 ? null : value);
  const sender = (i: number): string => `+1202555${String(i % 10_000).padStart(4, '0')}`;
  const clusterId = (i: number): string => (0x10000000000000 + i * 7919).toString(16).slice(-14);
  // A keyed hash as the contract writes it: an unsigned 64-bit decimal, often beyond 2^53.
  const hash64 = (): string => ((BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32))).toString();
  const reasons = (windows: readonly string[]) =>
    Array.from({ length: int(3) }, (_, k) => ({
      code: `RULE_${k}`,
      feature: `feature${k}`,
      window: pick(windows),
      observed: share(),
      threshold: share(),
    }));

  const windowFeatures = (name: string, windowMs: number): WindowFeatures => ({
    window: name,
    windowMs,
    messages: int(1_000_000),
    distinctRecipients: int(100_000),
    peak1s: int(500),
    peak10s: int(5_000),
    fanOut: share(),
    newContactShare: share(),
    contactShare: share(),
    sequentialShare: share(),
    prefixEntropy: share(),
    topTemplateShare: share(),
    distinctTemplates: int(16),
    urlShare: share(),
    distinctUrlDomains: int(300),
    callbackShare: share(),
    timingCv: share(),
    quietHourShare: share(),
    deliveryFailures: int(1_000),
    deliveryFailureRate: share(),
    spamReports: int(100),
    subscriberBlocks: int(100),
    registeredCapShare: share(),
    repliedRecipients: int(1_000),
    replyRate: share(),
    optOuts: int(100),
    optOutRate: share(),
    postOptOutSends: int(50),
  });

  return {
    senderFeatures(i) {
      const asOf = baseMs + i * 1_000 + int(1_000);
      return {
        sender: sender(i),
        senderKind: pick(KINDS),
        campaignId: maybe(`C${int(1_000_000)}`),
        asOf,
        emittedAt: asOf + int(5_000),
        windows: SENDER_WINDOWS.map(([name, ms]) => windowFeatures(name, ms)),
        clusters: Array.from({ length: int(4) }, (_, k) => ({
          clusterId: clusterId(i + k),
          recipients: int(10_000),
        })),
        urlDomains: Array.from({ length: int(5) }, (_, k) => `d${i}-${k}.example`),
      };
    },
    clusterFeatures(i) {
      const asOf = baseMs + i * 1_000 + int(1_000);
      return {
        clusterId: clusterId(i),
        asOf,
        emittedAt: asOf + int(5_000),
        windows: CLUSTER_WINDOWS.map(([name, windowMs]) => ({
          window: name,
          windowMs,
          messages: int(1_000_000),
          distinctSenders: int(1_000),
          distinctRecipients: int(100_000),
          optOuts: int(1_000),
          spamReports: int(1_000),
          optOutRate: share(),
          registeredShare: share(),
          campaignIds: Array.from({ length: int(4) }, (_, k) => `C${i}${k}`),
          distinctCampaigns: int(20),
          topSenderShare: share(),
          urlDomains: Array.from({ length: int(4) }, (_, k) => `c${i}-${k}.example`),
          distinctUrlDomains: int(50),
          replies: int(5_000),
          deliveryFailures: int(2_000),
          sequentialShare: share(),
          callbackNumbers: Array.from({ length: int(3) }, hash64),
          postOptOutSends: int(500),
          sendingForMs: int(3_600_000),
          optOutIgnoringSenders: int(40),
          optedOutSenders: int(40),
          optOutIgnoredSenders: int(20),
          senderSample: Array.from({ length: int(8) }, () => int(2 ** 52)).sort((a, b) => a - b),
          senderBlockSample: Array.from({ length: int(8) }, () => int(2 ** 52)).sort((a, b) => a - b),
        })),
      };
    },
    decision(i) {
      const action = pick(ACTIONS);
      const basedOn = baseMs + i * 1_000 + int(1_000);
      // decided_at_ms keeps the milliseconds; expires_at keeps whole seconds.
      const decidedAt = basedOn + 1 + int(10_000);
      return {
        decisionId: `d-${seed}-${i}`,
        sender: sender(i),
        action,
        throttleRatePerMinute: action === 'THROTTLE' ? int(600) : null,
        score: share(),
        reasons: reasons(['1m', '10m', '1h', '24h']),
        policyVersion: `p${int(10)}`,
        overrideId: maybe(`o-${int(1_000)}`),
        basedOnEventTime: basedOn,
        decidedAt,
        expiresAt: maybe(Math.ceil(decidedAt / 1_000) * 1_000 + 3_600_000),
        policyAction: maybe(pick(ACTIONS)),
        previousAction: maybe(pick(ACTIONS)),
        trigger: pick(TRIGGERS),
        shadow: random() < 0.5,
        published: random() < 0.5,
        throttleRatePerHour: action === 'THROTTLE' ? maybe(1 + int(20_000)) : null,
        throttleScope: action === 'THROTTLE' ? pick(THROTTLE_SCOPES) : 'ALL_RECIPIENTS',
      };
    },
    policyOverride(i) {
      const createdAt = baseMs + i * 1_000;
      return {
        overrideId: `o-${seed}-${i}`,
        scope: random() < 0.5 ? 'SENDER' : 'CAMPAIGN',
        target: sender(i),
        action: random() < 0.5 ? 'ALLOW' : 'BLOCK',
        reason: `ticket ${int(100_000)}`,
        author: `operator${int(10)}`,
        createdAt,
        expiresAt: maybe(createdAt + 86_400_000),
      };
    },
    contentDecision(i) {
      const basedOn = baseMs + i * 1_000 + int(1_000);
      return {
        decisionId: `cd-${seed}-${i}`,
        clusterId: clusterId(i),
        action: pick(CONTENT_ACTIONS),
        urlDomains: Array.from({ length: int(4) }, (_, k) => `cd${i}-${k}.example`),
        callbackNumbers: Array.from({ length: int(3) }, hash64),
        score: share(),
        reasons: reasons(['15m', '1h', '24h']),
        policyVersion: `p${int(10)}`,
        overrideId: maybe(`co-${int(1_000)}`),
        campaignIds: Array.from({ length: int(3) }, (_, k) => `C${i}${k}`),
        distinctSenders: int(1_000),
        distinctRecipients: int(100_000),
        basedOnEventTime: basedOn,
        decidedAt: basedOn + 1 + int(10_000),
        // Every time of a content decision keeps its milliseconds.
        expiresAt: maybe(basedOn + 86_400_000 + int(1_000)),
        previousAction: maybe(pick(CONTENT_ACTIONS)),
        trigger: pick(CONTENT_TRIGGERS),
      };
    },
    contentOverride(i) {
      const createdAt = baseMs + i * 1_000;
      const scope = random() < 0.5 ? 'CLUSTER' : 'DOMAIN';
      return {
        overrideId: `co-${seed}-${i}`,
        scope,
        target: scope === 'CLUSTER' ? clusterId(i) : `d${i}.example`,
        action: random() < 0.5 ? 'ALLOW' : 'BLOCK',
        reason: `ticket ${int(100_000)}`,
        author: `operator${int(10)}`,
        createdAt,
        expiresAt: maybe(createdAt + 86_400_000),
      };
    },
    senderMinute(i) {
      return {
        sender: sender(i),
        senderKind: pick(KINDS),
        campaignId: maybe(`C${int(1_000_000)}`),
        minute: baseMs + Math.floor(i / 10_000) * 60_000,
        messages: int(10_000),
        distinctRecipients: int(10_000),
        urlMessages: int(10_000),
        deliveryFailures: int(100),
        spamReports: int(100),
        subscriberBlocks: int(100),
        lateEvents: int(10),
        version: 1 + int(5),
      };
    },
    deadLetter(i) {
      return {
        originalTopic: 'sms.message-events',
        originalPartition: int(12),
        originalOffset: i,
        // As every release since DeadLetter v2 writes it: no key, no value, their hashes.
        key: null,
        value: null,
        errorClass: 'SchemaDecodeError',
        errorCode: 'BAD_MARKER',
        errorMessage: 'cannot decode MessageEvent: does not start with the single-object marker C3 01',
        service: 'feature-engine/test',
        failedAt: baseMs + i * 1_000,
        keyHash: String(1_000_000_007n * BigInt(i + 1)),
        valueBytes: 10 + int(100),
        valueSha256: i.toString(16).padStart(64, '0'),
        writerFingerprint: i % 2 === 0 ? null : '0123456789abcdef',
      };
    },
  };
}

/** The key of a content override on sms.content-overrides: `<scope>:<target>`. */
export function contentOverrideKey(o: Pick<ContentOverride, 'scope' | 'target'>): string {
  return keyOf(o.scope, o.target);
}

/** Rows as ClickHouse's JSONEachRow gives them back: UInt64 as strings, DateTime as UTC text. */
export function asStored(
  rows: readonly Record<string, unknown>[],
  columns: readonly { readonly name: string; readonly type: string }[],
): Record<string, unknown>[] {
  const text = (seconds: number): string =>
    new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return rows.map((row) =>
    Object.fromEntries(
      columns.map(({ name, type }) => {
        const v = row[name];
        if (type === 'UInt64') return [name, String(v)];
        if (type === 'Array(UInt64)') return [name, (v as number[]).map(String)];
        if (type === 'DateTime') return [name, text(v as number)];
        return [name, v];
      }),
    ),
  );
}

/**
 * SenderMinute records as the feature engine emits them, for volume tests and the benchmark:
 * record i is sender `i % senders` in the minute `floor(i / senders)` after `baseMs` (ms, a whole
 * minute), so no two records share an identity (sender, minute) while `senders` is at most
 * 990,000. A sender keeps its kind and address form; most send a few messages a minute and a
 * few blast; recipients, URLs and feedback never exceed the messages. The records are made in
 * order (call with i = 0, 1, 2, ...); the same seed gives the same records.
 */
export function senderMinuteStream(
  seed: number,
  baseMs: number,
  senders: number,
): (i: number) => SenderMinute {
  const random = seededRandom(seed);
  const int = (max: number): number => Math.floor(random() * max);
  const kindOf = (s: number): AddressKind => {
    const k = (Math.imul(s, 2_654_435_761) >>> 0) % 100;
    return k < 85 ? 'LONG_CODE' : k < 93 ? 'SHORT_CODE' : k < 97 ? 'TOLL_FREE' : 'ALPHANUMERIC';
  };
  const address = (s: number, kind: AddressKind): string => {
    switch (kind) {
      case 'SHORT_CODE':
        return String(10_000 + (s % 990_000));
      case 'TOLL_FREE':
        return `+1800${String(s % 10_000_000).padStart(7, '0')}`;
      case 'ALPHANUMERIC':
        return `BRAND${s.toString(36).toUpperCase()}`;
      default:
        return `+1202${String(s % 10_000_000).padStart(7, '0')}`;
    }
  };
  return (i) => {
    const s = i % senders;
    const kind = kindOf(s);
    const x = random();
    const messages = x < 0.8 ? 1 + int(3) : x < 0.97 ? 4 + int(37) : 41 + int(2_000);
    const withUrls = (s & 7) === 0;
    const registered = kind !== 'LONG_CODE' || s % 10 === 0;
    return {
      sender: address(s, kind),
      senderKind: kind,
      campaignId: registered ? `C${(s % 50_000).toString(36).toUpperCase().padStart(6, '0')}` : null,
      minute: baseMs + Math.floor(i / senders) * 60_000,
      messages,
      distinctRecipients: messages - int(Math.ceil(messages / 4)),
      urlMessages: withUrls ? int(messages + 1) : 0,
      deliveryFailures: random() < 0.1 ? 1 + int(Math.ceil(messages / 20)) : 0,
      spamReports: messages > 40 && random() < 0.2 ? 1 + int(5) : 0,
      subscriberBlocks: messages > 40 && random() < 0.05 ? 1 : 0,
      lateEvents: random() < 0.02 ? 1 + int(2) : 0,
      version: random() < 0.03 ? 2 : 1,
    };
  };
}
