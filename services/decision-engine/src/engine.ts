/**
 * The decision engine's Kafka shell around the decider.
 *
 * Partition p of sms.sender-features is owned by one instance of the consumer group at a time,
 * with its own transactional producer (<group>-<p>), the way the feature engine does it: one
 * transaction holds every evaluation (partition p of sms.decision-evaluations), the senders'
 * changed state (partition p of the compacted spamgate.decision-engine.state) and the consumed
 * offsets. A new owner fences the old one, restores p's state from the changelog and continues
 * from the committed offset; a re-derived evaluation has the same decision id.
 *
 * Decisions are the latency-critical output, so they do not wait for that transaction: each is
 * published to sms.decisions as soon as it is made, by an idempotent producer (acks=all), and
 * the transaction that commits the input offsets waits for those publishes first. A crash
 * between the two re-derives the same decisions from the restored state and publishes them
 * again, with the same ids: at least once on sms.decisions (a duplicate is the same record for
 * an enforcement point), exactly once for state, evaluations and offsets. The transaction runs
 * in the background, so kafkajs' fetch loop (which waits for every partition's batch before it
 * fetches again) is not held up by twelve transactions; a commit takes whatever accumulated
 * since the previous one, which started at least SPAMGATE_DECISION_COMMIT_INTERVAL earlier
 * (fewer transactions leave the shared broker free for the publishes). A failed commit or publish drops p's state, restores it and seeks
 * the consumer back to the committed offset.
 *
 * Every instance also follows two small tables in full: operator overrides
 * (sms.policy-overrides) and content clusters (sms.cluster-features). An override re-evaluates
 * the senders it names at once, in their partitions' transactions; a cluster whose evidence
 * changes re-evaluates the senders whose latest features name it. Re-evaluations that are due
 * without input (a BLOCK expiring, a standing BLOCK to re-issue, an override lapsing) run on a
 * one-second tick.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Counter,
  committedOffsets,
  createSchemaCatalog,
  deadLetterOf,
  describeError,
  type FollowedTopic,
  followTopic,
  type Gauge,
  type Histogram,
  type Lifecycle,
  type Logger,
  openFencedProducer,
  partitionEnd,
  partitionOfKey,
  readToEnd,
  registerSchemas,
  SpamgateError,
  sendInTransaction,
  TRANSACTIONAL_PRODUCER_RETRY,
} from '@spamgate/core';
import {
  type ClusterFeatures,
  type Codec,
  createCodec,
  type PolicyOverride,
  type RecordName,
  SchemaDecodeError,
  type SenderFeatures,
  schemaRegistrations,
} from '@spamgate/schemas';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { type DecisionEngineConfig, type DecisionEngineTopics, decisionEngineTopics } from './config.ts';
import {
  type ActiveOverride,
  type DecideContext,
  decide,
  dueAt,
  EMPTY_STATE,
  type Trigger,
} from './decider.ts';
import { createDueQueue, type DueQueue } from './due-queue.ts';
import { type CapOf, clusterValue } from './evaluate.ts';
import { checkClusterFeatures, checkSenderFeatures } from './inputs.ts';
import type { AddressList } from './lists.ts';
import { checkOverride, createOverrideTable, type OverrideTable } from './overrides.ts';
import type { Policy } from './policy.ts';
import { decodeEntry, encodeEntry, type SenderEntry } from './state.ts';

export interface DecisionEngineMetrics {
  readonly evaluations: Counter;
  readonly published: Counter;
  readonly deadLetters: Counter;
  readonly commits: Counter;
  readonly latency: Histogram;
  readonly ownedPartitions: Gauge;
  readonly senders: Gauge;
  readonly overrides: Gauge;
  readonly clusters: Gauge;
}

export interface DecisionEngineDeps {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly config: DecisionEngineConfig & { readonly instanceId: string };
  readonly metrics: DecisionEngineMetrics;
  /** The policy in force and the shadow policy (read at every evaluation: they may be reloaded). */
  readonly policy: () => Policy;
  readonly shadowPolicy: () => Policy | undefined;
  readonly doNotOriginate: () => AddressList;
  readonly capOf: CapOf;
  /** Wall clock, ms; tests may pass another. */
  readonly now?: () => number;
}

export interface DecisionEngine {
  start(): Promise<void>;
  isReady(): boolean;
  ownedPartitions(): number[];
  /** Re-evaluates the named senders (all held senders when omitted), e.g. after a list changed. */
  reevaluate(kind: 'LIST' | 'OVERRIDE', senders?: ReadonlySet<string>): void;
}

