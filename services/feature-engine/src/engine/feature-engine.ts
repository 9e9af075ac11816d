/**
 * The feature engine's Kafka shell around the partition processors.
 *
 * Exactly once, the way Kafka Streams does it: every input partition p has its own
 * transactional producer (transactional id <group>-<p>). Input is processed as it arrives; p's
 * commit schedule (core's commit-schedule.ts) then runs one transaction at a time that writes
 * what p produced since the last one (SenderFeatures, SenderMinute, dead letters), p's changed
 * state to partition p of the compacted changelog, and the input offsets that produced them. A new owner of p
 * first initialises the same transactional id, which fences the previous owner and aborts its
 * open transaction, then restores p's state from the changelog, and only then processes input
 * from the committed offsets. Consumers read with read_committed, so nothing from an aborted
 * transaction is ever seen. What a record does to the partition's state is not here: the shell
 * decodes it, hands it to the input handlers (input-handlers.ts) and encodes what they re-key.
 */
import {
  type CommitSchedule,
  type Counter,
  checkRecordKey,
  committedOffsets,
  createCommitSchedule,
  createInputPositions,
  createSchemaCatalog,
  createSubscriberHasher,
  deadLetterOf,
  describeError,
  fetchWait,
  followPositions,
  type Gauge,
  HashKeyMismatchError,
  type Histogram,
  hashKeyId,
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
  registerSchemas,
  sendInTransaction,
} from '@spamgate/core';
import {
  type Codec,
  createCodec,
  loadRegistrations,
  type RecordName,
  registrationsPath,
  SchemaDecodeError,
  schemaRegistrations,
} from '@spamgate/schemas';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { createClusterProcessor } from '../clusters/cluster-processor.ts';
import {
  type ClusterProcessor,
  DEFAULT_CLUSTER_PROCESSOR_OPTIONS,
} from '../clusters/cluster-processor-api.ts';
import { type FeatureEngineConfig, type FeatureEngineTopics, featureEngineTopics } from '../config.ts';
import { createCopartitionAssigner } from '../kafka/copartition-assigner.ts';
import { DEFAULT_RELATION_OPTIONS } from '../relations/relation-book.ts';
import { decodePartitionMeta, encodePartitionMeta, PARTITION_META_KEY } from './entry-codec.ts';
import { createFactKeys, keyedProcessorOptions } from './facts.ts';
import { createInputHandlers, drainPartition, type InputHandlers, type Rekeyed } from './input-handlers.ts';
import {
  decideKeyStart,
  decodeKeyRecord,
  encodeKeyRecord,
  type KeyRecord,
  type KeyStart,
} from './key-record.ts';
import { createPartitionProcessor } from './partition-processor.ts';
import {
  DEFAULT_PROCESSOR_OPTIONS,
  type PartitionProcessor,
  type ProcessorOptions,
} from './processor-api.ts';

export interface FeatureEngineDeps {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly lifecycle: Lifecycle;
  readonly config: FeatureEngineConfig & { readonly instanceId: string };
  /** Wall clock, ms; tests may pass another. */
  readonly now?: () => number;
  readonly metrics: FeatureEngineMetrics;
}

export interface FeatureEngineMetrics {
  readonly events: Counter;
  readonly deadLetters: Counter;
  readonly lateEvents: Counter;
  readonly commits: Counter;
  readonly restoreSeconds: Histogram;
  readonly ownedPartitions: Gauge;
  readonly senders: Gauge;
  readonly stateBytes: Gauge;
  readonly promotedSenders: Counter;
  readonly shedSenders: Counter;
  readonly shedRelationBooks: Counter;
  readonly relationBooks: Gauge;
  readonly clusters: Gauge;
  /** Opt-outs still under the previous hash key, during a rotation (docs/key-rotation.md). */
  readonly previousKeyOptOuts: Gauge;
  /** Partitions in a hash-key rotation. */
  readonly rotatingPartitions: Gauge;
  /** Now − the partition's watermark, per owned partition: how far behind event time it runs. */
  readonly eventTimeLag: Gauge;
}

interface Restored {
  readonly processor: PartitionProcessor;
  /** Partition p of the by-cluster topic: the content clusters whose id hashes to p. */
  readonly clusters: ClusterProcessor;
  readonly end: number;
  /** The hash-key record to write at the first commit (key-record.ts), if the changelog's differs. */
  keyRecordPending: KeyRecord | undefined;
}

