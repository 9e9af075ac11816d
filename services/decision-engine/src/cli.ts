/**
 * `npx spamgate ...`: the operator's command line.
 *
 *   override allow|block (--sender ADDR | --campaign ID | --cluster ID | --domain NAME) --reason TEXT [--ttl 7d] [--author NAME]
 *   override remove (--sender ADDR | --campaign ID | --cluster ID | --domain NAME) [--author NAME]
 *   override list [--all] [--json]
 *   policy check FILE
 *   what-if --policy FILE --from TIME --to TIME [--labels FILE] [--json]
 *
 * Sender and campaign overrides are records on sms.policy-overrides (key = the sender or
 * campaign), content overrides on sms.content-overrides (key = CLUSTER:<id> or DOMAIN:<name>); a
 * removal is a tombstone. Every decision-engine instance applies one within a second and re-issues the
 * decisions of the senders it names. Exit codes: 0 done, 1 failure, 64 bad arguments, 78 bad
 * configuration.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  commonSettings,
  createKafka,
  createLogger,
  describeError,
  EXIT_CONFIG,
  kafkaSecurityOf,
  kafkaSecuritySettings,
  loadConfig,
  parseDuration,
  readToEnd,
  registerSchemas,
  SCHEMAS_TOPIC,
  topicName,
  topicPrefixSetting,
} from '@spamgate/core';
import {
  type ContentOverride,
  createCodec,
  type PolicyOverride,
  type RecordName,
  schemaRegistrations,
} from '@spamgate/schemas';
import { checkContentOverride, contentOverrideKey } from './content-overrides.ts';
import { authenticatedAs, overrideAuthor } from './override-author.ts';
import { normaliseSenderTarget } from './override-target.ts';
import { checkOverride } from './overrides.ts';
import { loadPolicy, PROFILE_NAMES } from './policy.ts';
import { UsageError } from './usage.ts';

export { UsageError };

const EXIT_USAGE = 64;

export const USAGE = `usage: npx spamgate <command>

  override allow  TARGET --reason TEXT [--ttl 7d] [--author NAME]
  override block  TARGET --reason TEXT [--ttl 7d] [--author NAME]
  override remove TARGET [--reason TEXT] [--author NAME]
                  the author is the Kafka principal you log in as (SASL user or certificate
                  CN); --author only on an unauthenticated cluster
                  TARGET: --sender ADDR | --campaign ID | --cluster ID | --domain NAME
  override list   [--all] [--json]      overrides in force (--all: lapsed ones too)
  policy check FILE                     validate a policy file and summarise it
  what-if --policy FILE --from TIME [--to TIME] [--labels FILE] [--json]
                                        replay stored features from ClickHouse through a policy
                                        and compare with what was enforced: actions, and what
                                        the firewall would let through (spam delivered and
                                        legitimate stopped given a simulator labels file);
                                        TIME is ISO 8601, now, or relative as --from=-24h

An ALLOW override never throttles or blocks the sender (the Do-Not-Originate list still
applies); a BLOCK override always blocks. For a content cluster (--cluster, the 14 hex digits of
sms.content-decisions) ALLOW lifts its content BLOCK and keeps it from being blocked, BLOCK
blocks its messages at the firewall from every sender; for a URL domain (--domain) ALLOW keeps
it out of every content decision's match keys, BLOCK blocks senders linking to it. Without --ttl
an override lasts until removed.
Environment: SPAMGATE_KAFKA_BROKERS, SPAMGATE_KAFKA_SECURITY and its SASL and TLS settings,
SPAMGATE_TOPIC_PREFIX, SPAMGATE_CLICKHOUSE_URL, SPAMGATE_CLICKHOUSE_DATABASE (see README).
`;

const spec = {
  kafkaBrokers: commonSettings.kafkaBrokers,
  ...kafkaSecuritySettings,
  clickhouseUrl: commonSettings.clickhouseUrl,
  clickhouseUser: commonSettings.clickhouseUser,
  clickhousePassword: commonSettings.clickhousePassword,
  clickhousePasswordFile: commonSettings.clickhousePasswordFile,
  clickhouseDatabase: commonSettings.clickhouseDatabase,
  topicPrefix: topicPrefixSetting,
  logLevel: { ...commonSettings.logLevel, default: 'warn' },
};

type Out = (line: string) => void;

type Scope = 'SENDER' | 'CAMPAIGN' | 'CLUSTER' | 'DOMAIN';

interface Target {
  readonly scope: Scope;
  readonly target: string;
  /** The record key on its topic. */
  readonly key: string;
  /** sms.policy-overrides (sender, campaign) or sms.content-overrides (cluster, domain). */
  readonly content: boolean;
}

