"""The dashboard's panels: for each, the constant SQL over the public views and its parameters.

Every query reads only the views of SPEC §4 and §6 (never a table), so the page shows
exactly what Grafana or a user's own SQL would. User choices enter only as typed
server-side parameters (``{name:Type}``): the SQL text is a constant chosen by code,
never built from request values. A kind filter other than ``all`` selects a second
constant text that carries the filter, so ``all`` costs no lookup of the scorecard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from streams.web.params import (
    BUCKET,
    CAMPAIGN,
    CURRENCY,
    DATE_FROM,
    DATE_TO,
    KIND,
    MODEL,
    TOUCH_TYPE,
    Param,
)

_KIND_OF_CAMPAIGN = """campaign_id IN (
    SELECT campaign_id FROM v_campaign_scorecard WHERE kind = {kind:String})"""
_CAMPAIGN = "({campaign:Nullable(String)} IS NULL OR campaign_id = {campaign:Nullable(String)})"
_DAYS = """({date_from:Nullable(Date)} IS NULL
        OR %(column)s >= toDateTime({date_from:Nullable(Date)}, 'UTC'))
    AND ({date_to:Nullable(Date)} IS NULL
        OR %(column)s < toDateTime({date_to:Nullable(Date)} + 1, 'UTC'))"""
_WINDOW_DAYS = _DAYS % {"column": "window_start"}
_PURCHASE_DAYS = _DAYS % {"column": "purchase_window"}
#: URL parameter name -> server-side parameter name, where they differ.
_SQL_NAMES = {"from": "date_from", "to": "date_to"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):")


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel's query: ``sql`` for every kind, ``sql_by_kind`` when one kind is chosen."""

    name: str
    title: str
    params: tuple[Param, ...]
    sql: str
    sql_by_kind: str | None = None

    def query(self, values: Mapping[str, object]) -> tuple[str, dict[str, object]]:
        """The SQL text and its server-side parameters for validated ``values``."""
        text = self.sql
        if self.sql_by_kind is not None and values.get("kind", "all") != "all":
            text = self.sql_by_kind
        wanted = set(_PLACEHOLDER.findall(text))
        bound = {_SQL_NAMES.get(name, name): value for name, value in values.items()}
        return text, {name: value for name, value in bound.items() if name in wanted}


def _kinded(template: str, filter_sql: str) -> tuple[str, str]:
    """The template without and with the kind filter (``/*kind*/`` marks the spot)."""
    return template.replace("/*kind*/", ""), template.replace("/*kind*/", f"AND {filter_sql}")


_SCORECARD = """
SELECT s.campaign_id AS campaign_id, s.name AS name, s.kind AS kind, s.channel AS channel,
       s.starts_on AS starts_on, s.ends_on AS ends_on,
       s.goal_metric AS goal_metric, s.goal_target AS goal_target,
       s.goal_currency AS goal_currency, s.goal_model AS goal_model, s.actual AS actual,
       s.due_at AS due_at, s.verdict AS verdict, s.declared_in_advance AS declared_in_advance,
       s.touches AS touches, s.leads_reached AS leads_reached,
       s.leads_warmed AS leads_warmed, s.leads_hot AS leads_hot,
       s.spend_minor AS spend_minor, s.spend_currency AS spend_currency,
       s.cost_per_lead_warmed AS cost_per_lead_warmed, s.roas AS roas,
       {model:String} AS model, {currency:String} AS currency,
       toInt64(r.revenue) AS revenue_minor,
       if(p.campaign_id = '', NULL, p.projected_revenue_minor) AS projected_revenue_minor,
       if(p.campaign_id = '', NULL, p.matured_share) AS matured_share,
       if(p.campaign_id = '', NULL, p.judge_from) AS judge_from,
       if(p.campaign_id = '', NULL, p.status) AS projection_status
FROM v_campaign_scorecard AS s
LEFT JOIN (
    SELECT campaign_id,
           multiIf({model:String} = 'first_touch', first_touch,
                   {model:String} = 'last_touch', last_touch,
                   {model:String} = 'linear', linear,
                   {model:String} = 'position_based', position_based,
                   time_decay) AS revenue
    FROM v_model_comparison WHERE currency = {currency:String}
) AS r ON r.campaign_id = s.campaign_id
LEFT JOIN (
    SELECT campaign_id, projected_revenue_minor, matured_share, judge_from, status
    FROM v_revenue_projection
    WHERE model = {model:String} AND currency = {currency:String}
) AS p ON p.campaign_id = s.campaign_id
WHERE ({kind:String} = 'all' OR s.kind = {kind:String})
ORDER BY campaign_id
"""

