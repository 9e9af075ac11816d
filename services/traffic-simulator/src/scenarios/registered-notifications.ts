/**
 * A registered 10DLC business sending notifications: a dental group's appointment reminders
 * from a few long codes under one campaign id, each number draining its queue at a steady rate
 * within the campaign's registered throughput. Customers confirm ("C"), a few reschedule or
 * text STOP; the platform acknowledges a confirmation and sends the one opt-out confirmation
 * the CTIA guidelines ask for, and never texts that customer again.
 */
import { param } from '../params.ts';
import { answersPerMessage, respond } from '../responses.ts';
import { defineKind, LEGITIMATE } from './kind.ts';

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,40}$/;
const OFFICE = '(202) 555-0143';
const CONFIRMATIONS = ['C', 'C', 'c', 'Confirm', 'C thanks', 'Yes', 'yes confirmed', 'C 👍'] as const;

export const registeredNotifications = defineKind({
  kind: 'registered-notifications',
  summary: 'A registered 10DLC business sending appointment reminders within its cap',
  params: {
    campaignId: param.string(
      'CBZ4Q7M',
      'registered campaign id (list it in the registrations file)',
      CAMPAIGN_ID,
      'a campaign id',
    ),
    perNumberPerMinute: param.number(
      120,
      'messages each sending number sends a minute (keep under its tier cap)',
      {
        min: 0.1,
        max: 100_000,
      },
    ),
    replyRate: param.probability(0.15, 'share of customers who answer (mostly "C" to confirm)'),
    optOutRate: param.probability(0.005, 'share of customers who text STOP'),
    deliveryFailureRate: param.probability(0.02, 'share of reminders that fail to deliver'),
    spamReportRate: param.probability(0.0005, 'share of customers who report the reminder as spam'),
  },
  truth: () => ({
    title: 'Registered 10DLC business: appointment reminders within its cap',
    spam: false,
    expect: LEGITIMATE,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates = {
      deliveryFailureRate: p.deliveryFailureRate,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: p.spamReportRate,
    };
    // Each answer gets one message back (the acknowledgement or the opt-out confirmation).
    const outbound = ratePerSecond / (1 + 2 * answersPerMessage(rates));
    const senders = Math.max(1, Math.ceil((outbound * 60) / p.perNumberPerMinute));
    const perNumber = outbound / senders;
    const numbers = pool.allocate(`${id} sending numbers`, senders, 'local');
    const customers = pool.allocate(
      `${id} customers`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 50,
      'local',
    );
    let nextCustomer = 0;
    const send = (sender: string, recipient: string, body: string) =>
      sim.message(id, {
        sender,
        senderKind: 'LONG_CODE',
        recipient,
        body,
        campaignId: p.campaignId,
        originNetwork: 'aggregator-1',
      });
    const remind = (sender: string) => {
      const recipient = customers.at(nextCustomer++);
      const name = text.firstName();
      const when = `${text.date(1, 10)} at ${text.time()}`;
      const messageId = send(
        sender,
        recipient,
        `Bright Smile Dental: Hi ${name}, this is a reminder of your appointment with Dr. ${text.lastName()} on ` +
          `${when}. Reply C to confirm or call ${OFFICE} to reschedule. Reply STOP to opt out.`,
      );
      respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
        replyText: () =>
          rng.chance(0.85) ? rng.pick(CONFIRMATIONS) : `Can I move it to ${text.date(2, 14)}?`,
        onReply: (reply) =>
          sim.after(rng.uniform(2, 10) * 1000, () =>
            send(
              sender,
              recipient,
              reply.length <= 20
                ? `Thanks ${name}, you're confirmed for ${when}. See you then!`
                : `Thanks ${name}! Our front desk will call you to find a new time.`,
            ),
          ),
        onOptOut: () =>
          sim.after(rng.uniform(2, 10) * 1000, () =>
            send(
              sender,
              recipient,
              'Bright Smile Dental: You are unsubscribed and will receive no more messages. Reply START to resubscribe.',
            ),
          ),
      });
    };
    return {
      plannedSenders: senders,
      start() {
        const meanGap = 1000 / perNumber;
        for (let k = 0; k < senders; k++) {
          const sender = numbers.at(k);
          // A queue drains at a steady pace: gaps within +-20% of the mean.
          const tick = () => {
            remind(sender);
            sim.after(meanGap * rng.uniform(0.8, 1.2), tick);
          };
          sim.at(sim.now + rng.uniform(0, meanGap), tick);
        }
      },
    };
  },
});
