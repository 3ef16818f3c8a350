-- Partials (issue 12, docs/performance.md): each version's sums, stored, so that a
-- dashboard query reads keys (campaigns x windows x ...), not every lead ever written.
--
-- A partial layout of a version is a set of rows per home partition and epoch, plus
-- its registration in agg_epochs, made only after every row of it was written.
-- Today one writer makes layouts: `leadclock replay`, at the end of a replay, sums the
-- version's per-lead rows into partition 0 of a new epoch (sinks/partials_refresh.py).
-- Every writer of per-lead rows (the sink: worker and replay alike) first marks the
-- version stale in agg_epochs (partition -1, partitions 0, a greater epoch). The views
-- read a version's partials only while its newest agg_epochs row is a registration,
-- and its per-lead rows otherwise (exact either way; the per-lead path is what every
-- view did before, and is slower). Key and value columns are
-- streams.engine.partials.KEYS / VALUES (the engine's in-memory sums, which a worker
-- will write per partition: docs/design/partials.md). Partitioned by version, so
-- `leadclock retire` drops a version's partials with it.

CREATE TABLE IF NOT EXISTS agg_epochs (
    version UInt32,
    partition Int32,
    epoch UInt64 COMMENT 'one ownership of (version, partition), greater is newer',
    partitions Int32 COMMENT 'how many home partitions the writer split leads over',
    registered_at DateTime64(3, 'UTC')
) ENGINE = {replacing} PARTITION BY version ORDER BY (version, partition, epoch);

CREATE TABLE IF NOT EXISTS agg_campaign (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String,
    touches Int64, leads_reached Int64, leads_warmed Int64, leads_hot Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id);

CREATE TABLE IF NOT EXISTS agg_campaign_revenue (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    revenue_minor Int64, conversions_e9 Int64,
    credits Int64 COMMENT 'credit records: a key with credits shows even at zero revenue',
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency);

CREATE TABLE IF NOT EXISTS agg_reach (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, touch_type LowCardinality(String), window_start DateTime('UTC'),
    touches Int64, leads Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, touch_type, window_start);

CREATE TABLE IF NOT EXISTS agg_stages (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, stage LowCardinality(String), window_start DateTime('UTC'),
    leads Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, stage, window_start);

CREATE TABLE IF NOT EXISTS agg_credits (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    touch_window DateTime('UTC'), purchase_window DateTime('UTC'),
    revenue_minor Int64, conversions_e9 Int64, credits Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency, touch_window, purchase_window);

CREATE TABLE IF NOT EXISTS agg_lag (
    version UInt32, partition Int32, epoch UInt64,
    campaign_id String, model LowCardinality(String), currency LowCardinality(String),
    touch_day Int32 COMMENT 'UTC day of the touch (days since 1970-01-01)',
    lag_days UInt32 COMMENT 'floor((purchased_at - touched_at) / 1 day)',
    revenue_minor Int64,
    positive_revenue Int64 COMMENT 'revenue of the credits with revenue > 0 (projection history)',
    positive_credits Int64 COMMENT 'credits with revenue > 0 (the projection history size)',
    credits Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, campaign_id, model, currency, touch_day, lag_days);

CREATE TABLE IF NOT EXISTS agg_clock (
    version UInt32, partition Int32, epoch UInt64,
    window_start DateTime('UTC'), stage LowCardinality(String) COMMENT 'warm, hot or customer',
    entered Int64,
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch, window_start, stage);

CREATE TABLE IF NOT EXISTS agg_as_of (
    version UInt32, partition Int32, epoch UInt64,
    as_of DateTime64(6, 'UTC') COMMENT 'newest accepted event of the partition (a max, not a sum)',
    seq UInt64
) ENGINE = {replacing}(seq) PARTITION BY version
ORDER BY (version, partition, epoch);

-- Which rows the views read for the current version: its partials (``partials_version``,
-- the registered ``epoch``) when its newest agg_epochs row is a registration, else its
-- per-lead rows (``leads_version``). The other one is a version that never exists
-- (4294967295), so that path reads no row at all, not even for its IN sets. The views
-- read the three as one tuple, ``(SELECT plan FROM read_plan)``: ClickHouse evaluates
-- an identical scalar subquery once per query, however many views repeat it.
CREATE OR REPLACE VIEW read_plan AS
WITH (SELECT version FROM v_current_version) AS cv
SELECT cv AS version, ready, newest AS epoch,
       toUInt32(if(ready, cv, 4294967295)) AS partials_version,
       toUInt32(if(ready, 4294967295, cv)) AS leads_version,
       (partials_version, epoch, leads_version) AS plan
FROM (
    SELECT argMax(partitions, epoch) > 0 AS ready, max(epoch) AS newest
    FROM agg_epochs WHERE version = cv
);

CREATE OR REPLACE VIEW pv_marketing_reach AS
SELECT campaign_id, touch_type, window_start,
       toInt64(sum(touches)) AS touches, toInt64(count()) AS leads
FROM pv_lead_reach(version = {version:UInt32})
GROUP BY campaign_id, touch_type, window_start;

-- FINAL alone, like pv_lead_reach (005): a lead once warm (or hot) stays so in every
-- later revision, so no row of an older revision is left over.
CREATE OR REPLACE VIEW pv_lead_stages AS
SELECT campaign_id, stage, window_start, toInt64(count()) AS leads
FROM lead_stages FINAL
WHERE version = {version:UInt32}
GROUP BY campaign_id, stage, window_start;

