"""docs/querying.md's worked examples: the SQL exactly as the doc shows it, answered right.

Each ```sql block marked ``<!-- querying-example: NAME -->`` is taken from the markdown
file as it stands, run the way ``leadclock sql`` runs it (its statement gate, then
``readonly = 1``), directly on the engine and through the gateway, over a demo dataset
written by the engine; its answer is compared with one computed from the test oracle.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client

from schemas.events import Event, Rejection
from schemas.validation import parse_event
from streams.commands.sql import read_only_statement, run
from streams.demo_events import generate, span_campaigns
from streams.engine.config import EngineConfig
from tests.judgment_db import load
from tests.oracle import batch, dedupe

DOC = Path(__file__).resolve().parents[2] / "docs" / "querying.md"
LEADS = 400
SEED = 7
_EXAMPLE = re.compile(r"<!-- querying-example: ([\w-]+) -->\s*```sql\n(.*?)```", re.DOTALL)

Row = tuple[str, str, int]
"""campaign_id, currency, revenue_minor: the columns of every example."""


def _examples() -> dict[str, str]:
    found = dict(_EXAMPLE.findall(DOC.read_text(encoding="utf-8")))
    assert set(found) == {"last-month", "january-touches-paid-in-march",
                          "january-campaigns-paid-in-march"}, sorted(found)
    return found


def _events() -> list[Event]:
    parsed = [parse_event(line) for line in generate(LEADS, seed=SEED)]
    return [event for event in parsed if not isinstance(event, Rejection)]


def _month(us: int) -> date:
    return datetime.fromtimestamp(us / 1_000_000, UTC).date().replace(day=1)


def _linear(revenue: dict[tuple[str, str, str, int, int], int],
            keep: Callable[[str, int, int], bool]) -> dict[tuple[str, str], int]:
    """Linear revenue per (campaign, currency) of the oracle's credits ``keep`` keeps.

    Windows are days (the default), so a window's month is its event's month.
    """
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (campaign, model, currency, touch_window, purchase_window), amount in revenue.items():
        if model == "linear" and keep(campaign, touch_window, purchase_window):
            totals[(campaign, currency)] += amount
    return dict(totals)


def _ordered(totals: dict[tuple[str, str], int]) -> list[Row]:
    """ORDER BY currency, revenue_minor DESC, campaign_id."""
    rows = [(campaign, currency, revenue) for (campaign, currency), revenue in totals.items()]
    return sorted(rows, key=lambda row: (row[1], -row[2], row[0]))


def _expected(name: str, events: list[Event]) -> list[Row]:
    revenue = batch(events, EngineConfig()).revenue
    if name == "last-month":
        as_of = max(event.occurred_at_us for event in dedupe(events))
        this_month = _month(as_of)
        last_month = (this_month.replace(year=this_month.year - 1, month=12)
                      if this_month.month == 1 else this_month.replace(month=this_month.month - 1))
        ordered = _ordered(_linear(revenue, lambda campaign, _, purchase: (
            campaign != "(none)" and _month(purchase) == last_month)))
        best: dict[str, Row] = {}
        for row in ordered:
            best.setdefault(row[1], row)  # LIMIT 1 BY currency
        return list(best.values())
    march, january = date(2026, 3, 1), date(2026, 1, 1)
    if name == "january-touches-paid-in-march":
        return _ordered(_linear(revenue, lambda campaign, touch, purchase: (
            campaign != "(none)" and _month(touch) == january and _month(purchase) == march)))
    running_in_january = {campaign.campaign_id for campaign in span_campaigns(LEADS)
                          if campaign.starts_on <= date(2026, 1, 31)
                          and campaign.ends_on >= january}
    return _ordered(_linear(revenue, lambda campaign, _, purchase: (
        campaign in running_in_january and _month(purchase) == march)))


def _answer(client: Client, sql: str) -> list[Row]:
    """The example run as ``leadclock sql - --format csv`` runs it."""
    out = io.StringIO()
    run(client, read_only_statement(sql), "csv", out)
    table = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert table[0] == ["campaign_id", "currency", "revenue_minor"]
    return [(campaign, currency, int(revenue)) for campaign, currency, revenue in table[1:]]


def test_the_doc_examples_answer_right(client: Client) -> None:
    events = _events()
    load(client, events, EngineConfig(), span_campaigns(LEADS), flush_every=1_000)
    for name, sql in _examples().items():
        expected = _expected(name, events)
        assert len(expected) >= 2, f"{name}: the dataset does not exercise the example"
        assert _answer(client, sql) == expected, name
