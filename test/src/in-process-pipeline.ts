/**
 * The pipeline in one process, without Kafka: simulator traffic through the feature engine's
 * partition and cluster processors, the decision engine's partition decider and the reference
 * firewall, one partition, in event time. The same pure code the services run, so the decision
 * sweep can try many traffic shapes and seeds in minutes and judge decisions by what the firewall
 * let through. What Kafka adds (batching, transactions, the hops between services) is modelled as
 * one latency: a decision is in force `latencyMs` after the event that led to it.
 */
import {
  createContentMatcher,
  createEnforcementTally,
  type EnforcementFigures,
  type MessageView,
  replayEnforcement,
} from '@spamgate/core';
import {
  type CapOf,
  type ContentInForce,
  clusterSignature,
  contentInForce,
  createGroupIndex,
  createPartitionDecider,
  type Policy,
  standaloneTables,
} from '@spamgate/decision-engine';
import {
  createClusterProcessor,
  createFactKeys,
  createInputHandlers,
  createPartitionProcessor,
  DEFAULT_CLUSTER_PROCESSOR_OPTIONS,
  DEFAULT_PROCESSOR_OPTIONS,
  drainPartition,
  keyedProcessorOptions,
  type PartitionProcessors,
  type Rekeyed,
} from '@spamgate/feature-engine';
import {
  type ClusterFeatures,
  type ContentDecision,
  capOf,
  createCodec,
  type Decision,
  type Registrations,
} from '@spamgate/schemas';
import { generateTraffic, planTraffic, type ScenarioFile } from '@spamgate/traffic-simulator';

export interface InProcessRunOptions {
  readonly scenarios: ScenarioFile;
  readonly seed: number;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Event time of the run's first second, ms since the epoch. */
  readonly startTime: number;
  readonly policy: Policy;
  readonly registrations: Registrations;
  /** The deployment secret (SPAMGATE_HASH_KEY): content ids and hashes depend on it. */
  readonly hashKey: string;
  /** From the event that led to a decision to the decision in force at the firewall; default 2 s. */
  readonly latencyMs?: number;
  /** Event time between two drains of the feature processors; default 250 ms. */
  readonly drainEveryMs?: number;
}

export interface ScenarioOutcome {
  readonly id: string;
  readonly kind: string;
  readonly spam: boolean;
  readonly senders: number;
  /** Senders with a registered campaign id on their messages. */
  readonly registeredSenders: number;
}

export interface InProcessRun {
  readonly scenarios: readonly ScenarioOutcome[];
  readonly figures: EnforcementFigures;
  /** Published sender decisions, with the event time they came into force. */
  readonly decisions: readonly { readonly inForceAt: number; readonly decision: Decision }[];
  readonly contentDecisions: readonly { readonly inForceAt: number; readonly decision: ContentDecision }[];
  /** Per scenario, the event time of its first message. */
  readonly firstMessageAt: ReadonlyMap<string, number>;
  /** Sender -> scenario id, and the senders that carried a campaign id. */
  readonly scenarioOf: ReadonlyMap<string, string>;
  readonly registered: ReadonlySet<string>;
  readonly messages: number;
}

/** A message as the firewall sees it, with its scenario. */
interface SentMessage extends MessageView {
  readonly group: string;
}

