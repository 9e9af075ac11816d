/**
 * A sender that ignores opt-outs: a home-buying outfit's texting bot working a list of owners
 * ("are you the owner of 4821 Maple Dr? cash offer"). It follows up on everyone who has not
 * said yes, a couple of times, half a minute apart, and answers every text it gets, STOP
 * included, with more pitch; a STOP gets "Are you sure? Reply YES to stop" and the pitch (a dark
 * pattern instead of the one confirmation allowed). Recipients who texted STOP keep getting
 * texts: the compliance violation (FCC: opt-outs must be honoured) and the strongest
 * content-neutral spam signal.
 *
 * The bot has been at it for a while when the run starts: the run opens mid-campaign, with
 * follow-ups due and STOPs coming in to texts sent before it (which the pipeline never saw).
 * It may run on several numbers (`senders`, then sized by its team) and may even be registered
 * (`campaignId`): registration sets throughput, it does not make ignoring STOP legal.
 */
import { param } from '../params.ts';
import { carrierOf, type OutcomeRates, respond } from '../responses.ts';
import { defineKind } from './kind.ts';

const REPLIES = ['Who is this?', 'Not selling', 'how did you get my number', 'no', 'not interested'] as const;

interface Member {
  readonly recipient: string;
  readonly name: string;
  readonly address: string;
  readonly dead: boolean;
  stopped: boolean;
  /** Has texted the bot: reads its texts within seconds. */
  engaged: boolean;
}

/**
 * Expected messages, the bot's and the member's, per list member. A text to a member who has not
 * texted STOP draws a STOP (then "are you sure?" and a pitch) or a reply (then a pitch); a text to
 * one who has draws another STOP with `repeatOptOutRate`, so it starts a chain of pitches and
 * STOPs. A follow-up finds the member stopped if an earlier text drew their STOP.
 */
function messagesPerMember(p: {
  readonly followUps: number;
  readonly deliveryFailureRate: number;
  readonly optOutRate: number;
  readonly repeatOptOutRate: number;
  readonly replyRate: number;
}): number {
  // A chain that only the run's end would stop is counted as ten rounds.
  const again = Math.min(p.repeatOptOutRate, 0.9);
  const toStopped = (1 + 2 * again) / (1 - again);
  const toFresh = (1 + p.optOutRate * (2 + toStopped) + p.replyRate) / (1 - Math.min(p.replyRate, 0.9));
  let live = 0;
  for (let k = 0; k <= p.followUps; k++) {
    const fresh = (1 - p.optOutRate) ** k;
    live += fresh * toFresh + (1 - fresh) * toStopped;
  }
  return (1 - p.deliveryFailureRate) * live + p.deliveryFailureRate * (1 + p.followUps);
}

