// A small simulator run written into a fresh migrated ClickHouse database the way the sink writes
// it, with what a real database holds besides: replayed duplicate rows, a re-emitted minute,
// shadow evaluations, another run's senders and dead letters of another topic prefix.
import type { TestDatabase } from '@spamgate/test';
import type { Labels } from '../../src/labels.ts';

/** The run's first event: a fixed past minute (UTC). */
export const T = Date.UTC(2026, 0, 15, 10, 0, 0);
const sec = (ms: number) => Math.floor(ms / 1000);

export const ORDINARY_1 = '+14155550101';
export const ORDINARY_2 = '+14155550102';
export const VOLUNTEER = '+13035550111';
export const BLASTER = '+12025550100';
export const PHISHER_1 = '+12025550200';
export const PHISHER_2 = '+12025550201';
export const STRANGER = '+19995550000';
export const OTHER_RUN = '+18885550000';

export const LABELS: Labels = {
  version: 1,
  seed: 42,
  startedAt: T,
  endedAt: T + 5 * 60_000 - 1,
  ratePerSecond: 20,
  topicPrefix: 'run1',
  scenarios: [
    {
      id: 'ordinary',
      kind: 'ordinary-chat',
      title: 'Ordinary subscribers',
      spam: false,
      expect: { neverBlock: true, throttleAcceptable: false, actionRequired: 'NONE', blockWithinMs: null },
      senders: [
        { sender: ORDINARY_1, firstMessageAt: T + 5_000, messages: 6 },
        { sender: ORDINARY_2, firstMessageAt: T + 65_000, messages: 2 },
      ],
    },
    {
      id: 'p2p-registered',
      kind: 'p2p-campaign',
      title: 'Registered political campaign, peer-to-peer <texting> & "volunteers"',
      spam: false,
      expect: { neverBlock: true, throttleAcceptable: true, actionRequired: 'NONE', blockWithinMs: null },
      senders: [{ sender: VOLUNTEER, firstMessageAt: T, messages: 400 }],
    },
    {
      id: 'blast',
      kind: 'blast',
      title: 'Unregistered blast',
      spam: true,
      expect: {
        neverBlock: false,
        throttleAcceptable: true,
        actionRequired: 'THROTTLE_OR_BLOCK',
        blockWithinMs: null,
      },
      senders: [{ sender: BLASTER, firstMessageAt: T + 60_000, messages: 900 }],
    },
    {
      id: 'phishing-snowshoe',
      kind: 'snowshoe',
      title: 'Phishing snowshoe <img src=x onerror=alert(1)>',
      spam: true,
      expect: { neverBlock: false, throttleAcceptable: true, actionRequired: 'BLOCK', blockWithinMs: 60_000 },
      senders: [
        { sender: PHISHER_1, firstMessageAt: T + 120_000, messages: 30 },
        { sender: PHISHER_2, firstMessageAt: T + 150_000, messages: 20 },
      ],
    },
  ],
};

function decision(
  id: string,
  sender: string,
  action: string,
  eventMs: number,
  decidedMs: number,
  o: Record<string, unknown> = {},
) {
  const acted = action === 'THROTTLE' || action === 'BLOCK';
  return {
    decision_id: id,
    sender,
    action,
    throttle_rate_per_minute: action === 'THROTTLE' ? 30 : 0,
    score: acted ? 0.9 : 0,
    'reasons.code': acted ? ['MINUTE_VOLUME', 'OPT_OUT_RATE'] : [],
    'reasons.feature': acted ? ['messages', 'optOutRate'] : [],
    'reasons.time_window': acted ? ['1m', '24h'] : [],
    'reasons.observed': acted ? [120, 0.2] : [],
    'reasons.threshold': acted ? [60, 0.05] : [],
    policy_version: 'p1',
    shadow: 0,
    override_id: '',
    based_on_event_time: sec(eventMs),
    based_on_event_ms: eventMs,
    decided_at: sec(decidedMs),
    expires_at: 0,
    policy_action: action,
    previous_action: '',
    decision_trigger: 'FEATURES',
    published: 0,
    ...o,
  };
}

function minute(sender: string, at: number, messages: number, o: Record<string, unknown> = {}) {
  return {
    minute: sec(at),
    sender,
    sender_kind: 'LONG_CODE',
    campaign_id: '',
    messages,
    distinct_recipients: messages,
    url_messages: 0,
    delivery_failures: 0,
    spam_reports: 0,
    subscriber_blocks: 0,
    late_events: 0,
    version: 1,
    ...o,
  };
}

