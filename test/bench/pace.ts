/**
 * Live traffic for the latency and end-to-end parts of the comparison bench: the traffic
 * simulator's events (generateTraffic, seeded) sent as their event time comes, each message's
 * send time kept so that an output can be matched back to the messages it covers.
 */
import { type Codec, createCodec } from '@spamgate/schemas';
import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';
import {
  generateTraffic,
  type ScenarioFile,
  type SimEvent,
} from '../../services/traffic-simulator/src/index.ts';
import { quantile, sleep } from '../src/bench-support.ts';

export interface PacedOptions {
  readonly kafka: Kafka;
  readonly messagesTopic: string;
  readonly feedbackTopic: string;
  readonly scenarios: ScenarioFile;
  readonly seed: number;
  /** MessageEvents per second (feedback and answers come on top, as the simulator makes them). */
  readonly messagesPerSecond: number;
  readonly seconds: number;
  /** Messages with an event time before start + warmupMs are sent but not measured. */
  readonly warmupMs: number;
  readonly matcher: CoverMatcher;
  readonly signal?: AbortSignal;
}

export interface PacedResult {
  readonly messages: number;
  readonly feedback: number;
  readonly measured: number;
  /** Wall time the first event was sent and the last one acknowledged, ms. */
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * Sends the simulator's events of `seconds` at the given rate (acks=all, idempotent, the Java
 * client's default partitioner: murmur2 of the key, as the simulator and a Java SMSC feed do).
 */
export async function producePaced(o: PacedOptions): Promise<PacedResult> {
  const codec: Codec = createCodec();
  const producer: Producer = o.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const startTime = Date.now();
  const warmEnd = startTime + o.warmupMs;
  const events = generateTraffic({
    scenarios: o.scenarios,
    seed: o.seed,
    ratePerSecond: o.messagesPerSecond,
    durationMs: Math.round(o.seconds * 1000),
    startTime,
  });
  let messages = 0;
  let feedback = 0;
  let measured = 0;
  try {
    let next = events.next();
    while (!next.done && !o.signal?.aborted) {
      const now = Date.now();
      const batch: SimEvent[] = [];
      while (!next.done && batch.length < 2_000 && next.value.value.eventTime <= now) {
        batch.push(next.value);
        next = events.next();
      }
      if (batch.length === 0) {
        if (!next.done) await sleep(Math.max(1, Math.min(next.value.value.eventTime - now, 20)));
        continue;
      }
      const m: Message[] = [];
      const f: Message[] = [];
      const sendAt = Date.now();
      for (const e of batch) {
        if (e.type === 'message') {
          m.push({ key: e.value.sender, value: codec.encode('MessageEvent', e.value) });
          const counted = e.value.eventTime >= warmEnd;
          if (counted) measured++;
          o.matcher.sent(e.value.sender, e.value.eventTime, sendAt, counted);
        } else f.push({ key: e.value.sender, value: codec.encode('FeedbackEvent', e.value) });
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: o.messagesTopic, messages: m },
          { topic: o.feedbackTopic, messages: f },
        ].filter((t) => t.messages.length > 0),
      });
      messages += m.length;
      feedback += f.length;
    }
  } finally {
    await producer.disconnect();
  }
  return { messages, feedback, measured, startedAt: startTime, endedAt: Date.now() };
}

interface Pending {
  readonly eventTime: number;
  readonly sentAt: number;
  readonly counted: boolean;
}

/**
 * Matches outputs to the messages they cover: an output about sender s that is based on event
 * time t (asOf, lastEventTime, basedOnEventTime) covers every message of s sent with an event
 * time up to t; a message's latency is from just before its send to the first covering output's
 * receipt by the bench's read_committed consumer.
 */
export interface CoverMatcher {
  sent(sender: string, eventTime: number, sentAt: number, counted: boolean): void;
  covered(sender: string, basedOn: number, receivedAt: number): void;
  /** Latencies (ms) of counted messages covered so far, ascending. */
  latencies(): number[];
  /** Counted messages not covered yet. */
  open(): number;
}

