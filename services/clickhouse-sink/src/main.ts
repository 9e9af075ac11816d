// The ClickHouse sink as a process: configuration from the environment, wiring, signals.
import { createServiceContext, runMain } from '@spamgate/core';
import { clickHouseSinkSettings } from './config.ts';
import { createSinkMetrics } from './metrics.ts';
import { type ClickHouseSink, createClickHouseSink } from './sink.ts';

runMain(async () => {
  const ctx = createServiceContext('clickhouse-sink', clickHouseSinkSettings, process.env);
  ctx.lifecycle.installSignalHandlers();
  // Registered before the endpoint listens: with no check yet, /readyz would say ready while
  // the sink is still connecting.
  let sink: ClickHouseSink | undefined;
  ctx.ops.addReadinessCheck('sink', () => sink?.readiness() ?? 'connecting to Kafka and ClickHouse');
  await ctx.ops.listen();
  const kafka = await ctx.connectKafka(ctx.config.groupId);
  const clickhouse = await ctx.connectClickHouse();
  sink = createClickHouseSink({
    kafka,
    clickhouse,
    logger: ctx.logger,
    registry: ctx.registry,
    metrics: createSinkMetrics(ctx.registry),
    config: ctx.config,
    // A consumer kafkajs will not restart reads nothing more: exit, so that the process is restarted.
    onFatal: () => void ctx.lifecycle.shutdown('the consumer stopped').then(() => process.exit(1)),
  });
  const running = sink;
  ctx.lifecycle.onShutdown('clickhouse sink', () => running.stop());
  await sink.start();
});
