/**
 * Idempotent topic provisioning: compare the catalog with what the cluster reports, create
 * missing topics, raise partition counts the catalog raised, and report every other
 * difference (drift) without touching it. Shrinking partitions is impossible in Kafka, and
 * changing a cleanup policy, retention or replication of a live topic is a decision for a
 * person, not for a start-up script.
 */
import { type Logger, SpamgateError, waitForTopicLeaders } from '@spamgate/core';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { prefixCatalog, type TopicSpec, validateCatalog } from './topics.ts';

// kafkajs is CommonJS and Node cannot see this export statically; read it off the module object.
const { ConfigResourceTypes } = kafkajs;

/** A topic as the cluster reports it (fetchTopicMetadata and describeConfigs). */
export interface ExistingTopic {
  readonly partitions: number;
  /** Replicas of its least-replicated partition. */
  readonly replicationFactor: number;
  /** Effective topic configs, defaults included. */
  readonly configs: Readonly<Record<string, string>>;
}

export interface ClusterState {
  /** Live brokers (describeCluster). */
  readonly brokerCount: number;
  /** Existing topics by their name on the broker. */
  readonly topics: ReadonlyMap<string, ExistingTopic>;
}

/** One way a topic on the broker differs from the catalog, which provisioning will not change. */
export interface Drift {
  /** 'partitions', 'replication.factor' or a topic config name. */
  readonly setting: string;
  readonly catalog: string;
  readonly broker: string;
}

export type TopicAction =
  | {
      readonly kind: 'create';
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly configs: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'addPartitions'; readonly from: number; readonly to: number }
  | { readonly kind: 'none' };

export interface TopicPlan {
  /** Name on the broker (prefix applied). */
  readonly topic: string;
  readonly action: TopicAction;
  readonly drift: readonly Drift[];
}

export interface Plan {
  readonly brokerCount: number;
  readonly topics: readonly TopicPlan[];
  /** Topics to create whose catalog replication factor exceeds the broker count, lowered to it. */
  readonly cappedReplication: readonly {
    readonly topic: string;
    readonly catalog: number;
    readonly effective: number;
  }[];
}

/**
 * What a topic should look like on a cluster of `brokerCount` brokers: the replication factor
 * (and min.insync.replicas with it) is capped at the broker count, so the production catalog
 * provisions a one-broker development cluster unchanged.
 */
export function effectiveTopic(
  spec: TopicSpec,
  brokerCount: number,
): { replicationFactor: number; configs: Record<string, string> } {
  const replicationFactor = Math.min(spec.replicationFactor, Math.max(1, brokerCount));
  return {
    replicationFactor,
    configs: {
      'cleanup.policy': spec.cleanupPolicy,
      'retention.ms': String(spec.retentionMs),
      'min.insync.replicas': String(Math.min(spec.minInSyncReplicas, replicationFactor)),
      ...spec.configs,
    },
  };
}

/** Brokers may list "compact,delete" in either order and pad numbers; compare what they mean. */
function sameConfigValue(a: string, b: string): boolean {
  const norm = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .sort()
      .join(',');
  return norm(a) === norm(b);
}

/** Throws a SpamgateError (code TOPIC_CATALOG_INVALID) listing every problem of the catalog. */
export function assertValidCatalog(catalog: readonly TopicSpec[]): void {
  const problems = validateCatalog(catalog);
  if (problems.length > 0) {
    throw new SpamgateError(`the topic catalog is invalid:\n  ${problems.join('\n  ')}`, {
      code: 'TOPIC_CATALOG_INVALID',
    });
  }
}

/**
 * The actions that bring the cluster to the catalog and the drift left for a person. Pure;
 * `catalog` carries the names as they are on the broker (see prefixCatalog). Throws on a
 * catalog that validateCatalog rejects.
 */
