/**
 * Where the integration tests find Kafka and ClickHouse, in this order:
 *   1. KAFKA_BROKERS and CLICKHOUSE_URL, when the user points the tests at existing servers
 *      (KAFKA_SECURED_BROKERS: the same cluster's SASL/SCRAM listener, for the security tests;
 *      KAFKA_TLS_BROKERS, KAFKA_MTLS_BROKERS and KAFKA_TLS_CA_DIR: its TLS listeners and their CA);
 *   2. testcontainers, when a Docker engine is reachable (apache/kafka and clickhouse images
 *      pinned in infra/versions.env);
 *   3. the infra/local servers, started if they are not running.
 * SPAMGATE_TEST_INFRA=env|testcontainers|local forces one. It says which it used, and if the
 * servers cannot be had the run fails with the reason: tests never skip for want of servers.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createClickHouse,
  createKafka,
  createLogger,
  type Logger,
  waitForClickHouse,
  waitForKafka,
} from '@spamgate/core';
import { REPO_ROOT, readVersions } from './versions.ts';

const run = promisify(execFile);

export type InfraSource = 'env' | 'testcontainers' | 'local';

export interface KafkaTls {
  readonly brokers: readonly string[];
  readonly mtlsBrokers: readonly string[];
  readonly caDir: string;
}

export interface Infra {
  readonly source: InfraSource;
  readonly kafkaBrokers: readonly string[];
  /**
   * The same cluster's SASL/SCRAM listener, where ACLs apply (the security tests); undefined
   * when pointed at servers by KAFKA_BROKERS without KAFKA_SECURED_BROKERS.
   */
  readonly kafkaSecuredBrokers: readonly string[] | undefined;
  /**
   * The same cluster's TLS listeners, SASL/SCRAM over TLS and mutual TLS, and the directory of
   * the CA their certificates come from (ca.pem, and ca.key to issue client certificates with).
   */
  readonly kafkaTls: KafkaTls | undefined;
  readonly clickhouseUrl: string;
  /**
   * Where the passwords of the least-privilege ClickHouse users are (spamgate_sink.password,
   * spamgate_analyst.password; infra/clickhouse/users.d), whose database is `spamgate`; undefined
   * when pointed at servers by CLICKHOUSE_URL without CLICKHOUSE_USERS_SECRETS.
   */
  readonly clickhouseUsersSecrets: string | undefined;
  /** Stops what this process started (containers); local servers are left running. */
  stop(): Promise<void>;
}

export class InfraUnavailableError extends Error {
  override name = 'InfraUnavailableError';
}

function note(message: string): void {
  process.stderr.write(`[spamgate test infra] ${message}\n`);
}

