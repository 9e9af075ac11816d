import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestTopic, eventually, testKafka, uniqueName } from '@spamgate/test';
import { type Admin, AssignerProtocol, type Consumer, type Kafka } from 'kafkajs';
import {
  COPARTITION_ASSIGNER_NAME,
  createCopartitionAssigner,
} from '../../services/feature-engine/src/kafka/copartition-assigner.ts';

const PARTITIONS = 6;

interface Member {
  readonly name: string;
  readonly consumer: Consumer;
  /** From the latest GROUP_JOIN. */
  memberId: string;
  groupProtocol: string;
  assignment: Record<string, number[]>;
  readonly consumed: { topic: string; partition: number; key: string }[];
}

async function startMember(kafka: Kafka, groupId: string, topics: string[], name: string): Promise<Member> {
  const copartition = createCopartitionAssigner();
  const consumer = kafka.consumer({
    groupId,
    partitionAssigners: [copartition.assigner],
    // Short heartbeats and fetch waits, so members notice a rebalance within a second or so.
    heartbeatInterval: 500,
    maxWaitTimeInMs: 500,
  });
  const member: Member = { name, consumer, memberId: '', groupProtocol: '', assignment: {}, consumed: [] };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    copartition.rememberAssignment(payload.memberAssignment);
    member.memberId = payload.memberId;
    member.groupProtocol = payload.groupProtocol;
    member.assignment = payload.memberAssignment;
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      member.consumed.push({ topic, partition, key: String(message.key) });
    },
  });
  return member;
}

function sorted(partitions: readonly number[] | undefined): number[] {
  return [...(partitions ?? [])].sort((a, b) => a - b);
}

function sameAssignment(a: Record<string, number[]>, b: Record<string, number[]>): boolean {
  const topics = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...topics].every((t) => sorted(a[t]).join() === sorted(b[t]).join());
}

/**
 * Waits until the broker says the group is stable with exactly these members and each member's
 * latest GROUP_JOIN shows the assignment the broker holds for it; returns member name → its
 * partition numbers, after checking they are co-partitioned, cover every partition once and are
 * balanced.
 */
async function settledOwners(
  admin: Admin,
  groupId: string,
  topics: readonly string[],
  members: readonly Member[],
): Promise<Record<string, number[]>> {
  await eventually(
    async () => {
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      if (group?.state !== 'Stable' || group.members.length !== members.length) return undefined;
      for (const member of members) {
        const described = group.members.find((d) => d.memberId === member.memberId);
        if (!described) return undefined;
        const held = AssignerProtocol.MemberAssignment.decode(described.memberAssignment)?.assignment ?? {};
        if (!sameAssignment(held, member.assignment)) return undefined;
      }
      return true;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `a stable group of ${members.map((m) => m.name).join(', ')}`,
    },
  );

  const owners: Record<string, number[]> = {};
  for (const member of members) {
    assert.equal(member.groupProtocol, COPARTITION_ASSIGNER_NAME);
    const [first, ...others] = topics.map((t) => sorted(member.assignment[t]));
    for (const other of others)
      assert.deepEqual(other, first, `${member.name} owns the same partitions of each topic`);
    owners[member.name] = first ?? [];
  }
  assert.deepEqual(
    sorted(Object.values(owners).flat()),
    Array.from({ length: PARTITIONS }, (_, p) => p),
    'every partition number owned once',
  );
  const sizes = Object.values(owners).map((o) => o.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes.join(',')}`);
  return owners;
}

test('the co-partition assigner gives each member partition p of both topics and keeps them through a join and a leave', async (t) => {
  const kafka = await testKafka();
  const messages = await createTestTopic(kafka, { prefix: 'copartition-messages', partitions: PARTITIONS });
  const feedback = await createTestTopic(kafka, { prefix: 'copartition-feedback', partitions: PARTITIONS });
  const topics = [messages, feedback];
  const groupId = uniqueName('copartition');
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const started: Member[] = [];
  t.after(async () => {
    await Promise.allSettled(started.map((m) => m.consumer.disconnect()));
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  });
  await Promise.all([admin.connect(), producer.connect()]);

  // A rolling start: a, then b. kafkajs member ids begin with the client id and b's sorts first,
  // so b would win every tie; the freed partitions must still go back to their previous owner.
  const a = await startMember(await testKafka(uniqueName('member-z')), groupId, topics, 'a');
  started.push(a);
  assert.deepEqual(await settledOwners(admin, groupId, topics, [a]), { a: [0, 1, 2, 3, 4, 5] });
  const b = await startMember(await testKafka(uniqueName('member-a')), groupId, topics, 'b');
  started.push(b);
  assert.ok(b.memberId < a.memberId, 'b sorts first');
  const pair = [a, b];
  const before = await settledOwners(admin, groupId, topics, pair);
  assert.deepEqual(
    before,
    { a: [0, 1, 2], b: [3, 4, 5] },
    'a keeps half of its partitions, only the rest move',
  );

  // Keyed by sender: the default partitioner puts a sender on the same partition number of both
  // topics, so one member must see all of a sender's events.
  const senders = Array.from({ length: 24 }, (_, i) => `+1202555${String(100 + i).padStart(4, '0')}`);
  for (const topic of topics) {
    await producer.send({ topic, messages: senders.map((key) => ({ key, value: `event of ${key}` })) });
  }
  const ownerOf = (partition: number) =>
    Object.entries(before).find(([, owned]) => owned.includes(partition))?.[0];
  await eventually(
    () => (pair.reduce((n, m) => n + m.consumed.length, 0) >= 2 * senders.length ? true : undefined),
    { what: 'every message consumed' },
  );
  const consumerOf = new Map<string, string>();
  for (const member of pair) {
    for (const { topic, partition, key } of member.consumed) {
      assert.equal(ownerOf(partition), member.name, `${topic}/${partition} consumed by its owner`);
      assert.equal(consumerOf.get(key) ?? member.name, member.name, `every event of ${key} on one member`);
      consumerOf.set(key, member.name);
    }
  }
  assert.deepEqual([...consumerOf.keys()].sort(), [...senders].sort());

  const third = await startMember(await testKafka(uniqueName('member-c')), groupId, topics, 'c');
  started.push(third);
  const during = await settledOwners(admin, groupId, topics, [...pair, third]);
  assert.deepEqual(
    during,
    { a: [0, 1], b: [3, 4], c: [2, 5] },
    'a and b each give up one partition, no more',
  );

  await third.consumer.disconnect();
  const after = await settledOwners(admin, groupId, topics, pair);
  assert.deepEqual(after, before, 'the first two own what they owned before the third joined');
});
