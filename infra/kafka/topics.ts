/**
 * spamgate's Kafka topic catalog: every topic the pipeline reads or writes, declared once.
 * `npm run topics` (provision.ts) creates what is missing and reports what differs; services
 * and docs read names, keys and schemas from here. Adding a topic (a changelog, a repartition
 * topic) is adding one entry to TOPICS.
 */
import { topicName } from '@spamgate/core';

/** Kafka's cleanup.policy values. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface TopicSpec {
  /** Topic name without the deployment prefix (see SPAMGATE_TOPIC_PREFIX). */
  readonly name: string;
  /** One line: what flows through it, who writes, who reads. */
  readonly purpose: string;
  /** What the record key is; null when records are unkeyed (then the topic cannot be compacted). */
  readonly key: string | null;
  /**
   * Avro record name of the value, as in schemas/avro/<name>.avsc; `internal:<format>` for a
   * format only its own service reads; AVRO_SCHEMA_JSON for values that are Avro schemas
   * themselves (spamgate.schemas).
   */
  readonly valueSchema: string;
  readonly partitions: number;
  /** Production replication factor; the provisioner caps it at the cluster's broker count. */
  readonly replicationFactor: number;
  /** min.insync.replicas: an acks=all write needs this many replicas; capped with the replication factor. */
  readonly minInSyncReplicas: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** retention.ms; -1 keeps records forever (what a compact-only topic wants). */
  readonly retentionMs: number;
  /** Other topic configs, as Kafka names them (min.compaction.lag.ms, delete.retention.ms, ...). */
  readonly configs: Readonly<Record<string, string>>;
  /**
   * Topics in one group are joined by key inside one consumer (partition p of each goes to the
   * same instance), so they must share key and partition count. null: joined with nothing.
   */
  readonly copartitionGroup: string | null;
  /**
   * Who writes and who reads it, by role. A secured deployment's ACLs (acls.ts) grant exactly
   * this and nothing more, so the broker refuses every other write or read.
   */
  readonly access: TopicAccess;
}

/**
 * The principals of a secured deployment, by what they do (acls.ts maps each to its principals):
 * - ingest: the carrier's bridge from the SMSC or firewall, which writes the input events;
 * - feature-engine, decision-engine, clickhouse-sink: each service its own principal;
 * - operator: people with `spamgate override` (overrides, dead letters);
 * - enforcement: the SMSC and SMS firewall, which read the decisions in force.
 */
export const ROLES = [
  'ingest',
  'feature-engine',
  'decision-engine',
  'clickhouse-sink',
  'operator',
  'enforcement',
] as const;
export type Role = (typeof ROLES)[number];

export interface TopicAccess {
  readonly write: readonly Role[];
  readonly read: readonly Role[];
}

/**
 * valueSchema of a topic whose values are not records of one schema but Avro schemas
 * themselves, as JSON text (the writer schemas on spamgate.schemas).
 */
export const AVRO_SCHEMA_JSON = 'avro-schema-json';

/** The prefix setting and the naming rule, shared with every service (services/core/src/topic-name.ts). */
export { topicName, topicPrefixSetting } from '@spamgate/core';

/** The catalog with every name prefixed, for a deployment that shares its cluster. */
export function prefixCatalog(catalog: readonly TopicSpec[], prefix: string): readonly TopicSpec[] {
  return freezeCatalog(catalog.map((t) => ({ ...t, name: topicName(prefix, t.name) })));
}