interface Task {
  readonly partition: number;
  readonly producer: Producer;
  readonly entries: Map<string, SenderEntry>;
  /** Cluster id -> senders of this partition whose latest features name it. */
  readonly byCluster: Map<string, Set<string>>;
  readonly due: DueQueue;
  /** The due time last queued per sender. */
  readonly queuedDue: Map<string, number>;
  /** Next offset of the features topic to consume, as applied to this state (committed or not). */
  offset: string | undefined;
  /** The offset the last transaction committed. */
  committedOffset: string | undefined;
  readonly evaluations: Message[];
  readonly deadLetters: Message[];
  readonly changed: Set<string>;
  changelogEnd: number;
  /** Decisions made and not yet handed to the publishing producer. */
  readonly toPublish: Message[];
  /** Every decision handed to the producer so far is acknowledged when this resolves. */
  published: Promise<void>;
  /** A commit is running; `again` asks it to run once more for what arrived meanwhile. */
  committing: boolean;
  again: boolean;
  /** When the last commit started, ms: the next starts SPAMGATE_DECISION_COMMIT_INTERVAL later at the earliest. */
  lastCommitAt: number;
  /** Resolves when no commit is running. */
  idle: Promise<void>;
}

/** A features record the engine cannot use (no value). */
class EmptyRecordError extends SpamgateError {
  override name = 'EmptyRecordError';
  constructor(topic: string) {
    super(`${topic}: record without a value`, { code: 'EMPTY', retriable: false });
  }
}

/** The features a sender known only from an operator override is evaluated with: nothing seen. */
function noFeatures(sender: string, at: number): SenderFeatures {
  return {
    sender,
    senderKind: 'UNKNOWN',
    campaignId: null,
    asOf: at,
    emittedAt: at,
    windows: [],
    clusters: [],
    urlDomains: [],
  };
}

const SERVICE = 'decision-engine';

/** The records the engine writes: their schemas are registered before it writes any. */
export const DECISION_ENGINE_WRITES: readonly RecordName[] = ['Decision', 'DeadLetter'];

function emptyEntry(): SenderEntry {
  return { features: Buffer.alloc(0), asOf: 0, campaignId: null, clusterIds: [], decision: EMPTY_STATE };
}