async function dockerReachable(): Promise<boolean> {
  if (
    !process.env.DOCKER_HOST &&
    !existsSync('/var/run/docker.sock') &&
    !existsSync(`${process.env.HOME}/.docker/run/docker.sock`)
  ) {
    return false;
  }
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** infra/clickhouse/users.d rendered with fresh passwords, kept in a directory of their own. */
function renderClickHouseUsers(): { xml: string; secrets: string } {
  const secrets = mkdtempSync(join(tmpdir(), 'spamgate-clickhouse-users-'));
  const hashes: Record<string, string> = {};
  for (const user of ['spamgate_sink', 'spamgate_analyst']) {
    const password = randomBytes(24).toString('base64url');
    writeFileSync(join(secrets, `${user}.password`), password, { mode: 0o600 });
    hashes[user] = createHash('sha256').update(password).digest('hex');
  }
  const xml = readFileSync(`${REPO_ROOT}infra/clickhouse/users.d/spamgate-users.xml.in`, 'utf8')
    .replaceAll('@SINK_PASSWORD_SHA256@', hashes.spamgate_sink!)
    .replaceAll('@ANALYST_PASSWORD_SHA256@', hashes.spamgate_analyst!)
    .replaceAll('@DATABASE@', 'spamgate');
  return { xml, secrets };
}

async function startContainers(): Promise<Infra> {
  const versions = readVersions();
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafkaPort = await freePort();
  const securedPort = await freePort();
  const tlsPort = await freePort();
  const mtlsPort = await freePort();
  // The CA and broker certificate, made on this machine as infra/local makes them, copied in.
  const caDir = mkdtempSync(join(tmpdir(), 'spamgate-kafka-tls-'));
  await run('bash', [`${REPO_ROOT}infra/local/spamgate-local`, 'tls-init', caDir], { timeout: 15 * 60_000 });
  // As infra/local/kafka/server.properties.in: an anonymous super-user listener, and SCRAM, SCRAM
  // over TLS and mutual TLS ones with ACLs (the apache/kafka image maps KAFKA_ variables to properties: _ for ., __ for _, ___ for -).
  const kafka = await new GenericContainer(versions.KAFKA_IMAGE ?? 'apache/kafka')
    .withExposedPorts(
      { container: 9092, host: kafkaPort },
      { container: 9094, host: securedPort },
      { container: 9095, host: tlsPort },
      { container: 9096, host: mtlsPort },
    )
    .withCopyFilesToContainer(
      ['broker-keystore.pem', 'ca.pem'].map((f) => ({
        source: join(caDir, f),
        target: `/etc/kafka/spamgate-tls/${f}`,
      })),
    )
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS:
        'PLAINTEXT://:9092,CONTROLLER://:9093,SASL_PLAINTEXT://:9094,SASL_SSL://:9095,SSL://:9096',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort},SASL_PLAINTEXT://127.0.0.1:${securedPort},SASL_SSL://127.0.0.1:${tlsPort},SSL://127.0.0.1:${mtlsPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
        'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL',
      KAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512',
      KAFKA_LISTENER_NAME_SASL__PLAINTEXT_SCRAM___SHA___512_SASL_JAAS_CONFIG:
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      KAFKA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___512_SASL_JAAS_CONFIG:
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      KAFKA_SSL_KEYSTORE_TYPE: 'PEM',
      KAFKA_SSL_KEYSTORE_LOCATION: '/etc/kafka/spamgate-tls/broker-keystore.pem',
      KAFKA_SSL_TRUSTSTORE_TYPE: 'PEM',
      KAFKA_SSL_TRUSTSTORE_LOCATION: '/etc/kafka/spamgate-tls/ca.pem',
      KAFKA_LISTENER_NAME_SSL_SSL_CLIENT_AUTH: 'required',
      KAFKA_SSL_PRINCIPAL_MAPPING_RULES: 'RULE:^CN=([^,]+).*$/$1/,DEFAULT',
      KAFKA_AUTHORIZER_CLASS_NAME: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      KAFKA_SUPER_USERS: 'User:ANONYMOUS',
      KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const users = renderClickHouseUsers();
  const clickhouse = await new GenericContainer(versions.CLICKHOUSE_IMAGE ?? 'clickhouse/clickhouse-server')
    .withExposedPorts(8123)
    .withCopyContentToContainer([
      { content: users.xml, target: '/etc/clickhouse-server/users.d/spamgate-users.xml' },
    ])
    .withEnvironment({ CLICKHOUSE_SKIP_USER_SETUP: '1' })
    .withWaitStrategy(Wait.forHttp('/ping', 8123).forStatusCode(200))
    .start();
  return {
    source: 'testcontainers',
    kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
    kafkaSecuredBrokers: [`127.0.0.1:${securedPort}`],
    kafkaTls: { brokers: [`127.0.0.1:${tlsPort}`], mtlsBrokers: [`127.0.0.1:${mtlsPort}`], caDir },
    clickhouseUrl: `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`,
    clickhouseUsersSecrets: users.secrets,
    async stop() {
      await Promise.allSettled([kafka.stop(), clickhouse.stop()]);
    },
  };
}

