// The topic catalog and the provisioning planner, without a broker.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SCHEMAS_TOPIC } from '@spamgate/core';
import { REPO_ROOT } from '@spamgate/test';
import {
  type ClusterState,
  describeTopicResult,
  type ExistingTopic,
  effectiveTopic,
  formatReport,
  planTopics,
} from '../../infra/kafka/provision.ts';
import {
  AVRO_SCHEMA_JSON,
  prefixCatalog,
  TOPICS,
  type TopicSpec,
  topicName,
  topicPrefixSetting,
  validateCatalog,
} from '../../infra/kafka/topics.ts';

/** A sound topic, changed by `overrides`. */
function spec(overrides: Partial<TopicSpec> = {}): TopicSpec {
  return {
    name: 'sms.things',
    purpose: 'Things.',
    key: 'sender address',
    valueSchema: 'Thing',
    partitions: 4,
    replicationFactor: 3,
    minInSyncReplicas: 2,
    cleanupPolicy: 'delete',
    retentionMs: 86_400_000,
    configs: {},
    copartitionGroup: null,
    access: { write: ['feature-engine'], read: ['clickhouse-sink'] },
    ...overrides,
  };
}

/** How `t` looks on a cluster of `brokerCount` brokers that provisioned it from the catalog. */
function provisioned(t: TopicSpec, brokerCount: number, changes: Partial<ExistingTopic> = {}): ExistingTopic {
  const want = effectiveTopic(t, brokerCount);
  return {
    partitions: t.partitions,
    replicationFactor: want.replicationFactor,
    // Brokers report every config, defaults included.
    configs: { 'segment.bytes': '1073741824', ...want.configs },
    ...changes,
  };
}

function cluster(brokerCount: number, topics: Record<string, ExistingTopic> = {}): ClusterState {
  return { brokerCount, topics: new Map(Object.entries(topics)) };
}

