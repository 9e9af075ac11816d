// The decision engine as a process: configuration from the environment, policies and lists
// that reload when their files change, wiring, signals.
import { Counter, createServiceContext, describeError, Gauge, Histogram, runMain } from '@spamgate/core';
import { capOf, loadRegistrations, registrationsPath } from '@spamgate/schemas';
import { decisionEngineSettings, policyPath } from './config.ts';
import { createDecisionEngine, type DecisionEngine } from './engine.ts';
import { EMPTY_LIST, loadAddressList } from './lists.ts';
import { loadPolicy } from './policy.ts';
import { reloadable } from './reloadable.ts';

runMain(async () => {
  const ctx = createServiceContext('decision-engine', decisionEngineSettings, process.env);
  ctx.lifecycle.installSignalHandlers();
  const { config, logger } = ctx;
  const registers = [ctx.registry];
  const reloads = new Counter({
    name: 'spamgate_decision_engine_config_reloads_total',
    help: 'Policy and list files re-read after a change, by file and outcome (applied, or refused when invalid).',
    labelNames: ['file', 'outcome'],
    registers,
  });
  const policyVersion = new Gauge({
    name: 'spamgate_decision_engine_policy_info',
    help: 'Policy versions in use (1 per version and role).',
    labelNames: ['role', 'version'],
    registers,
  });
  let engine: DecisionEngine | undefined;
  const watch = <T>(file: string, path: string, load: (p: string) => T, applied: (v: T, prev: T) => void) =>
    reloadable({
      path,
      load,
      intervalMs: config.reloadIntervalMs,
      onChange: (v, prev) => {
        reloads.inc({ file, outcome: 'applied' });
        applied(v, prev);
      },
      onError: (err) => {
        reloads.inc({ file, outcome: 'refused' });
        logger.error(
          { file, path, err: describeError(err) },
          'changed file is invalid; keeping the one in use',
        );
      },
    });
  const policy = watch(
    'policy',
    policyPath(config),
    (p) => loadPolicy(p),
    (v, prev) => {
      policyVersion.set({ role: 'active', version: prev.version }, 0);
      policyVersion.set({ role: 'active', version: v.version }, 1);
      logger.info({ version: v.version, previous: prev.version }, 'policy reloaded');
    },
  );
  policyVersion.set({ role: 'active', version: policy.current().version }, 1);
  const shadow = config.shadowPolicyFile
    ? watch(
        'shadow-policy',
        config.shadowPolicyFile,
        (p) => loadPolicy(p, 'SPAMGATE_SHADOW_POLICY_FILE'),
        (v) => logger.info({ version: v.version }, 'shadow policy reloaded'),
      )
    : undefined;
  if (shadow) policyVersion.set({ role: 'shadow', version: shadow.current().version }, 1);
  const dno = config.doNotOriginateFile
    ? watch(
        'do-not-originate',
        config.doNotOriginateFile,
        (p) => loadAddressList(p, 'SPAMGATE_DNO_FILE'),
        (v, prev) => {
          const changed = new Set(v.difference(prev));
          logger.info({ addresses: v.size, changed: changed.size }, 'Do-Not-Originate list reloaded');
          engine?.reevaluate('LIST', changed);
        },
      )
    : undefined;
  const registrations = loadRegistrations(registrationsPath(config));
  logger.info(
    {
      policy: policy.current().version,
      shadowPolicy: shadow?.current().version ?? null,
      doNotOriginate: dno?.current().size ?? 0,
      registrations: registrations.version,
    },
    'policy, lists and registrations loaded',
  );
  ctx.ops.addReadinessCheck(
    'partitions',
    () => engine?.isReady() || 'loading overrides, joining the group or restoring state',
  );
  await ctx.ops.listen();
  const kafka = await ctx.connectKafka(ctx.config.groupId);
  engine = createDecisionEngine({
    kafka,
    logger,
    lifecycle: ctx.lifecycle,
    registry: ctx.registry,
    config,
    policy: policy.current,
    shadowPolicy: () => shadow?.current(),
    doNotOriginate: () => dno?.current() ?? EMPTY_LIST,
    capOf: (campaignId) => capOf(registrations, campaignId),
    metrics: {
      evaluations: new Counter({
        name: 'spamgate_decision_engine_evaluations_total',
        help: 'Policy evaluations, by action and whether by the shadow policy.',
        labelNames: ['action', 'shadow'],
        registers,
      }),
      published: new Counter({
        name: 'spamgate_decision_engine_decisions_published_total',
        help: 'Decisions published to sms.decisions (changes of what is enforced), by action.',
        labelNames: ['action'],
        registers,
      }),
      contentPublished: new Counter({
        name: 'spamgate_decision_engine_content_decisions_published_total',
        help: 'Content decisions published to sms.content-decisions (changes of what firewalls match), by action. MONITOR is a registered campaign an operator should review.',
        labelNames: ['action'],
        registers,
      }),
      deadLetters: new Counter({
        name: 'spamgate_decision_engine_dead_letters_total',
        help: 'Records sent to the dead-letter topic, by error code.',
        labelNames: ['code'],
        registers,
      }),
      commits: new Counter({
        name: 'spamgate_decision_engine_transactions_total',
        help: 'Committed transactions.',
        registers,
      }),
      latency: new Histogram({
        name: 'spamgate_decision_engine_latency_seconds',
        help: 'Stage latencies: evaluate (a batch of features received to evaluated and queued), publish (decisions handed to the producer to acknowledged), arrival_to_published (a batch received to its decisions acknowledged).',
        labelNames: ['stage'],
        buckets: [
          0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.075, 0.1, 0.15,
          0.25, 0.5, 1, 2.5,
        ],
        registers,
      }),
      ownedPartitions: new Gauge({
        name: 'spamgate_decision_engine_partitions',
        help: 'Partitions owned.',
        registers,
      }),
      senders: new Gauge({
        name: 'spamgate_decision_engine_senders',
        help: 'Senders held in memory.',
        registers,
      }),
      shedSenders: new Counter({
        name: 'spamgate_decision_engine_senders_shed_total',
        help: 'Senders forgotten to stay within SPAMGATE_DECISION_MAX_SENDERS.',
        registers,
      }),
      overrides: new Gauge({
        name: 'spamgate_decision_engine_overrides',
        help: 'Operator overrides held (sender, campaign and content overrides).',
        registers,
      }),
      clusters: new Gauge({
        name: 'spamgate_decision_engine_clusters',
        help: 'Content clusters held.',
        registers,
      }),
      eventTimeLag: new Gauge({
        name: 'spamgate_decision_engine_event_time_lag_seconds',
        help: "Now minus the partition's clock (the newest features' time, moved with the wall clock while idle), per owned partition.",
        labelNames: ['partition'],
        registers,
      }),
    },
  });
  ctx.lifecycle.onShutdown('config watchers', async () => {
    policy.stop();
    shadow?.stop();
    dno?.stop();
  });
  await engine.start();
  logger.info('decision engine running');
});
