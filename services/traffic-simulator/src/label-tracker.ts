/**
 * Builds the labels (labels.ts) from the events actually sent: every scenario of the plan from
 * the start, each sender once its first message went out, with that message's event time and a
 * running count. So labels written mid-run describe exactly the traffic sent so far.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { Labels, ScenarioLabel, SenderLabel } from './labels.ts';
import { ANSWERING_LABEL } from './responses.ts';
import type { SimEvent } from './simulation.ts';
import type { PlannedScenario } from './traffic.ts';

export interface LabelTracker {
  /** Counts a sent event. */
  record(event: SimEvent): void;
  /** The labels so far. */
  labels(): Labels;
}

interface SenderCount {
  firstMessageAt: number;
  messages: number;
}

/** The pseudo-scenario of everyone answering a scenario's sender: legitimate people. */
export const ANSWERING_SCENARIO = Object.freeze({
  id: ANSWERING_LABEL,
  kind: ANSWERING_LABEL,
  title: "Recipients answering the scenarios' senders (replies, STOPs, contacts' texts)",
  spam: false,
  expect: Object.freeze({
    neverBlock: true,
    throttleAcceptable: false,
    actionRequired: 'NONE',
    blockWithinMs: null,
  } as const),
});

export function createLabelTracker(run: {
  readonly seed: number;
  readonly ratePerSecond: number;
  readonly topicPrefix: string;
  readonly startTime: number;
  readonly scenarios: readonly PlannedScenario[];
}): LabelTracker {
  const scenarios = [
    ...run.scenarios.map(({ id, kind, title, spam, expect }) => ({ id, kind, title, spam, expect })),
    ANSWERING_SCENARIO,
  ];
  const senders = new Map<string, Map<string, SenderCount>>(scenarios.map((s) => [s.id, new Map()]));
  let first: number | undefined;
  let last: number | undefined;
  return {
    record(event) {
      const t = event.value.eventTime;
      if (first === undefined || t < first) first = t;
      if (last === undefined || t > last) last = t;
      if (event.type !== 'message') return;
      const book = senders.get(event.label);
      if (!book) throw new Error(`event of unknown scenario ${event.label}`);
      const sender = event.value.sender;
      const count = book.get(sender);
      if (count) {
        count.messages++;
        if (t < count.firstMessageAt) count.firstMessageAt = t;
      } else book.set(sender, { firstMessageAt: t, messages: 1 });
    },
    labels() {
      return {
        version: 1,
        seed: run.seed,
        startedAt: first ?? run.startTime,
        endedAt: last ?? run.startTime,
        ratePerSecond: run.ratePerSecond,
        topicPrefix: run.topicPrefix,
        scenarios: scenarios.map(
          (s): ScenarioLabel => ({
            ...s,
            senders: [...senders.get(s.id)!].map(
              ([sender, c]): SenderLabel => ({
                sender,
                firstMessageAt: c.firstMessageAt,
                messages: c.messages,
              }),
            ),
          }),
        ),
      };
    },
  };
}

/** Writes labels as JSON atomically (a temporary file renamed over the old one). */
export async function writeLabels(path: string, labels: Labels): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(labels, null, 1)}\n`);
  await rename(temporary, path);
}
