/**
 * The feature engine's kafkajs partition assigner: co-partitioned and sticky.
 *
 * Co-partitioned. The engine subscribes one group to several topics keyed by sender with the same
 * partition count (sms.message-events, sms.feedback-events), and one member owns the sender state
 * of partition p of all of them. So the unit of assignment is a partition number: the member given
 * p consumes partition p of every subscribed topic that has one. If the topics disagree on the
 * partition count, every number that exists in any topic is assigned and a warning is logged; the
 * engine refuses such topics at start-up, so this only keeps a group consuming until they are fixed.
 *
 * Sticky. kafkajs rebalances eagerly (every rebalance revokes everything), and a partition number
 * that changes owner costs a restore from its changelog. So each member advertises in its join
 * metadata (userData) the numbers it owned after the last rebalance, when it got them, and the
 * numbers it gave up recently, and the group leader:
 *   1. keeps every claim, except that a number claimed by two members goes to the newer claim (a
 *      member dropped from the group, e.g. after a session timeout, rejoins with an outdated one);
 *      equally new claims go to the lower member id;
 *   2. balances: with n numbers and m members, n mod m members may hold ceil(n/m) and the others
 *      floor(n/m); the larger quotas go to the members keeping the most (ties: lower member id),
 *      which makes the number of moved partition numbers the least possible;
 *   3. trims a member above its quota to its lowest numbers;
 *   4. hands the freed and unclaimed numbers, lowest first, to the member with room that gave that
 *      number up most recently, else to the member with room holding the fewest (ties: lower
 *      member id). Giving a number back to its last holder means a member that joins and leaves
 *      again leaves everyone else as they were, and a crash-looping member always takes the same
 *      numbers instead of shuffling the group.
 * The same members and claims always give the same assignment, whatever the order kafkajs lists
 * the members in.
 *
 * Only the group leader runs `assign`, and kafkajs shows a member neither the assignment's userData
 * nor its generation, so a member learns what it owns from its GROUP_JOIN event: the engine passes
 * `payload.memberAssignment` to `rememberAssignment`, and the next join advertises it. A member
 * that never calls it claims nothing: it still gets a co-partitioned, balanced share, just not a
 * sticky one.
 */
import {
  type Assigner,
  AssignerProtocol,
  type GroupMember,
  type GroupMemberAssignment,
  type Logger,
  type PartitionAssigner,
} from 'kafkajs';

export const COPARTITION_ASSIGNER_NAME = 'SpamgateCopartitionSticky';
export const COPARTITION_ASSIGNER_VERSION = 1;

/** Version of the ownership layout inside the member metadata's userData. */
const OWNERSHIP_LAYOUT = 1;
/** How many given-up numbers a member remembers; far above any partition count spamgate runs. */
const RELEASED_LIMIT = 1024;

export interface CopartitionAssignerOptions {
  /** Wall clock, ms since the epoch, that dates this member's claims. Default `Date.now`. Claims
   * from different members are compared by it, so it only needs to be right to well within a
   * session timeout. */
  readonly now?: () => number;
}

/** Partitions per topic, as in kafkajs' GROUP_JOIN payload `memberAssignment`. */
export type TopicPartitions = Readonly<Record<string, readonly number[]>>;

export interface CopartitionAssigner {
  /** For `kafka.consumer({ partitionAssigners: [assigner] })`. One CopartitionAssigner per
   * consumer: its state is this member's ownership. */
  readonly assigner: PartitionAssigner;
  /**
   * Records what this member was given, so that its next join claims it. Call it from the
   * consumer's GROUP_JOIN event with `payload.memberAssignment`:
   * `consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => a.rememberAssignment(payload.memberAssignment))`.
   */
  rememberAssignment(memberAssignment: TopicPartitions): void;
}

interface Ownership {
  /** When the member was given `owned`, ms since the epoch; 0 before its first assignment. */
  readonly assignedAt: number;
  /** Partition numbers, ascending. */
  readonly owned: readonly number[];
  /** Partition number → when the member gave it up, ms since the epoch. */
  readonly released: ReadonlyMap<number, number>;
}

interface Claim extends Ownership {
  readonly memberId: string;
}

const NO_OWNERSHIP: Ownership = { assignedAt: 0, owned: [], released: new Map() };

