"""The live scorecard for the terminal (``worker --report-every``), read from the public views.

Reads only the views a dashboard reads (``v_clock``, ``v_campaign_scorecard``,
``v_model_comparison``, ``v_attribution`` and, once it exists, ``v_revenue_projection``),
so what the user sees in the terminal is exactly what Grafana would show. Every "leads"
figure is an all-time count of distinct leads (a lead warms or turns hot once), never a
sum of per-window counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from clickhouse_connect.driver.client import Client

from schemas.campaign_types import DEFAULT_GOAL_MODEL
from schemas.money import format_minor

_MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
_SCORECARD = """
SELECT campaign_id, kind, goal_metric, goal_target, goal_currency, goal_model, actual,
       due_at, verdict, leads_reached, leads_warmed, leads_hot
FROM v_campaign_scorecard
ORDER BY kind = 'unclassified', starts_on, campaign_id
"""
_REVENUE = f"SELECT campaign_id, currency, {', '.join(_MODELS)} FROM v_model_comparison"
_UNATTRIBUTED = """
SELECT currency, sum(revenue_minor) FROM v_attribution
WHERE campaign_id = '(none)' AND model = 'linear' GROUP BY currency ORDER BY currency
"""
_PROJECTION = """
SELECT campaign_id, model, currency, projected_revenue_minor, judge_from, status
FROM v_revenue_projection
"""


@dataclass(frozen=True, slots=True)
class Projection:
    """A campaign's projected revenue in one currency, and when to judge it on revenue."""

    projected_minor: int | None  # None: too little history to project
    judge_from: date | None
    status: str


@dataclass(frozen=True, slots=True)
class ScorecardLine:
    """One campaign as the report shows it (a scorecard row plus its money)."""

    campaign_id: str
    kind: str
    goal_metric: str
    goal_target: int
    goal_currency: str
    goal_model: str
    actual: int
    due_at: datetime | None
    verdict: str
    reached: int
    warmed: int
    hot: int
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    projection: dict[str, Projection] | None = None  # None: no projection view


def campaign_report(client: Client) -> str:
    """The scorecard as an aligned text table, under a line saying "as of" when."""
    (as_of,), = client.query("SELECT as_of FROM v_clock").result_rows
    revenue: dict[tuple[str, str], tuple[int, ...]] = {
        (row[0], row[1]): tuple(int(v) for v in row[2:])
        for row in client.query(_REVENUE).result_rows
    }
    projections = _projections(client)
    lines = []
    for row in client.query(_SCORECARD).result_rows:
        (cid, kind, metric, target, goal_currency, goal_model, actual, due_at, verdict,
         reached, warmed, hot) = row
        model = goal_model or DEFAULT_GOAL_MODEL
        index = _MODELS.index(model)
        lines.append(ScorecardLine(
            cid, kind, metric, int(target), goal_currency, model, int(actual), due_at,
            verdict, int(reached), int(warmed), int(hot),
            {cur: amounts[index] for (c, cur), amounts in sorted(revenue.items()) if c == cid},
            None if projections is None else {
                cur: p for (c, m, cur), p in sorted(projections.items())
                if c == cid and m == model},
        ))
    unattributed = {str(cur): int(v) for cur, v in client.query(_UNATTRIBUTED).result_rows}
    return render(as_of, lines, unattributed)


def _projections(client: Client) -> dict[tuple[str, str, str], Projection] | None:
    """The projection view's rows, or None while the view does not exist."""
    if not client.command("EXISTS TABLE v_revenue_projection"):
        return None
    return {
        (str(cid), str(model), str(cur)): Projection(
            None if projected is None else int(projected), judge_from, str(status))
        for cid, model, cur, projected, judge_from, status in client.query(
            _PROJECTION).result_rows
    }


def _money(amounts: dict[str, int]) -> str:
    return ", ".join(format_minor(v, cur) for cur, v in amounts.items() if v) or "-"


def _goal(line: ScorecardLine) -> str:
    if line.kind == "unclassified":
        return "-"
    if line.goal_metric == "revenue":
        return f"revenue >= {format_minor(line.goal_target, line.goal_currency)}"
    return f"{line.goal_metric} >= {line.goal_target}"


def _actual(line: ScorecardLine) -> str:
    if line.kind == "unclassified":
        return "-"
    if line.goal_metric == "revenue":
        return format_minor(line.actual, line.goal_currency)
    return str(line.actual)


def _projected(projection: dict[str, Projection]) -> str:
    amounts = {c: p.projected_minor for c, p in projection.items() if p.projected_minor}
    if amounts:
        return _money({c: v for c, v in amounts.items() if v is not None})
    if any(p.status == "too_little_history" for p in projection.values()):
        return "too little history"
    return "-"


def _judge_from(projection: dict[str, Projection]) -> str:
    days = [p.judge_from for p in projection.values() if p.judge_from is not None]
    return max(days).isoformat() if days else "-"


def render(as_of: datetime | None, lines: Sequence[ScorecardLine],
           unattributed: dict[str, int]) -> str:
    """The report's text (pure: what the terminal shows for these rows)."""
    with_projection = any(line.projection is not None for line in lines)
    header = ["campaign", "kind", "goal", "actual", "verdict", "due", "reached", "warmed",
              "hot", "revenue so far"]
    if with_projection:
        header += ["projected", "judge from"]
    rows = [header]
    for line in lines:
        due = line.due_at.date().isoformat() if line.due_at is not None else "-"
        cells = [line.campaign_id, line.kind, _goal(line), _actual(line), line.verdict, due,
                 str(line.reached), str(line.warmed), str(line.hot), _money(line.revenue)]
        if with_projection:
            projection = line.projection or {}
            cells += [_projected(projection), _judge_from(projection)]
        rows.append(cells)
    numeric = {"actual", "reached", "warmed", "hot"}
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    text = [
        "  ".join(cell.rjust(w) if header[i] in numeric else cell.ljust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    text.insert(1, "-" * max(len(t) for t in text))
    clock = as_of.strftime("%Y-%m-%d %H:%M:%S UTC") if as_of is not None else "(no events yet)"
    title = (f"scorecard as of {clock} (event time); leads are distinct leads, all time; "
             "revenue under each campaign's goal model (unregistered: linear)")
    footer = f"not credited to any campaign (no touch in the lookback): {_money(unattributed)}"
    return "\n".join([title, *text, footer])
