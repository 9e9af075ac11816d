/**
 * Peer-to-peer (P2P) political texting: many volunteers, each on their own number, work through
 * a voter file with one script personalised with the voter's and the volunteer's names. Every
 * message is sent by a person pressing send, a few seconds apart and irregular, with breaks.
 * Some voters answer (the volunteer writes back), some text STOP (never texted again), some
 * numbers fail (voter files go stale), and a few recipients report the text as spam.
 *
 * With a campaign id this is a registered campaign (10DLC, with a Campaign Verify token); with
 * null the same shape unregistered, which is how the July 2020 and 2022 blocks happened: one
 * script from many numbers looks like snowshoe spam.
 */
import { param } from '../params.ts';
import { answersPerMessage, carrierOf, type OutcomeRates, readDelay, respond } from '../responses.ts';
import type { Personaliser } from '../text.ts';
import { defineKind } from './kind.ts';

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,40}$/;

interface Script {
  readonly link: string;
  opener(voter: string, volunteer: string, text: Personaliser): string;
  /** What people answer with (not an opt-out). */
  readonly replies: readonly string[];
  /** The volunteer's thanks to a yes. */
  thanks(voter: string): string;
}

const VOTER_REPLIES = [
  'Yes!',
  'Already voted',
  'Who is this?',
  'No thanks',
  'Where do I vote?',
  'Not interested',
  'Absolutely',
  "I'll be there",
  'wrong number',
  'how did you get my number?',
  'What time do polls close?',
  'Count me in',
] as const;
const SIGNER_REPLIES = [
  'Signed!',
  'Done',
  'Who is this?',
  'No thanks',
  'When is the meeting?',
  'Not interested',
  "I don't have kids in school",
  'Already signed',
  'wrong number',
  'how did you get my number?',
  'Yes',
  'Count me in',
] as const;
const thanksForVote = (voter: string) => `Thank you so much, ${voter}! Every vote counts.`;

const SCRIPTS = {
  'senate-gotv': {
    link: 'https://riveraforsenate.example/vote',
    opener: (voter, volunteer, text) =>
      `Hi ${voter}, this is ${volunteer} with Dana Rivera for Senate. Election Day is ${text.date(5, 20)}! ` +
      'Can we count on your vote for Dana? Find your polling place at https://riveraforsenate.example/vote ' +
      'Reply STOP to opt out',
    replies: VOTER_REPLIES,
    thanks: thanksForVote,
  },
  'ballot-measure': {
    link: 'https://cleanwaterneighbors.example/measure4',
    opener: (voter, volunteer, text) =>
      `Hey ${voter}! It's ${volunteer}, a volunteer with Neighbors for Clean Water. Measure 4 on the ` +
      `${text.shortDate(5, 20)} ballot would replace our town's old lead pipes. Will you vote yes? ` +
      'Details: https://cleanwaterneighbors.example/measure4 Text STOP to quit',
    replies: VOTER_REPLIES,
    thanks: thanksForVote,
  },
  'school-budget': {
    link: 'https://mvparentsforschools.example/budget',
    opener: (voter, volunteer, text) =>
      `Hi ${voter}, it's ${volunteer} with Parents for Maple Valley Schools. The school board votes on ` +
      `${text.shortDate(3, 10)} on cutting music and art. Can you sign our letter to the board? ` +
      'https://mvparentsforschools.example/budget Reply STOP to opt out',
    replies: SIGNER_REPLIES,
    thanks: (voter) => `Thank you, ${voter}! Every name on the letter helps.`,
  },
} as const satisfies Record<string, Script>;

