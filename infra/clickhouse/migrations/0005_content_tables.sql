-- Content decisions and content overrides (sms.content-decisions, sms.content-overrides),
-- written by the ClickHouse sink (services/clickhouse-sink/src/tables.ts maps records to rows
-- and back). Identity and partition come from the record, as in every spamgate table
-- (0001_initial.sql): a replayed or retried row collapses with its twin on merge.
--
-- Only CREATE TABLE IF NOT EXISTS, so the migration is safe to run again after a failure.

-- Every content decision: what a firewall enforces on one content cluster, whoever sends it.
-- The same layout as decisions (reasons, times, trigger), plus what a firewall matches on.
CREATE TABLE IF NOT EXISTS content_decisions
(
    decision_id String COMMENT 'Deterministic id: same cluster, inputs and policy version, same id',
    cluster_id String COMMENT 'Content cluster id: 14 lower-case hex digits (docs/content-clusters.md)',
    action String COMMENT 'ALLOW, MONITOR or BLOCK',
    url_domains Array(String) COMMENT 'Registrable domains a firewall may match on alone',
    callback_numbers Array(String) COMMENT 'Call-back numbers a firewall matches, as keyed hashes (unsigned 64-bit decimals)',
    score Float64 COMMENT 'Combined evidence score, 0 (clean) to 1 (certain abuse)',
    reasons Nested
    (
        code String,
        feature String,
        -- The feature's window (15m, 1h, 24h); not named `window`, a keyword in current ClickHouse.
        time_window String,
        observed Float64,
        threshold Float64
    ),
    policy_version String,
    override_id String COMMENT 'Operator content override that decided, empty when none',
    campaign_ids Array(String) COMMENT 'Registered campaign ids seen sending the cluster, most frequent first',
    distinct_senders UInt64 COMMENT 'Distinct senders of the cluster in the evidence''s longest window',
    distinct_recipients UInt64 COMMENT 'Distinct recipients of the cluster in that window',
    based_on_event_time DateTime COMMENT 'Event time of the cluster features the decision is based on',
    based_on_event_ms UInt64 COMMENT 'The same, in milliseconds since the epoch',
    decided_at DateTime COMMENT 'Wall-clock time of the decision (differs on a replay, not part of the identity)',
    decided_at_ms UInt64 COMMENT 'The same, in milliseconds since the epoch: when the decision came into force',
    expires_at DateTime COMMENT 'When the decision lapses (event time), 1970-01-01 00:00:00 for never',
    expires_at_ms UInt64 COMMENT 'The same, in milliseconds since the epoch, 0 for never',
    previous_action String COMMENT 'The action in force for the cluster before this decision; empty for the cluster''s first',
    -- Not named `trigger`: the Avro field's name reads as a keyword.
    decision_trigger String COMMENT 'What caused the decision: CLUSTER, OVERRIDE or EXPIRY'
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(based_on_event_time)
ORDER BY (cluster_id, decision_id);

-- Content override audit log: every record of sms.content-overrides, removals (tombstones)
-- included. The record key is '<scope>:<target>'; scope and target are read from it (from the
-- value when a record has no key), so a removal names what it removed.
CREATE TABLE IF NOT EXISTS content_overrides
(
    recorded_at DateTime COMMENT 'Kafka timestamp of the record',
    kafka_partition UInt32,
    kafka_offset UInt64,
    scope String COMMENT 'CLUSTER or DOMAIN (from the record key)',
    target String COMMENT 'The cluster id or the domain (from the record key)',
    removed UInt8 COMMENT '1 for a tombstone: the override on scope and target was removed',
    override_id String,
    action String COMMENT 'ALLOW or BLOCK; empty for a removal',
    reason String COMMENT 'Why; for a removal, the reason given when removing it (header spamgate-reason)',
    author String COMMENT 'Who created it; for a removal, who removed it (header spamgate-author)',
    created_at DateTime,
    expires_at DateTime COMMENT '1970-01-01 00:00:00 for never'
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(recorded_at)
ORDER BY (scope, target, kafka_partition, kafka_offset);
