/** What the decision engine's integration tests share: a broker, topics, engines, readers. */
import { hostname } from 'node:os';
import { after, before } from 'node:test';
import { createLogger } from '@spamgate/core';
import { createCodec, type Decision, type PolicyOverride, type SenderFeatures } from '@spamgate/schemas';
import {
  eventually,
  getInfra,
  removeGroupMember,
  type ServiceProcess,
  spawnService,
  TEST_HASH_KEY,
  testKafka,
  uniqueName,
} from '@spamgate/test';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { provisionTopics } from '../../../../infra/kafka/provision.ts';
import { TOPICS } from '../../../../infra/kafka/topics.ts';
import { type DecisionEngineTopics, decisionEngineTopics } from '../../src/config.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
export const codec = createCodec();

export interface Received<T> {
  readonly key: string;
  readonly value: T | null;
  readonly partition: number;
  readonly offset: string;
  /** Wall clock when the test read it. */
  readonly readAt: number;
}

export interface Reader<T> {
  readonly records: Received<T>[];
  stop(): Promise<void>;
}

export interface DecisionHarness {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly brokers: string;
  provision(prefix: string): Promise<DecisionEngineTopics>;
  produceFeatures(topic: string, features: readonly SenderFeatures[]): Promise<void>;
  produceOverride(topic: string, key: string, o: PolicyOverride | null): Promise<void>;
  produceRaw(topic: string, key: string, value: Buffer): Promise<void>;
  /** A decision engine process on `prefix`'s topics, group `<prefix>-de`. */
  startEngine(prefix: string, env?: Record<string, string>): ServiceProcess;
  killHard(prefix: string, engine: ServiceProcess): Promise<void>;
  /** Reads a topic from the beginning, read_committed, decoding values with `decode`. */
  read<T>(topic: string, decode: (b: Buffer) => T): Promise<Reader<T>>;
  /** Records of the engine's input topic committed by its group. */
  committed(prefix: string, topic: string): Promise<number>;
  waitCommitted(prefix: string, topic: string, total: number, engine: ServiceProcess): Promise<void>;
}

export const decodeDecision = (b: Buffer): Decision => codec.decode('Decision', b);

export function useDecisionHarness(): DecisionHarness {
  let kafka: Kafka;
  let admin: Admin;
  let brokers: string;
  const processes: ServiceProcess[] = [];
  const readers: Reader<unknown>[] = [];
  before(async () => {
    kafka = await testKafka();
    admin = kafka.admin();
    await admin.connect();
    brokers = (await getInfra()).kafkaBrokers.join(',');
  });
  after(async () => {
    for (const p of processes) p.kill();
    for (const r of readers) await r.stop().catch(() => {});
    await admin.disconnect();
  });
  const send = async (topic: string, messages: { key: string; value: Buffer | null }[]) => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 500)
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    } finally {
      await producer.disconnect();
    }
  };
  const harness: DecisionHarness = {
    get kafka() {
      return kafka;
    },
    get admin() {
      return admin;
    },
    get brokers() {
      return brokers;
    },
    async provision(prefix) {
      const logger = createLogger({ service: 'test', instanceId: 'x', level: 'error' });
      await provisionTopics({ kafka, catalog: TOPICS, prefix, logger });
      return decisionEngineTopics(prefix);
    },
    produceFeatures: (topic, features) =>
      send(
        topic,
        features.map((f) => ({ key: f.sender, value: codec.encode('SenderFeatures', f) })),
      ),
    produceOverride: (topic, key, o) =>
      send(topic, [{ key, value: o === null ? null : codec.encode('PolicyOverride', o) }]),
    produceRaw: (topic, key, value) => send(topic, [{ key, value }]),
    startEngine(prefix, env = {}) {
      const p = spawnService(MAIN, {
        SPAMGATE_KAFKA_BROKERS: brokers,
        SPAMGATE_TOPIC_PREFIX: prefix,
        SPAMGATE_DECISION_ENGINE_GROUP: `${prefix}-de`,
        SPAMGATE_HASH_KEY: TEST_HASH_KEY,
        SPAMGATE_HTTP_PORT: '0',
        SPAMGATE_LOG_LEVEL: 'info',
        ...env,
      });
      processes.push(p);
      return p;
    },
    async killHard(prefix, engine) {
      const clientId = `spamgate-decision-engine-${hostname()}-${engine.child.pid}`;
      const { groups } = await admin.describeGroups([`${prefix}-de`]);
      const member = groups[0]?.members.find((m) => m.clientId === clientId);
      engine.child.kill('SIGKILL');
      await engine.exited;
      if (member) await removeGroupMember(brokers.split(',')[0]!, `${prefix}-de`, member.memberId);
    },
    async read<T>(topic: string, decode: (b: Buffer) => T): Promise<Reader<T>> {
      const records: Received<T>[] = [];
      const consumer: Consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push({
            key: message.key?.toString('utf8') ?? '',
            value: message.value ? decode(message.value) : null,
            partition,
            offset: message.offset,
            readAt: Date.now(),
          });
        },
      });
      const reader: Reader<T> = { records, stop: () => consumer.disconnect() };
      readers.push(reader as Reader<unknown>);
      return reader;
    },
    async committed(prefix, topic) {
      const [o] = await admin.fetchOffsets({ groupId: `${prefix}-de`, topics: [topic] });
      return (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    },
    async waitCommitted(prefix, topic, total, engine) {
      await eventually(
        async () => {
          if (engine.child.exitCode !== null)
            throw new Error(
              `the engine exited with ${engine.child.exitCode}: ${engine.stderr().slice(-1000)}`,
            );
          return (await harness.committed(prefix, topic)) >= total ? true : undefined;
        },
        { timeoutMs: 120_000, what: `the engine to commit ${total} records of ${topic}` },
      );
    },
  };
  return harness;
}
