/**
 * Kafka ACLs for a secured deployment, derived from the topic catalog's access lists: each role
 * its principals, READ on what it reads, WRITE on what it writes, and its consumer groups and
 * transactional ids by prefix; nothing else. `npm run topics -- --acls` applies them.
 * ARCHITECTURE.md, "Threat model".
 */
import { type ConfigOf, type Logger, SpamgateError, setting, topicName } from '@spamgate/core';
import kafkajs, { type Admin } from 'kafkajs';
import { ROLES, type Role, type TopicSpec } from './topics.ts';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export type AclResource = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID';
export type AclOperation = 'READ' | 'WRITE' | 'DELETE';

/** One ALLOW rule, from any host. */
export interface AclBinding {
  readonly principal: string;
  readonly resource: AclResource;
  readonly pattern: 'LITERAL' | 'PREFIXED';
  readonly name: string;
  readonly operation: AclOperation;
}

/** Who is who in one deployment. */
export interface AclDeployment {
  /** SPAMGATE_TOPIC_PREFIX of the deployment. */
  readonly topicPrefix: string;
  /** The feature engine's SPAMGATE_INPUT_TOPIC_PREFIX, when its inputs live under another prefix. */
  readonly inputTopicPrefix?: string;
  /** Kafka principals ("User:name") of each role; a role may have several (operators). */
  readonly principals: Readonly<Record<Role, readonly string[]>>;
  /**
   * The prefix of every consumer group and transactional id a role uses: each service's group
   * setting (its restore, schema and readiness groups and its transactional ids start with it),
   * the CLI's `spamgate-cli-`, and the group of the firewall's consumers.
   */
  readonly groupPrefixes: Readonly<Record<Role, string | null>>;
}

/** Roles that run transactional producers or the readiness probe (a transactional producer). */
const TRANSACTIONAL: ReadonlySet<Role> = new Set(['feature-engine', 'decision-engine', 'clickhouse-sink']);

/** The input topics, which a deployment may keep under their own prefix. */
const INPUT_TOPICS: ReadonlySet<string> = new Set(['sms.message-events', 'sms.feedback-events']);

/**
 * Every binding the deployment needs, deduplicated and in a stable order. Reading and writing a
 * topic imply describing it; reading a group covers joining it and committing offsets; DELETE on
 * groups lets a service remove the throwaway groups it reads compacted topics with.
 */
export function aclBindings(catalog: readonly TopicSpec[], d: AclDeployment): AclBinding[] {
  const out = new Map<string, AclBinding>();
  const add = (b: AclBinding) =>
    out.set(`${b.principal}|${b.resource}|${b.pattern}|${b.name}|${b.operation}`, b);
  for (const t of catalog) {
    const prefix = INPUT_TOPICS.has(t.name) ? (d.inputTopicPrefix ?? d.topicPrefix) : d.topicPrefix;
    const name = topicName(prefix, t.name);
    for (const [operation, roles] of [
      ['WRITE', t.access.write],
      ['READ', t.access.read],
    ] as const) {
      for (const role of roles) {
        for (const principal of d.principals[role]) {
          add({ principal, resource: 'TOPIC', pattern: 'LITERAL', name, operation });
        }
      }
    }
  }
  for (const role of ROLES) {
    const group = d.groupPrefixes[role];
    if (group === null) continue;
    for (const principal of d.principals[role]) {
      add({ principal, resource: 'GROUP', pattern: 'PREFIXED', name: group, operation: 'READ' });
      add({ principal, resource: 'GROUP', pattern: 'PREFIXED', name: group, operation: 'DELETE' });
      if (TRANSACTIONAL.has(role)) {
        add({
          principal,
          resource: 'TRANSACTIONAL_ID',
          pattern: 'PREFIXED',
          name: group,
          operation: 'WRITE',
        });
      }
    }
  }
  return [...out.values()].sort((a, b) =>
    `${a.principal} ${a.resource} ${a.name} ${a.operation}`.localeCompare(
      `${b.principal} ${b.resource} ${b.name} ${b.operation}`,
    ),
  );
}

export class AclApplyError extends SpamgateError {
  override readonly name = 'AclApplyError';
  constructor(cause: unknown) {
    super(
      'the broker did not take the ACLs: it needs an authorizer (authorizer.class.name), and this client a super user or ALTER on the cluster',
      { code: 'ACL_APPLY_FAILED', cause },
    );
  }
}

/** Creates the bindings (creating one that exists is a no-op on the broker). */
export async function applyAcls(
  admin: Admin,
  bindings: readonly AclBinding[],
  logger: Logger,
): Promise<void> {
  if (bindings.length === 0) return;
  try {
    await admin.createAcls({
      acl: bindings.map((b) => ({
        resourceType: AclResourceTypes[b.resource],
        resourceName: b.name,
        resourcePatternType: ResourcePatternTypes[b.pattern],
        principal: b.principal,
        host: '*',
        operation: AclOperationTypes[b.operation],
        permissionType: AclPermissionTypes.ALLOW,
      })),
    });
  } catch (err) {
    throw new AclApplyError(err);
  }
  logger.info({ bindings: bindings.length }, 'ACLs applied');
}

