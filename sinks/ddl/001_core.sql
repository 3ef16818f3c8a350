-- leadclock core schema. Applied by `leadclock migrate`, idempotently.
-- {replacing} is the table engine (ReplacingMergeTree, or a Replicated one on a cluster).
-- Delta tables hold signed contributions; a row's sort key includes the id of the
-- event that caused it (cause_id), so a re-sent row collapses onto its twin instead of
-- being counted twice. Views sum the deduplicated rows of the current version.

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

CREATE TABLE IF NOT EXISTS reach_deltas (
    version UInt32,
    campaign_id String,
    touch_type LowCardinality(String),
    window_start DateTime('UTC'),
    touches Int64,
    leads Int64,
    lead_id String,
    cause_id String
) ENGINE = {replacing} ORDER BY (version, campaign_id, touch_type, window_start, lead_id, cause_id);

CREATE TABLE IF NOT EXISTS stage_deltas (
    version UInt32,
    stage LowCardinality(String),
    campaign_id String,
    window_start DateTime('UTC'),
    lead_id String,
    touch_event_id String,
    touched_at DateTime64(6, 'UTC'),
    leads Int64,
    cause_id String
) ENGINE = {replacing} ORDER BY (version, stage, campaign_id, window_start, lead_id, touch_event_id, cause_id);

CREATE TABLE IF NOT EXISTS credit_deltas (
    version UInt32,
    model LowCardinality(String),
    campaign_id String,
    currency LowCardinality(String),
    touch_window DateTime('UTC'),
    purchase_window DateTime('UTC'),
    lead_id String,
    purchase_event_id String,
    touch_event_id String,
    touched_at DateTime64(6, 'UTC'),
    purchased_at DateTime64(6, 'UTC'),
    revenue_minor Int64,
    conversions_e9 Int64,
    cause_id String
) ENGINE = {replacing} ORDER BY (version, campaign_id, model, currency, touch_window, purchase_window, lead_id, purchase_event_id, touch_event_id, cause_id);

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

CREATE OR REPLACE VIEW v_marketing_reach AS
SELECT campaign_id, touch_type, window_start, touches_sum AS touches, leads_sum AS leads
FROM (
    SELECT campaign_id, touch_type, window_start,
           sum(touches) AS touches_sum, sum(leads) AS leads_sum
    FROM reach_deltas FINAL
    WHERE version = (SELECT version FROM v_current_version)
    GROUP BY campaign_id, touch_type, window_start
)
WHERE touches_sum != 0 OR leads_sum != 0;

CREATE OR REPLACE VIEW v_lead_stages AS
SELECT campaign_id, stage, window_start, leads_sum AS leads
FROM (
    SELECT campaign_id, stage, window_start, sum(leads) AS leads_sum
    FROM stage_deltas FINAL
    WHERE version = (SELECT version FROM v_current_version)
    GROUP BY campaign_id, stage, window_start
)
WHERE leads_sum != 0;

CREATE OR REPLACE VIEW v_attribution AS
SELECT campaign_id, model, currency, touch_window, purchase_window,
       toInt64(revenue_sum) AS revenue_minor,
       toFloat64(conversions_sum) / 1e9 AS conversions
FROM (
    SELECT campaign_id, model, currency, touch_window, purchase_window,
           sum(revenue_minor) AS revenue_sum, sum(conversions_e9) AS conversions_sum
    FROM credit_deltas FINAL
    WHERE version = (SELECT version FROM v_current_version)
    GROUP BY campaign_id, model, currency, touch_window, purchase_window
)
WHERE revenue_sum != 0 OR conversions_sum != 0;

CREATE OR REPLACE VIEW v_attribution_credits AS
SELECT lead_id, model, purchase_event_id, touch_event_id, campaign_id, currency,
       touch_window, purchase_window, touched_at, purchased_at,
       dateDiff('second', touched_at, purchased_at) AS lag_seconds,
       toInt64(revenue_sum) AS revenue_minor,
       toFloat64(conversions_sum) / 1e9 AS conversions
FROM (
    SELECT lead_id, model, purchase_event_id, touch_event_id, campaign_id, currency,
           touch_window, purchase_window, touched_at, purchased_at,
           sum(revenue_minor) AS revenue_sum, sum(conversions_e9) AS conversions_sum
    FROM credit_deltas FINAL
    WHERE version = (SELECT version FROM v_current_version)
    GROUP BY lead_id, model, purchase_event_id, touch_event_id, campaign_id, currency,
             touch_window, purchase_window, touched_at, purchased_at
)
WHERE revenue_sum != 0 OR conversions_sum != 0;
