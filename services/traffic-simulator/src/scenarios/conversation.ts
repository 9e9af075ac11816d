/**
 * A text conversation between two people: the opener, then texts back and forth (sometimes two
 * in a row), each after a human reply delay, until it dies out. A conversation may start before
 * the run does: its texts before the start are not emitted, so the run opens mid-conversation
 * as real traffic would.
 */
import type { Random } from '../random.ts';
import { carrierOf } from '../responses.ts';
import type { Simulation } from '../simulation.ts';

export interface Party {
  readonly address: string;
  /** Scenario id of this party's texts. */
  readonly label: string;
}

export interface ConversationSpec {
  /** Mean number of texts (geometric). */
  readonly meanMessages: number;
  /** Median delay before the other person answers, ms (log-normal, sigma 1). */
  readonly replyDelayMs: number;
  opener(): string;
  reply(): string;
  /** Called with each text's sender and recipient after it is emitted. */
  onText?(from: Party, to: Party): void;
}

const DOUBLE_TEXT_MS = 5000;

/** Runs a conversation that `a` opens with `b` at event time `t0`. */
export function converse(
  sim: Simulation,
  rng: Random,
  spec: ConversationSpec,
  a: Party,
  b: Party,
  t0: number,
): void {
  const keepGoing = 1 - 1 / Math.max(1, spec.meanMessages);
  let t = t0;
  let speaker = 0;
  let sent = 0;
  const advance = (): boolean => {
    if (!rng.chance(keepGoing)) return false;
    if (rng.chance(0.75)) {
      speaker ^= 1;
      t += rng.logNormal(spec.replyDelayMs, 1);
    } else t += rng.logNormal(DOUBLE_TEXT_MS, 0.6);
    return true;
  };
  for (; t < sim.now; sent++) if (!advance()) return;
  const send = () => {
    const [from, to] = speaker === 0 ? [a, b] : [b, a];
    sim.message(from.label, {
      sender: from.address,
      senderKind: 'LONG_CODE',
      recipient: to.address,
      body: sent === 0 ? spec.opener() : spec.reply(),
      campaignId: null,
      originNetwork: carrierOf(from.address),
    });
    spec.onText?.(from, to);
    sent++;
    if (advance()) sim.at(t, send);
  };
  sim.at(t, send);
}
