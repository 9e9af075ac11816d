/**
 * The simulator: generated traffic produced to Kafka, paced by the wall clock (event time =
 * now, so the pipeline's windows see live traffic) or as fast as possible with synthetic event
 * times, and the labels of what was sent written beside it, while it runs and at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createLogger,
  type Logger,
  MAX_REQUEST_BYTES,
  requestsOf,
  SpamgateError,
  topicName,
} from '@spamgate/core';
import { createCodec } from '@spamgate/schemas';
import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import { createLabelTracker, writeLabels } from './label-tracker.ts';
import type { Labels } from './labels.ts';
import { createLedgerWriter, type LedgerWriter } from './ledger.ts';
import type { ScenarioFile } from './scenario-file.ts';
import type { SimEvent, SimMessage } from './simulation.ts';
import { generateTraffic, planTraffic, SimulatorOptionsError, type TrafficOptions } from './traffic.ts';

export interface SimulatorOptions {
  /** The Kafka client to produce with (the simulator makes and closes its own producer). */
  readonly kafka: Kafka;
  readonly scenarios: ScenarioFile;
  /** Integer 0 to 2^32 - 1: the same seed, scenarios, rate, duration and start time give the same events. */
  readonly seed: number;
  /** MessageEvents per second, all scenarios together. */
  readonly ratePerSecond: number;
  /** Length of the run in event time, ms. */
  readonly durationMs: number;
  /** Prefix of the topic names (SPAMGATE_TOPIC_PREFIX); default ''. */
  readonly topicPrefix?: string;
  /** Where to write the labels JSON; none written when unset. */
  readonly labelsPath?: string;
  /** How often the labels file is rewritten while the run goes on, ms of wall time; default 10 000. */
  readonly labelsIntervalMs?: number;
  /**
   * Send without waiting for the wall clock; event times stay synthetic, from startTime.
   * Default false: each event is sent when the clock reaches its event time.
   */
  readonly asFastAsPossible?: boolean;
  /** Event time of the run's start, ms since the epoch; default the clock's now. */
  readonly startTime?: number;
  /** Stops the run: what was sent stays sent, the labels say exactly that. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Wall clock, ms since the epoch; default Date.now. */
  readonly clock?: () => number;
  /** Most events in one produce call; default 2 000. */
  readonly maxBatch?: number;
  /** Where to write the message ledger (ledger.ts), for the report's enforcement replay; none when unset. */
  readonly ledgerPath?: string;
  /** The pipeline's SPAMGATE_HASH_KEY, so the ledger carries what a firewall matches in each message. */
  readonly hashKey?: string;
}

/** The topics the simulator writes, under `prefix`. */
export function simulatorTopics(prefix: string): { readonly messages: string; readonly feedback: string } {
  return {
    messages: topicName(prefix, 'sms.message-events'),
    feedback: topicName(prefix, 'sms.feedback-events'),
  };
}

