-- What a Decision gained for binding throttles (throttleRatePerHour, throttleScope), and the
-- millisecond of decidedAt: replaying enforcement needs to know to the millisecond when a
-- decision came into force, and decided_at keeps seconds.
--
-- One ALTER, adding nothing else: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, but it
-- applies the clauses of one ALTER together or not at all, so a failed attempt leaves nothing
-- behind and is safe to retry (infra/clickhouse/migrate.ts). Rows written before it read NULL,
-- 'ALL_RECIPIENTS' (what the contract says a reader of an older record assumes) and
-- decided_at x 1000. So do rows inserted without these columns (a sink of an earlier release,
-- during an upgrade) on current ClickHouse; 18.16 fills a field JSONEachRow omits with its
-- type's default instead, '' and 0, which readers take for the same (clickhouse-sink tables.ts).
ALTER TABLE decisions
    ADD COLUMN throttle_rate_per_hour Nullable(UInt32) COMMENT 'For THROTTLE: at most this many messages of throttle_scope in any sliding hour; NULL for no hourly limit',
    ADD COLUMN throttle_scope String DEFAULT 'ALL_RECIPIENTS' COMMENT 'What a THROTTLE counts and stops: ALL_RECIPIENTS, or NEW_CONTACTS (messages to recipients who have not messaged the sender within 30 days)',
    ADD COLUMN decided_at_ms UInt64 DEFAULT toUInt64(decided_at) * 1000 COMMENT 'decided_at in milliseconds since the epoch: when the decision came into force';
