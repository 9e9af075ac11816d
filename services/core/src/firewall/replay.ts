/**
 * The enforcement replay: every message against the decisions in force at its time, through the
 * reference firewall (firewall.ts). A decision is in force from `inForceAt` on: in a live run the
 * moment it was published, so pipeline latency counts; in an in-process run its evidence time
 * plus the latency being modelled.
 */
import {
  type ContentDecisionView,
  createFirewall,
  type FirewallOptions,
  type MessageView,
  type SenderDecisionView,
  type Verdict,
} from './firewall.ts';

export interface Timed<D> {
  /** When the decision comes into force at the enforcement point, ms since the epoch. */
  readonly inForceAt: number;
  readonly decision: D;
}

export interface ReplayInput<M extends MessageView> {
  /** In time order. */
  readonly messages: Iterable<M>;
  readonly senderDecisions: readonly Timed<SenderDecisionView>[];
  readonly contentDecisions: readonly Timed<ContentDecisionView>[];
  readonly firewall?: FirewallOptions;
}

const byTime = <D>(list: readonly Timed<D>[]): Timed<D>[] =>
  list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.inForceAt - b.d.inForceAt || a.i - b.i)
    .map((x) => x.d);

/** Yields each message with the firewall's verdict; decisions at a message's time apply before it. */
export function* replayEnforcement<M extends MessageView>(
  input: ReplayInput<M>,
): Generator<{ readonly message: M; readonly verdict: Verdict }> {
  const firewall = createFirewall(input.firewall);
  const senders = byTime(input.senderDecisions);
  const contents = byTime(input.contentDecisions);
  let si = 0;
  let ci = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const message of input.messages) {
    if (message.time < last) throw new RangeError(`messages out of time order at ${message.time}`);
    last = message.time;
    while (ci < contents.length && contents[ci]!.inForceAt <= message.time)
      firewall.contentDecision(contents[ci++]!.decision);
    while (si < senders.length && senders[si]!.inForceAt <= message.time)
      firewall.senderDecision(senders[si++]!.decision);
    yield { message, verdict: firewall.message(message) };
  }
}