/** The one target named, normalised as the engine compares it. */
function target(values: {
  sender?: string | undefined;
  campaign?: string | undefined;
  cluster?: string | undefined;
  domain?: string | undefined;
}): Target {
  const named = (['sender', 'campaign', 'cluster', 'domain'] as const).filter((k) => values[k] !== undefined);
  if (named.length !== 1)
    throw new UsageError('name exactly one of --sender ADDR, --campaign ID, --cluster ID or --domain NAME');
  const raw = values[named[0]!]!.trim();
  switch (named[0]) {
    case 'sender': {
      const sender = normaliseSenderTarget(raw);
      return { scope: 'SENDER', target: sender, key: sender, content: false };
    }
    case 'campaign':
      return { scope: 'CAMPAIGN', target: raw, key: raw, content: false };
    case 'cluster': {
      const id = raw.toLowerCase();
      return { scope: 'CLUSTER', target: id, key: contentOverrideKey('CLUSTER', id), content: true };
    }
    default: {
      const domain = raw.toLowerCase().replace(/\.+$/, '');
      return { scope: 'DOMAIN', target: domain, key: contentOverrideKey('DOMAIN', domain), content: true };
    }
  }
}

function when(t: number | null): string {
  return t === null ? 'never' : new Date(t).toISOString();
}

/**
 * Fails fast, with the fix, when the overrides topic was never provisioned, or (with ACLs) this
 * principal may not see it: the broker lists only the topics a principal may describe.
 */
async function requireTopic(
  kafka: ReturnType<typeof createKafka>,
  topic: string,
  principal: string | undefined,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic))
      throw new Error(
        principal === undefined
          ? `topic ${topic} does not exist: run \`npm run topics\` (or \`npm start\`) first`
          : `topic ${topic} does not exist, or the Kafka principal ${principal} may not use it (an operator's principal needs the ACLs of \`npm run topics -- --acls\`)`,
      );
  } finally {
    await admin.disconnect();
  }
}

type AnyOverride = PolicyOverride | ContentOverride;

