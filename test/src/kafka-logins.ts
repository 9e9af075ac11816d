/**
 * SCRAM-SHA-512 logins on the test cluster's secured listener, one per test and role, so the
 * security tests run against the broker's own authentication and ACLs. Logins are set with
 * Kafka's ConfigCommand (infra/local/spamgate-local scram-user) through the anonymous
 * super-user listener; passwords live in files, as services read them (SPAMGATE_*_FILE).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commonSettings, createKafka, type KafkaSecurity, kafkaSecurityOf, loadConfig } from '@spamgate/core';
import type { Kafka } from 'kafkajs';
import { testLogger, uniqueName } from './helpers.ts';
import { getInfra, type KafkaTls } from './infra.ts';
import { REPO_ROOT } from './versions.ts';

const run = promisify(execFile);

export interface KafkaLogin {
  readonly username: string;
  /** As the broker's authorizer names it: User:<username>. */
  readonly principal: string;
  readonly passwordFile: string;
  readonly security: KafkaSecurity;
  /** The settings a service or CLI needs to log in as it. */
  readonly env: Readonly<Record<string, string>>;
}

/** The secured listener, or a clear failure: the security tests never skip. */
export async function securedBrokers(): Promise<readonly string[]> {
  const infra = await getInfra();
  if (!infra.kafkaSecuredBrokers) {
    throw new Error(
      "the security tests need the cluster's SASL/SCRAM listener: set KAFKA_SECURED_BROKERS beside KAFKA_BROKERS (infra/local listens on 127.0.0.1:9094)",
    );
  }
  return infra.kafkaSecuredBrokers;
}

let dir: string | undefined;

/** A new login named after `role` (unique per call), ready to authenticate when this returns. */
export async function createKafkaLogin(role: string): Promise<KafkaLogin> {
  const infra = await getInfra();
  const brokers = await securedBrokers();
  const username = uniqueName(role);
  dir ??= mkdtempSync(join(tmpdir(), 'spamgate-logins-'));
  const passwordFile = join(dir, `${username}.password`);
  writeFileSync(passwordFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  await run('bash', [`${REPO_ROOT}infra/local/spamgate-local`, 'scram-user', username, passwordFile], {
    env: { ...process.env, SPAMGATE_SCRAM_BOOTSTRAP: infra.kafkaBrokers[0] },
    timeout: 15 * 60_000,
  });
  const env = {
    SPAMGATE_KAFKA_BROKERS: brokers.join(','),
    SPAMGATE_KAFKA_SECURITY: 'sasl_plaintext',
    SPAMGATE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    SPAMGATE_KAFKA_SASL_USERNAME: username,
    SPAMGATE_KAFKA_SASL_PASSWORD_FILE: passwordFile,
  };
  // The client options a service makes of these settings (core's kafkaSecurityOf), not a copy.
  const security = kafkaSecurityOf(loadConfig(commonSettings, env));
  const login: KafkaLogin = { username, principal: `User:${username}`, passwordFile, security, env };
  await untilAuthenticated(login, brokers);
  return login;
}

/** A client on the secured listener that logs in as `login`. */
export function securedKafka(login: KafkaLogin, brokers: readonly string[]): Kafka {
  return createKafka({
    brokers,
    clientId: `test-${login.username}`,
    logger: testLogger(),
    retry: { retries: 0 },
    security: login.security,
  });
}

/** The broker learns a new credential through its metadata log: wait until it takes it. */
async function untilAuthenticated(login: KafkaLogin, brokers: readonly string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const admin = securedKafka(login, brokers).admin();
    try {
      await admin.connect();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

/** The TLS listeners and their CA, or a clear failure: the security tests never skip. */
export async function tlsListeners(): Promise<KafkaTls> {
  const infra = await getInfra();
  if (!infra.kafkaTls) {
    throw new Error(
      "the TLS tests need the cluster's TLS listeners and their CA: set KAFKA_TLS_BROKERS, KAFKA_MTLS_BROKERS and KAFKA_TLS_CA_DIR (infra/local: 127.0.0.1:9095, 127.0.0.1:9096, .local/kafka/tls)",
    );
  }
  return infra.kafkaTls;
}

export interface ClientCertificate {
  /** The certificate's CN, which the mutual-TLS listener takes as the principal's name. */
  readonly name: string;
  readonly principal: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A client certificate from the listeners' CA, CN unique per call and named after `role`. */
export async function createClientCertificate(role: string): Promise<ClientCertificate> {
  const tls = await tlsListeners();
  const name = uniqueName(role);
  dir ??= mkdtempSync(join(tmpdir(), 'spamgate-logins-'));
  await run('bash', [`${REPO_ROOT}infra/local/spamgate-local`, 'tls-client', name, dir], {
    env: { ...process.env, SPAMGATE_TLS_CA_DIR: tls.caDir },
    timeout: 15 * 60_000,
  });
  return {
    name,
    principal: `User:${name}`,
    certFile: join(dir, `${name}.pem`),
    keyFile: join(dir, `${name}.key`),
  };
}
