// Synthetic labels and observations for the report's unit tests.
import type { Expectation, Labels, ScenarioLabel } from '../../src/labels.ts';
import type { Action, Observed, SenderObservation } from '../../src/report/model.ts';

export const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);

export const LEGIT: Expectation = {
  neverBlock: true,
  throttleAcceptable: false,
  actionRequired: 'NONE',
  blockWithinMs: null,
};
export const REGISTERED: Expectation = { ...LEGIT, throttleAcceptable: true };
export const SPAM: Expectation = {
  neverBlock: false,
  throttleAcceptable: true,
  actionRequired: 'THROTTLE_OR_BLOCK',
  blockWithinMs: null,
};
export const PHISHING: Expectation = { ...SPAM, actionRequired: 'BLOCK', blockWithinMs: 60_000 };

/** A scenario whose senders are `${id}-0`, `${id}-1`, ..., the i-th first sending at T0 + i s. */
export function scenario(id: string, spam: boolean, expect: Expectation, senders: number): ScenarioLabel {
  return {
    id,
    title: `Scenario ${id}`,
    spam,
    expect,
    senders: Array.from({ length: senders }, (_, i) => ({
      sender: `${id}-${i}`,
      firstMessageAt: T0 + i * 1_000,
      messages: 10,
    })),
  };
}

export function labels(...scenarios: ScenarioLabel[]): Labels {
  return {
    version: 1,
    seed: 7,
    startedAt: T0,
    endedAt: T0 + 10 * 60_000,
    ratePerSecond: 50,
    topicPrefix: 'run1',
    scenarios,
  };
}

const RANK: Record<Action, number> = { ALLOW: 0, MONITOR: 1, THROTTLE: 2, BLOCK: 3 };

/**
 * A sender that got `actions` in turn, the i-th based on event time `at[i]` (default T0 + 10 s
 * steps) and decided 2 s later; final is the last one.
 */
export function seen(
  sender: string,
  actions: readonly Action[],
  at: readonly number[] = [],
): SenderObservation {
  const when = (i: number) => at[i] ?? T0 + (i + 1) * 10_000;
  const first = (ok: (a: Action) => boolean) => {
    const i = actions.findIndex(ok);
    return i < 0 ? null : { eventMs: when(i), decidedAtMs: when(i) + 2_000 };
  };
  return {
    sender,
    messages: 10,
    evaluations: actions.length,
    finalAction: actions.at(-1) ?? 'ALLOW',
    strongestAction: actions.reduce<Action>((s, a) => (RANK[a] > RANK[s] ? a : s), 'ALLOW'),
    firstThrottleOrBlock: first((a) => a === 'THROTTLE' || a === 'BLOCK'),
    firstBlock: first((a) => a === 'BLOCK'),
  };
}

export function observed(senders: SenderObservation[], extra: Partial<Observed> = {}): Observed {
  return {
    fromMs: T0,
    toMs: T0 + 10 * 60_000,
    senders,
    offenders: [],
    timelines: [],
    deadLetters: { total: 0, byCause: [] },
    ...extra,
  };
}