describe('the catalog', () => {
  test('passes its own validation', () => {
    assert.deepEqual(validateCatalog(TOPICS), []);
  });

  test('declares the topics of the event contract', () => {
    assert.deepEqual(
      TOPICS.map((t) => t.name),
      [
        'sms.message-events',
        'sms.feedback-events',
        'sms.sender-features',
        'sms.sender-minutes',
        'spamgate.feature-engine.changelog',
        'spamgate.feature-engine.by-recipient',
        'spamgate.feature-engine.by-cluster',
        'sms.cluster-features',
        'sms.decisions',
        'sms.decision-evaluations',
        'sms.content-decisions',
        'spamgate.decision-engine.state',
        'sms.policy-overrides',
        'sms.content-overrides',
        'sms.dead-letters',
        'spamgate.schemas',
      ],
    );
  });

  test('co-partitions the input topics with every topic joined with them by sender', () => {
    const sender = TOPICS.filter((t) => t.copartitionGroup === 'sender');
    assert.deepEqual(
      sender.map((t) => t.name),
      [
        'sms.message-events',
        'sms.feedback-events',
        'sms.sender-features',
        'sms.sender-minutes',
        'spamgate.feature-engine.changelog',
        'spamgate.feature-engine.by-recipient',
        'spamgate.feature-engine.by-cluster',
        'sms.decisions',
        'sms.decision-evaluations',
        'spamgate.decision-engine.state',
      ],
    );
    assert.deepEqual(new Set(sender.map((t) => t.partitions)), new Set([12]));
  });

  test('compacts decisions, overrides and writer schemas, and keeps them forever', () => {
    for (const name of [
      'sms.decisions',
      'sms.content-decisions',
      'sms.policy-overrides',
      'sms.content-overrides',
      'spamgate.schemas',
    ]) {
      const t = TOPICS.find((x) => x.name === name);
      assert.equal(t?.cleanupPolicy, 'compact', name);
      assert.equal(t?.retentionMs, -1, name);
    }
  });

  test('keys content decisions by cluster and content overrides by scope and target, joined with no sender topic', () => {
    const decisions = TOPICS.find((t) => t.name === 'sms.content-decisions');
    assert.equal(decisions?.valueSchema, 'ContentDecision');
    assert.match(decisions?.key ?? '', /cluster id/);
    assert.equal(decisions?.partitions, 12);
    assert.equal(decisions?.copartitionGroup, null);
    // Uncompacted for a day, as sms.decisions, so the ClickHouse audit trail sees every decision.
    assert.equal(decisions?.configs['min.compaction.lag.ms'], String(86_400_000));
    const overrides = TOPICS.find((t) => t.name === 'sms.content-overrides');
    assert.equal(overrides?.valueSchema, 'ContentOverride');
    assert.match(overrides?.key ?? '', /<scope>:<target>/);
    assert.equal(overrides?.partitions, 1);
    assert.equal(overrides?.copartitionGroup, null);
    assert.equal(overrides?.configs['delete.retention.ms'], String(7 * 86_400_000));
  });

  test('keeps input events 7 days and dead letters 30 days', () => {
    const retentionDays = (name: string) =>
      (TOPICS.find((t) => t.name === name)?.retentionMs ?? 0) / 86_400_000;
    assert.equal(retentionDays('sms.message-events'), 7);
    assert.equal(retentionDays('sms.feedback-events'), 7);
    assert.equal(retentionDays('sms.dead-letters'), 30);
  });

  test('names a value schema that exists in schemas/avro for every topic but internal ones and the schema topic', () => {
    for (const t of TOPICS) {
      if (t.valueSchema.startsWith('internal:')) {
        assert.match(t.name, /^spamgate\./, 'internal topics are named spamgate.*');
        continue;
      }
      if (t.valueSchema === AVRO_SCHEMA_JSON) {
        assert.equal(t.name, SCHEMAS_TOPIC, 'only the schema topic holds schemas');
        continue;
      }
      assert.ok(existsSync(`${REPO_ROOT}schemas/avro/${t.valueSchema}.avsc`), `${t.name}: ${t.valueSchema}`);
    }
  });

  test('keeps the writer schemas in one compacted partition, keyed by fingerprint', () => {
    const t = TOPICS.find((x) => x.name === SCHEMAS_TOPIC);
    assert.ok(t, 'the services name the schema topic the catalog declares');
    assert.equal(t.partitions, 1);
    assert.equal(t.valueSchema, AVRO_SCHEMA_JSON);
    assert.match(t.key ?? '', /fingerprint/);
    assert.equal(t.copartitionGroup, null);
  });

  test('cannot be changed in place', () => {
    assert.ok(Object.isFrozen(TOPICS));
    for (const t of TOPICS) {
      assert.ok(Object.isFrozen(t), t.name);
      assert.ok(Object.isFrozen(t.configs), t.name);
    }
  });
});