export const ignoresOptOuts = defineKind({
  kind: 'ignores-opt-outs',
  summary: 'A texting bot that keeps texting people after they texted STOP',
  params: {
    campaignId: param.nullableString(
      null,
      'registered campaign id (list it in the registrations file); null for an unregistered sender',
      /^[A-Za-z0-9_-]{1,40}$/,
      'a campaign id',
    ),
    senders: param.nullableNumber(
      null,
      "the bot's numbers, each working its own part of the list; null: as many as the share needs",
      { min: 1, max: 10_000, integer: true },
    ),
    newRecipientSeconds: param.number(3, "median gap between a number's first texts to new list members, s", {
      min: 0.1,
      max: 3600,
    }),
    followUps: param.number(2, 'follow-ups to each member who has not said yes, STOP or not', {
      min: 0,
      max: 20,
      integer: true,
    }),
    followUpSeconds: param.number(30, 'median gap between follow-ups, s', { min: 1, max: 86_400 }),
    answerSeconds: param.range([3, 8], 'delay of the bot answering any text, STOP included, s', {
      min: 0,
      max: 3600,
    }),
    deliveryFailureRate: param.probability(0.1, 'share of list members whose number is dead'),
    optOutRate: param.probability(0.15, 'chance a member texts STOP after a text, until they have'),
    repeatOptOutRate: param.probability(
      0.5,
      'chance a member who texted STOP texts it again after another text',
    ),
    replyRate: param.probability(0.04, 'chance a member answers something else'),
    spamReportRate: param.probability(0.03, 'chance a member reports a text to 7726 (0.15 after their STOP)'),
    subscriberBlockRate: param.probability(0.02, 'chance a member blocks the number after a text'),
    runningForMinutes: param.number(
      10,
      'how long the bot has been working its list when the run starts, min',
      {
        min: 0,
        max: 24 * 60,
      },
    ),
  },
  sizedByTeam: (p) => p.senders !== null,
  truth: (p) => ({
    title:
      p.campaignId === null
        ? 'Sender that keeps texting people after they texted STOP'
        : 'Registered sender that keeps texting people after they texted STOP',
    spam: true,
    expect: { neverBlock: false, throttleAcceptable: false, actionRequired: 'BLOCK', blockWithinMs: 60_000 },
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const fresh: OutcomeRates = {
      deliveryFailureRate: 0,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: p.subscriberBlockRate,
    };
    const stopped: OutcomeRates = {
      deliveryFailureRate: 0,
      replyRate: 0,
      optOutRate: p.repeatOptOutRate,
      spamReportRate: Math.max(p.spamReportRate, 0.15),
      subscriberBlockRate: Math.max(p.subscriberBlockRate, 0.1),
    };
    const dead: OutcomeRates = { ...fresh, deliveryFailureRate: 1 };
    const perMember = messagesPerMember(p);
    const gapMs = p.newRecipientSeconds * 1000 * Math.exp(0.045);
    const perNumber = (perMember * 1000) / gapMs;
    const senders = p.senders ?? Math.max(1, Math.round(ratePerSecond / perNumber));
    const numbers = pool.allocate(`${id} numbers`, senders, 'local');
    // The list is worked from before the run (runningForMinutes) to its end, each member once.
    const worked = senders * (durationMs + p.runningForMinutes * 60_000);
    const list = pool.allocate(`${id} list`, Math.ceil((worked / gapMs) * 1.2) + 100, 'national');
    let next = 0;
    const [answerLo, answerHi] = p.answerSeconds;
    /** Texts a member; `answered`: they react to it (false for the first of two texts sent together). */
    const deliver = (sender: string, m: Member, body: string, answered = true) => {
      const messageId = sim.message(id, {
        sender,
        senderKind: 'LONG_CODE',
        recipient: m.recipient,
        body,
        campaignId: p.campaignId,
        // A registered sender's texts come in through its messaging provider.
        originNetwork: p.campaignId === null ? carrierOf(sender) : 'aggregator-3',
      });
      if (!answered) return;
      const rates = m.dead ? dead : m.stopped ? stopped : fresh;
      respond(sim, rng, { label: id, sender, recipient: m.recipient, messageId }, rates, {
        engaged: m.engaged,
        replyText: () => rng.pick(REPLIES),
        onReply: () => {
          m.engaged = true;
          botAnswers(sender, m);
        },
        onOptOut: () => {
          m.stopped = true;
          m.engaged = true;
          // The dark pattern: "are you sure?" instead of honouring the STOP, then the pitch.
          sim.after(rng.uniform(answerLo, answerHi) * 1000, () => {
            deliver(
              sender,
              m,
              `Are you sure? Reply YES to stop getting cash offers for ${m.address}.`,
              false,
            );
            botAnswers(sender, m);
          });
        },
      });
    };
    const botAnswers = (sender: string, m: Member) =>
      sim.after(rng.uniform(answerLo, answerHi) * 1000, () =>
        deliver(
          sender,
          m,
          `Before you go ${m.name}: no fees, no repairs, close on your timeline. Want a number?`,
        ),
      );
    const approach = (sender: string) => {
      const m: Member = {
        recipient: list.at(next++),
        name: text.firstName(),
        address: text.address(),
        dead: rng.chance(p.deliveryFailureRate),
        stopped: false,
        engaged: false,
      };
      deliver(
        sender,
        m,
        `Hi ${m.name}, are you the owner of ${m.address}? I'm a local investor and would like to make you a ` +
          'cash offer this week. Interested?',
      );
      let at = sim.now;
      for (let k = 1; k <= p.followUps; k++) {
        at += rng.logNormal(p.followUpSeconds * 1000, 0.3);
        sim.at(at, () =>
          deliver(
            sender,
            m,
            k === 1
              ? `${m.name}, just checking you saw my text about ${m.address}? Cash offer, any condition, we close in 7 days.`
              : `Hello? Still open to an offer on ${m.address}?`,
          ),
        );
      }
    };
    return {
      plannedSenders: senders,
      ratePerSecond: senders * perNumber,
      start() {
        for (let k = 0; k < senders; k++) {
          const sender = numbers.at(k);
          const tick = () => {
            approach(sender);
            sim.after(rng.logNormal(p.newRecipientSeconds * 1000, 0.3), tick);
          };
          // Under way before the run: it opens with follow-ups due and answers coming in.
          sim.at(sim.now - p.runningForMinutes * 60_000 + rng.uniform(0, p.newRecipientSeconds * 1000), tick);
        }
      },
    };
  },
});
