import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@spamgate/test';
import {
  type Assigner,
  AssignerProtocol,
  type Cluster,
  type GroupMember,
  type Logger,
  type PartitionMetadata,
} from 'kafkajs';
import {
  COPARTITION_ASSIGNER_NAME,
  COPARTITION_ASSIGNER_VERSION,
  type CopartitionAssigner,
  createCopartitionAssigner,
  type TopicPartitions,
} from '../src/kafka/copartition-assigner.ts';

const MESSAGES = 'sms.message-events';
const FEEDBACK = 'sms.feedback-events';

type PartitionCounts = Readonly<Record<string, number>>;
/** Member id → the partition numbers it was given, ascending. */
type Owners = Record<string, number[]>;

/** The one part of kafkajs' cluster an assigner uses, answering like kafkajs after a metadata refresh. */
function fakeCluster(counts: PartitionCounts): Cluster {
  const findTopicPartitionMetadata = (topic: string): PartitionMetadata[] =>
    Array.from({ length: counts[topic] ?? 0 }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
  return { findTopicPartitionMetadata } as unknown as Cluster;
}

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    info: () => {},
    debug: () => {},
    error: () => {},
    warn: (message) => warnings.push(message),
    namespace: () => logger,
    setLogLevel: () => {},
  };
  return { logger, warnings };
}

function instantiate(member: CopartitionAssigner, counts: PartitionCounts, logger: Logger): Assigner {
  return member.assigner({ cluster: fakeCluster(counts), groupId: 'feature-engine', logger });
}

function decode(buffer: Buffer): Record<string, number[]> {
  const decoded = AssignerProtocol.MemberAssignment.decode(buffer);
  assert.ok(decoded, 'a member assignment');
  assert.equal(decoded.version, COPARTITION_ASSIGNER_VERSION);
  return decoded.assignment;
}

function numbersOf(assignment: TopicPartitions): number[] {
  return [...new Set(Object.values(assignment).flat())].sort((a, b) => a - b);
}

/**
 * A consumer group driven the way kafkajs drives it: every rebalance each member advertises its
 * metadata, the leader (the first member) assigns, and each member remembers what it got. Every
 * member has its own assigner and clock reading, as in production.
 */
function createGroup(counts: PartitionCounts, topics = Object.keys(counts)) {
  const { logger, warnings } = recordingLogger();
  const members = new Map<string, CopartitionAssigner>();
  let clock = 1_000_000;
  const member = (id: string): CopartitionAssigner => {
    let m = members.get(id);
    if (!m) {
      m = createCopartitionAssigner({ now: () => clock });
      members.set(id, m);
    }
    return m;
  };
  const metadataOf = (id: string): GroupMember => ({
    memberId: id,
    memberMetadata: instantiate(member(id), counts, logger).protocol({ topics }).metadata,
  });
  return {
    warnings,
    metadataOf,
    /** One rebalance with these members, listed in this order; returns each one's assignment. */
    async rebalance(ids: readonly string[]): Promise<Map<string, Record<string, number[]>>> {
      clock += 60_000;
      const leader = instantiate(member(ids[0] ?? 'nobody'), counts, logger);
      const result = await leader.assign({ members: ids.map(metadataOf), topics });
      const assignments = new Map(result.map((r) => [r.memberId, decode(r.memberAssignment)]));
      for (const id of ids) member(id).rememberAssignment(assignments.get(id) ?? {});
      return assignments;
    },
    async owners(ids: readonly string[]): Promise<Owners> {
      const assignments = await this.rebalance(ids);
      return Object.fromEntries([...assignments].map(([id, a]) => [id, numbersOf(a)]));
    },
  };
}