/** One line per binding, as `npm run topics -- --acls` prints them. */
export function formatBindings(bindings: readonly AclBinding[]): string[] {
  return bindings.map(
    (b) =>
      `acl ${b.principal} ${b.operation} ${b.resource.toLowerCase()} ${b.name}${b.pattern === 'PREFIXED' ? '*' : ''}`,
  );
}

const PRINCIPALS = /^User:[^;\s][^;]{0,254}(;User:[^;\s][^;]{0,254})*$/;
const PRINCIPALS_EXPECTED = 'one or more Kafka principals like User:name, separated by ";"';
const GROUP = /^[A-Za-z0-9._-]{1,200}$/;

function principals(variable: string, role: string, name: string) {
  return setting.string({
    variable,
    doc: `Kafka principal(s) of ${role}, ";"-separated (mTLS principals contain commas).`,
    default: `User:${name}`,
    pattern: PRINCIPALS,
    expected: PRINCIPALS_EXPECTED,
  });
}

/**
 * What `npm run topics -- --acls` reads. The group variables are the services' own, with the
 * same defaults, so one environment file configures a service and its ACLs alike.
 */
export const aclSettings = {
  ingestPrincipals: principals(
    'SPAMGATE_ACL_INGEST',
    'the bridge that writes input events',
    'spamgate-ingest',
  ),
  featureEnginePrincipals: principals(
    'SPAMGATE_ACL_FEATURE_ENGINE',
    'the feature engine',
    'spamgate-feature-engine',
  ),
  decisionEnginePrincipals: principals(
    'SPAMGATE_ACL_DECISION_ENGINE',
    'the decision engine',
    'spamgate-decision-engine',
  ),
  sinkPrincipals: principals(
    'SPAMGATE_ACL_CLICKHOUSE_SINK',
    'the ClickHouse sink',
    'spamgate-clickhouse-sink',
  ),
  operatorPrincipals: principals(
    'SPAMGATE_ACL_OPERATORS',
    'the operators (spamgate override)',
    'spamgate-operator',
  ),
  enforcementPrincipals: principals(
    'SPAMGATE_ACL_ENFORCEMENT',
    'the SMSC and firewall, which read decisions',
    'spamgate-firewall',
  ),
  inputTopicPrefix: setting.optionalString({
    variable: 'SPAMGATE_INPUT_TOPIC_PREFIX',
    doc: "The feature engine's input topic prefix, when not SPAMGATE_TOPIC_PREFIX.",
    pattern: /^[A-Za-z0-9._-]{0,100}$/,
  }),
  featureEngineGroup: setting.string({
    variable: 'SPAMGATE_FEATURE_ENGINE_GROUP',
    doc: "The feature engine's group: the prefix of its groups and transactional ids.",
    default: 'spamgate-feature-engine',
    pattern: GROUP,
  }),
  decisionEngineGroup: setting.string({
    variable: 'SPAMGATE_DECISION_ENGINE_GROUP',
    doc: "The decision engine's group: the prefix of its groups and transactional ids.",
    default: 'spamgate-decision-engine',
    pattern: GROUP,
  }),
  sinkGroup: setting.string({
    variable: 'SPAMGATE_SINK_GROUP',
    doc: "The ClickHouse sink's group: the prefix of its groups.",
    default: 'spamgate-clickhouse-sink',
    pattern: GROUP,
  }),
  enforcementGroup: setting.string({
    variable: 'SPAMGATE_ACL_ENFORCEMENT_GROUP',
    doc: 'Prefix of the consumer groups the SMSC and firewall read decisions with.',
    default: 'spamgate-firewall',
    pattern: GROUP,
  }),
};

/** The CLI's groups (spamgate override list/remove read the override topics with them). */
export const CLI_GROUP_PREFIX = 'spamgate-cli-';

/** The deployment the settings describe. */
export function aclDeploymentOf(config: ConfigOf<typeof aclSettings>, topicPrefix: string): AclDeployment {
  const list = (s: string) => s.split(';');
  return {
    topicPrefix,
    ...(config.inputTopicPrefix !== undefined ? { inputTopicPrefix: config.inputTopicPrefix } : {}),
    principals: {
      ingest: list(config.ingestPrincipals),
      'feature-engine': list(config.featureEnginePrincipals),
      'decision-engine': list(config.decisionEnginePrincipals),
      'clickhouse-sink': list(config.sinkPrincipals),
      operator: list(config.operatorPrincipals),
      enforcement: list(config.enforcementPrincipals),
    },
    groupPrefixes: {
      ingest: null,
      'feature-engine': config.featureEngineGroup,
      'decision-engine': config.decisionEngineGroup,
      'clickhouse-sink': config.sinkGroup,
      operator: CLI_GROUP_PREFIX,
      enforcement: config.enforcementGroup,
    },
  };
}
