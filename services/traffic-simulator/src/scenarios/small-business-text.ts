/**
 * What small local businesses and their customers text: per trade, the questions customers open
 * with and the owner's first answers (a time, a price, now and then the booking page), and each
 * business's own wording of its appointment reminder. Owners type their own texts: short, full
 * of specifics (days, times, prices), worded differently from one business to the next.
 */
import type { Random } from '../random.ts';
import type { Personaliser } from '../text.ts';

/** Slots an owner's answer is filled with. */
export interface Specifics {
  readonly owner: string;
  readonly day: string;
  readonly time: string;
  readonly later: string;
  readonly price: string;
  readonly higher: string;
}

interface Trade {
  /** What the business is, after its place name: "Plumbing". */
  readonly noun: string;
  /** What a reminder is about: "visit". */
  readonly appointment: string;
  readonly inquiries: readonly string[];
  readonly answers: readonly ((s: Specifics) => string)[];
}

// Customers write a line or two; owners answer between jobs, tersely, with the specifics.
const TRADES: readonly Trade[] = [
  {
    noun: 'Plumbing',
    appointment: 'visit',
    inquiries: [
      'Hi, sink is leaking. Can someone come today?',
      'Do you install water heaters?',
      'Toilet keeps running, how much for a visit?',
      'Got your number from a neighbor. Do you do drains?',
      'Are you free this week? Leak in the basement',
    ],
    answers: [
      (s) => `This is ${s.owner}. Can come by ${s.day} ${s.time}-${s.later}, that ok?`,
      (s) => `Service call is ${s.price}, I quote on site. ${s.day} ok?`,
      (s) => `On a job now, could do ${s.day} after ${s.time}. Address?`,
      (s) => `Prob the fill valve. ${s.day} ${s.time} ok?`,
    ],
  },
  {
    noun: 'Hair Studio',
    appointment: 'appointment',
    inquiries: [
      'Anything open Saturday for a cut and color?',
      'How much for a haircut?',
      'Can I get in today for a trim?',
      'Taking new clients? Looking for balayage',
      'Do you do kids cuts?',
    ],
    answers: [
      (s) => `Hi! ${s.day} at ${s.time} or ${s.later}, which works?`,
      (s) => `Cut is ${s.price}, color from ${s.higher}. Want to book?`,
      (s) => `Yes! I have openings ${s.day}.`,
      (s) => `Sure, ${s.day} at ${s.time}?`,
    ],
  },
  {
    noun: 'Dog Grooming',
    appointment: 'grooming appointment',
    inquiries: [
      'Any openings for a doodle this week?',
      'How much for a bath and nails? Small terrier',
      'Can you fit in a full groom Friday?',
      'Do you do cats too?',
      'My dog hates clippers, is that ok?',
    ],
    answers: [
      (s) => `We can fit you in ${s.day} at ${s.time}. What breed?`,
      (s) => `Full groom from ${s.price}. ${s.day}?`,
      (s) => `We go slow with nervous pups. ${s.day} at ${s.time}?`,
      (s) => `Bath and nails ${s.price}. ${s.day} at ${s.later}?`,
    ],
  },
  {
    noun: 'Auto Repair',
    appointment: 'service appointment',
    inquiries: [
      'Brakes squeaking, can you look at them?',
      'How much for an oil change?',
      'Check engine light came on, any time today?',
      'Do you do inspections?',
      'Car clunks over bumps. When can I bring it in?',
    ],
    answers: [
      (s) => `Bring it in ${s.day} morning, diagnostic is ${s.price}.`,
      (s) => `Can do brakes ${s.day}, ready by ${s.later}.`,
      (s) => `Oil change ${s.price}, just walk in ${s.day}.`,
      (s) => `${s.day} at ${s.time} is open, ${s.price}.`,
    ],
  },
];

const PLACES = [
  'Maple',
  'Harbor',
  'Cedar',
  'Northside',
  'Riverside',
  'Hilltop',
  'Oak Street',
  'Lakeview',
  'Sunrise',
  'Main Street',
  'Willow',
  'Pine Ridge',
] as const;
const DAYS = [
  'tomorrow',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'today',
] as const;

export const CUSTOMER_FOLLOW_UPS = [
  'That works, thanks!',
  'Perfect',
  'Can we do a little later?',
  'How long does it take?',
  'ok great',
  '👍',
  'Sounds good, see you then',
  'Do you take cards?',
  'thank you!!',
] as const;

const OWNER_FOLLOW_UPS = [
  "You're all set!",
  'Booked, see you then.',
  'Sure, {time} works too.',
  'About an hour or so.',
  'Yes we take cards.',
  'Great, thanks!',
  "I'll text when I'm on my way.",
] as const;

