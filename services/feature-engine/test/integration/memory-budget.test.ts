// The memory budget on the real broker: an engine given far less memory for sender state than
// its input needs keeps running, sheds the least active senders (logged and counted), stays
// near its budget, and still accounts for every event in the per-minute aggregates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageEvent } from '@spamgate/schemas';
import { assertLagMetrics, eventually, seededRandom, uniqueName } from '@spamgate/test';
import { codec, useHarness } from './harness.ts';

const h = useHarness();
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const BUDGET_MB = 1;

/** 2,000 senders: most send a few messages, a hundred send a burst each (full state, sketches). */
function input(): MessageEvent[] {
  const r = seededRandom(77);
  const out: MessageEvent[] = [];
  for (let i = 0; i < 30_000; i++) {
    const busy = r() < 0.5;
    const sender = busy
      ? `+1202555${String(1000 + Math.floor(r() * 100))}`
      : `+1415555${String(1000 + Math.floor(r() * 1_900))}`;
    out.push({
      messageId: `m-${i}`,
      eventTime: T0 + i * 20,
      sender,
      senderKind: 'LONG_CODE',
      recipient: `+1303${String(Math.floor(r() * 9_000_000)).padStart(7, '0')}`,
      body: `Hi ${i % 97}, your code is ${i % 9_999}`,
      campaignId: null,
      originNetwork: null,
    });
  }
  return out;
}

async function scrape(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1));
  return sum;
}

test('over its memory budget the engine sheds the least active senders and keeps every minute count', {
  timeout: 240_000,
}, async () => {
  const prefix = uniqueName('fe-budget');
  const t = await h.provision(prefix);
  const events = input();
  await h.produce(t.messages, events);
  const engine = h.startEngine(prefix, {
    SPAMGATE_STATE_BUDGET_MB: String(BUDGET_MB),
    SPAMGATE_IDLE_ADVANCE: '1h',
  });
  const port = Number((await engine.waitForLog((l) => typeof l.port === 'number')).port);
  await h.waitCommitted(prefix, t.messages, events.length, engine, 180_000);
  await assertLagMetrics(engine, `${prefix}-fe`, 'spamgate_feature_engine_event_time_lag_seconds');
  // One later event per partition moves every watermark past the input: every minute closes.
  const sentinels = (round: number) =>
    h.produce(
      t.messages,
      Array.from({ length: 12 }, (_, p) => ({
        ...events[0]!,
        messageId: `sentinel-${round}-${p}`,
        sender: `sentinel-${p}`,
        eventTime: T0 + round * 3_600_000,
      })),
      (e) => Number(e.sender.slice('sentinel-'.length)),
    );
  await sentinels(1);
  const reader = h.kafka.consumer({ groupId: uniqueName('fe-budget-check'), readUncommitted: false });
  await reader.connect();
  await reader.subscribe({ topic: t.minutes, fromBeginning: true });
  let counted = 0;
  void reader.run({
    eachMessage: async ({ message }) => {
      const m = codec.decode('SenderMinute', message.value!);
      if (!m.sender.startsWith('sentinel')) counted += m.messages + m.lateEvents;
    },
  });
  try {
    await eventually(() => (counted >= events.length ? true : undefined), {
      timeoutMs: 120_000,
      what: `minute aggregates to account for ${events.length} messages`,
    });
    assert.equal(counted, events.length, 'no message counted twice');
  } finally {
    await reader.disconnect();
  }
  // Commits after the minutes closed shed down to the budget (the first round could only shed
  // windows: every sender still had an open minute).
  await sentinels(2);
  await h.waitCommitted(prefix, t.messages, events.length + 24, engine, 60_000);
  const shedLog = engine.logs.find(
    (l) => l.msg === 'sender state over its memory budget: shed the least active senders',
  );
  assert.ok(shedLog, 'shedding is logged');
  assert.ok((await scrape(port, 'spamgate_feature_engine_shed_senders_total')) > 0, 'and counted');
  const stateBytes = await scrape(port, 'spamgate_feature_engine_state_bytes');
  assert.ok(stateBytes <= BUDGET_MB * 1_048_576, `state is back under its budget: ${stateBytes} bytes`);

  engine.child.kill('SIGTERM');
  assert.equal((await engine.exited).code, 0, engine.stderr());
});
