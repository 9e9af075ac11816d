-- What ClusterWindowFeatures gained after 0007: sendingForMs, how long the window has held
-- messages of the cluster (a lower bound, up to one slice short), so that an analyst sees, as
-- the decision engine does, how long a template's recipients have had to answer it.
--
-- One ALTER, adding one column: safe to retry (see 0007). Rows written before it read 0.
ALTER TABLE cluster_features
    ADD COLUMN sending_for_ms UInt64 COMMENT 'How long the window has held messages of the cluster, at least: from the end of the first slice holding one to as_of, ms';
