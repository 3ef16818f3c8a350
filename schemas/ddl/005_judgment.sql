-- Campaigns and judgment (SPEC §6): the campaign registry, two per-lead facts, and the
-- views v_clock, v_model_comparison, v_revenue_lag, v_lead_clock. (v_campaign_scorecard
-- comes in 008, v_revenue_projection in 009.) README "Campaigns and judgment" explains each.
--
-- The §6 views here read the §4 views and two small helper views over the per-lead
-- tables (lead_reach_current, lead_facts_current), so the storage below them can change
-- without touching the judgment. The scorecard and the projection read the storage
-- directly instead, for speed (008 says why). Like every view they show the current
-- version only.

-- Per-lead facts that no §4 row holds, written by the sink on the lead's revision row
-- (absolute, like every per-lead row, so a newer revision replaces them): the newest
-- accepted event (the clock as_of is their maximum) and the first accepted purchase
-- (the lead became a customer). Rows written before this file have the defaults
-- (1970, NULL) until their lead is written again: replay to fill them.
ALTER TABLE lead_revisions
    ADD COLUMN IF NOT EXISTS last_event_at DateTime64(6, 'UTC'),
    ADD COLUMN IF NOT EXISTS first_purchase_at Nullable(DateTime64(6, 'UTC')),
    ADD COLUMN IF NOT EXISTS first_purchase_window Nullable(DateTime('UTC'));

-- Row diffs (docs/exactly-once.md, "Row diffs"): a flush writes only the credits a
-- lead's new events changed. A whole write of a lead starts a lineage (a worker: its
-- process's token and a count of its whole writes; a replay: the revision), a diff
-- keeps it, and credit rows carry it in their
-- sorting key, so rows of different lineages never replace each other; the lead's
-- revision row says its current lineage, and the views read, per lead, the credit rows of
-- that lineage (each identity at its newest revision). The credits' lineage joins their
-- key in 002 (a column joins a sorting key only in the ALTER that adds it, and without
-- a DEFAULT), so credit rows written before it existed read lineage 0; they were all
-- whole writes, and are matched by revision as before: a credit row's lineage key is
-- if(lineage = 0, revision, lineage), and a revision row written before reads its revision
-- as lineage.
ALTER TABLE lead_revisions ADD COLUMN IF NOT EXISTS lineage UInt64 DEFAULT revision;

CREATE OR REPLACE VIEW v_attribution_credits AS
SELECT lead_id, generation, model, purchase_event_id, touch_event_id, campaign_id, currency,
       touch_window, purchase_window, touched_at, purchased_at,
       dateDiff('second', touched_at, purchased_at) AS lag_seconds,
       revenue_minor, toFloat64(conversions_e9) / 1e9 AS conversions, conversions_e9
FROM (
    SELECT * FROM lead_credits FINAL
    WHERE version = (SELECT version FROM v_current_version)
)
WHERE (lead_id, generation, if(lineage = 0, revision, lineage)) IN (
    SELECT lead_id, generation, lineage FROM lead_revisions FINAL
    WHERE version = (SELECT version FROM v_current_version));

-- The campaign registry (leadclock campaigns load). Global, not per attribution
-- version: what a campaign is for does not change with the attribution model. A
-- campaign loaded again replaces its row (the newest load wins).
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id String,
    name String,
    kind LowCardinality(String) COMMENT 'marketing or sales',
    channel String,
    starts_on Date,
    ends_on Date,
    goal_metric LowCardinality(String) COMMENT 'leads_reached, leads_warmed, leads_hot or revenue',
    goal_target Int64 COMMENT 'a count, or minor units of goal_currency for revenue',
    goal_currency LowCardinality(String) COMMENT 'revenue goals only, else empty',
    goal_model LowCardinality(String),
    spend_minor Nullable(Int64),
    spend_currency LowCardinality(String) COMMENT 'empty without spend',
    spend_exponent UInt8 COMMENT 'ISO 4217 minor-unit exponent of spend_currency',
    declared_on Date,
    loaded_at DateTime64(6, 'UTC')
) ENGINE = {replacing}(loaded_at) ORDER BY campaign_id;

-- The engine configuration of the current version: the lookback decides revenue due
-- dates. Nothing recorded yet (no worker or replay has run): the default, 90 days.
CREATE OR REPLACE VIEW current_lookback AS
SELECT ifNull(max(toInt64OrNull(extract(lookback, '^([0-9]+)')) * multiIf(
           endsWith(lookback, 'us'), 0, endsWith(lookback, 's'), 1,
           endsWith(lookback, 'm'), 60, endsWith(lookback, 'h'), 3600,
           endsWith(lookback, 'd'), 86400, endsWith(lookback, 'w'), 604800, 0)),
       7776000) AS lookback_s