interface Task {
  readonly partition: number;
  readonly processor: PartitionProcessor;
  readonly clusters: ClusterProcessor;
  readonly producer: Producer;
  /** Next offset to consume, per input topic, as committed in the last transaction or pending. */
  readonly offsets: Map<string, string>;
  readonly deadLetters: Message[];
  /** Messages re-keyed by recipient (ReceivedMessage), written in this partition's next transaction. */
  readonly byRecipient: Message[];
  /** Messages and outcomes re-keyed by content cluster (ClusterEvent), likewise. */
  readonly byCluster: Message[];
  /** The changelog partition's end offset after our last commit (to skip a needless restore). */
  changelogEnd: number;
  /** The hash-key record the changelog does not hold yet: the next transaction writes it, once. */
  keyRecordPending: KeyRecord | undefined;
  /** When p's transactions run; each takes what accumulated since the previous one. */
  readonly schedule: CommitSchedule;
  /** Input events applied since the running or last commit took its outputs. */
  uncommitted: number;
  /** Wall time of the last input, or of the last time every input was read to its end. */
  lastInputAt: number;
  lastWatermarkAtInput: number;
  /** The clusters' watermark at the last input: it moves on idle like the senders' one. */
  lastClusterWatermarkAtInput: number;
  /** Serialises the processing of this partition's batches and idle advances. */
  chain: Promise<unknown>;
}

export interface FeatureEngine {
  start(): Promise<void>;
  isReady(): boolean;
  ownedPartitions(): number[];
}

/** How long a partition's restore waits for others opened at the same time to join it. */
const RESTORE_COALESCE_MS = 200;

/** Changelog keys of the content clusters partition p holds, and of their watermark. */
export const CLUSTER_KEY_PREFIX = '\u0000cluster:';
export const CLUSTER_META_KEY = '\u0000cluster-watermark';
/** Changelog key of the id of the hash key the partition's state was written under (hashKeyId). */
export const HASH_KEY_ID_KEY = '\u0000hash-key';

/** The records the engine writes: their schemas are registered before it writes any. */
export const FEATURE_ENGINE_WRITES: readonly RecordName[] = [
  'SenderFeatures',
  'SenderMinute',
  'ClusterFeatures',
  'ClusterEvent',
  'ReceivedMessage',
  'DeadLetter',
];