describe('validateCatalog', () => {
  test('finds nothing wrong with a sound catalog', () => {
    assert.deepEqual(validateCatalog([spec({ name: 'a' }), spec({ name: 'b' })]), []);
  });

  const cases: [string, TopicSpec[], RegExp][] = [
    ['a duplicate name', [spec(), spec()], /"sms\.things" is declared more than once/],
    [
      'a copartition group with differing partition counts',
      [
        spec({ name: 'a', copartitionGroup: 'sender', partitions: 12 }),
        spec({ name: 'b', copartitionGroup: 'sender', partitions: 6 }),
      ],
      /copartition group "sender" mixes partition counts \(a 12, b 6\)/,
    ],
    ['a compacted topic without a key', [spec({ cleanupPolicy: 'compact', key: null })], /compacted but/],
    [
      'a compact,delete topic without a key',
      [spec({ cleanupPolicy: 'compact,delete', key: null })],
      /compacted but/,
    ],
    [
      'a copartitioned topic without a key',
      [spec({ copartitionGroup: 'sender', key: null })],
      /copartition group "sender" but its records have no key/,
    ],
    ['zero partitions', [spec({ partitions: 0 })], /0 partitions; it needs at least 1/],
    ['a fractional partition count', [spec({ partitions: 1.5 })], /1\.5 partitions/],
    [
      'a replication factor of 0',
      [spec({ replicationFactor: 0, minInSyncReplicas: 0 })],
      /replication factor 0/,
    ],
    [
      'min.insync.replicas above the replication factor',
      [spec({ minInSyncReplicas: 4 })],
      /min\.insync\.replicas 4/,
    ],
    ['a retention below -1', [spec({ retentionMs: -2 })], /retention\.ms -2/],
    ['an illegal topic name', [spec({ name: 'sms events' })], /a topic name is 1 to 249 characters/],
    ['an empty topic name', [spec({ name: '' })], /a topic name is 1 to 249 characters/],
    ['a missing purpose', [spec({ purpose: ' ' })], /has no purpose/],
    ['a missing value schema', [spec({ valueSchema: '' })], /has no value schema/],
    [
      'a dedicated config repeated in configs',
      [spec({ configs: { 'cleanup.policy': 'compact' } })],
      /sets cleanup\.policy in configs; use its dedicated field/,
    ],
  ];
  for (const [what, catalog, problem] of cases) {
    test(`reports ${what}`, () => {
      const problems = validateCatalog(catalog);
      assert.ok(
        problems.some((p) => problem.test(p)),
        `expected a problem matching ${problem}, got ${JSON.stringify(problems)}`,
      );
    });
  }

  test('reports every problem at once', () => {
    const problems = validateCatalog([spec({ partitions: 0, retentionMs: -5 }), spec({ partitions: 0 })]);
    assert.equal(problems.length, 4, problems.join('\n'));
  });
});

describe('topic names under a prefix', () => {
  test('are the catalog names when the prefix is empty', () => {
    assert.equal(topicName('', 'sms.decisions'), 'sms.decisions');
  });

  test('join the prefix with a dot, unless it already ends in a separator', () => {
    assert.equal(topicName('tenant1', 'sms.decisions'), 'tenant1.sms.decisions');
    assert.equal(topicName('tenant1.', 'sms.decisions'), 'tenant1.sms.decisions');
    assert.equal(topicName('t_abc_', 'sms.decisions'), 't_abc_sms.decisions');
    assert.equal(topicName('t-', 'sms.decisions'), 't-sms.decisions');
  });

  test('apply to every topic of a prefixed catalog and nothing else', () => {
    const prefixed = prefixCatalog(TOPICS, 'acme');
    assert.deepEqual(
      prefixed.map((t) => t.name),
      TOPICS.map((t) => `acme.${t.name}`),
    );
    assert.deepEqual(
      prefixed.map(({ name: _n, ...rest }) => rest),
      TOPICS.map(({ name: _n, ...rest }) => rest),
    );
  });

  test('accept only characters Kafka allows in topic names', () => {
    assert.deepEqual(topicPrefixSetting.parse('t_lq2_ab12.'), { ok: true, value: 't_lq2_ab12.' });
    assert.deepEqual(topicPrefixSetting.parse('bad prefix'), { ok: false });
    assert.deepEqual(topicPrefixSetting.parse('a/b'), { ok: false });
  });
});

