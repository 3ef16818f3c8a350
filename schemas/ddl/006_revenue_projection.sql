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
--
-- C(x) is written out where it is used (the DDL renderer cannot create a SQL function
-- ON CLUSTER): with cv the curve array (cv[k + 1] = F(k)) and w = floor(x), C(x) = 0
-- for x < 0, 1 for w >= length(cv), else F(w - 1) + (x - w) * (F(w) - F(w - 1)) with
-- F(-1) = 0. The arithmetic follows the reference step by step (same Float64 results
-- up to the order of sums).
--
-- Exposure days come from lead_reach_current's windows: exact for the 1h and 1d windows;
-- with --window 1w every touch counts on its week's Monday (see docs/projection.md).

CREATE OR REPLACE VIEW v_revenue_projection AS
WITH
    (SELECT as_of FROM v_clock) AS clock,
    (SELECT lookback_s FROM current_lookback) AS lookback_s,
    toUnixTimestamp64Micro(assumeNotNull(clock)) AS clock_us,
    toInt64(86400000000) AS day_us,
    clock_us - lookback_s * 1000000 AS cut_us,
    intDiv(cut_us, day_us) - if(cut_us % day_us < 0, 1, 0) AS mature_before,
    registry AS (
        SELECT campaign_id, kind, channel, ends_on, goal_currency FROM campaigns FINAL
    ),
    exposure AS (
        SELECT campaign_id, intDiv(toInt64(toUnixTimestamp(window_start)), 86400) AS day,
               toInt64(sum(touches)) AS n
        FROM lead_reach_current
        WHERE campaign_id != '(none)'
        GROUP BY campaign_id, day
    ),
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
            FROM exposure GROUP BY campaign_id
        ) AS x
        LEFT JOIN registry AS r ON r.campaign_id = x.campaign_id
    ),
    history_touches AS (
        SELECT kind, level_channel.1 AS level, level_channel.2 AS grp_channel,
               toInt64(sum(mature_touches)) AS touches
        FROM seen
        ARRAY JOIN [(toUInt8(1), channel), (toUInt8(2), '')] AS level_channel
        GROUP BY kind, level, grp_channel
    ),
    credits AS (
        SELECT campaign_id, toString(model) AS model, toString(currency) AS currency,
               revenue_minor, toUnixTimestamp64Micro(touched_at) AS touched_us,
               toUnixTimestamp64Micro(purchased_at) AS purchased_us
        FROM v_attribution_credits
        WHERE campaign_id != '(none)'
    ),
    so_far AS (
        SELECT campaign_id, model, currency, toInt64(sum(revenue_minor)) AS revenue
        FROM credits GROUP BY campaign_id, model, currency
    ),
    history AS (
        SELECT s.kind AS kind, level_channel.1 AS level, level_channel.2 AS grp_channel,
               c.model AS model, c.currency AS currency,
               sumMap([toUInt32(intDiv(c.purchased_us - c.touched_us, day_us))],
                      [toInt64(c.revenue_minor)]) AS lag_revenue,
               toInt64(sum(c.revenue_minor)) AS revenue, count() AS credit_count,
               uniqExact(c.campaign_id) AS campaign_count
        FROM credits AS c
        INNER JOIN seen AS s ON s.campaign_id = c.campaign_id
        ARRAY JOIN [(toUInt8(1), s.channel), (toUInt8(2), '')] AS level_channel
        WHERE c.revenue_minor > 0 AND intDiv(c.touched_us, day_us) < mature_before
        GROUP BY kind, level, grp_channel, model, currency
    ),
    curves AS (
        SELECT h.kind AS kind, h.level AS level, h.grp_channel AS grp_channel,
               h.model AS model, h.currency AS currency,
               arrayMap(v -> v / h.revenue, arrayCumSum(arrayMap(
                   d -> toInt64(if(indexOf(h.lag_revenue.1, d) > 0,
                                   h.lag_revenue.2[indexOf(h.lag_revenue.1, d)], 0)),
                   range(toUInt32(arrayMax(h.lag_revenue.1) + 1))))) AS curve,
               h.revenue / t.touches AS rate
        FROM history AS h
        INNER JOIN history_touches AS t
            ON t.kind = h.kind AND t.level = h.level AND t.grp_channel = h.grp_channel
        WHERE h.credit_count >= 30 AND h.campaign_count >= 2 AND t.touches > 0
    ),
    row_keys AS (
        SELECT DISTINCT campaign_id, currency, model
        FROM (
            SELECT campaign_id, currency FROM so_far
            UNION ALL
            SELECT s.campaign_id AS campaign_id, h.currency AS currency
            FROM seen AS s
            INNER JOIN (SELECT DISTINCT kind, currency FROM history WHERE level = 2) AS h
                ON h.kind = s.kind
            UNION ALL
            SELECT campaign_id, goal_currency AS currency FROM seen WHERE goal_currency != ''
        )
        ARRAY JOIN ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']
            AS model
    ),
    estimates AS (
        SELECT k.campaign_id AS campaign_id, s.kind AS kind, k.model AS model,
               k.currency AS currency, f.revenue AS revenue_minor,
               s.days AS days, s.ns AS ns, s.total AS total,
               if(notEmpty(cc.curve), cc.curve, ck.curve) AS cv,
               if(notEmpty(cc.curve), cc.rate, ck.rate) AS rate,
               notEmpty(cv) AS has_history,
               (s.last_day + 1) * 86400 + lookback_s AS due_s,
               intDiv(clock_us, 1000000) >= due_s AS is_mature,
               intDiv(due_s, 86400) AS due_day
        FROM row_keys AS k
        INNER JOIN seen AS s ON s.campaign_id = k.campaign_id
        LEFT JOIN so_far AS f
            ON f.campaign_id = k.campaign_id AND f.model = k.model AND f.currency = k.currency
        LEFT JOIN curves AS cc
            ON cc.kind = s.kind AND cc.level = 1 AND cc.grp_channel = s.channel
            AND cc.model = k.model AND cc.currency = k.currency
        LEFT JOIN curves AS ck
            ON ck.kind = s.kind AND ck.level = 2 AND ck.grp_channel = ''
            AND ck.model = k.model AND ck.currency = k.currency
        WHERE clock IS NOT NULL
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