export const REMINDER_REPLIES = [
  'C',
  'c',
  'Confirmed!',
  'Yes thank you',
  'See you then',
  '👍',
  'Can we move it to {day}?',
  'Something came up, can I change it?',
] as const;

// A reminder is worded once per business: an opening, the appointment, a closing.
interface ReminderParts {
  readonly biz: string;
  readonly owner: string;
  readonly customer: string;
  readonly what: string;
  readonly when: string;
}
const OPENINGS = [
  (r: ReminderParts) => `${r.biz}: Hi ${r.customer},`,
  (r: ReminderParts) => `Hi ${r.customer}, it's ${r.owner} from ${r.biz} -`,
  (r: ReminderParts) => `Hello ${r.customer}! ${r.biz} here,`,
  (r: ReminderParts) => `${r.customer}, this is ${r.biz}:`,
] as const;
const MIDDLES = [
  (r: ReminderParts) => `your ${r.what} is ${r.when}.`,
  (r: ReminderParts) => `just a reminder of your ${r.what} ${r.when}.`,
  (r: ReminderParts) => `we have you down for ${r.when}.`,
  (r: ReminderParts) => `looking forward to your ${r.what} ${r.when}.`,
] as const;
const CLOSINGS = [
  'Reply C to confirm.',
  'Reply C to confirm or text us to reschedule.',
  'Let me know if you need to change it.',
  'Text back if anything comes up!',
] as const;

/** One business: its name, its own booking page, its trade and how it words things. */
export interface BusinessProfile {
  readonly name: string;
  /** Its booking page, on its own domain. */
  readonly bookingLink: string;
  /** A time within its opening hours, "2:15 PM". */
  time(): string;
  inquiry(): string;
  answer(link: string | null): string;
  ownerFollowUp(): string;
  reminder(customer: string, when: string, link: string | null): string;
  reminderReply(): string;
  /** The answer to a customer's reply to a reminder: a thank-you, or another time. */
  acknowledgement(customer: string, reply: string): string;
}

/** The k-th business of a scenario, with its own wording drawn from `rng`. */
export function businessProfile(k: number, rng: Random, text: Personaliser): BusinessProfile {
  const combos = PLACES.length * TRADES.length;
  const trade = TRADES[Math.floor(k / PLACES.length) % TRADES.length]!;
  const name = `${PLACES[k % PLACES.length]} ${trade.noun}`;
  const slug = name.toLowerCase().replace(/ /g, '-');
  const domain = `${slug}${k >= combos ? `-${Math.floor(k / combos) + 1}` : ''}.example`;
  const owner = text.firstName();
  const opening = rng.pick(OPENINGS);
  const middle = rng.pick(MIDDLES);
  const closing = rng.pick(CLOSINGS);
  const price = () => `$${rng.int(8, 36) * 5}`;
  // Opening hours: 8 AM to 5 PM.
  const clock = (hour: number, minutes: string) =>
    `${hour > 12 ? hour - 12 : hour}:${minutes} ${hour < 12 ? 'AM' : 'PM'}`;
  const time = () => clock(rng.int(8, 16), rng.pick(['00', '15', '30', '45']));
  const fill = (line: string) => line.replace('{time}', time()).replace('{day}', rng.pick(DAYS));
  return {
    name,
    bookingLink: `https://${domain}/book`,
    time,
    inquiry: () => rng.pick(trade.inquiries),
    answer: (link) => {
      const hour = rng.int(8, 14);
      const body = rng.pick(trade.answers)({
        owner,
        day: rng.pick(DAYS),
        time: clock(hour, '00'),
        later: clock(hour + rng.int(2, 3), '00'),
        price: price(),
        higher: `$${rng.int(19, 40) * 5}`,
      });
      return link === null ? body : `${body} Book: ${link}`;
    },
    ownerFollowUp: () => fill(rng.pick(OWNER_FOLLOW_UPS)),
    reminder: (customer, when, link) => {
      const parts = { biz: name, owner, customer, what: trade.appointment, when };
      return `${opening(parts)} ${middle(parts)} ${closing}${link === null ? '' : ` Manage it here: ${link}`}`;
    },
    reminderReply: () => fill(rng.pick(REMINDER_REPLIES)),
    acknowledgement: (customer, reply) =>
      /move|change/i.test(reply)
        ? `Sure, ${rng.pick(DAYS)} at ${time()} is open. Want it?`
        : rng.pick([`Thanks ${customer}, see you then!`, 'Great, thank you!', 'Perfect, see you then.']),
  };
}
