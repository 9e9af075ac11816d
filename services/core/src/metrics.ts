/**
 * One Prometheus registry per service (never the global one), with prom-client's default process
 * and Node.js metrics under their standard names (so off-the-shelf dashboards find them), and
 * kafkajs instrumentation events mapped to metrics in one place.
 */
import type { Consumer } from 'kafkajs';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every series carries `service`; the instance id is on `spamgate_service_info` alone, so that it
 * never clashes with the `instance` label Prometheus adds to every scraped series.
 */
export function createMetricsRegistry(labels: { service: string; instance: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: labels.service });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'spamgate_service_info',
    help: 'Always 1: which spamgate service and instance (SPAMGATE_INSTANCE_ID) serves these metrics.',
    labelNames: ['instance_id'],
    registers: [registry],
  }).set({ instance_id: labels.instance }, 1);
  return registry;
}

/** Subscribes to a kafkajs consumer's instrumentation events; returns a function that unsubscribes. */
export function instrumentConsumer(consumer: Consumer, registry: Registry, groupId: string): () => void {
  const batches = new Counter({
    name: 'spamgate_consumer_batches_total',
    help: 'Batches processed by the consumer.',
    labelNames: ['group', 'topic'],
    registers: [registry],
  });
  const records = new Counter({
    name: 'spamgate_consumer_records_total',
    help: 'Records processed by the consumer.',
    labelNames: ['group', 'topic'],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'spamgate_consumer_batch_duration_seconds',
    help: 'Time spent processing one batch.',
    labelNames: ['group', 'topic'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'spamgate_consumer_lag_records',
    help: 'Records between the last processed offset and the high watermark, per partition.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
  });
  const rebalances = new Counter({
    name: 'spamgate_consumer_rebalances_total',
    help: 'Group rebalances this consumer took part in.',
    labelNames: ['group'],
    registers: [registry],
  });
  const crashes = new Counter({
    name: 'spamgate_consumer_crashes_total',
    help: 'Consumer crashes reported by kafkajs (restarted or not).',
    labelNames: ['group', 'retriable'],
    registers: [registry],
  });
  const { END_BATCH_PROCESS, REBALANCING, CRASH } = consumer.events;
  const off = [
    consumer.on(END_BATCH_PROCESS, ({ payload }) => {
      const labels = { group: groupId, topic: payload.topic };
      batches.inc(labels);
      records.inc(labels, payload.batchSize);
      batchSeconds.observe(labels, payload.duration / 1000);
      lag.set({ ...labels, partition: String(payload.partition) }, Math.max(0, Number(payload.offsetLag)));
    }),
    consumer.on(REBALANCING, () => rebalances.inc({ group: groupId })),
    consumer.on(CRASH, ({ payload }) => crashes.inc({ group: groupId, retriable: String(payload.restart) })),
  ];
  return () => {
    for (const remove of off) remove();
  };
}
