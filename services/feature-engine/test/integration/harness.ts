/** What the engine's smaller integration tests share: a broker, topics, engines, offsets. */
import { hostname } from 'node:os';
import { after, before } from 'node:test';
import { createLogger } from '@spamgate/core';
import { createCodec, type MessageEvent } from '@spamgate/schemas';
import {
  eventually,
  getInfra,
  removeGroupMember,
  type ServiceProcess,
  spawnService,
  testKafka,
} from '@spamgate/test';
import type { Admin, Kafka } from 'kafkajs';
import { provisionTopics } from '../../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../../infra/kafka/topics.ts';
import { type FeatureEngineTopics, featureEngineTopics } from '../../src/config.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
export const codec = createCodec();
/** The engines' SPAMGATE_HASH_KEY, for tests that hash a number as the engine does. */
export const HARNESS_HASH_KEY = 'harness-test-secret-0123456789';

export interface Harness {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Creates the catalog's topics under `prefix` and returns their names. */
  provision(prefix: string): Promise<FeatureEngineTopics>;
  /** Produces message events, keyed by sender (or to `partition` when given). */
  produce(
    topic: string,
    events: readonly MessageEvent[],
    partition?: (e: MessageEvent) => number,
  ): Promise<void>;
  /** An engine process on `prefix`'s topics, group `<prefix>-fe`, killed when the file ends. */
  startEngine(prefix: string, env?: Record<string, string>): ServiceProcess;
  /**
   * Kills an engine with SIGKILL and removes it from its group as its session timing out would,
   * without waiting the 30 s session timeout before the next engine gets the partitions.
   */
  killHard(prefix: string, engine: ServiceProcess): Promise<void>;
  /**
   * Runs an engine over `phases` of input on fresh topics under `prefix`: each phase produced,
   * then (with `kill`) the engine SIGKILLed once half of it is committed and a new one started,
   * then waited for until every input record is committed and every record it re-keyed into its
   * repartition topics read back. Returns the topics and the engine still running.
   */
  runPhases(
    prefix: string,
    phases: readonly (readonly MessageEvent[])[],
    options: { kill: boolean; env?: Record<string, string> },
  ): Promise<{ topics: FeatureEngineTopics; engine: ServiceProcess }>;
  /** Input offsets committed by the engine's group, summed over partitions. */
  committed(prefix: string, topic: string): Promise<number>;
  /** Waits until the engine committed `total` input records, failing early if it exits. */
  waitCommitted(
    prefix: string,
    topic: string,
    total: number,
    engine: ServiceProcess,
    timeoutMs?: number,
  ): Promise<void>;
}

/** `count` messages of one sender to as many recipients, a second apart from two minutes ago. */
export function oneSenderEvents(count: number): MessageEvent[] {
  const t0 = Date.now() - 120_000;
  return Array.from({ length: count }, (_, i) => ({
    messageId: `m-${i}`,
    eventTime: t0 + i * 1_000,
    sender: '+12025550100',
    senderKind: 'LONG_CODE',
    recipient: `+1303555${String(1000 + i)}`,
    body: 'see you at noon',
    campaignId: null,
    originNetwork: null,
  }));
}

/** Registers before/after hooks for the calling test file and returns the harness they fill. */
export function useHarness(): Harness {
  let kafka: Kafka;
  let admin: Admin;
  let brokers: string;
  const processes: ServiceProcess[] = [];
  before(async () => {
    kafka = await testKafka();
    admin = kafka.admin();
    await admin.connect();
    brokers = (await getInfra()).kafkaBrokers.join(',');
  });
  after(async () => {
    for (const p of processes) p.kill();
    await admin.disconnect();
  });
  const harness: Harness = {
    get kafka() {
      return kafka;
    },
    get admin() {
      return admin;
    },
    async provision(prefix) {
      const logger = createLogger({ service: 'test', instanceId: 'x', level: 'error' });
      await provisionTopics({ kafka, catalog: TOPICS, prefix, logger });
      return featureEngineTopics(prefix);
    },
    async produce(topic, events, partition) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        for (let i = 0; i < events.length; i += 1_000)
          await producer.send({
            topic,
            messages: events.slice(i, i + 1_000).map((e) => ({
              key: e.sender,
              value: codec.encode('MessageEvent', e),
              ...(partition ? { partition: partition(e) } : {}),
            })),
          });
      } finally {
        await producer.disconnect();
      }
    },
    startEngine(prefix, env = {}) {
      const p = spawnService(MAIN, {
        SPAMGATE_KAFKA_BROKERS: brokers,
        SPAMGATE_TOPIC_PREFIX: prefix,
        SPAMGATE_FEATURE_ENGINE_GROUP: `${prefix}-fe`,
        SPAMGATE_HASH_KEY: HARNESS_HASH_KEY,
        SPAMGATE_HTTP_PORT: '0',
        SPAMGATE_LOG_LEVEL: 'info',
        ...env,
      });
      processes.push(p);
      return p;
    },
    async killHard(prefix, engine) {
      // The engine's Kafka client id ends in its instance id, host-pid.
      const clientId = `spamgate-feature-engine-${hostname()}-${engine.child.pid}`;
      const { groups } = await admin.describeGroups([`${prefix}-fe`]);
      const member = groups[0]?.members.find((m) => m.clientId === clientId);
      engine.child.kill('SIGKILL');
      await engine.exited;
      if (member) await removeGroupMember(brokers.split(',')[0]!, `${prefix}-fe`, member.memberId);
    },
    async runPhases(prefix, phases, { kill, env = {} }) {
      const topics = await harness.provision(prefix);
      let engine = harness.startEngine(prefix, env);
      let produced = 0;
      for (const phase of phases) {
        await harness.produce(topics.messages, phase);
        produced += phase.length;
        if (kill) {
          await harness.waitCommitted(prefix, topics.messages, produced - phase.length / 2, engine);
          await harness.killHard(prefix, engine);
          engine = harness.startEngine(prefix, env);
        }
        await harness.waitCommitted(prefix, topics.messages, produced, engine);
        // Then the re-keyed copies, replies first (opt-outs attributed to clusters come from
        // them): committed offsets reach each topic's end, which counts transaction markers too.
        for (const topic of [topics.byRecipient, topics.byCluster]) {
          const end = (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
          await harness.waitCommitted(prefix, topic, end, engine);
        }
      }
      return { topics, engine };
    },
    async committed(prefix, topic) {
      const [o] = await admin.fetchOffsets({ groupId: `${prefix}-fe`, topics: [topic] });
      return (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    },
    async waitCommitted(prefix, topic, total, engine, timeoutMs = 120_000) {
      await eventually(
        async () => {
          if (engine.child.exitCode !== null)
            throw new Error(
              `the engine exited with ${engine.child.exitCode}: ${engine.stderr().slice(-1000)}`,
            );
          return (await harness.committed(prefix, topic)) >= total ? true : undefined;
        },
        { timeoutMs, what: `the engine to commit ${total} records of ${topic}` },
      );
    },
  };
  return harness;
}
