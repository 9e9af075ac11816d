// The secured listener (SASL/SCRAM-SHA-512 with ACLs from the topic catalog, `npm run topics --
// --acls`) against the real broker: each principal may do what the catalog says and nothing
// else. Only the decision engine writes sms.decisions (a forged ALLOW is refused); only operators
// write overrides, and an override records the principal that wrote it. The pipeline itself runs
// under these ACLs in the demo test.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { commonSettings, createKafka, kafkaSecurityOf, loadConfig } from '@spamgate/core';
import { createCodec, type Decision, type PolicyOverride } from '@spamgate/schemas';
import {
  type ClientCertificate,
  createClientCertificate,
  createKafkaLogin,
  type KafkaLogin,
  securedBrokers,
  securedKafka,
  testKafka,
  testLogger,
  tlsListeners,
  uniqueName,
} from '@spamgate/test';
import type { Kafka } from 'kafkajs';
import { type AclDeployment, aclBindings, applyAcls, CLI_GROUP_PREFIX } from '../../infra/kafka/acls.ts';
import { provisionTopics } from '../../infra/kafka/provision.ts';
import { TOPICS, topicName } from '../../infra/kafka/topics.ts';
import { runCli } from '../../services/decision-engine/src/cli.ts';

const prefix = uniqueName('secured');
const topic = (name: string) => topicName(prefix, name);
const codec = createCodec();
let brokers: readonly string[];
let decisionEngine: KafkaLogin;
let sink: KafkaLogin;
let operator: KafkaLogin;
let ingest: KafkaLogin;
let firewall: KafkaLogin;
let stranger: KafkaLogin;
let nocCert: ClientCertificate;
let strangerCert: ClientCertificate;

before(async () => {
  const admin = (await testKafka()).admin();
  await provisionTopics({ kafka: await testKafka(), catalog: TOPICS, prefix, logger: testLogger() });
  brokers = await securedBrokers();
  const logins = await Promise.all(
    ['decision-engine', 'sink', 'operator', 'ingest', 'firewall', 'stranger'].map(createKafkaLogin),
  );
  [nocCert, strangerCert] = (await Promise.all(['noc', 'stranger'].map(createClientCertificate))) as [
    ClientCertificate,
    ClientCertificate,
  ];
  [decisionEngine, sink, operator, ingest, firewall, stranger] = logins as [
    KafkaLogin,
    KafkaLogin,
    KafkaLogin,
    KafkaLogin,
    KafkaLogin,
    KafkaLogin,
  ];
  const deployment: AclDeployment = {
    topicPrefix: prefix,
    principals: {
      ingest: [ingest.principal],
      'feature-engine': [],
      'decision-engine': [decisionEngine.principal],
      'clickhouse-sink': [sink.principal],
      // An operator who logs in with a certificate (mutual TLS) beside one with a password.
      operator: [operator.principal, nocCert.principal],
      enforcement: [firewall.principal],
    },
    groupPrefixes: {
      ingest: null,
      'feature-engine': `${prefix}-fe`,
      'decision-engine': `${prefix}-de`,
      'clickhouse-sink': `${prefix}-sink`,
      operator: CLI_GROUP_PREFIX,
      enforcement: `${prefix}-firewall`,
    },
  };
  await admin.connect();
  try {
    await applyAcls(admin, aclBindings(TOPICS, deployment), testLogger());
  } finally {
    await admin.disconnect();
  }
});

function as(login: KafkaLogin): Kafka {
  return securedKafka(login, brokers);
}

