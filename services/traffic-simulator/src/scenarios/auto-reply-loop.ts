/**
 * Two auto-responders answering each other: one phone's driving mode answers every text, the
 * other number's away message answers every text too, so one human "hey are you around?" sets
 * off an endless machine exchange, one identical text every few seconds from each side, to a
 * single recipient who is a two-way contact.
 */
import { param } from '../params.ts';
import { carrierOf } from '../responses.ts';
import { defineKind } from './kind.ts';

export const autoReplyLoop = defineKind({
  kind: 'auto-reply-loop',
  summary: 'Two auto-responders answering each other without end',
  params: {
    replyDelaySeconds: param.range([2, 6], 'delay of each automatic reply, s (uniform)', {
      min: 0.1,
      max: 600,
    }),
    startWithinSeconds: param.number(
      60,
      'loops start within this many seconds of the run (at most a tenth of it)',
      {
        min: 0,
        max: 86_400,
      },
    ),
  },
  truth: () => ({
    title: 'Auto-reply loop between two numbers',
    spam: false,
    expect: { neverBlock: true, throttleAcceptable: true, actionRequired: 'NONE', blockWithinMs: null },
  }),
  build(p, { id, ratePerSecond, durationMs, sim, rng, text, pool }) {
    const [lo, hi] = p.replyDelaySeconds;
    const meanDelayMs = ((lo + hi) / 2) * 1000;
    const pairs = Math.max(1, Math.round((ratePerSecond * meanDelayMs) / 1000));
    const numbers = pool.allocate(`${id} numbers`, pairs * 2, 'local');
    return {
      plannedSenders: pairs * 2,
      start() {
        const window = Math.min(p.startWithinSeconds * 1000, durationMs / 10);
        for (let k = 0; k < pairs; k++) {
          const driver = numbers.at(2 * k);
          const away = numbers.at(2 * k + 1);
          const awayText =
            `Thanks for your text! I'm away until ${text.date(3, 12)} with limited access to my phone. ` +
            'For anything urgent please call the office.';
          const drivingText =
            "I'm driving with notifications silenced. I'll see your message when I get where I'm going.";
          const send = (from: string, to: string, body: string) =>
            sim.message(id, {
              sender: from,
              senderKind: 'LONG_CODE',
              recipient: to,
              body,
              campaignId: null,
              originNetwork: carrierOf(from),
            });
          const delay = () => rng.uniform(lo, hi) * 1000;
          const driverReplies = () => {
            send(driver, away, drivingText);
            sim.after(delay(), awayReplies);
          };
          const awayReplies = () => {
            send(away, driver, awayText);
            sim.after(delay(), driverReplies);
          };
          sim.at(sim.now + rng.uniform(0, window), () => {
            send(away, driver, 'hey are you around?');
            sim.after(delay(), driverReplies);
          });
        }
      },
    };
  },
});
