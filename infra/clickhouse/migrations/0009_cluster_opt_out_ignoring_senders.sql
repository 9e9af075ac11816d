-- What ClusterWindowFeatures gained after 0008: optOutIgnoringSenders, the distinct senders of
-- the window whose messages of the cluster came while they were ignoring opt-outs (each had sent
-- past someone's STOP within the hour before), so that an analyst sees a crew that ignores STOP
-- as the decision engine does. Since this release, sending_for_ms counts from the window's first
-- message (0008's comment describes the earlier lower bound, up to a slice short).
--
-- One ALTER, adding one column: safe to retry (see 0007). Rows written before it read 0.
ALTER TABLE cluster_features
    ADD COLUMN opt_out_ignoring_senders UInt64 COMMENT 'Distinct senders of the window that sent the cluster within an hour after sending past someone''s opt-out';
