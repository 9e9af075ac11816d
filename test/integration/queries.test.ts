// Runs every query of docs/queries.md, as written there, against a database migrated with the
// real migrations and filled with a small scenario that includes replayed duplicates: each query
// must give the collapsed answer before any merge.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createMigratedTestDatabase, docQueries, type TestDatabase } from '@spamgate/test';

const QUERIES = docQueries();

const SPAMMER = '+12025550100';
const VOLUNTEER = '+13035550111';
const ORDINARY = '+14155550123';
const APPEALED = '+16465550142';
const PARCEL_CLUSTER = '0a1b2c3d4e5f60';
const CHARITY_CLUSTER = '1b2c3d4e5f6071';
const OLD_CLUSTER = '2c3d4e5f607182';

// All data sits a few minutes before now, but never before today's midnight (UTC), so the
// "today" and "last hour" queries both see it whenever the test runs.
const todayStart = Math.floor(Date.now() / 86_400_000) * 86_400_000;
const T = Math.floor(Math.max(Date.now() - 10 * 60_000, todayStart + 60_000) / 60_000) * 60_000;
const at = (offsetMs: number): string => new Date(T + offsetMs).toISOString().slice(0, 19).replace('T', ' ');
const EPOCH = '1970-01-01 00:00:00';

let db: TestDatabase;

async function insert(table: string, rows: Record<string, unknown>[]): Promise<void> {
  await db.client.insert({ table, values: rows, format: 'JSONEachRow' });
}

async function run(id: string): Promise<Record<string, unknown>[]> {
  const query = QUERIES.get(id);
  assert.ok(query, `docs/queries.md has query ${id}`);
  const rs = await db.client.query({ query, format: 'JSONEachRow' });
  return rs.json<Record<string, unknown>>();
}

