// The ACLs of a secured deployment, as derived from the topic catalog (infra/kafka/acls.ts):
// pure checks of who may write what. The broker enforcing them: kafka-security.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '@spamgate/core';
import {
  type AclBinding,
  aclBindings,
  aclDeploymentOf,
  aclSettings,
  CLI_GROUP_PREFIX,
} from '../../infra/kafka/acls.ts';
import { TOPICS } from '../../infra/kafka/topics.ts';
import { clickHouseSinkSettings } from '../../services/clickhouse-sink/src/config.ts';
import { decisionEngineSettings } from '../../services/decision-engine/src/config.ts';
import { featureEngineSettings } from '../../services/feature-engine/src/config.ts';

const deployment = aclDeploymentOf(loadConfig(aclSettings, {}), 'prod');
const bindings = aclBindings(TOPICS, deployment);
const who = (name: string, operation: AclBinding['operation']) =>
  bindings
    .filter((b) => b.resource === 'TOPIC' && b.name === name && b.operation === operation)
    .map((b) => b.principal)
    .sort();

test('only the decision engine writes decisions, only operators write overrides, only ingest writes input', () => {
  assert.deepEqual(who('prod.sms.decisions', 'WRITE'), ['User:spamgate-decision-engine']);
  assert.deepEqual(who('prod.sms.content-decisions', 'WRITE'), ['User:spamgate-decision-engine']);
  assert.deepEqual(who('prod.sms.policy-overrides', 'WRITE'), ['User:spamgate-operator']);
  assert.deepEqual(who('prod.sms.content-overrides', 'WRITE'), ['User:spamgate-operator']);
  assert.deepEqual(who('prod.sms.message-events', 'WRITE'), ['User:spamgate-ingest']);
  assert.deepEqual(who('prod.sms.feedback-events', 'WRITE'), ['User:spamgate-ingest']);
  assert.deepEqual(who('prod.sms.decisions', 'READ'), ['User:spamgate-firewall']);
  // Each engine's own state is its own.
  assert.deepEqual(who('prod.spamgate.feature-engine.changelog', 'READ'), ['User:spamgate-feature-engine']);
  assert.deepEqual(who('prod.spamgate.decision-engine.state', 'READ'), ['User:spamgate-decision-engine']);
});

test('no principal may do anything on a topic outside the catalog, and every grant is ALLOW on one resource', () => {
  const names = new Set(TOPICS.map((t) => `prod.${t.name}`));
  for (const b of bindings.filter((x) => x.resource === 'TOPIC')) {
    assert.ok(names.has(b.name), b.name);
    assert.equal(b.pattern, 'LITERAL', `${b.name}: topics are granted by exact name`);
  }
  assert.equal(new Set(bindings.map((b) => JSON.stringify(b))).size, bindings.length, 'no duplicates');
});

test("the groups and transactional ids granted are the services' own (their group settings' defaults)", () => {
  const prefixes = (principal: string, resource: AclBinding['resource']) =>
    bindings
      .filter((b) => b.principal === principal && b.resource === resource)
      .map((b) => `${b.name} ${b.operation}`);
  for (const [principal, settings] of [
    ['User:spamgate-feature-engine', featureEngineSettings.groupId.default],
    ['User:spamgate-decision-engine', decisionEngineSettings.groupId.default],
    ['User:spamgate-clickhouse-sink', clickHouseSinkSettings.groupId.default],
  ] as const) {
    assert.deepEqual(prefixes(principal, 'GROUP').sort(), [`${settings} DELETE`, `${settings} READ`]);
    assert.deepEqual(prefixes(principal, 'TRANSACTIONAL_ID'), [`${settings} WRITE`]);
  }
  assert.deepEqual(prefixes('User:spamgate-operator', 'GROUP').sort(), [
    `${CLI_GROUP_PREFIX} DELETE`,
    `${CLI_GROUP_PREFIX} READ`,
  ]);
  // Neither operators nor the firewall get a transactional id; ingest gets no group.
  assert.deepEqual(prefixes('User:spamgate-operator', 'TRANSACTIONAL_ID'), []);
  assert.deepEqual(prefixes('User:spamgate-ingest', 'GROUP'), []);
});

test('several operators, an input prefix of their own, and a bad principal refused by name', () => {
  const d = aclDeploymentOf(
    loadConfig(aclSettings, {
      SPAMGATE_ACL_OPERATORS: 'User:noc-alice;User:CN=noc-bob,OU=NOC,O=Carrier',
      SPAMGATE_INPUT_TOPIC_PREFIX: 'smsc',
    }),
    'prod',
  );
  const b = aclBindings(TOPICS, d);
  const writers = b.filter((x) => x.name === 'prod.sms.policy-overrides' && x.operation === 'WRITE');
  assert.deepEqual(
    writers.map((x) => x.principal),
    ['User:CN=noc-bob,OU=NOC,O=Carrier', 'User:noc-alice'],
  );
  assert.ok(b.some((x) => x.name === 'smsc.sms.message-events' && x.operation === 'READ'));
  assert.ok(!b.some((x) => x.name === 'prod.sms.message-events'));
  assert.throws(
    () => loadConfig(aclSettings, { SPAMGATE_ACL_DECISION_ENGINE: 'spamgate-decision-engine' }),
    (err: unknown) => err instanceof ConfigError && /SPAMGATE_ACL_DECISION_ENGINE/.test(err.message),
  );
});
