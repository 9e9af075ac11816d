export { mulberry32, seededRandom } from '@spamgate/core';
export { fmt, gist, logTime, metricValue, procStats, quantile, sleep, until } from './bench-support.ts';
export { docQueries } from './doc-queries.ts';
export { exportedMetricNames, unexportedMetrics } from './exported-metrics.ts';
export {
  createMigratedTestDatabase,
  createTestDatabase,
  createTestTopic,
  eventually,
  TEST_HASH_KEY,
  type TestDatabase,
  testKafka,
  testLogger,
  uniqueName,
} from './helpers.ts';
export { type HostileRecord, type HostileRecords, hostileCode, hostileRecords } from './hostile-records.ts';
export {
  getInfra,
  type Infra,
  type InfraSource,
  InfraUnavailableError,
  type KafkaTls,
  resolveInfra,
} from './infra.ts';
export {
  type ClientCertificate,
  createClientCertificate,
  createKafkaLogin,
  type KafkaLogin,
  securedBrokers,
  securedKafka,
  tlsListeners,
} from './kafka-logins.ts';
export { assertLagMetrics } from './lag-metrics.ts';
export { removeGroupMember } from './leave-group.ts';
export { type NewerRelease, newerRelease, type RecordSchema } from './newer-release.ts';
export {
  findSecrets,
  type Leak,
  readSecrets,
  type Secrets,
  scanForLeaks,
  secretsOf,
} from './privacy-scan.ts';
export { type PrivateClickHouse, startPrivateClickHouse } from './private-clickhouse.ts';
export { type LogLine, type ServiceProcess, settingsList, spawnService } from './process.ts';
export { REPO_ROOT, readVersions } from './versions.ts';
