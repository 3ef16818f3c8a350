-- v_revenue_projection (SPEC §6): for every campaign, how much of its eventual revenue
-- has arrived, how much it will probably end with, and from which day it is fair to
-- judge it on revenue. The method, its exact definitions and its limits are in
-- docs/projection.md; tests/oracle_projection.py is the reference this view equals.
--
-- Steps (each a CTE below): exposure = a campaign's touches per UTC day; history =
-- credits with revenue of touches made on mature days (a touch day d is mature when
-- d + 1 day + lookback <= as_of), per (kind, channel) and per kind, with model and
-- currency; a group is usable with >= 30 such credits from >= 2 campaigns and mature
-- touches; its lag curve F(d) is the cumulative share of its revenue by lag day, read
-- continuously by C(x); matured_share = touch-weighted C at as_of; prior = the group's
-- revenue per mature touch x the campaign's touches; projected = Benktander blend.
-- Credits (by touch day and lag day) and reach (by window) are read once each, already
-- summed: group figures are window sums over one grid of campaign x model x currency
-- rows, not joins back.
--
-- Its sources are written out, under one read_plan scalar (007), like the scorecard's
-- (008, which says why): the partial tables when they hold the version (agg_lag,
-- agg_reach, agg_campaign_revenue, agg_as_of, with the HAVING of credit_lag_current,
-- v_marketing_reach and campaign_revenue_current), else the per-version views. Read
-- through those views it took ~690 ms at 10 M events, written out ~350 ms. (It came in
-- 006 before; it needs 007's tables, hence this file.)
--
-- Rows, not keys: the partial tables hold one row per key and home partition, and the
-- §4-style views sum a key over partitions before filtering it (HAVING credits > 0,
-- leads > 0). This view only sums further (per campaign and day, per campaign, model
-- and currency), so it reads the rows as they are, filtered row by row: credits and
-- leads are counts (never negative), so a key's sum is 0 exactly when each of its rows
-- is 0, and such a row holds no touch, revenue or positive credit either. The same
-- answers without grouping ~700 k agg_lag rows by key at 10 M events first.
--
-- C(x) is written out where it is used (the DDL renderer cannot create a SQL function
-- ON CLUSTER): with cv the curve array (cv[k + 1] = F(k)) and w = floor(x), C(x) = 0
-- for x < 0, 1 for w >= length(cv), else F(w - 1) + (x - w) * (F(w) - F(w - 1)) with
-- F(-1) = 0. The arithmetic follows the reference step by step (same Float64 results
-- up to the order of sums).
--
-- Exposure days come from the reach windows (v_marketing_reach): exact for the 1h and
-- 1d windows; with --window 1w every touch counts on its week's Monday (see docs/projection.md).

CREATE OR REPLACE VIEW v_revenue_projection AS
WITH
    (SELECT plan FROM read_plan) AS plan,
    -- v_clock's as_of, read through the same plan (no FINAL: see pv_as_of, 005).
    (SELECT maxOrNull(event_at) FROM (
        SELECT as_of AS event_at FROM agg_as_of WHERE version = plan.1 AND epoch = plan.2
        UNION ALL
        SELECT last_event_at FROM lead_revisions WHERE version = plan.3)) AS clock,
    (SELECT lookback_s FROM current_lookback) AS lookback_s,
    toUnixTimestamp64Micro(assumeNotNull(clock)) AS clock_us,
    toInt64(86400000000) AS day_us,
    clock_us - lookback_s * 1000000 AS cut_us,
    intDiv(cut_us, day_us) - if(cut_us % day_us < 0, 1, 0) AS mature_before,
    -- Every currency a row could be in (a superset: filtered below).
    (SELECT groupUniqArray(toString(currency)) FROM (
        SELECT currency FROM agg_campaign_revenue
        WHERE version = plan.1 AND epoch = plan.2 AND credits > 0
        UNION ALL
        SELECT currency FROM pv_lead_credits(version = plan.3))) AS credit_currencies,
    (SELECT groupUniqArray(toString(goal_currency)) FROM campaigns WHERE goal_currency != '')
        AS goal_currencies,
    -- Each seen campaign: its exposure (touches per UTC day) and registry facts.
    seen AS (
        SELECT x.campaign_id AS campaign_id,
               if(r.campaign_id = '', 'unclassified', toString(r.kind)) AS kind,
               if(r.campaign_id = '', '', r.channel) AS channel,
               if(r.campaign_id = '', x.last_touch_day, toInt64(r.ends_on)) AS last_day,
               toString(r.goal_currency) AS goal_currency,
               x.days AS days, x.ns AS ns, x.total AS total, x.mature_touches AS mature_touches
        FROM (
            SELECT campaign_id, groupArray(day) AS days, groupArray(n) AS ns,
                   toInt64(sum(n)) AS total, max(day) AS last_touch_day,
                   toInt64(sumIf(n, day < mature_before)) AS mature_touches
            FROM (
                SELECT campaign_id,
                       intDiv(toInt64(toUnixTimestamp(window_start)), 86400) AS day,
                       toInt64(sum(key_touches)) AS n
                FROM (
                    -- v_marketing_reach's touches by window (see "Rows, not keys").
                    SELECT campaign_id, window_start, touches AS key_touches
                    FROM agg_reach WHERE version = plan.1 AND epoch = plan.2 AND leads > 0
                    UNION ALL
                    SELECT campaign_id, window_start, touches
                    FROM pv_lead_reach(version = plan.3)
                )
                WHERE campaign_id != '(none)'
                GROUP BY campaign_id, day
            )
            GROUP BY campaign_id
        ) AS x
        LEFT JOIN (SELECT campaign_id, kind, channel, ends_on, goal_currency
                   FROM campaigns FINAL) AS r ON r.campaign_id = x.campaign_id
    ),
    -- Each campaign's credits per model and currency: revenue so far, and the lag
    -- histogram, revenue and number of its history credits (revenue > 0, mature day).
    credit_stats AS (
        SELECT campaign_id, model, currency, 1 AS present,
               toInt64(sum(revenue_minor)) AS so_far,
               sumMapIf([lag_days], [positive_revenue], history) AS hist_map,
               toInt64(sumIf(positive_revenue, history)) AS hist_revenue,
               toInt64(sumIf(positive_credits, history)) AS hist_credits
        FROM (
            SELECT campaign_id, toString(model) AS model, toString(currency) AS currency,
                   revenue_minor, lag_days, positive_revenue, positive_credits,
                   positive_credits > 0 AND touch_day < mature_before AS history
            FROM (
                -- credit_lag_current's rows (see "Rows, not keys").
                SELECT campaign_id, model, currency, touch_day, lag_days, revenue_minor,
                       positive_revenue, positive_credits, credits
                FROM agg_lag WHERE version = plan.1 AND epoch = plan.2 AND credits > 0
                UNION ALL
                SELECT * FROM pv_credit_lag(version = plan.3)
            )
            WHERE campaign_id != '(none)' AND credits > 0
        )
        GROUP BY campaign_id, model, currency
    ),
    -- Every seen campaign x model x candidate currency, with its own credit figures.
    grid AS (
        SELECT g.campaign_id AS campaign_id, g.kind AS kind, g.channel AS channel,
               g.model AS model, g.currency AS currency, g.days AS days, g.ns AS ns,
               g.total AS total, g.mature_touches AS mature_touches, g.last_day AS last_day,
               g.goal_currency AS goal_currency, c.present AS present, c.so_far AS so_far,
               c.hist_map AS hist_map, c.hist_revenue AS hist_revenue,
               c.hist_credits AS hist_credits
        FROM (
            SELECT *, currency, model
            FROM seen
            ARRAY JOIN arrayDistinct(arrayConcat(credit_currencies, goal_currencies)) AS currency
            ARRAY JOIN ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']
                AS model
        ) AS g
        LEFT JOIN credit_stats AS c
            ON c.campaign_id = g.campaign_id AND c.model = g.model AND c.currency = g.currency
    ),
    -- The history of each group, attached to every row of the group: per (kind,
    -- channel) and per kind, with model and currency. Every seen campaign of a group
    -- has exactly one row per (model, currency), so the sums count it once.
    groups AS (
        SELECT *,
            sumMap(hist_map) OVER by_channel AS channel_map,
            sum(hist_revenue) OVER by_channel AS channel_revenue,
            sum(hist_credits) OVER by_channel AS channel_credits,
            countIf(hist_credits > 0) OVER by_channel AS channel_campaigns,
            sum(mature_touches) OVER by_channel AS channel_touches,
            sumMap(hist_map) OVER by_kind AS kind_map,
            sum(hist_revenue) OVER by_kind AS kind_revenue,
            sum(hist_credits) OVER by_kind AS kind_credits,
            countIf(hist_credits > 0) OVER by_kind AS kind_campaigns,
            sum(mature_touches) OVER by_kind AS kind_touches,
            max(present) OVER (PARTITION BY campaign_id, currency) AS has_credits,
            sum(hist_revenue) OVER (PARTITION BY kind, currency) AS kind_currency_revenue
        FROM grid
        WINDOW by_channel AS (PARTITION BY kind, channel, model, currency),
               by_kind AS (PARTITION BY kind, model, currency)
    ),
    -- Rows: currencies the campaign has credits in, its kind's history has revenue in,
    -- or its revenue goal is in. The history used: its channel's if usable, else its
    -- kind's, else none; its lag curve F (cv[d + 1] = share of revenue with lag <= d).
    estimates AS (
        SELECT campaign_id, kind, model, currency, so_far AS revenue_minor, days, ns, total,
               channel_credits >= 30 AND channel_campaigns >= 2 AND channel_touches > 0
                   AS channel_usable,
               kind_credits >= 30 AND kind_campaigns >= 2 AND kind_touches > 0 AS kind_usable,
               if(channel_usable, channel_map, kind_map) AS lag_revenue,
               if(channel_usable, channel_revenue, kind_revenue) AS history_revenue,
               if(channel_usable, channel_revenue / channel_touches,
                  kind_revenue / kind_touches) AS rate,
               channel_usable OR kind_usable AS has_history,
               if(has_history, arrayMap(v -> v / history_revenue, arrayCumSum(arrayMap(
                   d -> toInt64(if(indexOf(lag_revenue.1, d) > 0,
                                   lag_revenue.2[indexOf(lag_revenue.1, d)], 0)),
                   range(toUInt32(arrayMax(lag_revenue.1) + 1))))), []) AS cv,
               (last_day + 1) * 86400 + lookback_s AS due_s,
               intDiv(clock_us, 1000000) >= due_s AS is_mature,
               intDiv(due_s, 86400) AS due_day
        FROM groups
        WHERE clock IS NOT NULL
          AND (has_credits = 1 OR kind_currency_revenue > 0 OR currency = goal_currency)
    ),
    shares AS (
        SELECT *,
            -- C(x) at as_of for each touch day t (x = its age in days, from noon).
            arraySum(arrayMap((x, n) -> n * if(x < 0, 0., if(floor(x) >= length(cv), 1.,
                    if(floor(x) > 0, cv[toInt64(floor(x))], 0.) + (x - floor(x))
                    * (cv[toInt64(floor(x)) + 1] - if(floor(x) > 0, cv[toInt64(floor(x))], 0.)))),
                arrayMap(t -> (clock_us - t * day_us) / day_us - 0.5, days), ns))
                / total AS share_now,
            -- The same at the start of day d: x = d - t - 0.5, so floor(x) = d - t - 1 and
            -- x - floor(x) = 0.5. The first d (from the first touch day) reaching 90 %.
            arrayFirstIndex(d -> arraySum(arrayMap((t, n) -> n * if(d <= t, 0.,
                    if(d - t - 1 >= length(cv), 1.,
                       if(d - t - 1 > 0, cv[d - t - 1], 0.)
                       + 0.5 * (cv[d - t] - if(d - t - 1 > 0, cv[d - t - 1], 0.)))),
                days, ns)) / total >= 0.9,
                range(arrayMin(days), greatest(arrayMin(days),
                                               least(due_day, arrayMax(days) + length(cv) + 2))))
                AS judge_index
        FROM estimates
    )
SELECT campaign_id, kind, model, currency, revenue_minor,
       CAST(multiIf(is_mature, 1., has_history, share_now, NULL) AS Nullable(Float64))
           AS matured_share,
       CAST(multiIf(is_mature, revenue_minor,
                    has_history, toInt64(floor(revenue_minor + (1 - share_now)
                        * (revenue_minor + (1 - share_now) * (rate * total)) + 0.5)),
                    NULL) AS Nullable(Int64)) AS projected_revenue_minor,
       addDays(toDate('1970-01-01'), toInt32(least(65535,
           if(has_history AND judge_index > 0, arrayMin(days) + judge_index - 1, due_day))))
           AS judge_from,
       multiIf(is_mature, 'mature', has_history, 'maturing', 'too_little_history') AS status
FROM shares;
