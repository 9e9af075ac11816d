/**
 * What recipients do with a message: it fails to deliver (the network reports it within
 * seconds), or the person reads it (most within a minute or two, some hours later) and may
 * reply, text STOP, forward it to 7726 (a spam report) or block the sender. Each scenario sets
 * the rates; the timing model is shared. Answers are MessageEvents from the recipient back to
 * the sender; reports, blocks and failures are FeedbackEvents about the sender.
 */
import type { Random } from './random.ts';
import { hashString } from './random.ts';
import type { Simulation } from './simulation.ts';

/** Scenario id in the labels of the people who answer other scenarios' senders. */
export const ANSWERING_LABEL = 'answering-recipients';

const SECOND = 1000;

export interface OutcomeRates {
  /** Share of messages the network fails to deliver (invalid, unassigned or unreachable numbers). */
  readonly deliveryFailureRate: number;
  /** Share of delivered messages the recipient answers with a message (not an opt-out). */
  readonly replyRate: number;
  /** Share of delivered messages the recipient answers with STOP (or another opt-out keyword). */
  readonly optOutRate: number;
  /** Share of delivered messages the recipient forwards to 7726. */
  readonly spamReportRate: number;
  /** Share of delivered messages after which the recipient blocks the sender. */
  readonly subscriberBlockRate: number;
}

/** A scenario's outcome rates, from its parameters of the same names. */
export function outcomeRatesOf(p: OutcomeRates): OutcomeRates {
  return {
    deliveryFailureRate: p.deliveryFailureRate,
    replyRate: p.replyRate,
    optOutRate: p.optOutRate,
    spamReportRate: p.spamReportRate,
    subscriberBlockRate: p.subscriberBlockRate,
  };
}

/** Opt-out requests as people type them; every one is an opt-out by the feature engine's rule. */
const STOP_TEXTS = [
  'STOP',
  'STOP',
  'STOP',
  'Stop',
  'Stop',
  'stop',
  'STOP!',
  'Stop please',
  'stop texting me',
  'UNSUBSCRIBE',
  'Stop.',
  'STOP ALL',
  'Quit',
  'cancel',
] as const;

export function stopText(rng: Random): string {
  return rng.pick(STOP_TEXTS);
}

const CARRIERS = ['carrier-a', 'carrier-b', 'carrier-c', 'carrier-d'] as const;

/** The (fictional) home network of a subscriber number: stable per number. */
export function carrierOf(address: string): string {
  return CARRIERS[hashString(address) % CARRIERS.length]!;
}

/**
 * How long until a person reads a text, in ms. Most people read texts within minutes; some
 * only hours later (asleep, busy). `engaged`: they are in the middle of a thread and look
 * at the phone within seconds.
 */
export function readDelay(rng: Random, engaged = false): number {
  if (engaged) return rng.logNormal(8 * SECOND, 0.8);
  return rng.chance(0.85) ? rng.logNormal(40 * SECOND, 1) : rng.logNormal(90 * 60 * SECOND, 0.7);
}

/** How long typing a reply takes, in ms. */
export function composeDelay(rng: Random): number {
  return rng.logNormal(12 * SECOND, 0.7);
}

/** A message of a scenario's sender, as delivered to one recipient. */
export interface Delivered {
  readonly label: string;
  readonly sender: string;
  readonly recipient: string;
  readonly messageId: string;
}

export interface AnswerHooks {
  /** The text of a reply (not an opt-out). */
  replyText(): string;
  /** Runs right after the recipient's reply was emitted (in its action), e.g. to answer it. */
  onReply?(text: string): void;
  /** Runs right after the recipient's opt-out was emitted. */
  onOptOut?(): void;
  /** The recipient is in a thread with the sender and reads within seconds. */
  readonly engaged?: boolean;
}

/** Emits a recipient's answer (a MessageEvent back to the sender) now. */
export function answer(sim: Simulation, to: Delivered, body: string): void {
  sim.message(ANSWERING_LABEL, {
    sender: to.recipient,
    senderKind: 'LONG_CODE',
    recipient: to.sender,
    body,
    campaignId: null,
    originNetwork: carrierOf(to.recipient),
  });
}

/** Schedules what the recipient of `msg` does about it, per `rates`. */
export function respond(
  sim: Simulation,
  rng: Random,
  msg: Delivered,
  rates: OutcomeRates,
  hooks: AnswerHooks,
): void {
  if (rng.chance(rates.deliveryFailureRate)) {
    const errorCode = rng.chance(0.75) ? '1' : rng.chance(0.7) ? '27' : '34';
    sim.after(rng.logNormal(4 * SECOND, 0.6), () =>
      sim.feedback(msg.label, {
        kind: 'DELIVERY_FAILURE',
        sender: msg.sender,
        recipient: msg.recipient,
        messageId: msg.messageId,
        errorCode,
      }),
    );
    return;
  }
  const read = readDelay(rng, hooks.engaged);
  const u = rng.next();
  if (u < rates.optOutRate) {
    sim.after(read + rng.uniform(2, 6) * SECOND, () => {
      answer(sim, msg, stopText(rng));
      hooks.onOptOut?.();
    });
  } else if (u < rates.optOutRate + rates.replyRate) {
    sim.after(read + composeDelay(rng), () => {
      const text = hooks.replyText();
      answer(sim, msg, text);
      hooks.onReply?.(text);
    });
  }
  if (rng.chance(rates.spamReportRate)) {
    sim.after(read + rng.logNormal(25 * SECOND, 0.5), () =>
      sim.feedback(msg.label, {
        kind: 'SPAM_REPORT',
        sender: msg.sender,
        recipient: msg.recipient,
        messageId: msg.messageId,
        errorCode: null,
      }),
    );
  }
  if (rng.chance(rates.subscriberBlockRate)) {
    sim.after(read + rng.logNormal(8 * SECOND, 0.5), () =>
      sim.feedback(msg.label, {
        kind: 'SUBSCRIBER_BLOCK',
        sender: msg.sender,
        recipient: msg.recipient,
        messageId: msg.messageId,
        errorCode: null,
      }),
    );
  }
}

/** Expected answer messages (replies and opt-outs) per message sent, before the run's end cuts some off. */
export function answersPerMessage(rates: OutcomeRates): number {
  return (1 - rates.deliveryFailureRate) * (rates.replyRate + rates.optOutRate);
}
