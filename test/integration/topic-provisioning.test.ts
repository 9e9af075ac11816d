// `npm run topics` against the real broker: each test provisions the catalog under its own prefix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { readSchemaTopic, SCHEMAS_TOPIC } from '@spamgate/core';
import { createCodec, fingerprintBytes, schemaRegistrations } from '@spamgate/schemas';
import { eventually, getInfra, REPO_ROOT, testKafka, testLogger, uniqueName } from '@spamgate/test';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { effectiveTopic, formatReport, provisionTopics } from '../../infra/kafka/provision.ts';
import { TOPICS, type TopicSpec, topicName } from '../../infra/kafka/topics.ts';

const { ConfigResourceTypes } = kafkajs;
const CLI = `${REPO_ROOT}infra/kafka/cli.ts`;

let kafka: Kafka;
let admin: Admin;
let brokers: string;
let brokerCount: number;
const prefixes: string[] = [];

before(async () => {
  kafka = await testKafka();
  admin = kafka.admin();
  await admin.connect();
  brokers = (await getInfra()).kafkaBrokers.join(',');
  brokerCount = (await admin.describeCluster()).brokers.length;
});

after(async () => {
  const mine = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`)));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  await admin.disconnect();
});

/** A prefix no other test or run uses; its topics are deleted after the file. */
function freshPrefix(): string {
  const prefix = uniqueName('t');
  prefixes.push(prefix);
  return prefix;
}

function provision(prefix: string, catalog: readonly TopicSpec[] = TOPICS) {
  return provisionTopics({ kafka, catalog, prefix, logger: testLogger('topics') });
}

/** What the broker says about a topic, read independently of the provisioner. */
async function onBroker(topic: string): Promise<{ partitions: number[]; configs: Record<string, string> }> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  return {
    partitions: (topics[0]?.partitions ?? []).map((p) => p.replicas.length),
    configs: Object.fromEntries(
      (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
    ),
  };
}

/** Sets a topic's configs to the catalog's, except `changes`: an operator's edit by hand. */
async function editByHand(topic: string, spec: TopicSpec, changes: Record<string, string>): Promise<void> {
  // alterConfigs replaces every topic-level config, so pass the full set.
  const configs = { ...effectiveTopic(spec, brokerCount).configs, ...changes };
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      },
    ],
  });
  // KRaft applies the change through the metadata log: wait until describeConfigs shows it.
  await eventually(
    async () => {
      const { configs: now } = await onBroker(topic);
      return Object.entries(changes).every(([k, v]) => now[k] === v) ? true : undefined;
    },
    { timeoutMs: 15_000, what: `the edit of ${topic} to show` },
  );
}

function catalogTopic(name: string): TopicSpec {
  const t = TOPICS.find((x) => x.name === name);
  assert.ok(t, name);
  return t;
}

/** Runs `npm run topics` as a child process, as an operator would. */
function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The report line of one catalog topic in the CLI's output. */
function lineOf(stdout: string, prefix: string, name: string): string {
  const topic = topicName(prefix, name);
  const line = stdout.split('\n').find((l) => l.startsWith(`${topic} `));
  assert.ok(line, `no line for ${topic} in:\n${stdout}`);
  return line.slice(topic.length).trim();
}

test('provisioning an empty cluster creates every topic with the catalog partitions and configs', async () => {
  const prefix = freshPrefix();
  const report = await provision(prefix);

  const rf = Math.min(3, brokerCount);
  assert.equal(report.drifted, false);
  assert.deepEqual(
    report.topics.map((r) => [r.topic, r.outcome]),
    TOPICS.map((t) => [
      topicName(prefix, t.name),
      {
        kind: 'created',
        partitions: t.partitions,
        replicationFactor: Math.min(t.replicationFactor, brokerCount),
      },
    ]),
  );
  for (const t of TOPICS) {
    const name = topicName(prefix, t.name);
    const got = await onBroker(name);
    assert.equal(got.partitions.length, t.partitions, `${name} partitions`);
    assert.ok(
      got.partitions.every((replicas) => replicas === rf),
      `${name} replicas ${got.partitions}`,
    );
    assert.equal(got.configs['cleanup.policy'], t.cleanupPolicy, `${name} cleanup.policy`);
    assert.equal(got.configs['retention.ms'], String(t.retentionMs), `${name} retention.ms`);
    assert.equal(
      got.configs['min.insync.replicas'],
      String(Math.min(t.minInSyncReplicas, rf)),
      `${name} min.insync.replicas`,
    );
    for (const [config, value] of Object.entries(t.configs)) {
      assert.equal(got.configs[config], value, `${name} ${config}`);
    }
  }
});

test('provisioning again changes nothing and reports every topic ok', async () => {
  const prefix = freshPrefix();
  await provision(prefix);
  const again = await provision(prefix);

  assert.equal(again.drifted, false);
  for (const r of again.topics) {
    assert.deepEqual(r.outcome, { kind: 'unchanged' }, r.topic);
    assert.deepEqual(r.drift, [], r.topic);
  }
  const lines = formatReport(again);
  for (const t of TOPICS) {
    const topic = topicName(prefix, t.name);
    assert.ok(
      lines.some((l) => l.startsWith(`${topic} `) && l.endsWith('  ok')),
      `${topic} ok in:\n${lines.join('\n')}`,
    );
  }
  assert.ok(lines.includes(`${TOPICS.length} topics: 0 created, 0 raised, 0 drifted`));
});

test('two runs at once both succeed and create each topic once', async () => {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([provision(prefix), provision(prefix)]);

  for (const [i, t] of TOPICS.entries()) {
    const kinds = [a.topics[i]?.outcome.kind, b.topics[i]?.outcome.kind].sort();
    assert.deepEqual(kinds, ['created', 'createdElsewhere'], t.name);
  }
  assert.equal(a.drifted || b.drifted, false);
});

test('a catalog with more partitions for a topic raises them on the broker', async () => {
  const prefix = freshPrefix();
  await provision(prefix);
  const raised = TOPICS.map((t) =>
    t.name === 'sms.dead-letters' ? { ...t, partitions: t.partitions + 2 } : t,
  );

  const report = await provision(prefix, raised);

  const deadLetters = topicName(prefix, 'sms.dead-letters');
  const declared = catalogTopic('sms.dead-letters').partitions;
  for (const r of report.topics) {
    const expected =
      r.topic === deadLetters
        ? { kind: 'partitionsRaised', from: declared, to: declared + 2 }
        : { kind: 'unchanged' };
    assert.deepEqual(r.outcome, expected, r.topic);
  }
  assert.equal((await onBroker(deadLetters)).partitions.length, declared + 2);

  // The original catalog now has fewer: Kafka cannot shrink, so that is drift, not an action.
  const back = await provision(prefix);
  const r = back.topics.find((x) => x.topic === deadLetters);
  assert.deepEqual(r?.outcome, { kind: 'unchanged' });
  assert.deepEqual(r?.drift, [
    { setting: 'partitions', catalog: String(declared), broker: String(declared + 2) },
  ]);
  assert.equal((await onBroker(deadLetters)).partitions.length, declared + 2);
});

test('a cleanup.policy changed by hand is reported as drift and left as it is', async () => {
  const prefix = freshPrefix();
  await provision(prefix);
  const decisions = topicName(prefix, 'sms.decisions');
  await editByHand(decisions, catalogTopic('sms.decisions'), { 'cleanup.policy': 'delete' });

  const report = await provision(prefix);

  assert.equal(report.drifted, true);
  for (const r of report.topics) {
    assert.deepEqual(r.outcome, { kind: 'unchanged' }, r.topic);
    assert.deepEqual(
      r.drift,
      r.topic === decisions ? [{ setting: 'cleanup.policy', catalog: 'compact', broker: 'delete' }] : [],
      r.topic,
    );
  }
  assert.equal((await onBroker(decisions)).configs['cleanup.policy'], 'delete');
});

test('the topics command prints one line per topic and exits 0; with --strict it exits 3 on drift', async () => {
  const prefix = freshPrefix();
  const env = { SPAMGATE_KAFKA_BROKERS: brokers, SPAMGATE_TOPIC_PREFIX: prefix };

  const first = await runCli([], env);
  assert.equal(first.code, 0, first.stderr);
  for (const t of TOPICS) {
    assert.equal(
      lineOf(first.stdout, prefix, t.name),
      `created (${t.partitions} partition${t.partitions === 1 ? '' : 's'}, ` +
        `replication factor ${Math.min(t.replicationFactor, brokerCount)})`,
    );
  }

  const second = await runCli(['--strict'], env);
  assert.equal(second.code, 0, second.stderr);
  for (const t of TOPICS) assert.equal(lineOf(second.stdout, prefix, t.name), 'ok');

  await editByHand(topicName(prefix, 'sms.decisions'), catalogTopic('sms.decisions'), {
    'cleanup.policy': 'delete',
  });
  const lenient = await runCli([], env);
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.equal(
    lineOf(lenient.stdout, prefix, 'sms.decisions'),
    'DRIFT: cleanup.policy is delete on the broker, compact in the catalog (left as it is)',
  );
  assert.equal(lineOf(lenient.stdout, prefix, 'sms.message-events'), 'ok');

  const strict = await runCli(['--strict'], env);
  assert.equal(strict.code, 3, strict.stderr);
  assert.match(
    lineOf(strict.stdout, prefix, 'sms.decisions'),
    /^DRIFT: cleanup\.policy is delete on the broker/,
  );
});

test('the topics command publishes every schema version on spamgate.schemas, once', async () => {
  const prefix = freshPrefix();
  const env = { SPAMGATE_KAFKA_BROKERS: brokers, SPAMGATE_TOPIC_PREFIX: prefix };
  const topic = topicName(prefix, SCHEMAS_TOPIC);
  const expected = schemaRegistrations({ released: true });

  const first = await runCli([], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    new RegExp(`^writer schemas on ${topic}: ${expected.length} published, 0 there already$`, 'm'),
  );
  const stored = await readSchemaTopic(kafka, { topic });
  assert.deepEqual([...stored.keys()].sort(), expected.map((s) => s.fingerprint).sort());
  const reader = createCodec();
  for (const s of stored.values()) {
    assert.equal(
      fingerprintBytes(JSON.parse(s.json)).toString('hex'),
      s.fingerprint,
      'keyed by its fingerprint',
    );
    const want = expected.find((e) => e.fingerprint === s.fingerprint);
    assert.deepEqual([s.record, s.version], [want?.record, want?.version], 'headers name record and version');
    assert.equal(reader.learn(s.json).added, false, 'every one is a version this release knows');
  }
  const end = async () => Number((await admin.fetchTopicOffsets(topic))[0]?.high);
  const written = await end();
  assert.equal(written, expected.length);

  const again = await runCli([], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    new RegExp(`^writer schemas on ${topic}: 0 published, ${expected.length} there already$`, 'm'),
  );
  assert.equal(await end(), written, 'nothing written again');
});

test('the topics command exits 78 and names the variable when a setting is bad', async () => {
  const result = await runCli([], {
    SPAMGATE_KAFKA_BROKERS: brokers,
    SPAMGATE_TOPIC_PREFIX: 'no spaces/allowed',
  });
  assert.equal(result.code, 78);
  assert.match(result.stderr, /SPAMGATE_TOPIC_PREFIX: got "no spaces\/allowed", expected/);
  assert.equal(result.stdout, '');
});