/** Every partition of every topic to exactly one member, partition p of all topics to one member, balanced. */
function assertCopartitioned(
  assignments: ReadonlyMap<string, Record<string, number[]>>,
  ids: readonly string[],
  counts: PartitionCounts,
): void {
  assert.deepEqual([...assignments.keys()].sort(), [...ids].sort(), 'one assignment per member');
  const numbers = Math.max(0, ...Object.values(counts));
  const seen = new Map<number, string>();
  for (const [id, assignment] of assignments) {
    const mine = numbersOf(assignment);
    for (const p of mine) {
      assert.equal(seen.get(p), undefined, `partition number ${p} given twice`);
      seen.set(p, id);
    }
    for (const [topic, count] of Object.entries(counts)) {
      const expected = mine.filter((p) => p < count);
      assert.deepEqual(
        [...(assignment[topic] ?? [])].sort((a, b) => a - b),
        expected,
        `${id} ${topic}`,
      );
    }
    for (const topic of Object.keys(assignment)) assert.ok(topic in counts, `unknown topic ${topic}`);
  }
  assert.equal(seen.size, numbers, 'every partition number assigned');
  const sizes = [...assignments.values()].map((a) => numbersOf(a).length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes.join(',')}`);
}

test('partition p of every subscribed topic goes to one member, balanced, for any group and partition counts', async () => {
  for (let seed = 1; seed <= 400; seed++) {
    const random = mulberry32(seed);
    const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
    const topicCount = int(2, 3);
    const base = int(1, 32);
    // Mostly equal counts, as in production; sometimes not, which must still be covered.
    const counts: Record<string, number> = {};
    for (let t = 0; t < topicCount; t++) counts[`topic-${t}`] = random() < 0.2 ? int(1, 32) : base;
    const pool = Array.from(
      { length: 10 },
      (_, i) => `member-${((seed * 7919 + i * 104_729) % 100_000).toString(36)}`,
    );
    const group = createGroup(counts);
    // The claims each present member advertises, tracked here independently of the assigner.
    const lastGiven = new Map<string, { at: number; numbers: number[] }>();
    let step = 0;

    for (let round = 0; round < 5; round++) {
      const ids = pool.filter(() => random() < 0.5).slice(0, int(1, 8));
      if (ids.length === 0) ids.push(pool[int(0, pool.length - 1)]!);
      if (random() < 0.5) ids.reverse();
      const numbers = Math.max(...Object.values(counts));

      // The least number of claimed partition numbers that can move, by the balance rule.
      const won = new Map<string, Set<number>>(ids.map((id) => [id, new Set()]));
      for (let p = 0; p < numbers; p++) {
        const claimants = ids
          .filter((id) => lastGiven.get(id)?.numbers.includes(p))
          .sort((a, b) => lastGiven.get(b)!.at - lastGiven.get(a)!.at || (a < b ? -1 : 1));
        if (claimants[0]) won.get(claimants[0])!.add(p);
      }
      const floor = Math.floor(numbers / ids.length);
      const keepable = [...won.values()]
        .map((s) => s.size)
        .sort((a, b) => b - a)
        .reduce((sum, k, i) => sum + Math.min(k, i < numbers % ids.length ? floor + 1 : floor), 0);

      const assignments = await group.rebalance(ids);
      step += 1;
      const context = `seed ${seed} round ${round} counts ${JSON.stringify(counts)} members ${ids.length}`;
      assert.doesNotThrow(() => assertCopartitioned(assignments, ids, counts), context);
      let kept = 0;
      for (const id of ids) {
        const mine = numbersOf(assignments.get(id)!);
        const stayed = mine.filter((p) => won.get(id)!.has(p)).length;
        kept += stayed;
        if (won.get(id)!.size <= floor)
          assert.equal(stayed, won.get(id)!.size, `${context}: ${id} keeps its claim`);
        lastGiven.set(id, { at: step, numbers: mine });
      }
      assert.equal(kept, keepable, `${context}: the fewest claimed numbers move`);
    }
  }
});

test('a new group splits the partition numbers evenly, the same way whatever order the members are listed in', async () => {
  const counts = { [MESSAGES]: 12, [FEEDBACK]: 12 };
  const forward = await createGroup(counts).owners(['a', 'b', 'c']);
  assert.deepEqual(forward, { a: [0, 3, 6, 9], b: [1, 4, 7, 10], c: [2, 5, 8, 11] });
  assert.deepEqual(await createGroup(counts).owners(['c', 'a', 'b']), forward);

  const five = await createGroup(counts).owners(['e', 'd', 'c', 'b', 'a']);
  assert.deepEqual(
    Object.values(five)
      .map((n) => n.length)
      .sort(),
    [2, 2, 2, 3, 3],
  );
});

test('each member gets the same partitions of both topics', async () => {
  const group = createGroup({ [MESSAGES]: 12, [FEEDBACK]: 12 });
  const assignments = await group.rebalance(['a', 'b', 'c', 'd', 'e']);
  for (const assignment of assignments.values()) assert.deepEqual(assignment[MESSAGES], assignment[FEEDBACK]);
});

test('when a member leaves, only its partition numbers move', async () => {
  const group = createGroup({ [MESSAGES]: 12, [FEEDBACK]: 12 });
  const before = await group.owners(['a', 'b', 'c']);
  const after = await group.owners(['a', 'b']);
  for (const id of ['a', 'b']) {
    for (const p of before[id]!) assert.ok(after[id]!.includes(p), `${id} keeps ${p}`);
  }
  assert.deepEqual(
    [...after.a!, ...after.b!]
      .filter((p) => !before.a!.includes(p) && !before.b!.includes(p))
      .sort((x, y) => x - y),
    before.c,
  );
  assert.deepEqual([after.a!.length, after.b!.length], [6, 6]);
});

test('when a member joins, only as many partition numbers move as balance needs', async () => {
  const group = createGroup({ [MESSAGES]: 12, [FEEDBACK]: 12 });
  const before = await group.owners(['a', 'b']);
  const after = await group.owners(['a', 'b', 'c']);
  assert.equal(after.c!.length, 4);
  for (const id of ['a', 'b']) {
    assert.equal(after[id]!.length, 4);
    for (const p of after[id]!) assert.ok(before[id]!.includes(p), `${id} got nothing new`);
  }
});

test('a member that joins and then leaves again leaves the others as they were', async () => {
  const group = createGroup({ [MESSAGES]: 7, [FEEDBACK]: 7 });
  const before = await group.owners(['b', 'a']);
  await group.owners(['c', 'a', 'b']);
  assert.deepEqual(await group.owners(['a', 'b']), before);

  // Also when the lower member id holds the higher partition numbers.
  const other = createGroup({ [MESSAGES]: 6, [FEEDBACK]: 6 });
  await other.owners(['b']);
  const pair = await other.owners(['b', 'a']);
  assert.deepEqual(pair, { a: [3, 4, 5], b: [0, 1, 2] });
  await other.owners(['a', 'b', 'c']);
  assert.deepEqual(await other.owners(['b', 'a']), pair);
});

test('a partition number claimed by two members goes to the newer claim, or to the lower member id on a tie', async () => {
  const counts = { [MESSAGES]: 4, [FEEDBACK]: 4 };
  const claimant = (at: number, numbers: number[]) => {
    const member = createCopartitionAssigner({ now: () => at });
    member.rememberAssignment({ [MESSAGES]: numbers, [FEEDBACK]: numbers });
    return member;
  };
  const assign = async (x: CopartitionAssigner, y: CopartitionAssigner) => {
    const { logger, warnings } = recordingLogger();
    const topics = [MESSAGES, FEEDBACK];
    const members = [
      { memberId: 'x', memberMetadata: instantiate(x, counts, logger).protocol({ topics }).metadata },
      { memberId: 'y', memberMetadata: instantiate(y, counts, logger).protocol({ topics }).metadata },
    ];
    const result = await instantiate(x, counts, logger).assign({ members, topics });
    const owners = Object.fromEntries(result.map((r) => [r.memberId, numbersOf(decode(r.memberAssignment))]));
    return { owners, warnings };
  };

  // x was dropped from the group and rejoins claiming what y has owned since.
  const newer = await assign(claimant(5_000, [0, 1]), claimant(7_000, [1, 2]));
  assert.deepEqual(newer.owners, { x: [0, 3], y: [1, 2] });
  assert.equal(newer.warnings.length, 1);

  const tie = await assign(claimant(5_000, [0, 1]), claimant(5_000, [1, 2]));
  assert.deepEqual(tie.owners, { x: [0, 1], y: [2, 3] });
});

test('an empty group gets an empty assignment', async () => {
  const { logger } = recordingLogger();
  const leader = instantiate(createCopartitionAssigner(), { [MESSAGES]: 12 }, logger);
  assert.deepEqual(await leader.assign({ members: [], topics: [MESSAGES, FEEDBACK] }), []);
});

test('with more members than partition numbers, each number has one owner and the others get nothing', async () => {
  const counts = { [MESSAGES]: 3, [FEEDBACK]: 3 };
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const group = createGroup(counts);
  const assignments = await group.rebalance(ids);
  assertCopartitioned(assignments, ids, counts);
  assert.deepEqual(assignments.get('d'), {});
  // The members that own a number keep it as others come and go.
  const first = await group.owners(ids);
  const later = await group.owners(['e', 'c', 'b', 'a']);
  for (const id of ['a', 'b', 'c']) assert.deepEqual(later[id], first[id]);
});

test('topics with different partition counts: every partition number is assigned, and a warning says so', async () => {
  const counts = { [MESSAGES]: 12, [FEEDBACK]: 8 };
  const group = createGroup(counts);
  const assignments = await group.rebalance(['a', 'b', 'c']);
  assertCopartitioned(assignments, ['a', 'b', 'c'], counts);
  const feedback = [...assignments.values()].flatMap((a) => a[FEEDBACK] ?? []).sort((x, y) => x - y);
  assert.deepEqual(feedback, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(group.warnings.some((w) => w.includes('partition count')));
});

test('unreadable claims and claims to partitions that do not exist are ignored, not fatal', async () => {
  const counts = { [MESSAGES]: 6, [FEEDBACK]: 6 };
  const topics = [MESSAGES, FEEDBACK];
  const { logger, warnings } = recordingLogger();
  const stale = createCopartitionAssigner();
  stale.rememberAssignment({ [MESSAGES]: [4, 5, 40, 41] });
  const members: GroupMember[] = [
    { memberId: 'a', memberMetadata: Buffer.from('not member metadata') },
    {
      memberId: 'b',
      memberMetadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from('junk'),
      }),
    },
    { memberId: 'c', memberMetadata: instantiate(stale, counts, logger).protocol({ topics }).metadata },
  ];
  const result = await instantiate(stale, counts, logger).assign({ members, topics });
  const assignments = new Map(result.map((r) => [r.memberId, decode(r.memberAssignment)]));
  assertCopartitioned(assignments, ['a', 'b', 'c'], counts);
  assert.deepEqual(numbersOf(assignments.get('c')!), [4, 5]);
  assert.equal(warnings.length, 2);
});

test('a member advertises its subscription and what it owns in its join metadata', () => {
  const { logger } = recordingLogger();
  const member = createCopartitionAssigner({ now: () => 42 });
  const assigner = instantiate(member, { [MESSAGES]: 12, [FEEDBACK]: 12 }, logger);
  assert.equal(assigner.name, COPARTITION_ASSIGNER_NAME);
  assert.equal(assigner.version, COPARTITION_ASSIGNER_VERSION);

  const fresh = assigner.protocol({ topics: [MESSAGES, FEEDBACK] });
  assert.equal(fresh.name, COPARTITION_ASSIGNER_NAME);
  const metadata = AssignerProtocol.MemberMetadata.decode(fresh.metadata);
  assert.deepEqual(metadata?.topics, [MESSAGES, FEEDBACK]);
  assert.equal(metadata?.version, COPARTITION_ASSIGNER_VERSION);

  member.rememberAssignment({ [MESSAGES]: [3, 1], [FEEDBACK]: [1, 3] });
  const after = AssignerProtocol.MemberMetadata.decode(
    assigner.protocol({ topics: [MESSAGES, FEEDBACK] }).metadata,
  );
  assert.notDeepEqual(after?.userData, metadata?.userData);
});