FROM (
    SELECT JSONExtractString(config, 'lookback') AS lookback
    FROM attribution_versions FINAL
    WHERE version = (SELECT version FROM v_current_version)
);

-- Per-version building blocks: parameterized views, read as `pv_name(version = N)`.
-- Each is one version's per-lead rows at their newest revision, or a sum of them.
-- Version 4294967295 never exists: read_plan (007) passes it to the path not taken.
-- For it pv_lead_credits skips its IN set (`{version} = 4294967295 OR ...`): the
-- analyzer folds the test, so the path not taken costs no set (it has no row anyway). The
-- views below read them for the current version; `leadclock replay` reads them for the
-- version it wrote, to store that version's sums in the partial tables (007), which the
-- views then read instead (docs/performance.md).
CREATE OR REPLACE VIEW pv_lead_revisions AS
SELECT lead_id, generation, revision, last_event_at, first_purchase_at, first_purchase_window
FROM lead_revisions FINAL
WHERE version = {version:UInt32};

-- Each lead's reach rows at its newest revision. FINAL alone is enough, without the
-- revision filter that pv_lead_credits needs: a lead's states only gain events, so a
-- (campaign, touch type, window) it reached stays in every later revision, and FINAL
-- keeps each such row at its newest revision; no row of an older revision can be left
-- over. (A credit can be: a late touch takes a last-touch credit from another.) Same
-- answers, ~6x cheaper over many leads: 3.2 s -> 0.56 s over 10 M events' rows
-- (docs/performance.md). Mid-flush a reader sees a lead's new reach rows as soon as
-- they land (docs/exactly-once.md).
CREATE OR REPLACE VIEW pv_lead_reach AS
SELECT lead_id, generation, campaign_id, touch_type, window_start, touches
FROM lead_reach FINAL
WHERE version = {version:UInt32};

CREATE OR REPLACE VIEW pv_lead_credits AS
SELECT campaign_id, model, currency, touch_window, purchase_window, touched_at, purchased_at,
       revenue_minor, conversions_e9
FROM (
    SELECT * FROM lead_credits FINAL
    WHERE version = {version:UInt32}
)
WHERE {version:UInt32} = 4294967295 OR (lead_id, generation, if(lineage = 0, revision, lineage)) IN (
    SELECT lead_id, generation, lineage FROM lead_revisions FINAL WHERE version = {version:UInt32});

-- Per campaign: touches and distinct leads reached (all-time, exact).
CREATE OR REPLACE VIEW pv_campaign_reach AS
SELECT campaign_id, toInt64(sum(touches)) AS touches, toInt64(uniqExact(lead_id)) AS leads_reached
FROM pv_lead_reach(version = {version:UInt32})
GROUP BY campaign_id;

-- Per campaign, model and currency: all-time credited revenue, conversions and credits.
CREATE OR REPLACE VIEW pv_campaign_revenue AS
SELECT campaign_id, model, currency, toInt64(sum(credit_revenue)) AS revenue_minor,
       toInt64(sum(credit_e9)) AS conversions_e9, toInt64(count()) AS credits
FROM (
    SELECT campaign_id, model, currency, revenue_minor AS credit_revenue,
           conversions_e9 AS credit_e9
    FROM pv_lead_credits(version = {version:UInt32})
)
GROUP BY campaign_id, model, currency;