async function startLocal(): Promise<Infra> {
  const script = `${REPO_ROOT}infra/local/spamgate-local`;
  try {
    await run('bash', [script, 'up'], { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new InfraUnavailableError(
      `could not start the local Kafka and ClickHouse with ${script} up:\n${e.stderr ?? e.message}\n` +
        'Fix the cause above, or point the tests at running servers with KAFKA_BROKERS and CLICKHOUSE_URL.',
    );
  }
  return {
    source: 'local',
    kafkaBrokers: [`127.0.0.1:${process.env.SPAMGATE_KAFKA_PORT || '9092'}`],
    kafkaSecuredBrokers: [`127.0.0.1:${process.env.SPAMGATE_KAFKA_SECURED_PORT || '9094'}`],
    kafkaTls: {
      brokers: [`127.0.0.1:${process.env.SPAMGATE_KAFKA_TLS_PORT || '9095'}`],
      mtlsBrokers: [`127.0.0.1:${process.env.SPAMGATE_KAFKA_MTLS_PORT || '9096'}`],
      caDir: `${process.env.SPAMGATE_LOCAL_DIR || `${REPO_ROOT}.local`}/kafka/tls`,
    },
    clickhouseUrl: `http://127.0.0.1:${process.env.SPAMGATE_CLICKHOUSE_HTTP_PORT || '8123'}`,
    clickhouseUsersSecrets: `${process.env.SPAMGATE_LOCAL_DIR || `${REPO_ROOT}.local`}/clickhouse/secrets`,
    async stop() {},
  };
}

/** KAFKA_TLS_BROKERS, KAFKA_MTLS_BROKERS and KAFKA_TLS_CA_DIR, all three or none. */
function kafkaTlsFromEnv(): KafkaTls | undefined {
  const { KAFKA_TLS_BROKERS: tls, KAFKA_MTLS_BROKERS: mtls, KAFKA_TLS_CA_DIR: caDir } = process.env;
  if (!tls || !mtls || !caDir) return undefined;
  const list = (s: string) => s.split(',').map((b) => b.trim());
  return { brokers: list(tls), mtlsBrokers: list(mtls), caDir };
}

function fromEnv(): Infra | undefined {
  const brokers = process.env.KAFKA_BROKERS;
  const url = process.env.CLICKHOUSE_URL;
  if (!brokers || !url) return undefined;
  return {
    source: 'env',
    kafkaBrokers: brokers.split(',').map((b) => b.trim()),
    kafkaSecuredBrokers: process.env.KAFKA_SECURED_BROKERS?.split(',').map((b) => b.trim()),
    kafkaTls: kafkaTlsFromEnv(),
    clickhouseUrl: url,
    clickhouseUsersSecrets: process.env.CLICKHOUSE_USERS_SECRETS,
    async stop() {},
  };
}

/** Proves both servers answer (coordinators included) before any test runs. */
async function verify(infra: Infra, logger: Logger): Promise<void> {
  const timeoutMs = 120_000;
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'spamgate-test-probe', logger });
  const clickhouse = createClickHouse({ url: infra.clickhouseUrl, logger });
  try {
    await waitForKafka(kafka, { timeoutMs });
    const version = await waitForClickHouse(clickhouse, { timeoutMs });
    note(
      `using ${infra.source} servers: Kafka ${infra.kafkaBrokers.join(',')}, ClickHouse ${version} at ${infra.clickhouseUrl}`,
    );
  } catch (err) {
    throw new InfraUnavailableError(
      `${infra.source} servers (Kafka ${infra.kafkaBrokers.join(',')}, ClickHouse ${infra.clickhouseUrl}) did not answer: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  } finally {
    await clickhouse.close();
  }
}

/** Finds or starts the servers, following the order above, and checks that they answer. */
export async function resolveInfra(): Promise<Infra> {
  const forced = process.env.SPAMGATE_TEST_INFRA as InfraSource | undefined;
  const logger = createLogger({ service: 'test-infra', instanceId: String(process.pid), level: 'error' });
  let infra: Infra | undefined;
  if (forced === 'env' || (!forced && fromEnv())) {
    infra = fromEnv();
    if (!infra)
      throw new InfraUnavailableError('SPAMGATE_TEST_INFRA=env needs KAFKA_BROKERS and CLICKHOUSE_URL');
  } else if (forced === 'testcontainers' || (!forced && (await dockerReachable()))) {
    note('a Docker engine is reachable: starting Kafka and ClickHouse with testcontainers');
    infra = await startContainers();
  } else {
    if (!forced) note('no KAFKA_BROKERS/CLICKHOUSE_URL and no Docker engine: using infra/local servers');
    infra = await startLocal();
  }
  await verify(infra, logger);
  return infra;
}

let shared: Promise<Infra> | undefined;

/**
 * The servers for this test process. Under `npm test` the global setup resolved them once and
 * exported KAFKA_BROKERS and CLICKHOUSE_URL, so this returns at once.
 */
export function getInfra(): Promise<Infra> {
  shared ??= resolveInfra();
  return shared;
}
