/**
 * How every spamgate process authenticates to Kafka: TLS (a CA to trust, and a client
 * certificate for mTLS) and SASL (SCRAM-SHA-512 by default), secrets read from files, never
 * from variables, so they stay out of process listings, logs and docs. See README "Security".
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { ConfigOf, commonSettings } from './config.ts';
import { ConfigError, type ConfigProblem } from './errors.ts';

type CommonConfig = ConfigOf<typeof commonSettings>;

/** The security settings of commonSettings (config.ts). */
export type KafkaSecurityConfig = Pick<
  CommonConfig,
  | 'kafkaSecurity'
  | 'kafkaSaslMechanism'
  | 'kafkaSaslUsername'
  | 'kafkaSaslPasswordFile'
  | 'kafkaTlsCaFile'
  | 'kafkaTlsCertFile'
  | 'kafkaTlsKeyFile'
>;

/** What kafkajs's client takes for security: `ssl` and `sasl`, both absent for plaintext. */
export type KafkaSecurity = Pick<KafkaConfig, 'ssl' | 'sasl'>;

/**
 * The kafkajs security options of a configuration, files read. Throws ConfigError naming every
 * missing or unreadable setting at once (a file's contents are never in the message).
 */
export function kafkaSecurityOf(
  c: KafkaSecurityConfig,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): KafkaSecurity {
  const problems: ConfigProblem[] = [];
  const read = (variable: string, path: string | undefined, expected: string): string | undefined => {
    if (path === undefined) return undefined;
    try {
      const text = readFile(path);
      if (text.trim().length > 0) return text;
      problems.push({ variable, value: path, expected: `${expected} (the file is empty)` });
    } catch (err) {
      problems.push({
        variable,
        value: path,
        expected: `${expected} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      });
    }
    return undefined;
  };
  const tls = c.kafkaSecurity === 'ssl' || c.kafkaSecurity === 'sasl_ssl';
  const sasl = c.kafkaSecurity === 'sasl_plaintext' || c.kafkaSecurity === 'sasl_ssl';
  const out: { ssl?: KafkaConfig['ssl']; sasl?: SASLOptions } = {};
  if (tls) {
    const ca = read('SPAMGATE_KAFKA_TLS_CA_FILE', c.kafkaTlsCaFile, 'a readable PEM file');
    const cert = read('SPAMGATE_KAFKA_TLS_CERT_FILE', c.kafkaTlsCertFile, 'a readable PEM file');
    const key = read('SPAMGATE_KAFKA_TLS_KEY_FILE', c.kafkaTlsKeyFile, 'a readable PEM file');
    if ((c.kafkaTlsCertFile === undefined) !== (c.kafkaTlsKeyFile === undefined))
      problems.push({
        variable:
          c.kafkaTlsCertFile === undefined ? 'SPAMGATE_KAFKA_TLS_CERT_FILE' : 'SPAMGATE_KAFKA_TLS_KEY_FILE',
        value: undefined,
        expected: 'set together with its pair for mutual TLS',
      });
    out.ssl = {
      rejectUnauthorized: true,
      ...(ca ? { ca: [ca] } : {}),
      ...(cert && key ? { cert, key } : {}),
    };
  } else {
    for (const [variable, v] of [
      ['SPAMGATE_KAFKA_TLS_CA_FILE', c.kafkaTlsCaFile],
      ['SPAMGATE_KAFKA_TLS_CERT_FILE', c.kafkaTlsCertFile],
      ['SPAMGATE_KAFKA_TLS_KEY_FILE', c.kafkaTlsKeyFile],
    ] as const)
      if (v !== undefined)
        problems.push({
          variable,
          value: v,
          expected: 'unset unless SPAMGATE_KAFKA_SECURITY is ssl or sasl_ssl',
        });
  }
  if (sasl) {
    if (c.kafkaSaslUsername === undefined)
      problems.push({ variable: 'SPAMGATE_KAFKA_SASL_USERNAME', value: undefined, expected: 'a SASL user' });
    if (c.kafkaSaslPasswordFile === undefined)
      problems.push({
        variable: 'SPAMGATE_KAFKA_SASL_PASSWORD_FILE',
        value: undefined,
        expected: "a file holding the SASL user's password",
      });
    const password = read(
      'SPAMGATE_KAFKA_SASL_PASSWORD_FILE',
      c.kafkaSaslPasswordFile,
      'a readable file',
    )?.replace(/\r?\n$/, '');
    if (c.kafkaSaslUsername !== undefined && password !== undefined)
      out.sasl = { mechanism: c.kafkaSaslMechanism, username: c.kafkaSaslUsername, password } as SASLOptions;
  } else if (c.kafkaSaslUsername !== undefined || c.kafkaSaslPasswordFile !== undefined) {
    problems.push({
      variable:
        c.kafkaSaslUsername !== undefined
          ? 'SPAMGATE_KAFKA_SASL_USERNAME'
          : 'SPAMGATE_KAFKA_SASL_PASSWORD_FILE',
      value: undefined,
      expected: 'unset unless SPAMGATE_KAFKA_SECURITY is sasl_plaintext or sasl_ssl',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