CREATE OR REPLACE VIEW pv_attribution AS
SELECT campaign_id, model, currency, touch_window, purchase_window,
       toInt64(sum(credit_revenue)) AS revenue_minor,
       toInt64(sum(credit_e9)) AS conversions_e9, toInt64(count()) AS credits
FROM (
    SELECT campaign_id, model, currency, touch_window, purchase_window,
           revenue_minor AS credit_revenue, conversions_e9 AS credit_e9
    FROM pv_lead_credits(version = {version:UInt32})
)
GROUP BY campaign_id, model, currency, touch_window, purchase_window;

-- The public views: the partials of the current version, or its per-lead rows (one of
-- the two branches reads nothing, see read_plan). Same names, columns and answers.
-- Each partial branch sums over home partitions (today there is one) and drops keys
-- whose sums fell to zero, as a key with no lead does not show on the per-lead path.
CREATE OR REPLACE VIEW v_marketing_reach AS
SELECT campaign_id, touch_type, window_start,
       toInt64(sum(key_touches)) AS touches, toInt64(sum(key_leads)) AS leads
FROM (
    SELECT campaign_id, touch_type, window_start, touches AS key_touches, leads AS key_leads
    FROM agg_reach
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id, touch_type, window_start
HAVING leads > 0
UNION ALL
SELECT * FROM pv_marketing_reach(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW v_lead_stages AS
SELECT campaign_id, stage, window_start, toInt64(sum(key_leads)) AS leads
FROM (
    SELECT campaign_id, stage, window_start, leads AS key_leads
    FROM agg_stages
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id, stage, window_start
HAVING leads > 0
UNION ALL
SELECT * FROM pv_lead_stages(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW v_attribution AS
SELECT campaign_id, model, currency, touch_window, purchase_window,
       toInt64(sum(key_revenue)) AS revenue_minor,
       toFloat64(sum(key_e9)) / 1e9 AS conversions
FROM (
    SELECT campaign_id, model, currency, touch_window, purchase_window,
           revenue_minor AS key_revenue, conversions_e9 AS key_e9, credits AS key_credits
    FROM agg_credits
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id, model, currency, touch_window, purchase_window
HAVING sum(key_credits) > 0
UNION ALL
SELECT campaign_id, model, currency, touch_window, purchase_window, revenue_minor,
       toFloat64(conversions_e9) / 1e9 AS conversions
FROM pv_attribution(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW campaign_reach_current AS
SELECT campaign_id, toInt64(sum(key_touches)) AS touches,
       toInt64(sum(key_leads)) AS leads_reached
FROM (
    SELECT campaign_id, touches AS key_touches, leads_reached AS key_leads
    FROM agg_campaign
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id
HAVING leads_reached > 0
UNION ALL
SELECT * FROM pv_campaign_reach(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW campaign_revenue_current AS
SELECT campaign_id, model, currency, toInt64(sum(key_revenue)) AS revenue_minor,
       toInt64(sum(key_e9)) AS conversions_e9, toInt64(sum(key_credits)) AS credits
FROM (
    SELECT campaign_id, model, currency, revenue_minor AS key_revenue,
           conversions_e9 AS key_e9, credits AS key_credits
    FROM agg_campaign_revenue
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id, model, currency
HAVING credits > 0
UNION ALL
SELECT * FROM pv_campaign_revenue(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW credit_lag_current AS
SELECT campaign_id, model, currency, touch_day, lag_days,
       toInt64(sum(key_revenue)) AS revenue_minor,
       toInt64(sum(key_positive_revenue)) AS positive_revenue,
       toInt64(sum(key_positive_credits)) AS positive_credits,
       toInt64(sum(key_credits)) AS credits
FROM (
    SELECT campaign_id, model, currency, touch_day, lag_days, revenue_minor AS key_revenue,
           positive_revenue AS key_positive_revenue,
           positive_credits AS key_positive_credits, credits AS key_credits
    FROM agg_lag
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
)
GROUP BY campaign_id, model, currency, touch_day, lag_days
HAVING credits > 0
UNION ALL
SELECT * FROM pv_credit_lag(version = (SELECT plan FROM read_plan).3);

CREATE OR REPLACE VIEW customers_current AS
SELECT window_start, toInt64(sum(key_entered)) AS entered
FROM (
    SELECT window_start, entered AS key_entered
    FROM agg_clock
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2 AND stage = 'customer'
)
GROUP BY window_start
HAVING entered > 0
UNION ALL
SELECT * FROM pv_customers(version = (SELECT plan FROM read_plan).3);

-- A maximum, not a sum: NULL when neither path holds an event.
CREATE OR REPLACE VIEW v_clock AS
SELECT maxOrNull(event_at) AS as_of
FROM (
    SELECT as_of AS event_at FROM agg_as_of
    WHERE version = (SELECT plan FROM read_plan).1
      AND epoch = (SELECT plan FROM read_plan).2
    UNION ALL
    SELECT last_event_at AS event_at  -- no FINAL needed: see pv_as_of (005)
    FROM lead_revisions WHERE version = (SELECT plan FROM read_plan).3
);
