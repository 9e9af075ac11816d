-- Content clusters' features (sms.cluster-features), written by the ClickHouse sink: one row per
-- cluster, evaluation time and window, every ClusterWindowFeatures field a column, so that a
-- ClusterFeatures record can be rebuilt from its rows (services/clickhouse-sink/src/tables.ts).
-- Identity and partition come from the record, as in every spamgate table (0001_initial.sql).
CREATE TABLE IF NOT EXISTS cluster_features
(
    as_of DateTime COMMENT 'Event time the windows are evaluated at',
    as_of_ms UInt64 COMMENT 'The same, in milliseconds since the epoch',
    emitted_at DateTime COMMENT 'Wall-clock time of emission',
    emitted_at_ms UInt64 COMMENT 'The same, in milliseconds since the epoch',
    cluster_id String COMMENT 'Content cluster id: 14 lower-case hex digits (docs/content-clusters.md)',
    -- The window's name (15m, 1h, 24h); not named `window`, a keyword in current ClickHouse.
    time_window String COMMENT 'Window name: 15m, 1h, 24h',
    window_ms UInt64 COMMENT 'Window length in milliseconds',
    messages UInt64 COMMENT 'Messages of the cluster sent in the window',
    distinct_senders UInt64 COMMENT 'Distinct sender numbers that sent it (exact up to 128, then HyperLogLog)',
    distinct_recipients UInt64 COMMENT 'Distinct recipients it reached (exact up to 128, then HyperLogLog)',
    opt_outs UInt64 COMMENT 'Opt-outs answering messages of the cluster',
    spam_reports UInt64 COMMENT 'Spam reports (7726) about messages of the cluster',
    opt_out_rate Float64 COMMENT 'opt_outs / distinct_recipients; 0 when there are none',
    registered_share Float64 COMMENT 'Share of the messages sent under a registered campaign id',
    campaign_ids Array(String) COMMENT 'The most frequent registered campaign ids, at most 8, by count then id',
    distinct_campaigns UInt64 COMMENT 'Distinct registered campaign ids seen',
    top_sender_share Float64 COMMENT 'Share of the messages sent by the busiest sender',
    url_domains Array(String) COMMENT 'The most frequent URL domains, at most 8, by count then name',
    distinct_url_domains UInt64 COMMENT 'Distinct URL domains seen'
)
ENGINE = ReplacingMergeTree()
PARTITION BY toDate(as_of)
ORDER BY (cluster_id, as_of_ms, window_ms);