export function createFeatureEngine(deps: FeatureEngineDeps): FeatureEngine {
  const { kafka, logger, config, metrics } = deps;
  const now = deps.now ?? Date.now;
  const codec: Codec = createCodec();
  const keyId = hashKeyId(config.hashKey);
  const previousKeyId = config.previousHashKey === undefined ? undefined : hashKeyId(config.previousHashKey);
  /** Hashes dead letters' keys: a key may be a subscriber's number. */
  const deadLetterHasher = createSubscriberHasher(config.hashKey);
  /** Set when a partition's state was written under another hash key: nothing more is committed. */
  let keyRefused = false;
  const keys = createFactKeys(config.hashKey, {
    previous: config.previousHashKey,
    content: config.contentKey,
  });
  const handlers: InputHandlers = createInputHandlers({ keys, utcOffsetHours: config.utcOffsetHours });
  const topics: FeatureEngineTopics = featureEngineTopics(
    config.topicPrefix,
    config.inputTopicPrefix ?? config.topicPrefix,
  );
  // Inputs written by a newer release (the SMSC's events, a newer instance's repartition
  // records) carry fingerprints this codec does not know: their schemas are learned from the
  // schema topic before they are decoded.
  const schemaCatalog = createSchemaCatalog({
    kafka,
    codec,
    topic: topics.schemas,
    logger,
  });
  const options: ProcessorOptions = {
    ...DEFAULT_PROCESSOR_OPTIONS,
    ...keyedProcessorOptions(keys),
    allowedLatenessMs: config.allowedLatenessMs,
    emitIntervalMs: config.emitIntervalMs,
    maxFutureSkewMs: config.maxFutureSkewMs,
    relations: {
      ...DEFAULT_RELATION_OPTIONS,
      replyDelayMs: config.replyDelayMs,
      contactLookbackMs: config.contactLookbackMs,
      optOutRetentionMs: config.optOutRetentionMs,
    },
    registrations: loadRegistrations(registrationsPath(config)),
  };
  const clusterOptions = { ...DEFAULT_CLUSTER_PROCESSOR_OPTIONS, maxFutureSkewMs: config.maxFutureSkewMs };
  logger.info(
    { registrations: options.registrations.version, campaigns: options.registrations.campaigns.size },
    'registered throughput loaded',
  );
  const tasks = new Map<number, Task>();
  const opening = new Map<number, Promise<Task>>();
  /** Which owned partitions were read to the end of every input (for the idle advance). */
  const positions = createInputPositions();
  let assigned = new Set<number>();
  let joined = false;
  let restoreSeq = 0;
  const service = `feature-engine/${config.instanceId}`;

  // Partition p of both input topics must go to one member: it owns p's sender state.
  const copartition = createCopartitionAssigner();
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1_048_576,
    ...fetchWait(config.fetchWaitMs),
    partitionAssigners: [copartition.assigner],
  });
  // Consumer lag per partition, as every service exports it (core's metrics.ts).
  instrumentConsumer(consumer, deps.registry, config.groupId);

  /**
   * Partitions of the by-recipient topic: its records name the recipient by a hash, so the shell
   * places them itself (partitionOfKey of the clear address), as a keyed producer would have.
   */
  let byRecipientPartitions = 0;

  /** Reads partitions' changelogs into fresh processors; returns each partition's end offset. */
  async function restore(partitions: readonly number[]): Promise<Map<number, Restored>> {
    const started = now();
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, { low: number; high: number }>;
    try {
      ends = new Map(
        (await admin.fetchTopicOffsets(topics.changelog)).map((o) => [
          o.partition,
          { low: Number(o.low), high: Number(o.high) },
        ]),
      );
      // Read again at every assignment, so partitions added since are counted.
      byRecipientPartitions = (await admin.fetchTopicOffsets(topics.byRecipient)).length;
    } finally {
      await admin.disconnect();
    }
    const out = new Map<number, Restored>();
    // Senders and relation books go into their processor record by record, each replacing the
    // last; a map of every key's latest record first would hold every fetched buffer until the
    // end (a 1M-sender restore read 4.8M records for 2.9M keys). Content clusters, whose restore
    // also schedules them, and the watermarks are kept to their latest record and applied after.
    const latest = new Map<number, Map<string, Buffer | null>>();
    const pending = new Set<number>();
    for (const p of partitions) {
      out.set(p, {
        processor: createPartitionProcessor(options),
        clusters: createClusterProcessor(clusterOptions),
        end: ends.get(p)?.high ?? 0,
        keyRecordPending: undefined,
      });
      latest.set(p, new Map());
      const e = ends.get(p);
      if (e && e.high > e.low) pending.add(p);
    }
    if (pending.size > 0) {
      const groupId = `${config.groupId}-restore-${config.instanceId}-${++restoreSeq}`;
      const reader = kafka.consumer({ groupId, readUncommitted: false, maxBytesPerPartition: 8 * 1_048_576 });
      await reader.connect();
      try {
        await reader.subscribe({ topic: topics.changelog, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          reader.on(reader.events.CRASH, ({ payload }) => reject(payload.error));
          // Checked after every batch, including those kafkajs never hands to eachBatch because
          // read_committed filtered out all their records: a changelog that ends in an aborted
          // transaction (a kill mid-commit) would otherwise be waited for forever.
          reader.on(reader.events.END_BATCH_PROCESS, ({ payload }) => {
            const p = payload.partition;
            if (payload.topic !== topics.changelog || !pending.has(p)) return;
            if (Number(payload.lastOffset) >= ends.get(p)!.high - 1) {
              pending.delete(p);
              reader.pause([{ topic: topics.changelog, partitions: [p] }]);
              if (pending.size === 0) resolve();
            }
          });
          void reader.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const p = batch.partition;
              if (!pending.has(p)) {
                reader.pause([{ topic: topics.changelog, partitions: [p] }]);
                return;
              }
              const records = latest.get(p)!;
              const { processor } = out.get(p)!;
              for (const m of batch.messages) {
                const key = m.key?.toString('utf8') ?? '';
                if (
                  key === PARTITION_META_KEY ||
                  key === CLUSTER_META_KEY ||
                  key === HASH_KEY_ID_KEY ||
                  key.startsWith(CLUSTER_KEY_PREFIX)
                )
                  records.set(key, m.value);
                else if (m.value === null) processor.forget(key);
                else processor.restore(key, m.value);
              }
            },
          });
        });
      } finally {
        await reader.disconnect();
        const admin2 = kafka.admin();
        await admin2.connect();
        await admin2.deleteGroups([groupId]).catch(() => {});
        await admin2.disconnect();
      }
    }
    for (const [p, records] of latest) {
      const { processor, clusters } = out.get(p)!;
      for (const [key, value] of records) {
        if (value === null || key === HASH_KEY_ID_KEY) continue;
        if (key === PARTITION_META_KEY) {
          const meta = decodePartitionMeta(value);
          processor.restoreWatermark(meta.watermark, meta.closedBy);
        } else if (key === CLUSTER_META_KEY) clusters.restoreWatermark(decodePartitionMeta(value).watermark);
        else clusters.restore(key.slice(CLUSTER_KEY_PREFIX.length), value);
      }
      const where = `partition ${p} of ${topics.changelog}`;
      const storedBytes = records.get(HASH_KEY_ID_KEY);
      let start: KeyStart;
      try {
        const stored = storedBytes ? decodeKeyRecord(storedBytes) : undefined;
        start = decideKeyStart(where, stored, keyId, previousKeyId, processor.watermark);
        if (!storedBytes || !encodeKeyRecord(start.record).equals(storedBytes))
          out.get(p)!.keyRecordPending = start.record;
      } catch (err) {
        keyRefused = true;
        // Not a partition to retry: every one was written under the other key. Stop, and say why.
        const mismatch = err instanceof HashKeyMismatchError;
        logger.fatal(
          { partition: p, err: describeError(err) },
          mismatch ? 'hash key mismatch; exiting' : 'hash key rotation unfinished; exiting',
        );
        void deps.lifecycle
          .shutdown(mismatch ? 'hash key mismatch' : 'hash key rotation')
          .then(() => process.exit(1));
        throw err;
      }
      processor.setRotation(start.rotationSinceMs);
      const rotation = processor.rotation;
      if (rotation)
        logger.info(
          { partition: p, previousKey: start.record.previous, key: keyId, ...rotation },
          'hash key rotation under way: state under the previous key moves as it is seen',
        );
      logger.info(
        {
          partition: p,
          senders: processor.senderCount,
          relationBooks: processor.relationBookCount,
          clusters: clusters.clusterCount,
          watermark: processor.watermark,
        },
        'partition state restored',
      );
    }
    metrics.restoreSeconds.observe((now() - started) / 1000);
    return out;
  }

  /**
   * Restores partition p together with the others being opened at about the same time: after a
   * rebalance every new partition opens at once, and one changelog reader for all of them reads
   * each partition once, where a reader per partition read (and paused) the others' data too.
   */
  let restoreQueue: {
    p: number;
    resolve: (r: Restored) => void;
    reject: (err: unknown) => void;
  }[] = [];
  function restoreCoalesced(p: number): Promise<Restored> {
    return new Promise((resolve, reject) => {
      restoreQueue.push({ p, resolve, reject });
      if (restoreQueue.length > 1) return; // the first of the round has scheduled it
      setTimeout(() => {
        const queued = restoreQueue;
        restoreQueue = [];
        restore(queued.map((q) => q.p)).then(
          (restored) => {
            for (const q of queued) q.resolve(restored.get(q.p)!);
          },
          (err: unknown) => {
            for (const q of queued) q.reject(err);
          },
        );
      }, RESTORE_COALESCE_MS);
    });
  }

  /** Opens p's task; with `rewind`, also where each input must be read again from. */
  async function openTask(p: number, rewind: boolean): Promise<[Task, Map<string, string>]> {
    const producer = await openFencedProducer(kafka, `${config.groupId}-${p}`);
    const restored = await restoreCoalesced(p);
    // The offsets committed with the state just restored: records below them are already in it.
    const inputs = [topics.messages, topics.feedback, topics.byRecipient, topics.byCluster];
    const offsets = await committedOffsets(kafka, config.groupId, inputs, p);
    const rewindTo = new Map(rewind ? offsets : []);
    // Nothing committed for an input yet: the group reads it from the start, so a rewind goes there.
    if (rewind)
      for (const topic of inputs)
        if (!rewindTo.has(topic)) rewindTo.set(topic, String(await partitionStart(kafka, topic, p)));
    positions.open(p, await inputLags(kafka, offsets, inputs, p));
    const t = now();
    const task: Task = {
      partition: p,
      processor: restored.processor,
      clusters: restored.clusters,
      producer,
      schedule: createCommitSchedule({
        intervalMs: config.commitIntervalMs,
        commit: () => commit(task),
        onFailure: (err) => commitFailed(task, err),
      }),
      uncommitted: 0,
      offsets,
      deadLetters: [],
      byRecipient: [],
      byCluster: [],
      changelogEnd: restored.end,
      keyRecordPending: restored.keyRecordPending,
      lastInputAt: t,
      lastWatermarkAtInput: restored.processor.watermark,
      lastClusterWatermarkAtInput: restored.clusters.watermark,
      chain: Promise.resolve(),
    };
    return [task, rewindTo];
  }

  /**
   * The task of partition p, opened (fenced and restored) if need be. `rewind`: the consumer may
   * have read past what the restored state holds (its commit failed), so each input is sent back
   * to the committed offset; batches fetched before that are stale and skipped.
   */
  function taskFor(p: number, rewind = false): Promise<Task> {
    const held = tasks.get(p);
    if (held) return Promise.resolve(held);
    let pending = opening.get(p);
    if (!pending) {
      pending = openTask(p, rewind).then(
        ([task, rewindTo]) => {
          tasks.set(p, task);
          opening.delete(p);
          metrics.ownedPartitions.set(tasks.size);
          for (const [topic, offset] of rewindTo) consumer.seek({ topic, partition: p, offset });
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

  /** Forgets a partition's in-memory state (it is behind or ahead of what was committed, or no longer ours). */
  async function dropTask(p: number, reason: string): Promise<void> {
    const task = tasks.get(p);
    if (!task) return;
    tasks.delete(p);
    positions.close(p);
    metrics.ownedPartitions.set(tasks.size);
    logger.info({ partition: p, reason }, 'partition state dropped');
    await task.producer.disconnect().catch(() => {});
  }

  function deadLetter(task: Task, topic: string, partition: number, m: KafkaMessage, err: unknown): void {
    const record = deadLetterOf(
      { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null },
      err,
      service,
      now(),
      deadLetterHasher,
    );
    task.deadLetters.push({ key: record.keyHash, value: codec.encode('DeadLetter', record) });
    metrics.deadLetters.inc({ code: record.errorCode });
    logger.warn({ topic, partition, offset: m.offset, code: record.errorCode }, 'record dead-lettered');
  }

  const SCHEMA_OF_TOPIC: Readonly<Record<string, RecordName>> = {
    [topics.messages]: 'MessageEvent',
    [topics.feedback]: 'FeedbackEvent',
    [topics.byRecipient]: 'ReceivedMessage',
    [topics.byCluster]: 'ClusterEvent',
  };

  /** Queues re-keyed records for this partition's next transaction. */
  function queue(task: Task, records: readonly Rekeyed[]): void {
    for (const r of records) {
      if (r.to === 'byRecipient')
        task.byRecipient.push({
          key: r.key,
          value: codec.encode('ReceivedMessage', r.value),
          // Keyed by a hash, placed by the clear address: where that address's own messages are.
          partition: partitionOfKey(r.partitionKey, byRecipientPartitions),
        });
      else task.byCluster.push({ key: r.key, value: codec.encode('ClusterEvent', r.value) });
    }
  }

  function handle(task: Task, topic: string, m: KafkaMessage): void {
    const wall = now();
    try {
      if (!m.value) throw new SchemaDecodeError(SCHEMA_OF_TOPIC[topic] ?? topic, 'EMPTY', 'null value');
      // A record keyed other than by its sender (or recipient) may sit in another sender's
      // partition: counted there, it would split and undercount its own (KEY_MISMATCH).
      if (topic === topics.messages) {
        const e = codec.decode('MessageEvent', m.value);
        checkRecordKey('MessageEvent', 'sender', m.key, e.sender);
        queue(task, handlers.message(task, e, wall));
      } else if (topic === topics.feedback) {
        const f = codec.decode('FeedbackEvent', m.value);
        checkRecordKey('FeedbackEvent', 'sender', m.key, f.sender);
        queue(task, handlers.feedback(task, f, wall));
      } else if (topic === topics.byRecipient) {
        const r = codec.decode('ReceivedMessage', m.value);
        checkRecordKey('ReceivedMessage', 'recipient', m.key, r.recipient);
        queue(task, handlers.received(task, r, wall));
      } else
        handlers.clusterEvent(
          task,
          m.key?.toString('utf8') ?? '',
          codec.decode('ClusterEvent', m.value),
          wall,
        );
      metrics.events.inc({ topic });
    } catch (err) {
      if (isBadInput(err)) deadLetter(task, topic, task.partition, m, err);
      else throw err;
    }
  }

  /**
   * Keeps sender state within the instance's budget: when the estimate for all owned partitions
   * is over it, the committing partition sheds the whole excess (down to 90 % of the budget) as
   * far as it can, before its drain, so the changelog of the same transaction records what was
   * shed. Taking the excess where the commit is keeps the budget true after every commit; every
   * owned partition commits at least at each idle tick, so none escapes.
   */
  let lastNothingToShedLog = Number.NEGATIVE_INFINITY;
  function enforceBudget(task: Task): void {
    const budget = config.stateBudgetMb * 1_048_576;
    let total = 0;
    for (const t of tasks.values()) total += t.processor.stateBytes + t.clusters.stateBytes;
    if (total <= budget || task.processor.stateBytes + task.clusters.stateBytes === 0) return;
    const shed = task.processor.shed(total - 0.9 * budget);
    // Then content clusters, least active first (cluster-processor.ts), if senders were not enough.
    const rest = total - 0.9 * budget - shed.bytes;
    const clusters = rest > 0 ? task.clusters.shed(rest) : { clusters: 0, bytes: 0 };
    const fields = {
      partition: task.partition,
      budgetMb: config.stateBudgetMb,
      stateMb: Math.round(total / 1_048_576),
      shedSenders: shed.senders,
      shedRelationBooks: shed.relationBooks,
      shedClusters: clusters.clusters,
      freedMb: Math.round((shed.bytes + clusters.bytes) / 1_048_576),
    };
    if (shed.senders + shed.relationBooks + clusters.clusters > 0) {
      metrics.shedSenders.inc(shed.senders);
      metrics.shedRelationBooks.inc(shed.relationBooks);
      logger.warn(fields, 'sender state over its memory budget: shed the least active senders');
    } else if (now() - lastNothingToShedLog > 60_000) {
      // New senders are only estimated once encoded; recently active ones are not shed.
      lastNothingToShedLog = now();
      logger.warn(fields, 'sender state over its memory budget, with nothing to shed yet');
    }
  }

  /**
   * One transaction: outputs, changed state and input offsets of one partition. Everything is
   * taken synchronously before the first await, so input processed while it runs goes to the next.
   */
  async function commit(task: Task): Promise<void> {
    const p = task.partition;
    if (tasks.get(p) !== task) return; // dropped while this commit waited for its turn
    // Another partition's state was written under another key: this process is stopping, and
    // must not stamp a partition with its own key on the way out (the right key would then be refused).
    if (keyRefused) return;
    task.uncommitted = 0;
    const offsets = [...task.offsets];
    const lateBefore = task.processor.stats.lateEvents;
    const promotedBefore = task.processor.stats.promotedSenders;
    enforceBudget(task);
    // A rotation ends in the transaction that deletes what is left under the previous key.
    if (task.processor.endRotationIfDone()) {
      task.keyRecordPending = { key: keyId };
      logger.info({ partition: p, key: keyId }, 'hash key rotation finished for this partition');
    }
    const { senders: outputs, clusters: clusterOutputs } = drainPartition(task, now());
    const changed = task.processor.takeChanged();
    const clustersChanged = task.clusters.takeChanged();
    const features: Message[] = [];
    const minutes: Message[] = [];
    for (const o of outputs) {
      if (o.kind === 'features')
        features.push({ key: o.sender, value: codec.encode('SenderFeatures', o.value), partition: p });
      else minutes.push({ key: o.sender, value: codec.encode('SenderMinute', o.value), partition: p });
    }
    const changelog: Message[] = changed.map(({ key, value }) => ({
      key,
      value: value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : null,
      partition: p,
    }));
    for (const { clusterId, value } of clustersChanged)
      changelog.push({
        key: CLUSTER_KEY_PREFIX + clusterId,
        value: value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : null,
        partition: p,
      });
    changelog.push({
      key: CLUSTER_META_KEY,
      value: encodePartitionMeta(task.clusters.watermark),
      partition: p,
    });
    // Always written, so every transaction touches the changelog and its end offset is known.
    changelog.push({
      key: PARTITION_META_KEY,
      value: encodePartitionMeta(task.processor.watermark, task.processor.closedBy),
      partition: p,
    });
    // The key this state's hashes are under, once per partition (compaction keeps it): a restore
    // under another key refuses to start.
    const keyRecord = task.keyRecordPending;
    if (keyRecord) changelog.push({ key: HASH_KEY_ID_KEY, value: encodeKeyRecord(keyRecord), partition: p });
    const clusterFeatures: Message[] = clusterOutputs.map((f) => ({
      key: f.clusterId,
      value: codec.encode('ClusterFeatures', f),
      partition: p,
    }));
    const topicMessages = [
      { topic: topics.features, messages: features },
      { topic: topics.minutes, messages: minutes },
      { topic: topics.deadLetters, messages: task.deadLetters.splice(0) },
      { topic: topics.byRecipient, messages: task.byRecipient.splice(0) },
      { topic: topics.byCluster, messages: task.byCluster.splice(0) },
      { topic: topics.clusterFeatures, messages: clusterFeatures },
      { topic: topics.changelog, messages: changelog },
    ].filter((t) => t.messages.length > 0);
    const txn = await task.producer.transaction();
    try {
      // In requests small enough for the broker's 1 MiB record batches: a batch of input that
      // changes many senders writes far more than that to each output partition.
      const changelogEnd = await sendInTransaction(txn, topicMessages, {
        topic: topics.changelog,
        partition: p,
      });
      if (offsets.length > 0) {
        await txn.sendOffsets({
          consumerGroupId: config.groupId,
          topics: offsets.map(([topic, offset]) => ({
            topic,
            partitions: [{ partition: p, offset }],
          })),
        });
      }
      await txn.commit();
      if (task.keyRecordPending === keyRecord) task.keyRecordPending = undefined;
      // The last record's offset plus one, plus one more for the commit marker.
      if (changelogEnd !== undefined) task.changelogEnd = changelogEnd + 1;
      metrics.commits.inc();
      metrics.lateEvents.inc(task.processor.stats.lateEvents - lateBefore);
      metrics.promotedSenders.inc(task.processor.stats.promotedSenders - promotedBefore);
    } catch (err) {
      await txn.abort().catch(() => {});
      throw err;
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, heartbeat, isStale, isRunning, resolveOffset } = payload;
    if (!isRunning() || isStale()) return;
    await schemaCatalog.learnWriters(
      batch.messages.map((m) => m.value),
      { heartbeat },
    );
    const p = batch.partition;
    const task = await taskFor(p);
    // Stale: a rewind is pending (this batch was fetched before it), or the task was replaced.
    if (isStale() || tasks.get(p) !== task) return;
    const run = task.chain.then(async () => {
      if (isStale() || tasks.get(p) !== task) return false;
      let i = 0;
      // kafkajs hands over a batch fetched before the previous one was resolved, and after a
      // rebalance reads again from the committed offsets: skip what this task already applied.
      const next = BigInt(task.offsets.get(batch.topic) ?? '0');
      try {
        for (const m of batch.messages) {
          if (BigInt(m.offset) < next) continue;
          handle(task, batch.topic, m);
          task.uncommitted++;
          if (++i % 1_000 === 0) await heartbeat();
        }
      } catch (err) {
        // Not a bad record (those are dead-lettered) but a fault: part of the batch is applied,
        // so the state is ahead of its offsets. Restore it and read again from what it committed.
        await reopen(task, `batch failed: ${describeError(err).message}`);
        throw err;
      }
      const after = BigInt(batch.lastOffset()) + 1n;
      if (after > next) task.offsets.set(batch.topic, String(after));
      if (batch.messages.length > 0) {
        task.lastInputAt = now();
        task.lastWatermarkAtInput = task.processor.watermark;
        task.lastClusterWatermarkAtInput = task.clusters.watermark;
      }
      if (isStale()) {
        // Revoked mid-batch: this state is ahead of what was committed; the next owner restores.
        await dropTask(p, 'revoked during a batch');
        return false;
      }
      return true;
    });
    task.chain = run.catch(() => {});
    if (!(await run)) return;
    // The consumer moves on now; the offsets are committed by the transaction the schedule runs.
    resolveOffset(batch.lastOffset());
    task.schedule.request();
    // Bounds what a partition holds uncommitted when its transactions are slower than its input.
    if (task.uncommitted > config.maxUncommittedEvents) await task.schedule.idle();
    reportState();
  }

  /** p's commit failed: its state is ahead of what was committed, so restore it and read again. */
  async function commitFailed(task: Task, err: unknown): Promise<void> {
    // A task already dropped (revoked, shut down) fails its last commit as expected.
    if (tasks.get(task.partition) !== task) return;
    logger.error(
      { partition: task.partition, err: describeError(err) },
      'commit failed; restoring the partition',
    );
    await reopen(task, `commit failed: ${describeError(err).message}`);
  }

  async function reopen(task: Task, reason: string): Promise<void> {
    const p = task.partition;
    if (tasks.get(p) !== task) return;
    await dropTask(p, reason);
    if (assigned.has(p))
      taskFor(p, true).catch((e: unknown) =>
        logger.error({ partition: p, err: describeError(e) }, 'reopening the partition failed'),
      );
  }

  function reportState(): void {
    let light = 0;
    let all = 0;
    let bytes = 0;
    let books = 0;
    let clusters = 0;
    let previousOptOuts = 0;
    let rotating = 0;
    for (const t of tasks.values()) {
      const rotation = t.processor.rotation;
      if (rotation) {
        rotating++;
        previousOptOuts += rotation.previousOptOuts;
      }
      books += t.processor.relationBookCount;
      light += t.processor.lightSenderCount;
      all += t.processor.senderCount;
      bytes += t.processor.stateBytes + t.clusters.stateBytes;
      clusters += t.clusters.clusterCount;
    }
    metrics.senders.set({ tier: 'cheap' }, light);
    metrics.senders.set({ tier: 'full' }, all - light);
    metrics.stateBytes.set(bytes);
    metrics.relationBooks.set(books);
    metrics.clusters.set(clusters);
    metrics.previousKeyOptOuts.set(previousOptOuts);
    metrics.rotatingPartitions.set(rotating);
    metrics.eventTimeLag.reset();
    const t = now();
    for (const task of tasks.values()) {
      const watermark = task.processor.watermark;
      if (Number.isFinite(watermark))
        metrics.eventTimeLag.set({ partition: String(task.partition) }, Math.max(0, (t - watermark) / 1000));
    }
  }

  /**
   * Moves an idle partition's watermark with the wall clock, so its windows and minutes close.
   * Idle means read to the end of every input: time spent behind a backlog (after a restart, or
   * while the previous owner's transactions are fenced) is not idleness.
   */
  function idleTick(): void {
    const t = now();
    for (const task of tasks.values()) {
      if (!positions.caughtUp(task.partition) || t - task.lastInputAt < config.idleAdvanceMs) continue;
      const target = task.lastWatermarkAtInput + (t - task.lastInputAt);
      // Cluster events come from every partition, so their times can run ahead of this
      // partition's senders: their watermark moves on idle from where it stood, on its own.
      const clusterTarget = task.lastClusterWatermarkAtInput + (t - task.lastInputAt);
      if (target <= task.processor.watermark && clusterTarget <= task.clusters.watermark) continue;
      // After any batch in progress, whose events the target must not overtake.
      task.chain = task.chain
        .then(() => {
          if (tasks.get(task.partition) !== task || !assigned.has(task.partition)) return;
          task.processor.advanceWatermark(target);
          task.clusters.advanceWatermark(clusterTarget);
          task.schedule.request();
        })
        // A chain left rejected would fail every later batch of the partition.
        .catch((err: unknown) => reopen(task, `idle advance failed: ${describeError(err).message}`));
    }
  }

  return {
    isReady: () => joined && opening.size === 0 && [...assigned].every((p) => tasks.has(p)),
    ownedPartitions: () => [...tasks.keys()].sort((a, b) => a - b),
    async start() {
      // Before any partition's producer exists: a reader of an older release must find the
      // schema of every record the engine writes on the schema topic, and registerSchemas
      // returns only once its in-sync replicas have them (acks=all).
      await registerSchemas(kafka, {
        topic: topics.schemas,
        schemas: schemaRegistrations({ records: FEATURE_ENGINE_WRITES }),
        logger,
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        copartition.rememberAssignment(payload.memberAssignment);
        const mine = new Set<number>();
        for (const partitions of Object.values(payload.memberAssignment))
          for (const p of partitions) mine.add(p);
        assigned = mine;
        logger.info({ partitions: [...mine].sort((a, b) => a - b) }, 'partitions assigned');
        for (const p of [...tasks.keys()]) {
          if (!mine.has(p)) void dropTask(p, 'no longer assigned');
        }
        // A partition that came back: keep its state only if nobody wrote its changelog meanwhile.
        // Checked in the task's chain, after any commit of its own still in flight, which would
        // otherwise look like someone else's write.
        for (const t of [...tasks.values()].filter((x) => mine.has(x.partition))) {
          t.chain = t.chain
            .then(async () => {
              await t.schedule.idle();
              if (tasks.get(t.partition) !== t) return;
              if ((await partitionEnd(kafka, topics.changelog, t.partition)) !== t.changelogEnd) {
                await dropTask(t.partition, 'changelog moved on while away');
                // Reopened now, not at its next input: /readyz waits for it, its windows close.
                if (assigned.has(t.partition))
                  taskFor(t.partition).catch((err: unknown) =>
                    logger.error(
                      { partition: t.partition, err: describeError(err) },
                      'reopening the partition failed',
                    ),
                  );
              }
            })
            .catch((err: unknown) => logger.error({ err: describeError(err) }, 'changelog end check failed'));
        }
        // Open (fence and restore) every assigned partition now, not at its first input: an idle
        // partition's windows must still close, and /readyz waits for the restores.
        for (const p of mine)
          if (!tasks.has(p))
            taskFor(p).catch((err: unknown) =>
              logger.error({ partition: p, err: describeError(err) }, 'opening the partition failed'),
            );
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        // kafkajs gave up on this consumer; a process that no longer consumes must not look alive.
        logger.fatal({ err: describeError(payload.error) }, 'consumer crashed and will not restart; exiting');
        void deps.lifecycle.shutdown('consumer crash').then(() => process.exit(1));
      });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.messages, fromBeginning: true });
      await consumer.subscribe({ topic: topics.feedback, fromBeginning: true });
      await consumer.subscribe({ topic: topics.byRecipient, fromBeginning: true });
      await consumer.subscribe({ topic: topics.byCluster, fromBeginning: true });
      // Idleness is timed from when a partition was read to its end.
      followPositions(consumer, positions, (p) => {
        const task = tasks.get(p);
        if (!task) return;
        task.lastInputAt = now();
        task.lastWatermarkAtInput = task.processor.watermark;
        task.lastClusterWatermarkAtInput = task.clusters.watermark;
      });
      const timer = setInterval(idleTick, Math.max(100, Math.min(1_000, config.idleAdvanceMs)));
      timer.unref();
      deps.lifecycle.onShutdown('feature engine', async () => {
        clearInterval(timer);
        // Stops fetching and waits for the running batch, then commits what every partition holds.
        await consumer.disconnect();
        await Promise.all([...tasks.values()].map((t) => t.chain.then(() => t.schedule.flush())));
        for (const p of [...tasks.keys()]) await dropTask(p, 'shutdown');
      });
      // Batches of different partitions run concurrently; each task's chain keeps its own
      // partition's batches (of every input) in order. Transactions run beside them (schedule).
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.concurrency,
        eachBatch,
      });
    },
  };
}
