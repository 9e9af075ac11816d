// docker-compose.yml cannot be run here (no Docker engine), so this pins what can be checked
// without one: it parses, its images are the pinned ones, and what it hands the services is
// what the code reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { commonSettings } from '@spamgate/core';
import { REPO_ROOT, readVersions } from '@spamgate/test';
import { parse } from 'yaml';
import { clickHouseSinkSettings } from '../../services/clickhouse-sink/src/config.ts';
import { decisionEngineSettings } from '../../services/decision-engine/src/config.ts';
import { featureEngineSettings } from '../../services/feature-engine/src/config.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const versions = readVersions();
const knownVariables = new Set(
  [
    ...Object.values(commonSettings),
    ...Object.values(featureEngineSettings),
    ...Object.values(decisionEngineSettings),
    ...Object.values(clickHouseSinkSettings),
  ].map((s) => s.variable),
);

test('docker-compose.yml runs the pinned Kafka and ClickHouse images with healthchecks', () => {
  const { kafka, clickhouse } = compose.services;
  assert.equal(kafka?.image, versions.KAFKA_IMAGE);
  assert.equal(clickhouse?.image, versions.CLICKHOUSE_IMAGE);
  assert.ok(kafka?.healthcheck && clickhouse?.healthcheck);
  assert.ok(kafka.ports?.includes('127.0.0.1:9092:9092'), 'Kafka on the same host port as infra/local');
  assert.ok(
    clickhouse.ports?.includes('127.0.0.1:8123:8123'),
    'ClickHouse HTTP on the same host port as infra/local',
  );
  assert.equal(kafka.environment?.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR, '1');
  assert.equal(kafka.environment?.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR, '1');
  assert.equal(kafka.environment?.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '1');
});

test('every spamgate container gets only variables the code reads, pointing at the compose servers', () => {
  const spamgate = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
  assert.ok(spamgate.length > 0, 'at least one spamgate service is built from the Dockerfile');
  const kafkaListeners = compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? '';
  for (const [name, service] of spamgate) {
    const env = service.environment ?? {};
    for (const variable of Object.keys(env)) {
      if (variable.startsWith('SPAMGATE_'))
        assert.ok(knownVariables.has(variable), `${name}: ${variable} is not read by any setting`);
    }
    const brokers = env.SPAMGATE_KAFKA_BROKERS ?? '';
    assert.ok(
      kafkaListeners.includes(`//${brokers}`),
      `${name}: brokers ${brokers} is an advertised listener`,
    );
    assert.equal(env.SPAMGATE_CLICKHOUSE_URL, 'http://clickhouse:8123');
    assert.equal(service.depends_on?.kafka?.condition, 'service_healthy');
    assert.equal(service.depends_on?.clickhouse?.condition, 'service_healthy');
  }
});

test('the feature engine runs in compose after topics and tables exist', () => {
  const fe = compose.services['feature-engine'];
  assert.ok(fe, 'a feature-engine service');
  assert.ok(fe.environment?.SPAMGATE_HASH_KEY, 'it gets a hash key');
  // The same one in every service, and no default: a key published in this file is no secret.
  for (const name of ['feature-engine', 'decision-engine', 'clickhouse-sink']) {
    const key = compose.services[name]?.environment?.SPAMGATE_HASH_KEY;
    assert.match(
      String(key),
      /^\$\{SPAMGATE_HASH_KEY:\?[^}]+\}$/,
      `${name}: SPAMGATE_HASH_KEY required, no default`,
    );
  }
  assert.equal(fe.depends_on?.init?.condition, 'service_completed_successfully');
});

test('the Dockerfile builds from the pinned Node image', () => {
  const dockerfile = readFileSync(`${REPO_ROOT}Dockerfile`, 'utf8');
  assert.match(dockerfile, new RegExp(`ARG NODE_IMAGE=${versions.NODE_IMAGE}\\n`));
});