async function requireTopics(kafka: Kafka, topics: readonly string[], prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      const env = prefix === '' ? '' : `SPAMGATE_TOPIC_PREFIX=${prefix} `;
      throw new SpamgateError(
        `topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing: run \`${env}npm run topics\` first`,
        { code: 'TOPIC_MISSING' },
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs the simulator until the duration is over or `signal` aborts; resolves to the labels of
 * what was sent (also written to labelsPath, if given).
 */
export async function runSimulator(options: SimulatorOptions): Promise<Labels> {
  const clock = options.clock ?? Date.now;
  const logger =
    options.logger ??
    createLogger({ service: 'traffic-simulator', instanceId: String(process.pid), level: 'warn' });
  const prefix = options.topicPrefix ?? '';
  const labelsIntervalMs = options.labelsIntervalMs ?? 10_000;
  const maxBatch = options.maxBatch ?? 2_000;
  const problems: string[] = [];
  if (!(labelsIntervalMs > 0)) problems.push(`labels interval: got ${labelsIntervalMs}, expected ms above 0`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    problems.push(`max batch: got ${maxBatch}, expected an integer >= 1`);
  if (problems.length > 0) throw new SimulatorOptionsError(problems);
  const traffic: TrafficOptions = {
    scenarios: options.scenarios,
    seed: options.seed,
    ratePerSecond: options.ratePerSecond,
    durationMs: options.durationMs,
    startTime: options.startTime ?? clock(),
  };
  const plan = planTraffic(traffic); // throws on bad options before anything connects
  const topics = simulatorTopics(prefix);
  const tracker = createLabelTracker({
    seed: traffic.seed,
    ratePerSecond: traffic.ratePerSecond,
    topicPrefix: prefix,
    startTime: traffic.startTime,
    scenarios: plan,
  });
  const saveLabels = async () => {
    if (options.labelsPath) await writeLabels(options.labelsPath, tracker.labels());
  };

  await requireTopics(options.kafka, [topics.messages, topics.feedback], prefix);
  const producer: Producer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const ledger: LedgerWriter | undefined = options.ledgerPath
    ? createLedgerWriter(options.ledgerPath, options.hashKey)
    : undefined;
  const codec = createCodec();
  const signal = options.signal;
  let sentMessages = 0;
  let sentFeedback = 0;

  const send = async (batch: readonly SimEvent[]) => {
    const messages: Message[] = [];
    const feedback: Message[] = [];
    for (const e of batch) {
      if (e.type === 'message') {
        messages.push({ key: e.value.sender, value: codec.encode('MessageEvent', e.value) });
      } else feedback.push({ key: e.value.sender, value: codec.encode('FeedbackEvent', e.value) });
    }
    const topicMessages = [
      { topic: topics.messages, messages },
      { topic: topics.feedback, messages: feedback },
    ].filter((t) => t.messages.length > 0);
    const sentAt = clock();
    for (const request of requestsOf(topicMessages, MAX_REQUEST_BYTES)) {
      await producer.sendBatch({ topicMessages: request, acks: -1 });
    }
    ledger?.write(
      batch.filter((e): e is SimMessage => e.type === 'message'),
      sentAt,
    );
    for (const e of batch) tracker.record(e);
    sentMessages += messages.length;
    sentFeedback += feedback.length;
  };

  logger.info(
    {
      topics,
      seed: traffic.seed,
      rate: traffic.ratePerSecond,
      durationMs: traffic.durationMs,
      startTime: traffic.startTime,
    },
    'simulator starting',
  );
  let failed = false;
  try {
    await saveLabels();
    let lastSave = clock();
    let lastProgress = clock();
    const events = generateTraffic(traffic);
    let next = events.next();
    while (!next.done && !signal?.aborted) {
      const now = clock();
      const batch: SimEvent[] = [];
      while (
        !next.done &&
        batch.length < maxBatch &&
        (options.asFastAsPossible || next.value.value.eventTime <= now)
      ) {
        batch.push(next.value);
        next = events.next();
      }
      if (batch.length > 0) await send(batch);
      else if (!next.done) {
        await sleep(Math.min(next.value.value.eventTime - now, 100), undefined, { signal }).catch(() => {});
      }
      if (clock() - lastSave >= labelsIntervalMs) {
        await saveLabels();
        lastSave = clock();
      }
      if (clock() - lastProgress >= 10_000) {
        lastProgress = clock();
        logger.info({ messages: sentMessages, feedback: sentFeedback }, 'simulator progress');
      }
    }
    if (next.done && !options.asFastAsPossible) {
      // The run lasts its duration even when its last event comes earlier.
      const end = traffic.startTime + traffic.durationMs;
      if (clock() < end) await sleep(end - clock(), undefined, { signal }).catch(() => {});
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    try {
      await saveLabels();
      await ledger?.close();
    } finally {
      await producer.disconnect();
      logger.info(
        { messages: sentMessages, feedback: sentFeedback, aborted: signal?.aborted ?? false, failed },
        'simulator stopped',
      );
    }
  }
  return tracker.labels();
}