before(async () => {
  db = await createMigratedTestDatabase('queries');

  const minute = (
    sender: string,
    offsetMin: number,
    messages: number,
    extra: Record<string, unknown> = {},
  ) => ({
    minute: at(offsetMin * 60_000),
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
    ...extra,
  });
  const spammerMinute0 = minute(SPAMMER, 0, 300, { url_messages: 300, spam_reports: 2 });
  await insert('sender_minute', [
    spammerMinute0,
    minute(SPAMMER, 1, 280, { url_messages: 280, spam_reports: 5 }),
    minute(VOLUNTEER, 0, 40, { campaign_id: 'CPOL2026' }),
    minute(ORDINARY, 0, 3),
  ]);
  // A replay of minute 0, then a re-emission with a late event (higher version wins).
  await insert('sender_minute', [spammerMinute0]);
  await insert('sender_minute', [
    { ...spammerMinute0, messages: 310, url_messages: 310, late_events: 10, version: 2 },
  ]);

  const decision = (id: string, sender: string, action: string, o: Record<string, unknown>) => ({
    decision_id: id,
    sender,
    action,
    throttle_rate_per_minute: action === 'THROTTLE' ? 75 : 0,
    score: 0.5,
    'reasons.code': [],
    'reasons.feature': [],
    'reasons.time_window': [],
    'reasons.observed': [],
    'reasons.threshold': [],
    policy_version: 'p1',
    shadow: 0,
    override_id: '',
    expires_at: EPOCH,
    ...o,
  });
  const block = decision('d1', SPAMMER, 'BLOCK', {
    published: 1,
    'reasons.code': ['POST_OPT_OUT_SENDS', 'VOLUME_OVER_CAP'],
    'reasons.feature': ['postOptOutSends', 'messages'],
    'reasons.time_window': ['1h', '1m'],
    'reasons.observed': [4, 310],
    'reasons.threshold': [1, 60],
    based_on_event_time: at(20_000),
    based_on_event_ms: T + 20_000,
    decided_at: at(30_000),
  });
  // The volunteer's throttle binds only messages to new contacts, with an hourly limit too.
  const volunteerThrottle = decision('d2', VOLUNTEER, 'THROTTLE', {
    'reasons.code': ['VOLUME_OVER_CAP'],
    'reasons.feature': ['messages'],
    'reasons.time_window': ['1m'],
    'reasons.observed': [40],
    'reasons.threshold': [30],
    based_on_event_time: at(40_000),
    based_on_event_ms: T + 40_000,
    decided_at: at(41_000),
    decided_at_ms: T + 41_250,
    published: 1,
    throttle_rate_per_hour: 600,
    throttle_scope: 'NEW_CONTACTS',
  });
  await insert('decisions', [
    // Written without the columns of 0006, as a sink of an earlier release does.
    decision('d0', SPAMMER, 'THROTTLE', {
      based_on_event_time: at(5_000),
      based_on_event_ms: T + 5_000,
      decided_at: at(10_000),
      published: 1,
    }),
    block,
    volunteerThrottle,
    decision('d3', VOLUNTEER, 'BLOCK', {
      policy_version: 'p2',
      shadow: 1,
      based_on_event_time: at(40_000),
      based_on_event_ms: T + 40_000,
      decided_at: at(41_000),
    }),
    decision('d4', ORDINARY, 'ALLOW', {
      based_on_event_time: at(0),
      based_on_event_ms: T,
      decided_at: at(1_000),
    }),
  ]);
  await insert('decisions', [block, volunteerThrottle]); // retried writes
  // An appeal: blocked, then allowed by an operator override (the policy still says BLOCK).
  await insert('decisions', [
    decision('d5', APPEALED, 'BLOCK', {
      based_on_event_time: at(50_000),
      based_on_event_ms: T + 50_000,
      decided_at: at(51_000),
      published: 1,
      decision_trigger: 'FEATURES',
      policy_action: 'BLOCK',
      previous_action: 'ALLOW',
    }),
    decision('d6', APPEALED, 'ALLOW', {
      based_on_event_time: at(50_000),
      based_on_event_ms: T + 50_000,
      decided_at: at(70_000),
      published: 1,
      decision_trigger: 'OVERRIDE',
      policy_action: 'BLOCK',
      previous_action: 'BLOCK',
      override_id: 'o-9',
    }),
    // A candidate policy in shadow would throttle the ordinary sender.
    decision('d7', ORDINARY, 'THROTTLE', {
      policy_version: '2026-12-01.candidate',
      shadow: 1,
      based_on_event_time: at(0),
      based_on_event_ms: T,
      decided_at: at(1_000),
    }),
  ]);

  const override = (offset: number, target: string, o: Record<string, unknown>) => ({
    recorded_at: at(offset * 1_000),
    kafka_partition: 0,
    kafka_offset: offset,
    target,
    removed: 0,
    override_id: `o-${offset}`,
    scope: 'SENDER',
    action: 'BLOCK',
    reason: 'ticket',
    author: 'noc@carrier',
    created_at: at(offset * 1_000),
    expires_at: EPOCH,
    ...o,
  });
  const campaignAllow = override(0, 'CPOL2026', {
    scope: 'CAMPAIGN',
    action: 'ALLOW',
    reason: 'registered P2P campaign',
  });
  await insert('policy_overrides', [
    campaignAllow,
    override(1, '+15555550000', {}),
    override(2, '+15555550000', {
      removed: 1,
      override_id: '',
      scope: '',
      action: '',
      reason: '',
      author: '',
    }),
    override(3, '+16665550000', { action: 'ALLOW', expires_at: at(-86_400_000) }),
    override(4, '+17775550000', { expires_at: at(86_400_000) }),
  ]);
  await insert('policy_overrides', [campaignAllow]);

  const contentDecision = (id: string, cluster: string, action: string, o: Record<string, unknown>) => ({
    decision_id: id,
    cluster_id: cluster,
    action,
    policy_version: 'p1',
    expires_at: EPOCH,
    ...o,
  });
  const parcelBlock = contentDecision('c1-block', PARCEL_CLUSTER, 'BLOCK', {
    url_domains: ['parcel-redelivery.example'],
    callback_numbers: ['12345678901234567890'],
    'reasons.code': ['CONTENT_SPAM_REPORTS', 'CONTENT_SILENCE'],
    'reasons.feature': ['spamReports', 'replies'],
    'reasons.time_window': ['1h', '1h'],
    'reasons.observed': [14, 0],
    'reasons.threshold': [5, 1],
    distinct_senders: 42,
    distinct_recipients: 900,
    based_on_event_time: at(15_000),
    based_on_event_ms: T + 15_000,
    decided_at: at(20_000),
    decided_at_ms: T + 20_500,
    expires_at: at(86_400_000),
    expires_at_ms: T + 86_400_000,
    previous_action: 'MONITOR',
    decision_trigger: 'CLUSTER',
  });
  await insert('content_decisions', [
    // Monitored first, then blocked on its recipients' reports.
    contentDecision('c1-monitor', PARCEL_CLUSTER, 'MONITOR', {
      distinct_senders: 12,
      based_on_event_time: at(5_000),
      based_on_event_ms: T + 5_000,
      decided_at: at(10_000),
      decided_at_ms: T + 10_000,
      decision_trigger: 'CLUSTER',
    }),
    parcelBlock,
    // Blocked, then allowed by an operator override: not blocked now.
    contentDecision('c2-block', CHARITY_CLUSTER, 'BLOCK', {
      distinct_senders: 80,
      based_on_event_time: at(1_000),
      based_on_event_ms: T + 1_000,
      decided_at: at(2_000),
      decided_at_ms: T + 2_000,
    }),
    contentDecision('c2-allow', CHARITY_CLUSTER, 'ALLOW', {
      override_id: 'co-7',
      based_on_event_time: at(1_000),
      based_on_event_ms: T + 1_000,
      decided_at: at(30_000),
      decided_at_ms: T + 30_000,
      previous_action: 'BLOCK',
      decision_trigger: 'OVERRIDE',
    }),
    // Blocked yesterday, nothing since: not a block of today.
    contentDecision('c3-block', OLD_CLUSTER, 'BLOCK', {
      based_on_event_time: new Date(todayStart - 3_600_000).toISOString().slice(0, 19).replace('T', ' '),
      based_on_event_ms: todayStart - 3_600_000,
      decided_at: new Date(todayStart - 3_000_000).toISOString().slice(0, 19).replace('T', ' '),
      decided_at_ms: todayStart - 3_000_000,
    }),
  ]);
  await insert('content_decisions', [parcelBlock]); // the decision published again after a crash

  const dead = (offset: number, code: string) => ({
    failed_at: at(offset * 1_000),
    service: 'feature-engine',
    original_topic: 'sms.message-events',
    original_partition: 1,
    original_offset: offset,
    key_hash: '1234567890123456789',
    value_bytes: 11,
    value_sha256: '00',
    writer_fingerprint: '',
    error_class: 'SchemaDecodeError',
    error_code: code,
    error_message: 'x',
  });
  await insert('dead_letters', [
    dead(5, 'UNKNOWN_FINGERPRINT'),
    dead(6, 'UNKNOWN_FINGERPRINT'),
    dead(7, 'BAD_MARKER'),
  ]);
  await insert('dead_letters', [dead(5, 'UNKNOWN_FINGERPRINT')]);

  let n = 0;
  const fact = (sender: string, offsetMs: number, recipient: number, fingerprint: number, campaign = '') => ({
    event_time: at(offsetMs),
    event_ms: T + offsetMs,
    message_id: `m-${n++}`,
    sender,
    sender_kind: 'LONG_CODE',
    campaign_id: campaign,
    recipient_hash: String(recipient),
    content_fingerprint: String(fingerprint),
    url_domains: [],
    opt_out: 0,
    origin_network: '',
  });
  const facts = [];
  for (let i = 0; i < 50; i++) facts.push(fact(SPAMMER, i * 1_000, 1_000 + i, 111));
  for (let s = 0; s < 12; s++) {
    for (let j = 0; j < 2; j++)
      facts.push(fact(`+1999555${String(s).padStart(4, '0')}`, 60_000 + j, 2_000 + s * 2 + j, 222));
  }
  for (let s = 0; s < 10; s++) {
    const sender = s === 0 ? VOLUNTEER : `+1303555${String(2000 + s)}`;
    facts.push(fact(sender, 30_000 + s, 3_000 + s, 333, 'CPOL2026'));
  }
  facts.push(
    fact(ORDINARY, 0, 4_000, 444),
    fact(ORDINARY, 1_000, 4_001, 445),
    fact(ORDINARY, 2_000, 4_000, 446),
  );
  await insert('message_facts', facts);
  await insert('message_facts', [facts[0]!]);
});