async function send(login: KafkaLogin, name: string, key: string, value: Buffer | null): Promise<void> {
  // An idempotent producer needs retries; an authorization failure is never retried.
  const producer = as(login).producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
  try {
    await producer.connect();
    await producer.send({ topic: topic(name), acks: -1, messages: [{ key, value }] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * The broker's refusal, as kafkajs words it: TOPIC_AUTHORIZATION_FAILED, or for a principal that
 * may write no topic at all, CLUSTER_AUTHORIZATION_FAILED when its idempotent producer starts.
 */
const REFUSED = /Not authorized to access topics|Topic authorization failed|Cluster authorization failed/;

const SENDER = '+12025550142';
const now = Date.now();
const forgedAllow: Decision = {
  decisionId: 'forged-1',
  sender: SENDER,
  action: 'ALLOW',
  throttleRatePerMinute: null,
  score: 0,
  reasons: [],
  policyVersion: 'forged',
  overrideId: null,
  basedOnEventTime: now,
  decidedAt: now,
  expiresAt: null,
  policyAction: null,
  previousAction: 'BLOCK',
  trigger: 'FEATURES',
  shadow: false,
  published: true,
  throttleRatePerHour: null,
  throttleScope: 'ALL_RECIPIENTS',
};

test('only the decision engine may write sms.decisions: a forged ALLOW from any other principal is refused', async () => {
  const value = () => codec.encode('Decision', forgedAllow);
  for (const login of [sink, operator, ingest, firewall, stranger]) {
    await assert.rejects(
      send(login, 'sms.decisions', SENDER, value()),
      REFUSED,
      `${login.username} wrote a decision`,
    );
  }
  await send(decisionEngine, 'sms.decisions', SENDER, value());
});

test('only operators may write overrides, and a tombstone needs the same right as an override', async () => {
  for (const name of ['sms.policy-overrides', 'sms.content-overrides']) {
    for (const login of [decisionEngine, sink, ingest, firewall, stranger]) {
      await assert.rejects(
        send(login, name, SENDER, Buffer.from('x')),
        REFUSED,
        `${login.username} wrote ${name}`,
      );
      await assert.rejects(send(login, name, SENDER, null), REFUSED, `${login.username} removed on ${name}`);
    }
  }
  // Nor may anyone but ingest write the input a decision is built from.
  for (const login of [decisionEngine, operator, firewall, stranger]) {
    await assert.rejects(send(login, 'sms.message-events', SENDER, Buffer.from('x')), REFUSED);
  }
});

test('reads follow the catalog: the firewall reads decisions, a principal without ACLs reads nothing', async () => {
  const offsets = async (login: KafkaLogin, name: string) => {
    const admin = as(login).admin();
    try {
      await admin.connect();
      return await admin.fetchTopicOffsets(topic(name));
    } finally {
      await admin.disconnect();
    }
  };
  assert.equal((await offsets(firewall, 'sms.decisions')).length, 12);
  await assert.rejects(offsets(stranger, 'sms.decisions'), REFUSED);
  await assert.rejects(offsets(ingest, 'sms.decisions'), REFUSED);
  // The feature engine's changelog is its own: not even the decision engine reads it.
  await assert.rejects(offsets(decisionEngine, 'spamgate.feature-engine.changelog'), REFUSED);
});

test('a wrong password is refused at login', async () => {
  const impostor: KafkaLogin = {
    ...operator,
    security: {
      sasl: { mechanism: 'scram-sha-512', username: operator.username, password: 'not-the-password' },
    },
  };
  const admin = as(impostor).admin();
  try {
    await assert.rejects(admin.connect(), /SASL SCRAM SHA512 authentication failed/);
  } finally {
    await admin.disconnect();
  }
});

test('spamgate override records the principal it logs in as, and refuses to name another', async () => {
  const env = { ...operator.env, SPAMGATE_TOPIC_PREFIX: prefix, SPAMGATE_LOG_LEVEL: 'error' };
  const out: string[] = [];
  const target = '+12025550199';
  await assert.rejects(
    runCli(
      ['override', 'allow', '--sender', target, '--reason', 'appeal 77', '--author', 'someone-else'],
      env,
      () => {},
    ),
    /principal you log in to Kafka as/,
  );
  assert.equal(
    await runCli(['override', 'allow', '--sender', target, '--reason', 'appeal 77'], env, (l) => out.push(l)),
    0,
    out.join('\n'),
  );
  // What the decision engine and the sink read: the author is the operator's principal.
  const listed: string[] = [];
  assert.equal(await runCli(['override', 'list', '--json'], env, (l) => listed.push(l)), 0);
  const overrides = listed.map((l) => JSON.parse(l) as PolicyOverride);
  assert.deepEqual(
    overrides.map((o) => [o.target, o.author]),
    [[target, operator.username]],
  );
  assert.equal(await runCli(['override', 'remove', '--sender', target], env, (l) => out.push(l)), 0);
  assert.match(out.join('\n'), new RegExp(`removed by ${operator.username}`));
  // The same CLI logged in as anyone else cannot write one.
  await assert.rejects(
    runCli(
      ['override', 'block', '--sender', target, '--reason', 'x'],
      { ...ingest.env, SPAMGATE_TOPIC_PREFIX: prefix, SPAMGATE_LOG_LEVEL: 'fatal' },
      () => {},
    ),
    /may not use it \(an operator's principal needs the ACLs/,
  );
});

/** The settings a service reads to reach the cluster over TLS, as core turns them into a client. */
async function tlsClient(env: Record<string, string>): Promise<Kafka> {
  const tls = await tlsListeners();
  const config = loadConfig(commonSettings, {
    SPAMGATE_KAFKA_TLS_CA_FILE: join(tls.caDir, 'ca.pem'),
    ...env,
  });
  return createKafka({
    brokers: config.kafkaBrokers,
    clientId: uniqueName('tls-test'),
    logger: testLogger(),
    retry: { retries: 0 },
    security: kafkaSecurityOf(config),
  });
}

async function offsetsWith(kafka: Kafka, name: string) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.fetchTopicOffsets(topic(name));
  } finally {
    await admin.disconnect();
  }
}

test("over TLS, the services' settings (sasl_ssl, the CA from a file) log in under the same ACLs; a client that does not trust the CA is refused", async () => {
  const tls = await tlsListeners();
  const over = (login: KafkaLogin, extra: Record<string, string> = {}) =>
    tlsClient({
      ...login.env,
      SPAMGATE_KAFKA_BROKERS: tls.brokers.join(','),
      SPAMGATE_KAFKA_SECURITY: 'sasl_ssl',
      ...extra,
    });
  assert.equal((await offsetsWith(await over(firewall), 'sms.decisions')).length, 12);
  await assert.rejects(offsetsWith(await over(stranger), 'sms.decisions'), REFUSED);
  // Without the CA the broker's certificate is not trusted: no connection at all.
  const untrusting = createKafka({
    brokers: tls.brokers,
    clientId: uniqueName('tls-test'),
    logger: testLogger(),
    retry: { retries: 0 },
    security: { ...firewall.security, ssl: { rejectUnauthorized: true } },
  });
  await assert.rejects(offsetsWith(untrusting, 'sms.decisions'), /self[- ]signed certificate/);
});

test('mutual TLS: the certificate is the login, its CN the author of an override; another certificate is refused, none cannot connect', async () => {
  const tls = await tlsListeners();
  const mtlsEnv = (cert: ClientCertificate) => ({
    SPAMGATE_KAFKA_BROKERS: tls.mtlsBrokers.join(','),
    SPAMGATE_KAFKA_SECURITY: 'ssl',
    SPAMGATE_KAFKA_TLS_CA_FILE: join(tls.caDir, 'ca.pem'),
    SPAMGATE_KAFKA_TLS_CERT_FILE: cert.certFile,
    SPAMGATE_KAFKA_TLS_KEY_FILE: cert.keyFile,
    SPAMGATE_TOPIC_PREFIX: prefix,
    SPAMGATE_LOG_LEVEL: 'fatal',
  });
  const target = '+12025550188';
  const out: string[] = [];
  assert.equal(
    await runCli(['override', 'block', '--sender', target, '--reason', 'ticket 9'], mtlsEnv(nocCert), (l) =>
      out.push(l),
    ),
    0,
    out.join('\n'),
  );
  const listed: string[] = [];
  assert.equal(await runCli(['override', 'list', '--json'], mtlsEnv(nocCert), (l) => listed.push(l)), 0);
  const mine = listed.map((l) => JSON.parse(l) as PolicyOverride).filter((o) => o.target === target);
  assert.deepEqual(
    mine.map((o) => [o.action, o.author]),
    [['BLOCK', nocCert.name]],
  );
  await assert.rejects(
    runCli(['override', 'remove', '--sender', target], mtlsEnv(strangerCert), () => {}),
    /may not use it/,
  );
  // No client certificate: the handshake fails.
  const { SPAMGATE_KAFKA_TLS_CERT_FILE: _, SPAMGATE_KAFKA_TLS_KEY_FILE: __, ...noCert } = mtlsEnv(nocCert);
  await assert.rejects(
    offsetsWith(await tlsClient(noCert), 'sms.policy-overrides'),
    /certificate|Connection error/,
  );
});
