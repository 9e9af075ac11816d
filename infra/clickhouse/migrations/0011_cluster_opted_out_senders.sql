-- What ClusterWindowFeatures gained after 0010: optedOutSenders, the distinct senders told STOP
-- about the cluster (a recipient opted out in answer to their message of it), and
-- optOutIgnoredSenders, those of them that texted the same recipient again past the one
-- confirmation allowed, in any content; so that an analyst sees how a template's numbers treat
-- STOP as the decision engine does (CONTENT_OPT_OUT_IGNORED). Since this release, sender_sample
-- is empty only once a slice of the window (not the window) has more than 128 senders.
--
-- One ALTER (see 0007): its clauses apply together or not at all, so it is safe to retry. Rows
-- written before it read 0.
ALTER TABLE cluster_features
    ADD COLUMN opted_out_senders UInt64 COMMENT 'Distinct senders told STOP about the cluster: a recipient opted out in answer to their message of it',
    ADD COLUMN opt_out_ignored_senders UInt64 COMMENT 'Distinct senders that texted a recipient again, past the one confirmation allowed, after the recipient opted out in answer to their message of the cluster';
