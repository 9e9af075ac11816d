import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaSecurityConfig } from '@spamgate/core';
import { authenticatedAs, overrideAuthor } from '../src/override-author.ts';
import { UsageError } from '../src/usage.ts';

const PLAIN: KafkaSecurityConfig = {
  kafkaSecurity: 'plaintext',
  kafkaSaslMechanism: 'scram-sha-512',
  kafkaSaslUsername: undefined,
  kafkaSaslPasswordFile: undefined,
  kafkaTlsCaFile: undefined,
  kafkaTlsCertFile: undefined,
  kafkaTlsKeyFile: undefined,
};

// A self-signed client certificate (O=Example Carrier, OU=NOC, CN=noc-alice), as mTLS presents.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBzjCCAXWgAwIBAgIUQqBLYNbTl3PN7axei8ngLW0C/5MwCgYIKoZIzj0EAwIw
PDEYMBYGA1UECgwPRXhhbXBsZSBDYXJyaWVyMQwwCgYDVQQLDANOT0MxEjAQBgNV
BAMMCW5vYy1hbGljZTAgFw0yNjEyMDcyMjQxNDNaGA8yMTI2MTExMzIyNDE0M1ow
PDEYMBYGA1UECgwPRXhhbXBsZSBDYXJyaWVyMQwwCgYDVQQLDANOT0MxEjAQBgNV
BAMMCW5vYy1hbGljZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNDxo55jNVY7
EyG2O4A8Jq6lE9Qq5wNhsnqFwc9OHVozSfwkxIZnrOFdBHXCqQS0q52pK2fvJhso
9LEy/ArGGeqjUzBRMB0GA1UdDgQWBBSPpPOHeRtYhcWGfm/SO2YP8PiPQDAfBgNV
HSMEGDAWgBSPpPOHeRtYhcWGfm/SO2YP8PiPQDAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0cAMEQCIHSzW4p4wN6l7rqyA0N4Wm0MORKjpQE8Zy4SoZRZJiKu
AiB4+44eCvfAfcc80bF+82+mrmmdOjf/9zozEnuLm7goSQ==
-----END CERTIFICATE-----
`;

test('unauthenticated, the author is what the operator says, else the OS user', () => {
  assert.equal(authenticatedAs(PLAIN), undefined);
  assert.equal(overrideAuthor(authenticatedAs(PLAIN), 'noc-bob', 'root'), 'noc-bob');
  assert.equal(overrideAuthor(authenticatedAs(PLAIN), undefined, 'root'), 'root');
  // TLS without a client certificate authenticates the broker, not the operator.
  assert.equal(authenticatedAs({ ...PLAIN, kafkaSecurity: 'ssl' }), undefined);
});

test('over SASL the author is the login, and naming another is refused', () => {
  for (const kafkaSecurity of ['sasl_plaintext', 'sasl_ssl'] as const) {
    const principal = authenticatedAs({ ...PLAIN, kafkaSecurity, kafkaSaslUsername: 'noc-alice' });
    assert.equal(principal, 'noc-alice');
    assert.equal(overrideAuthor(principal, undefined, 'root'), 'noc-alice');
    assert.equal(overrideAuthor(principal, 'noc-alice', 'root'), 'noc-alice');
    assert.throws(
      () => overrideAuthor(principal, 'noc-bob', 'root'),
      (err: unknown) =>
        err instanceof UsageError && /principal you log in to Kafka as \(noc-alice\)/.test(err.message),
    );
  }
});

test("with a client certificate the author is the certificate's CN", () => {
  const c = { ...PLAIN, kafkaSecurity: 'ssl' as const, kafkaTlsCertFile: '/run/secrets/cert.pem' };
  const read = (path: string) => {
    assert.equal(path, '/run/secrets/cert.pem');
    return CERT;
  };
  assert.equal(authenticatedAs(c, read), 'noc-alice');
  assert.throws(() => overrideAuthor(authenticatedAs(c, read), 'mallory', 'root'), UsageError);
});
