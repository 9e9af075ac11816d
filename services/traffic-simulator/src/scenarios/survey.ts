/**
 * A one-question survey: a clinic texts the patients who visited it last week "How was your
 * visit? Reply 1-5" from a few ordinary long codes, unregistered, at the steady pace of a small
 * texting tool. The recipients are its patients, but they have never texted these numbers. Many
 * answer with a digit or a few words and get a thank-you; a few text STOP (confirmed once, never
 * texted again); almost nobody reports it.
 */
import { param } from '../params.ts';
import { answersPerMessage, carrierOf, type OutcomeRates, respond } from '../responses.ts';
import { defineKind } from './kind.ts';

const CLINIC = 'Riverside Family Clinic';
const ANSWERS = [
  '5',
  '5',
  '5',
  '4',
  '4',
  '5!',
  '3',
  '2',
  '1',
  '5 great staff',
  '4, long wait though',
  '5 thank you',
  'Five',
  '10',
  '3 the wait was long',
  'Dr was great. 5',
  'who is this?',
] as const;

export const survey = defineKind({
  kind: 'survey',
  summary: "A clinic's one-question survey to its patients from a few unregistered numbers",
  params: {
    senders: param.number(4, 'numbers the survey goes out from (the rate split between them)', {
      min: 1,
      max: 1000,
      integer: true,
    }),
    replyRate: param.probability(0.25, 'share of patients who answer (a digit or a few words)'),
    optOutRate: param.probability(0.01, 'share of patients who text STOP'),
    deliveryFailureRate: param.probability(0.03, 'share of patients whose number fails (changed numbers)'),
    spamReportRate: param.probability(0.0005, 'share of patients who report the survey as spam'),
  },
  truth: () => ({
    title: "A clinic's one-question survey from a few unregistered numbers",
    spam: false,
    // Wanted, but an organisation texting its patients from unregistered long codes is not
    // consumer traffic (CTIA): consumer limits may throttle it; blocking it is a false positive.
    expect: { neverBlock: true, throttleAcceptable: true, actionRequired: 'NONE', blockWithinMs: null },
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates: OutcomeRates = {
      deliveryFailureRate: p.deliveryFailureRate,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: p.spamReportRate,
    };
    // Every answer gets one text back: the thank-you or the opt-out confirmation.
    const outbound = ratePerSecond / (1 + 2 * answersPerMessage(rates));
    const numbers = pool.allocate(`${id} numbers`, p.senders, 'local');
    const patients = pool.allocate(
      `${id} patients`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 50,
      'local',
    );
    let next = 0;
    const send = (sender: string, recipient: string, body: string) =>
      sim.message(id, {
        sender,
        senderKind: 'LONG_CODE',
        recipient,
        body,
        campaignId: null,
        originNetwork: carrierOf(sender),
      });
    const ask = (sender: string) => {
      const recipient = patients.at(next++);
      const messageId = send(
        sender,
        recipient,
        `${CLINIC}: Hi ${text.firstName()}, thank you for visiting us on ${text.date(-7, -1)}. How was your ` +
          'visit? Reply with a number from 1 (poor) to 5 (excellent). Reply STOP to opt out.',
      );
      respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
        replyText: () => rng.pick(ANSWERS),
        onReply: (answer) =>
          sim.after(rng.uniform(2, 10) * 1000, () =>
            send(
              sender,
              recipient,
              /^[12]\b/.test(answer)
                ? "Thank you. We're sorry your visit fell short: our practice manager will call you this week."
                : 'Thank you for your feedback!',
            ),
          ),
        onOptOut: () =>
          sim.after(rng.uniform(2, 10) * 1000, () =>
            send(
              sender,
              recipient,
              `You are unsubscribed from ${CLINIC} surveys. Reply START to resubscribe.`,
            ),
          ),
      });
    };
    const gapMs = (1000 * p.senders) / Math.max(outbound, 1e-9);
    return {
      plannedSenders: p.senders,
      start() {
        for (let k = 0; k < p.senders; k++) {
          const sender = numbers.at(k);
          // A sending tool's queue: gaps within +-20% of the mean.
          const tick = () => {
            ask(sender);
            sim.after(gapMs * rng.uniform(0.8, 1.2), tick);
          };
          sim.at(sim.now + rng.uniform(0, gapMs), tick);
        }
      },
    };
  },
});
