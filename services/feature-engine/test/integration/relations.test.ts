// Replies, opt-outs, post-opt-out sends and contacts on the real broker: every message is re-keyed
// by its recipient through spamgate.feature-engine.by-recipient and credited in the partition of
// the sender it answers, wherever that is. The same conversations run once uninterrupted and once
// with the engine killed (SIGKILL) in the middle of every phase; both must publish the values the
// conversations imply.
import { test } from 'node:test';
import type { MessageEvent, SenderFeatures } from '@spamgate/schemas';
import { eventually, uniqueName } from '@spamgate/test';
import { textMessage } from '../message-event.ts';
import { codec, useHarness } from './harness.ts';

const h = useHarness();
const MIN = 60_000;
// Two hours ago: well inside every window's reach, and nothing is in the future.
const T0 = Math.floor((Date.now() - 2 * 3_600_000) / MIN) * MIN;

const BUSINESSES = 12;
const RECIPIENTS = 25;
const FRIENDS = 8;
const business = (i: number) => `+1202555${1000 + i}`;
const customer = (i: number, j: number) => `+1303555${String(i * 100 + j).padStart(4, '0')}`;
const friend = (k: number) => `+1415555${2000 + k}`;
const pal = (k: number) => `+1510555${3000 + k}`;
const stranger = (k: number) => `+1650555${4000 + k}`;

/** What customer j of a business does with the first message: j % 5 = 0 opts out, 1 and 2 reply. */
const answer = (j: number): 'optOut' | 'reply' | null =>
  j % 5 === 0 ? 'optOut' : j % 5 <= 2 ? 'reply' : null;

const message = textMessage;

/**
 * Three phases, ten and twenty minutes apart: businesses message their customers (and pals
 * message friends); customers reply or opt out; businesses message every customer again,
 * including the ones who opted out, and friends answer their pals and greet a stranger.
 */
function phases(): MessageEvent[][] {
  const one: MessageEvent[] = [];
  const two: MessageEvent[] = [];
  const three: MessageEvent[] = [];
  for (let i = 0; i < BUSINESSES; i++)
    for (let j = 0; j < RECIPIENTS; j++) {
      const t = T0 + i * 1_000 + j * 20;
      one.push(
        message(business(i), customer(i, j), t, 'Your appointment with Dr. Lee is confirmed for Tuesday.'),
      );
      const a = answer(j);
      if (a)
        two.push(message(customer(i, j), business(i), t + 10 * MIN, a === 'optOut' ? 'STOP' : 'Thanks!'));
      three.push(
        message(business(i), customer(i, j), t + 30 * MIN, 'Reminder: your appointment is tomorrow.'),
      );
    }
  for (let k = 0; k < FRIENDS; k++) {
    one.push(message(pal(k), friend(k), T0 + k * 1_000, 'are you free tonight?'));
    three.push(message(friend(k), pal(k), T0 + 25 * MIN + k * 1_000, 'yes, 7pm?'));
    three.push(message(friend(k), stranger(k), T0 + 25 * MIN + k * 1_000 + 500, 'hello, is this Sam?'));
  }
  return [one, two, three];
}

/** The 24 h window values each sender must end with. */
function expected(): Map<string, Record<string, number>> {
  const want = new Map<string, Record<string, number>>();
  const replies = Array.from({ length: RECIPIENTS }, (_, j) => answer(j)).filter((a) => a === 'reply').length;
  const optOuts = Array.from({ length: RECIPIENTS }, (_, j) => answer(j)).filter(
    (a) => a === 'optOut',
  ).length;
  for (let i = 0; i < BUSINESSES; i++) {
    want.set(business(i), {
      messages: 2 * RECIPIENTS,
      repliedRecipients: replies,
      replyRate: replies / RECIPIENTS,
      optOuts,
      optOutRate: optOuts / RECIPIENTS,
      postOptOutSends: optOuts, // the reminder, 20 minutes after each STOP
      contactShare: replies / (2 * RECIPIENTS), // reminders to those who replied (not to opt-outs)
      newContactShare: 0.5, // the first messages; the reminders go to people messaged 30 min before
    });
    for (let j = 0; j < RECIPIENTS; j++)
      // The business messaged them first (a contact) and again after their answer: a reply to it.
      if (answer(j))
        want.set(customer(i, j), { messages: 1, contactShare: 1, newContactShare: 0, repliedRecipients: 1 });
  }
  for (let k = 0; k < FRIENDS; k++) {
    want.set(friend(k), { messages: 2, contactShare: 0.5, newContactShare: 0.5, repliedRecipients: 0 });
    want.set(pal(k), { messages: 1, repliedRecipients: 1, replyRate: 1, optOuts: 0, postOptOutSends: 0 });
  }
  return want;
}

/** Waits until the latest SenderFeatures of every expected sender shows its expected 24 h values. */
async function assertOutcome(features: string): Promise<void> {
  const want = expected();
  const latest = new Map<string, SenderFeatures>();
  const reader = h.kafka.consumer({ groupId: uniqueName('fe-rel-check'), readUncommitted: false });
  await reader.connect();
  await reader.subscribe({ topic: features, fromBeginning: true });
  void reader.run({
    eachMessage: async ({ message }) => {
      const f = codec.decode('SenderFeatures', message.value!);
      latest.set(f.sender, f);
    },
  });
  const mismatches = () => {
    const out: string[] = [];
    for (const [sender, values] of want) {
      const day = latest.get(sender)?.windows.find((w) => w.window === '24h');
      for (const [k, v] of Object.entries(values)) {
        const got = day?.[k as keyof typeof day];
        if (typeof got !== 'number' || Math.abs(got - v) > 1e-9) out.push(`${sender} ${k}: ${got} != ${v}`);
      }
    }
    return out;
  };
  try {
    await eventually(async () => (mismatches().length === 0 ? true : undefined), {
      timeoutMs: 120_000,
      what: 'every sender to publish the values its conversations imply',
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${mismatches().slice(0, 20).join('\n')}`);
    });
  } finally {
    await reader.disconnect();
  }
}

/** Runs the phases; `kill` SIGKILLs the engine halfway through each and starts a new one. */
async function run(kill: boolean): Promise<void> {
  const prefix = uniqueName(kill ? 'fe-rel-kill' : 'fe-rel');
  const { topics: t, engine } = await h.runPhases(prefix, phases(), {
    kill,
    env: { SPAMGATE_IDLE_ADVANCE: '1s' },
  });
  await assertOutcome(t.features);
  engine.child.kill('SIGTERM');
}

test('replies, opt-outs and contacts are credited across partitions to the sender they answer', {
  timeout: 300_000,
}, async () => {
  await run(false);
});

test('killed with SIGKILL in every phase, the engine credits every reply and opt-out exactly once', {
  timeout: 420_000,
}, async () => {
  await run(true);
});
