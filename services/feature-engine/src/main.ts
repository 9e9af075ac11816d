// The feature engine as a process: configuration from the environment, wiring, signals.
import { Counter, createServiceContext, Gauge, Histogram, runMain } from '@spamgate/core';
import { featureEngineSettings } from './config.ts';
import { createFeatureEngine } from './engine/feature-engine.ts';

runMain(async () => {
  const ctx = createServiceContext('feature-engine', featureEngineSettings, process.env);
  ctx.lifecycle.installSignalHandlers();
  // Registered before the endpoint listens: with no check yet, /readyz would say ready while
  // the engine is still connecting.
  let engine: ReturnType<typeof createFeatureEngine> | undefined;
  ctx.ops.addReadinessCheck('partitions', () => engine?.isReady() || 'joining the group or restoring state');
  await ctx.ops.listen();
  const kafka = await ctx.connectKafka(ctx.config.groupId);
  const registers = [ctx.registry];
  engine = createFeatureEngine({
    kafka,
    logger: ctx.logger,
    registry: ctx.registry,
    lifecycle: ctx.lifecycle,
    config: ctx.config,
    metrics: {
      events: new Counter({
        name: 'spamgate_feature_engine_events_total',
        help: 'Input events applied.',
        labelNames: ['topic'],
        registers,
      }),
      deadLetters: new Counter({
        name: 'spamgate_feature_engine_dead_letters_total',
        help: 'Input records sent to the dead-letter topic.',
        labelNames: ['code'],
        registers,
      }),
      lateEvents: new Counter({
        name: 'spamgate_feature_engine_late_events_total',
        help: 'Events older than the watermark (counted in the late column, not dropped).',
        registers,
      }),
      commits: new Counter({
        name: 'spamgate_feature_engine_transactions_total',
        help: 'Committed transactions.',
        registers,
      }),
      restoreSeconds: new Histogram({
        name: 'spamgate_feature_engine_restore_duration_seconds',
        help: 'Time to restore partitions from the changelog.',
        buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60],
        registers,
      }),
      ownedPartitions: new Gauge({
        name: 'spamgate_feature_engine_partitions',
        help: 'Input partitions owned.',
        registers,
      }),
      senders: new Gauge({
        name: 'spamgate_feature_engine_senders',
        help: 'Senders held in memory, by tier (cheap: packed events; full: windows and sketches).',
        labelNames: ['tier'],
        registers,
      }),
      stateBytes: new Gauge({
        name: 'spamgate_feature_engine_state_bytes',
        help: 'Estimated heap bytes of sender state, against SPAMGATE_STATE_BUDGET_MB.',
        registers,
      }),
      promotedSenders: new Counter({
        name: 'spamgate_feature_engine_promoted_senders_total',
        help: 'Senders moved from the cheap tier to full state.',
        registers,
      }),
      shedSenders: new Counter({
        name: 'spamgate_feature_engine_shed_senders_total',
        help: 'Senders whose detail was shed to stay within the memory budget.',
        registers,
      }),
      shedRelationBooks: new Counter({
        name: 'spamgate_feature_engine_shed_relation_books_total',
        help: 'Relation books (replies, contacts, opt-outs of an address) dropped to stay within the memory budget.',
        registers,
      }),
      clusters: new Gauge({
        name: 'spamgate_feature_engine_clusters',
        help: 'Content clusters (one template across senders) held by this instance.',
        registers,
      }),
      relationBooks: new Gauge({
        name: 'spamgate_feature_engine_relation_books',
        help: 'Addresses with a relation book (who they message, who answers, who opted out) held by this instance.',
        registers,
      }),
      previousKeyOptOuts: new Gauge({
        name: 'spamgate_feature_engine_previous_key_opt_outs',
        help: 'During a hash-key rotation: opt-outs still under the previous key in partitions of this instance. The rotation ends when it is 0 (docs/key-rotation.md).',
        registers,
      }),
      eventTimeLag: new Gauge({
        name: 'spamgate_feature_engine_event_time_lag_seconds',
        help: "Now minus the partition's watermark (newest event time − allowed lateness), per owned partition: how far behind event time the engine runs.",
        labelNames: ['partition'],
        registers,
      }),
      rotatingPartitions: new Gauge({
        name: 'spamgate_feature_engine_rotating_partitions',
        help: 'Partitions of this instance in a hash-key rotation: SPAMGATE_PREVIOUS_HASH_KEY must stay set while any is.',
        registers,
      }),
    },
  });
  await engine.start();
  ctx.logger.info('feature engine running');
});
