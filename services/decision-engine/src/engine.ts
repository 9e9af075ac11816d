/**
 * The decision engine's Kafka shell around the per-partition decider (partition-decider.ts): who
 * owns which partition, exactly-once commits of evaluations, state and offsets, decisions
 * published at once, and the tables every instance follows (overrides, content overrides,
 * cluster features, content decisions). ARCHITECTURE.md, "The decision engine", says why each
 * part is as it is.
 */

import {
  type CommitSchedule,
  type Counter,
  committedOffsets,
  createCommitSchedule,
  createInputPositions,
  createSchemaCatalog,
  createSubscriberHasher,
  deadLetterOf,
  describeError,
  type FollowedTopic,
  fetchWait,
  followPositions,
  followTopic,
  type Gauge,
  type Histogram,
  inputLags,
  instrumentConsumer,
  isBadInput,
  type Lifecycle,
  type Logger,
  openFencedProducer,
  partitionEnd,
  partitionOfKey,
  partitionStart,
  type Registry,
  readToEnd,
  registerSchemas,
  SpamgateError,
  sendInTransaction,
  TRANSACTIONAL_PRODUCER_RETRY,
} from '@spamgate/core';
import {
  type ClusterFeatures,
  type Codec,
  type ContentOverride,
  createCodec,
  type PolicyOverride,
  type RecordName,
  schemaRegistrations,
} from '@spamgate/schemas';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { createGroupIndex } from './cluster-groups.ts';
import { clusterSignature } from './cluster-signature.ts';
import { type DecisionEngineConfig, type DecisionEngineTopics, decisionEngineTopics } from './config.ts';
import { checkContentOverride, createContentOverrideTable } from './content-overrides.ts';
import { type CapOf, type ContentInForce, contentInForce } from './evaluate.ts';
import { checkClusterFeatures, checkContentDecision, checkSenderFeatures } from './inputs.ts';
import type { AddressList } from './lists.ts';
import { checkOverride, createOverrideTable, type OverrideTable } from './overrides.ts';
import { createPartitionDecider, type DeciderTables, type PartitionDecider } from './partition-decider.ts';
import type { Policy } from './policy.ts';

export interface DecisionEngineMetrics {
  readonly evaluations: Counter;
  readonly published: Counter;
  readonly contentPublished: Counter;
  readonly deadLetters: Counter;
  readonly commits: Counter;
  readonly latency: Histogram;
  readonly ownedPartitions: Gauge;
  readonly senders: Gauge;
  /** Senders forgotten to keep within SPAMGATE_DECISION_MAX_SENDERS (idle ones forgotten by age are not counted). */
  readonly shedSenders: Counter;
  readonly overrides: Gauge;
  readonly clusters: Gauge;
  /** Now − the partition's clock (the newest features' time, or the idle advance), per owned partition. */
  readonly eventTimeLag: Gauge;
}

export interface DecisionEngineDeps {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  /** The service's registry, for the consumer's own metrics (core's instrumentConsumer). */
  readonly registry: Registry;
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
  readonly decider: PartitionDecider;
  /** Next offset of the features topic to consume, as applied to this state (committed or not). */
  offset: string | undefined;
  /** The offset the last transaction committed. */
  committedOffset: string | undefined;
  readonly evaluations: Message[];
  readonly deadLetters: Message[];
  /** Changelog records to write, latest per key. */
  readonly changelog: Map<string, Buffer | null>;
  changelogEnd: number;
  /** Decisions and content decisions made and not yet handed to the publishing producer. */
  readonly toPublish: { readonly topic: string; readonly message: Message }[];
  /** Every decision handed to the producer so far is acknowledged when this resolves. */
  published: Promise<void>;
  /** When p's transactions run: at most one per SPAMGATE_DECISION_COMMIT_INTERVAL, one at a time. */
  readonly schedule: CommitSchedule;
  /**
   * Wall clock of the partition's last input (or of the last time it was read to its end), and
   * its decider's clock then: an idle clock moves on from there.
   */
  lastInputWall: number;
  clockAtInput: number;
}