/** Runs one simulator configuration through the pipeline in process and replays enforcement. */
export function runInProcess(options: InProcessRunOptions): InProcessRun {
  const latencyMs = options.latencyMs ?? 2_000;
  const drainEveryMs = options.drainEveryMs ?? 250;
  const codec = createCodec();
  const keys = createFactKeys(options.hashKey);
  const handlers = createInputHandlers({ keys, utcOffsetHours: 0 });
  const p: PartitionProcessors = {
    processor: createPartitionProcessor({
      ...DEFAULT_PROCESSOR_OPTIONS,
      ...keyedProcessorOptions(keys),
      registrations: options.registrations,
    }),
    clusters: createClusterProcessor({ ...DEFAULT_CLUSTER_PROCESSOR_OPTIONS }),
  };
  const clusters = new Map<string, ClusterFeatures>();
  const groups = createGroupIndex((id) => clusters.get(id));
  const contents = new Map<string, ContentInForce>();
  const signatures = new Map<string, string>();
  const cap: CapOf = (campaignId) => capOf(options.registrations, campaignId);
  const decider = createPartitionDecider(
    0,
    standaloneTables({
      policy: options.policy,
      cluster: (id) => clusters.get(id),
      content: (id) => contents.get(id),
      groups,
      capOf: cap,
      decodeFeatures: (raw) => codec.decode('SenderFeatures', Buffer.from(raw)),
    }),
  );
  const matcher = createContentMatcher(options.hashKey);
  const planned = planTraffic(options);
  const truth = new Map(planned.map((s) => [s.id, s]));
  const scenarioOf = new Map<string, string>();
  const registered = new Set<string>();
  const firstMessageAt = new Map<string, number>();
  const decisions: { inForceAt: number; decision: Decision }[] = [];
  const contentDecisions: { inForceAt: number; decision: ContentDecision }[] = [];
  const sent: SentMessage[] = [];

  const route = (records: Rekeyed[], t: number) => {
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.to === 'byRecipient') records.push(...handlers.received(p, r.value, t));
      else handlers.clusterEvent(p, r.key, r.value, t);
    }
  };

  /** Records what the decider decided at `t`, in force at the firewall `latencyMs` later. */
  const takeDecisions = (t: number) => {
    const out = decider.take();
    for (const d of out.decisions) {
      decisions.push({ inForceAt: t + latencyMs, decision: d });
    }
    for (const d of out.contentDecisions) {
      contentDecisions.push({ inForceAt: t + latencyMs, decision: d });
      // Every instance follows sms.content-decisions: the senders naming the cluster are re-evaluated.
      contents.set(d.clusterId, contentInForce(d, options.policy));
      decider.contentUpdated(d.clusterId, d.basedOnEventTime, t);
    }
    if (out.contentDecisions.length > 0) takeDecisions(t);
  };

  const drain = (t: number) => {
    const out = drainPartition(p, t);
    for (const o of out.senders) {
      if (o.kind !== 'features') continue;
      decider.features(o.value, codec.encode('SenderFeatures', o.value), t);
    }
    p.processor.takeChanged();
    for (const c of out.clusters) {
      clusters.set(c.clusterId, c);
      groups.put(c);
      const sig = clusterSignature(options.policy, c);
      const changed = signatures.get(c.clusterId) !== sig;
      signatures.set(c.clusterId, sig);
      decider.clusterUpdated(c, changed, true, t);
    }
    p.clusters.takeChanged();
    decider.advanceClock(t, t);
    takeDecisions(t);
  };

  let nextDrain = options.startTime;
  for (const e of generateTraffic(options)) {
    const t = e.value.eventTime;
    while (nextDrain <= t) {
      drain(nextDrain);
      nextDrain += drainEveryMs;
    }
    if (e.type === 'feedback') {
      route(handlers.feedback(p, e.value, t), t);
      continue;
    }
    const m = e.value;
    scenarioOf.set(m.sender, e.label);
    if (m.campaignId !== null) registered.add(m.sender);
    if (!firstMessageAt.has(e.label)) firstMessageAt.set(e.label, t);
    sent.push({
      time: t,
      sender: m.sender,
      recipient: m.recipient,
      content: matcher.keysOf(m.body, m.sender),
      group: e.label,
    });
    route(handlers.message(p, m, t), t);
  }
  // The simulation does not answer to enforcement, so the firewall can replay the run afterwards,
  // with the same code as the report and what-if: each decision in force from its inForceAt.
  const tally = createEnforcementTally();
  for (const { message, verdict } of replayEnforcement({
    messages: sent,
    senderDecisions: decisions,
    contentDecisions,
  }))
    tally.record(
      { sender: message.sender, group: message.group, spam: truth.get(message.group)?.spam ?? false },
      verdict,
    );
  const senders = new Map<string, Set<string>>();
  for (const [sender, label] of scenarioOf) {
    const set = senders.get(label) ?? new Set<string>();
    set.add(sender);
    senders.set(label, set);
  }
  return {
    scenarios: [...senders].map(([id, set]) => ({
      id,
      kind: truth.get(id)?.kind ?? id,
      spam: truth.get(id)?.spam ?? false,
      senders: set.size,
      registeredSenders: [...set].filter((s) => registered.has(s)).length,
    })),
    figures: tally.figures(),
    decisions,
    contentDecisions,
    firstMessageAt,
    scenarioOf,
    registered,
    messages: sent.length,
  };
}
