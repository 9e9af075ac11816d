// Kafka security settings: what kafkajs is given for each protocol, secrets read from files, and
// every missing or unreadable piece reported at once, never with a secret in the message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, commonSettings, kafkaSecurityOf, loadConfig } from '../src/index.ts';

const FILES: Record<string, string> = {
  '/run/secrets/kafka-password': 's3cret-pass\n',
  '/run/secrets/ca.pem': '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
  '/run/secrets/client.pem': '-----BEGIN CERTIFICATE-----\nME\n-----END CERTIFICATE-----\n',
  '/run/secrets/client.key': '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
  '/run/secrets/empty': '\n',
};
const readFile = (path: string): string => {
  const text = FILES[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};
const securityOf = (env: Record<string, string>) =>
  kafkaSecurityOf(loadConfig(commonSettings, env), readFile);

test('plaintext by default: nothing for kafkajs to set', () => {
  assert.deepEqual(securityOf({}), {});
});

test('SASL/SCRAM-SHA-512 over TLS with a CA: the password from its file, its newline dropped', () => {
  const s = securityOf({
    SPAMGATE_KAFKA_SECURITY: 'sasl_ssl',
    SPAMGATE_KAFKA_SASL_USERNAME: 'decision-engine',
    SPAMGATE_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka-password',
    SPAMGATE_KAFKA_TLS_CA_FILE: '/run/secrets/ca.pem',
  });
  assert.deepEqual(s.sasl, {
    mechanism: 'scram-sha-512',
    username: 'decision-engine',
    password: 's3cret-pass',
  });
  assert.deepEqual(s.ssl, { rejectUnauthorized: true, ca: [FILES['/run/secrets/ca.pem']] });
});

test('mutual TLS: the client certificate and key; SASL over plaintext for a private network', () => {
  const mtls = securityOf({
    SPAMGATE_KAFKA_SECURITY: 'ssl',
    SPAMGATE_KAFKA_TLS_CERT_FILE: '/run/secrets/client.pem',
    SPAMGATE_KAFKA_TLS_KEY_FILE: '/run/secrets/client.key',
  });
  assert.deepEqual(mtls, {
    ssl: {
      rejectUnauthorized: true,
      cert: FILES['/run/secrets/client.pem'],
      key: FILES['/run/secrets/client.key'],
    },
  });
  const sasl = securityOf({
    SPAMGATE_KAFKA_SECURITY: 'sasl_plaintext',
    SPAMGATE_KAFKA_SASL_MECHANISM: 'scram-sha-256',
    SPAMGATE_KAFKA_SASL_USERNAME: 'sink',
    SPAMGATE_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka-password',
  });
  assert.equal(sasl.ssl, undefined);
  assert.equal(sasl.sasl?.mechanism, 'scram-sha-256');
});

test('every missing, unreadable or stray piece is reported at once, and no secret is quoted', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      securityOf(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.ok(!err.message.includes('s3cret-pass') && !err.message.includes('PRIVATE KEY'), err.message);
      return err.problems.map((p) => `${p.variable}: ${p.expected}`);
    }
    return [];
  };
  assert.deepEqual(problems({ SPAMGATE_KAFKA_SECURITY: 'sasl_ssl' }), [
    'SPAMGATE_KAFKA_SASL_USERNAME: a SASL user',
    "SPAMGATE_KAFKA_SASL_PASSWORD_FILE: a file holding the SASL user's password",
  ]);
  assert.deepEqual(
    problems({
      SPAMGATE_KAFKA_SECURITY: 'sasl_ssl',
      SPAMGATE_KAFKA_SASL_USERNAME: 'u',
      SPAMGATE_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/empty',
      SPAMGATE_KAFKA_TLS_CA_FILE: '/nowhere/ca.pem',
      SPAMGATE_KAFKA_TLS_CERT_FILE: '/run/secrets/client.pem',
    }),
    [
      'SPAMGATE_KAFKA_TLS_CA_FILE: a readable PEM file (ENOENT)',
      'SPAMGATE_KAFKA_TLS_KEY_FILE: set together with its pair for mutual TLS',
      'SPAMGATE_KAFKA_SASL_PASSWORD_FILE: a readable file (the file is empty)',
    ],
  );
  assert.deepEqual(
    problems({ SPAMGATE_KAFKA_SASL_USERNAME: 'u', SPAMGATE_KAFKA_TLS_CA_FILE: '/run/secrets/ca.pem' }),
    [
      'SPAMGATE_KAFKA_TLS_CA_FILE: unset unless SPAMGATE_KAFKA_SECURITY is ssl or sasl_ssl',
      'SPAMGATE_KAFKA_SASL_USERNAME: unset unless SPAMGATE_KAFKA_SECURITY is sasl_plaintext or sasl_ssl',
    ],
  );
});
