-- spamgate's first tables. Every statement runs on ClickHouse 18.16 and on current ClickHouse:
-- no TTL, LowCardinality, DateTime64 or query parameters. Times are DateTime in UTC (second
-- precision); where milliseconds matter they are kept as UInt64 next to it.
--
-- Exactly-once effect: every table is a ReplacingMergeTree whose sorting key is the record's
-- deterministic identity, and whose partition key is derived from the record itself (never
-- from the time it was written), so a replayed or retried row lands in the same partition and
-- collapses with its twin on merge. Until merges happen, queries read with FINAL or collapse
-- with argMax/any; docs/queries.md does so. Partitions are days, so retention is dropping old
-- partitions (TTL does not exist on 18.16).
--
-- Subscriber numbers appear only as recipient_hash: the first 8 bytes of
-- HMAC-SHA-256(key, number) (services/core/src/privacy.ts). Message bodies never appear.

-- Per-sender per-minute aggregates, one row per closed minute, written by the feature engine.
CREATE TABLE IF NOT EXISTS sender_minute
(
    minute DateTime COMMENT 'Start of the minute (event time, UTC)',
    sender String COMMENT 'Sender address as routed',
    sender_kind String COMMENT 'LONG_CODE, SHORT_CODE, TOLL_FREE, ALPHANUMERIC or UNKNOWN',
    campaign_id String COMMENT 'Registered campaign id on the latest message, empty when unregistered',
    messages UInt64 COMMENT 'Messages sent in the minute',
    distinct_recipients UInt64 COMMENT 'Distinct recipients in the minute',
    url_messages UInt64 COMMENT 'Messages containing a URL',
    delivery_failures UInt64 COMMENT 'Delivery failures reported in the minute',
    spam_reports UInt64 COMMENT 'Spam reports (7726) received in the minute',
    subscriber_blocks UInt64 COMMENT 'Subscribers who blocked the sender in the minute',
    late_events UInt64 COMMENT 'Events that arrived after the minute had closed (counted here, not dropped)',
    version UInt64 COMMENT 'Emission sequence, the highest wins when a minute is re-emitted'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toDate(minute)
ORDER BY (sender, minute);

-- Feature snapshots: one row per sender, emission and window.
CREATE TABLE IF NOT EXISTS sender_features
(
    as_of DateTime COMMENT 'Event time the features are computed at',
    as_of_ms UInt64 COMMENT 'The same, in milliseconds since the epoch',
    emitted_at DateTime COMMENT 'Wall-clock time of emission',
    sender String,
    sender_kind String,
    campaign_id String,
    window_ms UInt64 COMMENT 'Window length in milliseconds',
    messages UInt64,
    distinct_recipients UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(as_of)
ORDER BY (sender, as_of_ms, window_ms);

-- Every decision evaluation, enforced and shadow, idempotent on decision_id.
CREATE TABLE IF NOT EXISTS decisions
(
    decision_id String COMMENT 'Deterministic id: same inputs and policy version, same id',
    sender String,
    action String COMMENT 'ALLOW, MONITOR, THROTTLE or BLOCK',
    throttle_rate_per_minute UInt32 COMMENT 'Messages per minute when THROTTLE, 0 otherwise',
    score Float64,
    reasons Nested
    (
        code String,
        feature String,
        -- The feature's window (1m, 1h, ...); not named `window`, a keyword in current ClickHouse.
        time_window String,
        observed Float64,
        threshold Float64
    ),
    policy_version String,
    shadow UInt8 COMMENT '1 for a shadow policy evaluation that was never enforced',
    override_id String COMMENT 'Operator override that decided, empty when none',
    based_on_event_time DateTime COMMENT 'Event time of the features the decision is based on',
    based_on_event_ms UInt64,
    decided_at DateTime COMMENT 'Wall-clock time of the decision (differs on a replay, not part of the identity)',
    expires_at DateTime COMMENT 'When the decision lapses, 1970-01-01 00:00:00 for never'
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(based_on_event_time)
ORDER BY (sender, decision_id);

-- Override audit log: every record of sms.policy-overrides, removals (tombstones) included.
CREATE TABLE IF NOT EXISTS policy_overrides
(
    recorded_at DateTime COMMENT 'Kafka timestamp of the record',
    kafka_partition UInt32,
    kafka_offset UInt64,
    target String COMMENT 'Record key: sender address or campaign id',
    removed UInt8 COMMENT '1 for a tombstone: the override on target was removed',
    override_id String,
    scope String COMMENT 'SENDER or CAMPAIGN',
    action String COMMENT 'ALLOW or BLOCK',
    reason String,
    author String,
    created_at DateTime,
    expires_at DateTime COMMENT '1970-01-01 00:00:00 for never'
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(recorded_at)
ORDER BY (target, kafka_partition, kafka_offset);

-- Dead letters, without the record's value (it may hold a message body): size and digest only.
CREATE TABLE IF NOT EXISTS dead_letters
(
    failed_at DateTime,
    service String,
    original_topic String,
    original_partition UInt32,
    original_offset UInt64,
    key_base64 String COMMENT 'The original key, base64',
    value_bytes UInt64 COMMENT 'Size of the original value',
    value_sha256 String COMMENT 'Hex SHA-256 of the original value, to match it in Kafka',
    error_class String,
    error_code String,
    error_message String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(failed_at)
ORDER BY (original_topic, original_partition, original_offset, service);

-- Per-message facts for investigations and policy back-testing: no body, recipient hashed.
CREATE TABLE IF NOT EXISTS message_facts
(
    event_time DateTime,
    event_ms UInt64,
    message_id String,
    sender String,
    sender_kind String,
    campaign_id String,
    recipient_hash UInt64 COMMENT 'Keyed hash of the recipient number',
    content_fingerprint UInt64 COMMENT 'Locality-sensitive fingerprint of the normalised body (keyed)',
    url_domains Array(String) COMMENT 'Registrable domains of URLs in the body',
    opt_out UInt8 COMMENT '1 when the message is an opt-out keyword (STOP, ...)',
    origin_network String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(event_time)
ORDER BY (sender, event_time, message_id);
