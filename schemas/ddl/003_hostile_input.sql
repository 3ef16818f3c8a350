-- Hostile input: huge rejects, rerouted events, one merged row per rejected message.
--
-- rejected_events keeps the first 64 KiB of a rejected message (streams/engine/truncate.py)
-- and says what it cut: the original size, its SHA-256 (hex) and whether it was cut.
-- Rows written before this migration read 0, '' and false.
ALTER TABLE rejected_events
    ADD COLUMN IF NOT EXISTS raw_size UInt64 COMMENT 'bytes of the original message',
    ADD COLUMN IF NOT EXISTS raw_sha256 String COMMENT 'hex SHA-256 of the original message',
    ADD COLUMN IF NOT EXISTS truncated Bool COMMENT 'raw holds only the first 64 KiB';

-- A valid event that arrived on another partition than its lead's is moved there (the
-- rerouted topic) and recorded first as 'rerouted', the lowest rank: its copy is accounted
-- at the same (source, partition, offset) as accepted or duplicate, which replaces it.
-- Adding an Enum value changes metadata only.
ALTER TABLE ingest_ledger
    MODIFY COLUMN outcome Enum8('rerouted' = 0, 'rejected' = 1, 'duplicate' = 2, 'accepted' = 3);

-- What users read: one row per rejected message, however often Kafka redelivered it
-- (rejected_events is a ReplacingMergeTree, merged in the background; FINAL merges now).
CREATE OR REPLACE VIEW v_rejected_events AS
SELECT raw, reason, rejected_at, source, partition, offset, raw_size, raw_sha256, truncated
FROM rejected_events FINAL;

-- Accounting as before (received = accepted + duplicates + rejected: a rerouted event is
-- valid, so it already counts as accepted or duplicate by its ids), plus `rerouting`: the
-- events whose copy has not been processed on their lead's partition yet (0 once caught up).
CREATE OR REPLACE VIEW v_ingest_accounting AS
SELECT source_kind,
       toInt64(countIf(outcome = 'rejected')) AS rejected,
       toInt64(uniqExactIf((lead_id, event_id), outcome != 'rejected')) AS accepted,
       toInt64(countIf(outcome != 'rejected')) - accepted AS duplicates,
       toInt64(count()) AS received,
       toInt64(countIf(outcome = 'rerouted')) AS rerouting
FROM (
    SELECT if(startsWith(source, 'file:'), source, 'kafka') AS source_kind,
           outcome, lead_id, event_id
    FROM ingest_ledger FINAL
)
GROUP BY source_kind;
