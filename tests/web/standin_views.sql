-- STAND-IN SPEC §6 VIEWS FOR THE DASHBOARD TESTS ONLY.  DELETE WHEN ISSUE 10 LANDS.
--
-- Issue 10 builds the real v_clock, v_campaign_scorecard, v_model_comparison,
-- v_revenue_lag, v_lead_clock and v_revenue_projection (and the campaign registry).
-- Until then the dashboard tests need views with the SPEC §6 columns to read, so this
-- file fakes them over the §4 views and a test-only registry table. The numbers are
-- plausible, not the SPEC's semantics (the projection in particular is a constant
-- share): the dashboard tests check plumbing, parameters and rendering, never these
-- figures. Once issue 10 is merged, tests/web/conftest.py loads the real registry
-- with `leadclock campaigns load` instead and this file goes away.

CREATE TABLE IF NOT EXISTS standin_campaigns (
    campaign_id String, name String, kind String, channel String,
    starts_on Date, ends_on Date, goal_metric String, goal_target Int64,
    goal_currency String, goal_model String, spend_minor Nullable(Int64),
    spend_currency Nullable(String), declared_on Date
) ENGINE = MergeTree ORDER BY campaign_id;

CREATE OR REPLACE VIEW v_clock AS
SELECT toDateTime64(max(t), 6, 'UTC') AS as_of FROM (
    SELECT max(purchased_at) AS t FROM v_attribution_credits
    UNION ALL SELECT max(touched_at) AS t FROM lead_stages
);

CREATE OR REPLACE VIEW v_model_comparison AS
SELECT campaign_id, currency,
       toInt64(sumIf(revenue_minor, model = 'first_touch')) AS first_touch,
       toInt64(sumIf(revenue_minor, model = 'last_touch')) AS last_touch,
       toInt64(sumIf(revenue_minor, model = 'linear')) AS linear,
       toInt64(sumIf(revenue_minor, model = 'position_based')) AS position_based,
       toInt64(sumIf(revenue_minor, model = 'time_decay')) AS time_decay
FROM v_attribution WHERE campaign_id != '(none)'
GROUP BY campaign_id, currency;

CREATE OR REPLACE VIEW v_campaign_scorecard AS
WITH seen AS (
    SELECT campaign_id, toInt64(sum(touches)) AS touches FROM v_marketing_reach
    GROUP BY campaign_id
), stages AS (
    SELECT campaign_id, toInt64(sumIf(leads, stage = 'warm')) AS warmed,
           toInt64(sumIf(leads, stage = 'hot')) AS hot
    FROM v_lead_stages GROUP BY campaign_id
), reached AS (
    SELECT campaign_id, toInt64(uniqExact(lead_id)) AS reached FROM lead_reach
    GROUP BY campaign_id
), revenue AS (
    SELECT campaign_id, model, currency, toInt64(sum(revenue_minor)) AS revenue
    FROM v_attribution GROUP BY campaign_id, model, currency
), ids AS (
    SELECT campaign_id FROM seen UNION DISTINCT SELECT campaign_id FROM standin_campaigns
)
SELECT ids.campaign_id AS campaign_id,
       if(c.campaign_id = '', ids.campaign_id, c.name) AS name,
       if(c.campaign_id = '', 'unclassified', c.kind) AS kind,
       c.channel AS channel,
       if(c.campaign_id = '', NULL, c.starts_on) AS starts_on,
       if(c.campaign_id = '', NULL, c.ends_on) AS ends_on,
       seen.touches AS touches, reached.reached AS leads_reached,
       stages.warmed AS leads_warmed, stages.hot AS leads_hot,
       if(c.campaign_id = '', NULL, c.goal_metric) AS goal_metric,
       if(c.campaign_id = '', NULL, c.goal_target) AS goal_target,
       if(c.goal_currency = '', NULL, c.goal_currency) AS goal_currency,
       if(c.goal_model = '', NULL, c.goal_model) AS goal_model,
       multiIf(c.campaign_id = '', NULL,
               c.goal_metric = 'leads_reached', reached.reached,
               c.goal_metric = 'leads_warmed', stages.warmed,
               c.goal_metric = 'leads_hot', stages.hot,
               revenue.revenue) AS actual,
       if(c.campaign_id = '', NULL, toDateTime(c.ends_on + 1, 'UTC')) AS due_at,
       multiIf(c.campaign_id = '', 'unjudged', actual >= c.goal_target, 'met',
               (SELECT as_of FROM v_clock) < due_at, 'maturing', 'not_met') AS verdict,
       if(c.campaign_id = '', NULL, c.declared_on <= c.starts_on) AS declared_in_advance,
       c.spend_minor AS spend_minor, c.spend_currency AS spend_currency,
       CAST(NULL AS Nullable(Float64)) AS cost_per_lead_warmed,
       CAST(NULL AS Nullable(Float64)) AS roas
FROM ids
LEFT JOIN standin_campaigns AS c ON c.campaign_id = ids.campaign_id
LEFT JOIN seen ON seen.campaign_id = ids.campaign_id
LEFT JOIN stages ON stages.campaign_id = ids.campaign_id
LEFT JOIN reached ON reached.campaign_id = ids.campaign_id
LEFT JOIN revenue ON revenue.campaign_id = ids.campaign_id
    AND revenue.model = c.goal_model AND revenue.currency = c.goal_currency;

CREATE OR REPLACE VIEW v_revenue_lag AS
SELECT model, kind, currency, lag_days, revenue_minor,
       sum(revenue_minor) OVER (PARTITION BY model, kind, currency ORDER BY lag_days)
         / sum(revenue_minor) OVER (PARTITION BY model, kind, currency) AS cumulative_share
FROM (
    SELECT a.model AS model, s.kind AS kind, a.currency AS currency,
           toUInt32(intDiv(a.lag_seconds, 86400)) AS lag_days,
           toInt64(sum(a.revenue_minor)) AS revenue_minor
    FROM v_attribution_credits AS a
    INNER JOIN v_campaign_scorecard AS s ON s.campaign_id = a.campaign_id
    GROUP BY model, kind, currency, lag_days
);

CREATE OR REPLACE VIEW v_lead_clock AS
SELECT window_start, stage, entered,
       toInt64(sum(entered) OVER (PARTITION BY stage ORDER BY window_start)) AS reached
FROM (
    SELECT window_start, stage, toInt64(sum(leads)) AS entered FROM v_lead_stages
    GROUP BY window_start, stage
    UNION ALL
    SELECT toStartOfDay(first_purchase, 'UTC') AS window_start, 'customer' AS stage,
           toInt64(count()) AS entered
    FROM (SELECT lead_id, min(purchased_at) AS first_purchase FROM v_attribution_credits
          GROUP BY lead_id)
    GROUP BY window_start
);

CREATE OR REPLACE VIEW v_revenue_projection AS
SELECT a.campaign_id AS campaign_id, s.kind AS kind, a.model AS model, a.currency AS currency,
       toInt64(sum(a.revenue_minor)) AS revenue_minor,
       if(s.kind = 'unclassified', 0.5, 0.8) AS matured_share,
       toInt64(round(revenue_minor / matured_share)) AS projected_revenue_minor,
       ifNull(s.ends_on, toDate('2026-06-30')) + 30 AS judge_from,
       if(s.kind = 'unclassified', 'too_little_history', 'maturing') AS status
FROM v_attribution AS a
INNER JOIN v_campaign_scorecard AS s ON s.campaign_id = a.campaign_id
GROUP BY campaign_id, kind, model, currency, s.ends_on;
