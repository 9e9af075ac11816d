-- What ClusterWindowFeatures gained after 0009: senderSample, a bottom-k sample of the window's
-- senders (the 8 smallest keyed 52-bit sender fingerprints, empty past 128 senders), so that
-- `what-if` finds the clusters one crew of numbers sends as the decision engine does, and an
-- analyst can join templates by the numbers that send them. Keyed fingerprints, never numbers.
--
-- One ALTER, adding one column: safe to retry (see 0007). Rows written before it read [].
ALTER TABLE cluster_features
    ADD COLUMN sender_sample Array(UInt64) COMMENT 'The 8 smallest keyed 52-bit fingerprints of the window''s senders (empty past 128 senders)';