export function planTopics(catalog: readonly TopicSpec[], existing: ClusterState): Plan {
  assertValidCatalog(catalog);
  const cappedReplication: Plan['cappedReplication'][number][] = [];
  const topics = catalog.map((spec): TopicPlan => {
    const have = existing.topics.get(spec.name);
    if (!have) {
      const want = effectiveTopic(spec, existing.brokerCount);
      if (want.replicationFactor < spec.replicationFactor) {
        cappedReplication.push({
          topic: spec.name,
          catalog: spec.replicationFactor,
          effective: want.replicationFactor,
        });
      }
      return {
        topic: spec.name,
        action: { kind: 'create', partitions: spec.partitions, ...want },
        drift: [],
      };
    }
    // describeCluster counts live brokers only: a topic keeps the full catalog factor while a
    // broker is down, and one capped on a small cluster is drift once the cluster has grown.
    const acceptedRf = Math.min(
      spec.replicationFactor,
      Math.max(effectiveTopic(spec, existing.brokerCount).replicationFactor, have.replicationFactor),
    );
    const want = effectiveTopic(spec, acceptedRf);
    const drift: Drift[] = [];
    if (spec.partitions < have.partitions) {
      drift.push({
        setting: 'partitions',
        catalog: String(spec.partitions),
        broker: String(have.partitions),
      });
    }
    if (want.replicationFactor !== have.replicationFactor) {
      drift.push({
        setting: 'replication.factor',
        catalog: String(want.replicationFactor),
        broker: String(have.replicationFactor),
      });
    }
    for (const [name, value] of Object.entries(want.configs)) {
      const actual = have.configs[name];
      if (actual === undefined || !sameConfigValue(actual, value)) {
        drift.push({ setting: name, catalog: value, broker: actual ?? '(unset)' });
      }
    }
    const action: TopicAction =
      spec.partitions > have.partitions
        ? { kind: 'addPartitions', from: have.partitions, to: spec.partitions }
        : { kind: 'none' };
    return { topic: spec.name, action, drift };
  });
  return { brokerCount: existing.brokerCount, topics, cappedReplication };
}

/** Reads what the cluster has of the named topics; topics it lacks are simply absent. */
export async function readClusterState(admin: Admin, names: readonly string[]): Promise<ClusterState> {
  const { brokers } = await admin.describeCluster();
  const listed = new Set(await admin.listTopics());
  const present = names.filter((n) => listed.has(n));
  const topics = new Map<string, ExistingTopic>();
  if (present.length === 0) return { brokerCount: brokers.length, topics };

  const metadata = await admin.fetchTopicMetadata({ topics: present });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const configsByTopic = new Map<string, Record<string, string>>();
  for (const r of described.resources) {
    if (r.errorCode !== 0) {
      throw new SpamgateError(`describeConfigs for topic ${r.resourceName} failed: ${r.errorMessage}`, {
        code: 'TOPIC_DESCRIBE_FAILED',
        retriable: true,
      });
    }
    configsByTopic.set(
      r.resourceName,
      Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue])),
    );
  }
  for (const t of metadata.topics) {
    topics.set(t.name, {
      partitions: t.partitions.length,
      replicationFactor: Math.min(...t.partitions.map((p) => p.replicas.length)),
      configs: configsByTopic.get(t.name) ?? {},
    });
  }
  return { brokerCount: brokers.length, topics };
}

/** What provisioning did to one topic, and the drift it left. */
export type TopicOutcome =
  | { readonly kind: 'created'; readonly partitions: number; readonly replicationFactor: number }
  /** Another run created the topic between our read and our create. */
  | { readonly kind: 'createdElsewhere' }
  | { readonly kind: 'partitionsRaised'; readonly from: number; readonly to: number }
  | { readonly kind: 'unchanged' };

export interface TopicResult {
  readonly topic: string;
  readonly outcome: TopicOutcome;
  readonly drift: readonly Drift[];
}

export interface ProvisionReport {
  readonly brokerCount: number;
  readonly topics: readonly TopicResult[];
  readonly cappedReplication: Plan['cappedReplication'];
  /** True when any topic differs from the catalog in a way provisioning left alone. */
  readonly drifted: boolean;
}

export interface ProvisionOptions {
  readonly kafka: Kafka;
  readonly catalog: readonly TopicSpec[];
  /** SPAMGATE_TOPIC_PREFIX; '' for none. */
  readonly prefix?: string;
  readonly logger: Logger;
}