/** Deep-freezes a catalog so no caller can change the contract in place. */
export function freezeCatalog(catalog: readonly TopicSpec[]): readonly TopicSpec[] {
  return Object.freeze(catalog.map((t) => Object.freeze({ ...t, configs: Object.freeze({ ...t.configs }) })));
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Partition count of every topic keyed and joined by sender. */
const SENDER_PARTITIONS = 12;

export const TOPICS: readonly TopicSpec[] = freezeCatalog([
  {
    name: 'sms.message-events',
    purpose: 'Every SMS the SMSC or SMS firewall saw (input); the feature engine reads it.',
    key: 'sender address (UTF-8)',
    valueSchema: 'MessageEvent',
    // 12 spreads evenly over 1, 2, 3, 4, 6 or 12 feature-engine instances; generous because
    // raising it later moves senders to other partitions.
    partitions: SENDER_PARTITIONS,
    // 3 replicas with min ISR 2: an acknowledged event survives the loss of any one broker.
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days: the longest feature window is 24 h; the rest is room to rebuild or replay after an outage.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['ingest'], read: ['feature-engine'] },
  },
  {
    name: 'sms.feedback-events',
    purpose:
      'Delivery failures, 7726 spam reports and subscriber blocks of a sender (input); the feature engine reads it.',
    key: 'the sender concerned (UTF-8)',
    valueSchema: 'FeedbackEvent',
    // Joined with sms.message-events per sender, so it has the same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days, as sms.message-events: both are replayed together.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['ingest'], read: ['feature-engine'] },
  },
  {
    name: 'sms.sender-features',
    purpose:
      "Each sender's sliding-window features; from the feature engine to the decision engine and ClickHouse sink.",
    key: 'sender address (UTF-8)',
    valueSchema: 'SenderFeatures',
    // The decision engine joins features with decisions per sender: same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted so the decision engine restores the latest vector per sender; delete drops
    // senders quiet for a week.
    cleanupPolicy: 'compact,delete',
    // 7 days: a sender silent that long has empty windows, so its last vector is worthless.
    retentionMs: 7 * DAY_MS,
    configs: {
      // 6 h uncompacted: the ClickHouse sink sees every update unless it falls more than 6 h behind.
      'min.compaction.lag.ms': String(6 * HOUR_MS),
    },
    copartitionGroup: 'sender',
    access: { write: ['feature-engine'], read: ['decision-engine', 'clickhouse-sink'] },
  },
  {
    name: 'sms.sender-minutes',
    purpose:
      "Each sender's aggregates per closed minute of event time; from the feature engine to the ClickHouse sink.",
    key: 'sender address (UTF-8)',
    valueSchema: 'SenderMinute',
    // Written in the feature engine's transactions next to sms.sender-features: same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days: room for the ClickHouse sink to catch up after an outage.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['feature-engine'], read: ['clickhouse-sink'] },
  },
  {
    name: 'spamgate.feature-engine.changelog',
    purpose:
      "The feature engine's state per sender (and each partition's watermark), written in the same transaction as its outputs; a new owner restores from it.",
    key: 'sender address (UTF-8); a tombstone when the sender was evicted',
    // Not Avro: an internal binary format only the feature engine reads (src/engine/entry-codec.ts).
    valueSchema: 'internal:feature-engine-state',
    // Partition p holds the state of input partition p: same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: only the latest state per sender matters; restore reads what is left.
    cleanupPolicy: 'compact',
    retentionMs: -1,
    configs: {
      // Small segments and a low dirty ratio keep restore (reading the whole partition) short:
      // compaction never touches the active segment, so a restore reads every version written
      // since it opened. An hour's or 16 MiB's worth, whichever comes first (Kafka's default,
      // 1 GiB, held all 1M senders of the restore bench uncompacted, with 1.7 versions of each key).
      'segment.ms': String(HOUR_MS),
      'segment.bytes': String(16 * 1_048_576),
      'min.cleanable.dirty.ratio': '0.1',
    },
    copartitionGroup: 'sender',
    access: { write: ['feature-engine'], read: ['feature-engine'] },
  },
  {
    name: 'spamgate.feature-engine.by-recipient',
    purpose:
      'Every message re-keyed by its recipient (no body; the sender as a keyed hash), written by the feature engine in its transactions and read back by it, so replies and opt-outs reach the partition of the sender they answer.',
    key: 'the recipient address (UTF-8), as it appears when it sends',
    valueSchema: 'ReceivedMessage',
    // A repartition topic: its partition p must hold the addresses whose own messages are in
    // partition p of sms.message-events, so the same 12 partitions and the same partitioner.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days, as the inputs it is derived from: read back within seconds normally, the rest is
    // room for a feature engine that was down.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['feature-engine'], read: ['feature-engine'] },
  },
  {
    name: 'spamgate.feature-engine.by-cluster',
    purpose:
      'Messages and their recipients’ opt-outs and spam reports re-keyed by content cluster (no body, numbers as keyed hashes), written and read back by the feature engine, so one template is counted across every sender number.',
    key: 'the content cluster id (14 hex digits)',
    valueSchema: 'ClusterEvent',
    // Not keyed by sender, but read by the same tasks as the sender topics (partition p with
    // partition p, one transaction): the same 12 partitions, assigned together.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days, as the inputs it is derived from.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['feature-engine'], read: ['feature-engine'] },
  },
  {
    name: 'sms.cluster-features',
    purpose:
      "Each content cluster's sliding-window features (senders, recipients, opt-outs, campaigns, domains); from the feature engine to the decision engine and ClickHouse sink.",
    key: 'the content cluster id (14 hex digits)',
    valueSchema: 'ClusterFeatures',
    // Written in the transactions of the feature engine's partition p, to partition p.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted so the decision engine can hold the latest vector of every cluster; delete drops
    // clusters quiet for a week.
    cleanupPolicy: 'compact,delete',
    retentionMs: 7 * DAY_MS,
    configs: {
      // 6 h uncompacted, as sms.sender-features: the ClickHouse sink sees every update.
      'min.compaction.lag.ms': String(6 * HOUR_MS),
    },
    copartitionGroup: null,
    access: { write: ['feature-engine'], read: ['decision-engine', 'clickhouse-sink'] },
  },
  {
    name: 'sms.decisions',
    purpose:
      'The ALLOW/MONITOR/THROTTLE/BLOCK in force per sender; from the decision engine to the SMSC and firewall.',
    key: 'sender address (UTF-8)',
    valueSchema: 'Decision',
    // Read back by the decision engine next to sms.sender-features: same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: a restarting SMSC reads the latest decision per sender, however old.
    cleanupPolicy: 'compact',
    // Forever: a BLOCK must not lapse because time passed; only a newer decision replaces it.
    retentionMs: -1,
    configs: {
      // Decisions are rare; a day uncompacted lets the ClickHouse audit trail catch every one.
      'min.compaction.lag.ms': String(DAY_MS),
    },
    copartitionGroup: 'sender',
    // Only the decision engine writes what the firewall enforces: a forged ALLOW is refused.
    access: { write: ['decision-engine'], read: ['enforcement'] },
  },
  {
    name: 'sms.decision-evaluations',
    purpose:
      'Every evaluation of the active and shadow policies (published or not), with reasons; from the decision engine to the ClickHouse sink, for audit, appeals and policy comparison.',
    key: 'sender address (UTF-8)',
    valueSchema: 'Decision',
    // Written in the transactions of the decision engine's partition p, to partition p.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 7 days: room for the ClickHouse sink to catch up; ClickHouse keeps the history.
    retentionMs: 7 * DAY_MS,
    configs: {},
    copartitionGroup: 'sender',
    access: { write: ['decision-engine'], read: ['clickhouse-sink'] },
  },
  {
    name: 'sms.content-decisions',
    purpose:
      'The ALLOW/MONITOR/BLOCK in force per content cluster (one template across senders), with the URL domains and call-back numbers to match it by; from the decision engine to the SMS firewall and the ClickHouse sink.',
    key: 'the content cluster id (14 hex digits)',
    valueSchema: 'ContentDecision',
    // 12, as sms.cluster-features it is decided from. Keyed by cluster, not sender, and joined
    // by key with nothing: a firewall reads it whole (any sender may send a cluster), so it is
    // in no copartition group.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: a restarting firewall reads the latest decision per cluster, however old.
    cleanupPolicy: 'compact',
    // Forever, as sms.decisions: a BLOCK lapses at its expiresAt, never because time passed.
    retentionMs: -1,
    configs: {
      // A day uncompacted, as sms.decisions: the ClickHouse audit trail catches every decision.
      'min.compaction.lag.ms': String(DAY_MS),
    },
    copartitionGroup: null,
    // The decision engine reads it whole too: every sender decision consults the content
    // decisions in force, whichever instance made them.
    access: { write: ['decision-engine'], read: ['enforcement', 'decision-engine', 'clickhouse-sink'] },
  },
  {
    name: 'spamgate.decision-engine.state',
    purpose:
      "The decision engine's state per sender (latest features, the policies' outcomes, the decision in force), written in the same transaction as its decisions; a new owner restores from it.",
    key: 'sender address (UTF-8)',
    // Not Avro from schemas/: an internal record only the decision engine reads (src/state.ts).
    valueSchema: 'internal:decision-engine-state',
    // Partition p holds the state of sms.sender-features partition p: same 12 partitions.
    partitions: SENDER_PARTITIONS,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'compact',
    retentionMs: -1,
    configs: {
      'segment.ms': String(HOUR_MS),
      'min.cleanable.dirty.ratio': '0.1',
    },
    copartitionGroup: 'sender',
    access: { write: ['decision-engine'], read: ['decision-engine'] },
  },
  {
    name: 'sms.policy-overrides',
    purpose:
      "Operators' allow/block of a sender or a registered campaign; from the CLI to every decision engine.",
    key: 'sender address or campaign id (UTF-8); a tombstone removes the override',
    valueSchema: 'PolicyOverride',
    // 1: operator writes are rare, every decision-engine instance reads all of it (a campaign
    // spans senders), and one partition keeps operators' actions in order.
    partitions: 1,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: the latest override per key is the one in force.
    cleanupPolicy: 'compact',
    // Forever: an override lasts until an operator removes it.
    retentionMs: -1,
    configs: {
      // Tombstones stay 7 days so an instance that was down up to a week still sees the removal.
      'delete.retention.ms': String(7 * DAY_MS),
      // The broker stamps each record when it takes it: an override's audit time (ClickHouse's
      // recorded_at, and the day partition it lands in) cannot be back-dated by its producer.
      'message.timestamp.type': 'LogAppendTime',
    },
    copartitionGroup: null,
    // Only operators write overrides, so only they can allow-list a sender or remove an override.
    access: { write: ['operator'], read: ['decision-engine', 'clickhouse-sink', 'operator'] },
  },
  {
    name: 'sms.content-overrides',
    purpose:
      "Operators' allow/block of a content cluster or a URL domain, whoever sends it; from the CLI to every decision engine and the ClickHouse sink.",
    key: "'<scope>:<target>' (CLUSTER:<cluster id> or DOMAIN:<domain>, UTF-8); a tombstone removes the override",
    valueSchema: 'ContentOverride',
    // 1, as sms.policy-overrides: rare writes, read whole by every decision-engine instance (a
    // cluster or domain spans senders), operators' actions kept in order.
    partitions: 1,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: the latest override per key is the one in force.
    cleanupPolicy: 'compact',
    // Forever: an override lasts until an operator removes it.
    retentionMs: -1,
    configs: {
      // Tombstones stay 7 days so an instance that was down up to a week still sees the removal.
      'delete.retention.ms': String(7 * DAY_MS),
      // The broker stamps each record when it takes it: an override's audit time (ClickHouse's
      // recorded_at, and the day partition it lands in) cannot be back-dated by its producer.
      'message.timestamp.type': 'LogAppendTime',
    },
    copartitionGroup: null,
    // As sms.policy-overrides: operators only.
    access: { write: ['operator'], read: ['decision-engine', 'clickhouse-sink', 'operator'] },
  },
  {
    name: 'sms.dead-letters',
    purpose: 'Records a service could not process, with the reason; for people to inspect and replay.',
    key: "the original record's key",
    valueSchema: 'DeadLetter',
    // 3: low volume; nothing joins with it.
    partitions: 3,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    // 30 days: time for someone to notice, fix the cause and replay.
    retentionMs: 30 * DAY_MS,
    configs: {},
    copartitionGroup: null,
    access: {
      write: ['feature-engine', 'decision-engine', 'clickhouse-sink'],
      read: ['clickhouse-sink', 'operator'],
    },
  },
  {
    name: 'spamgate.schemas',
    purpose:
      'Every writer schema of spamgate records, by fingerprint: published by `npm run topics` (every known version) and by each service before it writes (the current schemas of what it writes); a reader of an older release learns from it the schema of a record written by a newer one.',
    key: 'the CRC-64-AVRO fingerprint of the schema (16 hex digits: the 8 bytes after C3 01)',
    valueSchema: AVRO_SCHEMA_JSON,
    // 1: a few dozen small records, read whole by every reader that meets an unknown fingerprint.
    partitions: 1,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    // Compacted: one record per fingerprint (a registration repeated at every start is the same
    // key and value).
    cleanupPolicy: 'compact',
    // Forever: records written with a schema may be read as long as they are kept (decisions
    // forever), and their schema with them.
    retentionMs: -1,
    configs: {},
    copartitionGroup: null,
    // Every writer registers the schemas of what it writes (npm run topics publishes them all).
    access: {
      write: ['feature-engine', 'decision-engine', 'clickhouse-sink', 'operator'],
      read: ['feature-engine', 'decision-engine', 'clickhouse-sink', 'operator', 'enforcement'],
    },
  },
]);

