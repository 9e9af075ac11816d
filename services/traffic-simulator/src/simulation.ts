/**
 * The discrete-event core: scenarios schedule actions at event times; the simulation runs them
 * in time order (ties in the order they were scheduled) and an action emits events stamped
 * with its own time. So events come out in event-time order, one at a time, and only what is
 * scheduled (answers still to come, the next message of each conversation) is held in memory.
 */
import type { FeedbackEvent, MessageEvent } from '@spamgate/schemas';

/** A MessageEvent with the scenario whose sender sent it (the labels' scenario id). */
export interface SimMessage {
  readonly type: 'message';
  readonly label: string;
  readonly value: MessageEvent;
}

/** A FeedbackEvent with the scenario of the sender it is about. */
export interface SimFeedback {
  readonly type: 'feedback';
  readonly label: string;
  readonly value: FeedbackEvent;
}

export type SimEvent = SimMessage | SimFeedback;

export type MessageFields = Omit<MessageEvent, 'messageId' | 'eventTime'>;
export type FeedbackFields = Omit<FeedbackEvent, 'feedbackId' | 'eventTime'>;

export interface Simulation {
  /** Event time of the action running now, ms since the epoch. */
  readonly now: number;
  /** First and last (exclusive) event time of the run. */
  readonly start: number;
  readonly end: number;
  /**
   * Runs `action` at event time `t` (not before now); dropped when t is at or past the end.
   * Before the run starts (while scenarios schedule their first actions) `t` may lie before
   * the start: a warm-up, whose actions run in order but whose events are not emitted, so the
   * run opens with the scenario already under way (follow-ups and answers still to come).
   */
  at(t: number, action: () => void): void;
  /** Runs `action` `ms` after now. */
  after(ms: number, action: () => void): void;
  /**
   * Emits a MessageEvent at now, sent by a sender of scenario `label`; returns its messageId.
   * During a warm-up (now before the start) nothing is emitted.
   */
  message(label: string, fields: MessageFields): string;
  /** Emits a FeedbackEvent at now about a sender of scenario `label`. */
  feedback(label: string, fields: FeedbackFields): void;
}

interface Action {
  readonly t: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap of actions by (t, seq). */
class ActionHeap {
  #items: Action[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(a: Action): void {
    const items = this.#items;
    items.push(a);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = a;
  }

  pop(): Action | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= items.length) break;
      const r = l + 1;
      const child = r < items.length && before(items[r]!, items[l]!) ? r : l;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

function before(a: Action, b: Action): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

/**
 * A simulation over [start, end). `runTag` goes into every message and feedback id, so runs
 * with different seeds or start times never share ids.
 */
export function createSimulation(options: { start: number; end: number; runTag: string }): {
  readonly sim: Simulation;
  /** Runs the actions in time order, yielding each event as its action emits it. */
  run(): Generator<SimEvent>;
} {
  const { start, end, runTag } = options;
  const heap = new ActionHeap();
  const out: SimEvent[] = [];
  let now = start;
  let running = false;
  let seq = 0;
  let messages = 0;
  let feedback = 0;
  let unseen = 0;

  const sim: Simulation = {
    get now() {
      return now;
    },
    start,
    end,
    at(t, run) {
      const time = running ? Math.max(now, Math.round(t)) : Math.round(t);
      if (time >= end) return;
      heap.push({ t: time, seq: seq++, run });
    },
    after(ms, run) {
      sim.at(now + ms, run);
    },
    message(label, fields) {
      if (now < start) return `${runTag}-w${(unseen++).toString(36)}`;
      const messageId = `${runTag}-m${(messages++).toString(36)}`;
      out.push({ type: 'message', label, value: { messageId, eventTime: now, ...fields } });
      return messageId;
    },
    feedback(label, fields) {
      if (now < start) return;
      const feedbackId = `${runTag}-f${(feedback++).toString(36)}`;
      out.push({ type: 'feedback', label, value: { feedbackId, eventTime: now, ...fields } });
    },
  };

  return {
    sim,
    *run() {
      running = true;
      for (let action = heap.pop(); action !== undefined; action = heap.pop()) {
        now = action.t;
        action.run();
        for (const e of out) yield e;
        out.length = 0;
      }
    },
  };
}
