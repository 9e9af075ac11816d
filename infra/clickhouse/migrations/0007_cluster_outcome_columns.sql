-- What ClusterWindowFeatures gained: recipients' outcomes (replies, delivery failures), number
-- walking across the cluster's senders, messages sent after an opt-out, and its call-back
-- numbers. One row per cluster, asOf and
-- window, every field a column named by the rule of 0004_sender_feature_columns.sql.
--
-- One ALTER, adding nothing else: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, but it
-- applies the clauses of one ALTER together or not at all, so a failed attempt leaves nothing
-- behind and is safe to retry (infra/clickhouse/migrate.ts). Rows written before it read 0 and [].
ALTER TABLE cluster_features
    ADD COLUMN replies UInt64 COMMENT 'Recipients'' answers (not opt-outs) to messages of the cluster, counted when they arrive',
    ADD COLUMN delivery_failures UInt64 COMMENT 'Delivery failures of messages of the cluster, counted when they arrive',
    ADD COLUMN sequential_share Float64 COMMENT 'Share of the messages whose recipient is at most 10 numbers from the same sender''s previous recipient',
    ADD COLUMN post_opt_out_sends UInt64 COMMENT 'Messages of the cluster sent to recipients who had opted out from their sender, past the one confirmation allowed',
    ADD COLUMN callback_numbers Array(String) COMMENT 'The most frequent call-back numbers, at most 8, by count then value, as keyed hashes (unsigned 64-bit decimals)';