/** Configs the catalog sets through dedicated fields; `configs` must not repeat them. */
const DEDICATED_CONFIGS = ['cleanup.policy', 'retention.ms', 'min.insync.replicas'] as const;

/** Kafka's rule for topic names (and its length limit). */
const LEGAL_TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/**
 * Everything wrong with a catalog, one sentence each; empty when it is sound. Pure: the
 * provisioner refuses a catalog with problems, and a test holds the real one to it.
 */
export function validateCatalog(catalog: readonly TopicSpec[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const t of catalog) {
    const at = `topic ${JSON.stringify(t.name)}`;
    if (seen.has(t.name)) problems.push(`${at} is declared more than once`);
    seen.add(t.name);
    if (!LEGAL_TOPIC_NAME.test(t.name) || t.name === '.' || t.name === '..') {
      problems.push(
        `${at}: a topic name is 1 to 249 characters from A-Z a-z 0-9 . _ - (and not "." or "..")`,
      );
    }
    if (t.purpose.trim() === '') problems.push(`${at} has no purpose`);
    if (t.valueSchema.trim() === '') problems.push(`${at} has no value schema`);
    if (!Number.isInteger(t.partitions) || t.partitions < 1) {
      problems.push(`${at} has ${t.partitions} partitions; it needs at least 1`);
    }
    if (!Number.isInteger(t.replicationFactor) || t.replicationFactor < 1) {
      problems.push(`${at} has replication factor ${t.replicationFactor}; it needs at least 1`);
    }
    if (
      !Number.isInteger(t.minInSyncReplicas) ||
      t.minInSyncReplicas < 1 ||
      t.minInSyncReplicas > t.replicationFactor
    ) {
      problems.push(
        `${at} has min.insync.replicas ${t.minInSyncReplicas}; it must be from 1 to ` +
          `its replication factor ${t.replicationFactor}`,
      );
    }
    if (!Number.isInteger(t.retentionMs) || t.retentionMs < -1) {
      problems.push(`${at} has retention.ms ${t.retentionMs}; it must be -1 (forever) or a number of ms`);
    }
    if (t.cleanupPolicy !== 'delete' && t.key === null) {
      problems.push(`${at} is compacted but its records have no key (compaction keeps the latest per key)`);
    }
    if (t.copartitionGroup !== null && t.key === null) {
      problems.push(`${at} is in copartition group "${t.copartitionGroup}" but its records have no key`);
    }
    for (const name of DEDICATED_CONFIGS) {
      if (name in t.configs) problems.push(`${at} sets ${name} in configs; use its dedicated field`);
    }
    if (t.access.write.length === 0) problems.push(`${at} has no writer`);
    if (t.access.read.length === 0) problems.push(`${at} has no reader`);
    for (const role of [...t.access.write, ...t.access.read]) {
      if (!(ROLES as readonly string[]).includes(role))
        problems.push(`${at} names an unknown role "${role}"`);
    }
  }

  const groups = new Map<string, TopicSpec[]>();
  for (const t of catalog) {
    if (t.copartitionGroup === null) continue;
    groups.set(t.copartitionGroup, [...(groups.get(t.copartitionGroup) ?? []), t]);
  }
  for (const [group, members] of groups) {
    const counts = new Set(members.map((t) => t.partitions));
    if (counts.size > 1) {
      const list = members.map((t) => `${t.name} ${t.partitions}`).join(', ');
      problems.push(
        `copartition group "${group}" mixes partition counts (${list}); joined topics need the same`,
      );
    }
  }
  return problems;
}
