/**
 * Ordinary subscribers texting their contacts: most of a network's traffic. A population of
 * people, each with a circle of contacts (mutual: if B is A's contact, A is B's), who start
 * conversations now and then, mostly with their closest few contacts; the other side answers
 * after a human delay, and the texts go back and forth until the conversation dies out.
 */
import { param } from '../params.ts';
import { chatOpener, chatReply } from './chat-text.ts';
import { converse, type Party } from './conversation.ts';
import { defineKind, LEGITIMATE, poisson } from './kind.ts';

/** Conversations may have started this long before the run: it opens mid-conversation. */
const WARM_UP_MS = 15 * 60_000;

export const ordinaryChat = defineKind({
  kind: 'ordinary-chat',
  summary: 'Subscribers texting their contacts back and forth',
  params: {
    messagesPerSubscriberPerHour: param.number(
      20,
      'texts an average subscriber sends in an hour (sets the population size for the rate)',
      { min: 0.1, max: 600 },
    ),
    contacts: param.number(16, 'contacts per subscriber (even)', { min: 2, max: 64, integer: true }),
    meanConversationMessages: param.number(8, 'mean texts per conversation, both sides', {
      min: 1,
      max: 200,
    }),
    replyDelaySeconds: param.number(20, 'median delay before the other side answers, s', {
      min: 1,
      max: 3600,
    }),
  },
  truth: () => ({ title: 'Ordinary subscribers texting their contacts', spam: false, expect: LEGITIMATE }),
  build(p, { id, ratePerSecond, sim, rng, text, pool }) {
    const subscribers = Math.max(
      p.contacts + 1,
      Math.ceil((ratePerSecond * 3600) / p.messagesPerSubscriberPerHour),
    );
    const numbers = pool.allocate(`${id} subscribers`, subscribers, 'local');
    // Mutual circles: i's contacts are i +- each offset, so j = i + o has i = j - o among its own.
    const half = Math.floor(p.contacts / 2);
    const offsets: number[] = [];
    while (offsets.length < Math.min(half, Math.floor((subscribers - 1) / 2))) {
      const o = rng.int(1, Math.floor((subscribers - 1) / 2));
      if (!offsets.includes(o)) offsets.push(o);
    }
    // The k-th closest contact is texted about 1/(k+1) as often as the closest.
    const weights = Array.from({ length: offsets.length * 2 }, (_, k) => 1 / (k + 1));
    const total = weights.reduce((s, w) => s + w, 0);
    const contactOf = (i: number): number => {
      let u = rng.next() * total;
      let k = 0;
      while (k < weights.length - 1 && u >= weights[k]!) u -= weights[k++]!;
      const o = offsets[k >> 1]!;
      return (k & 1 ? i - o + subscribers : i + o) % subscribers;
    };
    const party = (i: number): Party => ({ address: numbers.at(i), label: id });
    const spec = {
      meanMessages: p.meanConversationMessages,
      replyDelayMs: p.replyDelaySeconds * 1000,
      opener: () => chatOpener(rng, text),
      reply: () => chatReply(rng),
    };
    return {
      plannedSenders: subscribers,
      start() {
        poisson(sim, rng, ratePerSecond / p.meanConversationMessages, sim.now - WARM_UP_MS, (t) => {
          const a = rng.int(0, subscribers - 1);
          converse(sim, rng, spec, party(a), party(contactOf(a)), t);
        });
      },
    };
  },
});
