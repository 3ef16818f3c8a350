-- v_campaign_scorecard (SPEC §6): one row per registered or seen campaign, what it did,
-- its goal and its verdict. README "Campaigns and judgment" explains each column.
--
-- Why it is written out here instead of over the §4 views (as it was in 005): a
-- dashboard runs it on every refresh, and its cost is almost all planning, not reading.
-- Each source view is the union of both read paths (007: the stored sums, or the
-- per-lead rows), and ClickHouse plans the path not taken too: a parameterized view,
-- FINAL and an IN set per source, then the joins over them. Read through the views
-- the scorecard took ~230 ms at 10 M events; written out as below, ~100 ms
-- (docs/performance.md). Here every source reads its tables directly, in one query:
--   * one scalar for the plan (read_plan, 007) serves every source;
--   * the reach and stage counts come from one source (agg_campaign holds both);
--   * the per-lead credits branch tests `plan.3 = 4294967295` (the version that
--     never exists) before its IN set, so on the stored-sums path the analyzer folds
--     the set away and reads no part (reach and stages need no IN set: 005, 007).
-- The per-lead branches and the clock are written out too, rather than read through
-- pv_campaign_reach, pv_lead_stages, pv_lead_credits and v_clock: through those the
-- scorecard took ~160 ms instead of ~105 ms at 10 M events (31 interleaved runs).
-- The answers are the same on both paths: tests/unit/test_judgment_views.py draws the
-- path at random and compares with the oracle (tests/oracle_judgment.py).

CREATE OR REPLACE VIEW v_campaign_scorecard AS
WITH
    (SELECT plan FROM read_plan) AS plan,
    registry AS (SELECT * FROM campaigns FINAL),
    -- Per campaign: touches, distinct leads reached, leads warmed and hot (all-time).
    totals AS (
        SELECT campaign_id, toInt64(sum(key_touches)) AS touches,
               toInt64(sum(key_reached)) AS reached, toInt64(sum(key_warmed)) AS warmed,
               toInt64(sum(key_hot)) AS hot
        FROM (
            SELECT campaign_id, touches AS key_touches, leads_reached AS key_reached,
                   leads_warmed AS key_warmed, leads_hot AS key_hot
            FROM agg_campaign WHERE version = plan.1 AND epoch = plan.2
            UNION ALL
            SELECT campaign_id, toInt64(sum(touches)), toInt64(uniqExact(lead_id)), 0, 0
            FROM lead_reach FINAL
            WHERE version = plan.3  -- FINAL alone: see pv_lead_reach (005)
            GROUP BY campaign_id
            UNION ALL
            SELECT campaign_id, 0, 0, toInt64(countIf(stage = 'warm')),
                   toInt64(countIf(stage = 'hot'))
            FROM lead_stages FINAL
            WHERE version = plan.3  -- FINAL alone: see pv_lead_stages (007)
            GROUP BY campaign_id
        )
        GROUP BY campaign_id
        HAVING reached > 0
    ),
    -- Per campaign, model and currency: all-time credited revenue (keys with credits).
    revenue AS (
        SELECT campaign_id, model, currency, toInt64(sum(key_revenue)) AS revenue_minor
        FROM (
            SELECT campaign_id, model, currency, revenue_minor AS key_revenue,
                   credits AS key_credits
            FROM agg_campaign_revenue WHERE version = plan.1 AND epoch = plan.2
            UNION ALL
            SELECT campaign_id, model, currency, revenue_minor, 1
            FROM lead_credits FINAL
            WHERE version = plan.3 AND (plan.3 = 4294967295 OR (lead_id, generation, if(lineage = 0, revision, lineage)) IN (
                SELECT lead_id, generation, lineage FROM lead_revisions FINAL
                WHERE version = plan.3))
        )
        GROUP BY campaign_id, model, currency
        HAVING sum(key_credits) > 0
    ),
    money AS (
        SELECT a.campaign_id AS campaign_id,
               toInt64(sumIf(a.revenue_minor, a.currency = r.goal_currency)) AS goal_revenue,
               toInt64(sumIf(a.revenue_minor, a.currency = r.spend_currency)) AS spend_revenue
        FROM revenue AS a
        INNER JOIN registry AS r ON r.campaign_id = a.campaign_id AND r.goal_model = a.model
        GROUP BY a.campaign_id
    ),
    -- v_clock's as_of, read through the same plan (no FINAL: see pv_as_of, 005).
    (SELECT maxOrNull(event_at) FROM (
        SELECT as_of AS event_at FROM agg_as_of WHERE version = plan.1 AND epoch = plan.2
        UNION ALL
        SELECT last_event_at FROM lead_revisions WHERE version = plan.3)) AS clock,
    (SELECT lookback_s FROM current_lookback) AS lookback_s
