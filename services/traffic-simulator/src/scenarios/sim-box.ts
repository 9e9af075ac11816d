/**
 * A SIM box (SIM farm): a rack of consumer SIMs bought in one batch, so their numbers are
 * consecutive in one exchange block, all attached to one mobile network at one site, pushing
 * grey-route marketing (bulk promotions sent at consumer prices instead of through a registered
 * route) to a bought national list, each SIM at a steady pace. Outbound only: nobody texts these
 * numbers first, and the box never answers anything, STOPs included (each recipient gets one
 * text, so it never texts anyone again either).
 */
import { param } from '../params.ts';
import { answersPerMessage, outcomeRatesOf, respond } from '../responses.ts';
import type { Personaliser } from '../text.ts';
import { defineKind, SPAM_TO_STOP } from './kind.ts';

const REPLIES = ['who is this', 'stop spamming me', '?', 'how did you get this number'] as const;

/** The promotions the box is paid to push: a link with a tracking path, or a number to call. */
const PROMOTIONS: readonly ((t: Personaliser) => string)[] = [
  (t) =>
    `FLASH SALE at Northgate Sleep Outlet: 60% off every mattress this weekend only. ` +
    `Shop now: https://northgate-sleep-outlet.example/${t.code(6)}`,
  (t) =>
    `You are pre-approved for up to ${t.amount(2000, 5000)} with no credit check. ` +
    'Funds in 24 hours, call +1 (888) 555-0132 today.',
  (t) =>
    `Car insurance rates in your area have dropped, quotes from $29 a month. ` +
    `Compare in 2 minutes: https://quick-auto-quotes.example/${t.code(6)}`,
  (t) =>
    `Closing down: everything must go at Discount Furniture Depot, up to 70% off until ${t.shortDate(2, 6)}. ` +
    'Call +1 (866) 555-0178 for the address.',
];

export const simBox = defineKind({
  kind: 'sim-box',
  summary: 'A SIM box: consecutive SIMs on one network pushing grey-route promotions, outbound only',
  params: {
    simCount: param.number(40, 'SIMs in the box, each its own number (consecutive, one batch)', {
      min: 1,
      max: 10_000,
      integer: true,
    }),
    sendIntervalSeconds: param.number(30, "mean gap between one SIM's texts, s", { min: 0.5, max: 3600 }),
    intervalJitter: param.probability(0.1, 'relative spread of that gap (the box controller: small)'),
    originNetwork: param.string(
      'carrier-b',
      'the mobile network every SIM is attached to (one site)',
      /^[a-z0-9-]{1,40}$/,
      'a network name',
    ),
    deliveryFailureRate: param.probability(0.08, 'share of recipients that fail (bought list)'),
    replyRate: param.probability(0.003, 'share of recipients who answer (never answered)'),
    optOutRate: param.probability(0.03, 'share of recipients who text STOP (ignored)'),
    spamReportRate: param.probability(0.015, 'share of recipients who report it to 7726'),
    subscriberBlockRate: param.probability(0.01, 'share of recipients who block the number'),
  },
  // A box has as many SIMs as it has: its share only has to be above 0.
  sizedByTeam: () => true,
  truth: () => ({
    title: 'SIM box: consecutive SIMs on one network, grey-route promotions, outbound only',
    spam: true,
    expect: SPAM_TO_STOP,
  }),
  build(p, { id, durationMs, sim, rng, text, pool }) {
    const rates = outcomeRatesOf(p);
    const gapMs = p.sendIntervalSeconds * 1000;
    const outbound = (p.simCount * 1000) / gapMs;
    const sims = pool.allocate(`${id} SIMs`, p.simCount, 'local', { sequential: true });
    const list = pool.allocate(
      `${id} bought list`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 100,
      'national',
    );
    let next = 0;
    return {
      plannedSenders: p.simCount,
      ratePerSecond: outbound * (1 + answersPerMessage(rates)),
      start() {
        for (let k = 0; k < p.simCount; k++) {
          const sender = sims.at(k);
          const tick = () => {
            const recipient = list.at(next++);
            const messageId = sim.message(id, {
              sender,
              senderKind: 'LONG_CODE',
              recipient,
              body: rng.pick(PROMOTIONS)(text),
              campaignId: null,
              originNetwork: p.originNetwork,
            });
            // The box reads nothing: answers and STOPs arrive and go unanswered.
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