export const p2pCampaign = defineKind({
  kind: 'p2p-campaign',
  summary: 'Peer-to-peer political texting: volunteers on many numbers, one personalised script',
  params: {
    campaignId: param.nullableString(
      null,
      'registered campaign id (list it in the registrations file); null for an unregistered campaign',
      CAMPAIGN_ID,
      'a campaign id',
    ),
    script: param.oneOf<keyof typeof SCRIPTS>('senate-gotv', 'the script the volunteers send', [
      'senate-gotv',
      'ballot-measure',
      'school-budget',
    ]),
    sendGapSeconds: param.number(
      5,
      "median gap between one volunteer's sends, s (log-normal, human click pace)",
      {
        min: 0.5,
        max: 3600,
      },
    ),
    breakChance: param.probability(0.03, 'chance a volunteer pauses after a send'),
    breakSeconds: param.number(90, 'median length of a pause, s', { min: 1, max: 86_400 }),
    loginWithinSeconds: param.number(60, 'volunteers start within this many seconds of the run', {
      min: 0,
      max: 86_400,
    }),
    replyRate: param.probability(0.08, 'share of voters who answer'),
    optOutRate: param.probability(0.03, 'share of voters who text STOP'),
    deliveryFailureRate: param.probability(0.08, 'share of numbers that fail (stale voter file)'),
    spamReportRate: param.probability(0.002, 'share of voters who report the text as spam'),
    followUpRate: param.probability(0.7, 'share of answers the volunteer writes back to'),
  },
  truth: (p) =>
    p.campaignId === null
      ? {
          title: 'Unregistered campaign, peer-to-peer texting (same shape, no campaign id)',
          spam: false,
          // Wanted traffic, but unregistered volunteers texting for an organisation are not
          // consumer traffic (CTIA 2023): consumer limits may throttle it; blocking it is the
          // 2020 false positive.
          expect: { neverBlock: true, throttleAcceptable: true, actionRequired: 'NONE', blockWithinMs: null },
        }
      : {
          title: 'Registered political campaign, peer-to-peer texting',
          spam: false,
          expect: {
            neverBlock: true,
            throttleAcceptable: false,
            actionRequired: 'NONE',
            blockWithinMs: null,
          },
        },
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const rates: OutcomeRates = {
      deliveryFailureRate: p.deliveryFailureRate,
      replyRate: p.replyRate,
      optOutRate: p.optOutRate,
      spamReportRate: p.spamReportRate,
      subscriberBlockRate: p.spamReportRate / 2,
    };
    const answered = answersPerMessage(rates);
    const followUps = (1 - p.deliveryFailureRate) * p.replyRate * p.followUpRate;
    const outbound = ratePerSecond / (1 + answered + followUps);
    const sigma = 0.5;
    const meanGapMs =
      p.sendGapSeconds * 1000 * Math.exp((sigma * sigma) / 2) +
      p.breakChance * p.breakSeconds * 1000 * Math.exp(0.125);
    const volunteers = Math.max(1, Math.round((outbound * meanGapMs) / 1000));
    const numbers = pool.allocate(`${id} volunteers`, volunteers, 'local');
    const voters = pool.allocate(
      `${id} voter file`,
      Math.ceil(outbound * (durationMs / 1000) * 1.2) + 100,
      'local',
    );
    const script: Script = SCRIPTS[p.script];
    let nextVoter = 0;
    const send = (sender: string, recipient: string, body: string) =>
      sim.message(id, {
        sender,
        senderKind: 'LONG_CODE',
        recipient,
        body,
        campaignId: p.campaignId,
        originNetwork: carrierOf(sender),
      });
    const textVoter = (sender: string, volunteer: string) => {
      const recipient = voters.at(nextVoter++);
      const voter = text.firstName();
      const messageId = send(sender, recipient, script.opener(voter, volunteer, text));
      respond(sim, rng, { label: id, sender, recipient, messageId }, rates, {
        replyText: () => rng.pick(script.replies),
        onReply: (reply) => {
          if (!rng.chance(p.followUpRate)) return;
          sim.after(readDelay(rng, true) + rng.logNormal(15_000, 0.5), () => {
            const negative = /no|not|wrong|who|how did/i.test(reply);
            send(
              sender,
              recipient,
              negative
                ? `Sorry to bother you, ${voter}. Have a good day!`
                : rng.chance(0.5)
                  ? script.thanks(voter)
                  : `Great! Everything you need is at ${script.link}`,
            );
          });
        },
      });
    };
    return {
      plannedSenders: volunteers,
      start() {
        const login = Math.min(p.loginWithinSeconds * 1000, durationMs / 10);
        for (let k = 0; k < volunteers; k++) {
          const sender = numbers.at(k);
          const volunteer = text.firstName();
          const click = () => {
            textVoter(sender, volunteer);
            let gap = rng.logNormal(p.sendGapSeconds * 1000, sigma);
            if (rng.chance(p.breakChance)) gap += rng.logNormal(p.breakSeconds * 1000, 0.5);
            sim.after(gap, click);
          };
          sim.at(sim.now + rng.uniform(0, login), click);
        }
      },
    };
  },
});