-- Credits by UTC day of the touch and whole days from touch to purchase (floored from
-- exact microseconds): revenue, the revenue and number of credits with revenue > 0 (the
-- projection's history), and all credits.
CREATE OR REPLACE VIEW pv_credit_lag AS
SELECT campaign_id, model, currency,
       toInt32(intDiv(toUnixTimestamp64Micro(touched_at), 86400000000)) AS touch_day,
       toUInt32(intDiv(toUnixTimestamp64Micro(purchased_at)
                       - toUnixTimestamp64Micro(touched_at), 86400000000)) AS lag_days,
       toInt64(sum(credit_revenue)) AS revenue_minor,
       toInt64(sumIf(credit_revenue, credit_revenue > 0)) AS positive_revenue,
       toInt64(countIf(credit_revenue > 0)) AS positive_credits,
       toInt64(count()) AS credits
FROM (
    SELECT campaign_id, model, currency, touched_at, purchased_at,
           revenue_minor AS credit_revenue
    FROM pv_lead_credits(version = {version:UInt32})
)
GROUP BY campaign_id, model, currency, touch_day, lag_days;

-- Leads that became customers (first accepted purchase), per window.
CREATE OR REPLACE VIEW pv_customers AS
SELECT assumeNotNull(first_purchase_window) AS window_start, toInt64(count()) AS entered
FROM pv_lead_revisions(version = {version:UInt32})
WHERE first_purchase_window IS NOT NULL
GROUP BY window_start;

-- The newest accepted event's time (NULL without events). A plain maximum over every
-- revision row, without FINAL: a lead's states only gain events, so its newest revision
-- holds the newest event any of its rows holds (a refused revision's rows are deleted,
-- and a lead_revisions row lands only after the rows of its revision). Same answer as
-- the maximum over each lead's newest row, and it does not merge every lead's rows to
-- find it: ~30 ms instead of ~390 ms over 10 M events (docs/performance.md).
CREATE OR REPLACE VIEW pv_as_of AS
SELECT maxOrNull(last_event_at) AS as_of FROM lead_revisions WHERE version = {version:UInt32};

-- Each lead's current reach rows (its newest revision), before any grouping: the
-- per-lead fact behind exact all-time distinct counts of leads per campaign.
CREATE OR REPLACE VIEW lead_reach_current AS
SELECT * FROM pv_lead_reach(version = (SELECT version FROM v_current_version));

-- Each lead's own facts at its newest revision.
CREATE OR REPLACE VIEW lead_facts_current AS
SELECT * FROM pv_lead_revisions(version = (SELECT version FROM v_current_version));

-- The current version's sums, as the views below read them (007 lets them come from
-- the partial tables when those hold the version).
CREATE OR REPLACE VIEW campaign_reach_current AS
SELECT * FROM pv_campaign_reach(version = (SELECT version FROM v_current_version));

CREATE OR REPLACE VIEW campaign_revenue_current AS
SELECT * FROM pv_campaign_revenue(version = (SELECT version FROM v_current_version));

CREATE OR REPLACE VIEW credit_lag_current AS
SELECT * FROM pv_credit_lag(version = (SELECT version FROM v_current_version));

CREATE OR REPLACE VIEW customers_current AS
SELECT * FROM pv_customers(version = (SELECT version FROM v_current_version));

-- as_of: the latest occurred_at among accepted events (event time). NULL without events.
CREATE OR REPLACE VIEW v_clock AS
SELECT * FROM pv_as_of(version = (SELECT version FROM v_current_version));

-- All-time revenue per campaign and currency under each model, side by side.
CREATE OR REPLACE VIEW v_model_comparison AS
SELECT campaign_id, currency,
       toInt64(sumIf(revenue_minor, model = 'first_touch')) AS first_touch,
       toInt64(sumIf(revenue_minor, model = 'last_touch')) AS last_touch,
       toInt64(sumIf(revenue_minor, model = 'linear')) AS linear,
       toInt64(sumIf(revenue_minor, model = 'position_based')) AS position_based,
       toInt64(sumIf(revenue_minor, model = 'time_decay')) AS time_decay
FROM campaign_revenue_current
WHERE campaign_id != '(none)'
GROUP BY campaign_id, currency;

-- Revenue by whole days from touch to purchase, per model, campaign kind and currency,
-- with the running share of the total (the lag curve). Days are floored from exact
-- microseconds: one day less one microsecond is day 0.
CREATE OR REPLACE VIEW v_revenue_lag AS
SELECT model, kind, currency, lag_days, revenue_minor,
       toFloat64(sum(revenue_minor) OVER (
           PARTITION BY model, kind, currency ORDER BY lag_days
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
       / toFloat64(sum(revenue_minor) OVER (PARTITION BY model, kind, currency))
           AS cumulative_share
FROM (
    SELECT c.model AS model, if(r.campaign_id = '', 'unclassified', r.kind) AS kind,
           c.currency AS currency,
           c.lag_days AS lag_days, toInt64(sum(c.revenue_minor)) AS revenue_minor
    FROM credit_lag_current AS c
    LEFT JOIN (SELECT campaign_id, kind FROM campaigns FINAL) AS r
        ON r.campaign_id = c.campaign_id
    WHERE c.campaign_id != '(none)'
    GROUP BY model, kind, currency, lag_days
    HAVING revenue_minor > 0
);

-- Leads entering each stage of the lead clock per window, and how many are in it by
-- the window's end. warm/hot are the §3 stage transitions summed over campaigns (one
-- per lead), customer is each lead's first accepted purchase.
CREATE OR REPLACE VIEW v_lead_clock AS
SELECT window_start, stage, entered,
       toInt64(sum(entered) OVER (
           PARTITION BY stage ORDER BY window_start
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS reached
FROM (
    SELECT window_start, toString(stage) AS stage, toInt64(sum(leads)) AS entered
    FROM v_lead_stages GROUP BY window_start, stage
    UNION ALL
    SELECT window_start, 'customer' AS stage, entered FROM customers_current
)
WHERE entered > 0;