after(async () => {
  await db?.drop();
});

test('docs/queries.md holds the fifteen queries this test runs', () => {
  assert.deepEqual(
    [...QUERIES.keys()],
    [
      'top-senders-last-hour',
      'blocked-today',
      'sender-history',
      'decisions-per-policy',
      'allow-listed-campaign-review',
      'active-overrides',
      'dead-letters-by-cause',
      'widest-fan-out-today',
      'templates-across-senders',
      'time-to-first-action',
      'override-changes',
      'shadow-vs-enforced',
      'content-blocked-today',
      'throttles-by-scope',
      'restricted-now',
    ],
  );
});

test('1. top senders by volume count a replayed minute once and take the re-emitted version', async () => {
  assert.deepEqual(await run('top-senders-last-hour'), [
    { sender: SPAMMER, messages: '590', url_messages: '590', spam_reports: '7', campaign_id: '' },
    { sender: VOLUNTEER, messages: '40', url_messages: '0', spam_reports: '0', campaign_id: 'CPOL2026' },
    { sender: ORDINARY, messages: '3', url_messages: '0', spam_reports: '0', campaign_id: '' },
  ]);
});

test('2. senders blocked today lists the spammer with its reasons, not a shadow block', async () => {
  assert.deepEqual(await run('blocked-today'), [
    {
      sender: SPAMMER,
      last_action: 'BLOCK',
      reason_codes: ['POST_OPT_OUT_SENDS', 'VOLUME_OVER_CAP'],
      policy: 'p1',
      last_decided_at: at(30_000),
    },
  ]);
});

