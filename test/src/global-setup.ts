/**
 * node --test --test-global-setup: resolves the servers once for the whole run and exports
 * them to every test process through KAFKA_BROKERS and CLICKHOUSE_URL.
 */
import { type Infra, resolveInfra } from './infra.ts';

let infra: Infra | undefined;

export async function globalSetup(): Promise<void> {
  infra = await resolveInfra();
  process.env.KAFKA_BROKERS = infra.kafkaBrokers.join(',');
  process.env.CLICKHOUSE_URL = infra.clickhouseUrl;
  process.env.SPAMGATE_TEST_INFRA_SOURCE = infra.source;
}

export async function globalTeardown(): Promise<void> {
  await infra?.stop();
}
