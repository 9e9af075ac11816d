/**
 * Small local businesses (a plumber, a hair studio, a dog groomer, a garage), each texting from
 * one or two ordinary long codes, unregistered. Customers text first with a question; the owner
 * answers within minutes between jobs and the thread goes on until a time is agreed. Each
 * business also reminds customers who booked (people who texted it before) of their
 * appointments, now and then with a link to its own booking page; many answer, hardly anyone
 * objects. Most of what a business sends goes to people who texted it first.
 */
import { param } from '../params.ts';
import {
  ANSWERING_LABEL,
  carrierOf,
  composeDelay,
  type OutcomeRates,
  readDelay,
  respond,
} from '../responses.ts';
import { defineKind, LEGITIMATE, poisson } from './kind.ts';
import { type BusinessProfile, businessProfile, CUSTOMER_FOLLOW_UPS } from './small-business-text.ts';

/** Threads and reminders may have started this long before the run: it opens mid-thread. */
const WARM_UP_MS = 30 * 60_000;
/** Customers each business has from before: people who texted it and booked. */
const REGULARS = 40;
/**
 * Chance the owner confirms an opt-out ("you won't get more texts") rather than just stopping. A
 * confirmation comes promptly or not at all (CTIA allows one, right away): an owner who sees the
 * STOP later just stops.
 */
const CONFIRM_OPT_OUT = 0.5;
const CONFIRM_WITHIN_MS = 4 * 60_000;

interface Business {
  /** Its place among the scenario's businesses: which customer numbers are its. */
  readonly index: number;
  readonly profile: BusinessProfile;
  readonly lines: readonly string[];
  /** Customers who have texted it, with the name it knows them by. */
  readonly book: Map<string, string>;
  /** Customers with an appointment to remind them of: each is reminded once. */
  readonly booked: string[];
  /** Customers who texted STOP: never texted again. */
  readonly optedOut: Set<string>;
  /** Index of its next new customer in its part of the customer numbers. */
  next: number;
}

