// First: kafkajs must not load before its fixes are installed (see the modules).
import './kafkajs-fixes.ts';

export { Reader, StateCodecError, Writer } from './binary-state.ts';
export {
  type ClickHouseClient,
  type ClickHouseOptions,
  clickHouseErrorCode,
  createClickHouse,
  waitForClickHouse,
} from './clickhouse.ts';
export { clickhousePasswordOf } from './clickhouse-password.ts';
export {
  type CommitSchedule,
  type CommitScheduleOptions,
  createCommitSchedule,
} from './commit-schedule.ts';
export {
  type ConfigOf,
  type ConfigSpec,
  commonSettings,
  describeConfig,
  type Env,
  kafkaSecuritySettings,
  loadConfig,
  type ParseResult,
  parseDuration,
  type Setting,
  setting,
} from './config.ts';
export {
  type BatchConsumer,
  type BatchConsumerOptions,
  type BatchControls,
  type ConsumerBatch,
  createBatchConsumer,
} from './consumer.ts';
export * from './content/index.ts';
export { crc32c } from './crc32c.ts';
export {
  type DeadLetterFields,
  deadLetterOf,
  isBadInput,
  writerFingerprintOf,
} from './dead-letter.ts';
export { type DirectReadOptions, readTopicDirect } from './direct-read.ts';
export {
  ConfigError,
  type ConfigProblem,
  ConnectTimeoutError,
  describeError,
  ShutdownTimeoutError,
  SpamgateError,
  type SpamgateErrorOptions,
  SqlValueError,
} from './errors.ts';
export { fetchWait } from './fetch-wait.ts';
export * from './firewall/index.ts';
export {
  createInputPositions,
  followPositions,
  type InputPositions,
  inputLags,
} from './input-positions.ts';
export {
  createKafka,
  type KafkaOptions,
  TRANSACTIONAL_PRODUCER_RETRY,
  waitForKafka,
  waitForTopicLeaders,
} from './kafka.ts';
export { type KafkaSecurity, type KafkaSecurityConfig, kafkaSecurityOf } from './kafka-security.ts';
export { filterAbortedMessages } from './kafkajs-read-committed.ts';
export { createLifecycle, type Lifecycle, type LifecycleOptions } from './lifecycle.ts';
export {
  censorText,
  createLogger,
  type Logger,
  type LoggerOptions,
  NUMBER_CENSOR,
  PRIVATE_FIELDS,
  REDACTION_CENSOR,
  redactForLog,
} from './logger.ts';
export { Counter, createMetricsRegistry, Gauge, Histogram, instrumentConsumer, Registry } from './metrics.ts';
export { createOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from './ops-server.ts';
export {
  contentKeySetting,
  createSubscriberHasher,
  HashKeyMismatchError,
  HashKeyRotationError,
  hashKeyId,
  hashKeySetting,
  hashKeyTag,
  MIN_HASH_KEY_BYTES,
  normaliseAddress,
  previousHashKeySetting,
  type SubscriberHasher,
  weakHashKey,
} from './privacy.ts';
export { MAX_REQUEST_BYTES, partitionOfKey, requestsOf, type TopicMessages } from './produce.ts';
export { mulberry32, seededRandom } from './random.ts';
export { checkRecordKey, KeyMismatchError } from './record-key.ts';
export { backoffDelay, type RetryOptions, retry } from './retry.ts';
export {
  createSchemaCatalog,
  publishMissingSchemas,
  readSchemaTopic,
  registerSchemas,
  SCHEMA_HEADERS,
  SCHEMAS_TOPIC,
  type SchemaCatalog,
  type SchemaCatalogOptions,
  type SchemaLearner,
  SchemaRegistrationError,
  type StoredSchema,
  type WriterSchema,
} from './schema-topic.ts';
export {
  type CommonConfig,
  createServiceContext,
  EXIT_CONFIG,
  runMain,
  type ServiceContext,
  type ServiceOptions,
} from './service.ts';
export { SqlFragment, type SqlValue, sql, sqlIdentifier, sqlLiteral, sqlString, sqlTable } from './sql.ts';
export { topicName, topicPrefixSetting } from './topic-name.ts';
export { type FollowedTopic, followTopic, readToEnd, type TopicRecords } from './topic-reader.ts';
export {
  committedOffsets,
  openFencedProducer,
  partitionEnd,
  partitionStart,
  sendInTransaction,
} from './transactional.ts';
