/** The ClickHouse sink's settings, beyond the common ones (services/core commonSettings). */
import { type ConfigOf, hashKeySetting, setting, topicPrefixSetting } from '@spamgate/core';
import type { RecordName, TableName } from '@spamgate/schemas';

export const clickHouseSinkSettings = {
  topicPrefix: topicPrefixSetting,
  groupId: setting.string({
    variable: 'SPAMGATE_SINK_GROUP',
    doc: "Consumer group of the ClickHouse sink; its committed offsets are the sink's only state.",
    default: 'spamgate-clickhouse-sink',
    pattern: /^[A-Za-z0-9._-]{1,200}$/,
  }),
  hashKey: hashKeySetting,
  batchRows: setting.integer({
    variable: 'SPAMGATE_SINK_BATCH_ROWS',
    doc: 'Rows per insert into one table: a batch is written once this many wait (or SPAMGATE_SINK_BATCH_AGE passed).',
    default: '10000',
    min: 1,
    max: 1_000_000,
  }),
  batchAgeMs: setting.duration({
    variable: 'SPAMGATE_SINK_BATCH_AGE',
    doc: "Longest a read row waits for its table's batch to fill before it is written anyway.",
    default: '1s',
    minMs: 10,
    maxMs: 600_000,
  }),
  fetchWaitMs: setting.duration({
    variable: 'SPAMGATE_SINK_FETCH_WAIT',
    doc: "How long a fetch waits for records to gather (up to 1 MiB) before returning what there is (Kafka's fetch.max.wait.ms with fetch.min.bytes): the rows wait for their batch anyway, and fewer fetches spare the broker; 0 returns as soon as anything arrives.",
    default: '250ms',
    minMs: 0,
    maxMs: 1_000,
  }),
  maxPendingRows: setting.integer({
    variable: 'SPAMGATE_SINK_MAX_PENDING_ROWS',
    doc: 'Rows of one table read but not yet written (memory bound): a batch read beyond it waits until inserts make room, and nothing more is fetched meanwhile.',
    default: '50000',
    min: 1,
    max: 10_000_000,
  }),
  retryMaxDelayMs: setting.duration({
    variable: 'SPAMGATE_SINK_RETRY_MAX_DELAY',
    doc: 'Cap of the exponential backoff between attempts of an insert that failed for want of ClickHouse (retried until it takes it).',
    default: '30s',
    minMs: 100,
    maxMs: 600_000,
  }),
  sessionTimeoutMs: setting.duration({
    variable: 'SPAMGATE_SINK_SESSION_TIMEOUT',
    doc: "Kafka group session timeout: how long a silent instance keeps its partitions (at least the broker's 6s minimum).",
    default: '30s',
    minMs: 6_000,
    maxMs: 300_000,
  }),
} as const;

export type ClickHouseSinkConfig = ConfigOf<typeof clickHouseSinkSettings>;

/** The name a catalog topic has under the prefix (same rule as infra/kafka/topics.ts). */
export function topicName(prefix: string, name: string): string {
  if (prefix === '') return name;
  return /[._-]$/.test(prefix) ? `${prefix}${name}` : `${prefix}.${name}`;
}

/** The topics the sink reads, by what they carry. */
export interface SinkTopics {
  /** Decision: every evaluation, enforced and shadow. */
  readonly decisionEvaluations: string;
  /** PolicyOverride, key the target; tombstones are removals. */
  readonly policyOverrides: string;
  /** ContentDecision, key the cluster id: the decisions a firewall enforces on content. */
  readonly contentDecisions: string;
  /** ContentOverride, key `<scope>:<target>`; tombstones are removals. */
  readonly contentOverrides: string;
  readonly senderFeatures: string;
  readonly clusterFeatures: string;
  readonly senderMinutes: string;
  /** DeadLetter: read into dead_letters, and where the sink's own dead letters go. */
  readonly deadLetters: string;
}

export function sinkTopics(prefix: string): SinkTopics {
  return {
    decisionEvaluations: topicName(prefix, 'sms.decision-evaluations'),
    policyOverrides: topicName(prefix, 'sms.policy-overrides'),
    contentDecisions: topicName(prefix, 'sms.content-decisions'),
    contentOverrides: topicName(prefix, 'sms.content-overrides'),
    senderFeatures: topicName(prefix, 'sms.sender-features'),
    clusterFeatures: topicName(prefix, 'sms.cluster-features'),
    senderMinutes: topicName(prefix, 'sms.sender-minutes'),
    deadLetters: topicName(prefix, 'sms.dead-letters'),
  };
}

/** The Avro record each topic carries. */
export const RECORD_OF_TOPIC: Readonly<Record<keyof SinkTopics, RecordName>> = Object.freeze({
  decisionEvaluations: 'Decision',
  policyOverrides: 'PolicyOverride',
  contentDecisions: 'ContentDecision',
  contentOverrides: 'ContentOverride',
  senderFeatures: 'SenderFeatures',
  clusterFeatures: 'ClusterFeatures',
  senderMinutes: 'SenderMinute',
  deadLetters: 'DeadLetter',
});

/** The table each topic is written to. */
export const TABLE_OF_TOPIC: Readonly<Record<keyof SinkTopics, TableName>> = Object.freeze({
  decisionEvaluations: 'decisions',
  policyOverrides: 'policy_overrides',
  contentDecisions: 'content_decisions',
  contentOverrides: 'content_overrides',
  senderFeatures: 'sender_features',
  clusterFeatures: 'cluster_features',
  senderMinutes: 'sender_minute',
  deadLetters: 'dead_letters',
});
