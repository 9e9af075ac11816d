/**
 * node --test --test-global-setup: resolves the servers once for the whole run and exports
 * them to every test process through KAFKA_BROKERS (KAFKA_SECURED_BROKERS) and CLICKHOUSE_URL.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Infra, resolveInfra } from './infra.ts';
import { REPO_ROOT } from './versions.ts';

let infra: Infra | undefined;

export async function globalSetup(): Promise<void> {
  // The report's test opens its HTML in Debian's Chromium: installed here when missing, so that
  // the README's `npm ci && npm test` needs nothing else (idempotent, quick when present).
  if (!existsSync('/usr/bin/chromium')) {
    await promisify(execFile)('bash', [`${REPO_ROOT}infra/local/spamgate-local`, 'install', 'browser'], {
      timeout: 15 * 60_000,
    });
  }
  // The alerting rules' test runs promtool (Debian's prometheus package), likewise.
  const onPath = (tool: string) =>
    (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${tool}`));
  if (!onPath('promtool')) {
    await promisify(execFile)('bash', [`${REPO_ROOT}infra/local/spamgate-local`, 'install', 'promtool'], {
      timeout: 15 * 60_000,
    });
  }
  infra = await resolveInfra();
  process.env.KAFKA_BROKERS = infra.kafkaBrokers.join(',');
  if (infra.kafkaSecuredBrokers) process.env.KAFKA_SECURED_BROKERS = infra.kafkaSecuredBrokers.join(',');
  if (infra.kafkaTls) {
    process.env.KAFKA_TLS_BROKERS = infra.kafkaTls.brokers.join(',');
    process.env.KAFKA_MTLS_BROKERS = infra.kafkaTls.mtlsBrokers.join(',');
    process.env.KAFKA_TLS_CA_DIR = infra.kafkaTls.caDir;
  }
  process.env.CLICKHOUSE_URL = infra.clickhouseUrl;
  if (infra.clickhouseUsersSecrets) process.env.CLICKHOUSE_USERS_SECRETS = infra.clickhouseUsersSecrets;
  process.env.SPAMGATE_TEST_INFRA_SOURCE = infra.source;
}

export async function globalTeardown(): Promise<void> {
  await infra?.stop();
}