describe('planTopics', () => {
  test('creates every topic of an empty cluster with the catalog partitions and configs', () => {
    const plan = planTopics(TOPICS, cluster(3));
    assert.equal(plan.topics.length, TOPICS.length);
    for (const [i, t] of TOPICS.entries()) {
      const p = plan.topics[i];
      assert.equal(p?.topic, t.name);
      assert.deepEqual(p?.drift, []);
      assert.deepEqual(p?.action, {
        kind: 'create',
        partitions: t.partitions,
        replicationFactor: 3,
        configs: {
          'cleanup.policy': t.cleanupPolicy,
          'retention.ms': String(t.retentionMs),
          'min.insync.replicas': '2',
          ...t.configs,
        },
      });
    }
    assert.deepEqual(plan.cappedReplication, []);
  });

  test('caps the replication factor and min.insync.replicas at the broker count, and says so', () => {
    const plan = planTopics([spec({ replicationFactor: 3, minInSyncReplicas: 2 })], cluster(1));
    const action = plan.topics[0]?.action;
    assert.ok(action?.kind === 'create');
    assert.equal(action.replicationFactor, 1);
    assert.equal(action.configs['min.insync.replicas'], '1');
    assert.deepEqual(plan.cappedReplication, [{ topic: 'sms.things', catalog: 3, effective: 1 }]);
  });

  test('leaves a cluster that matches the catalog alone', () => {
    const existing = Object.fromEntries(TOPICS.map((t) => [t.name, provisioned(t, 3)]));
    const plan = planTopics(TOPICS, cluster(3, existing));
    for (const p of plan.topics) {
      assert.deepEqual(p.action, { kind: 'none' }, p.topic);
      assert.deepEqual(p.drift, [], p.topic);
    }
  });

  test('raises partitions when the catalog has more than the broker', () => {
    const t = spec({ partitions: 12 });
    const plan = planTopics([t], cluster(3, { [t.name]: provisioned(t, 3, { partitions: 6 }) }));
    assert.deepEqual(plan.topics[0], {
      topic: t.name,
      action: { kind: 'addPartitions', from: 6, to: 12 },
      drift: [],
    });
  });

  test('reports more partitions on the broker than in the catalog as drift, since Kafka cannot shrink', () => {
    const t = spec({ partitions: 6 });
    const plan = planTopics([t], cluster(3, { [t.name]: provisioned(t, 3, { partitions: 12 }) }));
    assert.deepEqual(plan.topics[0]?.action, { kind: 'none' });
    assert.deepEqual(plan.topics[0]?.drift, [{ setting: 'partitions', catalog: '6', broker: '12' }]);
  });

  test('reports a different cleanup.policy, retention.ms and replication factor as drift, without acting', () => {
    const t = spec({ cleanupPolicy: 'compact', retentionMs: -1 });
    const have = provisioned(t, 3);
    const plan = planTopics(
      [t],
      cluster(3, {
        [t.name]: {
          ...have,
          replicationFactor: 2,
          configs: { ...have.configs, 'cleanup.policy': 'delete', 'retention.ms': '604800000' },
        },
      }),
    );
    assert.deepEqual(plan.topics[0]?.action, { kind: 'none' });
    assert.deepEqual(plan.topics[0]?.drift, [
      { setting: 'replication.factor', catalog: '3', broker: '2' },
      { setting: 'cleanup.policy', catalog: 'compact', broker: 'delete' },
      { setting: 'retention.ms', catalog: '-1', broker: '604800000' },
    ]);
  });

  test('reports drift in the extra configs the catalog sets, and a config the broker lacks', () => {
    const t = spec({ cleanupPolicy: 'compact', configs: { 'min.compaction.lag.ms': '3600000' } });
    const have = provisioned(t, 3);
    const { 'min.insync.replicas': _dropped, ...withoutMinIsr } = have.configs;
    const plan = planTopics(
      [t],
      cluster(3, { [t.name]: { ...have, configs: { ...withoutMinIsr, 'min.compaction.lag.ms': '0' } } }),
    );
    assert.deepEqual(plan.topics[0]?.drift, [
      { setting: 'min.insync.replicas', catalog: '2', broker: '(unset)' },
      { setting: 'min.compaction.lag.ms', catalog: '3600000', broker: '0' },
    ]);
  });

  test('raises partitions and reports drift on the same topic together', () => {
    const t = spec({ partitions: 8 });
    const have = provisioned(t, 3, { partitions: 4 });
    const plan = planTopics(
      [t],
      cluster(3, { [t.name]: { ...have, configs: { ...have.configs, 'retention.ms': '1000' } } }),
    );
    assert.deepEqual(plan.topics[0]?.action, { kind: 'addPartitions', from: 4, to: 8 });
    assert.deepEqual(plan.topics[0]?.drift, [
      { setting: 'retention.ms', catalog: '86400000', broker: '1000' },
    ]);
  });

  test('reads "delete,compact" on the broker as the catalog\'s "compact,delete"', () => {
    const t = spec({ cleanupPolicy: 'compact,delete' });
    const have = provisioned(t, 3);
    const plan = planTopics(
      [t],
      cluster(3, {
        [t.name]: { ...have, configs: { ...have.configs, 'cleanup.policy': 'delete, compact' } },
      }),
    );
    assert.deepEqual(plan.topics[0]?.drift, []);
  });

  test('accepts a capped replication factor on a small cluster, but reports it once the cluster has grown', () => {
    const t = spec({ replicationFactor: 3, minInSyncReplicas: 2 });
    const onOneBroker = provisioned(t, 1);
    assert.deepEqual(planTopics([t], cluster(1, { [t.name]: onOneBroker })).topics[0]?.drift, []);
    assert.deepEqual(planTopics([t], cluster(3, { [t.name]: onOneBroker })).topics[0]?.drift, [
      { setting: 'replication.factor', catalog: '3', broker: '1' },
      { setting: 'min.insync.replicas', catalog: '2', broker: '1' },
    ]);
  });

  test('accepts the full replication factor while a broker is down', () => {
    const t = spec({ replicationFactor: 3, minInSyncReplicas: 2 });
    const plan = planTopics([t], cluster(2, { [t.name]: provisioned(t, 3) }));
    assert.deepEqual(plan.topics[0]?.drift, []);
    assert.deepEqual(plan.cappedReplication, []);
  });

  test('reports a replication factor above the catalog as drift', () => {
    const t = spec({ replicationFactor: 3, minInSyncReplicas: 2 });
    const plan = planTopics([t], cluster(5, { [t.name]: provisioned(t, 3, { replicationFactor: 5 }) }));
    assert.deepEqual(plan.topics[0]?.drift, [{ setting: 'replication.factor', catalog: '3', broker: '5' }]);
  });

  test('refuses an invalid catalog', () => {
    assert.throws(() => planTopics([spec(), spec()], cluster(1)), {
      name: 'SpamgateError',
      code: 'TOPIC_CATALOG_INVALID',
      message: /declared more than once/,
    });
  });
});

