/**
 * A number walker: a script texting consecutive numbers of an exchange (...0001, ...0002, ...),
 * the "wrong number" opener of a pig-butchering scam. Walking hits unassigned and data-only
 * numbers, so about half fail; the rest mostly ignore it, a few answer "wrong number". A crew
 * (`senders`) works one script, each number its own stretch: only names and the place it claims
 * to have met you change, so its copies form one content cluster across the crew.
 */
import { param } from '../params.ts';
import { answersPerMessage, outcomeRatesOf, respond } from '../responses.ts';
import { defineKind, SPAM_TO_STOP } from './kind.ts';

const REPLIES = [
  'Wrong number',
  'wrong number sorry',
  'No, who is this?',
  'you have the wrong person',
] as const;
/** Proper names, as the script fills them in: the crew's copies differ only in names. */
const PLACES = [
  'Lakeside Yoga',
  'the Harbor Grill',
  'the Chamber Mixer',
  'Riverside Dog Park',
  'the Vineyard Wine Walk',
] as const;

export const numberWalker = defineKind({
  kind: 'number-walker',
  summary: 'A script texting consecutive numbers ("wrong number" scam opener)',
  params: {
    senders: param.number(1, 'walking numbers (a crew on one script), each on its own stretch of numbers', {
      min: 1,
      max: 10_000,
      integer: true,
    }),
    sendIntervalSeconds: param.nullableNumber(
      null,
      "mean gap between one number's texts, s; null: the share split between the senders",
      { min: 0.01, max: 3600 },
    ),
    intervalJitter: param.probability(0.3, 'relative spread of the gap between texts'),
    deliveryFailureRate: param.probability(0.5, 'share of walked numbers that fail (unassigned, data-only)'),
    replyRate: param.probability(0.03, 'share of recipients who answer'),
    optOutRate: param.probability(0.02, 'share of recipients who text STOP'),
    spamReportRate: param.probability(0.01, 'share of recipients who report it to 7726'),
    subscriberBlockRate: param.probability(0.005, 'share of recipients who block the number'),
  },
  sizedByTeam: (p) => p.sendIntervalSeconds !== null,
  truth: () => ({
    title: 'Number walker (consecutive recipients)',
    spam: true,
    expect: SPAM_TO_STOP,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates = outcomeRatesOf(p);
    const perMessage = 1 + answersPerMessage(rates);
    const outbound =
      p.sendIntervalSeconds === null ? ratePerSecond / perMessage : p.senders / p.sendIntervalSeconds;
    const perSender = Math.ceil((outbound / p.senders) * (durationMs / 1000) * 1.2) + 100;
    const numbers = pool.allocate(`${id} numbers`, p.senders, 'local');
    const walks = Array.from({ length: p.senders }, () =>
      pool.allocate(`${id} walked numbers`, perSender, 'local', { sequential: true }),
    );
    const gapMs = (1000 * p.senders) / Math.max(outbound, 1e-9);
    return {
      plannedSenders: p.senders,
      ratePerSecond: outbound * perMessage,
      start() {
        for (let k = 0; k < p.senders; k++) {
          const sender = numbers.at(k);
          const walk = walks[k]!;
          let next = 1;
          const tick = () => {
            const recipient = walk.at(next++);
            const messageId = sim.message(id, {
              sender,
              senderKind: 'LONG_CODE',
              recipient,
              body: `Hi, is this ${text.firstName()}? It's ${text.firstName()}, we met at ${rng.pick(PLACES)} last month. Finally found your number!`,
              campaignId: null,
              originNetwork: 'voip-interconnect-3',
            });
            respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
              replyText: () => rng.pick(REPLIES),
            });
            sim.after(gapMs * Math.max(0.1, 1 + p.intervalJitter * rng.normal()), tick);
          };
          sim.at(sim.now + rng.uniform(0, gapMs), tick);
        }
      },
    };
  },
});