export function coverMatcher(): CoverMatcher {
  const pending = new Map<string, Pending[]>();
  const done: number[] = [];
  let open = 0;
  return {
    sent(sender, eventTime, sentAt, counted) {
      let list = pending.get(sender);
      if (!list) {
        list = [];
        pending.set(sender, list);
      }
      list.push({ eventTime, sentAt, counted });
      if (counted) open++;
    },
    covered(sender, basedOn, receivedAt) {
      const list = pending.get(sender);
      if (!list) return;
      let k = 0;
      for (; k < list.length && list[k]!.eventTime <= basedOn; k++) {
        const p = list[k]!;
        if (!p.counted) continue;
        open--;
        done.push(Math.max(0, receivedAt - p.sentAt));
      }
      if (k === list.length) pending.delete(sender);
      else if (k > 0) list.splice(0, k);
    },
    latencies: () => done.toSorted((a, b) => a - b),
    open: () => open,
  };
}

/**
 * Pipeline latency of published decisions: from just before the send of the message a decision
 * rests on (the sender's message whose event time is the decision's basedOnEventTime) to the
 * decision's receipt. Unlike coverMatcher, it does not count how long the evidence took to build
 * up (earlier messages of a sender whose action changed later), only how long the pipeline took
 * to act on the message that tipped it. A decision resting on no sent message (a feedback event,
 * a window closing, a content cluster) is counted in `unmatched`.
 */
export interface TriggerMatcher {
  sent(sender: string, eventTime: number, sentAt: number, counted: boolean): void;
  /** A SenderFeatures record received: the first one as of a message's event time. */
  features(sender: string, asOf: number, receivedAt: number): void;
  covered(sender: string, basedOn: number, receivedAt: number): void;
  /** Message sent → decision received, ms, ascending. */
  latencies(): number[];
  /** Of those: message sent → its SenderFeatures received (the feature engine's part), ascending. */
  toFeatures(): number[];
  /** … and SenderFeatures received → decision received (the decision engine's part), ascending. */
  featuresToDecision(): number[];
  unmatched(): number;
}

export function triggerMatcher(): TriggerMatcher {
  const sentAt = new Map<string, { at: number; counted: boolean; done: boolean; featuresAt?: number }>();
  const done: number[] = [];
  const toFeatures: number[] = [];
  const featuresToDecision: number[] = [];
  let unmatched = 0;
  const ascending = (xs: number[]) => xs.toSorted((a, b) => a - b);
  return {
    sent(sender, eventTime, at, counted) {
      const key = `${sender}@${eventTime}`;
      // Two messages of a sender at one event time: the first send starts the clock.
      if (!sentAt.has(key)) sentAt.set(key, { at, counted, done: false });
    },
    features(sender, asOf, receivedAt) {
      const s = sentAt.get(`${sender}@${asOf}`);
      if (s && s.featuresAt === undefined) s.featuresAt = receivedAt;
    },
    covered(sender, basedOn, receivedAt) {
      const s = sentAt.get(`${sender}@${basedOn}`);
      if (!s) {
        unmatched++;
        return;
      }
      if (s.done || !s.counted) return;
      s.done = true;
      done.push(Math.max(0, receivedAt - s.at));
      if (s.featuresAt !== undefined) {
        toFeatures.push(Math.max(0, s.featuresAt - s.at));
        featuresToDecision.push(Math.max(0, receivedAt - s.featuresAt));
      }
    },
    latencies: () => ascending(done),
    toFeatures: () => ascending(toFeatures),
    featuresToDecision: () => ascending(featuresToDecision),
    unmatched: () => unmatched,
  };
}

export interface LatencySummary {
  readonly measured: number;
  readonly covered: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarise(matcher: Pick<CoverMatcher, 'latencies'>, measured: number): LatencySummary {
  const sorted = matcher.latencies();
  return {
    measured,
    covered: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}