describe('the provisioning report', () => {
  test('says per topic what happened, in one line each', () => {
    assert.equal(
      describeTopicResult({
        topic: 'a',
        outcome: { kind: 'created', partitions: 12, replicationFactor: 1 },
        drift: [],
      }),
      'created (12 partitions, replication factor 1)',
    );
    assert.equal(
      describeTopicResult({ topic: 'a', outcome: { kind: 'partitionsRaised', from: 6, to: 12 }, drift: [] }),
      'partitions raised from 6 to 12',
    );
    assert.equal(describeTopicResult({ topic: 'a', outcome: { kind: 'unchanged' }, drift: [] }), 'ok');
    assert.equal(
      describeTopicResult({
        topic: 'a',
        outcome: { kind: 'unchanged' },
        drift: [{ setting: 'cleanup.policy', catalog: 'compact', broker: 'delete' }],
      }),
      'DRIFT: cleanup.policy is delete on the broker, compact in the catalog (left as it is)',
    );
  });

  test('aligns the topic names and ends with the cap note and a summary', () => {
    const lines = formatReport({
      brokerCount: 1,
      topics: [
        { topic: 'short', outcome: { kind: 'created', partitions: 1, replicationFactor: 1 }, drift: [] },
        { topic: 'a-longer-name', outcome: { kind: 'unchanged' }, drift: [] },
      ],
      cappedReplication: [{ topic: 'short', catalog: 3, effective: 1 }],
      drifted: false,
    });
    assert.deepEqual(lines, [
      'short          created (1 partition, replication factor 1)',
      'a-longer-name  ok',
      'note: replication factor capped at 1 (the cluster has 1 broker; the catalog asks for up to 3)',
      '2 topics: 1 created, 0 raised, 0 drifted',
    ]);
  });
});
