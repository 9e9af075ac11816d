/**
 * Who an override is by. On a cluster that authenticates clients (SASL, or TLS with a client
 * certificate) it is the principal the CLI logs in as, and naming anyone else is refused; the
 * broker's ACLs let only operators' principals write overrides (README, "Security"). Without
 * authentication it can only be what the operator says.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KafkaSecurityConfig } from '@spamgate/core';
import { UsageError } from './usage.ts';

/**
 * The author to record: the `principal` the client logs in as (authenticatedAs), or when there is
 * none, `asserted` (--author or SPAMGATE_OPERATOR), else `fallback`.
 */
export function overrideAuthor(
  principal: string | undefined,
  asserted: string | undefined,
  fallback: string,
): string {
  if (principal === undefined) return asserted ?? fallback;
  if (asserted !== undefined && asserted !== principal)
    throw new UsageError(
      `an override's author is the principal you log in to Kafka as (${principal}); it cannot name "${asserted}"`,
    );
  return principal;
}

/** The name the broker authenticates this client as: the SASL user, or the certificate's CN. */
export function authenticatedAs(
  c: KafkaSecurityConfig,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): string | undefined {
  if (c.kafkaSecurity === 'sasl_plaintext' || c.kafkaSecurity === 'sasl_ssl') return c.kafkaSaslUsername;
  if (c.kafkaSecurity === 'ssl' && c.kafkaTlsCertFile !== undefined) {
    const subject = new X509Certificate(readFile(c.kafkaTlsCertFile)).subject;
    const cn = /^CN=(.+)$/m.exec(subject)?.[1];
    if (cn !== undefined) return cn;
  }
  return undefined;
}