export const smallBusiness = defineKind({
  kind: 'small-business',
  summary: 'Small local businesses answering customers and reminding them of appointments, unregistered',
  params: {
    inquiriesPerHour: param.number(4, 'threads customers start with each business in an hour', {
      min: 0.01,
      max: 600,
    }),
    remindersPerHour: param.number(
      2,
      'appointment reminders each business sends in an hour, to customers who texted it before',
      { min: 0, max: 600 },
    ),
    meanConversationMessages: param.number(6, 'mean texts per thread, both sides (at least 2)', {
      min: 2,
      max: 100,
    }),
    answerMinutes: param.number(3, 'median delay before the owner answers a text, min', {
      min: 0.1,
      max: 600,
    }),
    numbersPerBusiness: param.range([1, 2], 'long codes per business (the main line sends reminders)', {
      min: 1,
      max: 5,
      integer: true,
    }),
    bookingLinkChance: param.probability(
      0.2,
      "chance an owner's answer or a reminder links its booking page",
    ),
    replyRate: param.probability(0.4, 'share of customers who answer a reminder'),
    optOutRate: param.probability(0.005, 'share of customers who text STOP to a reminder'),
    deliveryFailureRate: param.probability(0.01, 'share of reminders that fail (changed numbers)'),
    spamReportRate: param.probability(0.0001, 'share of customers who report a reminder as spam'),
  },
  truth: () => ({
    title: 'Small local businesses texting their customers (unregistered)',
    spam: false,
    expect: LEGITIMATE,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates: OutcomeRates = {
      deliveryFailureRate: p.deliveryFailureRate,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: p.spamReportRate,
    };
    const live = 1 - p.deliveryFailureRate;
    // A reminder, its answer and the owner's acknowledgement or opt-out confirmation.
    const perReminder = 1 + live * (2 * p.replyRate + p.optOutRate * (1 + CONFIRM_OPT_OUT));
    const perHour = p.inquiriesPerHour * p.meanConversationMessages + p.remindersPerHour * perReminder;
    const count = Math.max(1, Math.round((ratePerSecond * 3600) / perHour));
    const [fewest, most] = p.numbersPerBusiness;
    const lineNumbers = pool.allocate(`${id} numbers`, count * most, 'local');
    const perBusiness =
      REGULARS + Math.ceil(((p.inquiriesPerHour * (durationMs + WARM_UP_MS)) / 3_600_000) * 2) + 10;
    const customers = pool.allocate(`${id} customers`, count * perBusiness, 'local');
    const businesses: Business[] = Array.from({ length: count }, (_, k) => ({
      index: k,
      profile: businessProfile(k, rng, text),
      lines: Array.from({ length: rng.int(fewest, most) }, (_, j) => lineNumbers.at(k * most + j)),
      book: new Map(
        Array.from({ length: REGULARS }, (_, j) => [customers.at(k * perBusiness + j), text.firstName()]),
      ),
      booked: Array.from({ length: REGULARS }, (_, j) => customers.at(k * perBusiness + j)),
      optedOut: new Set(),
      next: REGULARS,
    }));
    const answerMs = () => rng.logNormal(p.answerMinutes * 60_000, 0.6);
    const send = (label: string, sender: string, recipient: string, body: string) =>
      sim.message(label, {
        sender,
        senderKind: 'LONG_CODE',
        recipient,
        body,
        campaignId: null,
        originNetwork: carrierOf(sender),
      });
    const link = (b: Business) => (rng.chance(p.bookingLinkChance) ? b.profile.bookingLink : null);

    /** A customer texts a business a question; the owner answers, and so on. */
    const inquire = (b: Business, t0: number) => {
      const customer = customers.at(b.index * perBusiness + (b.next++ % perBusiness));
      // Most text the main line; some have the owner's other number from a card or the van.
      const line = b.lines.length > 1 && rng.chance(0.3) ? b.lines[1]! : b.lines[0]!;
      const texts = 2 + rng.geometric(1 / (p.meanConversationMessages - 1));
      let sent = 0;
      const step = () => {
        if (b.optedOut.has(customer)) return;
        const fromCustomer = sent % 2 === 0;
        if (fromCustomer) {
          send(
            ANSWERING_LABEL,
            customer,
            line,
            sent === 0 ? b.profile.inquiry() : rng.pick(CUSTOMER_FOLLOW_UPS),
          );
          if (sent === 0 && !b.book.has(customer)) {
            b.book.set(customer, text.firstName());
            b.booked.push(customer);
          }
        } else send(id, line, customer, sent === 1 ? b.profile.answer(link(b)) : b.profile.ownerFollowUp());
        if (++sent >= texts) return;
        // The customer is in the thread and answers within a minute; the owner between jobs.
        sim.after(fromCustomer ? answerMs() : readDelay(rng, true) + composeDelay(rng), step);
      };
      sim.at(t0, step);
    };

    /** A business reminds a customer who booked of the appointment. */
    const remind = (b: Business) => {
      if (b.booked.length === 0) return;
      const k = rng.int(0, b.booked.length - 1);
      const customer = b.booked[k]!;
      b.booked[k] = b.booked.at(-1)!;
      b.booked.pop();
      if (b.optedOut.has(customer)) return;
      const name = b.book.get(customer)!;
      const sender = b.lines[0]!;
      const when = `${rng.pick(['tomorrow', text.date(1, 3)])} at ${b.profile.time()}`;
      const messageId = send(id, sender, customer, b.profile.reminder(name, when, link(b)));
      respond(sim, rng, { label: id, sender, recipient: customer, messageId }, rates, {
        replyText: () => b.profile.reminderReply(),
        onReply: (reply) =>
          sim.after(answerMs(), () => {
            if (!b.optedOut.has(customer)) send(id, sender, customer, b.profile.acknowledgement(name, reply));
          }),
        onOptOut: () => {
          if (b.optedOut.has(customer)) return;
          b.optedOut.add(customer);
          const seen = answerMs();
          if (rng.chance(CONFIRM_OPT_OUT) && seen < CONFIRM_WITHIN_MS)
            sim.after(seen, () =>
              send(id, sender, customer, "Sorry about that! You won't get any more texts from us."),
            );
        },
      });
    };

    return {
      plannedSenders: businesses.reduce((n, b) => n + b.lines.length, 0),
      start() {
        const perSecond = count / 3600;
        poisson(sim, rng, perSecond * p.inquiriesPerHour, sim.now - WARM_UP_MS, (t) =>
          inquire(rng.pick(businesses), t),
        );
        poisson(sim, rng, perSecond * p.remindersPerHour, sim.now - WARM_UP_MS, (t) =>
          sim.at(t, () => remind(rng.pick(businesses))),
        );
      },
    };
  },
});