_REACH = _kinded(f"""
SELECT campaign_id, touch_type, window_start, touches, leads
FROM v_marketing_reach
WHERE {_CAMPAIGN}
  AND ({{touch_type:Nullable(String)}} IS NULL OR touch_type = {{touch_type:Nullable(String)}})
  AND {_WINDOW_DAYS} /*kind*/
ORDER BY campaign_id, touch_type, window_start
""", _KIND_OF_CAMPAIGN)

_LEAD_CLOCK = f"""
SELECT window_start, stage, entered, reached
FROM v_lead_clock
WHERE {_WINDOW_DAYS}
ORDER BY window_start, indexOf(['warm', 'hot', 'customer'], stage)
"""

_DELAYED = _kinded(f"""
SELECT multiIf({{bucket:String}} = 'day', toDate(touch_window),
               {{bucket:String}} = 'week', toMonday(touch_window),
               toStartOfMonth(touch_window)) AS touch_cohort,
       multiIf({{bucket:String}} = 'day', toDate(purchase_window),
               {{bucket:String}} = 'week', toMonday(purchase_window),
               toStartOfMonth(purchase_window)) AS purchase_period,
       currency, toInt64(sum(revenue_minor)) AS revenue_minor
FROM v_attribution
WHERE model = {{model:String}} AND currency = {{currency:String}}
  AND campaign_id != '(none)' AND {_CAMPAIGN}
  AND {_PURCHASE_DAYS} /*kind*/
GROUP BY touch_cohort, purchase_period, currency
ORDER BY touch_cohort, purchase_period
""", _KIND_OF_CAMPAIGN)

_LAG = """
SELECT model, kind, currency, lag_days, revenue_minor, cumulative_share
FROM v_revenue_lag
WHERE model = {model:String} AND currency = {currency:String}
  AND ({kind:String} = 'all' OR kind = {kind:String})
ORDER BY kind, lag_days
"""

_PROJECTION = f"""
SELECT campaign_id, kind, model, currency, revenue_minor, matured_share,
       projected_revenue_minor, judge_from, status
FROM v_revenue_projection
WHERE model = {{model:String}} AND currency = {{currency:String}} AND {_CAMPAIGN}
  AND ({{kind:String}} = 'all' OR kind = {{kind:String}})
ORDER BY campaign_id
"""

_MODELS = _kinded(f"""
SELECT campaign_id, currency, first_touch, last_touch, linear, position_based, time_decay
FROM v_model_comparison
WHERE currency = {{currency:String}} AND {_CAMPAIGN} /*kind*/
ORDER BY campaign_id
""", _KIND_OF_CAMPAIGN)

PANELS: dict[str, Panel] = {panel.name: panel for panel in (
    Panel("scorecard", "Campaign scorecard", (KIND, MODEL, CURRENCY), _SCORECARD),
    Panel("reach", "Reach over time", (CAMPAIGN, TOUCH_TYPE, KIND, DATE_FROM, DATE_TO),
          *_REACH),
    Panel("lead-clock", "Lead clock", (DATE_FROM, DATE_TO), _LEAD_CLOCK),
    Panel("delayed-revenue", "Delayed revenue",
          (MODEL, CURRENCY, CAMPAIGN, KIND, BUCKET, DATE_FROM, DATE_TO), *_DELAYED),
    Panel("lag", "Revenue lag", (MODEL, CURRENCY, KIND), _LAG),
    Panel("projection", "Projection", (MODEL, CURRENCY, CAMPAIGN, KIND), _PROJECTION),
    Panel("model-comparison", "Model comparison", (CURRENCY, CAMPAIGN, KIND), *_MODELS),
)}

#: The clock and the currencies with revenue, for the page's header and selectors.
CLOCK_SQL = "SELECT as_of FROM v_clock"
#: Currencies with campaign revenue, busiest first (most attribution keys; ties
#: alphabetical): the first is the default of a money panel. Money is never converted.
CURRENCIES_SQL = """
SELECT currency, toInt64(count()) AS attribution_keys FROM v_attribution
WHERE model = 'linear' AND campaign_id != '(none)'
GROUP BY currency ORDER BY attribution_keys DESC, currency
"""
