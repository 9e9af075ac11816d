-- What ClusterWindowFeatures gained after 0011: senderBlockSample, a bottom-k sample of the
-- window's sender number blocks (a number without its last digit, as a keyed 52-bit fingerprint
-- with a key of its own), so that `what-if` and an analyst find the templates one block of
-- consecutive numbers sends (a SIM box) as the decision engine does. Keyed fingerprints, never
-- numbers or prefixes.
--
-- One ALTER, adding one column: safe to retry (see 0007). Rows written before it read [].
ALTER TABLE cluster_features
    ADD COLUMN sender_block_sample Array(UInt64) COMMENT 'The 8 smallest keyed 52-bit fingerprints of the window''s sender number blocks (a number without its last digit)';
