-- leadclock core schema. Applied by `leadclock migrate`, idempotently.
-- {replacing} is the table engine (ReplacingMergeTree, or a Replicated one on a cluster).
--
-- Each lead's contribution to the aggregates is stored per lead, *absolutely* (not as
-- increments), tagged with the lead's revision (its number of accepted events). A
-- newer write of a lead supersedes the older one: the views read, for every lead, only
-- the rows of its highest revision (lead_revisions). Writing a lead twice, or writing
-- a stale state before a crash, therefore never changes the answer once the lead's
-- latest state is written. See docs/exactly-once.md.
--
-- The per-lead tables are partitioned by version, so that retiring a version drops its
-- partition (DDL 004). Databases created before that are re-created partitioned by an
-- explicit `leadclock migrate` (sinks/partitioning.py).

CREATE TABLE IF NOT EXISTS current_version (
    singleton UInt8,
    version UInt32,
    promoted_at DateTime64(3, 'UTC')
) ENGINE = {replacing}(promoted_at) ORDER BY singleton;

CREATE TABLE IF NOT EXISTS attribution_versions (
    version UInt32,
    config String COMMENT 'engine configuration (JSON) that produced this version',
    created_at DateTime64(3, 'UTC')
) ENGINE = {replacing} ORDER BY version;

CREATE TABLE IF NOT EXISTS lead_revisions (
    version UInt32,
    lead_id String,
    revision UInt64 COMMENT 'accepted events of the lead when its rows were written',
    written_at DateTime64(3, 'UTC')
) ENGINE = {replacing}(revision) PARTITION BY version ORDER BY (version, lead_id);

-- Per reach key the row with the most touches is kept, not the newest revision's: a
-- lead's states only gain events, so a key's touch count only grows with the truth, and
-- a worker may then write only the keys its new events touched (row diffs, issue 12).
-- Databases created before keep ReplacingMergeTree(revision) (ClickHouse cannot change a
-- table's version column); workers write their reach rows whole there
-- (sinks/reach_version.py).
CREATE TABLE IF NOT EXISTS lead_reach (
    version UInt32,
    lead_id String,
    campaign_id String,
    touch_type LowCardinality(String),
    window_start DateTime('UTC'),
    touches Int64,
    revision UInt64
) ENGINE = {replacing}(touches) PARTITION BY version ORDER BY (version, lead_id, campaign_id, touch_type, window_start);

CREATE TABLE IF NOT EXISTS lead_stages (
    version UInt32,
    lead_id String,
    stage LowCardinality(String),
    campaign_id String,
    window_start DateTime('UTC'),
    touch_event_id String,
    touched_at DateTime64(6, 'UTC'),
    revision UInt64
) ENGINE = {replacing}(revision) PARTITION BY version ORDER BY (version, lead_id, stage);

CREATE TABLE IF NOT EXISTS lead_credits (
    version UInt32,
    lead_id String,
    purchase_event_id String,
    touch_event_id String,
    model LowCardinality(String),
    campaign_id String,
    currency LowCardinality(String),
    touch_window DateTime('UTC'),
    purchase_window DateTime('UTC'),
    touched_at DateTime64(6, 'UTC'),
    purchased_at DateTime64(6, 'UTC'),
    revenue_minor Int64,
    conversions_e9 Int64 COMMENT 'conversions in billionths (exact sums)',
    revision UInt64
) ENGINE = {replacing}(revision) PARTITION BY version ORDER BY (version, lead_id, purchase_event_id, touch_event_id, model);

CREATE TABLE IF NOT EXISTS ingest_ledger (
    source String COMMENT 'topic name, or file:NAME for a replay',
    partition Int32,
    offset Int64,
    outcome Enum8('rejected' = 1, 'duplicate' = 2, 'accepted' = 3),
    rank UInt8 MATERIALIZED toUInt8(outcome) COMMENT 'a redelivered accepted event is seen as a duplicate: accepted wins',
    lead_id String,
    event_id String,
    recorded_at DateTime64(3, 'UTC')
) ENGINE = {replacing}(rank) ORDER BY (source, partition, offset);

CREATE TABLE IF NOT EXISTS rejected_events (
    raw String,
    reason String,
    rejected_at DateTime64(3, 'UTC'),
    source String COMMENT 'topic name, or file:NAME for a replay',
    partition Int32,
    offset Int64
) ENGINE = {replacing} ORDER BY (source, partition, offset);

CREATE OR REPLACE VIEW v_current_version AS
SELECT argMax(version, promoted_at) AS version FROM current_version;

CREATE OR REPLACE VIEW v_lead_revisions AS
SELECT lead_id, revision FROM lead_revisions FINAL
WHERE version = (SELECT version FROM v_current_version);

CREATE OR REPLACE VIEW v_marketing_reach AS
SELECT campaign_id, touch_type, window_start,
       toInt64(sum(lead_touches)) AS touches, toInt64(count()) AS leads
FROM (
    SELECT lead_id, campaign_id, touch_type, window_start, touches AS lead_touches, revision
    FROM lead_reach FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, revision) IN (SELECT lead_id, revision FROM v_lead_revisions)
GROUP BY campaign_id, touch_type, window_start;

CREATE OR REPLACE VIEW v_lead_stages AS
SELECT campaign_id, stage, window_start, toInt64(count()) AS leads
FROM (
    SELECT lead_id, stage, campaign_id, window_start, revision
    FROM lead_stages FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, revision) IN (SELECT lead_id, revision FROM v_lead_revisions)
GROUP BY campaign_id, stage, window_start;

CREATE OR REPLACE VIEW v_attribution_credits AS
SELECT lead_id, model, purchase_event_id, touch_event_id, campaign_id, currency,
       touch_window, purchase_window, touched_at, purchased_at,
       dateDiff('second', touched_at, purchased_at) AS lag_seconds,
       revenue_minor, toFloat64(conversions_e9) / 1e9 AS conversions, conversions_e9
FROM (
    SELECT * FROM lead_credits FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, revision) IN (SELECT lead_id, revision FROM v_lead_revisions);

CREATE OR REPLACE VIEW v_attribution AS
SELECT campaign_id, model, currency, touch_window, purchase_window,
       toInt64(sum(credit_revenue)) AS revenue_minor,
       toFloat64(sum(credit_e9)) / 1e9 AS conversions
FROM (
    SELECT campaign_id, model, currency, touch_window, purchase_window,
           revenue_minor AS credit_revenue, conversions_e9 AS credit_e9
    FROM v_attribution_credits
)
GROUP BY campaign_id, model, currency, touch_window, purchase_window;

-- Every received message once (deduplicated by its position). A message whose event id
-- was already accepted for its lead is a duplicate; which copy counts as "the" accepted
-- one is decided here (any canonical choice gives the same counts), not by the worker,
-- because after a crash the worker may see the accepted copy again as a duplicate.
CREATE OR REPLACE VIEW v_ingest_accounting AS
SELECT source_kind,
       toInt64(countIf(outcome = 'rejected')) AS rejected,
       toInt64(uniqExactIf((lead_id, event_id), outcome != 'rejected')) AS accepted,
       toInt64(countIf(outcome != 'rejected')) - accepted AS duplicates,
       toInt64(count()) AS received
FROM (
    SELECT if(startsWith(source, 'file:'), source, 'kafka') AS source_kind,
           outcome, lead_id, event_id
    FROM ingest_ledger FINAL
)
GROUP BY source_kind;
