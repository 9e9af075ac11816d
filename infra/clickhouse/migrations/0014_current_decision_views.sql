-- What is in force now, per sender and per content cluster: the latest published decision of each
-- (issue 20), so that a data team asks "what does the firewall do with X" without argMax by hand.
-- Plain views (read at query time, nothing stored): FINAL collapses replayed rows first, and
-- "latest" is the one that came into force last: an override decided on the same evidence as
-- the decision it replaced comes after it. Rows written before decided_at_ms existed hold 0 there
-- (ClickHouse 18.16 does not compute an omitted column's default on insert), so the order takes
-- the larger of it and decided_at's second.
-- Only CREATE VIEW IF NOT EXISTS, so the migration is safe to run again after a failure.
CREATE VIEW IF NOT EXISTS current_sender_decisions AS
SELECT
    sender,
    argMax(action, in_force_ms) AS action,
    argMax(throttle_rate_per_minute, in_force_ms) AS throttle_rate_per_minute,
    argMax(reason_codes, in_force_ms) AS reason_codes,
    argMax(policy_version, in_force_ms) AS policy_version,
    argMax(override_id, in_force_ms) AS override_id,
    argMax(decision_id, in_force_ms) AS decision_id,
    argMax(decided_at, in_force_ms) AS since,
    argMax(expires_at, in_force_ms) AS expires_at
FROM
(
    SELECT
        sender, action, throttle_rate_per_minute, reasons.code AS reason_codes, policy_version,
        override_id, decision_id, decided_at, expires_at,
        greatest(decided_at_ms, toUInt64(decided_at) * 1000) AS in_force_ms
    FROM decisions FINAL
    WHERE shadow = 0 AND published = 1
)
GROUP BY sender;

CREATE VIEW IF NOT EXISTS current_content_decisions AS
SELECT
    cluster_id,
    argMax(action, in_force_ms) AS action,
    argMax(url_domains, in_force_ms) AS url_domains,
    argMax(callback_numbers, in_force_ms) AS callback_numbers,
    argMax(reason_codes, in_force_ms) AS reason_codes,
    argMax(policy_version, in_force_ms) AS policy_version,
    argMax(override_id, in_force_ms) AS override_id,
    argMax(decision_id, in_force_ms) AS decision_id,
    argMax(decided_at, in_force_ms) AS since,
    argMax(expires_at, in_force_ms) AS expires_at
FROM
(
    SELECT
        cluster_id, action, url_domains, callback_numbers, reasons.code AS reason_codes,
        policy_version, override_id, decision_id, decided_at, expires_at,
        greatest(decided_at_ms, toUInt64(decided_at) * 1000) AS in_force_ms
    FROM content_decisions FINAL
)
GROUP BY cluster_id;
