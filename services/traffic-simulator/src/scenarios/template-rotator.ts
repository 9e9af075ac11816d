/**
 * A template rotator: a phishing kit's sender script that cycles through a set of pretexts (a
 * bank alert, an unpaid toll, a held parcel, a prize, a locked account...), each personalised,
 * so that no one template piles up the copies a content filter counts. Every text links to the
 * one lookalike domain the kit is hosted on, with a path per recipient; recipients come from a
 * scraped national list. A script at a steady pace: almost nobody answers, a few percent report
 * it or text STOP, a tenth of the list is dead.
 */
import { param } from '../params.ts';
import { answersPerMessage, carrierOf, outcomeRatesOf, respond } from '../responses.ts';
import type { Personaliser } from '../text.ts';
import { defineKind, SPAM_TO_STOP } from './kind.ts';

const REPLIES = ['Who is this?', 'scam', 'nice try', 'I dont have an account with you', 'reported'] as const;

/** The pretexts, in the order the script rotates them; `link` is the recipient's own URL. */
const PRETEXTS: readonly ((t: Personaliser, link: string) => string)[] = [
  (t, link) =>
    `Bank Alert: a purchase of ${t.amount(400, 1900)} was attempted on your debit card ending ${t.digits(4)}. ` +
    `If this was not you, verify now: ${link}`,
  (t, link) =>
    `Toll Services: ${t.firstName()}, your account has an unpaid toll balance of ${t.amount(3, 12)}. ` +
    `Pay by ${t.shortDate(1, 3)} to avoid a $50 late fee: ${link}`,
  (t, link) =>
    `Parcel notice: ${t.firstName()}, your package ${t.code(10).toUpperCase()} is held at our depot over an unpaid ` +
    `$1.99 redelivery fee. Release it here: ${link}`,
  (t, link) =>
    `Congratulations ${t.firstName()}! Your number was drawn for a ${t.amount(500, 1000)} store reward. ` +
    `Claim it before ${t.shortDate(1, 2)}: ${link}`,
  (t, link) =>
    `Security notice: ${t.firstName()}, your online account was locked after a sign-in from a new device. ` +
    `Restore access within 24 hours: ${link}`,
  (t, link) =>
    `Tax refund: ${t.firstName()}, you are eligible for a refund of ${t.amount(300, 1400)}. ` +
    `Submit your deposit details by ${t.date(2, 6)}: ${link}`,
  (t, link) =>
    `Power company: service at ${t.address()} will be disconnected today over an overdue balance of ` +
    `${t.amount(90, 400)}. Avoid the shutoff: ${link}`,
  (t, link) =>
    `Your streaming subscription could not be renewed, ${t.firstName()}. Update your billing details ` +
    `to keep watching: ${link}`,
  (t, link) =>
    `DMV: your driver license will be suspended on ${t.date(2, 5)} over an unpaid citation ` +
    `#${t.digits(7)}. Settle it online: ${link}`,
  (t, link) =>
    `Hi ${t.firstName()}, a recruiter saw your resume. Remote part-time role, $300-$500 a day, ` +
    `no experience needed. Apply: ${link}`,
];

export const templateRotator = defineKind({
  kind: 'template-rotator',
  summary: 'A phishing script rotating many personalised pretexts, all linking to one lookalike domain',
  params: {
    senders: param.nullableNumber(
      null,
      'numbers running the script; null: as many as the share needs at sendIntervalSeconds',
      { min: 1, max: 10_000, integer: true },
    ),
    domain: param.string(
      'account-verify-center.example',
      'the one lookalike domain every link is on (reserved .example names only)',
      /^[a-z0-9-]+(\.[a-z0-9-]+)*\.example$/,
      'a domain name ending in .example',
    ),
    sendIntervalSeconds: param.number(10, "mean gap between one number's texts, s", {
      min: 0.01,
      max: 3600,
    }),
    intervalJitter: param.probability(0.05, 'relative spread of that gap (a script: small)'),
    deliveryFailureRate: param.probability(0.1, 'share of recipients that fail (scraped list)'),
    replyRate: param.probability(0.002, 'share of recipients who answer'),
    optOutRate: param.probability(0.04, 'share of recipients who text STOP'),
    spamReportRate: param.probability(0.03, 'share of recipients who report it to 7726'),
    subscriberBlockRate: param.probability(0.015, 'share of recipients who block the number'),
  },
  sizedByTeam: (p) => p.senders !== null,
  truth: () => ({
    title: 'Template rotator: many phishing pretexts, one lookalike domain',
    spam: true,
    expect: SPAM_TO_STOP,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates = outcomeRatesOf(p);
    const perMessage = 1 + answersPerMessage(rates);
    const gapMs = p.sendIntervalSeconds * 1000;
    const senders = p.senders ?? Math.max(1, Math.round((ratePerSecond / perMessage) * (gapMs / 1000)));
    const outbound = (senders * 1000) / gapMs;
    const numbers = pool.allocate(`${id} numbers`, senders, 'local');
    const list = pool.allocate(
      `${id} scraped list`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 100,
      'national',
    );
    let next = 0;
    return {
      plannedSenders: senders,
      ratePerSecond: outbound * perMessage,
      start() {
        for (let k = 0; k < senders; k++) {
          const sender = numbers.at(k);
          // Each number's script starts somewhere in the rotation and goes round it.
          let turn = rng.int(0, PRETEXTS.length - 1);
          const tick = () => {
            const recipient = list.at(next++);
            const link = `https://${p.domain}/${text.code(7)}`;
            const messageId = sim.message(id, {
              sender,
              senderKind: 'LONG_CODE',
              recipient,
              body: PRETEXTS[turn++ % PRETEXTS.length]!(text, link),
              campaignId: null,
              originNetwork: carrierOf(sender),
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
