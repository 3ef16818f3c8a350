"""The streamed demo generator: valid, sorted, deterministic, and it tells the story."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

import orjson
import pytest

from schemas.events import Purchase, Touch
from schemas.validation import parse_event
from streams.demo_events import DAY_US, START_US, DemoEvents, generate, span_campaigns
from streams.engine.config import EngineConfig
from tests.oracle_judgment import by_lead, credits, judge

LEADS = 1_500


@pytest.fixture(scope="module")
def demo() -> tuple[DemoEvents, list[bytes]]:
    events = DemoEvents(LEADS, seed=11)
    return events, list(events)


@pytest.fixture(scope="module")
def parsed(demo: tuple[DemoEvents, list[bytes]]) -> list[Touch | Purchase]:
    out = []
    for line in demo[1]:
        event = parse_event(line)
        assert isinstance(event, Touch | Purchase), (line, event)
        out.append(event)
    return out


def test_deterministic_per_seed() -> None:
    assert list(generate(200, seed=3)) == list(generate(200, seed=3))
    assert list(generate(200, seed=3)) != list(generate(200, seed=4))


def test_every_line_is_a_valid_event_with_a_unique_id(parsed: list[Touch | Purchase]) -> None:
    assert len({e.event_id for e in parsed}) == len(parsed)
    assert len({e.lead_id for e in parsed}) > 0.95 * LEADS


def test_sorted_by_occurred_at_and_inside_the_span(parsed: list[Touch | Purchase]) -> None:
    times = [e.occurred_at_us for e in parsed]
    assert times == sorted(times)
    assert START_US <= times[0] and times[-1] < START_US + 365 * DAY_US


def test_touches_fall_inside_their_campaign_dates(
        demo: tuple[DemoEvents, list[bytes]], parsed: list[Touch | Purchase]) -> None:
    registry = {c.campaign_id: c for c in demo[0].campaigns}
    for event in parsed:
        if isinstance(event, Touch):
            campaign = registry[event.campaign_id]
            day = date.fromordinal(date(1970, 1, 1).toordinal() + event.occurred_at_us // DAY_US)
            assert campaign.starts_on <= day <= campaign.ends_on, event


def test_revenue_lag_depends_on_kind(
        demo: tuple[DemoEvents, list[bytes]], parsed: list[Touch | Purchase]) -> None:
    kinds = {c.campaign_id: c.kind for c in demo[0].campaigns}
    lags: dict[str, list[float]] = defaultdict(list)
    for credit in credits(by_lead(parsed), EngineConfig()):
        if credit.model == "last_touch" and credit.touched_at_us is not None:
            lags[kinds[credit.campaign_id]].append(
                (credit.purchased_at_us - credit.touched_at_us) / DAY_US)
    marketing, sales = statistics.median(lags["marketing"]), statistics.median(lags["sales"])
    assert marketing > 20 and sales < 8 and marketing > 4 * sales, (marketing, sales)


def test_currencies_organic_revenue_and_the_cyber_monday_audience(
        demo: tuple[DemoEvents, list[bytes]], parsed: list[Touch | Purchase]) -> None:
    assert {e.currency for e in parsed if isinstance(e, Purchase)} == {"USD", "EUR", "JPY", "KWD"}
    paths = credits(by_lead(parsed), EngineConfig())
    assert any(c.campaign_id == "(none)" for c in paths)  # purchases with no touch in lookback
    blast = {e.lead_id for e in parsed
             if isinstance(e, Touch) and e.campaign_id == "cyber-monday-blast"}
    opened = {e.lead_id for e in parsed
              if isinstance(e, Touch) and e.campaign_id == "cyber-monday-blast"
              and e.touch_type == "email_open"}
    assert blast == opened
    assert 0.33 < len(blast) / LEADS < 0.43


def test_the_demo_story(demo: tuple[DemoEvents, list[bytes]],
                        parsed: list[Touch | Purchase]) -> None:
    """Marketing meets its reach goals, a sales campaign misses, revenue still to come."""
    judgment = judge(parsed, EngineConfig(), demo[0].campaigns)
    verdicts = {row.campaign_id: row.verdict for row in judgment.scorecard.values()}
    kinds = {c.campaign_id: c.kind for c in demo[0].campaigns}
    assert all(verdicts[c] == "met" for c, kind in kinds.items() if kind == "marketing")
    assert verdicts["partner-referral"] == "not_met"
    assert judgment.as_of_us is not None
    still_arriving = {row.campaign_id for row in judgment.scorecard.values()
                      if row.ends_on is not None and judgment.as_of_us < (
                          (row.ends_on.toordinal() - date(1970, 1, 1).toordinal() + 91) * DAY_US)}
    assert {"cyber-monday-blast", "black-friday", "cold-outbound"} <= still_arriving


def test_a_span_of_two_years_repeats_the_campaigns_with_year_ids() -> None:
    ids = [c.campaign_id for c in span_campaigns(1_000, days=730)]
    assert "spring-sale" in ids and "spring-sale-2027" in ids and len(ids) == 20
    lines = list(generate(300, seed=5, days=730))
    last = orjson.loads(lines[-1])["occurred_at"]
    assert last.startswith("2027-12")
    assert any(b"-2027" in line for line in lines)


def test_memory_is_the_pending_events_not_the_log() -> None:
    """Twice the leads over twice the days: twice the events, not twice the heap."""
    one = DemoEvents(1_000, seed=2, days=365)
    two = DemoEvents(2_000, seed=2, days=730)
    n_one, n_two = sum(1 for _ in one), sum(1 for _ in two)
    assert 1.8 < n_two / n_one < 2.2
    assert one.peak_pending < 0.4 * n_one
    assert two.peak_pending < 1.3 * one.peak_pending