export function createCopartitionAssigner(options: CopartitionAssignerOptions = {}): CopartitionAssigner {
  const now = options.now ?? Date.now;
  let ownership = NO_OWNERSHIP;

  const assigner: PartitionAssigner = ({ cluster, logger }): Assigner => {
    const log = logger.namespace('CopartitionAssigner');
    return {
      name: COPARTITION_ASSIGNER_NAME,
      version: COPARTITION_ASSIGNER_VERSION,

      protocol({ topics }) {
        return {
          name: COPARTITION_ASSIGNER_NAME,
          metadata: AssignerProtocol.MemberMetadata.encode({
            version: COPARTITION_ASSIGNER_VERSION,
            topics,
            userData: encodeOwnership(ownership),
          }),
        };
      },

      async assign({ members, topics }) {
        if (members.length === 0) return [];
        const partitionsByTopic = new Map(
          topics.map((topic) => [
            topic,
            new Set(cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId)),
          ]),
        );
        const counts = [...partitionsByTopic].map(([topic, partitions]) => ({
          topic,
          count: partitions.size,
        }));
        if (new Set(counts.map((c) => c.count)).size > 1) {
          log.warn('subscribed topics differ in partition count; assigning every partition number', {
            partitionCounts: counts,
          });
        }
        const numbers = [...new Set([...partitionsByTopic.values()].flatMap((p) => [...p]))].sort(
          (a, b) => a - b,
        );
        const claims = [...members]
          .sort((a, b) => compareIds(a.memberId, b.memberId))
          .map((m) => readClaim(m, topics, log));
        const plan = planAssignment(numbers, claims);
        if (plan.contested.length > 0) {
          log.warn('partition numbers claimed by several members; the newest claim kept them', {
            partitions: plan.contested,
          });
        }
        log.info('co-partitioned assignment', {
          members: claims.length,
          partitionNumbers: numbers.length,
          moved: plan.moved,
          unclaimed: plan.unclaimed,
        });
        return claims.map(({ memberId }): GroupMemberAssignment => {
          const owned = plan.owners.get(memberId) ?? [];
          const assignment: Record<string, number[]> = {};
          for (const [topic, partitions] of partitionsByTopic) {
            const mine = owned.filter((p) => partitions.has(p));
            if (mine.length > 0) assignment[topic] = mine;
          }
          return {
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({
              version: COPARTITION_ASSIGNER_VERSION,
              assignment,
              userData: Buffer.alloc(0),
            }),
          };
        });
      },
    };
  };

  return {
    assigner,
    rememberAssignment(memberAssignment) {
      const at = now();
      const owned = [...new Set(Object.values(memberAssignment).flat())].sort((a, b) => a - b);
      const kept = new Set(owned);
      const released = new Map(ownership.released);
      for (const p of ownership.owned) if (!kept.has(p)) released.set(p, at);
      for (const p of owned) released.delete(p);
      const recent = [...released].sort(([pa, ta], [pb, tb]) => tb - ta || pa - pb).slice(0, RELEASED_LIMIT);
      ownership = { assignedAt: at, owned, released: new Map(recent) };
    },
  };
}

interface Plan {
  /** Member id → its partition numbers, ascending; every member has an entry. */
  readonly owners: ReadonlyMap<string, readonly number[]>;
  /** Numbers whose (newest) claimant lost them to balance. */
  readonly moved: number;
  /** Numbers nobody claimed. */
  readonly unclaimed: number;
  /** Numbers claimed by more than one member. */
  readonly contested: readonly number[];
}

/** The leader's rules 1-4 above; `claims` sorted by member id, `numbers` ascending. */
function planAssignment(numbers: readonly number[], claims: readonly Claim[]): Plan {
  const exists = new Set(numbers);
  const holder = new Map<number, Claim>();
  const contested = new Set<number>();
  for (const claim of claims) {
    for (const p of claim.owned) {
      if (!exists.has(p)) continue;
      const current = holder.get(p);
      if (current) contested.add(p);
      // Strictly newer only: on equal times the lower member id, seen first, keeps it.
      if (!current || claim.assignedAt > current.assignedAt) holder.set(p, claim);
    }
  }

  const held = new Map<string, number[]>(claims.map((c) => [c.memberId, []]));
  for (const p of numbers) {
    const claim = holder.get(p);
    if (claim) held.get(claim.memberId)!.push(p);
  }

  const floor = Math.floor(numbers.length / claims.length);
  const quota = new Map<string, number>();
  [...claims]
    .sort(
      (a, b) =>
        held.get(b.memberId)!.length - held.get(a.memberId)!.length || compareIds(a.memberId, b.memberId),
    )
    .forEach((c, i) => {
      quota.set(c.memberId, i < numbers.length % claims.length ? floor + 1 : floor);
    });

  const owners = new Map<string, number[]>();
  let kept = 0;
  for (const { memberId } of claims) {
    const mine = held.get(memberId)!.slice(0, quota.get(memberId));
    kept += mine.length;
    owners.set(memberId, mine);
  }
  const taken = new Set([...owners.values()].flat());
  const free = numbers.filter((p) => !taken.has(p));
  const hasRoom = (c: Claim) => owners.get(c.memberId)!.length < quota.get(c.memberId)!;

  for (const p of free) {
    let chosen: Claim | undefined;
    for (const c of claims) {
      const releasedAt = c.released.get(p);
      if (releasedAt === undefined || !hasRoom(c)) continue;
      if (!chosen || releasedAt > chosen.released.get(p)!) chosen = c;
    }
    if (!chosen) {
      for (const c of claims) {
        if (hasRoom(c) && (!chosen || owners.get(c.memberId)!.length < owners.get(chosen.memberId)!.length)) {
          chosen = c;
        }
      }
    }
    // The quotas add up to the count of numbers, so some member always has room.
    owners.get(chosen!.memberId)!.push(p);
  }
  for (const mine of owners.values()) mine.sort((a, b) => a - b);

  return {
    owners,
    moved: holder.size - kept,
    unclaimed: numbers.length - holder.size,
    contested: [...contested],
  };
}