function deadLetter(topic: string, offset: number) {
  return {
    failed_at: sec(T + 30_000),
    service: 'feature-engine',
    original_topic: topic,
    original_partition: 0,
    original_offset: offset,
    key_hash: 0,
    value_bytes: 3,
    value_sha256: '00',
    writer_fingerprint: '',
    error_class: 'SchemaDecodeError',
    error_code: 'BAD_MARKER',
    error_message: 'not single-object encoded',
  };
}

const M = 60_000;

/** Writes the run. */
export async function writeRun(db: TestDatabase): Promise<void> {
  const insert = (table: string, values: Record<string, unknown>[]) =>
    db.client.insert({ table, values, format: 'JSONEachRow' });

  const blasterMinute1 = minute(BLASTER, T + M, 300, { url_messages: 300 });
  await insert('sender_minute', [
    minute(ORDINARY_1, T, 3),
    minute(ORDINARY_1, T + 3 * M, 3),
    minute(ORDINARY_2, T + M, 2),
    ...[0, 1, 2, 3, 4].map((i) => minute(VOLUNTEER, T + i * M, 80, { campaign_id: 'CPOL2026' })),
    blasterMinute1,
    minute(BLASTER, T + 2 * M, 350, { url_messages: 350, spam_reports: 4 }),
    minute(BLASTER, T + 3 * M, 250, { url_messages: 250 }),
    minute(PHISHER_1, T + 2 * M, 30, { url_messages: 30 }),
    minute(PHISHER_2, T + 2 * M, 20, { url_messages: 20 }),
    minute(STRANGER, T + 4 * M, 1),
    minute(OTHER_RUN, T - 86_400_000, 5_000),
  ]);
  // A replay of the blaster's minute 1, then its re-emission with a late event (version 2 wins).
  await insert('sender_minute', [blasterMinute1]);
  await insert('sender_minute', [
    { ...blasterMinute1, messages: 301, url_messages: 301, late_events: 1, version: 2 },
  ]);

  const blasterBlock = decision('b3', BLASTER, 'BLOCK', T + 130_000, T + 131_000, {
    published: 1,
    previous_action: 'THROTTLE',
  });
  await insert('decisions', [
    decision('o1', ORDINARY_1, 'ALLOW', T + 5_000, T + 6_000),
    decision('o2', ORDINARY_1, 'MONITOR', T + 200_000, T + 201_000, {
      published: 1,
      previous_action: 'ALLOW',
    }),
    decision('v1', VOLUNTEER, 'THROTTLE', T + 50_000, T + 51_000, { published: 1, previous_action: 'ALLOW' }),
    decision('v2', VOLUNTEER, 'THROTTLE', T + 110_000, T + 111_000), // unpublished re-evaluation
    decision('v3', VOLUNTEER, 'ALLOW', T + 170_000, T + 172_000, {
      published: 1,
      previous_action: 'THROTTLE',
    }),
    // A shadow policy would have blocked the volunteer: not enforced, not counted.
    decision('v-shadow', VOLUNTEER, 'BLOCK', T + 50_000, T + 51_000, { shadow: 1, policy_version: 'p2' }),
    decision('b1', BLASTER, 'ALLOW', T + 60_000, T + 61_000),
    decision('b2', BLASTER, 'THROTTLE', T + 70_000, T + 73_000, { published: 1, previous_action: 'ALLOW' }),
    decision('b2b', BLASTER, 'THROTTLE', T + 100_000, T + 101_000, {
      published: 1,
      previous_action: 'THROTTLE',
    }), // a new rate
    blasterBlock,
    decision('b4', BLASTER, 'BLOCK', T + 190_000, T + 191_000), // still blocked
    decision('p1a', PHISHER_1, 'MONITOR', T + 121_000, T + 122_000, { published: 1 }),
    decision('p1b', PHISHER_1, 'BLOCK', T + 140_000, T + 145_000, {
      published: 1,
      previous_action: 'MONITOR',
    }),
    decision('p2a', PHISHER_2, 'BLOCK', T + 151_000, T + 152_000, {
      published: 1,
      decision_trigger: 'CLUSTER',
    }),
    decision('s1', STRANGER, 'BLOCK', T + 240_000, T + 241_000, { published: 1 }),
    // Another run, a day before: outside this run's event time.
    decision('x1', OTHER_RUN, 'BLOCK', T - 86_400_000, T - 86_399_000, { published: 1 }),
  ]);
  // The BLOCK written twice (a retried write): one decision.
  await insert('decisions', [blasterBlock]);

  await insert('dead_letters', [
    deadLetter('run1.sms.message-events', 1),
    deadLetter('run1.sms.feedback-events', 2),
    deadLetter('run2.sms.message-events', 3),
  ]);
  await insert('dead_letters', [deadLetter('run1.sms.message-events', 1)]);
}
