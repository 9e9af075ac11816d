/** The feature engine's settings, beyond the common ones (services/core commonSettings). */
import {
  type ConfigOf,
  contentKeySetting,
  hashKeySetting,
  previousHashKeySetting,
  SCHEMAS_TOPIC,
  setting,
  topicName,
  topicPrefixSetting,
} from '@spamgate/core';

export const featureEngineSettings = {
  topicPrefix: topicPrefixSetting,
  inputTopicPrefix: setting.optionalString({
    variable: 'SPAMGATE_INPUT_TOPIC_PREFIX',
    doc: 'Prefix of the two input topics only, when not SPAMGATE_TOPIC_PREFIX: a canary, replay or benchmark engine reading the live input into its own topics',
    pattern: /^[A-Za-z0-9._-]{0,100}$/,
    expected: 'up to 100 characters from A-Z a-z 0-9 . _ -',
  }),
  groupId: setting.string({
    variable: 'SPAMGATE_FEATURE_ENGINE_GROUP',
    doc: 'Consumer group of the feature engine; also the prefix of its transactional ids.',
    default: 'spamgate-feature-engine',
    pattern: /^[A-Za-z0-9._-]{1,200}$/,
  }),
  hashKey: hashKeySetting,
  previousHashKey: previousHashKeySetting,
  contentKey: contentKeySetting,
  allowedLatenessMs: setting.duration({
    variable: 'SPAMGATE_ALLOWED_LATENESS',
    doc: 'How far behind the newest event an event may be and still count on time (watermark lag).',
    default: '30s',
    maxMs: 86_400_000,
  }),
  emitIntervalMs: setting.duration({
    variable: 'SPAMGATE_EMIT_INTERVAL',
    doc: 'Least event time between two SenderFeatures of one sender.',
    default: '1s',
    minMs: 100,
    maxMs: 3_600_000,
  }),
  maxFutureSkewMs: setting.duration({
    variable: 'SPAMGATE_MAX_FUTURE_SKEW',
    doc: 'Events further ahead of the wall clock than this are dead-lettered.',
    default: '5m',
    minMs: 1_000,
  }),
  idleAdvanceMs: setting.duration({
    variable: 'SPAMGATE_IDLE_ADVANCE',
    doc: 'A partition read to its end and without input for this long moves its watermark with the wall clock, so windows close.',
    default: '10s',
    minMs: 100,
  }),
  commitIntervalMs: setting.duration({
    variable: 'SPAMGATE_FEATURE_COMMIT_INTERVAL',
    doc: "Least time between two transactions of a partition (its outputs, changed state and input offsets). Input is processed as it arrives; what it produces is published by the partition's next transaction. Shorter publishes sooner and costs the broker more transactions; longer leaves more input to re-derive after a crash.",
    default: '100ms',
    minMs: 0,
    maxMs: 60_000,
  }),
  fetchWaitMs: setting.duration({
    variable: 'SPAMGATE_FEATURE_FETCH_WAIT',
    doc: "How long a fetch waits for input to gather (up to 1 MiB) before returning what there is (Kafka's fetch.max.wait.ms with fetch.min.bytes): fewer, larger batches for a few milliseconds of latency; 0 returns as soon as anything arrives.",
    default: '20ms',
    minMs: 0,
    maxMs: 1_000,
  }),
  maxUncommittedEvents: setting.integer({
    variable: 'SPAMGATE_FEATURE_MAX_UNCOMMITTED',
    doc: "Input events a partition may hold processed but not yet committed: beyond it, the consumer waits for the partition's running transaction (bounds the memory of pending outputs).",
    default: '20000',
    min: 1,
    max: 10_000_000,
  }),
  concurrency: setting.integer({
    variable: 'SPAMGATE_PARTITION_CONCURRENCY',
    doc: 'Input batches processed at once (each partition still one batch at a time).',
    default: '12',
    min: 1,
    max: 1024,
  }),
  stateBudgetMb: setting.integer({
    variable: 'SPAMGATE_STATE_BUDGET_MB',
    doc: 'Hard budget for sender state per instance, in MiB (estimated heap); beyond it the least active senders are shed. Size the heap above it (Kafka buffers, batches).',
    default: '2048',
    min: 1,
    max: 1_048_576,
  }),
  registrationsFile: setting.string({
    variable: 'SPAMGATE_REGISTRATIONS_FILE',
    doc: 'JSON file of registered throughput tiers and campaigns (registeredCapShare); empty for the example shipped in infra/config/registrations.json.',
    default: '',
  }),
  replyDelayMs: setting.duration({
    variable: 'SPAMGATE_REPLY_DELAY',
    doc: "A recipient's message within this long after the sender's message is a reply to it (replyRate, optOuts).",
    default: '72h',
    minMs: 60_000,
  }),
  contactLookbackMs: setting.duration({
    variable: 'SPAMGATE_CONTACT_LOOKBACK',
    doc: 'A recipient who messaged the sender within this look-back is a contact: messages to them never count as new contacts.',
    default: '720h',
    minMs: 60_000,
  }),
  optOutRetentionMs: setting.duration({
    variable: 'SPAMGATE_OPT_OUT_RETENTION',
    doc: "How long an opt-out is remembered after the sender's last activity, unless revoked (START, UNSTOP), for postOptOutSends.",
    default: '8760h',
    minMs: 60_000,
  }),
  utcOffsetHours: setting.integer({
    variable: 'SPAMGATE_RECIPIENT_UTC_OFFSET',
    doc: "Recipients' UTC offset in hours, for the quiet-hours share.",
    default: '0',
    min: -12,
    max: 14,
  }),
} as const;

export type FeatureEngineConfig = ConfigOf<typeof featureEngineSettings>;

/** The name a catalog topic has under the prefix (services/core/src/topic-name.ts). */
export { topicName } from '@spamgate/core';

export interface FeatureEngineTopics {
  readonly messages: string;
  readonly feedback: string;
  readonly features: string;
  readonly minutes: string;
  readonly changelog: string;
  readonly deadLetters: string;
  /** Internal: every message re-keyed by its recipient (ReceivedMessage), for replies and opt-outs. */
  readonly byRecipient: string;
  /** Internal: messages and outcomes re-keyed by content cluster (ClusterEvent), for snowshoe. */
  readonly byCluster: string;
  readonly clusterFeatures: string;
  /** Writer schemas: where the engine registers what it writes and learns what newer releases wrote. */
  readonly schemas: string;
}

/** The engine's topics under `prefix`; the two inputs under `inputPrefix` when it is given. */
export function featureEngineTopics(prefix: string, inputPrefix = prefix): FeatureEngineTopics {
  return {
    messages: topicName(inputPrefix, 'sms.message-events'),
    feedback: topicName(inputPrefix, 'sms.feedback-events'),
    features: topicName(prefix, 'sms.sender-features'),
    minutes: topicName(prefix, 'sms.sender-minutes'),
    changelog: topicName(prefix, 'spamgate.feature-engine.changelog'),
    deadLetters: topicName(prefix, 'sms.dead-letters'),
    byRecipient: topicName(prefix, 'spamgate.feature-engine.by-recipient'),
    byCluster: topicName(prefix, 'spamgate.feature-engine.by-cluster'),
    clusterFeatures: topicName(prefix, 'sms.cluster-features'),
    schemas: topicName(prefix, SCHEMAS_TOPIC),
  };
}
