-- Dead letters keep where a record is and why it failed, never what it held (issue 19): the key
-- (a sender's or a recipient's number on most topics) becomes a keyed hash that joins the
-- recipient hashes, and the value's writer fingerprint joins its size and SHA-256. The clear key
-- column goes, and with it every clear key stored before.
--
-- One ALTER: ClickHouse 18.16 applies its clauses together or not at all, so it is safe to retry
-- (see 0003). Rows written before it read key_hash 0 and writer_fingerprint ''.
ALTER TABLE dead_letters
    ADD COLUMN key_hash UInt64 COMMENT 'Keyed hash of the original key (as recipient hashes, under SPAMGATE_HASH_KEY); 0 when it had none' AFTER original_offset,
    ADD COLUMN writer_fingerprint String COMMENT 'Writer schema fingerprint of the original value (16 hex digits), when it was single-object encoded' AFTER value_sha256,
    DROP COLUMN key_base64;