/** Reads every override record of a topic to the end: the latest per key, null for a removal. */
async function readOverrides(
  kafka: ReturnType<typeof createKafka>,
  topic: string,
  record: 'PolicyOverride' | 'ContentOverride',
): Promise<Map<string, AnyOverride | null>> {
  const codec = createCodec();
  const latest = new Map<string, AnyOverride | null>();
  await readToEnd(kafka, {
    topic,
    groupId: `spamgate-cli-${process.pid}-${randomUUID()}`,
    onRecords: ({ messages }) => {
      for (const m of messages) {
        const key = m.key?.toString('utf8') ?? '';
        if (m.value === null) latest.set(key, null);
        else
          try {
            latest.set(key, codec.decode(record, m.value) as AnyOverride);
          } catch {
            // A malformed record is the decision engine's to dead-letter; a listing skips it.
          }
      }
    },
  });
  return latest;
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    out(USAGE);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === 'policy') {
    if (sub !== 'check' || rest.length !== 1) throw new UsageError('usage: npx spamgate policy check FILE');
    const policy = loadPolicy(rest[0]!, 'FILE');
    out(`policy ${policy.version}: valid`);
    out(
      `  BLOCK expires after ${policy.blockTtlMs / 3_600_000} h; THROTTLE holds at least ${policy.throttleMinHoldMs / 60_000} min`,
    );
    out(`  score: monitor from ${policy.monitorScore}, behavioural BLOCK from ${policy.blockScore}`);
    out(`  deny-listed URL domains: ${policy.denyListedDomains.size}`);
    for (const name of PROFILE_NAMES) {
      const p = policy.profiles[name];
      const classes = new Map<string, number>();
      for (const r of p.rules) classes.set(r.class, (classes.get(r.class) ?? 0) + 1);
      out(
        `  ${name.padEnd(10)} ${String(p.rules.length).padStart(2)} rules (${[...classes].map(([c, n]) => `${n} ${c}`).join(', ')}); ` +
          `throttle ${p.throttleRatePerMinute}/min; behavioural BLOCK ${p.behaviouralBlock ? 'allowed' : 'never'}`,
      );
    }
    return 0;
  }
  if (command === 'what-if') {
    const { runWhatIf } = await import('./what-if.ts');
    return runWhatIf(
      [sub, ...rest].filter((x): x is string => x !== undefined),
      env,
      out,
    );
  }
  if (command !== 'override') throw new UsageError(`unknown command "${command}"`);
  const { values } = parseArgs({
    args: rest,
    options: {
      sender: { type: 'string' },
      campaign: { type: 'string' },
      cluster: { type: 'string' },
      domain: { type: 'string' },
      reason: { type: 'string' },
      ttl: { type: 'string' },
      author: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const config = loadConfig(spec, env);
  const logger = createLogger({
    service: 'spamgate-cli',
    instanceId: String(process.pid),
    level: config.logLevel,
    destination: process.stderr,
  });
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: 'spamgate-cli',
    logger,
    security: kafkaSecurityOf(config),
  });
  const topics = {
    sender: topicName(config.topicPrefix, 'sms.policy-overrides'),
    content: topicName(config.topicPrefix, 'sms.content-overrides'),
  };
  const principal = authenticatedAs(config);
  const author = overrideAuthor(principal, values.author ?? env.SPAMGATE_OPERATOR, userInfo().username);
  const now = Date.now();

  if (sub === 'list') {
    await requireTopic(kafka, topics.sender, principal);
    await requireTopic(kafka, topics.content, principal);
    const all = [
      ...(await readOverrides(kafka, topics.sender, 'PolicyOverride')).values(),
      ...(await readOverrides(kafka, topics.content, 'ContentOverride')).values(),
    ];
    const rows = all
      .filter((o): o is AnyOverride => o !== null)
      .map((o) => ({ ...o, lapsed: o.expiresAt !== null && o.expiresAt <= now }))
      .filter((o) => values.all || !o.lapsed)
      .sort((a, b) => a.createdAt - b.createdAt);
    if (values.json) {
      for (const o of rows) out(JSON.stringify(o));
      return 0;
    }
    if (rows.length === 0) {
      out('no overrides in force');
      return 0;
    }
    out(['ACTION', 'SCOPE', 'TARGET', 'EXPIRES', 'AUTHOR', 'ID', 'REASON'].join('\t'));
    for (const o of rows)
      out(
        [
          o.action,
          o.scope,
          o.target,
          o.lapsed ? `lapsed ${when(o.expiresAt)}` : when(o.expiresAt),
          o.author,
          o.overrideId,
          o.reason,
        ].join('\t'),
      );
    return 0;
  }

  if (sub !== 'allow' && sub !== 'block' && sub !== 'remove')
    throw new UsageError(`unknown override command "${sub ?? ''}" (allow, block, remove, list)`);
  const t = target(values);
  const topic = t.content ? topics.content : topics.sender;
  const record: RecordName = t.content ? 'ContentOverride' : 'PolicyOverride';
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  if (sub === 'remove') {
    await requireTopic(kafka, topic, principal);
    const current = (await readOverrides(kafka, topic, record as 'PolicyOverride' | 'ContentOverride')).get(
      t.key,
    );
    if (!current || current.scope !== t.scope) {
      out(`no override on ${t.scope.toLowerCase()} ${t.target}`);
      return 1;
    }
    await producer.connect();
    try {
      // A tombstone has no value: who removed it, and why, travel as headers for the audit trail.
      const headers: Record<string, string> = { 'spamgate-author': author };
      if (values.reason) headers['spamgate-reason'] = values.reason;
      await producer.send({ topic, acks: -1, messages: [{ key: t.key, value: null, headers }] });
    } finally {
      await producer.disconnect();
    }
    out(`override ${current.overrideId} on ${t.scope.toLowerCase()} ${t.target} removed by ${author}`);
    return 0;
  }
  if (!values.reason)
    throw new UsageError('--reason is required: say why (appeal ticket, complaint reference)');
  let expiresAt: number | null = null;
  if (values.ttl !== undefined) {
    const ms = parseDuration(values.ttl);
    if (ms === undefined || ms < 1_000)
      throw new UsageError(`--ttl ${values.ttl} is not a duration like 30m, 24h, 7d`);
    expiresAt = now + ms;
  }
  const common = {
    overrideId: `ovr-${randomUUID()}`,
    target: t.target,
    action: sub === 'allow' ? ('ALLOW' as const) : ('BLOCK' as const),
    reason: values.reason,
    author,
    createdAt: now,
    expiresAt,
  };
  const codec = createCodec();
  let value: Buffer;
  // The engine refuses what this would refuse; refusing here tells the operator at once.
  if (t.scope === 'CLUSTER' || t.scope === 'DOMAIN') {
    const o: ContentOverride = { ...common, scope: t.scope };
    try {
      checkContentOverride(t.key, o);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    value = codec.encode('ContentOverride', o);
  } else {
    const o: PolicyOverride = { ...common, scope: t.scope };
    checkOverride(t.key, o);
    value = codec.encode('PolicyOverride', o);
  }
  await requireTopic(kafka, topic, principal);
  // Its schema first (acks=all), so a decision engine or sink of an older release can read it.
  await registerSchemas(kafka, {
    topic: topicName(config.topicPrefix, SCHEMAS_TOPIC),
    schemas: schemaRegistrations({ records: [record] }),
    logger,
  });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ key: t.key, value }] });
  } finally {
    await producer.disconnect();
  }
  const override = common;
  out(
    `${override.action} override ${override.overrideId} on ${t.scope.toLowerCase()} ${t.target} written (expires ${when(expiresAt)}); the decision engine applies it within a second`,
  );
  return 0;
}

/** Entry point of bin/spamgate.mjs. */
export async function main(): Promise<void> {
  try {
    process.exitCode = await runCli(process.argv.slice(2), process.env, (l) =>
      process.stdout.write(`${l}\n`),
    );
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof ConfigError) {
      process.stderr.write(
        `${err.message}\n${err.problems.map((p) => `  ${p.variable}: ${p.expected}`).join('\n')}\n`,
      );
      process.exitCode = EXIT_CONFIG;
    } else if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`spamgate: ${describeError(err).message}\n`);
      process.exitCode = 1;
    }
  }
}
