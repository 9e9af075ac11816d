/**
 * `npm run topics [-- --strict] [-- --acls]`: provisions spamgate's topics from the catalog and
 * prints one line per topic (created / partitions raised / ok / DRIFT), then publishes every known
 * writer schema (current and released) that spamgate.schemas lacks; with --acls, also creates the
 * ACLs of a secured deployment (acls.ts). JSON logs go to stderr, the report to stdout.
 *
 * Exit codes: 0 done (drift is printed but tolerated), 3 drift with --strict, 64 bad arguments,
 * 78 bad configuration (every bad variable named), 1 anything else (Kafka unreachable, ...).
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  ConnectTimeoutError,
  commonSettings,
  createKafka,
  createLogger,
  describeError,
  EXIT_CONFIG,
  type KafkaSecurity,
  kafkaSecurityOf,
  kafkaSecuritySettings,
  type Logger,
  loadConfig,
  publishMissingSchemas,
  retry,
  SCHEMAS_TOPIC,
  topicName,
} from '@spamgate/core';
import { schemaRegistrations } from '@spamgate/schemas';
import { aclBindings, aclDeploymentOf, aclSettings, applyAcls, formatBindings } from './acls.ts';
import { formatReport, provisionTopics } from './provision.ts';
import { TOPICS, topicPrefixSetting } from './topics.ts';

/** Exit code with --strict when a topic differs from the catalog. */
const EXIT_DRIFT = 3;
/** sysexits.h EX_USAGE. */
const EXIT_USAGE = 64;

const USAGE = `usage: npm run topics [-- --strict] [-- --acls]

Creates missing spamgate topics, raises partition counts the catalog raised, and reports
every other difference (drift) without changing it. Then publishes every schema version
(schemas/avro and schemas/history) that ${SCHEMAS_TOPIC} does not hold yet.

  --strict   exit ${EXIT_DRIFT} when any topic drifts from the catalog
  --acls     also create the ACLs of a secured deployment: each role's principal may read and
             write what the catalog says and nothing else (SPAMGATE_ACL_* name the principals;
             README, Security). Needs a broker with an authorizer and a super user's login.
  --help     show this text

Environment: SPAMGATE_KAFKA_BROKERS (default 127.0.0.1:9092), SPAMGATE_KAFKA_SECURITY and its SASL
and TLS settings (see README), SPAMGATE_TOPIC_PREFIX (default empty),
SPAMGATE_CONNECT_TIMEOUT (default 60s), SPAMGATE_LOG_LEVEL (default warn; logs go to stderr).
`;

const spec = {
  kafkaBrokers: commonSettings.kafkaBrokers,
  ...kafkaSecuritySettings,
  topicPrefix: topicPrefixSetting,
  connectTimeoutMs: commonSettings.connectTimeoutMs,
  // The report on stdout is what a person reads; JSON logs on stderr only for trouble.
  logLevel: { ...commonSettings.logLevel, default: 'warn' },
};

/**
 * Waits (bounded) until the cluster answers metadata, which is all provisioning needs; core's
 * waitForKafka also probes the transaction coordinator, and its probe producer's warnings
 * would clutter every run.
 */
async function waitForMetadata(
  brokers: readonly string[],
  security: KafkaSecurity,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  // No client-level retries: this loop owns the waiting, so the deadline holds.
  const probe = createKafka({
    brokers,
    clientId: 'spamgate-topics-probe',
    logger,
    retry: { retries: 0 },
    security,
  });
  await retry(
    async () => {
      const admin = probe.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
    {
      deadline: Date.now() + timeoutMs,
      initialDelayMs: 250,
      maxDelayMs: 2_000,
      onGiveUp: (err) => new ConnectTimeoutError(`Kafka at ${brokers.join(',')}`, timeoutMs, err),
    },
  );
}

async function main(argv: readonly string[]): Promise<number> {
  let strict: boolean;
  let acls: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        strict: { type: 'boolean', default: false },
        acls: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    strict = values.strict;
    acls = values.acls;
  } catch (err) {
    process.stderr.write(`${describeError(err).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const config = loadConfig(spec, process.env);
  // Read before anything is changed, so that a bad principal fails the run at once.
  const aclConfig = acls ? loadConfig(aclSettings, process.env) : undefined;
  const logger = createLogger({
    service: 'topics',
    instanceId: String(process.pid),
    level: config.logLevel,
    destination: process.stderr,
  });
  const security = kafkaSecurityOf(config);
  await waitForMetadata(config.kafkaBrokers, security, config.connectTimeoutMs, logger);
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'spamgate-topics', logger, security });
  const report = await provisionTopics({ kafka, catalog: TOPICS, prefix: config.topicPrefix, logger });
  for (const line of formatReport(report)) process.stdout.write(`${line}\n`);
  // Every version, released ones too: a reader meeting records of any of them finds its schema.
  const schemaTopic = topicName(config.topicPrefix, SCHEMAS_TOPIC);
  const schemas = await publishMissingSchemas(kafka, {
    topic: schemaTopic,
    schemas: schemaRegistrations({ released: true }),
    logger,
  });
  process.stdout.write(
    `writer schemas on ${schemaTopic}: ${schemas.published.length} published, ` +
      `${schemas.present.length} there already\n`,
  );
  if (aclConfig) {
    const bindings = aclBindings(TOPICS, aclDeploymentOf(aclConfig, config.topicPrefix));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await applyAcls(admin, bindings, logger);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    for (const line of formatBindings(bindings)) process.stdout.write(`${line}\n`);
    process.stdout.write(`ACLs: ${bindings.length} bindings in place\n`);
  }
  if (!report.drifted) return 0;
  if (strict) {
    process.stdout.write(
      'drift found: change the topic by hand or the catalog (infra/kafka/topics.ts), then run again\n',
    );
    return EXIT_DRIFT;
  }
  process.stdout.write('drift found and left as it is; with --strict it fails the run\n');
  return 0;
}

// exitCode rather than process.exit(): stdout may be a pipe that is still draining.
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else {
    const e = describeError(err);
    const cause =
      err instanceof Error && err.cause !== undefined ? `: ${describeError(err.cause).message}` : '';
    process.stderr.write(`topics: ${e.message}${cause}\n`);
    process.exitCode = 1;
  }
}