test("3. a sender's minute-by-minute history", async () => {
  const rows = await run('sender-history');
  assert.deepEqual(
    rows.map((r) => [r.minute, r.messages, r.late_events]),
    [
      [at(0), '310', '10'],
      [at(60_000), '280', '0'],
    ],
  );
});

test('4. decisions per policy version separate enforced from shadow and count a retried write once', async () => {
  assert.deepEqual(await run('decisions-per-policy'), [
    { policy_version: '2026-12-01.candidate', shadow: 1, action: 'THROTTLE', decisions: '1', senders: '1' },
    { policy_version: 'p1', shadow: 0, action: 'ALLOW', decisions: '2', senders: '2' },
    { policy_version: 'p1', shadow: 0, action: 'BLOCK', decisions: '2', senders: '2' },
    { policy_version: 'p1', shadow: 0, action: 'THROTTLE', decisions: '2', senders: '2' },
    { policy_version: 'p2', shadow: 1, action: 'BLOCK', decisions: '1', senders: '1' },
  ]);
});

test('5. the false-positive review finds the throttled volunteer of the allow-listed campaign', async () => {
  assert.deepEqual(await run('allow-listed-campaign-review'), [
    {
      sender: VOLUNTEER,
      campaign_id: 'CPOL2026',
      action: 'THROTTLE',
      decided_at: at(41_000),
      reason_codes: ['VOLUME_OVER_CAP'],
    },
  ]);
});

test('6. overrides in force leave out removed and expired ones', async () => {
  const rows = await run('active-overrides');
  assert.deepEqual(
    rows.map((r) => [r.target, r.override_scope, r.override_action]),
    [
      ['+17775550000', 'SENDER', 'BLOCK'],
      ['CPOL2026', 'CAMPAIGN', 'ALLOW'],
    ],
  );
});

test('7. dead letters by cause count each original record once', async () => {
  const rows = await run('dead-letters-by-cause');
  assert.deepEqual(
    rows.map((r) => [r.service, r.original_topic, r.error_code, r.records]),
    [
      ['feature-engine', 'sms.message-events', 'UNKNOWN_FINGERPRINT', '2'],
      ['feature-engine', 'sms.message-events', 'BAD_MARKER', '1'],
    ],
  );
});

test('8. widest fan-out today puts the spammer first and counts repeated recipients once', async () => {
  const rows = await run('widest-fan-out-today');
  assert.deepEqual(rows[0], { sender: SPAMMER, recipients: '50', messages: '50', fan_out: 1 });
  assert.deepEqual(
    rows.find((r) => r.sender === ORDINARY),
    { sender: ORDINARY, recipients: '2', messages: '3', fan_out: 0.667 },
  );
});

