-- Attribution versions as first-class records (issue 9).
--
-- * lead_events: every accepted event of a lead, per version. The per-lead contribution
--   tables hold what a lead adds to the views; this table holds the lead's *state* (its
--   events), so that `leadclock replay --append` can merge a new log into a version
--   exactly: it loads the stored events of the leads the new log touches, folds both,
--   and writes the merged state (a higher revision, so it wins). Written by the worker
--   and the replay alike (the whole state of each lead they write; a rewrite replaces).
--   Partitioned by version, so `leadclock retire N` drops a version in O(1).
-- * attribution_versions gains the version's life cycle: status (building while a
--   replay writes it, ready when it finished, retired once dropped; "current" is
--   whatever current_version names), the sources it was built from, and when its
--   record last changed. Rows are rewritten whole; readers take the newest per version.
-- * version_offsets: per (version, topic, partition), the offset below which the
--   version holds every event of that partition (a replay from the topics records
--   the end offsets it read to; a worker that stops writing a version records where it
--   stopped), and whether a worker currently feeds the version from that partition.
--   A worker switching to a promoted version rewrites the leads of the messages it
--   processed at or after that offset, so nothing is missed across the handoff.
--
-- The per-lead tables of 001/002 are re-created partitioned by version by
-- `leadclock migrate` itself (create, copy, exchange: sinks/partitioning.py), since a
-- table's partition key cannot be changed by ALTER.

CREATE TABLE IF NOT EXISTS lead_events (
    version UInt32,
    lead_id String,
    generation String,
    event_id String,
    type LowCardinality(String) COMMENT 'email_open, click, call or purchase',
    occurred_at DateTime64(6, 'UTC'),
    campaign_id String COMMENT 'empty for a purchase without campaign',
    amount_minor Int64 COMMENT 'purchases: amount in minor units, 0 for touches',
    currency LowCardinality(String) COMMENT 'purchases: ISO 4217 code, empty for touches'
) ENGINE = {replacing} PARTITION BY version ORDER BY (version, lead_id, generation, event_id);

ALTER TABLE attribution_versions
    ADD COLUMN IF NOT EXISTS status LowCardinality(String) DEFAULT 'ready'
        COMMENT 'building, ready or retired (current: see current_version)',
    ADD COLUMN IF NOT EXISTS sources Array(String)
        COMMENT 'what the version was built from: file:NAME@SHA256-PREFIX, kafka:TOPIC-PREFIX',
    ADD COLUMN IF NOT EXISTS updated_at DateTime64(3, 'UTC') DEFAULT created_at;

CREATE TABLE IF NOT EXISTS version_offsets (
    version UInt32,
    topic String,
    partition Int32,
    complete_below Int64 COMMENT 'the version holds every event of the partition below this offset',
    fed UInt8 COMMENT '1 while a worker writes the version from this partition',
    recorded_at DateTime64(3, 'UTC')
) ENGINE = {replacing}(recorded_at) ORDER BY (version, topic, partition);

-- One row per version: its newest record, its status ('current' for the version the
-- views show), whether a replay is writing it (or was interrupted), and how many leads
-- and events it holds.
CREATE OR REPLACE VIEW v_versions AS
SELECT version,
       if(version = (SELECT version FROM v_current_version), 'current', last_status) AS status,
       toUInt8(last_status = 'building') AS building,
       last_config AS config, last_sources AS sources, leads, events,
       first_created AS created_at, last_updated AS updated_at
FROM (
    SELECT version, argMax(status, updated_at) AS last_status,
           argMax(config, updated_at) AS last_config,
           argMax(sources, updated_at) AS last_sources,
           min(created_at) AS first_created, max(updated_at) AS last_updated
    FROM attribution_versions
    GROUP BY version
) AS records
LEFT JOIN (
    SELECT version, toInt64(count()) AS leads, toInt64(sum(revision)) AS events
    FROM lead_revisions FINAL
    GROUP BY version
) AS sizes USING (version);