export function createDecisionEngine(deps: DecisionEngineDeps): DecisionEngine {
  const { kafka, logger, config, metrics } = deps;
  const now = deps.now ?? Date.now;
  const codec: Codec = createCodec();
  const topics: DecisionEngineTopics = decisionEngineTopics(config.topicPrefix);
  // Inputs written by a newer release carry fingerprints this codec does not know: their schemas
  // are learned from the schema topic before they are decoded.
  const schemaCatalog = createSchemaCatalog({
    kafka,
    codec,
    topic: topics.schemas,
    groupId: `${config.groupId}-schemas-${config.instanceId}`,
    logger,
  });
  const tasks = new Map<number, Task>();
  const opening = new Map<number, Promise<Task>>();
  const overrides: OverrideTable = createOverrideTable();
  const clusters = new Map<string, ClusterFeatures>();
  /** Per cluster: which cluster-reading rules it satisfies, to re-evaluate senders only when that changes. */
  const clusterSignature = new Map<string, string>();
  let assigned = new Set<number>();
  let partitionCount = 0;
  let joined = false;
  let followers: FollowedTopic[] = [];
  let restoreSeq = 0;
  /**
   * Publishes decisions the moment they are made (idempotent, acks=all, in order per partition),
   * and the dead letters of the tables every instance reads (which belong to no partition's transaction).
   */
  let publisher: Producer | undefined;

  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1_048_576,
  });

  function deadLetterRecord(
    topic: string,
    partition: number,
    m: KafkaMessage,
    err: unknown,
    service: string,
  ) {
    const record = deadLetterOf(
      { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null },
      err,
      service,
      now(),
    );
    metrics.deadLetters.inc({ code: record.errorCode });
    logger.warn({ topic, partition, offset: m.offset, code: record.errorCode }, 'record dead-lettered');
    return { key: m.key ?? null, value: codec.encode('DeadLetter', record) };
  }

  /** Dead letters of the tables every instance reads (overrides, clusters): not in any task's transaction. */
  async function sideDeadLetter(topic: string, partition: number, m: KafkaMessage, err: unknown) {
    // One service name for all instances: each instance refuses the same record, and the
    // ClickHouse dead_letters table keys on (topic, partition, offset, service), so they collapse.
    const dl = deadLetterRecord(topic, partition, m, err, SERVICE);
    try {
      await publisher?.send({ topic: topics.deadLetters, acks: -1, messages: [dl] });
    } catch (e) {
      logger.error({ err: describeError(e) }, 'dead letter could not be written');
    }
  }

  function context(entry: SenderEntry, sender: string, features: SenderFeatures): DecideContext {
    return {
      policy: deps.policy(),
      shadowPolicy: deps.shadowPolicy(),
      cluster: (id) => clusters.get(id),
      capOf: deps.capOf,
      override: overrides.forSender(sender, features.campaignId ?? entry.campaignId, now()),
      doNotOriginate: deps.doNotOriginate().has(sender),
    };
  }

  function index(task: Task, sender: string, before: readonly string[], after: readonly string[]): void {
    for (const id of before)
      if (!after.includes(id)) {
        const set = task.byCluster.get(id);
        set?.delete(sender);
        if (set?.size === 0) task.byCluster.delete(id);
      }
    for (const id of after) {
      let set = task.byCluster.get(id);
      if (!set) {
        set = new Set();
        task.byCluster.set(id, set);
      }
      set.add(sender);
    }
  }

  /** Runs the decider for one sender and queues its outputs for the task's next transaction. */
  function evaluateSender(
    task: Task,
    sender: string,
    entry: SenderEntry,
    features: SenderFeatures,
    trigger: Trigger,
  ) {
    const policy = deps.policy();
    const out = decide(context(entry, sender, features), features, entry.decision, trigger, now());
    entry.decision = out.state;
    for (const d of out.evaluations) {
      task.evaluations.push({ key: sender, value: codec.encode('Decision', d), partition: task.partition });
      metrics.evaluations.inc({ shadow: String(d.shadow), action: d.action });
    }
    if (out.publish) {
      task.toPublish.push({
        key: sender,
        value: codec.encode('Decision', out.publish),
        partition: task.partition,
      });
      metrics.published.inc({ action: out.publish.action });
    }
    task.changed.add(sender);
    queueDue(task, sender, dueAt(entry.decision, policy));
  }

  /** Queues the sender's next due time once (a blocked sender's every features record would otherwise add one). */
  function queueDue(task: Task, sender: string, due: number | null): void {
    if (due === null || task.queuedDue.get(sender) === due) return;
    task.queuedDue.set(sender, due);
    task.due.push(due, sender);
  }

  function featuresOf(entry: SenderEntry, sender: string, at: number): SenderFeatures {
    return entry.features.length > 0
      ? codec.decode('SenderFeatures', entry.features)
      : noFeatures(sender, at);
  }

  function handleFeatures(task: Task, m: KafkaMessage): void {
    try {
      if (!m.value) throw new EmptyRecordError(topics.features);
      const key = m.key?.toString('utf8') ?? '';
      const f = codec.decode('SenderFeatures', m.value);
      checkSenderFeatures(key, f, now());
      let entry = task.entries.get(key);
      if (!entry) {
        entry = emptyEntry();
        task.entries.set(key, entry);
      }
      // Older features than those held (a replay of compacted history) do not roll a sender back.
      if (entry.asOf > f.asOf) return;
      const clusterIds = f.clusters.map((c) => c.clusterId);
      index(task, key, entry.clusterIds, clusterIds);
      entry.features = Buffer.from(m.value);
      entry.asOf = f.asOf;
      entry.campaignId = f.campaignId;
      entry.clusterIds = clusterIds;
      evaluateSender(task, key, entry, f, { kind: 'FEATURES', at: f.asOf, basis: '' });
    } catch (err) {
      if (err instanceof SpamgateError && err.retriable === false) {
        task.deadLetters.push(
          deadLetterRecord(topics.features, task.partition, m, err, `${SERVICE}/${config.instanceId}`),
        );
        return;
      }
      if (err instanceof SchemaDecodeError) {
        task.deadLetters.push(
          deadLetterRecord(topics.features, task.partition, m, err, `${SERVICE}/${config.instanceId}`),
        );
        return;
      }
      throw err;
    }
  }

  /**
   * Decisions of every partition waiting for the publishing producer, sent together: one
   * request in flight at a time (the producer is idempotent, which keeps them in order), each
   * taking everything queued while the previous one was out.
   */
  /** Aborted at shutdown: commits waiting out the commit interval go at once. */
  const stopping = new AbortController();

  const publishQueue: { messages: Message[]; done: (err?: unknown) => void }[] = [];
  let publishing = false;
  async function flushPublishQueue(): Promise<void> {
    publishing = true;
    try {
      while (publishQueue.length > 0) {
        const round = publishQueue.splice(0);
        const started = now();
        try {
          await publisher!.send({
            topic: topics.decisions,
            acks: -1,
            messages: round.flatMap((r) => r.messages),
          });
          metrics.latency.observe({ stage: 'publish' }, (now() - started) / 1000);
          for (const r of round) r.done();
        } catch (err) {
          for (const r of round) r.done(err);
        }
      }
    } finally {
      publishing = false;
    }
  }

  /** Hands the decisions made so far to the publishing producer and returns at once. */
  function publishDecisions(task: Task): void {
    if (task.toPublish.length === 0) return;
    const messages = task.toPublish.splice(0);
    const acked = new Promise<void>((resolve, reject) =>
      publishQueue.push({ messages, done: (err) => (err === undefined ? resolve() : reject(err)) }),
    );
    // A failed publish fails the task's next commit, which restores the partition and re-derives it.
    acked.catch(() => {});
    const before = task.published;
    task.published = Promise.all([before, acked]).then(() => {});
    if (!publishing) void flushPublishQueue();
  }

  /**
   * One transaction: the evaluations, dead letters and changed state queued so far, and the
   * input offset reached. Everything is taken synchronously before the first await, so work done
   * while the transaction runs goes to the next one. The offsets are committed only after every
   * decision made from the input they cover was acknowledged by the broker.
   */
  async function commit(task: Task): Promise<void> {
    const p = task.partition;
    const changelog: Message[] = [];
    for (const sender of task.changed) {
      const entry = task.entries.get(sender);
      changelog.push({ key: sender, value: entry ? encodeEntry(entry) : null, partition: p });
    }
    task.changed.clear();
    const topicMessages = [
      { topic: topics.evaluations, messages: task.evaluations.splice(0) },
      { topic: topics.deadLetters, messages: task.deadLetters.splice(0) },
      { topic: topics.state, messages: changelog },
    ].filter((t) => t.messages.length > 0);
    const offset = task.offset;
    if (topicMessages.length === 0 && offset === task.committedOffset) return;
    publishDecisions(task);
    const published = task.published;
    const txn = await task.producer.transaction();
    try {
      const end = await sendInTransaction(txn, topicMessages, { topic: topics.state, partition: p });
      if (offset !== undefined)
        await txn.sendOffsets({
          consumerGroupId: config.groupId,
          topics: [{ topic: topics.features, partitions: [{ partition: p, offset }] }],
        });
      await published;
      await txn.commit();
      task.committedOffset = offset;
      if (end !== undefined) task.changelogEnd = end + 1;
      metrics.commits.inc();
    } catch (err) {
      await txn.abort().catch(() => {});
      throw err;
    }
  }

  /**
   * Publishes the task's new decisions now and commits the rest in the background: one commit
   * at a time per partition, each taking whatever accumulated while the previous one ran. A
   * failure drops the partition's state, restores it and rewinds the consumer.
   */
  function schedule(task: Task, what: string): void {
    publishDecisions(task);
    if (task.committing) {
      task.again = true;
      return;
    }
    task.committing = true;
    task.idle = (async () => {
      try {
        do {
          // Transactions are bookkeeping (decisions are already out): spacing them spares the
          // broker a dozen back-to-back transactions per second per partition, which is what
          // delays the decisions' own publishes on a busy broker. Not when stopping.
          const wait = task.lastCommitAt + config.commitIntervalMs - now();
          if (wait > 0 && !stopping.signal.aborted)
            await sleep(wait, undefined, { signal: stopping.signal }).catch(() => {});
          task.again = false;
          task.lastCommitAt = now();
          await commit(task);
        } while (task.again && tasks.get(task.partition) === task);
      } catch (err) {
        // A task already dropped (revoked, shut down) fails its last commit as expected.
        if (tasks.get(task.partition) !== task) return;
        logger.error(
          { partition: task.partition, err: describeError(err), what },
          'commit failed; restoring the partition',
        );
        await dropTask(task.partition, `${what} commit failed`);
        if (assigned.has(task.partition))
          taskFor(task.partition, true).catch((e: unknown) =>
            logger.error(
              { partition: task.partition, err: describeError(e) },
              'reopening the partition failed',
            ),
          );
      } finally {
        task.committing = false;
      }
    })();
  }

  async function partitionStart(p: number): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return Number(
        (await admin.fetchTopicOffsets(topics.features)).find((x) => x.partition === p)?.low ?? 0,
      );
    } finally {
      await admin.disconnect();
    }
  }

  async function restore(p: number): Promise<{ entries: Map<string, SenderEntry>; end: number }> {
    const latest = new Map<string, Buffer | null>();
    const ends = await readToEnd(kafka, {
      topic: topics.state,
      groupId: `${config.groupId}-restore-${config.instanceId}-${++restoreSeq}`,
      partitions: [p],
      onRecords: ({ messages }) => {
        for (const m of messages) latest.set(m.key?.toString('utf8') ?? '', m.value);
      },
    });
    const entries = new Map<string, SenderEntry>();
    for (const [sender, value] of latest) {
      if (!value) continue;
      try {
        entries.set(sender, decodeEntry(value));
      } catch (err) {
        // One unreadable record costs that sender its memory (it starts afresh), not the partition.
        logger.error(
          { partition: p, err: describeError(err) },
          'sender state unreadable; starting it afresh',
        );
      }
    }
    return { entries, end: ends.get(p) ?? 0 };
  }

  async function openTask(p: number): Promise<Task> {
    const producer = await openFencedProducer(kafka, `${config.groupId}-${p}`);
    const started = now();
    const { entries, end } = await restore(p);
    // The features held may have been written by a newer feature engine than this codec knows.
    await schemaCatalog.learnWriters([...entries.values()].map((e) => e.features));
    // Nothing committed yet: the group reads from the beginning, which is where a rewind goes.
    const offset =
      (await committedOffsets(kafka, config.groupId, [topics.features], p)).get(topics.features) ??
      String(await partitionStart(p));
    const task: Task = {
      partition: p,
      producer,
      entries,
      byCluster: new Map(),
      due: createDueQueue(),
      queuedDue: new Map(),
      offset,
      committedOffset: offset,
      evaluations: [],
      deadLetters: [],
      changed: new Set(),
      changelogEnd: end,
      toPublish: [],
      published: Promise.resolve(),
      committing: false,
      again: false,
      lastCommitAt: 0,
      idle: Promise.resolve(),
    };
    const policy = deps.policy();
    for (const [sender, entry] of entries) {
      index(task, sender, [], entry.clusterIds);
      queueDue(task, sender, dueAt(entry.decision, policy));
    }
    logger.info({ partition: p, senders: entries.size, ms: now() - started }, 'partition state restored');
    return task;
  }

  /**
   * The task of partition p, opened (fenced and restored) if need be. `rewind`: the consumer may
   * have moved past what the restored state holds (a failed commit), so it is sent back to the
   * committed offset; batches fetched before that are stale and skipped.
   */
  function taskFor(p: number, rewind = false): Promise<Task> {
    const held = tasks.get(p);
    if (held) return Promise.resolve(held);
    let pending = opening.get(p);
    if (!pending) {
      pending = openTask(p).then(
        (task) => {
          tasks.set(p, task);
          opening.delete(p);
          metrics.ownedPartitions.set(tasks.size);
          if (rewind && task.offset !== undefined)
            consumer.seek({ topic: topics.features, partition: p, offset: task.offset });
          reconcile(task);
          return task;
        },
        (err: unknown) => {
          opening.delete(p);
          throw err;
        },
      );
      opening.set(p, pending);
    }
    return pending;
  }

  /**
   * Overrides and the Do-Not-Originate list may have changed while the partition had no owner:
   * re-evaluate the senders whose standing decision no longer matches them, and decide operator
   * blocks of senders this partition has never seen.
   */
  function reconcile(task: Task): void {
    onTask(task, 'reconcile', () => {
      const t = now();
      const dno = deps.doNotOriginate();
      for (const o of overrides.all())
        if (
          o.scope === 'SENDER' &&
          o.action === 'BLOCK' &&
          (o.expiresAt === null || o.expiresAt > t) &&
          !task.entries.has(o.target) &&
          partitionCount > 0 &&
          partitionOfKey(o.target, partitionCount) === task.partition
        )
          task.entries.set(o.target, emptyEntry());
      const stale: string[] = [];
      for (const [sender, entry] of task.entries) {
        const o = overrides.forSender(sender, entry.campaignId, t);
        const f = entry.decision.inForce;
        const listed = dno.has(sender);
        const decidedByList = f?.standing === true && f.overrideId === null;
        if ((o?.overrideId ?? null) !== (f?.overrideId ?? null) || listed !== decidedByList || (!f && o))
          stale.push(sender);
      }
      reevaluateIn(task, stale, (f) => ({
        kind: 'OVERRIDE',
        at: Math.max(f.asOf, t),
        basis: `reconcile@${t}`,
      }));
    });
  }

  async function dropTask(p: number, reason: string): Promise<void> {
    const task = tasks.get(p);
    if (!task) return;
    tasks.delete(p);
    metrics.ownedPartitions.set(tasks.size);
    logger.info({ partition: p, reason }, 'partition state dropped');
    await task.producer.disconnect().catch(() => {});
  }

  /** Runs re-evaluations without input on a task now; their decisions publish at once, their state commits next. */
  function onTask(task: Task, what: string, work: () => void): void {
    if (tasks.get(task.partition) !== task || !assigned.has(task.partition)) return;
    work();
    schedule(task, what);
  }

  function reevaluateIn(
    task: Task,
    senders: Iterable<string>,
    trigger: (f: SenderFeatures) => Trigger,
  ): void {
    for (const sender of senders) {
      const entry = task.entries.get(sender);
      if (!entry) continue;
      const f = featuresOf(entry, sender, now());
      evaluateSender(task, sender, entry, f, trigger(f));
    }
  }

  /** An override was set, replaced, removed or lapsed: re-evaluate the senders it names, now. */
  function overrideChanged(
    key: string,
    o: ActiveOverride | undefined,
    at: number,
    basis: string,
    create = false,
  ): void {
    const scope = o?.scope;
    const trigger = (f: SenderFeatures): Trigger => ({ kind: 'OVERRIDE', at: Math.max(f.asOf, at), basis });
    for (const task of tasks.values()) {
      onTask(task, 'override', () => {
        if (create && scope !== 'CAMPAIGN' && !task.entries.has(key) && o?.action === 'BLOCK') {
          // An operator block of a sender never seen: decide it now, in the sender's partition.
          if (partitionCount > 0 && partitionOfKey(key, partitionCount) === task.partition)
            task.entries.set(key, emptyEntry());
        }
        const senders = new Set<string>();
        if (scope !== 'CAMPAIGN' && task.entries.has(key)) senders.add(key);
        if (scope !== 'SENDER') for (const [s, e] of task.entries) if (e.campaignId === key) senders.add(s);
        reevaluateIn(task, senders, trigger);
      });
    }
  }

  async function onOverrides({
    partition,
    messages,
  }: {
    partition: number;
    messages: readonly KafkaMessage[];
  }) {
    await schemaCatalog.learnWriters(messages.map((m) => m.value));
    for (const m of messages) {
      const key = m.key?.toString('utf8') ?? '';
      try {
        if (m.value === null) {
          const before = overrides.set(key, null);
          if (before) overrideChanged(key, before, Number(m.timestamp), `removed@${m.offset}`);
          continue;
        }
        const o = checkOverride(key, codec.decode('PolicyOverride', m.value) as PolicyOverride);
        overrides.set(key, o);
        overrideChanged(key, o, o.createdAt, `${o.overrideId}@${m.offset}`, true);
      } catch (err) {
        if (err instanceof SchemaDecodeError || (err instanceof SpamgateError && !err.retriable))
          await sideDeadLetter(topics.overrides, partition, m, err);
        else throw err;
      }
    }
    metrics.overrides.set(overrides.size);
  }

  /** Which cluster-reading rules of the active policy a cluster satisfies on its own: a change re-evaluates its senders. */
  function signatureOf(c: ClusterFeatures): string {
    const policy = deps.policy();
    const bits: string[] = [];
    for (const profile of Object.values(policy.profiles))
      for (const rule of profile.rules) {
        if (rule.feature.source !== 'cluster') continue;
        const v = clusterValue(
          c.windows.find((w) => w.window === rule.window),
          rule.feature.name,
        );
        const enter = v !== undefined && (rule.op === '>=' ? v >= rule.threshold : v <= rule.threshold);
        const hold =
          v !== undefined && (rule.op === '>=' ? v >= rule.exitThreshold : v <= rule.exitThreshold);
        bits.push(`${enter ? 1 : 0}${hold ? 1 : 0}`);
      }
    return `${policy.version}:${bits.join('')}`;
  }

  async function onClusters({
    partition,
    messages,
  }: {
    partition: number;
    messages: readonly KafkaMessage[];
  }) {
    await schemaCatalog.learnWriters(messages.map((m) => m.value));
    for (const m of messages) {
      const key = m.key?.toString('utf8') ?? '';
      try {
        if (m.value === null) {
          clusters.delete(key);
          clusterSignature.delete(key);
          continue;
        }
        const c = codec.decode('ClusterFeatures', m.value);
        checkClusterFeatures(key, c, now());
        const held = clusters.get(key);
        if (held && held.asOf > c.asOf) continue;
        clusters.set(key, c);
        const sig = signatureOf(c);
        if (clusterSignature.get(key) === sig) continue;
        clusterSignature.set(key, sig);
        for (const task of tasks.values()) {
          const senders = task.byCluster.get(key);
          if (!senders || senders.size === 0) continue;
          const basis = `${key}@${c.asOf}`;
          onTask(task, 'cluster', () =>
            reevaluateIn(task, [...senders], (f) => ({
              kind: 'CLUSTER',
              at: Math.max(f.asOf, c.asOf),
              basis,
            })),
          );
        }
      } catch (err) {
        if (err instanceof SchemaDecodeError || (err instanceof SpamgateError && !err.retriable))
          await sideDeadLetter(topics.clusterFeatures, partition, m, err);
        else throw err;
      }
    }
    // Clusters quiet for a day and a bit have empty windows: forget them.
    const horizon = now() - 25 * 3_600_000;
    for (const [id, c] of clusters)
      if (c.asOf < horizon) {
        clusters.delete(id);
        clusterSignature.delete(id);
      }
    metrics.clusters.set(clusters.size);
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isStale, isRunning, resolveOffset } = payload;
    if (!isRunning() || isStale()) return;
    const received = now();
    await schemaCatalog.learnWriters(
      batch.messages.map((m) => m.value),
      { heartbeat },
    );
    const p = batch.partition;
    const task = await taskFor(p);
    // Stale: a rewind is pending (this batch was fetched before it), or the task was replaced.
    if (isStale() || tasks.get(p) !== task) return;
    const next = BigInt(task.offset ?? '0');
    let i = 0;
    try {
      for (const m of batch.messages) {
        // A batch fetched before the previous one was resolved repeats records already applied.
        if (BigInt(m.offset) < next) continue;
        handleFeatures(task, m);
        if (++i % 1_000 === 0) await heartbeat();
      }
    } catch (err) {
      // Not a bad record (those are dead-lettered) but a fault: part of the batch is applied, so
      // the state is ahead of its offsets. Restore it and rewind to what it committed.
      await dropTask(p, `batch failed: ${describeError(err).message}`);
      if (assigned.has(p))
        taskFor(p, true).catch((e: unknown) =>
          logger.error({ partition: p, err: describeError(e) }, 'reopening the partition failed'),
        );
      throw err;
    }
    const after = BigInt(batch.lastOffset()) + 1n;
    if (after > next) task.offset = String(after);
    // The consumer moves on now; the offset is committed by the transaction schedule() runs.
    resolveOffset(batch.lastOffset());
    const decided = task.toPublish.length > 0;
    schedule(task, 'features');
    // Arrival to published: from the batch reaching the engine to its decisions acknowledged.
    if (decided)
      task.published.then(
        () => metrics.latency.observe({ stage: 'arrival_to_published' }, (now() - received) / 1000),
        () => {},
      );
    metrics.latency.observe({ stage: 'evaluate' }, (now() - received) / 1000);
    reportState();
  }

  function reportState(): void {
    let senders = 0;
    for (const t of tasks.values()) senders += t.entries.size;
    metrics.senders.set(senders);
  }

  /** Due re-evaluations: BLOCKs that expire, standing BLOCKs to re-issue, overrides that lapse. */
  function tick(): void {
    const t = now();
    for (const o of overrides.takeLapsed(t))
      overrideChanged(o.target, o, o.expiresAt ?? t, `${o.overrideId}:lapsed`);
    const policy = deps.policy();
    for (const task of tasks.values()) {
      const due = task.due.popDue(t);
      if (due.length === 0) continue;
      onTask(task, 'expiry', () => {
        for (const { at, sender } of due) {
          if (task.queuedDue.get(sender) === at) task.queuedDue.delete(sender);
          const entry = task.entries.get(sender);
          // Stale heap entries (the sender's state moved on since) are skipped.
          if (!entry || dueAt(entry.decision, policy) !== at) continue;
          const f = featuresOf(entry, sender, at);
          evaluateSender(task, sender, entry, f, { kind: 'EXPIRY', at, basis: String(at) });
        }
      });
    }
  }

  return {
    isReady: () =>
      joined &&
      opening.size === 0 &&
      [...assigned].every((p) => tasks.has(p)) &&
      followers.every((f) => f.healthy()),
    ownedPartitions: () => [...tasks.keys()].sort((a, b) => a - b),
    reevaluate(kind, senders) {
      const t = now();
      for (const task of tasks.values())
        onTask(task, kind.toLowerCase(), () =>
          reevaluateIn(
            task,
            senders ? [...senders].filter((s) => task.entries.has(s)) : [...task.entries.keys()],
            (f) => ({ kind, at: Math.max(f.asOf, t), basis: `${kind}@${t}` }),
          ),
        );
    },
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topics.features] });
        partitionCount = md.topics[0]?.partitions.length ?? 0;
      } finally {
        await admin.disconnect();
      }
      // Before any producer of the engine exists: a reader of an older release must find the
      // schema of every record the engine writes on the schema topic, and registerSchemas
      // returns only once its in-sync replicas have them (acks=all).
      await registerSchemas(kafka, {
        topic: topics.schemas,
        schemas: schemaRegistrations({ records: DECISION_ENGINE_WRITES }),
        logger,
      });
      publisher = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { ...TRANSACTIONAL_PRODUCER_RETRY },
      });
      await publisher.connect();
      // The tables every instance holds, read in full before any decision is made, so an
      // operator's block or allow is never missed by a fresh instance.
      const suffix = `${config.instanceId}-${process.pid}-${now()}`;
      followers = [
        await followTopic(kafka, {
          topic: topics.overrides,
          groupId: `${config.groupId}-overrides-${suffix}`,
          logger,
          onRecords: onOverrides,
        }),
        await followTopic(kafka, {
          topic: topics.clusterFeatures,
          groupId: `${config.groupId}-clusters-${suffix}`,
          logger,
          onRecords: onClusters,
        }),
      ];
      await Promise.all(followers.map((f) => f.caughtUp));
      logger.info(
        { overrides: overrides.size, clusters: clusters.size },
        'overrides and cluster features loaded',
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        const mine = new Set<number>();
        for (const partitions of Object.values(payload.memberAssignment))
          for (const p of partitions) mine.add(p);
        assigned = mine;
        logger.info({ partitions: [...mine].sort((a, b) => a - b) }, 'partitions assigned');
        for (const p of [...tasks.keys()]) if (!mine.has(p)) void dropTask(p, 'no longer assigned');
        // A partition that came back keeps its state only if nobody wrote its changelog meanwhile.
        for (const t of [...tasks.values()].filter((x) => mine.has(x.partition))) {
          // After its own commit in flight, which would otherwise look like someone else's write.
          void t.idle
            .then(async () => {
              if (tasks.get(t.partition) !== t) return;
              if ((await partitionEnd(kafka, topics.state, t.partition)) !== t.changelogEnd) {
                await dropTask(t.partition, 'changelog moved on while away');
                if (assigned.has(t.partition)) taskFor(t.partition).catch(() => {});
              }
            })
            .catch((err: unknown) => logger.error({ err: describeError(err) }, 'changelog end check failed'));
        }
        for (const p of mine)
          if (!tasks.has(p))
            taskFor(p).catch((err: unknown) =>
              logger.error({ partition: p, err: describeError(err) }, 'opening the partition failed'),
            );
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        logger.fatal({ err: describeError(payload.error) }, 'consumer crashed and will not restart; exiting');
        void deps.lifecycle.shutdown('consumer crash').then(() => process.exit(1));
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.features, fromBeginning: true });
      const timer = setInterval(tick, 250);
      timer.unref();
      deps.lifecycle.onShutdown('decision engine', async () => {
        clearInterval(timer);
        await consumer.disconnect();
        stopping.abort();
        // What was applied is published and committed before the producers go.
        for (const t of tasks.values()) schedule(t, 'shutdown');
        await Promise.all([...tasks.values()].map((t) => t.idle));
        for (const p of [...tasks.keys()]) await dropTask(p, 'shutdown');
        for (const f of followers) await f.stop().catch(() => {});
        await publisher?.disconnect().catch(() => {});
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.concurrency,
        eachBatch,
      });
    },
  };
}
