/**
 * A school district's closure alert from a short code: silence, then one burst to every
 * parent on file at the platform's throughput (well within the short code's provisioned rate),
 * mostly unanswered; a few "thanks", a few STOPs (confirmed once, skipped in later alerts).
 * Short codes are provisioned and audited by the carriers; this one is registered.
 */
import { param } from '../params.ts';
import { answersPerMessage, type OutcomeRates, respond } from '../responses.ts';
import { defineKind, LEGITIMATE } from './kind.ts';

const PARENT_REPLIES = [
  'Thanks!',
  'ok',
  'thank you',
  '👍',
  'Is daycare open?',
  'Thanks for letting us know',
] as const;

export const schoolAlert = defineKind({
  kind: 'school-alert',
  summary: "A school district's closure alert from a short code: one burst to every parent",
  params: {
    shortCode: param.string('555888', 'the short code (5 or 6 digits)', /^\d{5,6}$/, '5 or 6 digits'),
    campaignId: param.nullableString(
      'SC555888',
      'its registration (list it in the registrations file)',
      /^[A-Za-z0-9_-]{1,40}$/,
      'a campaign id',
    ),
    sendPerSecond: param.number(80, "the platform's sending rate during a burst, messages/s", {
      min: 0.1,
      max: 10_000,
    }),
    alerts: param.number(
      1,
      'alerts in the run (the first at a quarter of it, the others spread over the rest)',
      {
        min: 1,
        max: 100,
        integer: true,
      },
    ),
    replyRate: param.probability(0.03, 'share of parents who answer'),
    optOutRate: param.probability(0.003, 'share of parents who text STOP'),
    deliveryFailureRate: param.probability(0.015, 'share of alerts that fail to deliver'),
    spamReportRate: param.probability(0.0002, 'share of parents who report the alert as spam'),
  },
  truth: () => ({
    title: 'School-closure alert from a registered short code (one burst)',
    spam: false,
    expect: LEGITIMATE,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates: OutcomeRates = {
      deliveryFailureRate: p.deliveryFailureRate,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: 0,
    };
    // Every answer gets one message back: the no-reply notice or the opt-out confirmation.
    const total = (ratePerSecond * durationMs) / 1000 / (1 + 2 * answersPerMessage(rates));
    const parentsCount = Math.max(1, Math.round(total / p.alerts));
    const parents = pool.allocate(`${id} parents`, parentsCount, 'local');
    const optedOut = new Set<number>();
    const sender = p.shortCode;
    const send = (recipient: string, body: string) =>
      sim.message(id, {
        sender,
        senderKind: 'SHORT_CODE',
        recipient,
        body,
        campaignId: p.campaignId,
        originNetwork: 'aggregator-2',
      });
    const alertText = (k: number) =>
      k === 0
        ? `Maple Valley Schools: due to ${rng.pick(['icy roads', 'a water main break', 'a power outage', 'snow'])}, ` +
          `all schools are closed today, ${text.date(0, 0)}. After-school activities are cancelled. ` +
          'Updates: https://maplevalleyschools.example/alerts'
        : 'Maple Valley Schools: schools will reopen tomorrow on a 2-hour delay. Buses run 2 hours later than ' +
          'usual. Updates: https://maplevalleyschools.example/alerts';
    const burst = (k: number) => {
      const body = alertText(k);
      const gap = 1000 / p.sendPerSecond;
      let i = 0;
      const next = () => {
        while (i < parentsCount && optedOut.has(i)) i++;
        if (i >= parentsCount) return;
        const index = i++;
        const recipient = parents.at(index);
        const messageId = send(recipient, body);
        respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
          replyText: () => rng.pick(PARENT_REPLIES),
          onReply: () =>
            sim.after(rng.uniform(1, 3) * 1000, () =>
              send(recipient, 'This number does not accept replies. Please call your school with questions.'),
            ),
          onOptOut: () => {
            optedOut.add(index);
            sim.after(rng.uniform(1, 3) * 1000, () =>
              send(
                recipient,
                'Maple Valley Schools alerts: you are unsubscribed. Reply START to resubscribe.',
              ),
            );
          },
        });
        sim.after(gap, next);
      };
      next();
    };
    return {
      plannedSenders: 1,
      start() {
        for (let k = 0; k < p.alerts; k++) {
          const at = k === 0 ? 0.25 : 0.25 + (0.7 * k) / p.alerts;
          sim.at(sim.now + at * durationMs, () => burst(k));
        }
      },
    };
  },
});