/** A features record the engine cannot use (no value). */
class EmptyRecordError extends SpamgateError {
  override name = 'EmptyRecordError';
  constructor(topic: string) {
    super(`${topic}: record without a value`, { code: 'EMPTY', retriable: false, badInput: true });
  }
}

const SERVICE = 'decision-engine';
/** A partition without input for this long moves its clock with the wall clock, from where it stood. */
const IDLE_ADVANCE_MS = 5_000;
/** Clusters whose newest features are this far behind the newest seen have empty windows: forgotten. */
const CLUSTER_HORIZON_MS = 25 * 3_600_000;

/** The records the engine writes: their schemas are registered before it writes any. */
export const DECISION_ENGINE_WRITES: readonly RecordName[] = ['Decision', 'ContentDecision', 'DeadLetter'];

export function createDecisionEngine(deps: DecisionEngineDeps): DecisionEngine {
  const { kafka, logger, config, metrics } = deps;
  const now = deps.now ?? Date.now;
  const codec: Codec = createCodec();
  const topics: DecisionEngineTopics = decisionEngineTopics(config.topicPrefix);
  /** Hashes dead letters' keys: a key may be a subscriber's number. */
  const deadLetterHasher = createSubscriberHasher(config.hashKey);
  // Inputs written by a newer release carry fingerprints this codec does not know: their schemas
  // are learned from the schema topic before they are decoded.
  const schemaCatalog = createSchemaCatalog({
    kafka,
    codec,
    topic: topics.schemas,
    logger,
  });
  const tasks = new Map<number, Task>();
  /** Which owned partitions were read to the end of their input (for the idle clock). */
  const positions = createInputPositions();
  const opening = new Map<number, Promise<Task>>();
  const overrides: OverrideTable = createOverrideTable();
  const contentOverrides = createContentOverrideTable();
  const clusters = new Map<string, ClusterFeatures>();
  /** Which clusters link to which domain and which share senders, for content rules that judge them together. */
  const groups = createGroupIndex((id) => clusters.get(id));
  let newestCluster = Number.NEGATIVE_INFINITY;
  /** The content decisions published (sms.content-decisions), as sender evaluations read them. */
  const contents = new Map<string, ContentInForce>();
  /** Per cluster: which cluster-reading rules it satisfies, to re-evaluate senders only when that changes. */
  const signatures = new Map<string, string>();
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

  const tables: DeciderTables = {
    policy: deps.policy,
    shadowPolicy: deps.shadowPolicy,
    cluster: (id) => clusters.get(id),
    content: (id) => contents.get(id),
    domainGroup: (d, at) => groups.domain(d, at),
    crewGroup: (c, at) => groups.crew(c, at),
    senderOverride: (sender, campaignId, at) => overrides.forSender(sender, campaignId, at),
    senderOverrides: () => overrides.all(),
    clusterOverride: (id, at) => contentOverrides.forCluster(id, at),
    contentOverrides: () => contentOverrides.all(),
    domainAllowed: (d, at) => contentOverrides.forDomain(d, at)?.action === 'ALLOW',
    domainBlocked: (d, at) => contentOverrides.forDomain(d, at)?.action === 'BLOCK',
    doNotOriginate: (sender) => deps.doNotOriginate().has(sender),
    capOf: deps.capOf,
    decodeFeatures: (raw) => codec.decode('SenderFeatures', Buffer.from(raw)),
  };

  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1_048_576,
    ...fetchWait(config.fetchWaitMs),
  });
  // Consumer lag per partition, as every service exports it (core's metrics.ts).
  instrumentConsumer(consumer, deps.registry, config.groupId);

  const mine = (key: string, p: number) => partitionCount > 0 && partitionOfKey(key, partitionCount) === p;

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
      deadLetterHasher,
    );
    metrics.deadLetters.inc({ code: record.errorCode });
    logger.warn({ topic, partition, offset: m.offset, code: record.errorCode }, 'record dead-lettered');
    return { key: record.keyHash, value: codec.encode('DeadLetter', record) };
  }

  /** Dead letters of the tables every instance reads: not in any task's transaction. */
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

  /** Moves what the decider decided into the task's queues: publishes at once, the rest at the next commit. */
  function collect(task: Task): void {
    const out = task.decider.take();
    const p = task.partition;
    for (const d of out.evaluations) {
      task.evaluations.push({ key: d.sender, value: codec.encode('Decision', d), partition: p });
      metrics.evaluations.inc({ shadow: String(d.shadow), action: d.action });
    }
    for (const d of out.decisions) {
      task.toPublish.push({
        topic: topics.decisions,
        message: { key: d.sender, value: codec.encode('Decision', d), partition: p },
      });
      metrics.published.inc({ action: d.action });
    }
    for (const d of out.contentDecisions) {
      task.toPublish.push({
        topic: topics.contentDecisions,
        message: { key: d.clusterId, value: codec.encode('ContentDecision', d) },
      });
      metrics.contentPublished.inc({ action: d.action });
    }
    for (const r of out.changelog) task.changelog.set(r.key, r.value === null ? null : Buffer.from(r.value));
  }

  function handleFeatures(task: Task, m: KafkaMessage): void {
    try {
      if (!m.value) throw new EmptyRecordError(topics.features);
      const key = m.key?.toString('utf8') ?? '';
      const f = codec.decode('SenderFeatures', m.value);
      checkSenderFeatures(key, f, now());
      task.decider.features(f, m.value, now());
    } catch (err) {
      if (isBadInput(err)) {
        task.deadLetters.push(
          deadLetterRecord(topics.features, task.partition, m, err, `${SERVICE}/${config.instanceId}`),
        );
        return;
      }
      throw err;
    }
  }

  /**
   * Decisions of every partition waiting for the publishing producer, sent together: one request
   * in flight at a time (the producer is idempotent, which keeps them in order), each taking
   * everything queued while the previous one was out.
   */
  const publishQueue: { items: Task['toPublish']; done: (err?: unknown) => void }[] = [];
  let publishing = false;
  async function flushPublishQueue(): Promise<void> {
    publishing = true;
    try {
      while (publishQueue.length > 0) {
        const round = publishQueue.splice(0);
        const byTopic = new Map<string, Message[]>();
        for (const r of round)
          for (const { topic, message } of r.items) {
            const list = byTopic.get(topic) ?? [];
            list.push(message);
            byTopic.set(topic, list);
          }
        const started = now();
        try {
          await publisher!.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
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
    const items = task.toPublish.splice(0);
    const acked = new Promise<void>((resolve, reject) =>
      publishQueue.push({ items, done: (err) => (err === undefined ? resolve() : reject(err)) }),
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
    if (tasks.get(p) !== task) return; // dropped while this commit waited for its turn
    const changelog: Message[] = [...task.changelog].map(([key, value]) => ({ key, value, partition: p }));
    task.changelog.clear();
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

  /** Publishes the task's new decisions now and commits the rest on the task's schedule. */
  function schedule(task: Task): void {
    publishDecisions(task);
    task.schedule.request();
  }

  /** p's commit failed: its state is ahead of what was committed, so restore it and read again. */
  async function commitFailed(task: Task, err: unknown): Promise<void> {
    // A task already dropped (revoked, shut down) fails its last commit as expected.
    if (tasks.get(task.partition) !== task) return;
    logger.error(
      { partition: task.partition, err: describeError(err) },
      'commit failed; restoring the partition',
    );
    await dropTask(task.partition, 'commit failed');
    if (assigned.has(task.partition))
      taskFor(task.partition, true).catch((e: unknown) =>
        logger.error({ partition: task.partition, err: describeError(e) }, 'reopening the partition failed'),
      );
  }

  async function restore(p: number, decider: PartitionDecider): Promise<number> {
    const latest = new Map<string, Buffer | null>();
    const ends = await readToEnd(kafka, {
      topic: topics.state,
      groupId: `${config.groupId}-restore-${config.instanceId}-${++restoreSeq}`,
      partitions: [p],
      onRecords: ({ messages }) => {
        for (const m of messages) latest.set(m.key?.toString('utf8') ?? '', m.value);
      },
    });
    // The features held may have been written by a newer feature engine than this codec knows.
    await schemaCatalog.learnWriters([...latest.values()].filter((v): v is Buffer => v !== null));
    for (const [key, value] of latest) {
      if (!value) continue;
      try {
        decider.restore(key, value);
      } catch (err) {
        // One unreadable record costs that sender (or cluster) its memory, not the partition.
        logger.error(
          { partition: p, err: describeError(err) },
          'decision state unreadable; starting it afresh',
        );
      }
    }
    return ends.get(p) ?? 0;
  }

  async function openTask(p: number): Promise<Task> {
    const producer = await openFencedProducer(kafka, `${config.groupId}-${p}`);
    const started = now();
    const decider = createPartitionDecider(p, tables);
    const end = await restore(p, decider);
    // Nothing committed yet: the group reads from the beginning, which is where a rewind goes.
    const committed = await committedOffsets(kafka, config.groupId, [topics.features], p);
    const offset = committed.get(topics.features) ?? String(await partitionStart(kafka, topics.features, p));
    positions.open(p, await inputLags(kafka, committed, [topics.features], p));
    logger.info(
      { partition: p, senders: decider.senderCount, clusters: decider.contentCount, ms: now() - started },
      'partition state restored',
    );
    const task: Task = {
      partition: p,
      producer,
      decider,
      schedule: createCommitSchedule({
        // Transactions are bookkeeping (decisions are already out): spacing them spares the
        // broker back-to-back transactions of every partition.
        intervalMs: config.commitIntervalMs,
        commit: () => commit(task),
        onFailure: (err) => commitFailed(task, err),
      }),
      offset,
      committedOffset: offset,
      evaluations: [],
      deadLetters: [],
      changelog: new Map(),
      changelogEnd: end,
      toPublish: [],
      published: Promise.resolve(),
      lastInputWall: now(),
      clockAtInput: decider.clock,
    };
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
          // Overrides and the Do-Not-Originate list may have changed while nobody owned p.
          onTask(task, () => {
            task.decider.reconcile((s) => mine(s, p), now());
            // Clusters this partition owns whose features came while nobody owned it (or before it
            // opened) are decided now, not at their next features.
            for (const [id, c] of clusters)
              if (mine(id, p)) task.decider.clusterUpdated(c, false, true, now());
          });
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

  async function dropTask(p: number, reason: string): Promise<void> {
    const task = tasks.get(p);
    if (!task) return;
    tasks.delete(p);
    positions.close(p);
    metrics.ownedPartitions.set(tasks.size);
    logger.info({ partition: p, reason }, 'partition state dropped');
    await task.producer.disconnect().catch(() => {});
  }

  /** Runs work without input on a task now; its decisions publish at once, its state commits next. */
  function onTask(task: Task, work: () => void): void {
    if (tasks.get(task.partition) !== task || !assigned.has(task.partition)) return;
    work();
    collect(task);
    schedule(task);
  }

  function forEachTask(work: (task: Task) => void): void {
    for (const task of tasks.values()) onTask(task, () => work(task));
  }

  /**
   * Applies a batch of a table every instance follows, record by record: a record that does not
   * decode or cannot be right is dead-lettered (by every instance alike) and the rest go on.
   */
  function followed(topic: string, apply: (key: string, m: KafkaMessage) => void, after?: () => void) {
    return async ({ partition, messages }: { partition: number; messages: readonly KafkaMessage[] }) => {
      await schemaCatalog.learnWriters(messages.map((m) => m.value));
      for (const m of messages) {
        try {
          apply(m.key?.toString('utf8') ?? '', m);
        } catch (err) {
          if (isBadInput(err)) await sideDeadLetter(topic, partition, m, err);
          else throw err;
        }
      }
      after?.();
    };
  }

  const onOverrides = followed(
    topics.overrides,
    (key, m) => {
      if (m.value === null) {
        const before = overrides.set(key, null);
        if (before) forEachTask((t) => t.decider.overrideUpdated(before, `removed@${m.offset}`, now()));
        return;
      }
      const o = checkOverride(key, codec.decode('PolicyOverride', m.value) as PolicyOverride);
      overrides.set(key, o);
      forEachTask((t) =>
        t.decider.overrideUpdated(o, `${o.overrideId}@${m.offset}`, now(), mine(o.target, t.partition)),
      );
    },
    () => metrics.overrides.set(overrides.size + contentOverrides.size),
  );

  const onContentOverrides = followed(
    topics.contentOverrides,
    (key, m) => {
      const o =
        m.value === null
          ? null
          : checkContentOverride(key, codec.decode('ContentOverride', m.value) as ContentOverride);
      const before = contentOverrides.set(key, o);
      const named = o ?? before;
      if (!named) return;
      const basis = o ? `${o.overrideId}@${m.offset}` : `removed@${m.offset}`;
      forEachTask((t) => {
        t.decider.contentOverrideUpdated(named, basis, now());
        // A domain block or its removal changes what senders linking to it get.
        if (named.scope === 'DOMAIN') t.decider.reevaluate('OVERRIDE', undefined, now());
      });
    },
    () => metrics.overrides.set(overrides.size + contentOverrides.size),
  );

  const onClusters = followed(
    topics.clusterFeatures,
    (key, m) => {
      if (m.value === null) {
        clusters.delete(key);
        groups.delete(key);
        signatures.delete(key);
        return;
      }
      const c = codec.decode('ClusterFeatures', m.value);
      checkClusterFeatures(key, c, now());
      const held = clusters.get(key);
      if (held && held.asOf > c.asOf) return;
      clusters.set(key, c);
      groups.put(c);
      newestCluster = Math.max(newestCluster, c.asOf);
      const sig = clusterSignature(deps.policy(), c);
      const evidenceChanged = signatures.get(key) !== sig;
      signatures.set(key, sig);
      for (const task of tasks.values()) {
        const owned = mine(key, task.partition);
        if (owned || evidenceChanged)
          onTask(task, () => task.decider.clusterUpdated(c, evidenceChanged, owned, now()));
      }
    },
    () => {
      // Clusters quiet for a day and a bit (in the clusters' own event time) have empty windows.
      for (const [id, c] of clusters)
        if (c.asOf < newestCluster - CLUSTER_HORIZON_MS) {
          clusters.delete(id);
          groups.delete(id);
          signatures.delete(id);
        }
      metrics.clusters.set(clusters.size);
    },
  );

  const onContentDecisions = followed(topics.contentDecisions, (key, m) => {
    if (m.value === null) {
      contents.delete(key);
      return;
    }
    const d = codec.decode('ContentDecision', m.value);
    checkContentDecision(key, d);
    if (contents.get(key)?.decisionId === d.decisionId) return;
    contents.set(key, contentInForce(d, deps.policy()));
    forEachTask((t) => t.decider.contentUpdated(key, d.basedOnEventTime, now()));
  });

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
    task.lastInputWall = now();
    task.clockAtInput = task.decider.clock;
    const after = BigInt(batch.lastOffset()) + 1n;
    if (after > next) task.offset = String(after);
    // The consumer moves on now; the offset is committed by the transaction schedule() runs.
    resolveOffset(batch.lastOffset());
    // The memory budget, shared among the owned partitions; the tombstones go in this transaction.
    const shed = task.decider.shed(Math.floor(config.maxSenders / Math.max(1, tasks.size)));
    if (shed > 0) {
      metrics.shedSenders.inc(shed);
      logger.warn(
        { partition: p, shed, maxSenders: config.maxSenders },
        'decision state over its budget: the least recently active ALLOW senders forgotten',
      );
    }
    collect(task);
    const decided = task.toPublish.length > 0;
    schedule(task);
    // Arrival to published: from the batch reaching the engine to its decisions acknowledged.
    if (decided)
      task.published.then(
        () => metrics.latency.observe({ stage: 'arrival_to_published' }, (now() - received) / 1000),
        () => {},
      );
    metrics.latency.observe({ stage: 'evaluate' }, (now() - received) / 1000);
    let senders = 0;
    metrics.eventTimeLag.reset();
    const wall = now();
    for (const t of tasks.values()) {
      senders += t.decider.senderCount;
      if (Number.isFinite(t.decider.clock))
        metrics.eventTimeLag.set(
          { partition: String(t.partition) },
          Math.max(0, (wall - t.decider.clock) / 1000),
        );
    }
    metrics.senders.set(senders);
  }

  /**
   * Moves idle partitions' clocks on with the wall clock from where their last input left them,
   * so what is due (a BLOCK expiring, a standing BLOCK to re-issue, an override lapsing) runs
   * without new input. A partition with input keeps the clock its features carry, and so does one
   * behind its input (a backlog after a restart is not idleness).
   */
  function tick(): void {
    const t = now();
    for (const task of tasks.values()) {
      const idleFor = t - task.lastInputWall;
      if (idleFor < IDLE_ADVANCE_MS || !Number.isFinite(task.clockAtInput)) continue;
      if (!positions.caughtUp(task.partition)) continue;
      if (tasks.get(task.partition) !== task || !assigned.has(task.partition)) continue;
      task.decider.advanceClock(task.clockAtInput + idleFor, t);
      if (!task.decider.pending()) continue;
      collect(task);
      schedule(task);
    }
  }

  async function follow(
    topic: string,
    name: string,
    onRecords: Parameters<typeof followTopic>[1]['onRecords'],
  ) {
    return followTopic(kafka, {
      topic,
      groupId: `${config.groupId}-${name}-${config.instanceId}-${process.pid}-${now()}`,
      logger,
      onRecords,
    });
  }

  return {
    isReady: () =>
      joined &&
      opening.size === 0 &&
      [...assigned].every((p) => tasks.has(p)) &&
      followers.every((f) => f.healthy()),
    ownedPartitions: () => [...tasks.keys()].sort((a, b) => a - b),
    reevaluate(kind, senders) {
      forEachTask((t) => t.decider.reevaluate(kind, senders, now()));
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
      // schema of every record the engine writes on the schema topic (acks=all).
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
      // operator's block or allow, or a content decision, is never missed by a fresh instance.
      followers = [
        await follow(topics.overrides, 'overrides', onOverrides),
        await follow(topics.contentOverrides, 'content-overrides', onContentOverrides),
        await follow(topics.clusterFeatures, 'clusters', onClusters),
        await follow(topics.contentDecisions, 'contents', onContentDecisions),
      ];
      await Promise.all(followers.map((f) => f.caughtUp));
      logger.info(
        {
          overrides: overrides.size,
          contentOverrides: contentOverrides.size,
          clusters: clusters.size,
          contents: contents.size,
        },
        'overrides, cluster features and content decisions loaded',
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        const assignment = new Set<number>();
        for (const partitions of Object.values(payload.memberAssignment))
          for (const p of partitions) assignment.add(p);
        assigned = assignment;
        logger.info({ partitions: [...assignment].sort((a, b) => a - b) }, 'partitions assigned');
        for (const p of [...tasks.keys()]) if (!assignment.has(p)) void dropTask(p, 'no longer assigned');
        // A partition that came back keeps its state only if nobody wrote its changelog meanwhile.
        for (const t of [...tasks.values()].filter((x) => assignment.has(x.partition))) {
          // After its own commit in flight, which would otherwise look like someone else's write.
          void t.schedule
            .idle()
            .then(async () => {
              if (tasks.get(t.partition) !== t) return;
              if ((await partitionEnd(kafka, topics.state, t.partition)) !== t.changelogEnd) {
                await dropTask(t.partition, 'changelog moved on while away');
                if (assigned.has(t.partition)) taskFor(t.partition).catch(() => {});
              }
            })
            .catch((err: unknown) => logger.error({ err: describeError(err) }, 'changelog end check failed'));
        }
        for (const p of assignment)
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
      // Idleness is timed from when a partition was read to its end.
      followPositions(consumer, positions, (p) => {
        const task = tasks.get(p);
        if (!task) return;
        task.lastInputWall = now();
        task.clockAtInput = task.decider.clock;
      });
      const timer = setInterval(tick, 250);
      timer.unref();
      deps.lifecycle.onShutdown('decision engine', async () => {
        clearInterval(timer);
        await consumer.disconnect();
        // What was applied is published and committed before the producers go.
        await Promise.all(
          [...tasks.values()].map((t) => {
            publishDecisions(t);
            return t.schedule.flush();
          }),
        );
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