SELECT
    id AS campaign_id,
    if(registered, reg_name, id) AS name,
    if(registered, reg_kind, 'unclassified') AS kind,
    reg_channel AS channel,
    if(registered, reg_starts_on, NULL) AS starts_on,
    if(registered, reg_ends_on, NULL) AS ends_on,
    seen_touches AS touches,
    seen_leads AS leads_reached,
    seen_warmed AS leads_warmed,
    seen_hot AS leads_hot,
    reg_goal_metric AS goal_metric,
    reg_goal_target AS goal_target,
    reg_goal_currency AS goal_currency,
    reg_goal_model AS goal_model,
    toInt64(multiIf(NOT registered, 0,
                    reg_goal_metric = 'leads_reached', seen_leads,
                    reg_goal_metric = 'leads_warmed', seen_warmed,
                    reg_goal_metric = 'leads_hot', seen_hot,
                    m.goal_revenue)) AS actual,
    -- ends_on + 1 day (+ the lookback for revenue) can pass DateTime's 2106 limit, hence
    -- DateTime64. A lookback reaching beyond 2299 is cut there (still far ahead).
    if(registered, toDateTime64(least(
        (toInt64(reg_ends_on) + 1) * 86400 + if(reg_goal_metric = 'revenue', lookback_s, 0),
        10413791999), 6, 'UTC'), NULL) AS due_at,
    multiIf(NOT registered, 'unjudged',
            actual >= reg_goal_target, 'met',
            clock IS NULL OR clock < due_at, 'maturing',
            'not_met') AS verdict,
    CAST(if(registered, reg_declared_on <= reg_starts_on, NULL) AS Nullable(Bool))
        AS declared_in_advance,
    if(registered, reg_spend_minor, NULL) AS spend_minor,
    reg_spend_currency AS spend_currency,
    if(reg_spend_minor IS NULL OR seen_warmed = 0, NULL,
       toFloat64(reg_spend_minor) / (exp10(reg_spend_exponent) * seen_warmed))
        AS cost_per_lead_warmed,
    if(reg_spend_minor IS NULL, NULL,
       toFloat64(m.spend_revenue) / toFloat64(reg_spend_minor)) AS roas
FROM (
    SELECT if(r.campaign_id = '', x.campaign_id, r.campaign_id) AS id,
           r.campaign_id != '' AS registered,
           r.name AS reg_name, r.kind AS reg_kind, r.channel AS reg_channel,
           r.starts_on AS reg_starts_on, r.ends_on AS reg_ends_on,
           r.goal_metric AS reg_goal_metric, r.goal_target AS reg_goal_target,
           r.goal_currency AS reg_goal_currency, r.goal_model AS reg_goal_model,
           r.spend_minor AS reg_spend_minor, r.spend_currency AS reg_spend_currency,
           r.spend_exponent AS reg_spend_exponent, r.declared_on AS reg_declared_on,
           x.touches AS seen_touches, x.reached AS seen_leads,
           x.warmed AS seen_warmed, x.hot AS seen_hot
    FROM registry AS r FULL OUTER JOIN totals AS x ON x.campaign_id = r.campaign_id
) AS ids
LEFT JOIN money AS m ON m.campaign_id = ids.id
WHERE id != '(none)';
