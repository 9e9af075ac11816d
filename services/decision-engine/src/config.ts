/** The decision engine's settings, beyond the common ones (services/core commonSettings). */
import { fileURLToPath } from 'node:url';
import {
  type ConfigOf,
  hashKeySetting,
  SCHEMAS_TOPIC,
  setting,
  topicName,
  topicPrefixSetting,
} from '@spamgate/core';

export const decisionEngineSettings = {
  topicPrefix: topicPrefixSetting,
  groupId: setting.string({
    variable: 'SPAMGATE_DECISION_ENGINE_GROUP',
    doc: 'Consumer group of the decision engine; also the prefix of its transactional ids.',
    default: 'spamgate-decision-engine',
    pattern: /^[A-Za-z0-9._-]{1,200}$/,
  }),
  hashKey: hashKeySetting,
  policyFile: setting.string({
    variable: 'SPAMGATE_POLICY_FILE',
    doc: 'JSON policy in force (docs/policy.md); empty for infra/config/policy.json. Re-read when it changes; an invalid file never replaces a valid policy.',
    default: '',
  }),
  shadowPolicyFile: setting.string({
    variable: 'SPAMGATE_SHADOW_POLICY_FILE',
    doc: 'JSON policy evaluated in shadow beside the active one (written to sms.decision-evaluations with shadow=true, never enforced); empty for none.',
    default: '',
  }),
  doNotOriginateFile: setting.string({
    variable: 'SPAMGATE_DNO_FILE',
    doc: 'Do-Not-Originate list: one sender address per line, # comments; senders on it are blocked. Re-read when it changes; empty for none.',
    default: '',
  }),
  registrationsFile: setting.string({
    variable: 'SPAMGATE_REGISTRATIONS_FILE',
    doc: 'JSON file of registered throughput tiers and campaigns, shared with the feature engine (a registered sender over its cap is throttled at it); empty for infra/config/registrations.json.',
    default: '',
  }),
  reloadIntervalMs: setting.duration({
    variable: 'SPAMGATE_DECISION_RELOAD_INTERVAL',
    doc: 'How often the policy, shadow policy and Do-Not-Originate files are checked for changes.',
    default: '2s',
    minMs: 100,
    maxMs: 3_600_000,
  }),
  commitIntervalMs: setting.duration({
    variable: 'SPAMGATE_DECISION_COMMIT_INTERVAL',
    doc: 'Least time between two transactions of a partition (its evaluations, state and input offsets; decisions are published at once, without them). Shorter costs the broker more transactions, which delays the decisions sharing it (BENCHMARKS.md); longer delays evaluations and state, and leaves more input to re-derive after a crash.',
    default: '1s',
    minMs: 0,
    maxMs: 60_000,
  }),
  fetchWaitMs: setting.duration({
    variable: 'SPAMGATE_DECISION_FETCH_WAIT',
    doc: "How long a fetch waits for input to gather (up to 1 MiB) before returning what there is (Kafka's fetch.max.wait.ms with fetch.min.bytes): fewer, larger batches for a few milliseconds of latency; 0 returns as soon as anything arrives.",
    default: '20ms',
    minMs: 0,
    maxMs: 1_000,
  }),
  concurrency: setting.integer({
    variable: 'SPAMGATE_DECISION_PARTITION_CONCURRENCY',
    doc: 'Feature batches processed at once (each partition still one batch at a time).',
    default: '12',
    min: 1,
    max: 1024,
  }),
  maxSenders: setting.integer({
    variable: 'SPAMGATE_DECISION_MAX_SENDERS',
    doc: 'Senders held per instance (about 1.7 KB each); over it, the least recently active ALLOW senders are forgotten.',
    default: '1000000',
    min: 1_000,
    max: 1_000_000_000,
  }),
} as const;

export type DecisionEngineConfig = ConfigOf<typeof decisionEngineSettings>;

/** The policy file in force: the configured one, or the default in the repository. */
export function policyPath(config: Pick<DecisionEngineConfig, 'policyFile'>): string {
  return config.policyFile || fileURLToPath(new URL('../../../infra/config/policy.json', import.meta.url));
}

export interface DecisionEngineTopics {
  readonly features: string;
  readonly clusterFeatures: string;
  readonly overrides: string;
  readonly contentOverrides: string;
  readonly decisions: string;
  readonly contentDecisions: string;
  readonly evaluations: string;
  readonly state: string;
  readonly deadLetters: string;
  /** Writer schemas: where the engine registers what it writes and learns what newer releases wrote. */
  readonly schemas: string;
}

export function decisionEngineTopics(prefix: string): DecisionEngineTopics {
  return {
    features: topicName(prefix, 'sms.sender-features'),
    clusterFeatures: topicName(prefix, 'sms.cluster-features'),
    overrides: topicName(prefix, 'sms.policy-overrides'),
    contentOverrides: topicName(prefix, 'sms.content-overrides'),
    decisions: topicName(prefix, 'sms.decisions'),
    contentDecisions: topicName(prefix, 'sms.content-decisions'),
    evaluations: topicName(prefix, 'sms.decision-evaluations'),
    state: topicName(prefix, 'spamgate.decision-engine.state'),
    deadLetters: topicName(prefix, 'sms.dead-letters'),
    schemas: topicName(prefix, SCHEMAS_TOPIC),
  };
}
