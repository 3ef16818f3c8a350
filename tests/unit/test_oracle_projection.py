"""The projection reference (tests/oracle_projection.py) on hand-computed stories.

The story: lookback 10 days, ``as_of`` = day 100 00:00 UTC, so touch days < 90 are
mature. Marketing email campaigns A (day 50) and B (day 60) each had 2 touches at noon,
credited 1 000 USD at lag 1 day and 1 000 at lag 3 (linear), and 100 EUR at lag 2. So
the marketing USD lag curve is F = [0, .5, .5, 1] and the revenue per touch 1 000 USD
(50 EUR, curve [0, 0, 1]).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import NamedTuple

import pytest

from schemas.campaign_types import Campaign
from schemas.events import Purchase, Touch
from streams.demo_events import DemoEvents
from streams.engine.config import EngineConfig
from tests.oracle import MODELS
from tests.oracle_judgment import by_lead, credits
from tests.oracle_projection import (
    ProjectionConfig,
    ProjectionRow,
    arrived_share,
    project,
    touches_per_day,
)

DAY = 86_400_000_000
BASE = date(2026, 1, 1)
BASE_DAY = (BASE - date(1970, 1, 1)).days
CONFIG = ProjectionConfig(lookback_us=10 * DAY, min_history_credits=2,
                          min_history_campaigns=2)
AS_OF = (BASE_DAY + 100) * DAY


class Credit(NamedTuple):
    campaign_id: str
    model: str
    currency: str
    touched_at_us: int | None
    purchased_at_us: int
    revenue_minor: int


def at(day: float) -> int:
    return round((BASE_DAY + day) * DAY)


def on(day: int) -> date:
    return BASE + timedelta(days=day)


def campaign(cid: str, kind: str, channel: str, first: int, last: int) -> Campaign:
    sales = kind == "sales"
    return Campaign(
        campaign_id=cid, name=cid, kind=kind, channel=channel,  # type: ignore[arg-type]
        starts_on=on(first), ends_on=on(last),
        goal_metric="revenue" if sales else "leads_reached", goal_target=1,
        goal_currency="USD" if sales else "", declared_on=on(first),
    )


REGISTRY = [
    campaign("A", "marketing", "email", 50, 50),
    campaign("B", "marketing", "email", 60, 60),
    campaign("C", "marketing", "email", 95, 97),
    campaign("D", "marketing", "email", 98, 98),
    campaign("S", "sales", "cold_call", 95, 95),
    campaign("W", "marketing", "webinar", 96, 96),
]
TOUCHES = {("A", BASE_DAY + 50): 2, ("B", BASE_DAY + 60): 2, ("C", BASE_DAY + 97): 4,
           ("D", BASE_DAY + 98): 2, ("S", BASE_DAY + 95): 3, ("W", BASE_DAY + 96): 1}
CREDITS = [
    Credit("A", "linear", "USD", at(50.5), at(51.5), 1_000),
    Credit("A", "linear", "USD", at(50.5), at(53.5), 1_000),
    Credit("A", "linear", "EUR", at(50.5), at(52.5), 100),
    Credit("B", "linear", "USD", at(60.5), at(61.5), 1_000),
    Credit("B", "linear", "USD", at(60.5), at(63.5), 1_000),
    Credit("B", "linear", "EUR", at(60.5), at(62.5), 100),
    Credit("D", "linear", "USD", at(98.25), at(99.3), 500),  # immature: not history
    Credit("S", "linear", "USD", at(95.5), at(96.5), 300),
    Credit("(none)", "linear", "USD", None, at(99), 9_999),
]


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str, str], ProjectionRow]:
    return project(CREDITS, TOUCHES, REGISTRY, AS_OF, CONFIG)


def test_the_lag_curve_is_read_continuously() -> None:
    curve = [0.0, 0.5, 0.5, 1.0]
    assert [arrived_share(curve, x) for x in (-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 99)] == [
        0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_an_ended_campaign_without_revenue_is_projected_from_its_peers(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    # 4 touches on day 97, 2.5 days old at as_of: C(2.5) = 0.5; prior 4 x 1 000;
    # projected = (2 - .5) x 0 + (1 - .5)^2 x 4 000 = 1 000.
    assert rows[("C", "linear", "USD")] == ProjectionRow(
        "C", "marketing", "linear", "USD", 0, 0.5, 1_000, on(102), "maturing")
    # In EUR, where it sold nothing either: prior 4 x 50, curve [0, 0, 1] -> 0.5;
    # all of it expected by day 101 (x = 3.5 is past the curve's last lag day).
    assert rows[("C", "linear", "EUR")] == ProjectionRow(
        "C", "marketing", "linear", "EUR", 0, 0.5, 50, on(101), "maturing")


def test_a_maturing_campaign_blends_its_own_pace_with_its_peers(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    # 2 touches on day 98 (1.5 days old: C = 0.25), 500 so far, prior 2 000:
    # 1.75 x 500 + 0.5625 x 2 000 = 2 000; 90 % expected by the start of day 103.
    assert rows[("D", "linear", "USD")] == ProjectionRow(
        "D", "marketing", "linear", "USD", 500, 0.25, 2_000, on(103), "maturing")


def test_a_mature_campaign_projects_what_it_has(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    # due day 51 + 10 <= day 100; judge_from from the curve: day 55 (x = 4.5).
    assert rows[("A", "linear", "USD")] == ProjectionRow(
        "A", "marketing", "linear", "USD", 2_000, 1.0, 2_000, on(55), "mature")


def test_too_little_history(rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    # No sales history at all: the revenue so far, no estimate, judge on the due day.
    assert rows[("S", "linear", "USD")] == ProjectionRow(
        "S", "sales", "linear", "USD", 300, None, None, on(106), "too_little_history")
    # History is per model: nothing was credited under the other models.
    for model in MODELS:
        if model != "linear":
            assert rows[("C", model, "USD")].status == "too_little_history"
    # Too few credits, or too few campaigns, is too little too.
    for config in (replace(CONFIG, min_history_credits=5),
                   replace(CONFIG, min_history_campaigns=3)):
        strict = project(CREDITS, TOUCHES, REGISTRY, AS_OF, config)
        assert strict[("C", "linear", "USD")].status == "too_little_history"
        assert strict[("A", "linear", "USD")].status == "mature"


def test_a_channel_without_history_falls_back_to_its_kind(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    # The webinar's 1 touch is 3.5 days old (0.75) and uses the marketing history:
    # (1 - .75)^2 x 1 000 = 62.5, rounded half up.
    assert rows[("W", "linear", "USD")] == ProjectionRow(
        "W", "marketing", "linear", "USD", 0, 0.75, 63, on(101), "maturing")


def test_rows_keys_and_what_is_left_out(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    assert {cid for cid, _, _ in rows} == {"A", "B", "C", "D", "S", "W"}  # no (none)
    assert {cur for cid, _, cur in rows if cid == "S"} == {"USD"}  # sales: credits + goal
    assert {cur for cid, _, cur in rows if cid == "C"} == {"USD", "EUR"}  # its kind's
    assert len(rows) == 5 * (5 * 2 + 1)
    assert project(CREDITS, TOUCHES, REGISTRY, None, CONFIG) == {}


def test_immature_credits_do_not_teach_the_lag(
        rows: dict[tuple[str, str, str], ProjectionRow]) -> None:
    late = Credit("D", "linear", "USD", at(89.9), at(90.0), 50_000)  # touch day 89: mature
    fresh = Credit("D", "linear", "USD", at(90.1), at(90.2), 50_000)  # touch day 90: not
    with_fresh = project([*CREDITS, fresh], TOUCHES, REGISTRY, AS_OF, CONFIG)
    assert with_fresh[("C", "linear", "USD")] == rows[("C", "linear", "USD")]
    with_late = project([*CREDITS, late], TOUCHES, REGISTRY, AS_OF, CONFIG)
    assert with_late[("C", "linear", "USD")].matured_share != 0.5


def test_unregistered_campaigns_are_projected_from_unregistered_history() -> None:
    extra = [
        Credit("x", "linear", "USD", at(50.5), at(51.5), 400),
        Credit("y", "linear", "USD", at(60.5), at(63.5), 400),
    ]
    touches = {**TOUCHES, ("x", BASE_DAY + 50): 1, ("y", BASE_DAY + 60): 1,
               ("u", BASE_DAY + 97): 2}
    rows = project([*CREDITS, *extra], touches, REGISTRY, AS_OF, CONFIG)
    # curve [0, .5, .5, 1] again; 400 per touch; last touch day 97: due day 108.
    assert rows[("u", "linear", "USD")] == ProjectionRow(
        "u", "unclassified", "linear", "USD", 0, 0.5, 200, on(102), "maturing")
    assert rows[("x", "linear", "USD")].status == "mature"  # last touch day 50 + 11 <= 100


def test_on_the_demo_year() -> None:
    """Invariants on generated data, and the founding story at the end of the year."""
    demo = DemoEvents(3_000, seed=5)
    events = [_parse(line) for line in demo]
    leads = by_lead(events)
    config = EngineConfig()
    touches = touches_per_day((e.campaign_id, e.occurred_at_us)
                              for e in events if isinstance(e, Touch))
    as_of = max(e.occurred_at_us for e in events)
    rows = project(credits(leads, config), touches, demo.campaigns, as_of,
                   ProjectionConfig(config.lookback_us))
    for row in rows.values():
        if row.status == "mature":
            assert (row.matured_share, row.projected_revenue_minor) == (1.0, row.revenue_minor)
        elif row.status == "maturing":
            assert row.matured_share is not None and row.projected_revenue_minor is not None
            assert 0.0 <= row.matured_share <= 1.0
            assert row.projected_revenue_minor >= row.revenue_minor
    blast = rows[("cyber-monday-blast", "linear", "USD")]
    assert blast.status == "maturing" and blast.matured_share is not None
    assert blast.matured_share < 0.7
    assert blast.projected_revenue_minor is not None
    assert blast.projected_revenue_minor > 1.3 * blast.revenue_minor
    assert on(365) < blast.judge_from < on(365 + 60)
    assert rows[("partner-referral", "linear", "EUR")].status == "mature"


def _parse(line: bytes) -> Touch | Purchase:
    from schemas.validation import parse_event

    event = parse_event(line)
    assert isinstance(event, Touch | Purchase)
    return event
