-- What a Decision gained for audits (policyAction, previousAction, trigger, published).
--
-- One ALTER, adding nothing else: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, but it
-- applies the clauses of one ALTER together or not at all, so a failed attempt leaves nothing
-- behind and is safe to retry (infra/clickhouse/migrate.ts). Rows written before it read '' and 0.
ALTER TABLE decisions
    ADD COLUMN policy_action String COMMENT 'What the policy alone decided; differs from action when an operator override or the Do-Not-Originate list decided; empty when unknown',
    ADD COLUMN previous_action String COMMENT 'The action in force before this decision; empty for the sender''s first',
    -- Not named `trigger`: the Avro field's name reads as a keyword.
    ADD COLUMN decision_trigger String COMMENT 'What caused the evaluation: FEATURES, CLUSTER, OVERRIDE, LIST or EXPIRY',
    ADD COLUMN published UInt8 COMMENT '1 when the evaluation changed what is in force and was published to sms.decisions';