test('9. templates across senders show the snowshoe template and the registered script apart', async () => {
  assert.deepEqual(await run('templates-across-senders'), [
    { content_fingerprint: '222', senders: '12', messages: '24', recipients: '24', campaigns: [''] },
    { content_fingerprint: '333', senders: '10', messages: '10', recipients: '10', campaigns: ['CPOL2026'] },
  ]);
});

test("10. time to first action measures from a sender's first message to its first throttle or block", async () => {
  const rows = await run('time-to-first-action');
  assert.deepEqual(
    rows.map((r) => [r.sender, Number(r.seconds_to_action)]),
    [
      [SPAMMER, 5],
      [VOLUNTEER, 10],
    ],
  );
});

test('11. appeals list the decision the override changed, with what the policy alone said', async () => {
  assert.deepEqual(
    (await run('override-changes')).map((r) => [
      r.sender,
      r.previous_action,
      r.action,
      r.policy_action,
      r.override_id,
    ]),
    [[APPEALED, 'BLOCK', 'ALLOW', 'BLOCK', 'o-9']],
  );
});

test('12. the shadow comparison finds the sender the candidate would treat differently', async () => {
  assert.deepEqual(
    (await run('shadow-vs-enforced')).map((r) => [r.sender, Number(r.enforced_rank), Number(r.shadow_rank)]),
    [[ORDINARY, 0, 2]],
  );
});

test('13. content clusters blocked today list the cluster whose latest decision is a BLOCK, with what a firewall matches and why, once', async () => {
  assert.deepEqual(await run('content-blocked-today'), [
    {
      cluster_id: PARCEL_CLUSTER,
      last_action: 'BLOCK',
      reason_codes: ['CONTENT_SPAM_REPORTS', 'CONTENT_SILENCE'],
      domains: ['parcel-redelivery.example'],
      callback_hashes: ['12345678901234567890'],
      senders: '42',
      recipients: '900',
      campaigns: [],
      by_override: '',
      block_expires_at: at(86_400_000),
      last_decided_at: at(20_000),
    },
  ]);
});

test('14. throttles by scope count a retried write once, tell new-contact throttles and hourly limits apart, and read a row without a scope as ALL_RECIPIENTS', async () => {
  assert.deepEqual(await run('throttles-by-scope'), [
    {
      scope: 'ALL_RECIPIENTS',
      throttles: '1',
      senders: '1',
      with_hourly_limit: '0',
      lowest_per_minute: 75,
      lowest_per_hour: null,
    },
    {
      scope: 'NEW_CONTACTS',
      throttles: '1',
      senders: '1',
      with_hourly_limit: '1',
      lowest_per_minute: 75,
      lowest_per_hour: 600,
    },
  ]);
});

test('15. senders restricted now: the latest published decision of each, an override that lifted a block and shadow ones left out', async () => {
  const rows = await run('restricted-now');
  assert.deepEqual(
    rows.map((r) => [r.sender, r.action, r.override_id, r.since]),
    [
      [VOLUNTEER, 'THROTTLE', '', at(41_000)],
      [SPAMMER, 'BLOCK', '', at(30_000)],
    ],
  );
  assert.deepEqual(rows[1]!.reason_codes, ['POST_OPT_OUT_SENDS', 'VOLUME_OVER_CAP']);
  // The appealed sender's block was replaced by the override on the same evidence: ALLOW now.
  const rs = await db.client.query({
    query: `SELECT action, override_id, decision_id FROM current_sender_decisions WHERE sender = '${APPEALED}'`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [{ action: 'ALLOW', override_id: 'o-9', decision_id: 'd6' }]);
  // Per content cluster the same: the override lifted the charity's block; yesterday's block stands.
  const clusters = await db.client.query({
    query: 'SELECT cluster_id, action, override_id FROM current_content_decisions',
    format: 'JSONEachRow',
  });
  const byCluster = Object.fromEntries(
    (await clusters.json<{ cluster_id: string; action: string; override_id: string }>()).map((r) => [
      r.cluster_id,
      [r.action, r.override_id],
    ]),
  );
  assert.deepEqual(byCluster, {
    [PARCEL_CLUSTER]: ['BLOCK', ''],
    [CHARITY_CLUSTER]: ['ALLOW', 'co-7'],
    [OLD_CLUSTER]: ['BLOCK', ''],
  });
});
