-- Every field of a SenderFeatures record as a column of sender_features, so the decision
-- engine's what-if can rebuild records from rows (services/clickhouse-sink/src/tables.ts).
-- One row per sender, asOf and window: the record's own fields (url_domains, clusters,
-- emitted_at_ms) repeat on each window's row.
--
-- Column names are the Avro field names in snake_case: an underscore before each upper-case
-- letter, lower-cased; digits stay with the word before them (peak1s, peak10s). WindowFeatures'
-- `window` is time_window (`window` is a keyword in current ClickHouse). Avro longs are UInt64,
-- doubles Float64. services/clickhouse-sink/test/tables.test.ts fails when a field has no column.
--
-- One ALTER, adding nothing else: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, but it
-- applies the clauses of one ALTER together or not at all, so a failed attempt leaves nothing
-- behind and is safe to retry (infra/clickhouse/migrate.ts). Rows written before it read '', 0, [].
ALTER TABLE sender_features
    ADD COLUMN emitted_at_ms UInt64 COMMENT 'Wall-clock time of emission in milliseconds since the epoch',
    ADD COLUMN time_window String COMMENT 'Window name: 1m, 10m, 1h, 24h',
    ADD COLUMN peak1s UInt64 COMMENT 'Most messages within one clock second that starts in the window',
    ADD COLUMN peak10s UInt64 COMMENT 'Most messages within one aligned 10-second bucket that starts in the window',
    ADD COLUMN fan_out Float64 COMMENT 'distinct_recipients / messages; 0 without messages',
    ADD COLUMN new_contact_share Float64 COMMENT 'Share of messages to recipients neither contacts nor messaged in the 24 h before',
    ADD COLUMN contact_share Float64 COMMENT 'Share of messages to contacts (recipients who messaged the sender in the 30 days before)',
    ADD COLUMN sequential_share Float64 COMMENT 'Share of consecutive pairs to different numbers at most 10 apart (number walking)',
    ADD COLUMN prefix_entropy Float64 COMMENT 'Shannon entropy of the recipients'' 6-digit national prefixes, in bits',
    ADD COLUMN top_template_share Float64 COMMENT 'Share of messages with a body in the most used content template',
    ADD COLUMN distinct_templates UInt64 COMMENT 'Content templates seen in the window',
    ADD COLUMN url_share Float64 COMMENT 'Share of messages containing a URL',
    ADD COLUMN distinct_url_domains UInt64 COMMENT 'Distinct registrable URL domains (exact up to 128, then HyperLogLog)',
    ADD COLUMN callback_share Float64 COMMENT 'Share of messages containing a call-back number',
    ADD COLUMN timing_cv Float64 COMMENT 'Coefficient of variation of the gaps between consecutive messages',
    ADD COLUMN quiet_hour_share Float64 COMMENT 'Share of messages sent between 21:00 and 08:00 at the recipient',
    ADD COLUMN delivery_failures UInt64 COMMENT 'Delivery failures reported for the sender''s messages in the window',
    ADD COLUMN delivery_failure_rate Float64 COMMENT 'delivery_failures / messages; can exceed 1',
    ADD COLUMN spam_reports UInt64 COMMENT 'Spam reports (7726) about the sender received in the window',
    ADD COLUMN subscriber_blocks UInt64 COMMENT 'Subscribers who blocked the sender in the window',
    ADD COLUMN registered_cap_share Float64 COMMENT 'messages / what the campaign tier allows in a window this long; 0 without a metered campaign',
    ADD COLUMN replied_recipients UInt64 COMMENT 'Recipients messaged in the window who answered, not with an opt-out (lagged)',
    ADD COLUMN reply_rate Float64 COMMENT 'replied_recipients / recipients messaged in the window (lagged)',
    ADD COLUMN opt_outs UInt64 COMMENT 'Recipients messaged in the window who answered with an opt-out (lagged)',
    ADD COLUMN opt_out_rate Float64 COMMENT 'opt_outs / recipients messaged in the window (lagged)',
    ADD COLUMN post_opt_out_sends UInt64 COMMENT 'Messages sent in the window to recipients who had opted out',
    ADD COLUMN url_domains Array(String) COMMENT 'The record''s URL domains in the longest window, most recent first (same on every window row)',
    ADD COLUMN clusters Nested(cluster_id String, recipients UInt64) COMMENT 'The record''s dominant content clusters, most first (same on every window row)';
