/**
 * Reassigned numbers: a number that used to belong to a spammer, disconnected, aged and handed
 * to a new subscriber who texts friends like anyone else. The previous owner's reputation
 * still arrives: spam reports and blocks about texts sent before the number changed hands
 * (outcomes lag: people report hours or days later), and strangers texting STOP or "who is
 * this?" to it. The new owner never texts those strangers. spamgate has to judge the number by
 * what it does now: complaints about someone else's texts, with no volume or spread of its own,
 * must not block it.
 *
 * The previous owner's spamming is not in the stream: numbers age for weeks before they are
 * reassigned, longer than any feature window, so within a run only its late echoes can appear.
 */
import { param } from '../params.ts';
import { ANSWERING_LABEL, carrierOf, stopText } from '../responses.ts';
import { chatOpener, chatReply } from './chat-text.ts';
import { converse, type Party } from './conversation.ts';
import { defineKind, LEGITIMATE, poisson } from './kind.ts';

const WARM_UP_MS = 15 * 60_000;
const STRANGER_TEXTS = ['Who is this?', 'who is this', 'Remove me from your list', 'wrong number'] as const;

export const reassignedNumber = defineKind({
  kind: 'reassigned-number',
  summary:
    "Reassigned numbers: new owners texting friends while the previous owner's complaints still arrive",
  params: {
    messagesPerOwnerPerHour: param.number(
      90,
      'texts the new owner sends in an hour (an active texter: the run should see them)',
      { min: 0.1, max: 600 },
    ),
    contacts: param.number(8, "the new owner's contacts", { min: 1, max: 100, integer: true }),
    meanConversationMessages: param.number(8, 'mean texts per conversation, both sides', {
      min: 1,
      max: 200,
    }),
    replyDelaySeconds: param.number(20, 'median delay before the other side answers, s', {
      min: 1,
      max: 3600,
    }),
    spamReports: param.number(
      4,
      "spam reports about the previous owner's texts arriving per number in the run",
      {
        min: 0,
        max: 1000,
        integer: true,
      },
    ),
    subscriberBlocks: param.number(3, "blocks by the previous owner's recipients per number in the run", {
      min: 0,
      max: 1000,
      integer: true,
    }),
    strangerTexts: param.number(
      4,
      'texts per number from people the previous owner texted (STOP, "who is this?")',
      {
        min: 0,
        max: 1000,
        integer: true,
      },
    ),
  },
  truth: () => ({
    title: "Reassigned numbers: new owners texting friends, the previous owner's complaints still arriving",
    spam: false,
    expect: LEGITIMATE,
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    // The owner's texts are about half of each conversation.
    const owners = Math.max(1, Math.round((ratePerSecond * 3600) / (2 * p.messagesPerOwnerPerHour)));
    const ownerNumbers = pool.allocate(`${id} numbers`, owners, 'local');
    const friends = pool.allocate(`${id} new owners' contacts`, owners * p.contacts, 'local');
    const echoes = p.spamReports + p.subscriberBlocks + p.strangerTexts;
    const strangers = pool.allocate(
      `${id} previous owners' recipients`,
      owners * Math.max(1, echoes),
      'national',
    );
    const spec = {
      meanMessages: p.meanConversationMessages,
      replyDelayMs: p.replyDelaySeconds * 1000,
      opener: () => chatOpener(rng, text),
      reply: () => chatReply(rng),
    };
    return {
      plannedSenders: owners,
      start() {
        poisson(sim, rng, ratePerSecond / p.meanConversationMessages, sim.now - WARM_UP_MS, (t) => {
          const k = rng.int(0, owners - 1);
          const owner: Party = { address: ownerNumbers.at(k), label: id };
          const friend: Party = {
            address: friends.at(k * p.contacts + rng.int(0, p.contacts - 1)),
            label: ANSWERING_LABEL,
          };
          if (rng.chance(0.5)) converse(sim, rng, spec, owner, friend, t);
          else converse(sim, rng, spec, friend, owner, t);
        });
        const span = durationMs * 0.8;
        for (let k = 0; k < owners; k++) {
          const owner = ownerNumbers.at(k);
          for (let e = 0; e < echoes; e++) {
            const stranger = strangers.at(k * echoes + e);
            sim.at(sim.now + rng.uniform(0, span), () => {
              if (e < p.spamReports || e < p.spamReports + p.subscriberBlocks) {
                sim.feedback(id, {
                  kind: e < p.spamReports ? 'SPAM_REPORT' : 'SUBSCRIBER_BLOCK',
                  sender: owner,
                  recipient: stranger,
                  messageId: null,
                  errorCode: null,
                });
              } else {
                sim.message(ANSWERING_LABEL, {
                  sender: stranger,
                  senderKind: 'LONG_CODE',
                  recipient: owner,
                  body: rng.chance(0.5) ? stopText(rng) : rng.pick(STRANGER_TEXTS),
                  campaignId: null,
                  originNetwork: carrierOf(stranger),
                });
              }
            });
          }
        }
      },
    };
  },
});