/** Creates missing topics and raises partition counts; reports drift. Safe to run any number of times. */
export async function provisionTopics(options: ProvisionOptions): Promise<ProvisionReport> {
  const { kafka, logger } = options;
  const catalog = prefixCatalog(options.catalog, options.prefix ?? '');
  // Before connecting: a broken catalog is a bug to report, not a cluster state to act on.
  assertValidCatalog(catalog);
  const names = catalog.map((t) => t.name);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const state = await readClusterState(admin, names);
    const plan = planTopics(catalog, state);
    if (plan.cappedReplication.length > 0) {
      logger.warn(
        { brokers: plan.brokerCount, topics: plan.cappedReplication.map((c) => c.topic) },
        `replication factor capped at ${plan.brokerCount}: the cluster has ${plural(plan.brokerCount, 'broker')}`,
      );
    }
    const results: TopicResult[] = [];
    for (const p of plan.topics) {
      results.push({ topic: p.topic, outcome: await apply(admin, p, logger), drift: p.drift });
      if (p.drift.length > 0) {
        logger.warn({ topic: p.topic, drift: p.drift }, 'topic differs from the catalog');
      }
    }
    return {
      brokerCount: plan.brokerCount,
      topics: results,
      cappedReplication: plan.cappedReplication,
      drifted: results.some((r) => r.drift.length > 0),
    };
  } finally {
    await admin.disconnect();
  }
}

async function apply(admin: Admin, p: TopicPlan, logger: Logger): Promise<TopicOutcome> {
  const a = p.action;
  switch (a.kind) {
    case 'create': {
      // One topic per request: createTopics reports "already exists" as a whole-batch false,
      // and a concurrent run (several instances provisioning at start-up) must not fail us.
      const created = await admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic: p.topic,
            numPartitions: a.partitions,
            replicationFactor: a.replicationFactor,
            configEntries: Object.entries(a.configs).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      await waitForTopicLeaders(admin, [p.topic]);
      if (!created) {
        logger.info({ topic: p.topic }, 'topic was created by another run meanwhile');
        return { kind: 'createdElsewhere' };
      }
      logger.info(
        {
          topic: p.topic,
          partitions: a.partitions,
          replicationFactor: a.replicationFactor,
          configs: a.configs,
        },
        'topic created',
      );
      return { kind: 'created', partitions: a.partitions, replicationFactor: a.replicationFactor };
    }
    case 'addPartitions':
      await admin.createPartitions({ topicPartitions: [{ topic: p.topic, count: a.to }] });
      // So that a client started right after provisioning sees (and is assigned) the new ones.
      await waitForTopicLeaders(admin, [p.topic], { minPartitions: a.to });
      // Keys hash to partitions modulo the count, so existing keys now land elsewhere: state
      // keyed by partition (the feature engine's) must be rebuilt for the new layout.
      logger.warn(
        { topic: p.topic, from: a.from, to: a.to },
        'partitions raised; keys now map to new partitions',
      );
      return { kind: 'partitionsRaised', from: a.from, to: a.to };
    case 'none':
      return { kind: 'unchanged' };
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** One line for a person: what happened to the topic, then any drift. */
export function describeTopicResult(r: TopicResult): string {
  const parts: string[] = [];
  const o = r.outcome;
  switch (o.kind) {
    case 'created':
      parts.push(`created (${plural(o.partitions, 'partition')}, replication factor ${o.replicationFactor})`);
      break;
    case 'createdElsewhere':
      parts.push('ok (created by another run meanwhile)');
      break;
    case 'partitionsRaised':
      parts.push(`partitions raised from ${o.from} to ${o.to}`);
      break;
    case 'unchanged':
      if (r.drift.length === 0) parts.push('ok');
      break;
  }
  if (r.drift.length > 0) {
    const what = r.drift.map((d) => `${d.setting} is ${d.broker} on the broker, ${d.catalog} in the catalog`);
    parts.push(`DRIFT: ${what.join('; ')} (left as it is)`);
  }
  return parts.join('; ');
}

/** The report as printed by `npm run topics`: one line per topic, then notes and a summary. */
export function formatReport(report: ProvisionReport): string[] {
  const width = Math.max(0, ...report.topics.map((t) => t.topic.length));
  const lines = report.topics.map((t) => `${t.topic.padEnd(width)}  ${describeTopicResult(t)}`);
  if (report.cappedReplication.length > 0) {
    const highest = Math.max(...report.cappedReplication.map((c) => c.catalog));
    lines.push(
      `note: replication factor capped at ${report.brokerCount} ` +
        `(the cluster has ${plural(report.brokerCount, 'broker')}; the catalog asks for up to ${highest})`,
    );
  }
  const count = (kind: TopicOutcome['kind']) => report.topics.filter((t) => t.outcome.kind === kind).length;
  const drifted = report.topics.filter((t) => t.drift.length > 0).length;
  lines.push(
    `${report.topics.length} topics: ${count('created')} created, ` +
      `${count('partitionsRaised')} raised, ${drifted} drifted`,
  );
  return lines;
}
