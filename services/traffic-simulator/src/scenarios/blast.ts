/**
 * A high-rate blast from one number: a script pushing a prize scam to a bought list as fast as
 * the connection takes it, tens of messages a second at a flat pace. Many numbers on the list
 * are dead; recipients report it and block it; hardly anyone answers.
 */
import { param } from '../params.ts';
import { answersPerMessage, outcomeRatesOf, respond } from '../responses.ts';
import { defineKind, SPAM_TO_STOP } from './kind.ts';

const REPLIES = ['Who is this?', 'scam', 'lol no', 'wrong number'] as const;

export const blast = defineKind({
  kind: 'blast',
  summary: 'A high-rate blast from one number to a bought list',
  params: {
    senders: param.number(1, 'blasting numbers (the rate is split between them)', {
      min: 1,
      max: 1000,
      integer: true,
    }),
    domain: param.string(
      'gift-claim-center.example',
      'the link domain',
      /^[a-z0-9-]+(\.[a-z0-9-]+)+$/,
      'a domain name',
    ),
    intervalJitter: param.probability(0.1, 'relative spread of the gap between texts (a script: small)'),
    deliveryFailureRate: param.probability(0.25, 'share of the list that fails (dead and invalid numbers)'),
    replyRate: param.probability(0.003, 'share of recipients who answer'),
    optOutRate: param.probability(0.02, 'share of recipients who text STOP'),
    spamReportRate: param.probability(0.03, 'share of recipients who report it to 7726'),
    subscriberBlockRate: param.probability(0.02, 'share of recipients who block the number'),
  },
  truth: () => ({
    title: 'High-rate blast from one number',
    spam: true,
    expect: SPAM_TO_STOP,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates = outcomeRatesOf(p);
    const outbound = ratePerSecond / (1 + answersPerMessage(rates));
    const numbers = pool.allocate(`${id} numbers`, p.senders, 'local');
    const list = pool.allocate(
      `${id} bought list`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 100,
      'national',
    );
    let next = 0;
    const gapMs = (1000 * p.senders) / Math.max(outbound, 1e-9);
    return {
      plannedSenders: p.senders,
      start() {
        for (let k = 0; k < p.senders; k++) {
          const sender = numbers.at(k);
          const tick = () => {
            const recipient = list.at(next++);
            const messageId = sim.message(id, {
              sender,
              senderKind: 'LONG_CODE',
              recipient,
              body:
                `Congratulations ${text.firstName()}! You have been selected for a ${text.amount(500, 1000)} gift card. ` +
                `Claim it before ${text.shortDate(1, 3)}: https://${p.domain}/${text.code(7)} Reply STOP to end`,
              campaignId: null,
              originNetwork: 'voip-interconnect-7',
            });
            respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
              replyText: () => rng.pick(REPLIES),
            });
            sim.after(gapMs * Math.max(0.1, 1 + p.intervalJitter * rng.normal()), tick);
          };
          sim.at(sim.now + rng.uniform(0, Math.min(gapMs, 5000)), tick);
        }
      },
    };
  },
});
