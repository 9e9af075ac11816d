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
    kind: id,
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

/** A sender address and scenario id written to break HTML, attributes and terminals. */
export const HOSTILE_SENDER = `<script>alert("s")</script>'&\x1b[31m`;
export const HOSTILE_SCENARIO = `x"><img src=x onerror=alert(1)>`;

/**
 * A run of three scenarios (one hostile) with timelines and offenders, as reportOf gets it:
 * 5 nonzero bar segments, 3 timelines with 3, 1 and 0 changes.
 */
export function sampleRun(): { labels: Labels; observed: Observed } {
  const run = labels(
    scenario('ordinary', false, LEGIT, 3),
    { ...scenario('blast', true, SPAM, 2), title: 'Blast </style><b>bold</b>' },
    {
      id: HOSTILE_SCENARIO,
      kind: 'snowshoe',
      title: 'Hostile "title" <i>',
      spam: true,
      expect: PHISHING,
      senders: [{ sender: HOSTILE_SENDER, firstMessageAt: T0, messages: 300 }],
    },
  );
  const minutes = (counts: number[]) =>
    counts.map((messages, i) => ({ minuteMs: T0 + i * 60_000, messages }));
  const change = (from: Action, to: Action, atMs: number) => ({
    atMs,
    decidedAtMs: atMs + 1_000,
    from,
    to,
    trigger: 'FEATURES',
    reasons: ['<REASON>'],
  });
  const senders = [
    seen('ordinary-0', ['ALLOW']),
    seen('ordinary-1', ['MONITOR']),
    seen('ordinary-2', []),
    seen('blast-0', ['THROTTLE', 'BLOCK']),
    seen('blast-1', ['THROTTLE', 'ALLOW']),
    seen(HOSTILE_SENDER, ['BLOCK'], [T0 + 30_000]),
  ];
  return {
    labels: run,
    observed: observed(senders, {
      offenders: [
        {
          sender: HOSTILE_SENDER,
          messages: 300,
          urlMessages: 300,
          spamReports: 4,
          finalAction: 'BLOCK',
          strongestAction: 'BLOCK',
          topReasons: [{ code: '<DENY>', evaluations: 3 }],
        },
        {
          sender: 'blast-0',
          messages: 200,
          urlMessages: 0,
          spamReports: 0,
          finalAction: 'BLOCK',
          strongestAction: 'BLOCK',
          topReasons: [],
        },
      ],
      timelines: [
        {
          sender: 'blast-0',
          minutes: minutes([10, 80, 60, 0, 50, 0, 0, 0, 0, 0, 0]),
          changes: [
            change('ALLOW', 'THROTTLE', T0 + 70_000),
            change('THROTTLE', 'BLOCK', T0 + 130_000),
            change('BLOCK', 'ALLOW', T0 + 400_000),
          ],
        },
        {
          sender: HOSTILE_SENDER,
          minutes: minutes([300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
          changes: [change('ALLOW', 'BLOCK', T0 + 30_000)],
        },
        { sender: 'ordinary-1', minutes: minutes([1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]), changes: [] },
      ],
      deadLetters: {
        total: 2,
        byCause: [
          {
            service: 'feature-engine',
            originalTopic: 'run1.sms.message-events',
            errorCode: 'BAD_MARKER',
            records: 2,
          },
        ],
      },
    }),
  };
}