function readClaim(member: GroupMember, topics: readonly string[], log: Logger): Claim {
  const { memberId } = member;
  try {
    const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
    if (!metadata) throw new Error('empty member metadata');
    if (!sameTopics(metadata.topics, topics)) {
      // kafkajs assigns the leader's subscription; a member subscribed to other topics (a
      // rolling deploy that changes them) drops the ones it does not know.
      log.warn('member subscribes to other topics than the leader', {
        memberId,
        memberTopics: metadata.topics,
        leaderTopics: topics,
      });
    }
    const ownership = decodeOwnership(metadata.userData);
    if (ownership) return { memberId, ...ownership };
    log.warn('ignoring a member claim in an unknown layout', { memberId });
  } catch (err) {
    log.warn('ignoring unreadable member metadata', { memberId, error: String(err) });
  }
  return { memberId, ...NO_OWNERSHIP };
}

/*
 * userData layout 1, big-endian:
 *   int16 layout (1)
 *   int64 assignedAt (ms since the epoch)
 *   int32 count, then count × int32 owned partition number
 *   int32 count, then count × (int32 partition number, int64 releasedAt)
 */
function encodeOwnership(ownership: Ownership): Buffer {
  const buf = Buffer.alloc(2 + 8 + 4 + 4 * ownership.owned.length + 4 + 12 * ownership.released.size);
  let at = buf.writeInt16BE(OWNERSHIP_LAYOUT, 0);
  at = buf.writeBigInt64BE(BigInt(ownership.assignedAt), at);
  at = buf.writeInt32BE(ownership.owned.length, at);
  for (const p of ownership.owned) at = buf.writeInt32BE(p, at);
  at = buf.writeInt32BE(ownership.released.size, at);
  for (const [p, releasedAt] of ownership.released) {
    at = buf.writeInt32BE(p, at);
    at = buf.writeBigInt64BE(BigInt(releasedAt), at);
  }
  return buf;
}

/** The ownership in `userData`: none for an empty one, undefined for one this cannot read. */
function decodeOwnership(userData: Buffer): Ownership | undefined {
  if (userData.length === 0) return NO_OWNERSHIP;
  try {
    if (userData.readInt16BE(0) !== OWNERSHIP_LAYOUT) return undefined;
    const assignedAt = Number(userData.readBigInt64BE(2));
    const ownedCount = userData.readInt32BE(10);
    if (ownedCount < 0 || 14 + 4 * ownedCount + 4 > userData.length) return undefined;
    const owned: number[] = [];
    for (let i = 0; i < ownedCount; i++) owned.push(userData.readInt32BE(14 + 4 * i));
    let at = 14 + 4 * ownedCount;
    const releasedCount = userData.readInt32BE(at);
    at += 4;
    if (releasedCount < 0 || at + 12 * releasedCount !== userData.length) return undefined;
    const released = new Map<number, number>();
    for (let i = 0; i < releasedCount; i++, at += 12) {
      released.set(userData.readInt32BE(at), Number(userData.readBigInt64BE(at + 4)));
    }
    return { assignedAt, owned: [...new Set(owned)].sort((a, b) => a - b), released };
  } catch {
    // A RangeError from a truncated buffer.
    return undefined;
  }
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((t) => set.has(t));
}

/** Code-unit order, so every leader sorts member ids alike whatever its locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
