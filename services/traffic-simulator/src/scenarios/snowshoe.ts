/**
 * Snowshoe phishing: one smishing template ("your package could not be delivered, confirm
 * your address") with a unique link per recipient on one or a few lookalike domains, spread
 * over many fresh numbers (prepaid SIMs in a SIM box) so that no number crosses the per-number
 * limits: each sends a few dozen texts at a script's steady pace, then the next fresh number
 * takes over. The recipients come from a scraped list across the country; some numbers are
 * dead, a few percent of the people who get it report it to 7726 or text STOP, almost nobody
 * answers. Sized by its share of the rate, or by its team: `teamSize` numbers at a time, each at
 * its own pace; low-and-slow snowshoe is hundreds of numbers each texting once every few minutes
 * for a handful of texts, far under any per-number limit.
 *
 * Links use reserved names (.example, RFC 2606) so that no generated link points anywhere.
 */
import { param } from '../params.ts';
import { answersPerMessage, carrierOf, outcomeRatesOf, respond } from '../responses.ts';
import { defineKind } from './kind.ts';

const REPLIES = ['Who is this?', 'scam', "I didn't order anything", 'wrong number', 'nice try'] as const;

export const snowshoe = defineKind({
  kind: 'snowshoe',
  summary:
    'Snowshoe phishing: one template with per-recipient links over many fresh numbers, each under the limits',
  params: {
    domains: param.strings(
      ['usps-redelivery-center.example', 'usps-parcel-support.example'],
      'the lookalike link domains, rotated per message',
      /^[a-z0-9-]+(\.[a-z0-9-]+)+$/,
      'domain names',
      16,
    ),
    teamSize: param.nullableNumber(
      null,
      'numbers sending at the same time (each dropped one replaced); null: as many as the share needs',
      { min: 1, max: 100_000, integer: true },
    ),
    messagesPerNumber: param.range([40, 70], 'texts each fresh number sends before it is dropped', {
      min: 1,
      max: 100_000,
      integer: true,
    }),
    sendIntervalSeconds: param.number(1.2, "gap between one number's texts, s (a script: nearly constant)", {
      min: 0.01,
      max: 3600,
    }),
    intervalJitter: param.probability(0.05, 'relative spread of that gap (standard deviation / mean)'),
    deliveryFailureRate: param.probability(0.12, 'share of recipients that fail (scraped list)'),
    replyRate: param.probability(0.005, 'share of recipients who answer'),
    optOutRate: param.probability(0.06, 'share of recipients who text STOP'),
    spamReportRate: param.probability(0.04, 'share of recipients who report it to 7726'),
    subscriberBlockRate: param.probability(0.02, 'share of recipients who block the number'),
  },
  sizedByTeam: (p) => p.teamSize !== null,
  truth: () => ({
    title: 'Snowshoe phishing over many fresh numbers',
    spam: true,
    // The bar: every spam scenario blocked or throttled, the snowshoe's first BLOCK
    // within 60 s. Each fresh number is throttled on its cluster's spread at once and blocked
    // once its recipients' reports and opt-outs arrive, which for the last numbers of a short
    // run may be after it ends.
    expect: {
      neverBlock: false,
      throttleAcceptable: false,
      actionRequired: 'THROTTLE_OR_BLOCK',
      blockWithinMs: 60_000,
    },
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates = outcomeRatesOf(p);
    const perMessage = 1 + answersPerMessage(rates);
    const intervalMs = p.sendIntervalSeconds * 1000;
    const meanPerNumber = (p.messagesPerNumber[0] + p.messagesPerNumber[1]) / 2;
    // A number's life: its texts an interval apart, then 0.5 to 2 intervals until the next takes over.
    const lifetimeMs = (meanPerNumber - 1 + 1.25) * intervalMs;
    const slots = p.teamSize ?? Math.max(1, Math.round((ratePerSecond / perMessage) * (intervalMs / 1000)));
    const outbound =
      p.teamSize === null ? ratePerSecond / perMessage : (slots * meanPerNumber * 1000) / lifetimeMs;
    const total = outbound * (durationMs / 1000);
    const numbersNeeded = Math.ceil((total / meanPerNumber) * 1.3) + slots * 2;
    const numbers = pool.allocate(`${id} fresh numbers`, numbersNeeded, 'local');
    const recipients = pool.allocate(`${id} recipients`, Math.ceil(total * 1.2) + 100, 'national');
    let nextNumber = 0;
    let nextRecipient = 0;
    const phish = (sender: string) => {
      const recipient = recipients.at(nextRecipient++);
      const body =
        `USPS: ${text.firstName()}, your package 9400${text.digits(18)} could not be delivered because the address is ` +
        'incomplete. Please confirm your address within 12 hours to avoid return: ' +
        `https://${rng.pick(p.domains)}/${text.code(8)}`;
      const messageId = sim.message(id, {
        sender,
        senderKind: 'LONG_CODE',
        recipient,
        body,
        campaignId: null,
        originNetwork: carrierOf(sender),
      });
      respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
        replyText: () => rng.pick(REPLIES),
      });
    };
    const runNumber = () => {
      const sender = numbers.at(nextNumber++);
      let left = rng.int(p.messagesPerNumber[0], p.messagesPerNumber[1]);
      const tick = () => {
        phish(sender);
        if (--left > 0) sim.after(intervalMs * Math.max(0.1, 1 + p.intervalJitter * rng.normal()), tick);
        // The next fresh number takes over this slot.
        else sim.after(rng.uniform(0.5, 2) * intervalMs, runNumber);
      };
      tick();
    };
    return {
      plannedSenders: Math.ceil(slots * (1 + durationMs / lifetimeMs)),
      ratePerSecond: outbound * perMessage,
      start() {
        for (let s = 0; s < slots; s++) sim.at(sim.now + rng.uniform(0, intervalMs), runNumber);
      },
    };
  },
});
